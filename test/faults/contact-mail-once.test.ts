/**
 * GT-1 / GT-3, issue 8: a contact send repeated after a crash (SMTP accepted, the result not recorded)
 * states the same reply-by instant as the first; a send that certainly reached no one frees it, so the
 * next one states a fresh 72 hours. Real PostgreSQL, the real SMTP capture; the activity runs in the
 * SDK's mock activity context, whose attempt-scheduled time we set to model a retry an hour later.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { notificationActivities } from '../../activities/notifications.js';
import { createDb, type Db } from '../../db/client.js';
import { contactPersons, doubtCases, DOUBT_CONTACT_GROUP } from '../../db/schema/index.js';
import { contactDeadline, responseDeadline } from '../../domain/case.js';
import { createMailer, type Mailer } from '../../notifications/mailer.js';
import { makeConnection, makeParty } from '../core/fixtures.js';
import { freshDatabase, listMail, readMail, testConfig, type FreshDatabase } from '../helpers/index.js';

let fresh: FreshDatabase;
let handle: ReturnType<typeof createDb>;
let db: Db;
let mailer: Mailer;
let deadMailer: Mailer;

beforeAll(async () => {
  fresh = await freshDatabase('contact_mail_once');
  handle = createDb(fresh.url, { max: 4 });
  db = handle.db;
  mailer = createMailer(inject('smtpUrl'), { from: 'test@netbeheer.example' });
  // Nothing listens on port 1: the connection is refused before any message is handed over.
  deadMailer = createMailer('smtp://127.0.0.1:1', { from: 'test@netbeheer.example', timeoutMs: 2_000 });
});
afterAll(async () => {
  mailer?.close();
  deadMailer?.close();
  await handle?.close();
  await fresh?.drop();
});

async function openCase(): Promise<{ id: string; contactDueAt: Date; address: string }> {
  const operator = await makeParty(db, ['grid_operator']);
  const party = await makeParty(db, ['supplier']);
  const address = `doubt-${randomUUID().slice(0, 8)}@supplier.example`;
  await db
    .insert(contactPersons)
    .values({ partyId: party.id, contactGroup: DOUBT_CONTACT_GROUP, name: 'Doubt desk', email: address });
  const { ean } = await makeConnection(db, { gridOperatorId: operator.id });
  const receivedAt = new Date();
  const id = randomUUID();
  await db.insert(doubtCases).values({
    id,
    reference: `GT-MAIL-${id.slice(0, 8)}`,
    gridOperatorId: operator.id,
    partyId: party.id,
    connectionEan: ean,
    channel: 'customer',
    receivedAt,
    reporterName: 'Reporter',
    description: 'contact mail once',
    isma: false,
    status: 'blocked',
    contactDueAt: contactDeadline(receivedAt),
    createdBy: 'test',
    createdAt: receivedAt,
  });
  return { id, contactDueAt: contactDeadline(receivedAt), address };
}

const attemptAt = (ms: number) =>
  new MockActivityEnvironment({ currentAttemptScheduledTimestampMs: ms, scheduledTimestampMs: ms });

const acts = (m: Mailer) =>
  notificationActivities({
    db,
    mailer: m,
    config: testConfig({ PUBLIC_URL: 'https://twijfel.example' }),
  });

type Sent = Awaited<ReturnType<ReturnType<typeof acts>['sendContactEmail']>>;

/** The contact send as the attempt scheduled at `at` runs it. */
const send = (m: Mailer, at: number, c: { id: string; contactDueAt: Date }) =>
  attemptAt(at).run(acts(m).sendContactEmail, {
    caseId: c.id,
    contactDueAt: c.contactDueAt.toISOString(),
  }) as Promise<Sent>;

describe('contact mail exactly once in effect (GT-1, GT-3)', () => {
  it('a send repeated an hour later (crash after SMTP accepted) states the same reply-by instant', async () => {
    const c = await openCase();
    const first = await send(mailer, Date.now(), c);
    const retried = await send(mailer, Date.now() + 3_600_000, c);
    expect(retried.statedResponseDueAt).toBe(first.statedResponseDueAt);
    // Without the fix the retry would have stated 72 hours from its own attempt, an hour later.
    expect(new Date(first.statedResponseDueAt).getTime()).toBeLessThan(
      responseDeadline(new Date(Date.now() + 3_600_000)).getTime(),
    );
    await readMail(inject('mailDir'), (m) => m.to.includes(c.address) && m.headers['x-case-id'] === c.id);
    const mails = await listMail(inject('mailDir'), (m) => m.to.includes(c.address));
    expect(mails).toHaveLength(2);
    expect(new Set(mails.map((m) => m.headers['x-response-due']))).toEqual(new Set([first.statedResponseDueAt]));
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(1); // the same message, recognisable as one
    const [row] = await db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(row!.statedResponseDueAt?.toISOString()).toBe(first.statedResponseDueAt);
  });

  it('a send refused before any handover frees the instant: the next one states 72 hours from itself', async () => {
    const c = await openCase();
    const t0 = Date.now();
    await expect(
      attemptAt(t0).run(acts(deadMailer).sendContactEmail, {
        caseId: c.id,
        contactDueAt: c.contactDueAt.toISOString(),
      }),
    ).rejects.toMatchObject({ syscall: 'connect' });
    const [afterFailure] = await db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(afterFailure!.statedResponseDueAt).toBeNull();
    const later = t0 + 3_600_000;
    const sent = await send(mailer, later, c);
    expect(sent.statedResponseDueAt).toBe(responseDeadline(new Date(later)).toISOString());
  });
});
