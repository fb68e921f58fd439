/**
 * domain/visibility.ts: the one rule of who sees what, as a table of every role × every kind of thing,
 * own and someone else's, including keys that lack the party or grid user their role acts for.
 */
import { describe, expect, it } from 'vitest';
import {
  ALLOCATION_ROLES,
  allocationRunScope,
  allocationRunsListed,
  aggregateScopeOf,
  caseOwner,
  connectionOwner,
  counterpartCase,
  doubtContactsVisibleTo,
  mandateOwner,
  mayInAllocation,
  mayRunAllocationOf,
  partySeesCaseAction,
  scopeOf,
  seesWholeRun,
  signatureOf,
  supplierReportOwner,
  visibleTo,
  ROLES,
  type Owner,
  type Principal,
  type Role,
} from '../../domain/visibility.js';

const OP = 'op-own';
const OTHER_OP = 'op-other';
const PARTY = 'party-own';
const OTHER_PARTY = 'party-other';
const USER = 'user-own';
const OTHER_USER = 'user-other';

const owners: Record<string, Owner> = {
  'connection, own user': connectionOwner({ gridOperatorId: OP, gridUserId: USER }),
  'connection, no grid user': connectionOwner({ gridOperatorId: OP, gridUserId: null }),
  'connection of another operator and user': connectionOwner({ gridOperatorId: OTHER_OP, gridUserId: OTHER_USER }),
  case: caseOwner({ gridOperatorId: OP, partyId: PARTY }),
  'case of others': caseOwner({ gridOperatorId: OTHER_OP, partyId: OTHER_PARTY }),
  'supplier report': supplierReportOwner({ gridOperatorId: OP, partyId: PARTY }),
  'supplier report of others': supplierReportOwner({ gridOperatorId: OTHER_OP, partyId: OTHER_PARTY }),
  mandate: mandateOwner({ partyId: PARTY }, { gridOperatorId: OP }),
  'mandate of others': mandateOwner({ partyId: OTHER_PARTY }, { gridOperatorId: OTHER_OP }),
  'mandate on an unknown connection': mandateOwner({ partyId: OTHER_PARTY }, undefined),
};

const p = (role: Role, partyId: string | null = null, gridUserId: string | null = null): Principal => ({
  role,
  partyId,
  gridUserId,
});

// Columns in the order of `owners`; 1 = sees, 0 = does not (answered 404).
const table: [string, Principal, string][] = [
  ['admin', p('admin'), '1111111111'],
  // A compliance officer belongs to a grid operator: its case files only, like its case handlers (read only).
  ['compliance officer of OP', p('compliance', OP), '1101010100'],
  ['compliance officer of another operator', p('compliance', 'op-third'), '0000000000'],
  ['compliance key without grid operator', p('compliance', null), '0000000000'],
  // The branch-wide view reads aggregates only (aggregateScopeOf): no case file, connection or mandate.
  ['branch analyst', p('branch-analyst'), '0000000000'],
  ['case handler of OP', p('case-handler', OP), '1101010100'],
  ['case handler of another operator', p('case-handler', 'op-third'), '0000000000'],
  ['case handler key without party', p('case-handler', null), '0000000000'],
  // GT-11: the privacy officer sees as its grid operator's case handlers do (the routes limit what it may do).
  ['privacy officer of OP', p('privacy-officer', OP), '1101010100'],
  ['privacy officer of another operator', p('privacy-officer', 'op-third'), '0000000000'],
  ['supplier PARTY', p('supplier', PARTY), '0001010100'],
  ['supplier without party', p('supplier', null), '0000000000'],
  // A supplier key does not see a connection even when a grid user or operator id happens to equal its party.
  ['supplier whose id equals the operator', p('supplier', OP), '0000000000'],
  ['grid user USER', p('grid-user', null, USER), '1000000000'],
  ['grid user of another connection', p('grid-user', null, 'user-third'), '0000000000'],
  ['grid user key without grid user', p('grid-user', null, null), '0000000000'],
  // The P4 client acts for PARTY and still sees nothing here: it asks the gate.
  ['p4 client of PARTY', p('p4-client', PARTY), '0000000000'],
  // A BRP reads only its allocation aggregates (AL-3): no case, connection or mandate, even of the party it is.
  ['brp PARTY', p('brp', PARTY), '0000000000'],
];

describe('visibleTo: role × owner', () => {
  const names = Object.keys(owners);
  it('covers every role', () => {
    expect(new Set(table.map(([, pr]) => pr.role))).toEqual(new Set(ROLES));
  });
  for (const [who, principal, row] of table) {
    it(who, () => {
      const seen = Object.fromEntries(names.map((n) => [n, visibleTo(principal, owners[n]!)]));
      const expected = Object.fromEntries(names.map((n, i) => [n, row[i] === '1']));
      expect(seen).toEqual(expected);
    });
  }
});

describe('scopeOf: the same rule as the filter of lists', () => {
  it.each([
    [p('admin'), { kind: 'all' }],
    [p('compliance', OP), { kind: 'grid_operator', gridOperatorId: OP }],
    [p('compliance', null), { kind: 'none' }],
    [p('branch-analyst'), { kind: 'none' }],
    [p('case-handler', OP), { kind: 'grid_operator', gridOperatorId: OP }],
    [p('case-handler', null), { kind: 'none' }],
    [p('supplier', PARTY), { kind: 'party', partyId: PARTY }],
    [p('supplier', null, USER), { kind: 'none' }],
    [p('grid-user', null, USER), { kind: 'grid_user', gridUserId: USER }],
    [p('grid-user', PARTY, null), { kind: 'none' }],
    [p('p4-client', PARTY), { kind: 'none' }],
  ] as const)('%o → %o', (principal, scope) => {
    expect(scopeOf(principal)).toEqual(scope);
  });
});

describe('doubtContactsVisibleTo: the doubt contact group of a party (GT-10, seed 000 §4)', () => {
  /** Whether `who` sees OP's and PARTY's group, with the case between OP and PARTY existing or not. */
  const sees = (who: Principal, party: string) => {
    const sides = counterpartCase(who, { id: party });
    const between = sides !== null && sides.gridOperatorId === OP && sides.partyId === PARTY;
    return doubtContactsVisibleTo(who, { id: party }, between);
  };
  it.each([
    // [who, sees OP's group, sees PARTY's group]
    ['admin', p('admin'), true, true],
    ['the compliance officer of OP', p('compliance', OP), true, true],
    ['a compliance officer of another operator', p('compliance', OTHER_OP), false, false],
    ['a branch analyst', p('branch-analyst'), false, false],
    ['the supplier with a case at OP', p('supplier', PARTY), true, true],
    ['a supplier without a case', p('supplier', OTHER_PARTY), false, false],
    ['the case handler of OP', p('case-handler', OP), true, true],
    ['a case handler of another operator', p('case-handler', OTHER_OP), false, false],
    ['a key without its party', p('supplier', null), false, false],
    // The P4 client and the privacy officer act for the party or operator but do not consult contact groups.
    ['the p4 client of PARTY', p('p4-client', PARTY), false, false],
    ['the privacy officer of OP', p('privacy-officer', OP), false, false],
    ['a grid user', p('grid-user', null, USER), false, false],
    ['a brp', p('brp', PARTY), false, false],
  ] as const)('%s: OP %s, PARTY %s', (_who, principal, operatorGroup, partyGroup) => {
    expect(sees(principal, OP)).toBe(operatorGroup);
    expect(sees(principal, PARTY)).toBe(partyGroup);
  });

  it('a case is only between a grid operator and a party: a supplier does not see another supplier by a case', () => {
    expect(counterpartCase(p('supplier', PARTY), { id: OTHER_PARTY })).toEqual({
      gridOperatorId: OTHER_PARTY,
      partyId: PARTY,
    });
    // No such case exists (the other party is no grid operator), so nothing is shown.
    expect(doubtContactsVisibleTo(p('supplier', PARTY), { id: OTHER_PARTY }, false)).toBe(false);
    // One's own group needs no case; the counterpart's needs one.
    expect(counterpartCase(p('case-handler', OP), { id: OP })).toBeNull();
    expect(doubtContactsVisibleTo(p('case-handler', OP), { id: PARTY }, false)).toBe(false);
  });
});

describe('allocation (AL-3, DC-8): who may do what, and which runs and cells they see', () => {
  const ownRun = { gridOperatorId: OP };
  const otherRun = { gridOperatorId: OTHER_OP };
  // [who, import, read master data, run, read runs, own operator's run, another operator's run, the list]
  const table: [
    string,
    Principal,
    string,
    ReturnType<typeof allocationRunScope>,
    ReturnType<typeof allocationRunScope>,
    ReturnType<typeof allocationRunsListed>,
  ][] = [
    ['admin', p('admin'), '1111', { kind: 'all' }, { kind: 'all' }, { kind: 'all' }],
    // A compliance officer belongs to its grid operator, as a case handler does.
    [
      'compliance of OP',
      p('compliance', OP),
      '0101',
      { kind: 'all' },
      null,
      { kind: 'grid_operator', gridOperatorId: OP },
    ],
    // The branch-wide role sees the aggregate signal report only: no allocation.
    ['branch analyst', p('branch-analyst'), '0000', null, null, { kind: 'none' }],
    [
      'case handler of OP',
      p('case-handler', OP),
      '0111',
      { kind: 'all' },
      null,
      { kind: 'grid_operator', gridOperatorId: OP },
    ],
    ['case handler key without party', p('case-handler', null), '0111', null, null, { kind: 'none' }],
    [
      'brp PARTY',
      p('brp', PARTY),
      '0001',
      { kind: 'balance_responsible_party', partyId: PARTY },
      { kind: 'balance_responsible_party', partyId: PARTY },
      { kind: 'all' },
    ],
    ['brp key without party', p('brp', null), '0001', null, null, { kind: 'none' }],
    [
      'supplier PARTY',
      p('supplier', PARTY),
      '0001',
      { kind: 'supplier', partyId: PARTY },
      { kind: 'supplier', partyId: PARTY },
      { kind: 'all' },
    ],
    ['supplier key without party', p('supplier', null), '0001', null, null, { kind: 'none' }],
    // The privacy officer sees cases as its case handlers do (GT-11), but no allocation.
    ['privacy officer of OP', p('privacy-officer', OP), '0000', null, null, { kind: 'none' }],
    ['grid user', p('grid-user', null, USER), '0000', null, null, { kind: 'none' }],
    ['p4 client of PARTY', p('p4-client', PARTY), '0000', null, null, { kind: 'none' }],
  ];

  it('covers every role', () => {
    expect(new Set(table.map(([, pr]) => pr.role))).toEqual(new Set(ROLES));
  });

  for (const [who, principal, may, own, other, listed] of table) {
    it(who, () => {
      const actions = Object.keys(ALLOCATION_ROLES) as (keyof typeof ALLOCATION_ROLES)[];
      expect(actions.map((a) => (mayInAllocation(principal, a) ? '1' : '0')).join('')).toBe(may);
      expect(allocationRunScope(principal, ownRun)).toEqual(own);
      expect(allocationRunScope(principal, otherRun)).toEqual(other);
      expect(allocationRunsListed(principal)).toEqual(listed);
    });
  }

  it('the list shows exactly the runs one sees (the same rule for lists and single runs)', () => {
    for (const [, principal] of table) {
      const listed = allocationRunsListed(principal);
      for (const run of [ownRun, otherRun]) {
        const inList =
          listed.kind === 'all' || (listed.kind === 'grid_operator' && listed.gridOperatorId === run.gridOperatorId);
        // A role that may not read runs at all is stopped before (403); the rest see what the list shows.
        if (mayInAllocation(principal, 'read')) expect(allocationRunScope(principal, run) !== null).toBe(inList);
        else expect(inList).toBe(false);
      }
    }
  });

  it('a run’s own figures (summary, difference) for those who see it whole; its cells only for a BRP or supplier', () => {
    expect(seesWholeRun(p('case-handler', OP), ownRun)).toBe(true);
    expect(seesWholeRun(p('case-handler', OP), otherRun)).toBe(false);
    expect(seesWholeRun(p('compliance', OP), ownRun)).toBe(true);
    expect(seesWholeRun(p('compliance', OP), otherRun)).toBe(false);
    expect(seesWholeRun(p('brp', PARTY), ownRun)).toBe(false);
    expect(seesWholeRun(p('supplier', PARTY), ownRun)).toBe(false);
  });

  it('runs are requested by admin for any grid operator, by a case handler for its own only', () => {
    expect(mayRunAllocationOf(p('admin'), OTHER_OP)).toBe(true);
    expect(mayRunAllocationOf(p('case-handler', OP), OP)).toBe(true);
    expect(mayRunAllocationOf(p('case-handler', OP), OTHER_OP)).toBe(false);
    expect(mayRunAllocationOf(p('case-handler', null), OP)).toBe(false);
    expect(mayRunAllocationOf(p('compliance', OP), OP)).toBe(false);
    expect(mayRunAllocationOf(p('brp', OP), OP)).toBe(false);
  });
});

describe('aggregateScopeOf: the aggregate signal report', () => {
  it('a branch analyst reports on every grid operator; everyone else within their own scope', () => {
    expect(aggregateScopeOf(p('branch-analyst'))).toEqual({ kind: 'all' });
    expect(aggregateScopeOf(p('compliance', OP))).toEqual({ kind: 'grid_operator', gridOperatorId: OP });
    expect(aggregateScopeOf(p('case-handler', OP))).toEqual({ kind: 'grid_operator', gridOperatorId: OP });
    expect(aggregateScopeOf(p('admin'))).toEqual({ kind: 'all' });
    expect(aggregateScopeOf(p('supplier', PARTY))).toEqual({ kind: 'party', partyId: PARTY });
  });
});

describe('partySeesCaseAction: the party’s timeline of its case', () => {
  it('shows its case, block and allocation steps', () => {
    for (const a of [
      'case.opened',
      'case.contacted',
      'case.evidence_judged',
      'case.closed',
      'block.placed',
      'block.lifted',
      'case.block_corrected',
    ])
      expect(partySeesCaseAction(a)).toBe(true);
    expect(partySeesCaseAction('allocation.switched_to_profile')).toBe(true);
  });
  it('never the operator’s GT-11 breach assessment, its clock, GT-5 review steps or signal classification', () => {
    for (const a of [
      'breach.opened',
      'breach.reminder_sent',
      'breach.clock_missed',
      'breach.decided',
      'review.vote_recorded',
      'review.proposed',
      'case.signal_classified',
      'case.note',
    ])
      expect(partySeesCaseAction(a)).toBe(false);
  });
  it('fails closed: a kind of entry not put on the list on purpose is not shown', () => {
    expect(partySeesCaseAction('something_new.happened')).toBe(false);
    expect(partySeesCaseAction('case')).toBe(false);
  });
});

describe('signatureOf: signed acts name the key’s holder', () => {
  it('the recorded holder, with the key’s role and id; never the label', () => {
    expect(signatureOf({ keyId: 'k1', role: 'case-handler', holderName: 'Anna de Vries' })).toEqual({
      name: 'Anna de Vries',
      role: 'case-handler',
      keyId: 'k1',
    });
  });
  it('a key without a recorded holder cannot sign', () => {
    expect(signatureOf({ keyId: 'k1', role: 'case-handler', holderName: null })).toBeNull();
    expect(signatureOf({ keyId: 'k1', role: 'privacy-officer', holderName: '   ' })).toBeNull();
  });
});
