/**
 * The P4 gate: may party P have data kind X of connection E over [from, to)? Every decision, allowed
 * or denied, is written to the access register (DC-1) before it is answered.
 *
 * Hot path design:
 * - Nothing is cached: blocks, mandates, admission and the supplier of record are read for every
 *   request, so a block denies from the instant its transaction commits (GT-2) and a revocation ends
 *   access at once (DC-4), whichever API instance placed it.
 * - Concurrent requests are batched: one query fetches the facts of every distinct (party, connection)
 *   pair in a batch, the decisions are made here in TypeScript (`decide`, pure), and one multi-row
 *   INSERT writes the batch to the access register (group commit). A request is answered only after
 *   that INSERT has committed, so no answered decision can be missing from the register; when the
 *   INSERT fails, every request of the batch fails (503) and none is answered as a decision.
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

  let best: { stage: number; reason: GateReason; mandate: MandateFact } | undefined;
  for (const m of facts.mandates) {
    const e = evaluateMandate(m, req, now);
    if (!best || e.stage > best.stage || (e.stage === best.stage && m.validTo > best.mandate.validTo)) best = { ...e, mandate: m };
  }
  if (!best) return verdict('no_mandate'); // DC-2
  if (best.reason !== 'mandate_valid') return verdict(best.reason, best.mandate.id);
  // GT-8: requests covering a period released by a retroactive lift are allowed; say so in the register.
  const released = facts.blocks.find((b) => b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to);
  return released ? verdict('mandate_valid_block_released', best.mandate.id, released.id) : verdict('mandate_valid', best.mandate.id);
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
    out += v === null || v === undefined ? 'NULL' : `"${v.replace(/[\\"]/g, '\\$&')}"`;
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

/** Facts for each (party, connection) pair, in the order given. One round trip. */
export async function fetchGateFacts(sql: postgres.Sql, pairs: Array<{ partyId: string; connectionEan: string }>): Promise<GateFacts[]> {
  const rows = await sql<FactsRow[]>`
    select q.i::int as i,
           c.ean is not null as exists,
           c.supplier_id,
           c.remote_reading_opt_out as opt_out,
           p.admitted,
           (select json_agg(json_build_array(m.id, m.data_kinds, m.valid_from, m.valid_to, m.history_included, m.status, m.end_reason))
              from mandates m where m.party_id = q.party_id and m.connection_ean = q.ean) as m,
           (select json_agg(json_build_array(b.id, b.started_at, b.ended_at, b.retroactive))
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
  await sql`
    insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from, period_to, allowed, reason_code, rule, mandate_id, block_id)
    select * from unnest(
      ${col((r) => r.id)}::uuid[], ${col((r) => r.decidedAt.toISOString())}::timestamptz[], ${col((r) => r.requestId)}::text[],
      ${col((r) => r.partyId)}::uuid[], ${col((r) => r.connectionEan)}::varchar[], ${col((r) => r.dataKind)}::text[],
      ${col((r) => r.from.toISOString())}::timestamptz[], ${col((r) => r.to.toISOString())}::timestamptz[], ${col((r) => (r.allowed ? 't' : 'f'))}::bool[],
      ${col((r) => r.reasonCode)}::text[], ${col((r) => r.rule)}::text[], ${col((r) => r.mandateId)}::uuid[], ${col((r) => r.blockId)}::uuid[])`;
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
  now?: () => number;
}

export class P4Gate {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly now: () => number;

  constructor(
    private readonly sql: postgres.Sql,
    opts: P4GateOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.concurrency = opts.concurrency ?? 3;
    this.maxQueue = opts.maxQueue ?? 20_000;
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
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) this.pump();
        else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      // Distinct (party, connection) pairs: one facts row each.
      const index = new Map<string, number>();
      const pairs: Array<{ partyId: string; connectionEan: string }> = [];
      const slot = batch.map(({ req }) => {
        const key = `${req.partyId}|${req.connectionEan}`;
        let i = index.get(key);
        if (i === undefined) {
          i = pairs.push({ partyId: req.partyId, connectionEan: req.connectionEan }) - 1;
          index.set(key, i);
        }
        return i;
      });
      const facts = await fetchGateFacts(this.sql, pairs);
      const now = this.now();
      const decidedAt = new Date(now);
      const rows: RegisterRow[] = [];
      const outcomes: GateOutcome[] = batch.map(({ req }, k) => {
        const f = facts[slot[k]!]!;
        // An unknown connection is bad input (404), not a decision: nothing is registered.
        if (!f.connection) return { kind: 'connection_not_found' };
        const v = decide(req, f, now);
        const decision: GateDecision = { ...v, id: uuidv7(now), decidedAt };
        rows.push({ ...v, id: decision.id, decidedAt, requestId: req.requestId, partyId: req.partyId, connectionEan: req.connectionEan, dataKind: req.dataKind, from: req.from, to: req.to });
        return { kind: 'decided', decision };
      });
      await writeAccessRegister(this.sql, rows);
      batch.forEach((p, k) => p.resolve(outcomes[k]!));
    } catch (err) {
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
  if (f.since) where.push(gte(accessRegister.decidedAt, f.since));
  if (f.until) where.push(lt(accessRegister.decidedAt, f.until));
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
