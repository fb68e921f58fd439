/**
 * DC-5 transparency for the grid user: which parties have, or had, access to their connection's data,
 * on what basis, and when data was requested. A grid user sees only their own period at the connection
 * (since they became its grid user), not the previous occupant's.
 */
import { and, desc, eq, gte, or, isNull, gt, sql, type SQL } from 'drizzle-orm';
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
import { countedRegisterMonths, countMonthKey, registerMonths } from './register-partitions.js';
import {
  registerCountsSplit,
  registerReach,
  type RegisterMonth,
  type RegisterSpan,
} from '../../domain/register-partitions.js';

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
  // Issue 21: the mandates, the statistics and the most recent rows depend only on `since` and the months held, so
  // they are read at once (on the pool, three connections; in a transaction, one after another as before): the
  // answer waits for the slowest of them instead of their sum. At 100 M rows the recent rows' cold heap reads are
  // most of it (docs/benchmarks.md). Each is its own statement, as before: no snapshot was shared between them.
  const [ms, stats, recentRequests] = await Promise.all([
    db
      .select()
      .from(mandates)
      .where(
        and(
          eq(mandates.connectionEan, conn.ean),
          or(isNull(mandates.endedAt), gt(mandates.endedAt, since)),
          gt(mandates.validTo, since),
        ),
      )
      .orderBy(desc(mandates.createdAt)),
    registerStatistics(db, conn.ean, since, now, held),
    db
      .select()
      .from(accessRegister)
      .where(and(eq(accessRegister.connectionEan, conn.ean), gte(accessRegister.decidedAt, since)))
      .orderBy(desc(accessRegister.decidedAt), desc(accessRegister.id))
      .limit(recentLimit),
  ]);

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

export interface PartyRequestStats {
  partyId: string;
  total: number;
  allowed: number;
  firstAt: Date;
  lastAt: Date;
}

/**
 * DC-5: per party, the connection's requests since `since` (count, allowed, first and last), i.e. the raw statement
 * `select party_id, count(*), count(*) filter (where allowed), min(decided_at), max(decided_at) from access_register
 * where connection_ean = $1 and decided_at >= $2 group by party_id`, answered at volume (decisions/0020): the months
 * registerCountsSplit allows come from the month counts (one range of their primary key), the rest of the window
 * from the register by decided_at spans (so partition pruning skips the counted months), merged per party.
 * test/core/register-month-counts.test.ts holds it to the raw statement. `held`: the register's attached months.
 */
export async function registerStatistics(
  db: DbOrTx,
  ean: string,
  since: Date,
  now: Date,
  held?: readonly RegisterMonth[],
): Promise<PartyRequestStats[]> {
  const attached = held ?? (await registerMonths(db)).filter((m) => m.state === 'attached');
  const counted = await countedRegisterMonths(db);
  const split = registerCountsSplit(
    attached.filter((m) => counted.has(countMonthKey(m))),
    since,
    now,
  );
  const found = (await db.execute(registerStatisticsSql(ean, split))) as unknown as Array<{
    party_id: string;
    total: number;
    allowed: number;
    first_at: Date | string;
    last_at: Date | string;
  }>;
  return found.map((r) => ({
    partyId: r.party_id,
    total: r.total,
    allowed: r.allowed,
    firstAt: new Date(r.first_at),
    lastAt: new Date(r.last_at),
  }));
}

/**
 * The statement of registerStatistics (bench/register.ts explains it): one statement, so the counts and the register
 * are read under one snapshot, and a month's counts only with its marker (removed first when a month is dropped,
 * DC-9), so no answer counts a month twice or one that is gone.
 */
export function registerStatisticsSql(ean: string, split: { counted: RegisterMonth[]; rest: RegisterSpan[] }): SQL {
  const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
  const parts = split.rest.map(
    (r) => sql`
      select party_id, count(*) as total, count(*) filter (where allowed) as allowed, min(decided_at) as first_at,
             max(decided_at) as last_at
        from access_register
       where connection_ean = ${ean} and decided_at >= ${ts(r.from)}${r.to ? sql` and decided_at < ${ts(r.to)}` : sql``}
       group by party_id`,
  );
  if (split.counted.length > 0)
    parts.push(sql`
      select c.party_id, sum(c.total) as total, sum(c.allowed) as allowed, min(c.first_at) as first_at,
             max(c.last_at) as last_at
        from access_register_month_counts c
        join access_register_months_counted k on k.month = c.month
       where c.connection_ean = ${ean}
         and c.month in (${sql.join(
           split.counted.map((m) => sql`${countMonthKey(m)}::date`),
           sql`, `,
         )})
       group by c.party_id`);
  return sql`
    select party_id, sum(total)::int as total, sum(allowed)::int as allowed, min(first_at) as first_at,
           max(last_at) as last_at
      from (${sql.join(parts, sql` union all `)}) x
     group by party_id`;
}
