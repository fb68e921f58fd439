/**
 * Console sessions in PostgreSQL (issue 19): the store @fastify/session calls (get/set/destroy), with an idle
 * expiry moved on every save and an absolute expiry fixed when the session is first written, and the revocations:
 * one session, all of a person's, or those of a provider session (OIDC back-channel logout); and the sessions
 * page's list and revocations (a person's own; compliance: those of colleagues of the same grid operator), each
 * audited with the person who ended them.
 *
 * The idle expiry rolls with a slack, not on every page view: a session is written when it changed, or when its
 * last write (last_seen_at, read back as `seenAt`) is at least idleSlackMs old — 1 % of the idle timeout, at most a
 * minute (18 s for the default 30 minutes) — and each write sets idle_expires_at to that write + the idle timeout.
 * So a session never outlives its idle timeout after the last page view, and ends at most the slack sooner than
 * that; a person who keeps working is written at most once per slack instead of once per page.
 */
import { and, desc, eq, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { consoleSessions, people } from '../../db/schema/index.js';
import type { Role } from '../../domain/visibility.js';

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** What the console keeps in a session that the store indexes (the rest is opaque data). */
export interface IndexedSessionFields {
  personId?: string;
  oidcSid?: string | null;
  issuer?: string;
  /** The browser's User-Agent at sign-in. */
  userAgent?: string;
}

export interface SessionStoreOptions {
  idleMs: number;
  absoluteMs: number;
}

/** How old the last write may be before a page view writes the session again: 1 % of the idle timeout, ≤ 1 minute. */
export const idleSlackMs = (idleMs: number): number => Math.min(60_000, Math.floor(idleMs / 100));

/**
 * A store for @fastify/session (its callback interface, structurally); S: the session object as it types it. A
 * session it returns carries `seenAt`, its last write (ms); rollDue tells when a page view must write it again.
 */
export function postgresSessionStore<S extends object>(db: Db, opts: SessionStoreOptions) {
  const slack = idleSlackMs(opts.idleMs);
  return {
    /** Whether a session last written at `seenAt` must be written now (its idle expiry moved): the slack has passed. */
    rollDue(seenAt: unknown, now = Date.now()): boolean {
      return typeof seenAt === 'number' && now - seenAt >= slack;
    },
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
        .then(([row]) => cb(undefined, row ? ({ ...row.data, seenAt: row.lastSeenAt.getTime() } as S) : null), cb);
    },
    set(sid: string, session: object, cb: Callback): void {
      // seenAt is the row's last_seen_at, not data.
      const { seenAt: _seenAt, ...data } = JSON.parse(JSON.stringify(session)) as Record<string, unknown> &
        IndexedSessionFields;
      const now = Date.now();
      db.insert(consoleSessions)
        .values({
          sid,
          personId: data.personId ?? null,
          oidcSid: data.oidcSid ?? null,
          issuer: data.issuer ?? null,
          userAgent: data.userAgent?.slice(0, 300) ?? null,
          data,
          lastSeenAt: new Date(now),
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
            userAgent: data.userAgent?.slice(0, 300) ?? null,
            data,
            lastSeenAt: new Date(now),
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

/** A live session as the sessions page lists it: its handle (never the sid), when, which browser, whose. */
export interface SessionListing {
  id: string;
  personId: string;
  personName: string;
  personRoles: Role[];
  createdAt: Date;
  lastSeenAt: Date;
  userAgent: string | null;
  /** Whether this is the session asking. */
  current: boolean;
}

const live = () =>
  and(sql`${consoleSessions.idleExpiresAt} > now()`, sql`${consoleSessions.absoluteExpiresAt} > now()`);

/**
 * The live sessions of one person (`personId`) or of the colleagues of a grid operator (`gridOperatorId`, without
 * `exceptPersonId`), most recently used first; `currentSid` marks the asking session.
 */
export async function listSessions(
  db: Db,
  of: { personId: string } | { gridOperatorId: string; exceptPersonId: string },
  currentSid: string,
): Promise<SessionListing[]> {
  const whose =
    'personId' in of
      ? eq(consoleSessions.personId, of.personId)
      : and(eq(people.gridOperatorId, of.gridOperatorId), ne(people.id, of.exceptPersonId));
  const rows = await db
    .select({
      sid: consoleSessions.sid,
      id: consoleSessions.id,
      personId: people.id,
      personName: people.name,
      personRoles: people.roles,
      createdAt: consoleSessions.createdAt,
      lastSeenAt: consoleSessions.lastSeenAt,
      userAgent: consoleSessions.userAgent,
    })
    .from(consoleSessions)
    .innerJoin(people, eq(people.id, consoleSessions.personId))
    .where(and(whose, live()))
    .orderBy(people.name, desc(consoleSessions.lastSeenAt), consoleSessions.id);
  return rows.map(({ sid, ...r }) => ({ ...r, current: sid === currentSid }));
}

/** The person ending sessions, as the audit chain names them. */
export interface SessionActor {
  personId: string;
  role: Role;
  gridOperatorId: string;
}

/** Which sessions: one (by its handle), all but the asking one, or all of the person. */
export type SessionScope = { one: string } | { allBut: string } | 'all';

/**
 * End sessions of `targetPersonId` and audit it (`person.sessions_ended`, the actor named; the handles of the
 * sessions ended, never their sids). A person may end their own; a compliance officer also those of a person of
 * their own grid operator (issue 19: revocable). Anyone else's, or nothing matching: 0 and nothing audited.
 */
export async function endSessions(
  db: Db,
  actor: SessionActor,
  targetPersonId: string,
  scope: SessionScope,
): Promise<number> {
  const own = targetPersonId === actor.personId;
  if (!own && actor.role !== 'compliance') return 0;
  return db.transaction(async (tx) => {
    const [target] = await tx
      .select({ id: people.id, gridOperatorId: people.gridOperatorId })
      .from(people)
      .where(eq(people.id, targetPersonId));
    if (!target || target.gridOperatorId !== actor.gridOperatorId) return 0;
    const which =
      scope === 'all'
        ? undefined
        : 'one' in scope
          ? eq(consoleSessions.id, scope.one)
          : ne(consoleSessions.sid, scope.allBut);
    const ended = await tx
      .delete(consoleSessions)
      .where(and(eq(consoleSessions.personId, targetPersonId), which, live()))
      .returning({ id: consoleSessions.id });
    if (ended.length === 0) return 0;
    await recordAudit(tx, {
      actor: `user:${actor.personId}`,
      actorRole: actor.role,
      actorPartyId: actor.gridOperatorId,
      action: 'person.sessions_ended',
      entityType: 'person',
      entityId: targetPersonId,
      data: {
        by: own ? 'self' : 'compliance',
        scope: scope === 'all' ? 'all' : 'one' in scope ? 'one' : 'others',
        sessions: ended.map((e) => e.id).sort(),
      },
    });
    return ended.length;
  });
}

/** The person of a live session, by its handle (whose session the sessions page is asked to end). */
export async function sessionOwner(db: Db, id: string): Promise<string | null> {
  const [row] = await db
    .select({ personId: consoleSessions.personId })
    .from(consoleSessions)
    .where(and(eq(consoleSessions.id, id), live()));
  return row?.personId ?? null;
}
