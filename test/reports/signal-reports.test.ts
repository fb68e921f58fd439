/**
 * GET /reports/signals and the signalReport() repository: signals per period (Amsterdam calendar), party,
 * channel, outcome and grid operator, deadline performance (GT-1, GT-3, GT-7/GT-8), block duration (GT-2)
 * and supplier reports (GT-9), against rows inserted with known timestamps; role boundaries; bad input.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import {
  blocks,
  doubtCases,
  supplierReports,
  CASE_STATUSES,
  SIGNAL_CHANNELS,
  type CaseStatus,
  type DoubtCase,
  type SignalChannel,
} from '../../db/schema/index.js';
import { caseDeadlines, CLOSED_STATUSES } from '../../db/repositories/cases.js';
import { signalReport, type DeadlineStats } from '../../db/repositories/signal-reports.js';
import {
  badCheckDigit,
  call,
  coreContext,
  makeConnection,
  makeKey,
  makeParty,
  newGln,
  type CoreContext,
} from '../core/fixtures.js';

const t = (s: string) => new Date(s);
const H = 3_600_000;
let refSeq = 0;

let ctx: CoreContext;
type Party = Awaited<ReturnType<typeof makeParty>>;
let op1: Party, op2: Party, s1: Party, s2: Party;
let conn1: string, conn2: string;
let admin: string, branch: string, handler1: string, handler2: string;
let ids: Record<string, string>;

interface CaseRow {
  operator: Party;
  party: Party;
  ean: string;
  receivedAt: Date;
  channel: SignalChannel;
  status: CaseStatus;
  contactDueAt: Date;
  contactedAt?: Date | null;
  responseDueAt?: Date | null;
  respondedAt?: Date | null;
  unblockDueAt?: Date | null;
  unblockedAt?: Date | null;
  closedAt?: Date | null;
  /** The case's block: started at receipt unless given; ended when set. */
  block?: { startedAt?: Date; endedAt: Date | null } | null;
}

async function insertCase(r: CaseRow): Promise<string> {
  const id = randomUUID();
  await ctx.db.insert(doubtCases).values({
    id,
    reference: `GT-TEST-${process.pid}-${++refSeq}`,
    gridOperatorId: r.operator.id,
    partyId: r.party.id,
    connectionEan: r.ean,
    channel: r.channel,
    receivedAt: r.receivedAt,
    reporterName: 'Reporter',
    description: 'Meter read without a mandate',
    isma: false,
    status: r.status,
    contactDueAt: r.contactDueAt,
    contactedAt: r.contactedAt ?? null,
    responseDueAt: r.responseDueAt ?? null,
    respondedAt: r.respondedAt ?? null,
    unblockDueAt: r.unblockDueAt ?? null,
    unblockedAt: r.unblockedAt ?? null,
    closedAt: r.closedAt ?? (CLOSED_STATUSES.includes(r.status) ? r.receivedAt : null),
    createdBy: 'test',
    createdAt: r.receivedAt,
  });
  if (r.block !== null) {
    const b = r.block ?? { endedAt: null };
    await ctx.db.insert(blocks).values({
      caseId: id,
      partyId: r.party.id,
      connectionEan: r.ean,
      startedAt: b.startedAt ?? r.receivedAt,
      endedAt: b.endedAt,
    });
  }
  return id;
}

async function insertSupplierReport(o: {
  operator: Party;
  party: Party;
  ean: string;
  reportedAt: Date;
  within: boolean;
  caseId?: string;
}) {
  await ctx.db.insert(supplierReports).values({
    partyId: o.party.id,
    gridOperatorId: o.operator.id,
    connectionEan: o.ean,
    signalReceivedAt: new Date(o.reportedAt.getTime() - H),
    reportedAt: o.reportedAt,
    reportedWithinOneWorkingDay: o.within,
    customerSatisfaction: 'unknown',
    findings: 'f',
    actions: 'a',
    caseId: o.caseId ?? null,
    createdBy: 'test',
  });
}

// The window March + April 2026 on the Amsterdam calendar: [2026-03-01T00:00+01:00, 2026-05-01T00:00+02:00).
const FROM = '2026-02-28T23:00:00.000Z';
const TO = '2026-04-30T22:00:00.000Z';
const window = `from=${FROM}&to=${TO}`;

beforeAll(async () => {
  ctx = await coreContext('signal_reports');
  op1 = await makeParty(ctx.db, ['grid_operator'], 'Operator One');
  op2 = await makeParty(ctx.db, ['grid_operator'], 'Operator Two');
  s1 = await makeParty(ctx.db, ['supplier'], 'Supplier One');
  s2 = await makeParty(ctx.db, ['service_provider'], 'Provider Two');
  conn1 = (await makeConnection(ctx.db, { gridOperatorId: op1.id })).ean;
  conn2 = (await makeConnection(ctx.db, { gridOperatorId: op2.id })).ean;
  admin = await makeKey(ctx.db, 'admin');
  // The branch-wide view: aggregates over every grid operator, no case file (domain/visibility.ts).
  branch = await makeKey(ctx.db, 'branch-analyst');
  handler1 = await makeKey(ctx.db, 'case-handler', { partyId: op1.id });
  handler2 = await makeKey(ctx.db, 'case-handler', { partyId: op2.id });

  ids = {};
  // c1: March; every deadline met; block lifted after 48 h.
  ids.c1 = await insertCase({
    operator: op1,
    party: s1,
    ean: conn1,
    channel: 'customer',
    status: 'closed_mandate_accepted',
    receivedAt: t('2026-03-10T09:00:00Z'),
    contactDueAt: t('2026-03-11T23:00:00Z'),
    contactedAt: t('2026-03-10T10:00:00Z'),
    responseDueAt: t('2026-03-13T10:00:00Z'),
    respondedAt: t('2026-03-11T10:00:00Z'),
    unblockDueAt: t('2026-03-12T23:00:00Z'),
    unblockedAt: t('2026-03-12T09:00:00Z'),
    closedAt: t('2026-03-12T09:00:00Z'),
    block: { endedAt: t('2026-03-12T09:00:00Z') },
  });
  // c2: 00:30 on 1 April in Amsterdam (CEST) — April, although March in UTC. Contact and answer missed; block in force.
  ids.c2 = await insertCase({
    operator: op1,
    party: s2,
    ean: conn1,
    channel: 'consuwijzer',
    status: 'closed_mandate_not_demonstrated',
    receivedAt: t('2026-03-31T22:30:00Z'),
    contactDueAt: t('2026-04-01T22:00:00Z'),
    contactedAt: t('2026-04-02T08:00:00Z'),
    responseDueAt: t('2026-04-05T08:00:00Z'),
    respondedAt: null,
    closedAt: t('2026-04-05T08:00:00Z'),
  });
  // c3: 23:30 on 31 March in Amsterdam — March. Withdrawn before contact was due: nothing applies; block lifted after 1 h.
  ids.c3 = await insertCase({
    operator: op1,
    party: s1,
    ean: conn1,
    channel: 'customer',
    status: 'closed_withdrawn',
    receivedAt: t('2026-03-31T21:30:00Z'),
    contactDueAt: t('2026-04-01T22:00:00Z'),
    closedAt: t('2026-03-31T22:30:00Z'),
    block: { endedAt: t('2026-03-31T22:30:00Z') },
  });
  // c4: wrongful block (GT-7): closed before the 72 hours ran out (answer n/a), unblocked late (missed); block 3 days.
  ids.c4 = await insertCase({
    operator: op1,
    party: s1,
    ean: conn1,
    channel: 'acm',
    status: 'closed_wrongful_block',
    receivedAt: t('2026-04-15T10:00:00Z'),
    contactDueAt: t('2026-04-16T22:00:00Z'),
    contactedAt: t('2026-04-15T12:00:00Z'),
    responseDueAt: t('2026-04-18T12:00:00Z'),
    closedAt: t('2026-04-16T09:00:00Z'),
    unblockDueAt: t('2026-04-17T22:00:00Z'),
    unblockedAt: t('2026-04-18T10:00:00Z'),
    block: { endedAt: t('2026-04-18T10:00:00Z') },
  });
  // c5: withdrawn after the contact deadline passed without contact: contact missed; block 4 d 16 h.
  ids.c5 = await insertCase({
    operator: op1,
    party: s2,
    ean: conn1,
    channel: 'customer',
    status: 'closed_withdrawn',
    receivedAt: t('2026-04-20T08:00:00Z'),
    contactDueAt: t('2026-04-21T22:00:00Z'),
    closedAt: t('2026-04-25T00:00:00Z'),
    block: { endedAt: t('2026-04-25T00:00:00Z') },
  });
  // c8: operator two, still open, never contacted (missed); answer and unblock pending; block in force.
  ids.c8 = await insertCase({
    operator: op2,
    party: s1,
    ean: conn2,
    channel: 'market_party',
    status: 'blocked',
    receivedAt: t('2026-04-02T10:00:00Z'),
    contactDueAt: t('2026-04-03T22:00:00Z'),
  });
  // Outside the window: 23:59 on 28 February and 00:00 on 1 May in Amsterdam.
  await insertCase({
    operator: op1,
    party: s1,
    ean: conn1,
    channel: 'customer',
    status: 'blocked',
    receivedAt: t('2026-02-28T22:59:00Z'),
    contactDueAt: t('2026-03-02T23:00:00Z'),
  });
  await insertCase({
    operator: op1,
    party: s1,
    ean: conn1,
    channel: 'customer',
    status: 'blocked',
    receivedAt: t(TO),
    contactDueAt: t('2026-05-04T22:00:00Z'),
  });

  await insertSupplierReport({
    operator: op1,
    party: s1,
    ean: conn1,
    reportedAt: t('2026-03-05T10:00:00Z'),
    within: true,
  });
  await insertSupplierReport({
    operator: op1,
    party: s2,
    ean: conn1,
    reportedAt: t('2026-04-10T10:00:00Z'),
    within: false,
  });
  await insertSupplierReport({
    operator: op2,
    party: s1,
    ean: conn2,
    reportedAt: t('2026-04-11T10:00:00Z'),
    within: true,
    caseId: ids.c8,
  });
  await insertSupplierReport({
    operator: op1,
    party: s1,
    ean: conn1,
    reportedAt: t('2026-05-02T10:00:00Z'),
    within: true,
  });
});
afterAll(async () => ctx?.close());

const get = (auth: string | null, query: string) => call(ctx.app, auth, 'GET', `/reports/signals?${query}`);
const stats = (
  met: number,
  missed: number,
  pending: number,
  notApplicable: number,
  share: number | null,
): DeadlineStats => ({ met, missed, pending, notApplicable, share });
const signals = (rows: Array<{ signals: number; [k: string]: unknown }>, key: string, value: string) =>
  rows.find((r) => r[key] === value)?.signals ?? 0;

describe('GET /reports/signals: counts (the branch analyst, all grid operators)', () => {
  it('totals, per month on the Amsterdam calendar, per party, channel, outcome and grid operator', async () => {
    const res = await get(branch, `${window}&groupBy=month`);
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json();
    expect(r.window).toEqual({ from: FROM, to: TO });
    expect(r.timeZone).toBe('Europe/Amsterdam');
    expect(r.filters).toEqual({ gridOperatorGln: null, partyGln: null, channel: null });
    expect(r.totals).toEqual({ signals: 6, open: 1, closed: 5 });
    // 2026-03-31T22:30Z is April in Amsterdam; 21:30Z is still March.
    expect(r.byPeriod).toEqual([
      {
        period: '2026-03-01',
        start: '2026-02-28T23:00:00.000Z',
        end: '2026-03-31T22:00:00.000Z',
        signals: 2,
        open: 0,
        closed: 2,
      },
      {
        period: '2026-04-01',
        start: '2026-03-31T22:00:00.000Z',
        end: '2026-04-30T22:00:00.000Z',
        signals: 4,
        open: 1,
        closed: 3,
      },
    ]);
    expect(r.byParty).toEqual([
      { gln: s1.gln, name: 'Supplier One', signals: 4, open: 1, closed: 3 },
      { gln: s2.gln, name: 'Provider Two', signals: 2, open: 0, closed: 2 },
    ]);
    expect(r.byGridOperator).toEqual([
      { gln: op1.gln, name: 'Operator One', signals: 5, open: 0, closed: 5 },
      { gln: op2.gln, name: 'Operator Two', signals: 1, open: 1, closed: 0 },
    ]);
    expect(r.byChannel.map((c: { channel: string }) => c.channel)).toEqual([...SIGNAL_CHANNELS]);
    expect(
      Object.fromEntries(r.byChannel.map((c: { channel: string; signals: number }) => [c.channel, c.signals])),
    ).toEqual({
      customer: 3,
      consuwijzer: 1,
      acm: 1,
      ap: 0,
      consumer_or_government_organisation: 0,
      market_party: 1,
      branch_organisation: 0,
      supplier_report: 0,
    });
    expect(r.byOutcome).toEqual(
      CASE_STATUSES.map((status) => ({
        status,
        open: !status.startsWith('closed_'),
        count: {
          blocked: 1,
          awaiting_response: 0,
          awaiting_judgement: 0,
          closed_mandate_accepted: 1,
          closed_mandate_not_demonstrated: 1,
          closed_wrongful_block: 1,
          closed_withdrawn: 2,
        }[status],
      })),
    );
  });

  it('per day and per ISO week (Monday) in Amsterdam, empty periods included', async () => {
    const days = (await get(admin, `${window}&groupBy=day`)).json();
    expect(days.byPeriod).toHaveLength(31 + 30);
    expect(days.byPeriod[0]).toMatchObject({
      period: '2026-03-01',
      start: '2026-02-28T23:00:00.000Z',
      end: '2026-03-01T23:00:00.000Z',
    });
    // The DST switch (29 March) makes that day 23 hours long.
    expect(days.byPeriod.find((p: { period: string }) => p.period === '2026-03-29')).toMatchObject({
      start: '2026-03-28T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
    });
    expect(signals(days.byPeriod, 'period', '2026-03-31')).toBe(1); // c3
    expect(signals(days.byPeriod, 'period', '2026-04-01')).toBe(1); // c2
    expect(signals(days.byPeriod, 'period', '2026-03-10')).toBe(1);
    expect(days.byPeriod.reduce((n: number, p: { signals: number }) => n + p.signals, 0)).toBe(6);

    const weeks = (await get(admin, `${window}&groupBy=week`)).json();
    expect(weeks.byPeriod.map((p: { period: string }) => p.period)).toEqual([
      '2026-02-23',
      '2026-03-02',
      '2026-03-09',
      '2026-03-16',
      '2026-03-23',
      '2026-03-30',
      '2026-04-06',
      '2026-04-13',
      '2026-04-20',
      '2026-04-27',
    ]);
    expect(signals(weeks.byPeriod, 'period', '2026-03-30')).toBe(3); // c2, c3, c8
    expect(signals(weeks.byPeriod, 'period', '2026-03-09')).toBe(1);
    expect(signals(weeks.byPeriod, 'period', '2026-04-13')).toBe(1);
    expect(signals(weeks.byPeriod, 'period', '2026-04-20')).toBe(1);
  });

  it('filters: party, grid operator, channel (supplier reports follow the filters)', async () => {
    const byParty = (await get(branch, `${window}&partyGln=${s2.gln}`)).json();
    expect(byParty.totals).toEqual({ signals: 2, open: 0, closed: 2 });
    expect(byParty.filters.partyGln).toBe(s2.gln);
    expect(byParty.supplierReports).toEqual({ count: 1, withinOneWorkingDay: 0, share: 0, withCase: 0 });

    const byOperator = (await get(branch, `${window}&gridOperatorGln=${op2.gln}`)).json();
    expect(byOperator.totals).toEqual({ signals: 1, open: 1, closed: 0 });
    expect(byOperator.supplierReports).toEqual({ count: 1, withinOneWorkingDay: 1, share: 1, withCase: 1 });

    const byChannel = (await get(branch, `${window}&channel=customer`)).json();
    expect(byChannel.totals.signals).toBe(3);
    expect(byChannel.supplierReports.count).toBe(0);
    const supplierChannel = (await get(branch, `${window}&channel=supplier_report`)).json();
    expect(supplierChannel.totals.signals).toBe(0);
    expect(supplierChannel.supplierReports.count).toBe(3);
  });
});

describe('GET /reports/signals: deadline performance', () => {
  it('GT-1 contact, GT-3 answer, GT-7/GT-8 unblock: met / missed / pending / not applicable and shares', async () => {
    const r = (await get(branch, window)).json();
    // contact: c1, c4 met; c2 (late), c5 (closed after the due time), c8 (never, due passed) missed; c3 withdrawn before due.
    expect(r.deadlines.contact).toEqual(stats(2, 3, 0, 1, 0.4));
    // answer: c1 met; c2 missed; c8 not contacted yet (pending); c3, c5 never contacted, c4 closed before the 72 h.
    expect(r.deadlines.response).toEqual(stats(1, 1, 1, 3, 0.5));
    // unblock: c1 met, c4 missed, c8 open without decision (pending); the rest had nothing to unblock.
    expect(r.deadlines.unblock).toEqual(stats(1, 1, 1, 3, 0.5));
  });

  it('GT-2 block duration: lifted blocks exactly, blocks in force measured to now', async () => {
    const before = Date.now();
    const r = (await get(branch, window)).json();
    const after = Date.now();
    const lifted = [48 * H, H, 72 * H, (4 * 24 + 16) * H].map((ms) => ms / 1000);
    expect(r.blockDuration.lifted).toEqual({
      count: 4,
      meanSeconds: lifted.reduce((a, b) => a + b) / 4,
      maxSeconds: Math.max(...lifted),
    });
    expect(r.blockDuration.inForce.count).toBe(2);
    const oldest = t('2026-03-31T22:30:00Z').getTime(); // c2
    expect(r.blockDuration.inForce.maxSeconds).toBeGreaterThanOrEqual((before - oldest) / 1000 - 1);
    expect(r.blockDuration.inForce.maxSeconds).toBeLessThanOrEqual((after - oldest) / 1000 + 1);
    const c8 = t('2026-04-02T10:00:00Z').getTime();
    expect(r.blockDuration.inForce.meanSeconds).toBeCloseTo((before - oldest + (before - c8)) / 2000, -1);
  });

  it('GT-9 supplier reports in the window (by reported_at): count, share within 1 working day, led to a case', async () => {
    const r = (await get(branch, window)).json();
    expect(r.supplierReports.count).toBe(3);
    expect(r.supplierReports.withinOneWorkingDay).toBe(2);
    expect(r.supplierReports.share).toBeCloseTo(2 / 3, 10);
    expect(r.supplierReports.withCase).toBe(1);
  });

  it('default window is the last 90 days: recent open cases count as pending', async () => {
    const now = Date.now();
    const fresh = await makeParty(ctx.db, ['grid_operator'], 'Operator Fresh');
    const ean = (await makeConnection(ctx.db, { gridOperatorId: fresh.id })).ean;
    const key = await makeKey(ctx.db, 'case-handler', { partyId: fresh.id });
    await insertCase({
      operator: fresh,
      party: s1,
      ean,
      channel: 'customer',
      status: 'blocked',
      receivedAt: new Date(now - H),
      contactDueAt: new Date(now + 24 * H),
    });
    await insertCase({
      operator: fresh,
      party: s2,
      ean,
      channel: 'acm',
      status: 'awaiting_response',
      receivedAt: new Date(now - 30 * H),
      contactDueAt: new Date(now + 2 * H),
      contactedAt: new Date(now - 29 * H),
      responseDueAt: new Date(now + 43 * H),
    });
    await insertCase({
      operator: fresh,
      party: s2,
      ean,
      channel: 'acm',
      status: 'blocked',
      receivedAt: new Date(now - 91 * 24 * H),
      contactDueAt: new Date(now - 90 * 24 * H),
    });
    const r = (await get(key, '')).json();
    expect(Date.parse(r.window.to) - Date.parse(r.window.from)).toBe(90 * 24 * H);
    expect(r.groupBy).toBe('month');
    expect(r.totals).toEqual({ signals: 2, open: 2, closed: 0 });
    expect(r.deadlines.contact).toEqual(stats(1, 0, 1, 0, 1));
    expect(r.deadlines.response).toEqual(stats(0, 0, 2, 0, null));
    expect(r.deadlines.unblock).toEqual(stats(0, 0, 2, 0, null));
    expect(r.supplierReports).toEqual({ count: 0, withinOneWorkingDay: 0, share: null, withCase: 0 });
    expect(r.blockDuration.lifted).toEqual({ count: 0, meanSeconds: null, maxSeconds: null });
    expect(r.blockDuration.inForce.count).toBe(2);
    expect(r.byPeriod.length).toBeGreaterThanOrEqual(3);
    expect(r.byPeriod.reduce((n: number, p: { signals: number }) => n + p.signals, 0)).toBe(2);
  });
});

describe('GET /reports/signals: who sees what', () => {
  it('a case handler sees only its own grid operator', async () => {
    const one = (await get(handler1, window)).json();
    expect(one.filters.gridOperatorGln).toBe(op1.gln);
    expect(one.totals).toEqual({ signals: 5, open: 0, closed: 5 });
    expect(one.byGridOperator.map((g: { gln: string }) => g.gln)).toEqual([op1.gln]);
    expect(one.supplierReports).toMatchObject({ count: 2, withinOneWorkingDay: 1, share: 0.5 });
    expect(one.byPeriod.map((p: { signals: number }) => p.signals)).toEqual([2, 3]);

    const two = (await get(handler2, window)).json();
    expect(two.totals).toEqual({ signals: 1, open: 1, closed: 0 });
    expect(two.byParty).toEqual([{ gln: s1.gln, name: 'Supplier One', signals: 1, open: 1, closed: 0 }]);
    expect(two.byGridOperator.map((g: { gln: string }) => g.gln)).toEqual([op2.gln]);
    expect(two.blockDuration.lifted.count).toBe(0);
    // Operator one's cases are invisible to operator two's handler, also when filtering on the party.
    expect((await get(handler2, `${window}&partyGln=${s2.gln}`)).json().totals.signals).toBe(0);

    const foreign = await get(handler2, `${window}&gridOperatorGln=${op1.gln}`);
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().code).toBe('grid_operator_out_of_scope');
    expect((await get(handler1, `${window}&gridOperatorGln=${op1.gln}`)).json().totals.signals).toBe(5);
  });

  it('admin and the branch analyst see all, a compliance officer its own grid operator; supplier and p4-client keys 403; no or unknown key 401', async () => {
    expect((await get(admin, window)).json().totals.signals).toBe(6);
    expect((await get(branch, window)).json().totals.signals).toBe(6);
    const compliance1 = await makeKey(ctx.db, 'compliance', { partyId: op1.id });
    expect((await get(compliance1, window)).json().totals.signals).toBe(5);
    const foreign = await get(compliance1, `${window}&gridOperatorGln=${op2.gln}`);
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().code).toBe('grid_operator_out_of_scope');
    // The branch analyst reads aggregates only: no case file, register, review or connection of anyone.
    const anyCase = ids['c1']!;
    for (const path of [
      '/cases',
      `/cases/${anyCase}`,
      `/cases/${anyCase}/history`,
      '/access-register',
      '/reviews',
      '/connections',
      '/mandates',
      '/breach-assessments',
    ]) {
      const res = await call(ctx.app, branch, 'GET', path);
      expect(res.statusCode, `${path} ${res.body}`).toBe(403);
      expect(res.json().code).toBe('forbidden_role');
    }
    for (const key of [
      await makeKey(ctx.db, 'supplier', { partyId: s1.id }),
      await makeKey(ctx.db, 'p4-client', { partyId: s1.id }),
    ]) {
      const res = await get(key, window);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('forbidden_role');
    }
    const none = await get(null, window);
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('unauthenticated');
    expect((await get('Bearer gt_unknown', window)).statusCode).toBe(401);
  });
});

describe('GET /reports/signals: bad input', () => {
  const cases: Array<[string, string, number, string, string | undefined]> = [
    ['to before from', `from=${TO}&to=${FROM}`, 400, 'period_invalid', 'query.to'],
    ['to equal to from', `from=${FROM}&to=${FROM}`, 400, 'period_invalid', 'query.to'],
    ['from in the future without to', `from=2999-01-01T00:00:00Z`, 400, 'period_invalid', 'query.from'],
    ['not a date', `from=yesterday`, 400, 'invalid_request', 'querystring.from'],
    ['unknown granularity', `groupBy=year`, 400, 'invalid_request', 'querystring.groupBy'],
    ['unknown channel', `channel=fax`, 400, 'invalid_request', 'querystring.channel'],
    ['unknown parameter', `status=open`, 400, 'unknown_query_parameter', 'querystring.status'],
    [
      'too many day periods',
      `from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&groupBy=day`,
      400,
      'too_many_periods',
      'query.groupBy',
    ],
  ];
  it.each(cases)('%s → %i %s', async (_name, query, status, code, field) => {
    const res = await get(branch, query);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    expect(res.json().field).toBe(field);
  });

  it('GLNs: a wrong check digit is 400, an unknown party 404', async () => {
    const bad = await get(branch, `partyGln=${badCheckDigit(s1.gln)}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'invalid_gln', field: 'query.partyGln' });
    const unknown = await get(branch, `gridOperatorGln=${newGln()}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'party_not_found', field: 'query.gridOperatorGln' });
  });

  it('is in the OpenAPI document with its responses', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/reports/signals'].get;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'groupBy', 'partyGln', 'gridOperatorGln', 'channel']),
    );
  });
});

describe('signalReport(): deadline states agree with the case view (caseDeadlines)', () => {
  it('over 300 random cases at a fixed now', async () => {
    const operator = await makeParty(ctx.db, ['grid_operator'], 'Operator Random');
    const ean = (await makeConnection(ctx.db, { gridOperatorId: operator.id })).ean;
    const base = t('2025-06-01T00:00:00Z').getTime();
    const now = new Date(base + 20 * 24 * H);
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const maybe = (p: number, v: () => Date): Date | null => (rnd() < p ? v() : null);
    const around = (d: Date, spreadH: number) => new Date(d.getTime() + Math.round((rnd() * 2 - 1) * spreadH) * H);
    const rows: DoubtCase[] = [];
    for (let i = 0; i < 300; i++) {
      const receivedAt = new Date(base + Math.floor(rnd() * 24 * 24) * H);
      const status = CASE_STATUSES[Math.floor(rnd() * CASE_STATUSES.length)]!;
      const contactDueAt = new Date(receivedAt.getTime() + 30 * H);
      const contactedAt = maybe(0.6, () => around(contactDueAt, 20));
      const responseDueAt = contactedAt ? maybe(0.9, () => new Date(contactedAt.getTime() + 72 * H)) : null;
      const id = await insertCase({
        operator,
        party: rnd() < 0.5 ? s1 : s2,
        ean,
        channel: 'customer',
        status,
        receivedAt,
        contactDueAt,
        contactedAt,
        responseDueAt,
        respondedAt: responseDueAt ? maybe(0.5, () => around(responseDueAt, 40)) : null,
        unblockDueAt: maybe(0.3, () => around(receivedAt, 60)),
        unblockedAt: maybe(0.3, () => around(receivedAt, 80)),
        closedAt: CLOSED_STATUSES.includes(status) ? around(contactDueAt, 60) : null,
        block: null,
      });
      const [row] = await ctx.db.select().from(doubtCases).where(eq(doubtCases.id, id));
      rows.push(row!);
    }
    const report = await signalReport(ctx.db, {
      from: new Date(base),
      to: new Date(base + 25 * 24 * H),
      groupBy: 'week',
      gridOperatorId: operator.id,
      now,
    });
    const expected = {
      contact: stats(0, 0, 0, 0, null),
      response: stats(0, 0, 0, 0, null),
      unblock: stats(0, 0, 0, 0, null),
    };
    const key = { met: 'met', missed: 'missed', pending: 'pending', not_applicable: 'notApplicable' } as const;
    for (const row of rows) {
      const d = caseDeadlines(row, now);
      for (const k of ['contact', 'response', 'unblock'] as const)
        expected[k][key[d[k].state as keyof typeof key]] += 1;
    }
    for (const k of ['contact', 'response', 'unblock'] as const) {
      const e = expected[k];
      e.share = e.met + e.missed > 0 ? e.met / (e.met + e.missed) : null;
      expect(report.deadlines[k], k).toEqual(e);
      // Every state occurs, so the comparison exercises each branch.
      expect(e.met * e.missed * (e.pending + e.notApplicable), k).toBeGreaterThan(0);
    }
    expect(report.totals.signals).toBe(300);
    expect(report.byPeriod.reduce((n, p) => n + p.signals, 0)).toBe(300);
  });
});
