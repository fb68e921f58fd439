/**
 * The access register (DC-1): the gate's batch statement, which decides and registers in one go, and
 * the reads of the register (compliance, the data handle, transparency).
 *
 * `DECIDE_AND_REGISTER` (decideAndRegister) mirrors `decide()` of domain/gate.ts, rule for rule and in
 * the same order, tie-breaks included; test/core/gate-equivalence.test.ts holds both to the same
 * verdicts on random facts. Nothing is cached: connection, party, mandates and blocks are read for every
 * request inside the statement that registers it, so a block denies from the instant its transaction
 * commits (GT-2) and a revocation ends access at once (DC-4), whichever API instance placed it.
 * One round trip and one commit per batch (api/p4-gate.ts batches the requests).
 */
import type postgres from 'postgres';
import { and, count, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { pgArray } from '../pg-array.js';
import {
  accessRegister,
  connections,
  type AccessRegisterEntry,
  type CaseStatus,
  type DataKind,
  type MandateConfirmedBy,
  type MandateEndReason,
  type MandateStatus,
} from '../schema/index.js';
import {
  GATE_REASON_CODES,
  GATE_REASONS,
  INTERNAL_ACCESS_REASON,
  periodAtDecision,
  type GateDecision,
  type GateFacts,
  type GateReason,
  type GateRequest,
} from '../../domain/gate.js';
import { uuidv7, uuidv7Floor, uuidv7Time } from '../../lib/uuidv7.js';

// ---------------------------------------------------------------------------------------------
// Batched facts and group-committed register writes (raw SQL: this is the hot path).

interface FactsRow {
  i: number;
  exists: boolean;
  supplier_id: string | null;
  opt_out: boolean | null;
  grid_user_since: string | null;
  supplier_since: string | null;
  admitted: boolean | null;
  m: Array<
    [
      string,
      string,
      DataKind[],
      string,
      string,
      boolean,
      MandateStatus,
      MandateEndReason | null,
      MandateConfirmedBy | null,
    ]
  > | null;
  b: Array<[string, string, string | null, boolean, string | null]> | null;
}

/** The kept-block condition of GT-8b, as decideAndRegister reads it (a case row closed "not demonstrated"). */
const NOT_DEMONSTRATED: CaseStatus = 'closed_mandate_not_demonstrated';

/**
 * Facts for each (party, connection) pair, in the order given. One round trip. The hot path does not use
 * this (it decides in SQL); it shows what `decide()` sees, and the equivalence test feeds it to `decide()`.
 */
export async function fetchGateFacts(
  sql: postgres.Sql,
  pairs: Array<{ partyId: string; connectionEan: string }>,
): Promise<GateFacts[]> {
  const rows = await sql<FactsRow[]>`
    select q.i::int as i,
           c.ean is not null as exists,
           c.supplier_id,
           c.remote_reading_opt_out as opt_out,
           c.grid_user_since,
           c.supplier_since,
           p.admitted,
           (select json_agg(json_build_array(m.id, m.created_at, m.data_kinds, m.valid_from, m.valid_to, m.history_included, m.status, m.end_reason, m.confirmed_by))
              from mandates m where m.party_id = q.party_id and m.connection_ean = q.ean) as m,
           (select json_agg(json_build_array(b.id, b.started_at, b.ended_at, b.retroactive, dc.closed_at))
              from blocks b left join doubt_cases dc on dc.id = b.case_id and dc.status = ${NOT_DEMONSTRATED}
             where b.party_id = q.party_id and b.connection_ean = q.ean) as b
      from unnest(${pgArray(pairs.map((p) => p.partyId))}::uuid[], ${pgArray(pairs.map((p) => p.connectionEan))}::varchar[]) with ordinality as q(party_id, ean, i)
      left join connections c on c.ean = q.ean
      left join parties p on p.id = q.party_id`;
  const ms = (v: string | null) => (v === null ? null : Date.parse(v));
  const out = new Array<GateFacts>(pairs.length);
  for (const r of rows) {
    out[r.i - 1] = {
      connection: r.exists
        ? {
            supplierId: r.supplier_id,
            remoteReadingOptOut: r.opt_out === true,
            gridUserSince: ms(r.grid_user_since),
            supplierSince: ms(r.supplier_since),
          }
        : null,
      party: r.admitted === null ? null : { admitted: r.admitted },
      mandates: (r.m ?? []).map(
        ([id, registeredAt, dataKinds, validFrom, validTo, historyIncluded, status, endReason, confirmedBy]) => ({
          id,
          registeredAt: Date.parse(registeredAt),
          dataKinds,
          validFrom: Date.parse(validFrom),
          validTo: Date.parse(validTo),
          historyIncluded,
          status,
          endReason,
          confirmedBy,
        }),
      ),
      blocks: (r.b ?? []).map(([id, startedAt, endedAt, retroactive, notDemonstratedAt]) => ({
        id,
        startedAt: Date.parse(startedAt),
        endedAt: ms(endedAt),
        retroactive,
        notDemonstratedAt: ms(notDemonstratedAt),
      })),
    };
  }
  return out;
}

/**
 * allowed and rule of the decided reason code (d.reason_code), from GATE_REASONS, written into the statement's text
 * as literals (constants of this module, never input). Issue 21: as three array parameters joined to the batch they
 * cost every statement their parsing, three init plans and a hash join: about 45 µs of PostgreSQL CPU a statement,
 * 6 % of a decision at batch 8 (bench:gate-statement, docs/benchmarks.md). An unknown code has no rule: the insert
 * fails (rule is not null) instead of the join dropping its row.
 */
const sqlLiteral = (v: string) => `'${v.replace(/'/g, "''")}'`;
const REASON_ALLOWED_SQL = `d.reason_code in (${GATE_REASON_CODES.filter((c) => GATE_REASONS[c].allowed)
  .map(sqlLiteral)
  .join(', ')})`;
const REASON_RULE_SQL = `case d.reason_code ${GATE_REASON_CODES.map(
  (c) => `when ${sqlLiteral(c)} then ${sqlLiteral(GATE_REASONS[c].rule)}`,
).join(' ')} end`;

interface DecidedRow {
  known: boolean;
  reason_code: GateReason;
  mandate_id: string | null;
  block_id: string | null;
}

/**
 * DECIDE_AND_REGISTER: decide a batch and register it, in one statement (see the file comment). It
 * mirrors `decide()` of domain/gate.ts: the CASE below is decide() in SQL, rule for rule and in the same
 * order; allowed and rule come from GATE_REASONS (REASON_ALLOWED_SQL, REASON_RULE_SQL). The period is cut at the decision instant and taken on
 * quarter-hour boundaries (DC-7) by the same function decide() uses (periodAtDecision), before the
 * statement, and registered so: p_from / p_to below are that period.
 * Requests for an unknown connection are not decisions: they are returned with known = false and
 * nothing is registered for them. A request with `deliveryOf` is registered as a delivery of that request.
 *
 * Issue 21: the arrays (and the case status) are one-row sub-selects, `(select $n::t[])`, so the planner estimates
 * the same rows for every batch and, after its first executions on a connection, keeps the generic plan. As plain
 * parameters a batch of fewer than about ten requests (an idle gate's) was planned anew each time: about 2 ms of
 * PostgreSQL CPU per batch, several times its execution (test/core/gate-plan.test.ts). The period travels as epoch
 * seconds (float8) rather than timestamptz text: about 1 µs of PostgreSQL CPU a decision less at batch 40
 * (bench:gate-statement, 30 paired rounds; docs/benchmarks.md).
 */
// long: one SQL statement mirroring domain/gate.ts decide() (held to it by the agreement test); splitting it would split the statement
export async function decideAndRegister(
  sql: postgres.Sql,
  reqs: readonly GateRequest[],
  now: number,
): Promise<GateOutcome[]> {
  const decidedAt = new Date(now);
  // Timestamps travel as ISO strings with explicit casts: the app's driver options (custom types)
  // leave Date parameters of prepared statements unserialised.
  const at = decidedAt.toISOString();
  const ids = reqs.map(() => uuidv7(now));
  const periods = reqs.map((r) => periodAtDecision(r.from, r.to, now));
  const seconds = (d: Date) => {
    const ms = d.getTime();
    // DC-7 makes every period end a quarter-hour boundary; the float8 path below is exact only for whole seconds
    if (ms % 1000 !== 0) throw new Error(`gate period end ${ms} is not a whole second`);
    return String(ms / 1000);
  };
  const rows = await sql<DecidedRow[]>`
    with u as (
      select * from unnest((select ${pgArray(ids)}::uuid[]), (select ${pgArray(reqs.map((r) => r.requestId))}::text[]), (select ${pgArray(reqs.map((r) => r.partyId))}::uuid[]),
                           (select ${pgArray(reqs.map((r) => r.connectionEan))}::varchar[]), (select ${pgArray(reqs.map((r) => r.dataKind))}::text[]),
                           (select ${pgArray(periods.map((p) => seconds(p.from)))}::float8[]), (select ${pgArray(periods.map((p) => seconds(p.to)))}::float8[]),
                           (select ${pgArray(reqs.map((r) => r.deliveryOf ?? null))}::uuid[]))
             with ordinality as u(id, request_id, party_id, ean, kind, s_from, s_to, delivery_of, i)
    ), q as (
      -- the period in epoch seconds: whole quarter-hours (periodAtDecision, DC-7), so whole seconds, which
      -- to_timestamp(double) turns into the same instant exactly (any |s| < 2^53 µs); a timestamptz text costs a parse
      select u.id, u.request_id, u.party_id, u.ean, u.kind, to_timestamp(u.s_from) as p_from, to_timestamp(u.s_to) as p_to, u.delivery_of, u.i
        from u
    ), f as (
      select q.*, c.ean is not null as known, c.supplier_id, c.remote_reading_opt_out as opt_out, c.grid_user_since, p.admitted,
             -- GT-2 / DC-7: the supplier of record's billing read, and whether it lies in its supply of this grid user
             -- (supplyStart(): from the later of its supplier switch and the change of customer; null: since ever)
             c.supplier_id = q.party_id and q.kind = 'monthly_registers' as billing,
             (q.p_from >= greatest(c.supplier_since, c.grid_user_since)) is not false as in_supply,
             b.active_block, b.closed_block, b.released_block, b.kept_block, b.kept_since, m.mandate_id, m.mandate_reason
        from q
        left join connections c on c.ean = q.ean
        left join parties p on p.id = q.party_id
        left join lateral (
          -- GT-2 open block of a running case; GT-8 lifted blocks overlapping the period, without and with
          -- release (ties as firstBlock(): earliest start, then smallest id); GT-8b blocks kept after
          -- "mandate not demonstrated" (as lastKept(): the one closed last, then smallest id)
          select (array_agg(b.id order by b.started_at, b.id) filter (where b.ended_at is null and dc.closed_at is null))[1] as active_block,
                 (array_agg(b.id order by b.started_at, b.id) filter (where b.ended_at is not null and not b.retroactive and q.p_from < b.ended_at and b.started_at < q.p_to))[1] as closed_block,
                 (array_agg(b.id order by b.started_at, b.id) filter (where b.ended_at is not null and b.retroactive and q.p_from < b.ended_at and b.started_at < q.p_to))[1] as released_block,
                 (array_agg(b.id order by dc.closed_at desc, b.id) filter (where b.ended_at is null and dc.closed_at is not null))[1] as kept_block,
                 max(dc.closed_at) filter (where b.ended_at is null) as kept_since
            from blocks b
            left join doubt_cases dc on dc.id = b.case_id and dc.status = (select ${NOT_DEMONSTRATED}::text)
           where b.party_id = q.party_id and b.connection_ean = q.ean
        ) b on true
        left join lateral (
          -- evaluateMandate() (stages as MANDATE_STAGES): the mandate that gets furthest explains the decision;
          -- ties as betterMandate(): highest stage, latest valid_to, latest valid_from, smallest id.
          -- GT-8b: under a kept block only mandates registered after its close are candidates, and they wait
          -- for the grid user's own confirmation (stage 1) whatever the party declared (gridUserMustConfirm).
          select m.id as mandate_id, e.reason as mandate_reason
            from mandates m
            cross join lateral (select case
                when m.status = 'ended' then 0
                when m.status = 'pending_confirmation' then 1
                when b.kept_since is not null and m.confirmed_by is distinct from 'grid_user' then 1
                when ${at}::timestamptz >= m.valid_to or ${at}::timestamptz < m.valid_from then 2
                when not (q.kind = any (m.data_kinds)) then 3
                when not m.history_included and (q.p_from < m.valid_from or q.p_from < m.created_at) then 4
                else 5 end as stage) s
            cross join lateral (select case s.stage
                when 0 then case m.end_reason when 'customer_switch' then 'mandate_ended_customer_switch'
                                              when 'party_not_admitted' then 'mandate_ended_party_not_admitted'
                                              else 'mandate_revoked' end
                when 1 then 'mandate_pending_confirmation'
                when 2 then case when ${at}::timestamptz >= m.valid_to then 'mandate_expired' else 'mandate_not_yet_valid' end
                when 3 then 'data_kind_out_of_scope'
                when 4 then case when q.p_from < m.valid_from then 'history_not_consented' else 'history_before_registration' end
                else 'mandate_valid' end as reason) e
           where m.party_id = q.party_id and m.connection_ean = q.ean and (b.kept_since is null or m.created_at > b.kept_since)
           order by s.stage desc, m.valid_to desc, m.valid_from desc, m.id
           limit 1
        ) m on true
    ), d as (
      -- only what the insert and the answer read: d is materialised (read twice), so every column is copied per row
      select f.i, f.id, f.request_id, f.party_id, f.ean, f.kind, f.p_from, f.p_to, f.delivery_of, f.known, v.reason_code,
             -- the mandate is named when the decision came from it
             case when v.reason_code = f.mandate_reason or v.reason_code in ('mandate_valid_block_released', 'mandate_valid_after_negative_outcome') then f.mandate_id end as reg_mandate_id,
             case v.reason_code when 'blocked_by_doubt_case' then f.active_block when 'blocked_period_not_released' then f.closed_block
                                when 'mandate_valid_block_released' then f.released_block
                                when 'blocked_not_demonstrated' then f.kept_block when 'mandate_valid_after_negative_outcome' then f.kept_block end as reg_block_id
        from f
        cross join lateral (select case
            when f.admitted is not true then 'party_not_admitted'                                    -- DC-4
            when f.opt_out then 'remote_reading_opted_out'                                           -- AL-5
            when f.billing and f.in_supply then 'supplier_of_record'                                  -- GT-2 within DC-7
            when f.active_block is not null then 'blocked_by_doubt_case'                             -- GT-2
            when f.closed_block is not null then 'blocked_period_not_released'                       -- GT-8
            when f.p_from < f.grid_user_since then 'period_before_grid_user'                         -- DC-7
            when f.kept_block is not null and f.mandate_id is null then 'blocked_not_demonstrated'   -- GT-8b
            when f.mandate_id is null and f.billing then 'period_before_supply'                      -- DC-7
            when f.mandate_id is null then 'no_mandate'                                              -- DC-2
            when f.mandate_reason <> 'mandate_valid' then f.mandate_reason                           -- DC-2..DC-4
            when f.kept_block is not null then 'mandate_valid_after_negative_outcome'                -- GT-8b
            when f.released_block is not null then 'mandate_valid_block_released'                    -- GT-8
            else 'mandate_valid' end as reason_code) v
    ), ins as (
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from, period_to, allowed, reason_code, rule,
                                   mandate_id, block_id, kind, delivery_of)
      select d.id, ${at}::timestamptz, d.request_id, d.party_id, d.ean, d.kind, d.p_from, d.p_to, ${sql.unsafe(REASON_ALLOWED_SQL)}, d.reason_code,
             ${sql.unsafe(REASON_RULE_SQL)}, d.reg_mandate_id, d.reg_block_id, case when d.delivery_of is null then 'request' else 'delivery' end, d.delivery_of
        from d
       where d.known
    )
    select d.known, d.reason_code, d.reg_mandate_id as mandate_id, d.reg_block_id as block_id from d order by d.i`;
  const out = new Array<GateOutcome>(reqs.length);
  for (let k = 0; k < reqs.length; k++) {
    const r = rows[k]!;
    if (!r.known) {
      out[k] = { kind: 'connection_not_found' };
      continue;
    }
    const reason = GATE_REASONS[r.reason_code];
    const p = periods[k]!;
    out[k] = {
      kind: 'decided',
      decision: {
        id: ids[k]!,
        decidedAt,
        allowed: reason.allowed,
        reasonCode: r.reason_code,
        rule: reason.rule,
        mandateId: r.mandate_id,
        blockId: r.block_id,
        from: p.from,
        to: p.to,
        periodCut: p.cut,
      },
    };
  }
  return out;
}

export type GateOutcome = { kind: 'decided'; decision: GateDecision } | { kind: 'connection_not_found' };

/** DC-8: a read of quarter-hour data by the grid operator's people, registered like an exchange. */
export interface InternalAccess {
  /** The grid operator whose people read (the connection's). */
  gridOperatorId: string;
  connectionEan: string;
  dataKind: DataKind;
  from: Date;
  to: Date;
  /** Correlation id of the HTTP request (x-request-id). */
  requestId: string;
  /** Audit actor of the reader (api-key:<id>). */
  actor: string;
  purpose: string;
}

/** Registers the read before any data is read (DC-1, DC-8); returns the entry. */
export async function registerInternalAccess(
  db: DbOrTx,
  a: InternalAccess,
  now = new Date(),
): Promise<AccessRegisterEntry> {
  const reason = INTERNAL_ACCESS_REASON.internal_access;
  const [row] = await db
    .insert(accessRegister)
    .values({
      id: uuidv7(now.getTime()),
      decidedAt: now,
      requestId: a.requestId,
      partyId: a.gridOperatorId,
      connectionEan: a.connectionEan,
      dataKind: a.dataKind,
      periodFrom: a.from,
      periodTo: a.to,
      allowed: reason.allowed,
      reasonCode: 'internal_access',
      rule: reason.rule,
      kind: 'internal',
      actor: a.actor,
      purpose: a.purpose,
    })
    .returning();
  if (!row) throw new Error('access register insert returned nothing');
  return row;
}

// ---------------------------------------------------------------------------------------------
// Reads of the register (compliance, the data handle, transparency).

/**
 * One entry by id (the data handle). Every writer takes the id as uuidv7(t) and decided_at as t from the same
 * clock reading (decideAndRegister, registerInternalAccess), so a UUIDv7's millisecond is the row's decided_at:
 * saying so lets PostgreSQL read one month's key index instead of every month's.
 */
export async function getAccessRegisterEntry(db: DbOrTx, id: string): Promise<AccessRegisterEntry | undefined> {
  const ms = uuidv7Time(id);
  const at =
    ms === null ? [] : [gte(accessRegister.decidedAt, new Date(ms)), lt(accessRegister.decidedAt, new Date(ms + 1))];
  const [row] = await db
    .select()
    .from(accessRegister)
    .where(and(eq(accessRegister.id, id), ...at));
  return row;
}

export interface RegisterFilter {
  connectionEan?: string;
  partyId?: string;
  gridOperatorId?: string;
  since?: Date;
  until?: Date;
  limit: number;
  offset: number;
}

/**
 * The filter's connection, party and time window as conditions, and whether the read goes by the key. decided_at
 * prunes the register to the window's months. A connection's reads use (connection_ean, decided_at), a party's
 * (party_id, decided_at); reads over all connections the key, since ids are UUIDv7 taken at decision time and a
 * time window is also a key range. The key range is stated only then: with it beside a party, the planner read the
 * whole window by the key and filtered the party out of it (bench:register).
 */
function registerWindow(f: Omit<RegisterFilter, 'limit' | 'offset'>): { where: SQL[]; byKey: boolean } {
  const where: SQL[] = [];
  if (f.connectionEan) where.push(eq(accessRegister.connectionEan, f.connectionEan));
  if (f.partyId) where.push(eq(accessRegister.partyId, f.partyId));
  const byKey = !f.connectionEan && !f.partyId;
  if (f.since) {
    where.push(gte(accessRegister.decidedAt, f.since));
    if (byKey) where.push(gte(accessRegister.id, uuidv7Floor(f.since.getTime())));
  }
  if (f.until) {
    where.push(lt(accessRegister.decidedAt, f.until));
    if (byKey) where.push(lt(accessRegister.id, uuidv7Floor(f.until.getTime() + 1)));
  }
  return { where, byKey };
}

export async function listAccessRegister(
  db: DbOrTx,
  f: RegisterFilter,
): Promise<{ items: AccessRegisterEntry[]; total: number }> {
  const { where } = registerWindow(f);
  if (f.gridOperatorId) where.push(eq(connections.gridOperatorId, f.gridOperatorId));
  const cond = where.length ? and(...where) : undefined;
  const base = db.select({ e: accessRegister }).from(accessRegister);
  const rows = await (
    f.gridOperatorId ? base.innerJoin(connections, eq(connections.ean, accessRegister.connectionEan)) : base
  )
    .where(cond)
    .orderBy(desc(accessRegister.decidedAt), desc(accessRegister.id))
    .limit(f.limit)
    .offset(f.offset);
  const cbase = db.select({ n: count() }).from(accessRegister);
  const [total] = await (
    f.gridOperatorId ? cbase.innerJoin(connections, eq(connections.ean, accessRegister.connectionEan)) : cbase
  ).where(cond);
  return { items: rows.map((r) => r.e), total: total?.n ?? 0 };
}

/** Where a keyset page of the register ends: its last entry's (decided_at, id). */
export interface RegisterCursor {
  decidedAt: Date;
  id: string;
}

/**
 * The keyset page after `after` (null: the first) of the register, in listAccessRegister's filter and order
 * (newest first: decided_at desc, id desc), without a count: the CSV download reads every matching entry page by
 * page in one snapshot (api/routes/access-register-csv.ts), so each page costs its own rows however deep it lies,
 * where an offset page reads and skips everything before it and counts the whole window again.
 *
 * Over all connections (a grid operator's register, the console's download) the page is read in the key's order,
 * id desc: every writer takes id as uuidv7(t) and decided_at as t from one clock reading (see
 * getAccessRegisterEntry), so id desc is (decided_at desc, id desc) and the key index delivers the pages of each
 * month already in order, with no sort of the window. For one connection or one party the page follows that
 * filter's (…, decided_at) index and orders the ties of one instant by id. The query is returned unrun, so its plan
 * can be checked (test/console/report.test.ts).
 */
export function accessRegisterPageQuery(
  db: DbOrTx,
  f: Omit<RegisterFilter, 'limit' | 'offset'>,
  after: RegisterCursor | null,
  limit: number,
) {
  const { where, byKey } = registerWindow(f);
  if (after) {
    // (decided_at, id) < the cursor's. decided_at <= also prunes the months after the cursor's.
    where.push(lte(accessRegister.decidedAt, after.decidedAt));
    const earlier = or(lt(accessRegister.decidedAt, after.decidedAt), lt(accessRegister.id, after.id))!;
    where.push(byKey ? lt(accessRegister.id, after.id) : earlier);
  }
  if (f.gridOperatorId) where.push(eq(connections.gridOperatorId, f.gridOperatorId));
  const base = db.select({ e: accessRegister }).from(accessRegister);
  return (f.gridOperatorId ? base.innerJoin(connections, eq(connections.ean, accessRegister.connectionEan)) : base)
    .where(and(...where))
    .orderBy(
      ...(byKey
        ? [desc(accessRegister.id), desc(accessRegister.decidedAt)]
        : [desc(accessRegister.decidedAt), desc(accessRegister.id)]),
    )
    .limit(limit);
}

/** One keyset page of the register (accessRegisterPageQuery); the next page's cursor is its last entry. */
export async function accessRegisterPage(
  db: DbOrTx,
  f: Omit<RegisterFilter, 'limit' | 'offset'>,
  after: RegisterCursor | null,
  limit: number,
): Promise<AccessRegisterEntry[]> {
  const rows = await accessRegisterPageQuery(db, f, after, limit);
  return rows.map((r) => r.e);
}
