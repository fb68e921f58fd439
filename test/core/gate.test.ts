/**
 * The P4 gate: every reason code (allowed and denied) with its rule, the register entry behind each
 * decision (DC-1), bad input that registers nothing, role boundaries, and blocks that apply from the
 * instant they commit (GT-2) and release their period only when lifted retroactively (GT-8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray, sql as dsql } from 'drizzle-orm';
import { accessRegister, parties } from '../../db/schema/index.js';
import { writeRegisters } from '../../db/repositories/reading-days.js';
import { liftBlock, placeBlock } from '../../db/repositories/blocks.js';
import {
  decide,
  GATE_REASONS,
  needsAdditionalMandate,
  periodAtDecision,
  quarterHourGap,
  type GateFacts,
  type GateRequest,
  type MandateFact,
} from '../../domain/gate.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import {
  badCheckDigit,
  call,
  coreContext,
  days,
  iso,
  makeCase,
  makeConnection,
  makeGridUser,
  makeKey,
  makeMandate,
  makeParty,
  newEan,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
let operator: Awaited<ReturnType<typeof makeParty>>;
let supplier: Awaited<ReturnType<typeof makeParty>>;
let provider: Awaited<ReturnType<typeof makeParty>>;
let supplierP4: string;
let providerP4: string;
let supplierKey: string;

const QH = 900_000;
/** On a quarter-hour boundary: periods are taken on quarter-hours (DC-7), so these are decided as asked. */
const now = Math.floor(Date.now() / QH) * QH;
const lastWeek = { from: iso(now - days(7)), to: iso(now - days(1)) };

beforeAll(async () => {
  ctx = await coreContext('gate');
  operator = await makeParty(ctx.db, ['grid_operator'], 'Operator');
  supplier = await makeParty(ctx.db, ['supplier'], 'Supplier');
  provider = await makeParty(ctx.db, ['service_provider'], 'Provider');
  supplierP4 = await makeKey(ctx.db, 'p4-client', { partyId: supplier.id });
  providerP4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
  supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
});
afterAll(async () => ctx?.close());

async function conn(o: { optOut?: boolean } = {}) {
  const user = await makeGridUser(ctx.db);
  return makeConnection(ctx.db, {
    gridOperatorId: operator.id,
    supplierId: supplier.id,
    gridUserId: user.id,
    remoteReadingOptOut: o.optOut ?? false,
  });
}

async function ask(
  key: string,
  connectionEan: string,
  dataKind: string,
  period: { from: string; to: string } = lastWeek,
) {
  return call(ctx.app, key, 'POST', '/p4/requests', { connectionEan, dataKind, ...period });
}

async function registerCount(ean: string) {
  const [r] = await ctx.db
    .select({ n: dsql<number>`count(*)::int` })
    .from(accessRegister)
    .where(eq(accessRegister.connectionEan, ean));
  return r!.n;
}

/** Ask, expect a decision with this reason, and check its register entry (DC-1). */
async function expectDecision(
  key: string,
  ean: string,
  dataKind: string,
  reason: keyof typeof GATE_REASONS,
  period = lastWeek,
) {
  const before = await registerCount(ean);
  const res = await ask(key, ean, dataKind, period);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  expect(body.reasonCode).toBe(reason);
  expect(body.rule).toBe(GATE_REASONS[reason].rule);
  expect(body.allowed).toBe(GATE_REASONS[reason].allowed);
  expect(body.decision).toBe(GATE_REASONS[reason].allowed ? 'allowed' : 'denied');
  expect(await registerCount(ean)).toBe(before + 1);
  const [row] = await ctx.db.select().from(accessRegister).where(eq(accessRegister.id, body.id));
  expect(row).toMatchObject({
    connectionEan: ean,
    dataKind,
    allowed: body.allowed,
    reasonCode: reason,
    rule: body.rule,
    mandateId: body.mandateId,
    blockId: body.blockId,
  });
  expect(row!.periodFrom.toISOString()).toBe(period.from);
  expect(row!.periodTo.toISOString()).toBe(period.to);
  return body;
}

describe('allowed', () => {
  it('GT-2: the supplier of record reads monthly registers without an additional mandate', async () => {
    const c = await conn();
    const d = await expectDecision(supplierP4, c.ean, 'monthly_registers', 'supplier_of_record');
    expect(d.mandateId).toBeNull();
    expect(d.dataUrl).toBe(`/p4/requests/${d.id}/data`);
  });

  it('DC-2: a service provider with a covering mandate; the handle returns the readings', async () => {
    const c = await conn();
    const m = await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean, dataKinds: ['interval_data'] });
    const t0 = Math.floor((now - days(2)) / 900_000) * 900_000;
    await writeRegisters(
      ctx.db,
      c.ean,
      [0, 1, 2].map((i) => ({
        readAt: new Date(t0 + i * 900_000),
        registerWh: 1000 + i * 100,
        feedInRegisterWh: null,
      })),
    );
    const d = await expectDecision(providerP4, c.ean, 'interval_data', 'mandate_valid');
    expect(d.mandateId).toBe(m.id);
    const data = await call(ctx.app, providerP4, 'GET', d.dataUrl);
    expect(data.statusCode, data.body).toBe(200);
    expect(data.json().readings).toEqual([
      { at: new Date(t0).toISOString(), registerWh: 1000 },
      { at: new Date(t0 + 900_000).toISOString(), registerWh: 1100, volumeWh: 100 },
      { at: new Date(t0 + 1_800_000).toISOString(), registerWh: 1200, volumeWh: 100 },
    ]);
    // The decision itself is readable by its party, and only by it.
    expect((await call(ctx.app, providerP4, 'GET', `/p4/requests/${d.id}`)).json().reasonCode).toBe('mandate_valid');
    expect((await call(ctx.app, supplierP4, 'GET', `/p4/requests/${d.id}`)).statusCode).toBe(404);
    expect((await call(ctx.app, supplierP4, 'GET', d.dataUrl)).statusCode).toBe(404);
  });

  it('DC-2: history before validFrom is allowed with history consent', async () => {
    const c = await conn();
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: c.ean,
      validFrom: new Date(now - days(3)),
      historyIncluded: true,
    });
    await expectDecision(providerP4, c.ean, 'daily_registers', 'mandate_valid', {
      from: iso(now - days(60)),
      to: iso(now - days(1)),
    });
  });

  it('a supplier with a mandate reads interval data', async () => {
    const c = await conn();
    await makeMandate(ctx.db, { partyId: supplier.id, connectionEan: c.ean, dataKinds: ['interval_data'] });
    await expectDecision(supplierP4, c.ean, 'interval_data', 'mandate_valid');
  });
});

describe('denied, each reason with its rule', () => {
  it('DC-2 no_mandate: a service provider always needs one; a supplier needs one for daily/interval data', async () => {
    const c = await conn();
    await expectDecision(providerP4, c.ean, 'monthly_registers', 'no_mandate');
    await expectDecision(supplierP4, c.ean, 'daily_registers', 'no_mandate');
    await expectDecision(supplierP4, c.ean, 'interval_data', 'no_mandate');
  });

  it('DC-4 party_not_admitted', async () => {
    const p = await makeParty(ctx.db, ['service_provider']);
    const key = await makeKey(ctx.db, 'p4-client', { partyId: p.id });
    const c = await conn();
    await makeMandate(ctx.db, { partyId: p.id, connectionEan: c.ean });
    await ctx.db.update(parties).set({ admitted: false }).where(eq(parties.id, p.id));
    await expectDecision(key, c.ean, 'interval_data', 'party_not_admitted');
  });

  it('AL-5 remote_reading_opted_out, even for the supplier of record', async () => {
    const c = await conn({ optOut: true });
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean });
    await expectDecision(providerP4, c.ean, 'interval_data', 'remote_reading_opted_out');
    await expectDecision(supplierP4, c.ean, 'monthly_registers', 'remote_reading_opted_out');
  });

  it('DC-3 mandate_pending_confirmation', async () => {
    const c = await conn();
    const m = await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean, status: 'pending_confirmation' });
    const d = await expectDecision(providerP4, c.ean, 'interval_data', 'mandate_pending_confirmation');
    expect(d.mandateId).toBe(m.id);
  });

  it('DC-4 mandate_revoked / mandate_ended_customer_switch / mandate_ended_party_not_admitted', async () => {
    for (const [endReason, code] of [
      ['revoked_by_grid_user', 'mandate_revoked'],
      ['withdrawn_by_party', 'mandate_revoked'],
      ['customer_switch', 'mandate_ended_customer_switch'],
      ['party_not_admitted', 'mandate_ended_party_not_admitted'],
    ] as const) {
      const c = await conn();
      await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean, status: 'ended', endReason });
      await expectDecision(providerP4, c.ean, 'interval_data', code);
    }
  });

  it('DC-4 mandate_expired and DC-2 mandate_not_yet_valid', async () => {
    const c1 = await conn();
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: c1.ean,
      validFrom: new Date(now - days(60)),
      validTo: new Date(now - days(1)),
    });
    await expectDecision(providerP4, c1.ean, 'interval_data', 'mandate_expired', {
      from: iso(now - days(50)),
      to: iso(now - days(40)),
    });
    const c2 = await conn();
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: c2.ean,
      validFrom: new Date(now + days(1)),
      validTo: new Date(now + days(60)),
      historyIncluded: true,
    });
    await expectDecision(providerP4, c2.ean, 'interval_data', 'mandate_not_yet_valid');
  });

  it('DC-2 data_kind_out_of_scope, history_not_consented', async () => {
    const c = await conn();
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: c.ean,
      dataKinds: ['daily_registers'],
      validFrom: new Date(now - days(10)),
      validTo: new Date(now + days(10)),
    });
    await expectDecision(providerP4, c.ean, 'interval_data', 'data_kind_out_of_scope');
    await expectDecision(providerP4, c.ean, 'daily_registers', 'history_not_consented', {
      from: iso(now - days(30)),
      to: iso(now - days(1)),
    });
  });

  it('no future periods: a period reaching past the decision is cut at the decision instant, and the answer says so', async () => {
    const c = await conn();
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: c.ean,
      dataKinds: ['daily_registers'],
      validFrom: new Date(now - days(10)),
      validTo: new Date(now + days(10)),
    });
    const asked = { from: iso(now - days(5)), to: iso(now + days(20)) };
    const res = await ask(providerP4, c.ean, 'daily_registers', asked);
    const d = res.json();
    expect(d).toMatchObject({ reasonCode: 'mandate_valid', periodCut: true, from: asked.from });
    // Cut at the last quarter-hour that ended before the decision (DC-7: whole quarter-hours only).
    const lastQuarterHour = iso(Math.floor(Date.parse(d.decidedAt) / QH) * QH);
    expect(d.to).toBe(lastQuarterHour);
    const [row] = await ctx.db.select().from(accessRegister).where(eq(accessRegister.id, d.id));
    expect(row!.periodTo.toISOString()).toBe(lastQuarterHour);
    expect(row!.periodTo.getTime()).toBeLessThan(Date.parse(asked.to));
    // A period within the past is not cut.
    expect((await ask(providerP4, c.ean, 'daily_registers', lastWeek)).json()).toMatchObject({
      periodCut: false,
      from: lastWeek.from,
      to: lastWeek.to,
    });
  });

  it('the closest mandate explains the denial (one pending, one out of scope → out of scope)', async () => {
    const c = await conn();
    await makeMandate(ctx.db, {
      partyId: provider.id,
      connectionEan: c.ean,
      status: 'pending_confirmation',
      dataKinds: ['interval_data'],
    });
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean, dataKinds: ['daily_registers'] });
    await expectDecision(providerP4, c.ean, 'interval_data', 'data_kind_out_of_scope');
  });
});

describe('blocks (GT-2, GT-8)', () => {
  it('GT-2: denies from the instant the block commits, only requests that need an additional mandate', async () => {
    const c = await conn();
    await makeMandate(ctx.db, { partyId: supplier.id, connectionEan: c.ean });
    await expectDecision(supplierP4, c.ean, 'interval_data', 'mandate_valid');
    const caseId = (await makeCase(ctx.db, { partyId: supplier.id, connectionEan: c.ean, gridOperatorId: operator.id }))
      .id;
    const { block } = await placeBlock(ctx.db, {
      actor: 'test',
      caseId,
      partyId: supplier.id,
      connectionEan: c.ean,
      at: new Date(),
    });
    const d = await expectDecision(supplierP4, c.ean, 'interval_data', 'blocked_by_doubt_case');
    expect(d.blockId).toBe(block.id);
    // Billing reads of the supplier of record need no additional mandate: not blocked.
    await expectDecision(supplierP4, c.ean, 'monthly_registers', 'supplier_of_record');
  });

  it('GT-8: lifted retroactively, requests covering the blocked period are allowed', async () => {
    const c = await conn();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean, validFrom: new Date(now - days(30)) });
    const caseId = (await makeCase(ctx.db, { partyId: provider.id, connectionEan: c.ean, gridOperatorId: operator.id }))
      .id;
    await placeBlock(ctx.db, {
      actor: 'test',
      caseId,
      partyId: provider.id,
      connectionEan: c.ean,
      at: new Date(now - days(5)),
    });
    await expectDecision(providerP4, c.ean, 'interval_data', 'blocked_by_doubt_case');
    await liftBlock(ctx.db, {
      actor: 'test',
      caseId,
      at: new Date(now - days(2)),
      reason: 'mandate_accepted',
      retroactive: true,
    });
    const d = await expectDecision(providerP4, c.ean, 'interval_data', 'mandate_valid_block_released', {
      from: iso(now - days(6)),
      to: iso(now - days(1)),
    });
    expect(d.allowed).toBe(true);
    await expectDecision(providerP4, c.ean, 'interval_data', 'mandate_valid', {
      from: iso(now - days(1)),
      to: iso(now),
    });
  });

  it('GT-8: lifted without release, the blocked period stays closed; later periods are open', async () => {
    const c = await conn();
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean, validFrom: new Date(now - days(30)) });
    const caseId = (await makeCase(ctx.db, { partyId: provider.id, connectionEan: c.ean, gridOperatorId: operator.id }))
      .id;
    await placeBlock(ctx.db, {
      actor: 'test',
      caseId,
      partyId: provider.id,
      connectionEan: c.ean,
      at: new Date(now - days(5)),
    });
    await liftBlock(ctx.db, {
      actor: 'test',
      caseId,
      at: new Date(now - days(2)),
      reason: 'case_withdrawn',
      retroactive: false,
    });
    await expectDecision(providerP4, c.ean, 'interval_data', 'blocked_period_not_released', {
      from: iso(now - days(4)),
      to: iso(now - days(3)),
    });
    await expectDecision(providerP4, c.ean, 'interval_data', 'mandate_valid', {
      from: iso(now - days(2)),
      to: iso(now - days(1)),
    });
  });
});

describe('bad input registers nothing', () => {
  it.each([
    [
      'invalid check digit',
      400,
      'invalid_ean',
      () => ({ connectionEan: badCheckDigit(newEan()), dataKind: 'interval_data', ...lastWeek }),
    ],
    [
      'period ends before it starts',
      400,
      'period_invalid',
      (ean: string) => ({ connectionEan: ean, dataKind: 'interval_data', from: lastWeek.to, to: lastWeek.from }),
    ],
    [
      'empty period',
      400,
      'period_invalid',
      (ean: string) => ({ connectionEan: ean, dataKind: 'interval_data', from: lastWeek.from, to: lastWeek.from }),
    ],
    [
      'unknown data kind',
      400,
      'invalid_request',
      (ean: string) => ({ connectionEan: ean, dataKind: 'everything', ...lastWeek }),
    ],
    [
      'unknown field',
      400,
      'invalid_request',
      (ean: string) => ({ connectionEan: ean, dataKind: 'interval_data', ...lastWeek, purpose: 'x' }),
    ],
    [
      'not a date',
      400,
      'invalid_request',
      (ean: string) => ({ connectionEan: ean, dataKind: 'interval_data', from: 'yesterday', to: lastWeek.to }),
    ],
    [
      'unknown connection',
      404,
      'connection_not_found',
      () => ({ connectionEan: newEan(), dataKind: 'interval_data', ...lastWeek }),
    ],
    [
      'period starts in the future',
      400,
      'period_in_future',
      (ean: string) => ({
        connectionEan: ean,
        dataKind: 'interval_data',
        from: iso(Date.now() + days(1)),
        to: iso(Date.now() + days(2)),
      }),
    ],
  ])('%s → %i %s', async (_name, status, code, body) => {
    const c = await conn();
    const [before] = await ctx.db.select({ n: dsql<number>`count(*)::int` }).from(accessRegister);
    const res = await call(ctx.app, providerP4, 'POST', '/p4/requests', body(c.ean));
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    const [after] = await ctx.db.select({ n: dsql<number>`count(*)::int` }).from(accessRegister);
    expect(after!.n).toBe(before!.n);
  });
});

describe('roles', () => {
  it('only p4-client keys ask the gate (a supplier key gets 403); the data of a denied request is 409', async () => {
    const c = await conn();
    expect((await ask(supplierKey, c.ean, 'monthly_registers')).statusCode).toBe(403);
    const d = await expectDecision(providerP4, c.ean, 'interval_data', 'no_mandate');
    const res = await call(ctx.app, providerP4, 'GET', `/p4/requests/${d.id}/data`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('request_denied');
  });

  it('a p4-client key without a party is refused', async () => {
    const key = await makeKey(ctx.db, 'p4-client');
    const c = await conn();
    const res = await ask(key, c.ean, 'interval_data');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('key_without_party');
  });

  it('compliance and case handlers read the register of their own operator’s connections only', async () => {
    const c = await conn();
    await expectDecision(providerP4, c.ean, 'interval_data', 'no_mandate');
    const compliance = await makeKey(ctx.db, 'compliance', { partyId: operator.id });
    const own = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    const otherOp = await makeParty(ctx.db, ['grid_operator']);
    const other = await makeKey(ctx.db, 'case-handler', { partyId: otherOp.id });
    const otherCompliance = await makeKey(ctx.db, 'compliance', { partyId: otherOp.id });
    expect((await call(ctx.app, compliance, 'GET', `/access-register?connectionEan=${c.ean}`)).json().total).toBe(1);
    // Another grid operator's compliance officer reads neither that connection's entries nor them in its list.
    expect((await call(ctx.app, otherCompliance, 'GET', `/access-register?connectionEan=${c.ean}`)).statusCode).toBe(
      404,
    );
    expect(
      (await call(ctx.app, otherCompliance, 'GET', `/access-register`))
        .json()
        .items.every((e: { connectionEan: string }) => e.connectionEan !== c.ean),
    ).toBe(true);
    expect((await call(ctx.app, own, 'GET', `/access-register?connectionEan=${c.ean}`)).json().total).toBe(1);
    expect((await call(ctx.app, other, 'GET', `/access-register?connectionEan=${c.ean}`)).statusCode).toBe(404);
    expect(
      (await call(ctx.app, other, 'GET', `/access-register`))
        .json()
        .items.every((e: { connectionEan: string }) => e.connectionEan !== c.ean),
    ).toBe(true);
    expect((await call(ctx.app, providerP4, 'GET', `/access-register`)).statusCode).toBe(403);
    // Reads by party over a time window (served by the time-ordered primary key).
    const t = Date.now();
    const window = (since: number, until: number) =>
      `/access-register?partyGln=${provider.gln}&since=${iso(since)}&until=${iso(until)}&limit=500`;
    const recent = (await call(ctx.app, compliance, 'GET', window(t - 60_000, t + 60_000))).json();
    expect(recent.items.some((e: { connectionEan: string }) => e.connectionEan === c.ean)).toBe(true);
    expect(recent.items.every((e: { partyId: string }) => e.partyId === provider.id)).toBe(true);
    expect((await call(ctx.app, compliance, 'GET', window(t + 60_000, t + 120_000))).json().total).toBe(0);
    expect((await call(ctx.app, compliance, 'GET', window(t - 120_000, t - 60_000))).json().total).toBe(0);
  });
});

describe('DC-1 under load', () => {
  it('exactly one register entry per decision for 400 concurrent requests across parties and kinds', async () => {
    const cs = await Promise.all(Array.from({ length: 8 }, () => conn()));
    for (const c of cs.slice(0, 4)) await makeMandate(ctx.db, { partyId: provider.id, connectionEan: c.ean });
    const kinds = ['monthly_registers', 'daily_registers', 'interval_data'];
    const responses = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        ask(i % 2 ? providerP4 : supplierP4, cs[i % cs.length]!.ean, kinds[i % 3]!),
      ),
    );
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    const ids = responses.map((r) => r.json().id as string);
    expect(new Set(ids).size).toBe(400);
    const rows = await ctx.db
      .select({ id: accessRegister.id, allowed: accessRegister.allowed })
      .from(accessRegister)
      .where(inArray(accessRegister.id, ids));
    expect(rows).toHaveLength(400);
    const allowedById = new Map(rows.map((r) => [r.id, r.allowed]));
    for (const r of responses) expect(allowedById.get(r.json().id)).toBe(r.json().allowed);
    expect(responses.some((r) => r.json().allowed)).toBe(true);
    expect(responses.some((r) => !r.json().allowed)).toBe(true);
  });
});

describe('decide() (pure)', () => {
  /** Instants in quarter-hours: periods are taken on quarter-hour boundaries (DC-7). */
  const q = (n: number) => n * QH;
  const base: GateRequest = {
    partyId: 'p',
    connectionEan: 'e',
    dataKind: 'interval_data',
    from: new Date(q(1000)),
    to: new Date(q(2000)),
    requestId: 'r',
  };
  const facts = (f: Partial<GateFacts>): GateFacts => ({
    connection: { supplierId: 's', remoteReadingOptOut: false, gridUserSince: null, supplierSince: null },
    party: { admitted: true },
    mandates: [],
    blocks: [],
    ...f,
  });

  it('needs an additional mandate except the supplier of record reading monthly registers', () => {
    expect(needsAdditionalMandate('s', 's', 'monthly_registers')).toBe(false);
    expect(needsAdditionalMandate('s', 's', 'daily_registers')).toBe(true);
    expect(needsAdditionalMandate('s', 's', 'interval_data')).toBe(true);
    expect(needsAdditionalMandate('p', 's', 'monthly_registers')).toBe(true);
    expect(needsAdditionalMandate('p', null, 'monthly_registers')).toBe(true);
  });

  it('an unknown party is treated as not admitted', () => {
    expect(decide(base, facts({ party: null }), q(1500)).reasonCode).toBe('party_not_admitted');
  });

  it('a block placed with a future start still denies at once', () => {
    expect(
      decide(
        base,
        facts({
          blocks: [{ id: 'b', startedAt: q(10_000), endedAt: null, retroactive: false, notDemonstratedAt: null }],
        }),
        q(1500),
      ).reasonCode,
    ).toBe('blocked_by_doubt_case');
  });

  const mandate = (o: Partial<MandateFact> = {}): MandateFact => ({
    id: 'm',
    registeredAt: 0,
    dataKinds: ['interval_data'],
    validFrom: 0,
    validTo: q(10_000),
    historyIncluded: false,
    status: 'active',
    endReason: null,
    confirmedBy: 'declaration',
    ...o,
  });

  it('DC-2: a backdated start gives no history without history consent; with it, it does', () => {
    const backdated = mandate({ validFrom: 0, registeredAt: q(1200) });
    expect(decide(base, facts({ mandates: [backdated] }), q(1500)).reasonCode).toBe('history_before_registration');
    expect(decide({ ...base, from: new Date(q(1200)) }, facts({ mandates: [backdated] }), q(1500)).reasonCode).toBe(
      'mandate_valid',
    );
    expect(decide(base, facts({ mandates: [{ ...backdated, historyIncluded: true }] }), q(1500)).reasonCode).toBe(
      'mandate_valid',
    );
    // Registered inside a quarter-hour: that quarter-hour started before the registration (history); a start
    // inside it is rounded up to the next quarter-hour, which is not.
    const midQuarter = mandate({ validFrom: 0, registeredAt: q(1200) + 60_000 });
    expect(decide({ ...base, from: new Date(q(1200)) }, facts({ mandates: [midQuarter] }), q(1500)).reasonCode).toBe(
      'history_before_registration',
    );
    expect(
      decide({ ...base, from: new Date(q(1200) + 30_000) }, facts({ mandates: [midQuarter] }), q(1500)).reasonCode,
    ).toBe('mandate_valid');
  });

  it('DC-7: access starts at the current grid user, for every party including the supplier of record', () => {
    const f = facts({
      mandates: [mandate()],
      connection: { supplierId: 's', remoteReadingOptOut: false, gridUserSince: q(1200), supplierSince: null },
    });
    expect(decide(base, f, q(1500)).reasonCode).toBe('period_before_grid_user');
    expect(decide({ ...base, from: new Date(q(1200)) }, f, q(1500)).reasonCode).toBe('mandate_valid');
    // A start inside the previous occupant's last quarter-hour is rounded up to the change.
    expect(decide({ ...base, from: new Date(q(1200) - 1) }, f, q(1500)).reasonCode).toBe('mandate_valid');
    expect(decide({ ...base, from: new Date(q(1199)) }, f, q(1500)).reasonCode).toBe('period_before_grid_user');
    const billing = { ...base, partyId: 's', dataKind: 'monthly_registers' as const };
    expect(decide(billing, f, q(1500)).reasonCode).toBe('period_before_grid_user');
    expect(decide({ ...billing, from: new Date(q(1200)) }, f, q(1500)).reasonCode).toBe('supplier_of_record');
    // A change of occupant inside a quarter-hour: that quarter-hour was partly the previous occupant's.
    const mid = facts({
      connection: { supplierId: 's', remoteReadingOptOut: false, gridUserSince: q(1200) + 1, supplierSince: null },
    });
    expect(decide({ ...billing, from: new Date(q(1200)) }, mid, q(1500)).reasonCode).toBe('period_before_grid_user');
    expect(decide({ ...billing, from: new Date(q(1200) + 1) }, mid, q(1500)).reasonCode).toBe('supplier_of_record');
  });

  it('DC-7 / GT-2: the supplier of record reads billing registers without a mandate only over its own supply', () => {
    const billing = { ...base, partyId: 's', dataKind: 'monthly_registers' as const };
    const since = (supplierSince: number | null, gridUserSince: number | null = null) =>
      facts({ connection: { supplierId: 's', remoteReadingOptOut: false, gridUserSince, supplierSince } });
    expect(decide(billing, since(null), q(1500)).reasonCode).toBe('supplier_of_record');
    expect(decide(billing, since(q(1000)), q(1500)).reasonCode).toBe('supplier_of_record');
    expect(decide(billing, since(q(1001)), q(1500)).reasonCode).toBe('period_before_supply');
    // The later of the supplier switch and the change of occupant bounds it.
    expect(decide({ ...billing, from: new Date(q(1100)) }, since(q(1100), q(1300)), q(1500)).reasonCode).toBe(
      'period_before_grid_user',
    );
    expect(decide({ ...billing, from: new Date(q(1300)) }, since(q(1100), q(1300)), q(1500)).reasonCode).toBe(
      'supplier_of_record',
    );
    // Before its supply it needs a mandate like any party: blocks apply, and a mandate with history covers it.
    const block = { id: 'b', startedAt: q(1), endedAt: null, retroactive: false, notDemonstratedAt: null };
    expect(decide(billing, { ...since(q(1400)), blocks: [block] }, q(1500)).reasonCode).toBe('blocked_by_doubt_case');
    const history = mandate({ dataKinds: ['monthly_registers'], historyIncluded: true });
    expect(decide(billing, { ...since(q(1400)), mandates: [history] }, q(1500))).toMatchObject({
      reasonCode: 'mandate_valid',
      mandateId: 'm',
    });
    expect(
      decide(billing, { ...since(q(1400)), mandates: [{ ...history, dataKinds: ['interval_data'] }] }, q(1500)),
    ).toMatchObject({ reasonCode: 'data_kind_out_of_scope' });
    // Its billing reads within the supply are not blocked (GT-2 blocks requests that need an additional mandate).
    expect(
      decide({ ...billing, from: new Date(q(1400)) }, { ...since(q(1400)), blocks: [block] }, q(1500)).reasonCode,
    ).toBe('supplier_of_record');
  });

  it('GT-8b: after "not demonstrated" the block keeps earlier mandates blocked and honours one registered after the close, once the grid user confirmed it', () => {
    const kept = { id: 'b', startedAt: q(100), endedAt: null, retroactive: false, notDemonstratedAt: q(900) };
    const old = mandate({ id: 'old', registeredAt: q(50) });
    expect(
      decide(base, facts({ blocks: [{ ...kept, notDemonstratedAt: null }], mandates: [old] }), q(1500)),
    ).toMatchObject({ reasonCode: 'blocked_by_doubt_case', blockId: 'b' });
    expect(decide(base, facts({ blocks: [kept], mandates: [old] }), q(1500))).toMatchObject({
      reasonCode: 'blocked_not_demonstrated',
      blockId: 'b',
      mandateId: null,
    });
    const fresh = mandate({
      id: 'new',
      registeredAt: q(950),
      validFrom: q(950),
      historyIncluded: true,
      confirmedBy: 'grid_user',
    });
    // Active on the party's declaration alone (the grid user granted it, says the party): still waits (DC-3).
    expect(
      decide(base, facts({ blocks: [kept], mandates: [old, { ...fresh, confirmedBy: 'declaration' }] }), q(1500)),
    ).toMatchObject({ reasonCode: 'mandate_pending_confirmation', mandateId: 'new', allowed: false });
    // The same mandate without a negative outcome counts on the declaration.
    expect(decide(base, facts({ mandates: [{ ...fresh, confirmedBy: 'declaration' }] }), q(1500)).reasonCode).toBe(
      'mandate_valid',
    );
    expect(
      decide(base, facts({ blocks: [kept], mandates: [old, { ...fresh, status: 'pending_confirmation' }] }), q(1500)),
    ).toMatchObject({ reasonCode: 'mandate_pending_confirmation', mandateId: 'new' });
    expect(decide(base, facts({ blocks: [kept], mandates: [old, fresh] }), q(1500))).toMatchObject({
      reasonCode: 'mandate_valid_after_negative_outcome',
      allowed: true,
      mandateId: 'new',
      blockId: 'b',
    });
    // Registered at the very instant of the close is not after it.
    expect(
      decide(base, facts({ blocks: [kept], mandates: [{ ...fresh, registeredAt: q(900) }] }), q(1500)).reasonCode,
    ).toBe('blocked_not_demonstrated');
  });

  it('no future periods, whole quarter-hours: decide() judges the period cut at the decision instant and rounded inward', () => {
    expect(periodAtDecision(new Date(q(1000)), new Date(q(2000)), q(1500))).toEqual({
      from: new Date(q(1000)),
      to: new Date(q(1500)),
      cut: true,
    });
    expect(periodAtDecision(new Date(q(1000)), new Date(q(1400)), q(1500))).toEqual({
      from: new Date(q(1000)),
      to: new Date(q(1400)),
      cut: false,
    });
    // The decision instant inside a quarter-hour: the period ends at the last one that ended.
    expect(periodAtDecision(new Date(q(1000)), new Date(q(2000)), q(1500) + 600_000).to).toEqual(new Date(q(1500)));
    // Ends off the quarter-hour are rounded inward.
    expect(periodAtDecision(new Date(q(1000) + 1), new Date(q(1400) - 1), q(1500))).toEqual({
      from: new Date(q(1001)),
      to: new Date(q(1399)),
      cut: true,
    });
    // A lifted, unreleased block starting after the decision instant does not touch the cut period.
    const later = { id: 'b', startedAt: q(1600), endedAt: q(1700), retroactive: false, notDemonstratedAt: null };
    expect(decide(base, facts({ blocks: [later], mandates: [mandate()] }), q(1500)).reasonCode).toBe('mandate_valid');
    // A lifted block that ended inside a quarter-hour keeps that quarter-hour closed; a start inside it is
    // rounded up past it.
    const edge = { id: 'b', startedAt: q(900), endedAt: q(1000) + 1, retroactive: false, notDemonstratedAt: null };
    expect(
      decide({ ...base, from: new Date(q(1000) + 1) }, facts({ blocks: [edge], mandates: [mandate()] }), q(1500))
        .reasonCode,
    ).toBe('mandate_valid');
    expect(decide(base, facts({ blocks: [edge], mandates: [mandate()] }), q(1500)).reasonCode).toBe(
      'blocked_period_not_released',
    );
  });

  it('quarterHourGap: why a period holds no whole quarter-hour (the routes answer it as a 400 naming the field)', () => {
    expect(quarterHourGap(new Date(q(10)), new Date(q(11)), q(20))).toBeNull();
    expect(quarterHourGap(new Date(q(10) + 1), new Date(q(11) - 1), q(20))).toMatchObject({
      code: 'period_no_quarter_hour',
      field: 'to',
    });
    expect(quarterHourGap(new Date(q(10) + 1), new Date(q(12) - 1), q(20))).toMatchObject({
      code: 'period_no_quarter_hour',
    });
    expect(quarterHourGap(new Date(q(20) - 1), new Date(q(30)), q(20) + 1)).toMatchObject({
      code: 'period_in_future',
      field: 'from',
    });
    expect(quarterHourGap(new Date(q(19)), new Date(q(30)), q(20) - 1)).toMatchObject({ code: 'period_in_future' });
    expect(quarterHourGap(new Date(q(19)), new Date(q(30)), q(20))).toBeNull();
  });

  it('uuidv7 ids are time-ordered and well-formed', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });
});
