/**
 * Issue 18, item 3 on the real stack (Fastify → Temporal test server workflow → PostgreSQL):
 * - a running case's block is lifted only by the case's actions, through its workflow (an Update), at the
 *   workflow's time: a client-given `at` is refused, the case's unblock deadline reads the lift;
 * - a closed case's block is corrected only by an admin, as its own audited action with a reason
 *   (POST /cases/{id}/block-corrections): stamped now, visible on the case, read by the P4 gate at once —
 *   a "not demonstrated" block lifted this way stops refusing the old mandates (GT-8b), its period stays closed
 *   until released (GT-8); the same correction twice changes nothing (409).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, blocks, caseResponses, doubtCases } from '../../db/schema/index.js';
import { verifyAuditChain } from '../../db/repositories/audit.js';
import { call, days, iso, makeConnection, makeGridUser, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, smallPdf, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
beforeAll(async () => {
  ctx = await caseApiContext('block_corrections', {}, { timeSkipping: true }); // to the end of the 72 hours
});
afterAll(async () => ctx?.close());

const hours = (n: number) => n * 3_600_000;

async function setting() {
  const operator = await ctx.party(['grid_operator']);
  const provider = await ctx.party(['service_provider']);
  const user = await makeGridUser(ctx.db);
  const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, gridUserId: user.id });
  const old = await makeMandate(ctx.db, {
    partyId: provider.id,
    connectionEan: conn.ean,
    dataKinds: ['interval_data'],
  });
  const keys = {
    handler: await makeKey(ctx.db, 'case-handler', { partyId: operator.id, holderName: 'H. de Wit' }),
    compliance: await makeKey(ctx.db, 'compliance', { partyId: operator.id }),
    admin: await makeKey(ctx.db, 'admin', { holderName: 'A. Beheer' }),
    party: await makeKey(ctx.db, 'supplier', { partyId: provider.id }),
    p4: await makeKey(ctx.db, 'p4-client', { partyId: provider.id }),
  };
  const receivedAt = Date.now() - hours(2);
  const opened = await call(ctx.app, keys.handler, 'POST', '/cases', {
    connectionEan: conn.ean,
    partyGln: provider.gln,
    channel: 'customer',
    receivedAt: iso(receivedAt),
    reporterName: 'J. de Vries',
    description: 'Kwartierwaarden opgevraagd zonder machtiging',
    isma: false,
  });
  expect(opened.statusCode, opened.body).toBe(201);
  const caseId: string = opened.json().id;
  // The block starts at the intake (GT-2); the case here runs for seconds, so its period would hold no whole
  // quarter-hour: put its start at the signal, as a case that ran two hours, to ask the gate inside its period.
  await ctx.db
    .update(blocks)
    .set({ startedAt: new Date(receivedAt) })
    .where(eq(blocks.caseId, caseId));
  const gate = async (from: number, to: number) =>
    (
      await call(ctx.app, keys.p4, 'POST', '/p4/requests', {
        connectionEan: conn.ean,
        dataKind: 'interval_data',
        from: iso(from),
        to: iso(to),
      })
    ).json();
  const blockRow = async () => (await ctx.db.select().from(blocks).where(eq(blocks.caseId, caseId)))[0]!;
  const caseRow = async () => (await ctx.db.select().from(doubtCases).where(eq(doubtCases.id, caseId)))[0]!;
  return { keys, conn, old, caseId, receivedAt, gate, blockRow, caseRow };
}

// First in the file: the test server's clock has not been skipped yet, so the workflow's time is the wall clock.
describe('lift only as a case action: through the workflow, at its time, the deadlines right', () => {
  it('a client-given `at` is refused; the lift-block Update stamps the workflow’s time and the unblock deadline reads it', async () => {
    const s = await setting();
    const backdated = iso(s.receivedAt + 60_000);
    for (const [path, body] of [
      ['lift-block', { reason: 'Verkeerde aansluiting', at: backdated }],
      ['withdraw', { reasonCode: 'not_concerning_party', reason: 'Andere partij', at: backdated }],
    ] as const) {
      const res = await call(ctx.app, s.keys.handler, 'POST', `/cases/${s.caseId}/${path}`, body);
      expect(res.statusCode, path).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_request', field: 'body.at' });
    }
    expect((await s.blockRow()).endedAt).toBeNull();
    expect(OPEN.includes((await s.caseRow()).status)).toBe(true);
    // Not the admin's correction either: the workflow owns a running case's block.
    const correction = await call(ctx.app, s.keys.admin, 'POST', `/cases/${s.caseId}/block-corrections`, {
      kind: 'lift',
      reasonCode: 'other',
      reason: 'Test',
    });
    expect(correction.statusCode).toBe(409);
    expect(correction.json()).toMatchObject({ code: 'case_running', field: 'params.id' });
    expect(correction.json().message).toMatch(/lift-block/);
    expect((await s.blockRow()).endedAt).toBeNull();

    const t0 = Date.now();
    const lifted = await call(ctx.app, s.keys.handler, 'POST', `/cases/${s.caseId}/lift-block`, {
      reason: 'Verkeerde aansluiting',
    });
    const t1 = Date.now();
    expect(lifted.statusCode, lifted.body).toBe(200);
    expect(lifted.json()).toMatchObject({ status: 'closed_wrongful_block' });
    const block = await s.blockRow();
    const row = await s.caseRow();
    // Stamped by the workflow at the lift (its clock: the test server's, within seconds of the wall clock).
    expect(block.endedAt!.getTime()).toBeGreaterThanOrEqual(t0 - 5_000);
    expect(block.endedAt!.getTime()).toBeLessThanOrEqual(t1 + 5_000);
    expect(block).toMatchObject({ liftReason: 'wrongful_block', retroactive: true });
    expect(row.unblockedAt?.getTime()).toBe(block.endedAt!.getTime());
    expect(row.unblockDueAt!.getTime()).toBeGreaterThan(block.endedAt!.getTime());
    const view = (await call(ctx.app, s.keys.handler, 'GET', `/cases/${s.caseId}`)).json();
    expect(view.deadlines.unblock).toMatchObject({ rule: 'GT-7', state: 'met', doneAt: block.endedAt!.toISOString() });
    // The workflow was told: the lift is its Update, by the handler.
    const history = (await call(ctx.app, s.keys.compliance, 'GET', `/cases/${s.caseId}/history`)).json();
    const update = history.entries.find(
      (e: { type: string; detail?: string }) =>
        e.type === 'WorkflowExecutionUpdateAccepted' && e.detail === 'liftWrongfulBlock',
    );
    expect(update?.actor).toMatch(/^api-key:/);
  });
});

const OPEN = ['blocked', 'awaiting_response', 'awaiting_judgement'];

describe('an admin’s correction of a closed case’s block', () => {
  it('lifts a "not demonstrated" block (the gate stops refusing at once), then releases its period; each once, audited, on the case', async () => {
    const s = await setting();
    const before = { from: Date.now() - days(2), to: Date.now() - days(1) }; // before the block
    const overlapping = { from: s.receivedAt - hours(1), to: Date.now() - hours(1) }; // within its period
    await ctx.waitForCase(s.caseId, (r) => r.contactedAt !== null);
    const answered = await call(ctx.app, s.keys.party, 'POST', `/cases/${s.caseId}/responses`, {
      findings: 'Machtiging via website',
      complaintHandling: 'Klant gebeld',
      evidence: {
        filename: 'machtiging.pdf',
        contentType: 'application/pdf',
        contentBase64: smallPdf().toString('base64'),
      },
    });
    expect(answered.statusCode, answered.body).toBe(201);
    const rejected = await call(ctx.app, s.keys.handler, 'POST', `/cases/${s.caseId}/judgements`, {
      responseId: answered.json().response.id,
      decision: 'reject',
      reason: 'Handtekening ontbreekt',
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    await ctx.skip(73 * 3_600_000);
    await ctx.waitForCase(s.caseId, (r) => r.status === 'closed_mandate_not_demonstrated');
    const block = await s.blockRow();
    expect(block.endedAt).toBeNull();
    expect(await s.gate(before.from, before.to)).toMatchObject({
      allowed: false,
      reasonCode: 'blocked_not_demonstrated',
      blockId: block.id,
    });

    // Only an admin corrects; the body is checked before anything changes; no time can be given.
    const body = {
      kind: 'lift',
      reasonCode: 'court_decision',
      reason: 'Rechtbank: machtiging wel aangetoond',
      reference: 'ECLI:NL:RBAMS:2026:123',
    };
    const url = `/cases/${s.caseId}/block-corrections`;
    for (const key of [s.keys.handler, s.keys.compliance, s.keys.party])
      expect((await call(ctx.app, key, 'POST', url, body)).statusCode).toBe(403);
    for (const [bad, field] of [
      [{ ...body, at: iso(s.receivedAt) }, 'body.at'],
      [{ ...body, reason: '' }, 'body.reason'],
      [{ ...body, kind: 'reinstate' }, 'body.kind'],
      [{ ...body, reasonCode: 'feeling' }, 'body.reasonCode'],
    ] as const) {
      const res = await call(ctx.app, s.keys.admin, 'POST', url, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().field).toBe(field);
    }
    expect((await s.blockRow()).endedAt).toBeNull();
    expect(
      (await call(ctx.app, s.keys.admin, 'POST', `/cases/${randomUUID()}/block-corrections`, body)).json(),
    ).toMatchObject({ code: 'case_not_found' });

    const t0 = Date.now();
    const lift = await call(ctx.app, s.keys.admin, 'POST', url, body);
    const t1 = Date.now();
    expect(lift.statusCode, lift.body).toBe(201);
    const made = lift.json();
    expect(made).toMatchObject({ caseId: s.caseId, kind: 'lift', reasonCode: 'court_decision', rule: 'GT-7' });
    expect(made.block).toMatchObject({
      id: block.id,
      active: false,
      liftReason: 'admin_correction',
      retroactive: false,
    });
    // Stamped now (the server's clock), never earlier.
    expect(Date.parse(made.correctedAt)).toBeGreaterThanOrEqual(t0);
    expect(Date.parse(made.correctedAt)).toBeLessThanOrEqual(t1);
    expect(made.block.endedAt).toBe(made.correctedAt);
    expect((await s.caseRow()).unblockedAt?.toISOString()).toBe(made.correctedAt);

    // The gate reads it at once: the old mandate counts again outside the blocked period (no GT-8b kept block),
    // while the blocked period itself stays closed (lifted without release, GT-8).
    expect(await s.gate(before.from, before.to)).toMatchObject({
      allowed: true,
      reasonCode: 'mandate_valid',
      mandateId: s.old.id,
    });
    expect(await s.gate(overlapping.from, overlapping.to)).toMatchObject({
      allowed: false,
      reasonCode: 'blocked_period_not_released',
      blockId: block.id,
    });
    const again = await call(ctx.app, s.keys.admin, 'POST', url, body);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'block_already_lifted', field: 'body.kind' });

    const release = {
      kind: 'release_period',
      reasonCode: 'disputes_committee',
      reason: 'Geschillencommissie: periode vrijgeven',
    };
    // Under an Idempotency-Key a repeat (the answer lost, or a 503) replays the first outcome: no 409, no second write.
    const keyed = (k: string) =>
      ctx.app.inject({
        method: 'POST',
        url,
        headers: { authorization: s.keys.admin, 'content-type': 'application/json', 'idempotency-key': k },
        payload: JSON.stringify(release),
      });
    const released = await keyed('release-1');
    expect(released.statusCode, released.body).toBe(201);
    expect(released.headers.location).toBe(`/cases/${s.caseId}`);
    const replayed = await keyed('release-1');
    expect(replayed.statusCode, replayed.body).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toEqual(released.json());
    expect(released.json()).toMatchObject({ kind: 'release_period', rule: 'GT-8' });
    expect(released.json().block).toMatchObject({ retroactive: true, endedAt: made.block.endedAt });
    expect(await s.gate(overlapping.from, overlapping.to)).toMatchObject({
      allowed: true,
      reasonCode: 'mandate_valid_block_released',
      blockId: block.id,
    });
    const twice = await call(ctx.app, s.keys.admin, 'POST', url, release);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('period_already_released');

    // Two corrections, two audit entries on the case (the refused ones wrote nothing); the chain holds.
    const entries = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, s.caseId), eq(auditLog.action, 'case.block_corrected')))
      .orderBy(auditLog.id);
    expect(entries.map((e) => e.data.kind)).toEqual(['lift', 'release_period']);
    expect(entries[0]).toMatchObject({
      entityType: 'case',
      actorRole: 'admin',
      data: { reasonCode: 'court_decision', reason: body.reason, reference: body.reference, blockId: block.id },
    });
    expect((await verifyAuditChain(ctx.db)).firstBroken).toBeNull();
    // On the case: the full timeline and the history with the reason; the party sees that and when, not why.
    const full = (await call(ctx.app, s.keys.compliance, 'GET', `/cases/${s.caseId}`)).json();
    const corrections = full.timeline.filter((e: { action: string }) => e.action === 'case.block_corrected');
    expect(corrections.map((e: { data: { kind: string } }) => e.data.kind)).toEqual(['lift', 'release_period']);
    expect(corrections[0].actor).toMatch(/^api-key:/);
    const history = (await call(ctx.app, s.keys.admin, 'GET', `/cases/${s.caseId}/history`)).json();
    expect(history.entries.filter((e: { type: string }) => e.type === 'case.block_corrected')).toHaveLength(2);
    const partyView = (await call(ctx.app, s.keys.party, 'GET', `/cases/${s.caseId}`)).json();
    const seen = partyView.timeline.filter((e: { action: string }) => e.action === 'case.block_corrected');
    expect(seen).toEqual([
      { at: corrections[0].at, action: 'case.block_corrected' },
      { at: corrections[1].at, action: 'case.block_corrected' },
    ]);
    // The case's outcome stands, and with it the evidence's hold for the GT-11 assessment (GT-8).
    expect((await s.caseRow()).status).toBe('closed_mandate_not_demonstrated');
    const [response] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.caseId, s.caseId));
    expect(response!.evidenceContent).not.toBeNull();
  });
});
