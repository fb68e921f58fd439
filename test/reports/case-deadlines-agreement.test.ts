/**
 * The deadline rules exist twice: domain/case.ts caseDeadlines() / isBreached() (the specification, used
 * by the workflow and the case view) and their SQL mirror (db/repositories/case-deadlines-sql.ts), which
 * the `breached` list filter and the signal report run. This test generates random cases — received
 * around daylight-saving switches and holidays, every status, nulls, deadlines done exactly at, just
 * before and just after the due instant, closed exactly at a due instant — and requires the SQL to give
 * every case the same three states as the TypeScript, at several `now`s (some exactly at due instants);
 * then the `breached` filter and the report's counts built on it. nextDueAt() (the `due` sort) and its mirror,
 * the generated column next_due_at, likewise (answered open cases among them: they keep their 72 hours' end).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import {
  CASE_STATUSES,
  DEADLINE_NAMES,
  caseDeadlines,
  contactDeadline,
  isBreached,
  isClosedStatus,
  nextDueAt,
  responseDeadline,
  unblockDeadline,
  type DeadlineName,
  type DeadlineState,
} from '../../domain/case.js';
import { breachedSql, deadlineStatesSql, doubtCaseDeadlineColumns } from '../../db/repositories/case-deadlines-sql.js';
import { listCases } from '../../db/repositories/cases.js';
import { signalReport } from '../../db/repositories/signal-reports.js';
import { doubtCases, type DoubtCase } from '../../db/schema/index.js';
import { coreContext, makeConnection, makeParty, type CoreContext } from '../core/fixtures.js';
import { rng } from '../helpers/random.js';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('case_deadlines_agreement');
});
afterAll(async () => ctx?.close());

const H = 3_600_000;
const t = (iso: string) => new Date(iso);
/** Receipts around the spring and autumn switches, King's Day, Ascension Day and Christmas 2026. */
const ANCHORS = [
  '2026-03-27T10:00:00Z',
  '2026-03-28T23:30:00Z',
  '2026-10-23T16:00:00Z',
  '2026-10-25T01:30:00Z',
  '2026-04-24T12:00:00Z',
  '2026-05-13T21:59:00Z',
  '2026-12-24T12:00:00Z',
].map(t);

describe('caseDeadlines() and its SQL mirror agree', () => {
  it('per case, in the breached filter and in the signal report, on 400 random cases at 8 nows', async () => {
    const rand = rng(20_261_130);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const chance = (p: number) => rand() < p;
    /** Done relative to a due instant: exactly at it (missed), 1 ms before (met), 1 ms after, or hours around. */
    const aroundDue = (due: Date): Date => {
      const r = rand();
      if (r < 0.25) return due;
      if (r < 0.45) return new Date(due.getTime() - 1);
      if (r < 0.55) return new Date(due.getTime() + 1);
      return new Date(due.getTime() + Math.round((rand() * 2 - 1) * 40) * H);
    };
    const operator = await makeParty(ctx.db, ['grid_operator'], 'Operator Agreement');
    const party = await makeParty(ctx.db, ['supplier'], 'Supplier Agreement');
    const ean = (await makeConnection(ctx.db, { gridOperatorId: operator.id })).ean;

    const rows: DoubtCase[] = [];
    for (let i = 0; i < 400; i++) {
      const receivedAt = new Date(pick(ANCHORS).getTime() + Math.round(rand() * 30) * H - (chance(0.2) ? 1 : 0));
      const status = pick(CASE_STATUSES);
      const contactDueAt = contactDeadline(receivedAt);
      const contactedAt = chance(0.7) ? aroundDue(contactDueAt) : null;
      const responseDueAt = contactedAt && chance(0.9) ? responseDeadline(contactedAt) : null;
      const respondedAt = responseDueAt && chance(0.6) ? aroundDue(responseDueAt) : null;
      const decidedAt = responseDueAt ? aroundDue(responseDueAt) : aroundDue(contactDueAt);
      const unblockDueAt = chance(0.35) ? unblockDeadline(decidedAt) : null;
      const unblockedAt = unblockDueAt && chance(0.7) ? aroundDue(unblockDueAt) : null;
      // Closed rows mostly carry their close time (sometimes exactly a due instant); a few open rows carry one too.
      const closedAt = isClosedStatus(status)
        ? chance(0.05)
          ? null
          : chance(0.3)
            ? pick([contactDueAt, responseDueAt ?? contactDueAt])
            : decidedAt
        : chance(0.05)
          ? decidedAt
          : null;
      const [row] = await ctx.db
        .insert(doubtCases)
        .values({
          id: randomUUID(),
          reference: `GT-AGREE-${process.pid}-${i}`,
          gridOperatorId: operator.id,
          partyId: party.id,
          connectionEan: ean,
          channel: 'customer',
          receivedAt,
          reporterName: 'Reporter',
          description: 'agreement',
          isma: chance(0.5),
          status,
          contactDueAt,
          contactedAt,
          responseDueAt,
          respondedAt,
          unblockDueAt,
          unblockedAt,
          closedAt,
          createdBy: 'test',
          createdAt: receivedAt,
        })
        .returning();
      rows.push(row!);
    }

    // nextDueAt (GET /cases?sort=due) and its mirror, the generated column next_due_at: per case and as an order.
    for (const row of rows)
      expect(row.nextDueAt?.toISOString() ?? null, `nextDueAt of ${row.reference}`).toBe(
        nextDueAt(row)?.toISOString() ?? null,
      );
    expect(rows.filter((r) => r.nextDueAt === null).length).toBeGreaterThan(0);
    // An answered open case keeps the end of its 72 hours (GT-3; docs/rules.md): the sample holds such cases, and
    // none of them is without an instant.
    const answeredOpen = rows.filter((r) => !isClosedStatus(r.status) && r.respondedAt && r.responseDueAt);
    expect(answeredOpen.length).toBeGreaterThan(10);
    for (const r of answeredOpen)
      expect(r.nextDueAt!.getTime(), r.reference).toBeLessThanOrEqual(r.responseDueAt!.getTime());
    const byDue = await listCases(ctx.db, {
      gridOperatorId: operator.id,
      sort: 'due',
      limit: 1000,
      offset: 0,
      now: new Date(),
    });
    const key = (r: DoubtCase) => nextDueAt(r)?.getTime() ?? Infinity;
    expect(byDue.items.map((r) => r.id)).toEqual(
      [...rows].sort((a, b) => key(a) - key(b) || (a.id < b.id ? -1 : 1)).map((r) => r.id),
    );

    // Some nows exactly at due instants (midnight Amsterdam on both sides of a switch, 72 hours after one).
    const nows = [
      contactDeadline(ANCHORS[0]!),
      contactDeadline(ANCHORS[2]!),
      responseDeadline(contactDeadline(ANCHORS[3]!)),
      new Date(contactDeadline(ANCHORS[4]!).getTime() - 1),
      t('2026-03-29T01:00:00Z'), // the spring switch itself
      t('2026-10-25T01:00:00Z'), // the autumn switch itself
      t('2026-01-01T00:00:00Z'), // before everything
      t('2027-06-01T00:00:00Z'), // after everything
    ];
    const seen = new Map<string, number>();
    let nowAtDue = 0;
    for (const now of nows) {
      const states = deadlineStatesSql(doubtCaseDeadlineColumns, now);
      const fromSql = (await ctx.db.execute(sql`
        select ${doubtCases.id} as id, ${states.contact} as contact, ${states.response} as response, ${states.unblock} as unblock,
               ${breachedSql(doubtCaseDeadlineColumns, now)} as breached
        from ${doubtCases} where ${eq(doubtCases.gridOperatorId, operator.id)}
      `)) as unknown as Array<Record<DeadlineName, DeadlineState> & { id: string; breached: boolean }>;
      const byId = new Map(fromSql.map((r) => [r.id, r]));
      expect(byId.size).toBe(rows.length);

      const expectedBreached = new Set<string>();
      const counts = Object.fromEntries(
        DEADLINE_NAMES.map((n) => [n, { met: 0, missed: 0, pending: 0, not_applicable: 0 }]),
      ) as Record<DeadlineName, Record<DeadlineState, number>>;
      for (const row of rows) {
        const d = caseDeadlines(row, now);
        const got = byId.get(row.id)!;
        for (const n of DEADLINE_NAMES) {
          expect(got[n], `${n} of ${row.reference} at ${now.toISOString()}: ${JSON.stringify(row)}`).toBe(d[n].state);
          counts[n][d[n].state] += 1;
          seen.set(`${n}:${d[n].state}`, (seen.get(`${n}:${d[n].state}`) ?? 0) + 1);
          if (d[n].dueAt?.getTime() === now.getTime()) nowAtDue += 1;
        }
        expect(got.breached, `breached of ${row.reference}`).toBe(isBreached(d));
        if (isBreached(d)) expectedBreached.add(row.id);
      }

      // The list filter (listCases `breached`) selects exactly the cases the view marks breached.
      const base = { gridOperatorId: operator.id, limit: 1000, offset: 0, now };
      const breached = await listCases(ctx.db, { ...base, breached: true });
      const notBreached = await listCases(ctx.db, { ...base, breached: false });
      expect(new Set(breached.items.map((r) => r.id))).toEqual(expectedBreached);
      expect(breached.total + notBreached.total).toBe(rows.length);
      expect(notBreached.items.some((r) => expectedBreached.has(r.id))).toBe(false);

      // The signal report counts what caseDeadlines says, case by case.
      const report = await signalReport(ctx.db, {
        from: t('2026-01-01T00:00:00Z'),
        to: t('2027-01-01T00:00:00Z'),
        groupBy: 'month',
        gridOperatorId: operator.id,
        now,
      });
      for (const n of DEADLINE_NAMES) {
        const c = counts[n];
        expect(report.deadlines[n], `${n} at ${now.toISOString()}`).toEqual({
          met: c.met,
          missed: c.missed,
          pending: c.pending,
          notApplicable: c.not_applicable,
          share: c.met + c.missed > 0 ? c.met / (c.met + c.missed) : null,
        });
      }
    }

    // The random cases reach every state of every deadline, and some deadlines are due exactly at a now.
    for (const n of DEADLINE_NAMES) {
      for (const s of ['met', 'missed', 'pending', 'not_applicable'] as const)
        expect(seen.get(`${n}:${s}`) ?? 0, `${n}:${s}`).toBeGreaterThan(0);
    }
    expect(nowAtDue).toBeGreaterThan(0);
    expect(rows.filter((r) => r.contactedAt?.getTime() === r.contactDueAt.getTime()).length).toBeGreaterThan(0);
  }, 120_000);
});
