/**
 * Issue 18, item 1: GT-4 concerns the supplier's iSMA reading (seed 000 §3.4: "indien de leverancier niet
 * binnen 72 uur reageert"). Through the real intake and the real case workflow (time skipping, PostgreSQL, SMTP
 * capture), on a connection that is on iSMA at the request of its supplier of record:
 *  - a service provider's case, and a case against a supplier that does not supply the connection, block that
 *    party and touch nobody's allocation: no '0' values while open, no switch to profile after "not
 *    demonstrated";
 *  - the supplier of record's own case: '0' values while it is open, profile after "not demonstrated" (GT-4,
 *    AL-6), the switch a basis period of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, isNull } from 'drizzle-orm';
import {
  allocationMethods,
  blocks,
  connections,
  contactPersons,
  DOUBT_CONTACT_GROUP,
  parties,
  zeroAllocations,
  type PartyRole,
} from '../../db/schema/index.js';
import { allocationState, recordAllocationBasis } from '../../db/repositories/allocation.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { withCheckDigit } from '../../lib/gs1.js';
import { registerSignal } from '../../services/cases/intake.js';
import type { CaseServiceDeps } from '../../services/cases/actions.js';
import { caseHarness, TASK_QUEUE, type CaseHarness, type Fixture } from './harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const handler = { actor: 'api-key:handler', actorRole: 'case-handler' };

let h: CaseHarness;
let svc: CaseServiceDeps;
let stopWorker: () => Promise<void>;
beforeAll(async () => {
  h = await caseHarness('gt4_party');
  svc = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1_048_576 };
  stopWorker = await h.runWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

let seq = 0;
/** A party in `role` with a doubt contact group (GT-10), so the workflow contacts it as any other. */
async function requester(role: PartyRole) {
  const n = String(++seq).padStart(6, '0');
  const [p] = await h.db
    .insert(parties)
    .values({ gln: withCheckDigit(`879${process.pid % 1000}`.padEnd(6, '0') + n), name: `${role} ${n}`, roles: [role] })
    .returning();
  await h.db.insert(contactPersons).values({
    partyId: p!.id,
    contactGroup: DOUBT_CONTACT_GROUP,
    name: 'Contact',
    email: `doubt-${n}@${role.replace('_', '-')}.example`,
  });
  return p!;
}

/** The fixture's connection on iSMA at the request of its supplier of record (the fixture's party) since ten days. */
async function onSupplierIsma(f: Fixture, now: Date): Promise<void> {
  await recordAllocationBasis(h.db, {
    ...handler,
    connectionEan: f.connectionEan,
    method: 'isma',
    effectiveFrom: new Date(now.getTime() - 10 * DAY),
    basis: 'supplier_isma_request',
    supplierId: null,
    reference: null,
    reason: 'iSMA at the supplier’s request',
  });
}

/** A signal about `partyGln` on the fixture's connection, through the intake (GT-4 derived there). */
async function signal(f: Fixture, partyGln: string, now: Date) {
  const { row } = await registerSignal(
    svc,
    { ...handler, gridOperatorId: f.gridOperatorId },
    {
      connectionEan: f.connectionEan,
      partyGln,
      channel: 'customer',
      receivedAt: new Date(now.getTime() - HOUR),
      reporterName: 'Klant',
      description: 'Onbekende opvragingen van meterdata',
    },
  );
  return row;
}

const zeroOf = (caseId: string) => h.db.select().from(zeroAllocations).where(eq(zeroAllocations.caseId, caseId));
const switchOf = (caseId: string) => h.db.select().from(allocationMethods).where(eq(allocationMethods.caseId, caseId));
const openBlockOf = (caseId: string, partyId: string) =>
  h.db
    .select()
    .from(blocks)
    .where(and(eq(blocks.caseId, caseId), eq(blocks.partyId, partyId), isNull(blocks.endedAt)));

async function connectionRow(ean: string) {
  return (await h.db.select().from(connections).where(eq(connections.ean, ean)))[0]!;
}

describe('GT-4 hits the supplier of record only (issue 18)', () => {
  for (const who of ['a service provider', 'a supplier that does not supply the connection'] as const) {
    it(`${who}: the block only — no '0' values while open, no profile after "not demonstrated"`, async () => {
      const now = new Date();
      const f = await h.fixture();
      await onSupplierIsma(f, now);
      const party = await requester(who === 'a service provider' ? 'service_provider' : 'supplier');
      const row = await signal(f, party.gln, now);
      expect(row.isma).toBe(false);
      const opened = (await caseAuditTrail(h.db, row.id)).find((e) => e.action === 'case.opened');
      expect(opened!.data).toMatchObject({
        ismaBasis: {
          derived: true,
          gt4Applies: false,
          gt4NotApplicable: 'party_not_supplier',
          onIsma: true,
          partyIsSupplierOfRecord: false,
          supplierOfRecordId: f.partyId,
        },
      });

      // Open: the party is blocked; the connection keeps its iSMA allocation (no '0' values).
      await h.waitFor(row.id, (s) => s.status === 'awaiting_response', 60_000); // contacted: the case is set up
      expect(await openBlockOf(row.id, party.id)).toHaveLength(1);
      expect(await zeroOf(row.id)).toEqual([]);

      // No answer within 72 hours: "not demonstrated"; the block stays, the allocation is untouched.
      const final = await h.result(row.id);
      expect(final.status).toBe('closed_mandate_not_demonstrated');
      expect(await openBlockOf(row.id, party.id)).toHaveLength(1);
      expect(await zeroOf(row.id)).toEqual([]);
      expect(await switchOf(row.id)).toEqual([]);
      const state = await allocationState(h.db, await connectionRow(f.connectionEan), await h.now());
      expect(state.outcome).toBe('isma');
      expect(state.history.map((x) => [x.method, x.basis, x.basisPartyId])).toEqual([
        ['isma', 'supplier_isma_request', f.partyId],
      ]);
      const actions = (await caseAuditTrail(h.db, row.id)).map((e) => e.action);
      expect(actions).not.toContain('allocation.zero_started');
      expect(actions).not.toContain('allocation.switched_to_profile');
    }, 180_000); // a whole case through time skipping: minutes on a loaded machine
  }

  it('the supplier of record on its own iSMA request: \'0\' values while open, profile after "not demonstrated"', async () => {
    const now = new Date();
    const f = await h.fixture();
    await onSupplierIsma(f, now);
    const row = await signal(f, f.partyGln, now);
    expect(row.isma).toBe(true);

    await h.waitFor(row.id, (s) => s.status === 'awaiting_response', 60_000); // contacted: the case is set up
    const [open] = await zeroOf(row.id);
    expect(open).toMatchObject({ connectionEan: f.connectionEan, endedAt: null });

    const final = await h.result(row.id);
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    expect(await openBlockOf(row.id, f.partyId)).toHaveLength(1);
    const [switched] = await switchOf(row.id);
    expect(switched).toMatchObject({
      method: 'profile',
      basis: null,
      reason: 'GT-4: mandate not demonstrated',
      recordedBy: `workflow:${row.id}`,
    });
    const [ended] = await zeroOf(row.id);
    expect(ended!.endedAt!.getTime()).toBe(switched!.effectiveFrom.getTime());
    // The switch supersedes the supplier's request; both periods are kept.
    const state = await allocationState(h.db, await connectionRow(f.connectionEan), await h.now());
    expect(state.outcome).toBe('profile_method');
    expect(state.history.map((x) => [x.method, x.basis, x.caseId])).toEqual([
      ['isma', 'supplier_isma_request', null],
      ['profile', null, row.id],
    ]);
  }, 180_000);
});
