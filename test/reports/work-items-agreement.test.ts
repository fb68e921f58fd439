/**
 * The work queue's case items exist twice: domain/work-items.ts caseWorkItems() (the specification) and its SQL
 * mirror db/repositories/work-items.ts caseItemsSql(), item by item, with which caseWorkPage() orders and bounds the
 * cases a page of the queue needs in SQL. On random cases — every status, contacted or not, deadlines done or not,
 * before and after now, failing contact mails, empty contact groups, responses received or judged, legal holds — at
 * several nows and horizons (some exactly at due instants) and for several sets of kinds, the SQL must give every
 * case the items count and first expiring instant the TypeScript gives it, count the same total, and the first
 * `first` items of the queue built from the bounded rows must equal those of the queue built from every row
 * (read through the next_due_at bound, or from every case when the first walk holds too few items).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CASE_STATUSES,
  contactDeadline,
  isClosedStatus,
  nextDueAt,
  responseDeadline,
  unblockDeadline,
} from '../../domain/case.js';
import {
  caseWorkItems,
  workQueue,
  WORK_ITEM_KINDS,
  type CaseWorkFacts,
  type WorkItemKind,
} from '../../domain/work-items.js';
import { caseWorkFacts, caseWorkPage } from '../../db/repositories/work-items.js';
import { caseResponses, doubtCases } from '../../db/schema/index.js';
import { coreContext, makeConnection, makeParty, type CoreContext } from '../core/fixtures.js';
import { rng } from '../helpers/random.js';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('work_items_agreement');
});
afterAll(async () => ctx?.close());

const H = 3_600_000;
const base = new Date('2026-10-23T16:00:00Z');
/** The year in the case references made here (a reference, not a rule id). */
const YEAR = 2026;

describe('caseWorkItems() and caseItemsSql() agree', () => {
  it('on 300 random cases at 6 nows, 3 horizons and 4 sets of kinds, per case and as pages', async () => {
    const rand = rng(20_261_207);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const chance = (p: number) => rand() < p;
    const around = (d: Date) => new Date(d.getTime() + Math.round((rand() * 2 - 1) * 60) * H);
    const operator = await makeParty(ctx.db, ['grid_operator'], 'Operator Queue');
    const party = await makeParty(ctx.db, ['supplier'], 'Supplier Queue');
    const ean = (await makeConnection(ctx.db, { gridOperatorId: operator.id })).ean;
    const dues: Date[] = [];
    for (let i = 0; i < 300; i++) {
      const receivedAt = new Date(base.getTime() + Math.round((rand() * 2 - 1) * 100) * H);
      const status = pick(CASE_STATUSES);
      const closed = isClosedStatus(status);
      const contactDueAt = contactDeadline(receivedAt);
      const contactedAt = chance(0.6) ? around(contactDueAt) : null;
      const responseDueAt = contactedAt ? responseDeadline(contactedAt) : null;
      const respondedAt = responseDueAt && chance(0.5) ? around(responseDueAt) : null;
      const unblockDueAt = closed && chance(0.4) ? unblockDeadline(around(responseDueAt ?? contactDueAt)) : null;
      const unblockedAt = unblockDueAt && chance(0.5) ? around(unblockDueAt) : null;
      const failing = chance(0.2);
      dues.push(contactDueAt, ...(responseDueAt ? [responseDueAt] : []), ...(unblockDueAt ? [unblockDueAt] : []));
      const id = randomUUID();
      await ctx.db.insert(doubtCases).values({
        id,
        reference: `GT-${YEAR}-${String(600_000 + i).padStart(6, '0')}`,
        gridOperatorId: operator.id,
        partyId: party.id,
        connectionEan: ean,
        channel: 'customer',
        receivedAt,
        reporterName: 'Reporter',
        description: 'agreement',
        isma: false,
        status,
        contactDueAt,
        contactedAt,
        responseDueAt,
        respondedAt,
        unblockDueAt,
        unblockedAt,
        closedAt: closed ? around(responseDueAt ?? contactDueAt) : null,
        contactAttempts: failing ? 1 + Math.floor(rand() * 4) : chance(0.1) ? 1 : 0,
        contactLastError: failing ? 'mailbox unavailable' : null,
        contactGroupEmptyAt: chance(0.1) ? receivedAt : null,
        legalHoldSince: chance(0.15) ? receivedAt : null,
        legalHoldBy: 'test',
        legalHoldAuthority: 'acm',
        legalHoldReason: 'test',
        createdBy: 'test',
      });
      // None, one or two responses: counted or refused, judged or not.
      const responses = chance(0.5) ? 0 : chance(0.7) ? 1 : 2;
      for (let r = 0; r < responses; r++)
        await ctx.db.insert(caseResponses).values({
          caseId: id,
          partyId: party.id,
          status: chance(0.8) ? 'received' : 'refused',
          findings: 'f',
          complaintHandling: 'c',
          submittedAt: receivedAt,
          submittedBy: 'test',
          judgement: chance(0.4) ? 'rejected' : null,
        });
    }

    const all = await caseWorkFacts(ctx.db, operator.id);
    expect(all).toHaveLength(300);
    const nows = [
      base,
      new Date(base.getTime() - 50 * H),
      new Date(base.getTime() + 80 * H),
      dues[3]!,
      dues[10]!,
      dues[20]!,
    ];
    const caseKinds = WORK_ITEM_KINDS.filter((k) => !k.startsWith('review') && k !== 'breach_decision');
    const kindSets: WorkItemKind[][] = [
      caseKinds,
      ['deadline_due'],
      ['judge_evidence', 'release_hold'],
      ['contact_failing', 'contact_group_empty', 'review_vote'],
    ];
    const viewer = { role: 'compliance' as const, gridOperatorId: operator.id };
    const queueOf = (cases: readonly CaseWorkFacts[], now: Date, horizonHours: number, kinds: WorkItemKind[]) =>
      workQueue({ cases, reviews: [], breaches: [] }, viewer, now, horizonHours).filter((i) => kinds.includes(i.kind));
    const seen = new Set<string>();
    let read = 0;
    let readWhole = 0;
    let bounded = 0;
    for (const now of nows)
      for (const horizonHours of [1, 24, 200])
        for (const kinds of kindSets) {
          const at = `${now.toISOString()} +${horizonHours} h ${kinds.join(',')}`;
          const items = new Map(
            all.map((f) => [f.caseId, caseWorkItems(f, now, horizonHours).filter((i) => kinds.includes(i.kind))]),
          );
          // The whole set: the cases with an item, each with its count and first instant, and the total.
          const whole = await caseWorkPage(ctx.db, operator.id, { now, horizonHours, kinds, first: 100_000 });
          const expected = [...items].filter(([, xs]) => xs.length > 0);
          // What caseWorkPage's index bound rests on: no item expires before its case's nextDueAt.
          for (const f of all)
            for (const i of items.get(f.caseId)!)
              if (i.expiresAt)
                expect(i.expiresAt.getTime(), `${at} ${f.caseId}`).toBeGreaterThanOrEqual(nextDueAt(f)!.getTime());
          expect(whole.facts.map((f) => f.caseId).sort(), at).toEqual(expected.map(([id]) => id).sort());
          expect(whole.total, at).toBe(expected.reduce((n, [, xs]) => n + xs.length, 0));
          for (const [id, xs] of expected) {
            const times = xs.flatMap((i) => (i.expiresAt ? [i.expiresAt.getTime()] : []));
            expect(whole.keys.get(id), `${at} ${id}`).toEqual({
              items: xs.length,
              firstExpiresAt: times.length > 0 ? new Date(Math.min(...times)) : null,
            });
          }
          const full = queueOf(all, now, horizonHours, kinds);
          expect(queueOf(whole.facts, now, horizonHours, kinds), at).toEqual(full);
          // Pages: the bounded rows hold the first `first` items of the queue over every row.
          for (const first of [1, 7, 40]) {
            const page = await caseWorkPage(ctx.db, operator.id, { now, horizonHours, kinds, first });
            expect(page.total, at).toBe(whole.total);
            expect(queueOf(page.facts, now, horizonHours, kinds).slice(0, first), `${at} first ${first}`).toEqual(
              full.slice(0, first),
            );
            if (page.bound) bounded++;
            read += page.facts.length;
            readWhole += whole.facts.length;
          }
          for (const i of full) seen.add(i.kind);
        }
    // The bound reads fewer rows than the whole set (ties at one instant are all read).
    expect(read).toBeLessThan(readWhole / 2);
    // Most pages were read through the next_due_at bound (the index walks), the others from every case.
    expect(bounded).toBeGreaterThan(100);
    // The random cases reach every kind a case can carry.
    for (const kind of caseKinds) expect(seen.has(kind), kind).toBe(true);
  }, 120_000);
});
