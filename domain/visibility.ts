/**
 * Who sees what: one rule for every route. Whatever the API shows has stakeholders — the grid operator
 * of the connection it is on, the market party (supplier or service provider) it is about or that holds
 * it, the grid user of the connection — and a principal sees a thing when it is that thing's
 * stakeholder in its own role:
 *
 * | role         | sees                                                                          |
 * | ------------ | ----------------------------------------------------------------------------- |
 * | admin        | everything                                                                    |
 * | compliance   | as a case handler, its own grid operator (read only: case files, history, register) |
 * | branch-analyst | nothing here: the aggregate signal report over every grid operator only       |
 * | case-handler | what is on its own grid operator's connections (the operator spans all kinds) |
 * | privacy-officer | as a case handler, its own grid operator; acts on breach assessments only (GT-11) |
 * | supplier     | what is about itself or held by it: its cases, reports, mandates; no connection |
 * | grid-user    | their own connection (DC-5); what is on it they see through /me, per period   |
 * | p4-client    | nothing here: it asks the P4 gate                                             |
 *
 * What a principal may not see is answered as absent (404), never as forbidden: its existence is not
 * the caller's to know. Pure: no I/O; the routes load the thing, then ask.
 */

export const ROLES = [
  'case-handler',
  'supplier',
  'compliance',
  'p4-client',
  'grid-user',
  'admin',
  'brp',
  'privacy-officer',
  'branch-analyst',
] as const;
export type Role = (typeof ROLES)[number];

/** The caller as far as visibility goes (an API key: its role, and the party or grid user it acts for). */
export interface Principal {
  role: Role;
  /** Grid operator (case-handler, privacy-officer, compliance) or market party (supplier, p4-client) the key acts for. */
  partyId: string | null;
  gridUserId: string | null;
}

/**
 * Key roles that belong to a grid operator: the key names it (partyId), and they see that operator's things
 * only. A compliance officer too: it inspects its own grid operator's case files, not its competitors'.
 */
export const GRID_OPERATOR_ROLES: readonly Role[] = ['case-handler', 'privacy-officer', 'compliance'];

/**
 * A thing and its stakeholders. A block is shown as the connection it is on. A mandate names no grid
 * user: what a grid user sees of the mandates on their connection is the transparency view (DC-5),
 * limited to their own period (DC-7), never the mandate records of whoever lived there before.
 */
export type Owner =
  | { kind: 'connection'; gridOperatorId: string; gridUserId: string | null }
  | { kind: 'case' | 'supplier_report'; gridOperatorId: string; partyId: string }
  | { kind: 'mandate'; gridOperatorId: string | null; partyId: string };

export const connectionOwner = (c: { gridOperatorId: string; gridUserId: string | null }): Owner => ({
  kind: 'connection',
  gridOperatorId: c.gridOperatorId,
  gridUserId: c.gridUserId,
});

/** A doubt case: its grid operator handles it, the party it is about answers it. */
export const caseOwner = (c: { gridOperatorId: string; partyId: string }): Owner => ({
  kind: 'case',
  gridOperatorId: c.gridOperatorId,
  partyId: c.partyId,
});

/** A GT-9 report: the party made it, the grid operator of the connection received it. */
export const supplierReportOwner = (r: { gridOperatorId: string; partyId: string }): Owner => ({
  kind: 'supplier_report',
  gridOperatorId: r.gridOperatorId,
  partyId: r.partyId,
});

/** A mandate: the party holds it; `gridOperatorId` is that of the connection it is for (null: unknown connection). */
export const mandateOwner = (
  m: { partyId: string },
  connection: { gridOperatorId: string } | null | undefined,
): Owner => ({
  kind: 'mandate',
  gridOperatorId: connection?.gridOperatorId ?? null,
  partyId: m.partyId,
});

/**
 * The rule as a scope: the stake a principal's view is held to. Lists filter by it, single things are
 * checked against it (visibleTo), so both answer the same. `none`: a role that sees nothing here, or a
 * key that lacks the party or grid user its role acts for.
 */
export type Scope =
  | { kind: 'all' }
  | { kind: 'grid_operator'; gridOperatorId: string }
  | { kind: 'party'; partyId: string }
  | { kind: 'grid_user'; gridUserId: string }
  | { kind: 'none' };

export function scopeOf(p: Principal): Scope {
  switch (p.role) {
    case 'admin':
      return { kind: 'all' };
    case 'case-handler':
    case 'privacy-officer':
    case 'compliance':
      return p.partyId !== null ? { kind: 'grid_operator', gridOperatorId: p.partyId } : { kind: 'none' };
    case 'supplier':
      return p.partyId !== null ? { kind: 'party', partyId: p.partyId } : { kind: 'none' };
    case 'grid-user':
      return p.gridUserId !== null ? { kind: 'grid_user', gridUserId: p.gridUserId } : { kind: 'none' };
    case 'p4-client':
    // A branch analyst reads aggregates across the grid operators (GET /reports/signals), never a case file.
    case 'branch-analyst':
    // A BRP sees allocation aggregates of its own rows only (AL-3), scoped by the allocation routes; no cases,
    // connections or mandates.
    case 'brp':
      return { kind: 'none' };
  }
}

/**
 * The scope of aggregate reports (the signal report: counts per period, party, channel, outcome and grid
 * operator; no case, connection or person in it): a branch analyst's is every grid operator, everyone else's
 * is their scopeOf. The one place the branch-wide role sees anything.
 */
export function aggregateScopeOf(p: Principal): Scope {
  return p.role === 'branch-analyst' ? { kind: 'all' } : scopeOf(p);
}

export function inScope(s: Scope, o: Owner): boolean {
  switch (s.kind) {
    case 'all':
      return true;
    case 'grid_operator':
      return o.gridOperatorId === s.gridOperatorId;
    case 'party':
      return o.kind !== 'connection' && o.partyId === s.partyId;
    case 'grid_user':
      return o.kind === 'connection' && o.gridUserId === s.gridUserId;
    case 'none':
      return false;
  }
}

/** May this principal see this thing? (Not: answer 404.) */
export function visibleTo(p: Principal, o: Owner): boolean {
  return inScope(scopeOf(p), o);
}

/**
 * GT-10, seed 000 §4: parties consult each other through the CPR contacts. A party's doubt contact group
 * ("Gerede twijfel Klantmandaat") is seen by the party itself, by those who see everything, and by the other
 * side of a doubt case between them, open or closed: a supplier or service provider sees the group of a grid
 * operator it has a case with, a case handler (and its operator's compliance officer) that of a party a case of
 * its grid operator is about. Every other
 * party's contacts are private, answered as absent (404) like everything else here.
 */
export function doubtContactsVisibleTo(p: Principal, party: { id: string }, caseBetween: boolean): boolean {
  if (scopeOf(p).kind === 'all') return true;
  if (
    (p.role === 'supplier' || p.role === 'case-handler' || p.role === 'compliance') &&
    p.partyId !== null &&
    p.partyId === party.id
  )
    return true;
  return caseBetween && counterpartCase(p, party) !== null;
}

/** The sides a doubt case must have for `p` to see `party`'s doubt contact group as its counterpart (else null). */
export function counterpartCase(
  p: Principal,
  party: { id: string },
): { gridOperatorId: string; partyId: string } | null {
  if (p.partyId === null || p.partyId === party.id) return null;
  if (p.role === 'supplier') return { gridOperatorId: party.id, partyId: p.partyId };
  // A compliance officer reads its grid operator's cases, and so the counterpart's group, as its case handlers.
  if (p.role === 'case-handler' || p.role === 'compliance') return { gridOperatorId: p.partyId, partyId: party.id };
  return null;
}

/**
 * Entries of a case's timeline that are the grid operator's own business: the party the case is about sees
 * what happened to its case and when, not these. Among them what the people around the case were told (the
 * reporter, the grid user: domain/case-notices.ts): the party never learns who reported it, nor their address;
 * and how the operators classify the signal for their joint GT-5 judgement.
 */
export const INTERNAL_CASE_ACTIONS: ReadonlySet<string> = new Set([
  'case.note',
  'case.evidence_opened',
  'case.legal_hold_set',
  'case.legal_hold_released',
  'case.contact_group_empty',
  'case.acm_notified',
  'case.contact_at_risk',
  'case.judgement_reminder',
  'case.history_archived',
  'case.notice_sent',
  'case.notice_not_sent',
  'case.notice_failed',
  'case.signal_classified',
]);

/**
 * The kinds of timeline entry that can concern the party: its case (case.*), its block (block.*) and the
 * connection's allocation that the case changed (allocation.*, GT-4). Every other kind is the operator's own:
 * the GT-11 breach assessment (breach.*: that it was opened about the party, its 72-hour clock, reminders,
 * met or missed, the decision), the GT-5 review (review.*: proposals, votes), and any kind added later until it
 * is put here on purpose (fail closed). An admin's correction of the case's block (case.block_corrected) is the
 * party's business — its block was lifted or its period released — and shows, as every entry it sees, with its
 * moment only: not the reason, the reference or who made it.
 */
export const PARTY_CASE_ACTION_KINDS: readonly string[] = ['case', 'block', 'allocation'];

/** Does the party a case is about (supplier role) see this timeline entry? */
export const partySeesCaseAction = (action: string): boolean => {
  const dot = action.indexOf('.');
  return dot > 0 && PARTY_CASE_ACTION_KINDS.includes(action.slice(0, dot)) && !INTERNAL_CASE_ACTIONS.has(action);
};

/**
 * Signed acts name a person: a GT-5 vote, commitment or ACM decision, a GT-11 breach decision, a rejection of
 * the mandate evidence ("not demonstrated"). The signature is the API key's recorded holder with the key's role
 * and id, never the key's label (a label names a desk or a system, not who decided). A key without a recorded
 * holder cannot sign: null, and the routes refuse (403 key_holder_required).
 */
export interface Signature {
  name: string;
  role: Role;
  keyId: string;
}
export function signatureOf(key: { keyId: string; role: Role; holderName: string | null }): Signature | null {
  const name = key.holderName?.trim();
  return name ? { name, role: key.role, keyId: key.keyId } : null;
}

/**
 * What a signed act was signed with (issue 19), recorded in the act's own audit entry (`data.signedWith`): a
 * person's fresh authentication at their provider (`step_up`: its instant, ISO, and the provider's acr/amr), or an
 * API key, signed by the key's recorded holder without a step-up (`key_holder`).
 */
export type SignedWith =
  | { kind: 'step_up'; authenticatedAt: string; acr: string | null; amr: string[] }
  | { kind: 'key_holder'; keyId: string; holderName: string };

// ---- allocation (AL-3, DC-8) ----------------------------------------------------------------------

/**
 * Who may do what in allocation. Only aggregates leave the grid operator (AL-3); individual connection
 * results are the grid operator's, read with a purpose and registered (DC-8).
 */
export const ALLOCATION_ROLES = {
  /** The day's readings file, the profile sets, a connection's BRP or grid area. */
  import: ['admin'],
  /** A connection's parties over time (a case handler its own connections: visibleTo), the profile sets. */
  readMasterData: ['admin', 'compliance', 'case-handler'],
  /** Request a (re-)run (mayRunAllocationOf), read one connection's result (a run seen whole). */
  run: ['admin', 'case-handler'],
  /** Runs, their aggregates and differences, each in its scope (allocationRunScope). */
  read: ['admin', 'compliance', 'case-handler', 'brp', 'supplier'],
} as const satisfies Record<string, readonly Role[]>;
export type AllocationAction = keyof typeof ALLOCATION_ROLES;

export const mayInAllocation = (p: Principal, action: AllocationAction): boolean =>
  (ALLOCATION_ROLES[action] as readonly Role[]).includes(p.role);

/** The cells of a run a principal sees: all of them, or those of one BRP or one supplier (AL-3). */
export type AllocationScope =
  { kind: 'all' } | { kind: 'balance_responsible_party'; partyId: string } | { kind: 'supplier'; partyId: string };

/**
 * Does `p` see the run at all (null: answer 404), and which of its cells? Admin sees every run whole, a
 * case handler or compliance officer the runs of its own grid operator; a BRP or supplier sees every run, but only the
 * cells of its own BRP or supplier. Anyone else, or a key without its party, sees none.
 */
export function allocationRunScope(p: Principal, run: { gridOperatorId: string }): AllocationScope | null {
  switch (p.role) {
    case 'admin':
      return { kind: 'all' };
    // A compliance officer belongs to its grid operator, as a case handler does.
    case 'compliance':
    case 'case-handler':
      return p.partyId !== null && p.partyId === run.gridOperatorId ? { kind: 'all' } : null;
    case 'brp':
      return p.partyId !== null ? { kind: 'balance_responsible_party', partyId: p.partyId } : null;
    case 'supplier':
      return p.partyId !== null ? { kind: 'supplier', partyId: p.partyId } : null;
    default:
      return null;
  }
}

/** The run's own figures (its summary and difference: counts per method) are for those who see it whole. */
export const seesWholeRun = (p: Principal, run: { gridOperatorId: string }): boolean =>
  allocationRunScope(p, run)?.kind === 'all';

/**
 * Which grid operators' runs a list shows `p`, as the same rule as allocationRunScope: a case handler or compliance
 * officer those of its own grid operator (whatever it asks for); admin and a BRP or supplier with its party every
 * grid operator's (the list may be narrowed to one); anyone else none.
 */
export function allocationRunsListed(p: Principal): Extract<Scope, { kind: 'all' | 'grid_operator' | 'none' }> {
  switch (p.role) {
    case 'case-handler':
    case 'compliance':
      return p.partyId !== null ? { kind: 'grid_operator', gridOperatorId: p.partyId } : { kind: 'none' };
    case 'admin':
      return { kind: 'all' };
    case 'brp':
    case 'supplier':
      return p.partyId !== null ? { kind: 'all' } : { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

/** May `p` request a run of this grid operator's connections? Admin any; a case handler its own only. */
export const mayRunAllocationOf = (p: Principal, gridOperatorId: string): boolean =>
  p.role === 'admin' || (p.role === 'case-handler' && p.partyId !== null && p.partyId === gridOperatorId);
