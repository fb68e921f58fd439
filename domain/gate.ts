/**
 * The P4 gate's rules: may party P have data kind X of connection E over [from, to)? Pure (no I/O, no
 * node:*): the same facts, request and clock give the same verdict.
 *
 * `decide()` is the specification. The hot path runs the same rules in SQL, one statement per batch
 * (`decideAndRegister` in db/repositories/access-register.ts, which says it mirrors decide());
 * test/core/gate-equivalence.test.ts holds both to the same verdicts on random facts.
 */
import type { DataKind, MandateEndReason, MandateStatus } from './mandate.js';

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
export const GATE_REASON_CODES = Object.keys(GATE_REASONS) as GateReason[];

/** One question to the gate. */
export interface GateRequest {
  partyId: string;
  connectionEan: string;
  dataKind: DataKind;
  from: Date;
  to: Date;
  /** Correlation id of the HTTP request (x-request-id), stored with the decision. */
  requestId: string;
}

/** A mandate of the requesting party on the connection, as decide() sees it (instants in ms). */
export interface MandateFact {
  id: string;
  dataKinds: DataKind[];
  validFrom: number;
  validTo: number;
  historyIncluded: boolean;
  status: MandateStatus;
  endReason: MandateEndReason | null;
}

/** A doubt-case block of the requesting party on the connection (GT-2, GT-8). */
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

/** A registered verdict (DC-1). */
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

/**
 * How far one mandate gets towards allowing a request, in the order of evaluateMandate(): the mandate
 * that gets furthest explains the decision (allowed at `valid`, otherwise the best denial).
 */
export const MANDATE_STAGES = {
  ended: 0, // DC-4
  pendingConfirmation: 1, // DC-3
  outsideAccessPeriod: 2, // DC-2 not yet valid / DC-4 expired
  dataKindOutOfScope: 3, // DC-2 scope
  periodOutOfScope: 4, // DC-2 period end
  historyNotConsented: 5, // DC-2, Datacode 5.3.11 §3
  valid: 6,
} as const;

const END_REASON_CODE: Record<MandateEndReason, GateReason> = {
  revoked_by_grid_user: 'mandate_revoked',
  withdrawn_by_party: 'mandate_revoked',
  customer_switch: 'mandate_ended_customer_switch',
  party_not_admitted: 'mandate_ended_party_not_admitted',
};

export function evaluateMandate(m: MandateFact, req: GateRequest, now: number): { stage: number; reason: GateReason } {
  const S = MANDATE_STAGES;
  if (m.status === 'ended') return { stage: S.ended, reason: m.endReason ? END_REASON_CODE[m.endReason] : 'mandate_revoked' }; // DC-4
  if (m.status === 'pending_confirmation') return { stage: S.pendingConfirmation, reason: 'mandate_pending_confirmation' }; // DC-3
  if (now >= m.validTo) return { stage: S.outsideAccessPeriod, reason: 'mandate_expired' }; // DC-4: consent lapsed
  if (now < m.validFrom) return { stage: S.outsideAccessPeriod, reason: 'mandate_not_yet_valid' }; // DC-2 access period
  if (!m.dataKinds.includes(req.dataKind)) return { stage: S.dataKindOutOfScope, reason: 'data_kind_out_of_scope' }; // DC-2 scope
  if (req.to.getTime() > m.validTo) return { stage: S.periodOutOfScope, reason: 'period_out_of_scope' }; // DC-2 period
  if (req.from.getTime() < m.validFrom && !m.historyIncluded) return { stage: S.historyNotConsented, reason: 'history_not_consented' }; // DC-2, 5.3.11 §3
  return { stage: S.valid, reason: 'mandate_valid' };
}

/**
 * Mandate ties, specified: of the party's mandates on the connection, the one named in the decision is
 * the one with (1) the highest stage, then (2) the latest validTo (the longest-lasting consent), then
 * (3) the latest validFrom (the most recent consent), then (4) the smallest id (lowercase UUID text;
 * PostgreSQL orders uuid bytewise, which is the same order). The SQL sorts by the same keys.
 */
function betterMandate(a: { m: MandateFact; stage: number }, b: { m: MandateFact; stage: number }): boolean {
  if (a.stage !== b.stage) return a.stage > b.stage;
  if (a.m.validTo !== b.m.validTo) return a.m.validTo > b.m.validTo;
  if (a.m.validFrom !== b.m.validFrom) return a.m.validFrom > b.m.validFrom;
  return a.m.id < b.m.id;
}

/** Block ties, specified: the earliest-started matching block, then the smallest id (as the SQL). */
function firstBlock(blocks: readonly BlockFact[], matches: (b: BlockFact) => boolean): BlockFact | undefined {
  let first: BlockFact | undefined;
  for (const b of blocks) {
    if (!matches(b)) continue;
    if (!first || b.startedAt < first.startedAt || (b.startedAt === first.startedAt && b.id < first.id)) first = b;
  }
  return first;
}

function verdict(reasonCode: GateReason, mandateId: string | null = null, blockId: string | null = null): Verdict {
  const r = GATE_REASONS[reasonCode];
  return { allowed: r.allowed, reasonCode, rule: r.rule, mandateId, blockId };
}

/** The gate's rules, in order. */
export function decide(req: GateRequest, facts: GateFacts, now: number): Verdict {
  if (!facts.party || !facts.party.admitted) return verdict('party_not_admitted'); // DC-4
  const conn = facts.connection;
  if (!conn) throw new Error('decide() needs an existing connection');
  if (conn.remoteReadingOptOut) return verdict('remote_reading_opted_out'); // AL-5: P4 is remote reading
  if (!needsAdditionalMandate(req.partyId, conn.supplierId, req.dataKind)) return verdict('supplier_of_record'); // GT-2: blocks do not apply
  const from = req.from.getTime();
  const to = req.to.getTime();
  // GT-2: an open block denies every request that needs an additional mandate.
  const active = firstBlock(facts.blocks, (b) => b.endedAt === null);
  if (active) return verdict('blocked_by_doubt_case', null, active.id);
  // GT-8: a block lifted without retroactive release keeps its period closed.
  const closed = firstBlock(facts.blocks, (b) => !b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to);
  if (closed) return verdict('blocked_period_not_released', null, closed.id);

  let best: { m: MandateFact; stage: number; reason: GateReason } | undefined;
  for (const m of facts.mandates) {
    const e = { m, ...evaluateMandate(m, req, now) };
    if (!best || betterMandate(e, best)) best = e;
  }
  if (!best) return verdict('no_mandate'); // DC-2
  if (best.reason !== 'mandate_valid') return verdict(best.reason, best.m.id);
  // GT-8: requests covering a period released by a retroactive lift are allowed; say so in the register.
  const released = firstBlock(facts.blocks, (b) => b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to);
  return released ? verdict('mandate_valid_block_released', best.m.id, released.id) : verdict('mandate_valid', best.m.id);
}
