/**
 * The P4 gate's rules: may party P have data kind X of connection E over [from, to)? Pure (no I/O, no
 * node:*): the same facts, request and clock give the same verdict.
 *
 * `decide()` is the specification. The hot path runs the same rules in SQL, one statement per batch
 * (`decideAndRegister` in db/repositories/access-register.ts, which says it mirrors decide());
 * test/core/gate-equivalence.test.ts holds both to the same verdicts on random facts.
 *
 * Every exchange is a decision (DC-1, DC-4, GT-2): a P4 request is decided and registered, and so is every
 * delivery of its data (GET /p4/requests/{id}/data decides again, under the rules in force at delivery).
 *
 * GT-8b (this project's reading of GT-8's last sentence; DOMAIN.md has no id for it): a case closed
 * "mandate not demonstrated" keeps its block, and the block keeps every mandate registered up to the
 * close blocked; a mandate registered after the close counts only once it went through the regular process
 * again, which includes the grid user's own confirmation (DC-3) whatever the party declares about who granted
 * it (domain/mandate.ts gridUserMustConfirm): until then it is `mandate_pending_confirmation`.
 *
 * DC-7 periods (docs/rules-dc7-periods.md): a period [from, to) holds the quarter-hours that start at or after
 * `from` and end at or before `to`. Every period is taken on quarter-hour boundaries, rounded inward
 * (quarterHourPeriod), before anything is decided, registered or delivered; a stored register value is
 * labelled with the end of the quarter-hour it closes (AL-1), so the points of [from, to) are those labelled
 * in (from, to] (pointInPeriod).
 */
import { QUARTER_HOUR_MS } from './allocation.js';
import type { DataKind, MandateConfirmedBy, MandateEndReason, MandateStatus } from './mandate.js';

/** Reason codes of the gate: stable (clients match on them), each with the rule behind it. */
export const GATE_REASONS = {
  // allowed
  supplier_of_record: {
    allowed: true,
    rule: 'GT-2',
    text: 'The supplier of record reads monthly/billing registers without an additional mandate, over the period in which it supplies this grid user',
  },
  mandate_valid: { allowed: true, rule: 'DC-2', text: 'A confirmed mandate covers the data kind and period' },
  mandate_valid_block_released: {
    allowed: true,
    rule: 'GT-8',
    text: 'A mandate covers the request; the doubt-case block over this period was lifted retroactively',
  },
  // denied
  party_not_admitted: { allowed: false, rule: 'DC-4', text: 'The party no longer meets the access conditions' },
  remote_reading_opted_out: {
    allowed: false,
    rule: 'AL-5',
    text: 'The grid user opted out of remote reading: no smart-meter data exists',
  },
  blocked_by_doubt_case: {
    allowed: false,
    rule: 'GT-2',
    text: 'A doubt case blocks this party on this connection for requests that need an additional mandate',
  },
  blocked_period_not_released: {
    allowed: false,
    rule: 'GT-8',
    text: 'The period overlaps a blocked period that was not released retroactively',
  },
  no_mandate: { allowed: false, rule: 'DC-2', text: 'The party holds no mandate for this connection' },
  mandate_pending_confirmation: {
    allowed: false,
    rule: 'DC-3',
    text: 'The mandate awaits the grid user’s confirmation: it was granted by someone other than the grid user, or registered after this party’s doubt case on the connection closed “mandate not demonstrated” (GT-8b: the party’s word on who granted it does not suffice then)',
  },
  mandate_revoked: {
    allowed: false,
    rule: 'DC-4',
    text: 'The mandate was revoked by the grid user or withdrawn by the party',
  },
  mandate_ended_customer_switch: {
    allowed: false,
    rule: 'DC-4',
    text: 'The mandate ended at a change of customer at the connection',
  },
  mandate_ended_party_not_admitted: {
    allowed: false,
    rule: 'DC-4',
    text: 'The mandate ended when the party lost its access conditions',
  },
  mandate_not_yet_valid: { allowed: false, rule: 'DC-2', text: 'The mandate’s access period has not started' },
  mandate_expired: { allowed: false, rule: 'DC-4', text: 'The mandate’s access period has ended' },
  data_kind_out_of_scope: { allowed: false, rule: 'DC-2', text: 'The mandate does not cover this data kind' },
  history_not_consented: {
    allowed: false,
    rule: 'DC-2',
    text: 'The period starts before the mandate and history was not consented',
  },
  history_before_registration: {
    allowed: false,
    rule: 'DC-2',
    text: 'The period starts before the mandate was registered and history was not consented: a backdated start gives no history',
  },
  period_before_grid_user: {
    allowed: false,
    rule: 'DC-7',
    text: 'The period starts before the current grid user became the grid user of the connection: a previous occupant’s data is never delivered',
  },
  period_before_supply: {
    allowed: false,
    rule: 'DC-7',
    text: 'The supplier of record reads billing registers without a mandate only over the period in which it supplies this grid user; this period starts before that, and no mandate covers it',
  },
  blocked_not_demonstrated: {
    allowed: false,
    rule: 'GT-8b',
    text: 'The doubt case closed “mandate not demonstrated”: its block keeps every mandate registered before the close blocked; a new mandate through the regular process is needed',
  },
  mandate_valid_after_negative_outcome: {
    allowed: true,
    rule: 'GT-8b',
    text: 'A mandate registered after the doubt case closed “mandate not demonstrated”, and confirmed by the grid user, covers the request: the regular process restarted',
  },
} as const;
export type GateReason = keyof typeof GATE_REASONS;
export const GATE_REASON_CODES = Object.keys(GATE_REASONS) as GateReason[];

/**
 * DC-8: people of the grid operator reading quarter-hour data are registered like an exchange. Not a gate
 * decision (decide() never gives it): the register's own reason for such an entry.
 */
export const INTERNAL_ACCESS_REASON = {
  internal_access: {
    allowed: true,
    rule: 'DC-8',
    text: 'A case handler or administrator of the grid operator read quarter-hour data, for the purpose stated',
  },
} as const;
/** Every reason an access-register entry can carry. */
export const REGISTER_REASONS = { ...GATE_REASONS, ...INTERNAL_ACCESS_REASON } as const;
export type RegisterReason = keyof typeof REGISTER_REASONS;

/** What an access-register entry records (DC-1): a P4 request, a delivery of its data, or internal access (DC-8). */
export const REGISTER_ENTRY_KINDS = ['request', 'delivery', 'internal'] as const;
export type RegisterEntryKind = (typeof REGISTER_ENTRY_KINDS)[number];

/** One question to the gate. */
export interface GateRequest {
  partyId: string;
  connectionEan: string;
  dataKind: DataKind;
  from: Date;
  to: Date;
  /** Correlation id of the HTTP request (x-request-id), stored with the decision. */
  requestId: string;
  /** A delivery: the register id of the P4 request whose data is delivered (null or absent: a request). */
  deliveryOf?: string | null;
}

// ---------------------------------------------------------------------------------------------
// DC-7 periods: [from, to) on quarter-hour starts. Amsterdam's offsets from UTC are whole hours, so its
// quarter-hour boundaries are the UTC ones (also on the 92- and 100-quarter-hour days of a DST switch).

/** The first quarter-hour boundary at or after `ms`. */
export const quarterHourCeil = (ms: number): number => Math.ceil(ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
/** The last quarter-hour boundary at or before `ms`. */
export const quarterHourFloor = (ms: number): number => Math.floor(ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;

/**
 * DC-7: the whole quarter-hours of [from, to): `from` rounded up, `to` rounded down to a quarter-hour boundary
 * (inward: a quarter-hour that is only partly inside the period is not in it, so rounding never adds data).
 * Empty when `to <= from` afterwards.
 */
export function quarterHourPeriod(from: number, to: number): { from: number; to: number } {
  return { from: quarterHourCeil(from), to: quarterHourFloor(to) };
}

/**
 * DC-7 / AL-1: a stored register value is labelled with the end of the quarter-hour it closes (a reading at
 * 10:15 closes 10:00–10:15), so the points of the quarter-hour period [from, to) are those labelled in
 * (from, to]. The value labelled `from` closes the quarter-hour before the period: it is never delivered,
 * though the first quarter-hour's volume is measured from it.
 */
export const pointInPeriod = (at: number, from: number, to: number): boolean => at > from && at <= to;

/**
 * No future periods, and DC-7's quarter-hours: a request's period is cut at the decision instant, so data
 * that did not exist yet is never promised, and taken on quarter-hour boundaries, rounded inward
 * (quarterHourPeriod; the end cut at the decision instant falls back to the last quarter-hour that ended).
 * `cut`: the period decided differs from the one asked (the answer states the period decided). The caller
 * refuses a period with no whole quarter-hour left (quarterHourGap says why).
 */
export function periodAtDecision(from: Date, to: Date, now: number): { from: Date; to: Date; cut: boolean } {
  const p = quarterHourPeriod(from.getTime(), Math.min(to.getTime(), now));
  const cut = p.from !== from.getTime() || p.to !== to.getTime();
  return { from: cut ? new Date(p.from) : from, to: cut ? new Date(p.to) : to, cut };
}

/**
 * Why [from, to) asked at `now` holds no whole quarter-hour, or null when it holds one: `period_in_future`
 * (field `from`) when its first quarter-hour has not ended yet (that data does not exist),
 * `period_no_quarter_hour` (field `to`) when the period lies inside one quarter-hour or two partial ones. The
 * routes answer it as a 400 naming the field.
 */
export function quarterHourGap(
  from: Date,
  to: Date,
  now: number,
): { code: 'period_in_future' | 'period_no_quarter_hour'; field: 'from' | 'to'; message: string } | null {
  const p = periodAtDecision(from, to, now);
  if (p.to.getTime() > p.from.getTime()) return null;
  return quarterHourCeil(from.getTime()) + QUARTER_HOUR_MS > now
    ? {
        code: 'period_in_future',
        field: 'from',
        message: 'The period’s first whole quarter-hour has not ended yet: that data does not exist yet',
      }
    : {
        code: 'period_no_quarter_hour',
        field: 'to',
        message:
          'The period holds no whole quarter-hour: periods are taken on quarter-hour boundaries, rounded inward (DC-7)',
      };
}

/** A mandate of the requesting party on the connection, as decide() sees it (instants in ms). */
export interface MandateFact {
  id: string;
  /** When the mandate was registered: the past before it is history (DC-2); after a negative outcome, GT-8b. */
  registeredAt: number;
  dataKinds: DataKind[];
  validFrom: number;
  validTo: number;
  historyIncluded: boolean;
  status: MandateStatus;
  endReason: MandateEndReason | null;
  /** DC-3: who confirmed it (the party's declaration, or the grid user themself); GT-8b asks the grid user. */
  confirmedBy: MandateConfirmedBy | null;
}

/** A doubt-case block of the requesting party on the connection (GT-2, GT-8). */
export interface BlockFact {
  id: string;
  startedAt: number;
  endedAt: number | null;
  retroactive: boolean;
  /** GT-8b: the case closed "mandate not demonstrated" at this instant (the block stays in force). */
  notDemonstratedAt: number | null;
}

/** What the gate knows about one (party, connection) pair at decision time. */
export interface GateFacts {
  /**
   * gridUserSince (DC-7): since when the current grid user is the grid user; supplierSince: since when the
   * supplier of record supplies the connection (its last supplier switch); null: since the start.
   */
  connection: {
    supplierId: string | null;
    remoteReadingOptOut: boolean;
    gridUserSince: number | null;
    supplierSince: number | null;
  } | null;
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
  /** The period decided (and registered): the request's, its end cut at the decision instant. */
  from: Date;
  to: Date;
  /** The requested end lay after the decision instant and was cut there. */
  periodCut: boolean;
}

/**
 * Which requests need an additional mandate (DOMAIN.md, GT-2): the supplier of record reading
 * monthly/billing registers needs none; a supplier reading daily or interval data needs one; a
 * service provider (anyone not the supplier of record) always needs one. DC-7 bounds the first in time:
 * it holds over the supply period only (supplyStart); before it, the request needs a mandate like any other.
 */
export function needsAdditionalMandate(
  partyId: string,
  supplierOfRecordId: string | null,
  dataKind: DataKind,
): boolean {
  return !(supplierOfRecordId === partyId && dataKind === 'monthly_registers');
}

/**
 * DC-7 for the supplier of record: its billing reads cover only the period in which it supplied this grid
 * user, i.e. from the later of its supplier switch and the grid user's change of customer (-Infinity: both
 * since the start). Its end is now: a former supplier is no supplier of record.
 */
export function supplyStart(conn: { gridUserSince: number | null; supplierSince: number | null }): number {
  return Math.max(conn.gridUserSince ?? -Infinity, conn.supplierSince ?? -Infinity);
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
  historyNotConsented: 4, // DC-2, Datacode 5.3.11 §3: before validFrom, or before registration
  valid: 5,
} as const;

const END_REASON_CODE: Record<MandateEndReason, GateReason> = {
  revoked_by_grid_user: 'mandate_revoked',
  withdrawn_by_party: 'mandate_revoked',
  customer_switch: 'mandate_ended_customer_switch',
  party_not_admitted: 'mandate_ended_party_not_admitted',
};

/**
 * One mandate against a request whose period is already cut at `now` (periodAtDecision): its end lies
 * before a valid mandate's validTo, so the period never reaches beyond the mandate. `afterNegativeOutcome`:
 * the mandate was registered after the party's case on the connection closed "not demonstrated" (GT-8b).
 */
export function evaluateMandate(
  m: MandateFact,
  req: GateRequest,
  now: number,
  afterNegativeOutcome = false,
): { stage: number; reason: GateReason } {
  const S = MANDATE_STAGES;
  if (m.status === 'ended')
    return { stage: S.ended, reason: m.endReason ? END_REASON_CODE[m.endReason] : 'mandate_revoked' }; // DC-4
  // DC-3; GT-8b (gridUserMustConfirm): after a negative outcome only the grid user's own confirmation
  // activates a mandate, so one active on the party's declaration alone still waits for it.
  if (m.status === 'pending_confirmation' || (afterNegativeOutcome && m.confirmedBy !== 'grid_user'))
    return { stage: S.pendingConfirmation, reason: 'mandate_pending_confirmation' };
  if (now >= m.validTo) return { stage: S.outsideAccessPeriod, reason: 'mandate_expired' }; // DC-4: consent lapsed
  if (now < m.validFrom) return { stage: S.outsideAccessPeriod, reason: 'mandate_not_yet_valid' }; // DC-2 access period
  if (!m.dataKinds.includes(req.dataKind)) return { stage: S.dataKindOutOfScope, reason: 'data_kind_out_of_scope' }; // DC-2 scope
  if (!m.historyIncluded) {
    const from = req.from.getTime();
    if (from < m.validFrom) return { stage: S.historyNotConsented, reason: 'history_not_consented' }; // DC-2, 5.3.11 §3
    // DC-2: the past before the registration is history too, whatever validFrom says.
    if (from < m.registeredAt) return { stage: S.historyNotConsented, reason: 'history_before_registration' };
  }
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

/** Block ties, specified: the earliest-started matching block, then the smallest id (as the SQL). GT-8b
 * blocks are the exception: the one closed last binds (latest notDemonstratedAt, then smallest id). */
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

/** GT-8b: of the blocks kept after "mandate not demonstrated", the one closed last (then smallest id). */
function lastKept(blocks: readonly BlockFact[]): BlockFact | undefined {
  let last: BlockFact | undefined;
  for (const b of blocks) {
    if (b.endedAt !== null || b.notDemonstratedAt === null) continue;
    if (
      !last ||
      b.notDemonstratedAt > last.notDemonstratedAt! ||
      (b.notDemonstratedAt === last.notDemonstratedAt && b.id < last.id)
    )
      last = b;
  }
  return last;
}

/**
 * The gate's rules, in order. The request's period is first cut at the decision instant and taken on
 * quarter-hour boundaries (periodAtDecision): every rule below sees the period that is registered and delivered.
 */
export function decide(request: GateRequest, facts: GateFacts, now: number): Verdict {
  if (!facts.party || !facts.party.admitted) return verdict('party_not_admitted'); // DC-4
  const conn = facts.connection;
  if (!conn) throw new Error('decide() needs an existing connection');
  if (conn.remoteReadingOptOut) return verdict('remote_reading_opted_out'); // AL-5: P4 is remote reading
  const period = periodAtDecision(request.from, request.to, now);
  const req: GateRequest = { ...request, from: period.from, to: period.to };
  const from = req.from.getTime();
  const to = req.to.getTime();
  // GT-2: the supplier of record's billing reads rest on the supply contract, not on consent: no mandate,
  // no block. DC-7: only over its supply of this grid user; before it, they need a mandate like any request.
  const billing = !needsAdditionalMandate(request.partyId, conn.supplierId, request.dataKind);
  if (billing && from >= supplyStart(conn)) return verdict('supplier_of_record');
  // GT-2: an open block of a running case denies every request that needs an additional mandate.
  const active = firstBlock(facts.blocks, (b) => b.endedAt === null && b.notDemonstratedAt === null);
  if (active) return verdict('blocked_by_doubt_case', null, active.id);
  // GT-8: a block lifted without retroactive release keeps its period closed.
  const closed = firstBlock(
    facts.blocks,
    (b) => !b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to,
  );
  if (closed) return verdict('blocked_period_not_released', null, closed.id);
  // DC-7: consent-based access reaches only the current grid user's period at the connection (mandates
  // end at a customer switch, DC-4, so every open mandate is the current grid user's consent).
  if (conn.gridUserSince !== null && from < conn.gridUserSince) return verdict('period_before_grid_user');
  // GT-8b: after "mandate not demonstrated", only mandates registered after the close count, and only once
  // the grid user confirmed them (evaluateMandate).
  const kept = lastKept(facts.blocks);
  const candidates = kept ? facts.mandates.filter((m) => m.registeredAt > kept.notDemonstratedAt!) : facts.mandates;
  if (kept && candidates.length === 0) return verdict('blocked_not_demonstrated', null, kept.id);

  let best: { m: MandateFact; stage: number; reason: GateReason } | undefined;
  for (const m of candidates) {
    const e = { m, ...evaluateMandate(m, req, now, kept !== undefined) };
    if (!best || betterMandate(e, best)) best = e;
  }
  // DC-2; DC-7: the supplier of record's billing read before its supply, without a mandate for it.
  if (!best) return verdict(billing ? 'period_before_supply' : 'no_mandate');
  if (best.reason !== 'mandate_valid') return verdict(best.reason, best.m.id);
  if (kept) return verdict('mandate_valid_after_negative_outcome', best.m.id, kept.id); // GT-8b
  // GT-8: requests covering a period released by a retroactive lift are allowed; say so in the register.
  const released = firstBlock(
    facts.blocks,
    (b) => b.retroactive && b.endedAt !== null && from < b.endedAt && b.startedAt < to,
  );
  return released
    ? verdict('mandate_valid_block_released', best.m.id, released.id)
    : verdict('mandate_valid', best.m.id);
}

/**
 * DC-7 and no future data for the grid user's own view (/me/connections/{ean}/readings): the period is
 * cut to the time they have been the grid user and to `now`, on quarter-hour boundaries rounded inward
 * (the same periodAtDecision as the gate's); null when no whole quarter-hour is left.
 */
export function ownPeriod(
  from: Date,
  to: Date,
  gridUserSince: Date,
  now: number,
): { from: Date; to: Date; cut: boolean } | null {
  const p = periodAtDecision(from > gridUserSince ? from : gridUserSince, to, now);
  if (p.to.getTime() <= p.from.getTime()) return null;
  return { ...p, cut: p.from.getTime() !== from.getTime() || p.to.getTime() !== to.getTime() };
}
