/**
 * Case actions (notes, judgements, contacts, evidence requests, withdrawals, ACM notices, legal holds, review
 * votes and decisions, GT-11 decisions) under an Idempotency-Key (IETF draft httpapi-idempotency-key-header)
 * and a deadline (issue 20, "a 503 tells the truth"):
 *
 * - same key, same request (method, route, path parameters, body) → the first outcome (status and body),
 *   replayed with `Idempotent-Replayed: true`; same key, another request → 422 idempotency_key_mismatch;
 *   a key whose first request is still running → 409 idempotency_key_in_progress (Retry-After: 1).
 *   Keys are per principal (the API key): another principal's key of the same text is another key.
 * - every answer within CASE_ACTION_DEADLINE_MS (default 1.5 s, under the 2 s docs/operations.md promises with
 *   room for a loaded machine): a 503 says `outcome: not_done` (the write was never sent and
 *   never will be) or `outcome: unknown` (sent: it may still complete; repeat with the same key, which answers
 *   its outcome and never writes it twice — Temporal deduplicates the Update id, a database write records the
 *   outcome in its own transaction).
 *
 * Without the header an action runs as before, with the same truthful 503.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { claimKey, recordOutcome, releaseKey, type KeyClaim } from '../../db/repositories/idempotency.js';
import type { IdempotencyKeyRow } from '../../db/schema/index.js';
import { DomainError } from '../../lib/errors.js';
import { giveUp, runCaseAction, type ActionOutcome, type CaseAction } from '../../services/idempotency/action.js';
import { domainErrorAnswer } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by caseAction: what a 503 says about the action's outcome (errors.ts, database-hang.ts). */
    caseAction?: CaseAction;
  }
}

/** A key's first request holds it this long at most (a process that died); a repeat then takes it over. */
export const IDEMPOTENCY_LEASE_S = 30;
/** A key answers repeats for 24 hours (the draft leaves the period to the server); the retention purge removes it after. */
export const IDEMPOTENCY_TTL_S = 24 * 3600;

/** The header every case action takes (schema of the route). */
export const ActionHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Repeat the request with the same key (after a 503, a lost answer) to get the first outcome instead of doing it twice; the same key for another request is 422, while the first runs 409',
    }),
  ),
});

/** The statuses a case action adds to its route's own: 409 key in progress, 422 key reused, 503 with its outcome. */
export const ACTION_ERRORS = [409, 422, 503] as const;

/** What a 503 says about a case action, by outcome (docs/errors.md). */
export function outcomeMessage(outcome: ActionOutcome): string {
  return outcome === 'not_done'
    ? 'Nothing was done: repeat the request (with the same Idempotency-Key) after Retry-After seconds.'
    : 'The action was sent and may still complete: repeat it with the same Idempotency-Key, which answers its outcome once known and never does it twice.';
}

/** Keys sorted at every level, so the same body always gives the same fingerprint. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, canonical(x)]),
    );
  return v;
}

/** The request a key stands for: method, route, path parameters and body (validated), as sha-256. */
export function fingerprintOf(method: string, route: string | undefined, params: unknown, body: unknown): string {
  const what = JSON.stringify([method, route, canonical(params), canonical(body ?? null)]);
  return createHash('sha256').update(what).digest('hex');
}

const requestFingerprint = (req: FastifyRequest) =>
  fingerprintOf(req.method, req.routeOptions.url, req.params, req.body);

/** A repeat finds the key taken: replay the first outcome, or say why not (422, 409). */
function answerTaken(reply: FastifyReply, row: IdempotencyKeyRow | undefined, fingerprint: string) {
  const field = 'headers.idempotency-key';
  if (row && row.fingerprint !== fingerprint)
    return reply.status(422).send({
      code: 'idempotency_key_mismatch',
      message: 'This Idempotency-Key was used for another request (method, path or body); use a new key',
      field,
    });
  if (row?.status === 'done' && row.responseStatus !== null)
    return reply.status(row.responseStatus).header('idempotent-replayed', 'true').send(row.responseBody);
  // In progress (or released a moment ago): the first request decides; ask again shortly.
  return reply.status(409).header('retry-after', '1').send({
    code: 'idempotency_key_in_progress',
    message: 'A request with this Idempotency-Key is still being processed; repeat it after Retry-After seconds',
    field,
  });
}

export interface CaseActionAnswer<R> {
  /** Status of the answer on success (200 unless said). */
  status?: number;
  /** The body for the action's result (the result itself unless said); also what a repeat replays. */
  present?: (result: R) => unknown;
  /** Headers of the answer on success and on every replay (Location). */
  headers?: Record<string, string>;
}

/**
 * Run a case action under the request's Idempotency-Key and deadline; answers through `reply`. `run` calls
 * the service, which marks its write (services/idempotency/action.ts beforeWrite / idempotentTransaction).
 */
export async function caseAction<R>(
  req: FastifyRequest,
  reply: FastifyReply,
  answer: CaseActionAnswer<R>,
  run: () => Promise<R>,
): Promise<FastifyReply> {
  const { db, config } = req.server.deps;
  const deadlineMs = config.caseActionDeadlineMs;
  const action: CaseAction = { writeSent: false, gaveUp: false, recorded: false };
  req.caseAction = action;
  const deadline = setTimeout(() => {
    if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) return;
    const outcome = giveUp(action);
    req.log.warn({ outcome, waitedMs: Math.round(reply.elapsedTime) }, 'case action not confirmed in time: 503');
    void reply
      .status(503)
      .header('retry-after', '1')
      .send({
        code: 'action_deadline_exceeded',
        message: `The action was not confirmed within ${deadlineMs} ms. ${outcomeMessage(outcome)}`,
        details: { outcome },
      });
  }, deadlineMs);
  deadline.unref();
  const present = (r: unknown) => ({ status: answer.status ?? 200, body: answer.present ? answer.present(r as R) : r });
  const send = (status: number, body: unknown) => {
    if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) return reply; // answered 503 meanwhile
    if (status < 300) void reply.headers(answer.headers ?? {});
    return reply.status(status).send(body);
  };
  const header = req.headers['idempotency-key'];
  if (req.server.databaseKnownDown?.()) {
    // Nothing sent, nothing queued behind the hung queries: the truthful answer at once (database-hang.ts).
    clearTimeout(deadline);
    return reply
      .status(503)
      .header('retry-after', '1')
      .send({
        code: 'database_unavailable',
        message: `The database is not reachable. ${outcomeMessage(giveUp(action))}`,
        details: { dependency: 'database', outcome: 'not_done' },
      });
  }
  let claim: KeyClaim | undefined;
  try {
    if (typeof header === 'string' && header !== '') {
      claim = {
        principal: req.principal.keyId,
        key: header,
        fingerprint: requestFingerprint(req),
        owner: randomUUID(),
        leaseS: IDEMPOTENCY_LEASE_S,
        ttlS: IDEMPOTENCY_TTL_S,
      };
      const taken = await claimKey(db, claim);
      if (!taken.claimed) {
        const { fingerprint } = claim;
        claim = undefined; // another attempt's: not ours to record or release
        if (reply.sent || reply.raw.headersSent) return reply;
        return answerTaken(reply, taken.row, fingerprint);
      }
      if (action.gaveUp) throw new Error('answered 503 while claiming the key'); // released below
      action.key = { ...claim, present };
    }
    const result = await runCaseAction(action, run);
    const out = present(result);
    if (claim && !action.recorded)
      await recordOutcome(db, claim, out).catch((err: unknown) =>
        // The outcome stands in Temporal (the Update id is the key's): a repeat gets it from there.
        req.log.warn({ err }, 'first outcome of the case action not recorded'),
      );
    return send(out.status, out.body);
  } catch (err) {
    if (claim && !action.recorded) {
      if (err instanceof DomainError && err.kind !== 'unavailable') {
        // A refusal is an outcome too: the repeat gets the same 4xx (nothing was written).
        const a = domainErrorAnswer(err, req);
        await recordOutcome(db, claim, a).catch(() => releaseKey(db, claim!).catch(() => undefined));
      } else {
        // Failed or abandoned: free the key at once. A write that did commit recorded `done` in its own
        // transaction (releaseKey leaves that alone); an Update sent is deduplicated by its id on the repeat.
        await releaseKey(db, claim).catch((e: unknown) => req.log.warn({ err: e }, 'idempotency key not released'));
      }
    }
    if (reply.sent || reply.raw.headersSent) {
      req.log.info({ err }, 'case action ended after its request was answered');
      return reply;
    }
    throw err;
  } finally {
    clearTimeout(deadline);
  }
}
