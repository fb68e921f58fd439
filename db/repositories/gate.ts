/**
 * The P4 gate: may party P have data kind X of connection E over [from, to)? Every decision, allowed
 * or denied, is written to the access register (DC-1) before it is answered.
 *
 * The rules are written twice, on purpose, and kept equal by a test (test/core/gate-equivalence.test.ts):
 * - `decide()` in TypeScript is the readable specification, with the rule IDs;
 * - `DECIDE_AND_REGISTER` in SQL is what the hot path runs: one statement per batch that reads the
 *   facts of every request (connection, party, mandates, blocks), decides, and INSERTs the batch into
 *   the access register, returning the decisions. One round trip and one commit per batch.
 *
 * Hot path design:
 * - Nothing is cached: blocks, mandates, admission and the supplier of record are read for every
 *   request inside the statement that registers it, so a block denies from the instant its
 *   transaction commits (GT-2) and a revocation ends access at once (DC-4), whichever API instance
 *   placed it.
 * - Concurrent requests are batched (group commit): a request is answered only after the statement
 *   holding its register row has committed, so no answered decision can be missing from the register;
 *   when the statement fails, every request of the batch fails (503) and none is answered.
 * - Batching is natural: a batch starts as soon as a slot is free, and requests that arrive while all
 *   slots are busy form the next batch. An idle gate therefore answers a lone request immediately.
 */
import { randomFillSync } from 'node:crypto';
import type postgres from 'postgres';
import { and, count, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { accessRegister, connections, type AccessRegisterEntry, type DataKind, type MandateEndReason, type MandateStatus } from '../schema/index.js';
import { DomainError } from '../../lib/errors.js';

/** Reason codes of the gate: stable (clients match on them), each with the rule behind it. */
export const GATE_REASONS = {
  // allowed
  supplier_of_record: { allowed: true, rule: 'GT-2', text: 'The supplier of record reads monthly/billing registers without an additional mandate' },
  mandate_valid: { allowed: true, rule: 'DC-2', text: 'A confirmed mandate covers the data kind and period' },
  mandate_valid_block_released: { allowed: true, rule: 'GT-8', text: 'A mandate covers the request; the doubt-case block over this period was lifted retroactively' },
  // denied
  party_not_admitted: { allowed: false, rule: 'DC-4', text: 'The party no longer meets the access conditions' },
  remote_reading_opted_out: { allowed: false, rule: 'AL-5', text: 'The grid user opted out of remote reading: no smart-meter data exists' },
  blocked_by_doubt_case: { allowed: false, rule: 'GT-2', text: 'A doubt case blocks this party on this connection for requests that need an additional mandate' },
  blocked_period_not_released: { allowed: false, rule: 'GT-8', text: 'The period overlaps a blocked period that was not released retroactively' },
  no_mandate: { allowed: false, rule: 'DC-2', text: 'The party holds no mandate for this connection' },
  mandate_pending_confirmation: { allowed: false, rule: 'DC-3', text: 'The mandate was granted by someone other than the grid user and is not yet confirmed' },
  mandate_revoked: { allowed: false, rule: 'DC-4', text: 'The mandate was revoked by the grid user or withdrawn by the party' },
  mandate_ended_customer_switch: { allowed: false, rule: 'DC-4', text: 'The mandate ended at a change of customer at the connection' },
  mandate_ended_party_not_admitted: { allowed: false, rule: 'DC-4', text: 'The mandate ended when the party lost its access conditions' },
  mandate_not_yet_valid: { allowed: false, rule: 'DC-2', text: 'The mandate’s access period has not started' },
  mandate_expired: { allowed: false, rule: 'DC-4', text: 'The mandate’s access period has ended' },
  data_kind_out_of_scope: { allowed: false, rule: 'DC-2', text: 'The mandate does not cover this data kind' },
  period_out_of_scope: { allowed: false, rule: 'DC-2', text: 'The requested period extends beyond the mandate’s end' },
  history_not_consented: { allowed: false, rule: 'DC-2', text: 'The period starts before the mandate and history was not consented' },
} as const;
export type GateReason = keyof typeof GATE_REASONS;

export interface GateRequest {
  partyId: string;
  connectionEan: string;
  dataKind: DataKind;
  from: Date;
  to: Date;
  /** Correlation id of the HTTP request (x-request-id), stored with the decision. */
  requestId: string;
}

export interface MandateFact {
  id: string;
  dataKinds: DataKind[];
  validFrom: number;
  validTo: number;
  historyIncluded: boolean;
  status: MandateStatus;
  endReason: MandateEndReason | null;
}

export interface BlockFact {
  id: string;
  startedAt: number;
  endedAt: number | null;
  retroactive: boolean;
}

/** What the gate knows about one (party, connection) pair at decision time. */
export interface GateFacts {
  connection: { supplierId: string | null; remoteReadingOptOut: boolean } | null;
  party: { admitted: boolean } | null;
  mandates: MandateFact[];
  blocks: BlockFact[];
}

export interface Verdict {
  allowed: boolean;
  reasonCode: GateReason;
  rule: string;
  mandateId: string | null;
  blockId: string | null;
}

export interface GateDecision extends Verdict {
  /** Access-register id (UUIDv7): also the handle to fetch the data of an allowed request. */
  id: string;
  decidedAt: Date;
}

/**
 * Which requests need an additional mandate (DOMAIN.md, GT-2): the supplier of record reading
 * monthly/billing registers needs none; a supplier reading daily or interval data needs one; a
 * service provider (anyone not the supplier of record) always needs one.
 */
export function needsAdditionalMandate(partyId: string, supplierOfRecordId: string | null, dataKind: DataKind): boolean {
  return !(supplierOfRecordId === partyId && dataKind === 'monthly_registers');
}

function verdict(reasonCode: GateReason, mandateId: string | null = null, blockId: string | null = null): Verdict {
  const r = GATE_REASONS[reasonCode];
  return { allowed: r.allowed, reasonCode, rule: r.rule, mandateId, blockId };
}

const END_REASON_CODE: Record<MandateEndReason, GateReason> = {
  revoked_by_grid_user: 'mandate_revoked',
  withdrawn_by_party: 'mandate_revoked',
  customer_switch: 'mandate_ended_customer_switch',
  party_not_admitted: 'mandate_ended_party_not_admitted',
};

/** How far one mandate gets towards allowing the request: the highest stage explains a denial best. */
function evaluateMandate(m: MandateFact, req: GateRequest, now: number): { stage: number; reason: GateReason } {
  if (m.status === 'ended') return { stage: 0, reason: m.endReason ? END_REASON_CODE[m.endReason] : 'mandate_revoked' }; // DC-4
  if (m.status === 'pending_confirmation') return { stage: 1, reason: 'mandate_pending_confirmation' }; // DC-3
  if (now >= m.validTo) return { stage: 2, reason: 'mandate_expired' }; // DC-4: consent lapsed
  if (now < m.validFrom) return { stage: 2, reason: 'mandate_not_yet_valid' }; // DC-2 access period
  if (!m.dataKinds.includes(req.dataKind)) return { stage: 3, reason: 'data_kind_out_of_scope' }; // DC-2 scope
  if (req.to.getTime() > m.validTo) return { stage: 4, reason: 'period_out_of_scope' }; // DC-2 period
  if (req.from.getTime() < m.validFrom && !m.historyIncluded) return { stage: 5, reason: 'history_not_consented' }; // DC-2, Datacode 5.3.11 §3
  return { stage: 6, reason: 'mandate_valid' };
}

/** The gate's rules, in order. Pure: the same facts, request and clock give the same verdict. */
export function decide(req: GateRequest, facts: GateFacts, now: number): Verdict {
  if (!facts.party || !facts.party.admitted) return verdict('party_not_admitted'); // DC-4
  const conn = facts.connection;
  if (!conn) throw new Error('decide() needs an existing connection');
  if (conn.remoteReadingOptOut) return verdict('remote_reading_opted_out'); // AL-5: P4 is remote reading
  if (!needsAdditionalMandate(req.partyId, conn.supplierId, req.dataKind)) return verdict('supplier_of_record'); // GT-2: blocks do not apply
  const from = req.from.getTime();
  const to = req.to.getTime();
  // GT-2: an open block denies every request that needs an additional mandate.
  const active = facts.blocks.find((b) => b.endedAt === null);
  if (active) return verdict('blocked_by_doubt_case', null, active.id);
  // GT-8: a block lifted without retroactive release keeps its period closed.
  const closed = facts.blocks.find((b) => !b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to);
  if (closed) return verdict('blocked_period_not_released', null, closed.id);

  let best: MandateFact | undefined;
  let bestStage = -1;
  let bestReason: GateReason = 'no_mandate';
  for (const m of facts.mandates) {
    const e = evaluateMandate(m, req, now);
    if (!best || e.stage > bestStage || (e.stage === bestStage && m.validTo > best.validTo)) {
      best = m;
      bestStage = e.stage;
      bestReason = e.reason;
    }
  }
  if (!best) return verdict('no_mandate'); // DC-2
  if (bestReason !== 'mandate_valid') return verdict(bestReason, best.id);
  // GT-8: requests covering a period released by a retroactive lift are allowed; say so in the register.
  const released = facts.blocks.find((b) => b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to);
  return released ? verdict('mandate_valid_block_released', best.id, released.id) : verdict('mandate_valid', best.id);
}

// ---------------------------------------------------------------------------------------------
// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, 74 random bits. Random bytes come from a
// pooled buffer: one getrandom call per 409 ids instead of one per id.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function uuidv7(ms = Date.now()): string {
  if (poolOffset + 10 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 10;
  const t = ms.toString(16).padStart(12, '0');
  const b6 = 0x70 | (POOL[r]! & 0x0f);
  const b8 = 0x80 | (POOL[r + 2]! & 0x3f);
  return (
    `${t.slice(0, 8)}-${t.slice(8, 12)}-${HEX[b6]}${HEX[POOL[r + 1]!]}-${HEX[b8]}${HEX[POOL[r + 3]!]}-` +
    `${HEX[POOL[r + 4]!]}${HEX[POOL[r + 5]!]}${HEX[POOL[r + 6]!]}${HEX[POOL[r + 7]!]}${HEX[POOL[r + 8]!]}${HEX[POOL[r + 9]!]}`
  );
}

/** The smallest UUIDv7 of millisecond `ms`: ids of decisions taken at or after ms compare ≥ it. */
export function uuidv7Floor(ms: number): string {
  const t = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7000-8000-000000000000`;
}

// ---------------------------------------------------------------------------------------------
// Batched facts and group-committed register writes (raw SQL: this is the hot path).

/**
 * A PostgreSQL array literal ('{"a","b",NULL}') for a column of a batch, cast server-side
 * (`$1::uuid[]`). One text parameter per column keeps the driver out of array type inference (it types
 * a JS array by its first element, which breaks on booleans and leading nulls) and is cheap to build.
 */
export function pgArray(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (v.includes('"') || v.includes('\\')) out += `"${v.replace(/["\\]/g, '\\$&')}"`;
    else out += `"${v}"`;
  }
  return `${out}}`;
}

interface FactsRow {
  i: number;
  exists: boolean;
  supplier_id: string | null;
  opt_out: boolean | null;
  admitted: boolean | null;
  m: Array<[string, DataKind[], string, string, boolean, MandateStatus, MandateEndReason | null]> | null;
  b: Array<[string, string, string | null, boolean]> | null;
}

/**
 * Facts for each (party, connection) pair, in the order given (blocks by start). One round trip. The hot
 * path does not use this (it decides in SQL); it shows what `decide()` sees, and the equivalence test
 * feeds it to `decide()`.
 */
export async function fetchGateFacts(sql: postgres.Sql, pairs: Array<{ partyId: string; connectionEan: string }>): Promise<GateFacts[]> {
  const rows = await sql<FactsRow[]>`
    select q.i::int as i,
           c.ean is not null as exists,
           c.supplier_id,
           c.remote_reading_opt_out as opt_out,
           p.admitted,
           (select json_agg(json_build_array(m.id, m.data_kinds, m.valid_from, m.valid_to, m.history_included, m.status, m.end_reason))
              from mandates m where m.party_id = q.party_id and m.connection_ean = q.ean) as m,
           (select json_agg(json_build_array(b.id, b.started_at, b.ended_at, b.retroactive) order by b.started_at)
              from blocks b where b.party_id = q.party_id and b.connection_ean = q.ean) as b
      from unnest(${pgArray(pairs.map((p) => p.partyId))}::uuid[], ${pgArray(pairs.map((p) => p.connectionEan))}::varchar[]) with ordinality as q(party_id, ean, i)
      left join connections c on c.ean = q.ean
      left join parties p on p.id = q.party_id`;
  const out = new Array<GateFacts>(pairs.length);
  for (const r of rows) {
    out[r.i - 1] = {
      connection: r.exists ? { supplierId: r.supplier_id, remoteReadingOptOut: r.opt_out === true } : null,
      party: r.admitted === null ? null : { admitted: r.admitted },
      mandates: (r.m ?? []).map(([id, dataKinds, validFrom, validTo, historyIncluded, status, endReason]) => ({
        id,
        dataKinds,
        validFrom: Date.parse(validFrom),
        validTo: Date.parse(validTo),
        historyIncluded,
        status,
        endReason,
      })),
      blocks: (r.b ?? []).map(([id, startedAt, endedAt, retroactive]) => ({
        id,
        startedAt: Date.parse(startedAt),
        endedAt: endedAt === null ? null : Date.parse(endedAt),
        retroactive,
      })),
    };
  }
  return out;
}

export interface RegisterRow {
  id: string;
  decidedAt: Date;
  requestId: string;
  partyId: string;
  connectionEan: string;
  dataKind: string;
  from: Date;
  to: Date;
  allowed: boolean;
  reasonCode: string;
  rule: string;
  mandateId: string | null;
  blockId: string | null;
}

/** DC-1: one multi-row INSERT (one commit) for a batch of decisions. */
export async function writeAccessRegister(sql: postgres.Sql, rows: RegisterRow[]): Promise<void> {
  if (rows.length === 0) return;
  const col = (f: (r: RegisterRow) => string | null) => pgArray(rows.map(f));
  const decidedAt = rows.map((r) => r.decidedAt);
  const decidedAtIso = new Map<Date, string>(); // one Date per batch: format it once
  for (const d of decidedAt) if (!decidedAtIso.has(d)) decidedAtIso.set(d, d.toISOString());
  await sql`
    insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from, period_to, allowed, reason_code, rule, mandate_id, block_id)
    select * from unnest(
      ${col((r) => r.id)}::uuid[], ${col((r) => decidedAtIso.get(r.decidedAt)!)}::timestamptz[], ${col((r) => r.requestId)}::text[],
      ${col((r) => r.partyId)}::uuid[], ${col((r) => r.connectionEan)}::varchar[], ${col((r) => r.dataKind)}::text[],
      ${col((r) => r.from.toISOString())}::timestamptz[], ${col((r) => r.to.toISOString())}::timestamptz[], ${col((r) => (r.allowed ? 't' : 'f'))}::bool[],
      ${col((r) => r.reasonCode)}::text[], ${col((r) => r.rule)}::text[], ${col((r) => r.mandateId)}::uuid[], ${col((r) => r.blockId)}::uuid[])`;
}

const REASON_CODES = Object.keys(GATE_REASONS) as GateReason[];
const REASON_ALLOWED = pgArray(REASON_CODES.map((c) => (GATE_REASONS[c].allowed ? 't' : 'f')));
const REASON_RULES = pgArray(REASON_CODES.map((c) => GATE_REASONS[c].rule));
const REASON_CODES_ARRAY = pgArray(REASON_CODES);

interface DecidedRow {
  known: boolean;
  reason_code: GateReason;
  mandate_id: string | null;
  block_id: string | null;
}

/**
 * Decide a batch and register it, in one statement (see the file comment). The CASE below is
 * `decide()` in SQL, rule for rule and in the same order; allowed and rule come from GATE_REASONS.
 * Requests for an unknown connection are not decisions: they are returned with known = false and
 * nothing is registered for them.
 */
export async function decideAndRegister(sql: postgres.Sql, reqs: readonly GateRequest[], now: number): Promise<GateOutcome[]> {
  const decidedAt = new Date(now);
  // Timestamps travel as ISO strings with explicit casts: the app's driver options (custom types)
  // leave Date parameters of prepared statements unserialised.
  const at = decidedAt.toISOString();
  const ids = reqs.map(() => uuidv7(now));
  const rows = await sql<DecidedRow[]>`
    with q as (
      select * from unnest(${pgArray(ids)}::uuid[], ${pgArray(reqs.map((r) => r.requestId))}::text[], ${pgArray(reqs.map((r) => r.partyId))}::uuid[],
                           ${pgArray(reqs.map((r) => r.connectionEan))}::varchar[], ${pgArray(reqs.map((r) => r.dataKind))}::text[],
                           ${pgArray(reqs.map((r) => r.from.toISOString()))}::timestamptz[], ${pgArray(reqs.map((r) => r.to.toISOString()))}::timestamptz[])
             with ordinality as q(id, request_id, party_id, ean, kind, p_from, p_to, i)
    ), f as (
      select q.*, c.ean is not null as known, c.supplier_id, c.remote_reading_opt_out as opt_out, p.admitted,
             b.active_block, b.closed_block, b.released_block, m.mandate_id, m.mandate_reason
        from q
        left join connections c on c.ean = q.ean
        left join parties p on p.id = q.party_id
        left join lateral (
          -- GT-2 open block; GT-8 lifted blocks overlapping the period, without and with release
          select (array_agg(b.id order by b.started_at) filter (where b.ended_at is null))[1] as active_block,
                 (array_agg(b.id order by b.started_at) filter (where b.ended_at is not null and not b.retroactive and q.p_from < b.ended_at and b.started_at < q.p_to))[1] as closed_block,
                 (array_agg(b.id order by b.started_at) filter (where b.ended_at is not null and b.retroactive and q.p_from < b.ended_at and b.started_at < q.p_to))[1] as released_block
            from blocks b where b.party_id = q.party_id and b.connection_ean = q.ean
        ) b on true
        left join lateral (
          -- evaluateMandate(): the mandate that gets furthest explains the decision
          select m.id as mandate_id, e.reason as mandate_reason
            from mandates m
            cross join lateral (select case
                when m.status = 'ended' then 0
                when m.status = 'pending_confirmation' then 1
                when ${at}::timestamptz >= m.valid_to or ${at}::timestamptz < m.valid_from then 2
                when not (q.kind = any (m.data_kinds)) then 3
                when q.p_to > m.valid_to then 4
                when q.p_from < m.valid_from and not m.history_included then 5
                else 6 end as stage) s
            cross join lateral (select case s.stage
                when 0 then case m.end_reason when 'customer_switch' then 'mandate_ended_customer_switch'
                                              when 'party_not_admitted' then 'mandate_ended_party_not_admitted'
                                              else 'mandate_revoked' end
                when 1 then 'mandate_pending_confirmation'
                when 2 then case when ${at}::timestamptz >= m.valid_to then 'mandate_expired' else 'mandate_not_yet_valid' end
                when 3 then 'data_kind_out_of_scope'
                when 4 then 'period_out_of_scope'
                when 5 then 'history_not_consented'
                else 'mandate_valid' end as reason) e
           where m.party_id = q.party_id and m.connection_ean = q.ean
           order by s.stage desc, m.valid_to desc
           limit 1
        ) m on true
    ), d as (
      select f.*, v.reason_code,
             -- the mandate is named when the decision came from it
             case when v.reason_code = f.mandate_reason or v.reason_code = 'mandate_valid_block_released' then f.mandate_id end as reg_mandate_id,
             case v.reason_code when 'blocked_by_doubt_case' then f.active_block when 'blocked_period_not_released' then f.closed_block
                                when 'mandate_valid_block_released' then f.released_block end as reg_block_id
        from f
        cross join lateral (select case
            when f.admitted is not true then 'party_not_admitted'                                    -- DC-4
            when f.opt_out then 'remote_reading_opted_out'                                           -- AL-5
            when f.supplier_id = f.party_id and f.kind = 'monthly_registers' then 'supplier_of_record' -- GT-2: no additional mandate
            when f.active_block is not null then 'blocked_by_doubt_case'                             -- GT-2
            when f.closed_block is not null then 'blocked_period_not_released'                       -- GT-8
            when f.mandate_id is null then 'no_mandate'                                              -- DC-2
            when f.mandate_reason <> 'mandate_valid' then f.mandate_reason                           -- DC-2..DC-4
            when f.released_block is not null then 'mandate_valid_block_released'                    -- GT-8
            else 'mandate_valid' end as reason_code) v
    ), ins as (
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from, period_to, allowed, reason_code, rule, mandate_id, block_id)
      select d.id, ${at}::timestamptz, d.request_id, d.party_id, d.ean, d.kind, d.p_from, d.p_to, r.allowed, d.reason_code, r.rule, d.reg_mandate_id, d.reg_block_id
        from d join unnest(${REASON_CODES_ARRAY}::text[], ${REASON_ALLOWED}::bool[], ${REASON_RULES}::text[]) as r(code, allowed, rule) on r.code = d.reason_code
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
    out[k] = { kind: 'decided', decision: { id: ids[k]!, decidedAt, allowed: reason.allowed, reasonCode: r.reason_code, rule: reason.rule, mandateId: r.mandate_id, blockId: r.block_id } };
  }
  return out;
}

export type GateOutcome = { kind: 'decided'; decision: GateDecision } | { kind: 'connection_not_found' };

interface Pending {
  req: GateRequest;
  resolve(o: GateOutcome): void;
  reject(e: unknown): void;
}

export interface P4GateOptions {
  /** Largest batch (facts query and register INSERT). */
  maxBatch?: number;
  /** Batches in flight at once (each holds one pooled connection at a time). */
  concurrency?: number;
  /** Queued requests beyond which new ones are refused at once (503) instead of waiting. */
  maxQueue?: number;
  /**
   * Group commit under load: while another batch is in flight, a new batch waits up to lingerMs for
   * lingerBatch requests before it starts (an idle gate never waits). Fewer, larger statements cost the
   * database and the driver less per request; the wait is bounded by the batch already running.
   */
  lingerMs?: number;
  lingerBatch?: number;
  now?: () => number;
}

/** Process-wide counters of the gate (all instances): batches run and requests decided. */
export const gateStats = { batches: 0, requests: 0, failedBatches: 0 };

export class P4Gate {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly lingerMs: number;
  private readonly lingerBatch: number;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly sql: postgres.Sql,
    opts: P4GateOptions = {},
  ) {
    // Defaults measured with bench:p4 on 2 cores: two batches in flight (one in the database while the
    // next fills), and a 2 ms / 64-request linger under load, give the largest batches without stalling
    // either side (on an idle machine 1 ms / 32 gave 45 % of the bare route, 2 ms / 64 gave 52 %).
    this.maxBatch = opts.maxBatch || 256;
    this.concurrency = opts.concurrency || 2;
    this.maxQueue = opts.maxQueue || 20_000;
    this.lingerMs = opts.lingerMs ?? 2;
    this.lingerBatch = opts.lingerBatch || 64;
    this.now = opts.now ?? Date.now;
  }

  /** Decide and register one request; resolves after the register row has committed. */
  request(req: GateRequest): Promise<GateOutcome> {
    if (this.closed) return Promise.reject(new DomainError('unavailable', 'gate_closed', 'The P4 gate is shutting down'));
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new DomainError('unavailable', 'gate_overloaded', 'The P4 gate is overloaded; retry shortly'));
    }
    return new Promise<GateOutcome>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      // Let every request parsed in this turn of the event loop join the batch.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Stop taking requests and wait until every queued one is answered. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.concurrency) {
      // Under load, let a small batch fill up a little while the running one finishes.
      if (this.inFlight > 0 && this.lingerMs > 0 && this.queue.length < this.lingerBatch && !this.closed) {
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          if (this.inFlight < this.concurrency) this.startBatch();
          this.pump();
        }, this.lingerMs);
        return;
      }
      this.startBatch();
    }
  }

  private startBatch(): void {
    if (this.queue.length === 0) return;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    const batch = this.queue.splice(0, this.maxBatch);
    this.inFlight += 1;
    void this.run(batch).finally(() => {
      this.inFlight -= 1;
      if (this.queue.length > 0) this.pump();
      else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const now = this.now();
      const results = await decideAndRegister(this.sql, batch.map((p) => p.req), now);
      gateStats.batches += 1;
      gateStats.requests += batch.length;
      for (let k = 0; k < batch.length; k++) batch[k]!.resolve(results[k]!);
    } catch (err) {
      gateStats.failedBatches += 1;
      const failure = new DomainError('unavailable', 'access_register_unavailable', 'The decision could not be registered (DC-1); nothing was decided. Retry.', undefined, undefined, { cause: err });
      for (const p of batch) p.reject(failure);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reads of the register (compliance, the data handle, transparency).

export async function getAccessRegisterEntry(db: DbOrTx, id: string): Promise<AccessRegisterEntry | undefined> {
  const [row] = await db.select().from(accessRegister).where(eq(accessRegister.id, id));
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

export async function listAccessRegister(db: DbOrTx, f: RegisterFilter): Promise<{ items: AccessRegisterEntry[]; total: number }> {
  const where: SQL[] = [];
  if (f.connectionEan) where.push(eq(accessRegister.connectionEan, f.connectionEan));
  if (f.partyId) where.push(eq(accessRegister.partyId, f.partyId));
  // Ids are UUIDv7 taken at decision time: a time window is also a primary-key range, so reads by
  // party or over all connections scan only the window.
  if (f.since) where.push(gte(accessRegister.decidedAt, f.since), gte(accessRegister.id, uuidv7Floor(f.since.getTime())));
  if (f.until) where.push(lt(accessRegister.decidedAt, f.until), lt(accessRegister.id, uuidv7Floor(f.until.getTime() + 1)));
  if (f.gridOperatorId) where.push(eq(connections.gridOperatorId, f.gridOperatorId));
  const cond = where.length ? and(...where) : undefined;
  const base = db.select({ e: accessRegister }).from(accessRegister);
  const rows = await (f.gridOperatorId ? base.innerJoin(connections, eq(connections.ean, accessRegister.connectionEan)) : base)
    .where(cond)
    .orderBy(desc(accessRegister.decidedAt), desc(accessRegister.id))
    .limit(f.limit)
    .offset(f.offset);
  const cbase = db.select({ n: count() }).from(accessRegister);
  const [total] = await (f.gridOperatorId ? cbase.innerJoin(connections, eq(connections.ean, accessRegister.connectionEan)) : cbase).where(cond);
  return { items: rows.map((r) => r.e), total: total?.n ?? 0 };
}
