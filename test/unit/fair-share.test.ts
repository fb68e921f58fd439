/**
 * api/plugins/fair-share.ts: the P4 gate's fair share per party (issue 20), a fixed window per party that opens at
 * its first request, as @fastify/rate-limit's in-memory store counted before issue 21. The whole route (429 body,
 * nothing registered, other parties unaffected) is test/core/machine-auth.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fairShareHook, spelled } from '../../api/plugins/fair-share.js';
import { DomainError } from '../../lib/errors.js';

function caller(partyId: string | null, keyId = 'key-1') {
  return { principal: { partyId, keyId } } as unknown as FastifyRequest;
}

/** Runs the hook once: what it passed to done(), and the headers it set. */
function ask(hook: ReturnType<typeof fairShareHook>, request: FastifyRequest) {
  const headers: Record<string, unknown> = {};
  const reply = {
    header(name: string, value: unknown) {
      headers[name] = value;
      return this;
    },
  } as unknown as FastifyReply;
  let outcome: { err?: Error } | undefined;
  hook(request, reply, (err?: Error) => {
    outcome = { err };
  });
  if (!outcome) throw new Error('done() was not called');
  return { err: outcome.err, headers };
}

describe('fairShareHook', () => {
  it('lets max requests through per window, refuses the next with 429 headers, and opens a new window', () => {
    let t = 1_000_000;
    const hook = fairShareHook({ max: 3, windowMs: 10_000 }, () => t);
    const a = caller('party-a');
    for (let i = 0; i < 3; i++) {
      const ok = ask(hook, a);
      expect(ok.err).toBeUndefined();
      expect(ok.headers).toEqual({}); // nothing extra on the hot path
      t += 1000;
    }
    t += 500; // 3.5 s into the window: 6.5 s left
    const over = ask(hook, a);
    expect(over.err).toBeInstanceOf(DomainError);
    expect(over.err).toMatchObject({
      kind: 'rate_limited',
      code: 'p4_fair_share_exceeded',
      details: { limit: 3, windowMs: 10_000 },
    });
    expect(over.err!.message).toBe(
      'This client has used its share of the P4 gate (3 requests per 10000 ms); retry in 7 seconds',
    );
    expect(over.headers).toEqual({
      'x-ratelimit-limit': 3,
      'x-ratelimit-remaining': 0,
      'x-ratelimit-reset': 7,
      'retry-after': 7,
    });
    // Another party is not affected; the same party over all its keys is one share.
    expect(ask(hook, caller('party-b')).err).toBeUndefined();
    expect(ask(hook, caller('party-a', 'key-2')).err).toBeInstanceOf(DomainError);
    // The window ends 10 s after it opened (not after the last request): then a new one.
    t = 1_000_000 + 10_000;
    expect(ask(hook, a).err).toBeUndefined();
  });

  it('counts a credential without a party by itself', () => {
    const hook = fairShareHook({ max: 1, windowMs: 1000 }, () => 5);
    expect(ask(hook, caller(null, 'k1')).err).toBeUndefined();
    expect(ask(hook, caller(null, 'k2')).err).toBeUndefined();
    expect(ask(hook, caller(null, 'k1')).err).toBeInstanceOf(DomainError);
  });

  it('spells the wait as before (@lukeed/ms long form)', () => {
    expect(spelled(1000)).toBe('1 second');
    expect(spelled(59_000)).toBe('59 seconds');
    expect(spelled(60_000)).toBe('1 minute');
    expect(spelled(90_000)).toBe('2 minutes');
    expect(spelled(3_600_000)).toBe('1 hour');
  });
});
