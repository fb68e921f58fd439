/**
 * Idempotency-Key rows (db/schema/idempotency.ts): claim a key for one attempt, record its first outcome
 * (in the action's own transaction where it writes the database), release it when the attempt did nothing.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { idempotencyKeys, type IdempotencyKeyRow } from '../schema/index.js';

export interface KeyClaim {
  principal: string;
  key: string;
  fingerprint: string;
  /** This attempt's token: only its holder records or releases the key. */
  owner: string;
  leaseS: number;
  ttlS: number;
}

/**
 * Take the key for this attempt, or say who has it. A new key, one past its expiry, or one whose holder's
 * lease ran out (a process that died; same request only) is taken: `{ claimed: true }`. Otherwise the row
 * as it stands (in progress, done, or another request's fingerprint) for the caller to answer.
 */
export async function claimKey(
  db: DbOrTx,
  c: KeyClaim,
): Promise<{ claimed: true } | { claimed: false; row: IdempotencyKeyRow | undefined }> {
  const k = idempotencyKeys;
  const [row] = await db
    .insert(k)
    .values({
      principal: c.principal,
      key: c.key,
      fingerprint: c.fingerprint,
      status: 'in_progress',
      owner: c.owner,
      leaseUntil: sql`now() + make_interval(secs => ${c.leaseS})`,
      createdAt: sql`now()`,
      expiresAt: sql`now() + make_interval(secs => ${c.ttlS})`,
    })
    .onConflictDoUpdate({
      target: [k.principal, k.key],
      set: {
        fingerprint: sql`excluded.fingerprint`,
        status: sql`excluded.status`,
        owner: sql`excluded.owner`,
        leaseUntil: sql`excluded.lease_until`,
        responseStatus: null,
        responseBody: null,
        createdAt: sql`excluded.created_at`,
        expiresAt: sql`excluded.expires_at`,
      },
      setWhere: sql`${k.expiresAt} < now() or (${k.status} = 'in_progress' and ${k.leaseUntil} < now() and ${k.fingerprint} = excluded.fingerprint)`,
    })
    .returning({ owner: k.owner });
  if (row?.owner === c.owner) return { claimed: true };
  const [existing] = await db
    .select()
    .from(k)
    .where(and(eq(k.principal, c.principal), eq(k.key, c.key)));
  return { claimed: false, row: existing };
}

/**
 * The first outcome, recorded by the attempt that holds the key. False when it no longer holds it (its
 * lease ran out and a repeat took over): in a write's transaction the caller must then roll back.
 */
export async function recordOutcome(
  db: DbOrTx,
  c: Pick<KeyClaim, 'principal' | 'key' | 'owner'>,
  outcome: { status: number; body: unknown },
): Promise<boolean> {
  const k = idempotencyKeys;
  const rows = await db
    .update(k)
    .set({ status: 'done', responseStatus: outcome.status, responseBody: outcome.body })
    .where(and(eq(k.principal, c.principal), eq(k.key, c.key), eq(k.owner, c.owner), eq(k.status, 'in_progress')))
    .returning({ key: k.key });
  return rows.length === 1;
}

/** The attempt did nothing (refused before its write, or failed): the key is free for a repeat at once. */
export async function releaseKey(db: DbOrTx, c: Pick<KeyClaim, 'principal' | 'key' | 'owner'>): Promise<void> {
  const k = idempotencyKeys;
  await db
    .delete(k)
    .where(and(eq(k.principal, c.principal), eq(k.key, c.key), eq(k.owner, c.owner), eq(k.status, 'in_progress')));
}

/** Retention: keys past their expiry, at most `limit` (services/retention/purge.ts). */
export async function purgeExpiredKeyBatch(db: DbOrTx, asOf: Date, limit: number): Promise<number> {
  const k = idempotencyKeys;
  const rows = await db
    .delete(k)
    .where(
      sql`(${k.principal}, ${k.key}) in (select principal, key from ${k} where ${lt(k.expiresAt, asOf)} limit ${limit})`,
    )
    .returning({ key: k.key });
  return rows.length;
}
