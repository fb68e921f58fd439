/**
 * Blocks over the API (GT-2, GT-7, GT-8): read-only — no block without a case, none lifted outside the case's
 * process (issue 18) — and the repository functions the doubt-case activities call (idempotent, audited).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, blocks } from '../../db/schema/index.js';
import { liftBlock, placeBlock } from '../../db/repositories/blocks.js';
import {
  allocationState,
  endZeroAllocation,
  startZeroAllocation,
  switchToProfileAllocation,
} from '../../db/repositories/allocation.js';
import { DomainError } from '../../lib/errors.js';
import {
  call,
  coreContext,
  days,
  iso,
  makeConnection,
  makeCase,
  makeKey,
  makeParty,
  newEan,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
let operator: Awaited<ReturnType<typeof makeParty>>;
let provider: Awaited<ReturnType<typeof makeParty>>;
let handler: string;
beforeAll(async () => {
  ctx = await coreContext('blocks');
  operator = await makeParty(ctx.db, ['grid_operator']);
  provider = await makeParty(ctx.db, ['service_provider']);
  handler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
});
afterAll(async () => ctx?.close());

const auditOf = (type: string, id: string) =>
  ctx.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityType, type), eq(auditLog.entityId, id)));

describe('blocks API: read-only, no side door (issue 18)', () => {
  it('no block without a case: PUT /blocks/{caseId} is gone (404) and the database refuses one (foreign key)', async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const admin = await makeKey(ctx.db, 'admin');
    const caseId = randomUUID();
    for (const key of [handler, admin]) {
      const put = await call(ctx.app, key, 'PUT', `/blocks/${caseId}`, {
        partyGln: provider.gln,
        connectionEan: c.ean,
      });
      expect(put.statusCode, put.body).toBe(404);
    }
    await expect(
      ctx.db.insert(blocks).values({ caseId, partyId: provider.id, connectionEan: c.ean, startedAt: new Date() }),
    ).rejects.toMatchObject({ cause: { code: '23503' } });
    await expect(
      placeBlock(ctx.db, { actor: 'test', caseId, partyId: provider.id, connectionEan: c.ean, at: new Date() }),
    ).rejects.toThrow();
    expect(await ctx.db.select().from(blocks).where(eq(blocks.caseId, caseId))).toEqual([]);
    expect(await ctx.db.select().from(blocks).where(eq(blocks.connectionEan, c.ean))).toEqual([]);
  });

  it('the old lift route lifts neither a running case’s block nor a “not demonstrated” one (GT-8b)', async () => {
    const admin = await makeKey(ctx.db, 'admin');
    for (const status of ['awaiting_response', 'closed_mandate_not_demonstrated'] as const) {
      const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
      const kase = await makeCase(ctx.db, {
        partyId: provider.id,
        connectionEan: c.ean,
        gridOperatorId: operator.id,
        status,
      });
      const { block } = await placeBlock(ctx.db, {
        actor: `workflow:${kase.id}`,
        caseId: kase.id,
        partyId: provider.id,
        connectionEan: c.ean,
        at: new Date(Date.now() - days(4)),
      });
      for (const key of [handler, admin]) {
        const lift = await call(ctx.app, key, 'POST', `/blocks/${kase.id}/lift`, {
          reason: 'wrongful_block',
          retroactive: true,
          at: iso(Date.now() - days(3)),
        });
        expect(lift.statusCode, lift.body).toBe(404);
      }
      const read = await call(ctx.app, handler, 'GET', `/blocks/${kase.id}`);
      expect(read.json()).toMatchObject({ id: block.id, active: true, endedAt: null, retroactive: false });
      expect((await auditOf('block', block.id)).map((a) => a.action)).toEqual(['block.placed']);
    }
  });

  it('reads: case handlers and compliance officers their own operator’s connections (others 404); suppliers 403', async () => {
    const otherOp = await makeParty(ctx.db, ['grid_operator']);
    const foreign = await makeConnection(ctx.db, { gridOperatorId: otherOp.id });
    const kase = await makeCase(ctx.db, {
      partyId: provider.id,
      connectionEan: foreign.ean,
      gridOperatorId: otherOp.id,
    });
    await placeBlock(ctx.db, {
      actor: 'test',
      caseId: kase.id,
      partyId: provider.id,
      connectionEan: foreign.ean,
      at: new Date(),
    });
    expect((await call(ctx.app, handler, 'GET', `/blocks/${kase.id}`)).statusCode).toBe(404);
    expect((await call(ctx.app, handler, 'GET', `/blocks?connectionEan=${foreign.ean}`)).json().total).toBe(0);
    // The compliance officer of the connection's grid operator reads it; the other operator's does not.
    const compliance = await makeKey(ctx.db, 'compliance', { partyId: otherOp.id });
    expect((await call(ctx.app, compliance, 'GET', `/blocks/${kase.id}`)).statusCode).toBe(200);
    const ownCompliance = await makeKey(ctx.db, 'compliance', { partyId: operator.id });
    expect((await call(ctx.app, ownCompliance, 'GET', `/blocks/${kase.id}`)).statusCode).toBe(404);
    expect(
      (await call(ctx.app, compliance, 'GET', `/blocks?connectionEan=${foreign.ean}&active=true`)).json().total,
    ).toBe(1);
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: provider.id });
    expect((await call(ctx.app, supplierKey, 'GET', '/blocks')).statusCode).toBe(403);
    expect((await call(ctx.app, compliance, 'GET', `/blocks/${randomUUID()}`)).statusCode).toBe(404);
  });
});

describe('repository functions for the doubt-case activities', () => {
  it('placeBlock / liftBlock are idempotent under concurrent retries and audited once', async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const caseId = (await makeCase(ctx.db, { partyId: provider.id, connectionEan: c.ean, gridOperatorId: operator.id }))
      .id;
    const actor = { actor: `workflow:${caseId}` };
    const placed = await Promise.all(
      Array.from({ length: 5 }, () =>
        placeBlock(ctx.db, { ...actor, caseId, partyId: provider.id, connectionEan: c.ean, at: new Date() }),
      ),
    );
    expect(placed.filter((p) => p.created)).toHaveLength(1);
    expect(new Set(placed.map((p) => p.block.id)).size).toBe(1);
    const lifted = await Promise.all(
      Array.from({ length: 3 }, () =>
        liftBlock(ctx.db, { ...actor, caseId, at: new Date(), reason: 'wrongful_block', retroactive: true }),
      ),
    );
    expect(lifted.filter((l) => l.lifted)).toHaveLength(1);
    expect((await auditOf('block', placed[0]!.block.id)).map((a) => [a.action, a.actor])).toEqual([
      ['block.placed', actor.actor],
      ['block.lifted', actor.actor],
    ]);
    await expect(
      liftBlock(ctx.db, {
        ...actor,
        caseId: randomUUID(),
        at: new Date(),
        reason: 'case_withdrawn',
        retroactive: false,
      }),
    ).rejects.toMatchObject({ code: 'block_not_found' });
    await expect(
      placeBlock(ctx.db, {
        ...actor,
        caseId: randomUUID(),
        partyId: provider.id,
        connectionEan: newEan(),
        at: new Date(),
      }),
    ).rejects.toBeInstanceOf(DomainError);
  });

  it("GT-4 / AL-6: '0' values while the case is open, then profile from the switch; every step idempotent", async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const caseId = randomUUID();
    const actor = { actor: `workflow:${caseId}` };
    const t0 = new Date(Date.now() - days(3));
    expect((await startZeroAllocation(ctx.db, { ...actor, caseId, connectionEan: c.ean, at: t0 })).created).toBe(true);
    expect(
      (await startZeroAllocation(ctx.db, { ...actor, caseId, connectionEan: c.ean, at: new Date() })).created,
    ).toBe(false);
    const handlerView = (await call(ctx.app, handler, 'GET', `/connections/${c.ean}/allocation`)).json();
    expect(handlerView.allocatedWithZeroValues).toBe(true);
    const switchAt = new Date(Date.now() - days(1));
    expect(
      (await switchToProfileAllocation(ctx.db, { ...actor, caseId, connectionEan: c.ean, effectiveFrom: switchAt }))
        .created,
    ).toBe(true);
    expect(
      (await switchToProfileAllocation(ctx.db, { ...actor, caseId, connectionEan: c.ean, effectiveFrom: new Date() }))
        .created,
    ).toBe(false);
    expect(
      (await endZeroAllocation(ctx.db, { ...actor, caseId, at: switchAt, reason: 'mandate_not_demonstrated' })).ended,
    ).toBe(true);
    expect((await endZeroAllocation(ctx.db, { ...actor, caseId, at: new Date(), reason: 'again' })).ended).toBe(false);
    const state = await allocationState(ctx.db, c, new Date());
    expect(state.outcome).toBe('profile_method');
    expect(state.zeroAllocation).toBeNull();
    // The switch is a basis period of its own: profile, GT-4, the case, who recorded it.
    expect(state.history.map((h) => [h.method, h.basis, h.caseId, h.reason, h.recordedBy])).toEqual([
      ['profile', null, caseId, 'GT-4: mandate not demonstrated', `workflow:${caseId}`],
    ]);
    expect((await auditOf('connection', c.ean)).map((a) => a.action)).toEqual([
      'allocation.zero_started',
      'allocation.switched_to_profile',
      'allocation.zero_ended',
    ]);
    await expect(
      endZeroAllocation(ctx.db, { ...actor, caseId: randomUUID(), at: new Date(), reason: 'x' }),
    ).rejects.toMatchObject({ code: 'zero_allocation_not_found' });
  });

  it('the allocation basis over the API (AL-4): grid operator roles record it, audited with the actor; a new period supersedes, the history stays; refusals name the field', async () => {
    const supplier = await makeParty(ctx.db, ['supplier']);
    const other = await makeParty(ctx.db, ['supplier']);
    const otherOperator = await makeParty(ctx.db, ['grid_operator']);
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: supplier.id });
    const url = `/connections/${c.ean}/allocation-basis`;
    // The compliance officer of the connection's grid operator.
    const compliance = await makeKey(ctx.db, 'compliance', { partyId: operator.id });
    const foreign = await makeKey(ctx.db, 'case-handler', { partyId: otherOperator.id });
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });

    // None recorded: profile (AL-4).
    const none = await call(ctx.app, handler, 'GET', url);
    expect(none.statusCode, none.body).toBe(200);
    expect(none.json()).toMatchObject({ current: 'profile', profileReason: 'no_allocation_basis', inForce: null });

    const since = iso(Date.now() - days(10));
    const body = { method: 'isma', effectiveFrom: since, basis: 'supplier_isma_request', reason: 'iSMA requested' };
    const recorded = await call(ctx.app, handler, 'POST', url, body);
    expect(recorded.statusCode, recorded.body).toBe(201);
    const handlerKeyId = (await auditOf('connection', c.ean))[0]!.actor;
    expect(recorded.json()).toMatchObject({
      method: 'isma',
      basis: 'supplier_isma_request',
      basisPartyId: supplier.id, // the supplier of record at effectiveFrom
      basisReference: null,
      recordedBy: handlerKeyId,
    });
    expect(handlerKeyId).toMatch(/^api-key:/);
    const [audit] = await auditOf('connection', c.ean);
    expect(audit).toMatchObject({ action: 'allocation.basis_recorded', actorRole: 'case-handler' });
    expect(audit!.data).toMatchObject({ basis: 'supplier_isma_request', basisPartyId: supplier.id, rule: 'AL-4' });
    expect((await call(ctx.app, compliance, 'GET', url)).json()).toMatchObject({
      current: 'isma',
      profileReason: null,
    });

    // The customer's consent from yesterday supersedes it; both periods stay.
    const consent = await call(ctx.app, handler, 'POST', url, {
      method: 'isma',
      effectiveFrom: iso(Date.now() - days(1)),
      basis: 'customer_consent',
      reference: 'consent form 2026-12',
      reason: 'customer consented',
    });
    expect(consent.statusCode, consent.body).toBe(201);
    const view = (await call(ctx.app, handler, 'GET', url)).json();
    expect(view.inForce).toMatchObject({ basis: 'customer_consent', basisReference: 'consent form 2026-12' });
    expect(view.history.map((h: { basis: string }) => h.basis)).toEqual(['supplier_isma_request', 'customer_consent']);
    expect((await call(ctx.app, handler, 'GET', `/connections/${c.ean}/allocation`)).json()).toMatchObject({
      current: 'isma',
      history: [{ basis: 'supplier_isma_request' }, { basis: 'customer_consent' }],
    });

    // Refusals: 4xx with code and field; nothing recorded.
    const refused = async (b: Record<string, unknown>, status: number, code: string, field: string) => {
      const res = await call(ctx.app, handler, 'POST', url, { effectiveFrom: since, reason: 'x', ...b });
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json()).toMatchObject({ code, field });
    };
    await refused({ method: 'isma' }, 400, 'allocation_basis_required', 'body.basis');
    await refused(
      { method: 'isma', basis: 'legal_provision' },
      400,
      'allocation_basis_reference_required',
      'body.reference',
    );
    await refused(
      { method: 'profile', basis: 'customer_consent' },
      400,
      'allocation_basis_not_applicable',
      'body.basis',
    );
    await refused(
      { method: 'isma', basis: 'supplier_isma_request', supplierGln: other.gln },
      409,
      'allocation_basis_supplier_not_of_record',
      'body.supplierGln',
    );
    await refused({ method: 'isma', basis: 'cousin_said_so' }, 400, 'invalid_request', 'body.basis');
    expect((await call(ctx.app, handler, 'GET', url)).json().history).toHaveLength(2);

    // Only the grid operator's own people write; others' handlers do not see the connection.
    expect((await call(ctx.app, compliance, 'POST', url, body)).statusCode).toBe(403);
    expect((await call(ctx.app, supplierKey, 'POST', url, body)).statusCode).toBe(403);
    expect((await call(ctx.app, supplierKey, 'GET', url)).statusCode).toBe(403);
    expect((await call(ctx.app, foreign, 'POST', url, body)).statusCode).toBe(404);
    expect((await call(ctx.app, foreign, 'GET', url)).statusCode).toBe(404);
    expect((await auditOf('connection', c.ean)).map((a) => a.action)).toEqual([
      'allocation.basis_recorded',
      'allocation.basis_recorded',
    ]);
  });

  it('inside a caller’s transaction, a failure rolls the repository writes back', async () => {
    const c = await makeConnection(ctx.db, { gridOperatorId: operator.id });
    const caseId = (await makeCase(ctx.db, { partyId: provider.id, connectionEan: c.ean, gridOperatorId: operator.id }))
      .id;
    await expect(
      ctx.db.transaction(async (tx) => {
        await placeBlock(tx, { actor: 'test', caseId, partyId: provider.id, connectionEan: c.ean, at: new Date() });
        throw new Error('activity failed after placing');
      }),
    ).rejects.toThrow('activity failed');
    expect((await call(ctx.app, handler, 'GET', `/blocks/${caseId}`)).statusCode).toBe(404);
  });
});
