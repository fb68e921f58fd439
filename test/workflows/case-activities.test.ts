/**
 * The doubt-case activities are retried (and repeated after a worker restart): run twice, each records its
 * step once — the GT-1 alarms (one parametrised step behind two activity names), the window closing
 * (GT-3) and the workflow start (GT-2), whose audit entries are written once (recordAuditOnce).
 * Real PostgreSQL, activities in the SDK's mock activity context.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseActivities } from '../../activities/cases.js';
import { createDb, type Db } from '../../db/client.js';
import { auditLog, doubtCases } from '../../db/schema/index.js';
import { contactDeadline } from '../../domain/case.js';
import { makeConnection, makeParty } from '../core/fixtures.js';
import { freshDatabase, type FreshDatabase } from '../helpers/index.js';

let fresh: FreshDatabase;
let handle: ReturnType<typeof createDb>;
let db: Db;
let acts: ReturnType<typeof caseActivities>;
const logged: string[] = [];
const env = new MockActivityEnvironment(undefined, {
  logger: new DefaultLogger('WARN', (e) => logged.push(`${e.level} ${e.message}`)),
});

beforeAll(async () => {
  fresh = await freshDatabase('case_activities');
  handle = createDb(fresh.url, { max: 4 });
  db = handle.db;
  acts = caseActivities({ db } as Parameters<typeof caseActivities>[0]);
});
afterAll(async () => {
  await handle?.close();
  await fresh?.drop();
});

async function openCase(): Promise<{ id: string; contactDueAt: Date }> {
  const operator = await makeParty(db, ['grid_operator']);
  const party = await makeParty(db, ['supplier']);
  const { ean } = await makeConnection(db, { gridOperatorId: operator.id });
  const receivedAt = new Date('2026-03-27T10:00:00Z');
  const id = randomUUID();
  await db.insert(doubtCases).values({
    id,
    reference: `GT-ACT-${id.slice(0, 8)}`,
    gridOperatorId: operator.id,
    partyId: party.id,
    connectionEan: ean,
    channel: 'customer',
    receivedAt,
    reporterName: 'Reporter',
    description: 'activities',
    isma: true,
    status: 'blocked',
    contactDueAt: contactDeadline(receivedAt),
    createdBy: 'test',
    createdAt: receivedAt,
  });
  return { id, contactDueAt: contactDeadline(receivedAt) };
}

const entries = (caseId: string, action: string) =>
  db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityType, 'case'), eq(auditLog.entityId, caseId), eq(auditLog.action, action)));

describe('case activities, run twice, record once', () => {
  it('GT-1 alarms: at risk, then missed; each column set by the first run, each audit entry once', async () => {
    const c = await openCase();
    const contactDueAt = c.contactDueAt.toISOString();
    const first = new Date(c.contactDueAt.getTime() - 4 * 3_600_000);
    await env.run(acts.recordContactAtRisk, { caseId: c.id, at: first.toISOString(), contactDueAt });
    await env.run(acts.recordContactAtRisk, {
      caseId: c.id,
      at: new Date(first.getTime() + 60_000).toISOString(),
      contactDueAt,
    });
    await env.run(acts.recordContactMissed, { caseId: c.id, at: contactDueAt, contactDueAt });
    await env.run(acts.recordContactMissed, {
      caseId: c.id,
      at: new Date(c.contactDueAt.getTime() + 60_000).toISOString(),
      contactDueAt,
    });

    const [row] = await db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(row!.contactAlertedAt!.toISOString()).toBe(first.toISOString());
    expect(row!.contactMissRecordedAt!.toISOString()).toBe(contactDueAt);
    const atRisk = await entries(c.id, 'case.contact_at_risk');
    expect(atRisk.map((e) => e.data)).toEqual([{ contactDueAt, rule: 'GT-1' }]);
    expect(atRisk[0]!.actor).toBe(`workflow:${c.id}`);
    expect((await entries(c.id, 'case.deadline_missed')).map((e) => e.data)).toEqual([
      { deadline: 'contact', dueAt: contactDueAt, rule: 'GT-1' },
    ]);
    // Every run tells the worker's log, at the level of the alarm.
    expect(logged.splice(0)).toEqual([
      'WARN contact with the party not achieved while the GT-1 deadline nears',
      'WARN contact with the party not achieved while the GT-1 deadline nears',
      'ERROR GT-1 contact deadline missed',
      'ERROR GT-1 contact deadline missed',
    ]);
  });

  it('GT-3 window closed without an answer: one closing entry and one missed deadline, however often it runs', async () => {
    const c = await openCase();
    const input = { caseId: c.id, at: '2026-04-02T09:00:00.000Z', responded: false, pendingEvidence: false };
    await env.run(acts.recordResponseWindowClosed, input);
    await env.run(acts.recordResponseWindowClosed, { ...input, at: '2026-04-02T09:01:00.000Z' });
    expect((await entries(c.id, 'case.response_window_closed')).map((e) => [e.at.toISOString(), e.data])).toEqual([
      ['2026-04-02T09:00:00.000Z', { responded: false, pendingEvidence: false, rule: 'GT-3' }],
    ]);
    expect((await entries(c.id, 'case.deadline_missed')).map((e) => e.data)).toEqual([
      { deadline: 'response', rule: 'GT-3' },
    ]);
  });

  it('GT-2 set-up: the workflow start is audited once', async () => {
    const c = await openCase();
    const input = { caseId: c.id, at: '2026-03-27T10:00:01.000Z', contactDueAt: c.contactDueAt.toISOString() };
    expect(await env.run(acts.setUpCase, input)).toEqual({ zeroAllocation: true });
    await env.run(acts.setUpCase, input);
    expect((await entries(c.id, 'case.workflow_started')).map((e) => e.data)).toEqual([
      { contactDueAt: input.contactDueAt, zeroAllocation: true, rule: 'GT-2, GT-4' },
    ]);
  });
});
