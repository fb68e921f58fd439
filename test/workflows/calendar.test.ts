/**
 * Working-day arithmetic as the case workflow applies it, on the test server's clock moved to the dates
 * that matter: weekends, every Dutch holiday on a weekday, year ends and both DST switches. For each, a
 * signal is received at that moment; the workflow computes the GT-1 contact deadline (end of the first
 * working day after the day of the signal, 24:00 Amsterdam) and the GT-3 deadline (72 clock hours from
 * contact), and a case is wrongfully blocked and lifted to check GT-7/GT-8's 1-working-day deadline.
 * Expected instants are written out by hand (UTC), not computed with the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liftWrongfulBlock } from '../../services/cases/actions.js';
import { caseHarness, TASK_QUEUE, type CaseHarness } from './harness.js';

const HOUR = 3_600_000;
let h: CaseHarness;
let stopWorker: () => Promise<void>;
beforeAll(async () => {
  h = await caseHarness('calendar');
  stopWorker = await h.runWorker();
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

interface Scenario {
  name: string;
  /** The moment the signal is received (and the case runs). */
  at: string;
  /** GT-1: end of the first working day after the day of `at` (Amsterdam 24:00, as UTC). */
  contactDue: string;
  /** GT-7/GT-8: the block lifted at the same moment must be lifted before this instant. */
  unblockDue: string;
}

// In chronological order: the test server's clock only moves forward, and it starts at today's date, so every
// scenario lies years ahead (a date that has passed could not be reached; 2032 repeats 2027's calendar and Easter).
const scenarios: Scenario[] = [
  {
    name: 'Friday evening: over the weekend to Monday',
    at: '2031-12-05T17:30:00Z',
    contactDue: '2031-12-08T23:00:00.000Z',
    unblockDue: '2031-12-08T23:00:00.000Z',
  },
  {
    name: 'Christmas Eve (Wednesday): Christmas Day and Boxing Day (Thu, Fri), weekend',
    at: '2031-12-24T09:00:00Z',
    contactDue: '2031-12-29T23:00:00.000Z',
    unblockDue: '2031-12-29T23:00:00.000Z',
  },
  {
    name: "New Year's Eve (Wednesday): New Year's Day on Thursday, year end",
    at: '2031-12-31T22:30:00Z',
    contactDue: '2032-01-02T23:00:00.000Z',
    unblockDue: '2032-01-02T23:00:00.000Z',
  },
  {
    name: 'late evening in Amsterdam is the next day there (Sunday 00:30 CET)',
    at: '2032-01-10T23:30:00Z',
    contactDue: '2032-01-12T23:00:00.000Z',
    unblockDue: '2032-01-12T23:00:00.000Z',
  },
  {
    name: 'Saturday before Easter and the spring DST switch: Easter Monday off, CEST from Sunday',
    at: '2032-03-27T11:00:00Z',
    contactDue: '2032-03-30T22:00:00.000Z',
    unblockDue: '2032-03-30T22:00:00.000Z',
  },
  {
    name: "King's Day (Tuesday 27 April)",
    at: '2032-04-26T10:00:00Z',
    contactDue: '2032-04-28T22:00:00.000Z',
    unblockDue: '2032-04-28T22:00:00.000Z',
  },
  {
    name: 'Liberation Day (Wednesday) then Ascension Day (Thursday 6 May)',
    at: '2032-05-04T10:00:00Z',
    contactDue: '2032-05-07T22:00:00.000Z',
    unblockDue: '2032-05-07T22:00:00.000Z',
  },
  {
    name: 'Whit Monday (17 May)',
    at: '2032-05-14T10:00:00Z',
    contactDue: '2032-05-18T22:00:00.000Z',
    unblockDue: '2032-05-18T22:00:00.000Z',
  },
  {
    name: 'Friday before the autumn DST switch: CET again from Sunday',
    at: '2032-10-29T15:00:00Z',
    contactDue: '2032-11-01T23:00:00.000Z',
    unblockDue: '2032-11-01T23:00:00.000Z',
  },
  {
    name: 'Christmas 2035: Christmas Day and Boxing Day on Tuesday and Wednesday',
    at: '2035-12-24T10:00:00Z',
    contactDue: '2035-12-27T23:00:00.000Z',
    unblockDue: '2035-12-27T23:00:00.000Z',
  },
];

describe('deadlines on the Dutch working-day calendar (GT-1, GT-3, GT-8)', () => {
  for (const sc of scenarios) {
    it(sc.name, async () => {
      await h.skipTo(new Date(sc.at));
      const { row } = await h.openCase({ isma: true });
      expect(row.contactDueAt.toISOString()).toBe(sc.contactDue); // intake computes the same deadline
      await h.startWorkflow(row.id);
      const s = await h.waitFor(row.id, (x) => x.status === 'awaiting_response');
      expect(s.deadlines.contact.dueAt).toBe(sc.contactDue);
      expect(s.deadlines.contact.state).toBe('met');
      // GT-3: 72 clock hours, also across a DST switch (the Amsterdam wall clock then shows 71 or 73).
      expect(new Date(s.deadlines.response.dueAt!).getTime() - new Date(s.contactedAt!).getTime()).toBe(72 * HOUR);
      const lifted = await liftWrongfulBlock(
        { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, evidenceMaxBytes: 1 },
        row.id,
        { actor: 'api-key:handler', reason: 'test' },
      );
      expect(lifted.deadlines.unblock.dueAt).toBe(sc.unblockDue);
      expect(lifted.deadlines.unblock.state).toBe('met');
      await h.result(row.id);
    });
  }

  it('the 72 hours cross the spring DST switch as 72 clock hours (71 on the Amsterdam wall clock)', async () => {
    await h.skipTo(new Date('2036-03-29T10:00:00Z')); // Saturday; DST starts Sunday 30 March 2036
    const { row } = await h.openCase({});
    await h.startWorkflow(row.id);
    const s = await h.waitFor(row.id, (x) => x.status === 'awaiting_response');
    const contacted = new Date(s.contactedAt!).getTime();
    expect(new Date(s.deadlines.response.dueAt!).getTime()).toBe(contacted + 72 * HOUR);
    const final = await h.result(row.id); // no answer: the real 72 hours pass on the skipped clock
    expect(final.status).toBe('closed_mandate_not_demonstrated');
    const closedAt = (await h.db.query.doubtCases.findFirst({ where: (c, { eq }) => eq(c.id, row.id) }))!.closedAt!;
    expect(closedAt.getTime()).toBeGreaterThanOrEqual(contacted + 72 * HOUR);
    expect(closedAt.getTime()).toBeLessThan(contacted + 73 * HOUR);
  });
});
