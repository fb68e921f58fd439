/**
 * Console sessions in PostgreSQL (issue 19): the store @fastify/session calls (get/set/destroy), with an idle
 * expiry moved on every save and an absolute expiry fixed when the session is first written, and the revocations:
 * one session, all of a person's, or those of a provider session (OIDC back-channel logout).
 */
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { consoleSessions } from '../../db/schema/index.js';

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** What the console keeps in a session that the store indexes (the rest is opaque data). */
export interface IndexedSessionFields {
  personId?: string;
  oidcSid?: string | null;
  issuer?: string;
}

export interface SessionStoreOptions {
  idleMs: number;
  absoluteMs: number;
}

/** A store for @fastify/session (its callback interface, structurally); S: the session object as it types it. */
export function postgresSessionStore<S extends object>(db: Db, opts: SessionStoreOptions) {
  return {
    get(sid: string, cb: Callback<S | null>): void {
      db.select()
        .from(consoleSessions)
        .where(
          and(
            eq(consoleSessions.sid, sid),
            sql`${consoleSessions.idleExpiresAt} > now()`,
            sql`${consoleSessions.absoluteExpiresAt} > now()`,
          ),
        )
        .then(([row]) => cb(undefined, row ? (row.data as S) : null), cb);
    },
    set(sid: string, session: object, cb: Callback): void {
      const data = JSON.parse(JSON.stringify(session)) as Record<string, unknown> & IndexedSessionFields;
      const now = Date.now();
      db.insert(consoleSessions)
        .values({
          sid,
          personId: data.personId ?? null,
          oidcSid: data.oidcSid ?? null,
          issuer: data.issuer ?? null,
          data,
          idleExpiresAt: new Date(now + opts.idleMs),
          absoluteExpiresAt: new Date(now + opts.absoluteMs),
        })
        .onConflictDoUpdate({
          target: consoleSessions.sid,
          // The absolute expiry stays what it was at the first write (sign-in regenerates the session: a new row).
          set: {
            personId: data.personId ?? null,
            oidcSid: data.oidcSid ?? null,
            issuer: data.issuer ?? null,
            data,
            idleExpiresAt: new Date(now + opts.idleMs),
          },
        })
        .then(() => cb(), cb);
    },
    destroy(sid: string, cb: Callback): void {
      revokeSession(db, sid).then(() => cb(), cb);
    },
  };
}

export async function revokeSession(db: Db, sid: string): Promise<void> {
  await db.delete(consoleSessions).where(eq(consoleSessions.sid, sid));
}

/** Revoke every session of a person (an administrator's revocation). Returns how many ended. */
export async function revokePersonSessions(db: Db, personId: string): Promise<number> {
  const rows = await db
    .delete(consoleSessions)
    .where(eq(consoleSessions.personId, personId))
    .returning({ sid: consoleSessions.sid });
  return rows.length;
}

/**
 * OIDC back-channel logout: end the sessions of the provider's session `sid`, or, with only a subject, every
 * session of that person at this issuer. Returns how many ended.
 */
export async function revokeProviderSessions(
  db: Db,
  issuer: string,
  by: { sid?: string | undefined; personId?: string | undefined },
): Promise<number> {
  const conditions = [
    by.sid ? eq(consoleSessions.oidcSid, by.sid) : undefined,
    by.personId ? eq(consoleSessions.personId, by.personId) : undefined,
  ].filter((c) => c !== undefined);
  if (conditions.length === 0) return 0;
  const rows = await db
    .delete(consoleSessions)
    .where(and(eq(consoleSessions.issuer, issuer), or(...conditions)))
    .returning({ sid: consoleSessions.sid });
  return rows.length;
}

/** Remove expired sessions (run now and then; an expired row is never read anyway). */
export async function purgeExpiredSessions(db: Db): Promise<number> {
  const rows = await db
    .delete(consoleSessions)
    .where(or(lt(consoleSessions.idleExpiresAt, sql`now()`), lt(consoleSessions.absoluteExpiresAt, sql`now()`)))
    .returning({ sid: consoleSessions.sid });
  return rows.length;
}
