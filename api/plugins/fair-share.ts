/**
 * A fair share of the P4 gate per client (issue 20): decisions and deliveries of one party count together (all its
 * keys and certificates; a credential without a party counts alone), in a fixed window per API instance that opens
 * at the party's first request and lasts `windowMs`. Over `max` in it: 429 `p4_fair_share_exceeded` with
 * Retry-After (whole seconds until the window ends) and the X-RateLimit-Limit/-Remaining/-Reset headers, before the
 * gate is asked, so nothing is registered; the other parties are not slowed. With several instances behind a
 * balancer a party's share is the sum of theirs (docs/operations.md, "Fair share of the P4 gate").
 *
 * Issue 21: this was @fastify/rate-limit (in-memory store, the same fixed window and answers); its async hook, key
 * generator, promise-wrapped store and LRU cost about 2 % of the gate's API CPU (bench:p4 profile,
 * docs/benchmarks.md). This is one Map lookup and an addition in a synchronous hook.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../lib/errors.js';

export interface FairShare {
  /** Gate requests one party may make per window (config.p4FairShare). */
  max: number;
  windowMs: number;
}

interface Window {
  /** ms since the epoch when the window opened (the party's first request in it). */
  start: number;
  count: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration in words as the 429's message has always said it ("1 second", "2 minutes"; @lukeed/ms's long form). */
export function spelled(ms: number): string {
  if (ms < SECOND) return `${ms} ms`;
  const [n, unit] =
    ms < MINUTE
      ? [ms / SECOND, 'second']
      : ms < HOUR
        ? [ms / MINUTE, 'minute']
        : ms < DAY
          ? [ms / HOUR, 'hour']
          : [ms / DAY, 'day'];
  const whole = (n | 0) === n ? n : ~~(n + 0.5);
  return `${whole} ${unit}${whole !== 1 ? 's' : ''}`;
}

/**
 * The route hook that holds a party to its share (give it as a route's preHandler, after requireRole: the principal
 * is known by then). `now` is for tests.
 */
export function fairShareHook(share: FairShare, now: () => number = Date.now) {
  const windows = new Map<string, Window>();
  let sweptAt = 0;
  /** Drop windows that have ended (at most once a window): the map holds the parties active in the last one. */
  const sweep = (t: number) => {
    if (t - sweptAt < share.windowMs) return;
    sweptAt = t;
    for (const [key, w] of windows) if (w.start + share.windowMs <= t) windows.delete(key);
  };
  return function fairShare(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    const key = request.principal.partyId ?? request.principal.keyId;
    const t = now();
    const w = windows.get(key);
    if (w === undefined || w.start + share.windowMs <= t) {
      sweep(t);
      windows.set(key, { start: t, count: 1 });
      // max is at least 1 when the share is on (p4.ts registers no hook for max 0).
      done();
      return;
    }
    w.count += 1;
    if (w.count <= share.max) {
      done();
      return;
    }
    const seconds = Math.ceil((w.start + share.windowMs - t) / SECOND);
    void reply
      .header('x-ratelimit-limit', share.max)
      .header('x-ratelimit-remaining', 0)
      .header('x-ratelimit-reset', seconds)
      .header('retry-after', seconds);
    done(
      new DomainError(
        'rate_limited',
        'p4_fair_share_exceeded',
        `This client has used its share of the P4 gate (${share.max} requests per ${share.windowMs} ms); retry in ${spelled(seconds * SECOND)}`,
        undefined,
        { limit: share.max, windowMs: share.windowMs },
      ),
    );
  };
}
