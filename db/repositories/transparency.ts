/**
 * DC-5 transparency for the grid user: which parties have, or had, access to their connection's data,
 * on what basis, and when data was requested. A grid user sees only their own period at the connection
 * (since they became its grid user), not the previous occupant's.
 */
import { and, desc, eq, gte, or, isNull, gt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import {
  accessRegister,
  mandates,
  type AccessRegisterEntry,
  type Connection,
  type Mandate,
  type Party,
} from '../schema/index.js';
import { gridUserSince } from './connections.js';
import { mandateState, type MandateState } from './mandates.js';
import { partiesByIds } from './parties.js';
import { registerMonths } from './register-partitions.js';
import { registerReach } from '../../domain/register-partitions.js';

export interface PartyAccess {
  party: Party;
  /** Supplier of record: reads monthly/billing registers on the supply contract, no mandate needed (GT-2). */
  supplierOfRecord: boolean;
  /** Some P4 request could be allowed now (supplier of record, or an active mandate). */
  hasAccessNow: boolean;
  mandates: Array<Mandate & { state: MandateState }>;
  requests: { total: number; allowed: number; firstAt: Date | null; lastAt: Date | null };
}

export interface AccessOverview {
  connection: Connection;
  since: Date;
  parties: PartyAccess[];
  recentRequests: AccessRegisterEntry[];
  /**
   * DC-5 within DC-9: how far back the register reaches. It holds every request since `reachesBack` (the start of
   * its oldest month kept); older ones were removed after `retentionDays` (RETENTION_ACCESS_REGISTER_DAYS), so the
   * counts and dates above cover [max(since, reachesBack), now).
   */
  register: { reachesBack: Date; retentionDays: number };
}

export async function accessOverview(
  db: DbOrTx,
  conn: Connection,
  gridUserId: string,
  now: Date,
  recentLimit: number,
  registerDays: number,
): Promise<AccessOverview> {
  const since = await gridUserSince(db, conn, gridUserId);
  const held = (await registerMonths(db)).filter((m) => m.state === 'attached');
  const reachesBack = registerReach(held, now, registerDays);
  const ms = await db
    .select()
    .from(mandates)
    .where(
      and(
        eq(mandates.connectionEan, conn.ean),
        or(isNull(mandates.endedAt), gt(mandates.endedAt, since)),
        gt(mandates.validTo, since),
      ),
    )
    .orderBy(desc(mandates.createdAt));
  const stats = await db
    .select({
      partyId: accessRegister.partyId,
      total: sql<number>`count(*)::int`,
      allowed: sql<number>`(count(*) filter (where ${accessRegister.allowed}))::int`,
      firstAt: sql<Date>`min(${accessRegister.decidedAt})`,
      lastAt: sql<Date>`max(${accessRegister.decidedAt})`,
    })
    .from(accessRegister)
    .where(and(eq(accessRegister.connectionEan, conn.ean), gte(accessRegister.decidedAt, since)))
    .groupBy(accessRegister.partyId);
  const recentRequests = await db
    .select()
    .from(accessRegister)
    .where(and(eq(accessRegister.connectionEan, conn.ean), gte(accessRegister.decidedAt, since)))
    .orderBy(desc(accessRegister.decidedAt), desc(accessRegister.id))
    .limit(recentLimit);

  const ids = [
    ...ms.map((m) => m.partyId),
    ...stats.map((s) => s.partyId),
    ...(conn.supplierId ? [conn.supplierId] : []),
  ];
  const byId = await partiesByIds(db, ids);
  const out = new Map<string, PartyAccess>();
  const entry = (partyId: string): PartyAccess | undefined => {
    const party = byId.get(partyId);
    if (!party) return undefined;
    let e = out.get(partyId);
    if (!e) {
      e = {
        party,
        supplierOfRecord: conn.supplierId === partyId,
        hasAccessNow: false,
        mandates: [],
        requests: { total: 0, allowed: 0, firstAt: null, lastAt: null },
      };
      out.set(partyId, e);
    }
    return e;
  };
  if (conn.supplierId) entry(conn.supplierId);
  for (const m of ms) entry(m.partyId)?.mandates.push({ ...m, state: mandateState(m, now) });
  for (const s of stats) {
    const e = entry(s.partyId);
    if (e)
      e.requests = { total: s.total, allowed: s.allowed, firstAt: new Date(s.firstAt), lastAt: new Date(s.lastAt) };
  }
  for (const e of out.values()) {
    e.hasAccessNow =
      e.party.admitted &&
      !conn.remoteReadingOptOut &&
      (e.supplierOfRecord || e.mandates.some((m) => m.state === 'active'));
  }
  const parties = [...out.values()].sort((a, b) => a.party.name.localeCompare(b.party.name));
  return { connection: conn, since, parties, recentRequests, register: { reachesBack, retentionDays: registerDays } };
}
