/**
 * DC-9 storage limitation on the real database: the purge services remove what is past its period — a case
 * with its notes, notices, evidence digests, archive, ACM reports and assessment; supplier reports; access
 * register rows; reading days — and erase the personal details of their audit entries, while a case under a
 * legal hold, cited by an open GT-5 review or GT-11 assessment, or keeping a block in force (GT-8b) stays.
 * GET /audit/verify reports the chain intact after the purge, and still names a row altered afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { recordAudit } from '../../db/repositories/audit.js';
import { caseAudit, createCaseWithBlock } from '../../db/repositories/cases.js';
import {
  accessRegister,
  acmNotifications,
  apiKeys,
  auditLog,
  blocks,
  breachAssessments,
  caseHistoryArchives,
  caseResponses,
  doubtCases,
  evidenceRequests,
  improvementReviews,
  meterReadingDays,
  meterReadingRejects,
  readingImports,
  reviewSignals,
  supplierReports,
  type CaseStatus,
} from '../../db/schema/index.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { amsterdamDayOf } from '../../domain/allocation.js';
import { readingCutoff } from '../../domain/retention.js';
import { registerMonth } from '../../domain/register-partitions.js';
import { ensureRegisterPartitions, PARTITIONS_SCHEDULE_ACTOR } from '../../services/register/partitions.js';
import {
  eraseExpiredAuditDetails,
  purgeExpiredAccessRegister,
  purgeExpiredCases,
  purgeExpiredReadings,
  purgeExpiredSupplierReports,
  type PurgeInput,
} from '../../services/retention/purge.js';
import { readingsDay, registers } from '../allocation/fixtures.js';
import { testConfig } from '../helpers/index.js';
import { call, coreContext, makeConnection, makeKey, makeMandate, makeParty, type CoreContext } from './fixtures.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const ago = (ms: number) => new Date(Date.now() - ms);
const periods = testConfig().retention;

let ctx: CoreContext;
let compliance: string;
let handler: { actor: string; actorRole: string; actorPartyId: null };
let operatorId: string;
let supplierId: string;
beforeAll(async () => {
  ctx = await coreContext('retention');
  compliance = await makeKey(ctx.db, 'compliance');
  const k = generateApiKey();
  const [key] = await ctx.db
    .insert(apiKeys)
    .values({ keyHash: k.hash, prefix: k.prefix, label: 'handler', holderName: 'H. Hendriks', role: 'case-handler' })
    .returning();
  handler = { actor: `api-key:${key!.id}`, actorRole: 'case-handler', actorPartyId: null };
  operatorId = (await makeParty(ctx.db, ['grid_operator'])).id;
  supplierId = (await makeParty(ctx.db, ['supplier'])).id;
});
afterAll(async () => {
  await ctx?.close();
});

const run = (days: number, batchSize: number): PurgeInput => ({
  runId: `test-${randomUUID()}`,
  asOf: new Date().toISOString(),
  days,
  batchSize,
  maxBatches: 50,
});

const verify = async () => {
  const res = await call(ctx.app, compliance, 'GET', '/audit/verify');
  expect(res.statusCode).toBe(200);
  return res.json<{
    intact: boolean;
    entries: number;
    detailsErased: number;
    firstBroken: { chainPosition: number; auditId: number; reason: string } | null;
  }>();
};

/** What only a database superuser could do: change the log with its refusal switched off. */
async function asSuperuser(statement: string): Promise<void> {
  await ctx.sql.begin(async (tx) => {
    await tx.unsafe('alter table audit_log disable trigger audit_log_no_update');
    await tx.unsafe(statement);
    await tx.unsafe('alter table audit_log enable trigger audit_log_no_update');
  });
}

interface CaseSpec {
  closedAt: Date | null;
  status?: CaseStatus;
  block?: { endedAt: Date | null; retroactive: boolean };
  /** A mandate of the party on the connection registered before the close, alive (valid_to ahead) or expired. */
  preCloseMandate?: 'alive' | 'expired';
}

/** A case as the process leaves it, with personal data in its rows and its audit entries (notes, notices). */
async function makeCase(name: string, spec: CaseSpec) {
  const receivedAt = new Date((spec.closedAt ?? new Date()).getTime() - 30 * DAY);
  const conn = await makeConnection(ctx.db, { gridOperatorId: operatorId, supplierId });
  const email = `${name.toLowerCase()}@reporter.example`;
  const { row } = await createCaseWithBlock(ctx.db, {
    ...handler,
    gridOperatorId: operatorId,
    partyId: supplierId,
    connectionEan: conn.ean,
    channel: 'customer',
    receivedAt,
    reporterName: `${name} Reporter`,
    reporterContact: email,
    description: `${name} never gave a mandate`,
    isma: false,
    at: receivedAt,
  });
  await recordAudit(
    ctx.db,
    caseAudit(row.id, handler, 'case.note', { note: `${name} Reporter phoned again` }, receivedAt),
  );
  await recordAudit(
    ctx.db,
    caseAudit(row.id, handler, 'case.notice_sent', { notice: 'reporter_outcome', recipient: email }, receivedAt),
  );
  // A connection step of the case (GT-4 / AL-6), found by the case id in its details.
  await recordAudit(ctx.db, {
    ...handler,
    action: 'connection.zero_allocation_started',
    entityType: 'connection',
    entityId: conn.ean,
    data: { caseId: row.id, reporter: email },
    at: receivedAt,
  });
  if (spec.preCloseMandate)
    await makeMandate(ctx.db, {
      partyId: supplierId,
      connectionEan: conn.ean,
      validFrom: new Date(receivedAt.getTime() - YEAR),
      validTo: spec.preCloseMandate === 'alive' ? new Date(Date.now() + YEAR) : new Date(Date.now() - YEAR),
      registeredAt: new Date(receivedAt.getTime() - YEAR),
    });
  if (spec.closedAt) {
    await ctx.db
      .update(doubtCases)
      .set({ status: spec.status ?? 'closed_mandate_accepted', closedAt: spec.closedAt, closedBy: handler.actor })
      .where(eq(doubtCases.id, row.id));
    const b = spec.block ?? { endedAt: spec.closedAt, retroactive: true };
    await ctx.db.update(blocks).set(b).where(eq(blocks.caseId, row.id));
  }
  return { ...row, email, ean: conn.ean };
}

async function caseEntries(caseId: string) {
  const [block] = await ctx.db.select().from(blocks).where(eq(blocks.caseId, caseId));
  return ctx.db
    .select()
    .from(auditLog)
    .where(
      sql`(${auditLog.entityType} = 'case' and ${auditLog.entityId} = ${caseId})
          or (${auditLog.entityType} = 'connection' and ${auditLog.data}->>'caseId' = ${caseId})
          ${block ? sql`or (${auditLog.entityType} = 'block' and ${auditLog.entityId} = ${block.id})` : sql``}`,
    );
}

/** Audit entries whose details (or actor name) still mention `text`. */
async function mentions(text: string): Promise<number> {
  const [r] = await ctx.sql<{ n: number }[]>`
    select count(*)::int as n from audit_log where data::text like ${`%${text}%`} or actor_name like ${`%${text}%`}`;
  return r!.n;
}

describe('retention purge (DC-9)', () => {
  let purged: Awaited<ReturnType<typeof makeCase>>;
  let keptBlock: Awaited<ReturnType<typeof makeCase>>;
  let lifted: Awaited<ReturnType<typeof makeCase>>;
  let held: Awaited<ReturnType<typeof makeCase>>;
  let reviewed: Awaited<ReturnType<typeof makeCase>>;
  let assessed: Awaited<ReturnType<typeof makeCase>>;
  let inForce: Awaited<ReturnType<typeof makeCase>>;
  let recent: Awaited<ReturnType<typeof makeCase>>;
  let reported: Awaited<ReturnType<typeof makeCase>>;
  let open: Awaited<ReturnType<typeof makeCase>>;
  let erasedEntryIds: number[];
  let alteredNoteId: number;

  it('purges a case past its period with its notes, notices, evidence digests and dependents; keeps the ones still needed', async () => {
    const old = ago(6 * YEAR);
    purged = await makeCase('Anna', { closedAt: old });
    // Everything that hangs off a case.
    await ctx.db.insert(caseResponses).values({
      caseId: purged.id,
      partyId: supplierId,
      status: 'received',
      findings: 'Anna signed on the doorstep',
      complaintHandling: 'called Anna',
      submittedAt: old,
      submittedBy: 'api-key:supplier',
      evidenceFilename: 'mandate-anna.pdf',
      evidenceContentType: 'application/pdf',
      evidenceSize: 10,
      evidenceSha256: 'ab'.repeat(32),
      evidenceDestroyedAt: old,
    });
    await ctx.db.insert(evidenceRequests).values({
      id: randomUUID(),
      caseId: purged.id,
      message: 'Please send the signed form of Anna',
      requestedAt: old,
      requestedBy: handler.actor,
      responseDueAt: old,
    });
    await ctx.db.insert(caseHistoryArchives).values({ caseId: purged.id, eventCount: 1, history: { anna: true } });
    await ctx.db.insert(acmNotifications).values({
      caseId: purged.id,
      sentAt: old,
      sentBy: handler.actor,
      report: { message: 'Anna' },
      dedupeKey: `acm-${purged.id}`,
    });
    await ctx.db.insert(breachAssessments).values({
      caseId: purged.id,
      gridOperatorId: operatorId,
      partyId: supplierId,
      connectionEan: purged.ean,
      trigger: 'handler_request',
      awareAt: old,
      dueAt: old,
      prefill: { deliveries: 0, firstDeliveredAt: null, lastDeliveredAt: null, dataKinds: [], periods: [] },
      clock: 'met',
      decidedAt: old,
      notifyAp: false,
      apReason: 'Anna’s data was not disclosed',
    });
    // GT-8b without force any more: the pre-close mandate expired; the kept block goes with the case.
    keptBlock = await makeCase('Bram', {
      closedAt: old,
      status: 'closed_mandate_not_demonstrated',
      block: { endedAt: null, retroactive: false },
      preCloseMandate: 'expired',
    });
    // Lifted without release (GT-8): the case goes, the block stays until its period's readings are gone.
    lifted = await makeCase('Cor', {
      closedAt: old,
      status: 'closed_withdrawn',
      block: { endedAt: old, retroactive: false },
    });
    held = await makeCase('Dirk', { closedAt: old });
    await ctx.db
      .update(doubtCases)
      .set({ legalHoldSince: old, legalHoldBy: handler.actor, legalHoldAuthority: 'acm', legalHoldReason: 'ACM file' })
      .where(eq(doubtCases.id, held.id));
    reviewed = await makeCase('Eva', { closedAt: old });
    const reviewId = randomUUID();
    await ctx.db.insert(improvementReviews).values({
      id: reviewId,
      partyId: supplierId,
      openedAt: ago(DAY),
      windowDays: 90,
      signalsAtOpen: 5,
      threshold: 5,
      followUpDays: 60,
      electorate: [],
      status: 'follow_up',
    });
    await ctx.db.insert(reviewSignals).values({
      reviewId,
      kind: 'case',
      signalId: reviewed.id,
      reference: reviewed.reference,
      gridOperatorId: operatorId,
      receivedAt: old,
    });
    assessed = await makeCase('Fien', { closedAt: old, status: 'closed_mandate_not_demonstrated' });
    await ctx.db.insert(breachAssessments).values({
      caseId: assessed.id,
      gridOperatorId: operatorId,
      partyId: supplierId,
      connectionEan: assessed.ean,
      trigger: 'case_closed_not_demonstrated',
      awareAt: old,
      dueAt: old,
      prefill: { deliveries: 0, firstDeliveredAt: null, lastDeliveredAt: null, dataKinds: [], periods: [] },
      clock: 'missed',
    });
    inForce = await makeCase('Gijs', {
      closedAt: old,
      status: 'closed_mandate_not_demonstrated',
      block: { endedAt: null, retroactive: false },
      preCloseMandate: 'alive',
    });
    recent = await makeCase('Hans', { closedAt: ago(YEAR) });
    reported = await makeCase('Ilse', { closedAt: old });
    await ctx.db.insert(acmNotifications).values({
      caseId: reported.id,
      sentAt: ago(2 * YEAR),
      sentBy: handler.actor,
      report: { message: 'reported again' },
      dedupeKey: `acm-${reported.id}`,
    });
    open = await makeCase('Joop', { closedAt: null });
    const entriesOfPurged = await caseEntries(purged.id);
    expect(entriesOfPurged.length).toBeGreaterThanOrEqual(5);
    expect(await mentions('anna@reporter.example')).toBe(2);
    expect((await verify()).intact).toBe(true);

    // Two cases per batch: three to purge make two batches, each its own transaction and audit entry.
    const result = await purgeExpiredCases(ctx.db, run(periods.caseDays, 2));
    expect(result).toMatchObject({
      kind: 'cases',
      batches: 2,
      more: false,
      removed: {
        doubt_cases: 3,
        blocks: 2,
        case_responses: 1,
        evidence_requests: 1,
        case_history_archives: 1,
        breach_assessments: 1,
        acm_notifications: 1,
      },
      kept: { legal_hold: 1, open_review: 1, open_breach_assessment: 1, block_in_force: 1 },
      auditDetailsAltered: [],
    });
    const gone = [purged.id, keptBlock.id, lifted.id];
    const kept = [held, reviewed, assessed, inForce, recent, reported, open].map((c) => c.id);
    const left = await ctx.db.select({ id: doubtCases.id }).from(doubtCases);
    expect(left.map((r) => r.id).sort()).toEqual([...kept].sort());
    for (const table of [caseResponses, evidenceRequests, caseHistoryArchives, breachAssessments, acmNotifications])
      expect(await ctx.db.$count(table, inArray(table.caseId, gone))).toBe(0);
    // The kept block without force and the released one went; the unreleased one still refuses its period,
    // detached from its purged case (the foreign key holds no block of a case that is gone).
    expect(await ctx.db.$count(blocks, inArray(blocks.caseId, gone))).toBe(0);
    const detached = await ctx.db.select().from(blocks).where(eq(blocks.connectionEan, lifted.ean));
    expect(detached).toEqual([
      expect.objectContaining({ caseId: null, casePurgedAt: expect.any(Date), retroactive: false }),
    ]);
    expect(result.removed).toMatchObject({ blocks_detached: 1 });
    expect(await ctx.db.$count(blocks, inArray(blocks.caseId, kept))).toBe(kept.length);

    // Their audit entries keep their place on the chain, without details; each names the batch that erased it.
    const after = await ctx.db
      .select()
      .from(auditLog)
      .where(
        inArray(
          auditLog.id,
          entriesOfPurged.map((e) => e.id),
        ),
      );
    for (const e of after) {
      expect(e).toMatchObject({ data: {}, actorName: null, detailsSalt: null, detailsErasedAt: expect.any(Date) });
      const [by] = await ctx.db.select().from(auditLog).where(eq(auditLog.id, e.detailsErasedBy!));
      expect(by).toMatchObject({
        action: 'retention.purged',
        actor: 'workflow:retention-purge',
        entityId: 'cases',
        data: { runId: expect.stringMatching(/^test-/), removed: expect.any(Object) },
      });
    }
    erasedEntryIds = after.map((e) => e.id);
    expect(await mentions('anna@reporter.example')).toBe(0);
    expect(await mentions('Anna')).toBe(0);
    expect(await mentions('bram@reporter.example')).toBe(0);
    // The kept ones' entries are untouched.
    expect(await mentions('dirk@reporter.example')).toBe(2);
    expect((await caseEntries(held.id)).every((e) => e.detailsErasedAt === null && e.actorName === 'H. Hendriks')).toBe(
      true,
    );

    // Anna's, Bram's and Cor's entries: all erased, the chain intact.
    const v = await verify();
    expect(v).toMatchObject({ intact: true, firstBroken: null });
    expect(v.detailsErased).toBe(result.auditDetailsErased);
    expect(result.auditDetailsErased).toBeGreaterThanOrEqual(3 * erasedEntryIds.length);
  });

  it('the log still names an entry altered after the purge, erased or not, and an erasure made by hand', async () => {
    const [erased] = await ctx.db.select().from(auditLog).where(eq(auditLog.id, erasedEntryIds[0]!));
    await asSuperuser(`update audit_log set action = 'case.nothing_happened' where id = ${erased!.id}`);
    expect((await verify()).firstBroken).toEqual({
      chainPosition: erased!.chainPosition,
      auditId: erased!.id,
      reason: 'hash_mismatch',
    });
    await asSuperuser(`update audit_log set action = '${erased!.action}' where id = ${erased!.id}`);
    expect((await verify()).intact).toBe(true);

    // An erased entry cannot take details back.
    await asSuperuser(`update audit_log set data = '{"note": "put back"}' where id = ${erased!.id}`);
    expect((await verify()).firstBroken).toMatchObject({ auditId: erased!.id, reason: 'hash_mismatch' });
    await asSuperuser(`update audit_log set data = '{}' where id = ${erased!.id}`);

    // A kept entry altered.
    const [kept] = await caseEntries(held.id);
    await asSuperuser(`update audit_log set data = data || '{"x": 1}' where id = ${kept!.id}`);
    expect((await verify()).firstBroken).toMatchObject({ auditId: kept!.id, reason: 'hash_mismatch' });
    await asSuperuser(`update audit_log set data = data - 'x' where id = ${kept!.id}`);
    expect((await verify()).intact).toBe(true);

    // Erased without a purge entry saying so.
    const opened = await ctx.db.select().from(auditLog).where(eq(auditLog.action, 'case.opened'));
    const other = opened.find((e) => e.entityId === recent.id)!;
    await asSuperuser(
      `update audit_log set data = '{}', actor_name = null, details_salt = null, details_erased_at = now(),
              details_erased_by = ${other.id} where id = ${other.id}`,
    );
    expect((await verify()).firstBroken).toMatchObject({ auditId: other.id, reason: 'erasure_unrecorded' });
  });

  it('the append-only trigger lets only the erasure through, and only from the purge', async () => {
    const c = await makeCase('Karel', { closedAt: ago(6 * YEAR) });
    const [e] = await caseEntries(c.id);
    await expect(
      ctx.sql`update audit_log set data = '{}', actor_name = null, details_salt = null, details_erased_at = now(),
                     details_erased_by = 1 where id = ${e!.id}`,
    ).rejects.toThrow(/append-only/);
    await expect(
      ctx.sql.begin(async (tx) => {
        await tx`select set_config('audit_log.erasing', 'on', true)`;
        await tx`update audit_log set data = '{}', actor_name = null, details_salt = null, details_erased_at = now(),
                        details_erased_by = 1, action = 'x' where id = ${e!.id}`;
      }),
    ).rejects.toThrow(/append-only/);
    await expect(
      ctx.sql`select * from audit_erase_details(array[${e!.id}]::bigint[], ${e!.id}, now())`,
    ).rejects.toThrow(/not a retention.purged entry/);
    await expect(ctx.sql`delete from audit_log where id = ${e!.id}`).rejects.toThrow(/append-only/);
  });

  it('an entry altered before the purge is not erased: the evidence stays and the refusal is recorded', async () => {
    const c = await makeCase('Lotte', { closedAt: ago(6 * YEAR) });
    const entries = await caseEntries(c.id);
    const note = entries.find((e) => e.action === 'case.note')!;
    await asSuperuser(`update audit_log set data = '{"note": "nothing to see"}' where id = ${note.id}`);
    const result = await purgeExpiredCases(ctx.db, run(periods.caseDays, 10));
    expect(result.removed.doubt_cases).toBe(2); // Karel and Lotte
    expect(result.auditDetailsAltered).toEqual([note.id]);
    alteredNoteId = note.id;
    const [still] = await ctx.db.select().from(auditLog).where(eq(auditLog.id, note.id));
    expect(still).toMatchObject({ data: { note: 'nothing to see' }, detailsErasedAt: null });
    const [refusal] = await ctx.db.select().from(auditLog).where(eq(auditLog.action, 'retention.erasure_refused'));
    expect(refusal!.data).toMatchObject({ auditIds: [note.id] });
  });

  it('purges supplier reports past their period unless their case is kept or an open review cites them', async () => {
    const old = ago(6 * YEAR);
    const report = async (reportedAt: Date, caseId: string | null = null) => {
      const [r] = await ctx.db
        .insert(supplierReports)
        .values({
          partyId: supplierId,
          gridOperatorId: operatorId,
          connectionEan: held.ean,
          signalReceivedAt: reportedAt,
          reportedAt,
          reportedWithinOneWorkingDay: true,
          customerSatisfaction: 'dissatisfied',
          findings: 'Mr. Maas says he never signed',
          actions: 'called Mr. Maas',
          caseId,
          createdBy: 'api-key:supplier',
        })
        .returning();
      await recordAudit(ctx.db, {
        actor: 'api-key:supplier',
        action: 'supplier_report.received',
        entityType: 'supplier_report',
        entityId: r!.id,
        data: { customer: 'Mr. Maas' },
        at: reportedAt,
      });
      return r!;
    };
    const expired = await report(old);
    const ofKeptCase = await report(old, held.id);
    const cited = await report(old);
    const fresh = await report(ago(DAY));
    const [review] = await ctx.db.select().from(improvementReviews);
    await ctx.db.insert(reviewSignals).values({
      reviewId: review!.id,
      kind: 'supplier_report',
      signalId: cited.id,
      gridOperatorId: operatorId,
      receivedAt: old,
    });
    const result = await purgeExpiredSupplierReports(ctx.db, run(periods.supplierReportDays, 10));
    expect(result).toMatchObject({ removed: { supplier_reports: 1 }, auditDetailsErased: 1, more: false });
    const left = await ctx.db.select({ id: supplierReports.id }).from(supplierReports);
    expect(left.map((r) => r.id).sort()).toEqual([ofKeptCase.id, cited.id, fresh.id].sort());
    const [entry] = await ctx.db.select().from(auditLog).where(eq(auditLog.entityId, expired.id));
    expect(entry).toMatchObject({ data: {}, detailsErasedAt: expect.any(Date) });
  });

  it('drops the access register by whole months past the period, each audited, and reading days past theirs', async () => {
    const register = (decidedAt: Date) => ({
      id: uuidv7(decidedAt.getTime()),
      decidedAt,
      requestId: randomUUID(),
      partyId: supplierId,
      connectionEan: held.ean,
      dataKind: 'interval_data',
      periodFrom: decidedAt,
      periodTo: decidedAt,
      allowed: false,
      reasonCode: 'no_mandate',
      rule: 'DC-2',
    });
    // DC-9 by month: with the cutoff somewhere in month M, months before M are past the period whole and go; M
    // holds rows past the period next to rows within it, so it stays until it is past whole.
    const asOf = new Date();
    const cutoff = new Date(asOf.getTime() - periods.accessRegisterDays * DAY);
    const m = registerMonth(cutoff);
    const before1 = registerMonth(new Date(m.from.getTime() - 1));
    const before2 = registerMonth(new Date(before1.from.getTime() - 1));
    const before3 = registerMonth(new Date(before2.from.getTime() - 1));
    for (const month of [before3, before2, before1, m])
      await ensureRegisterPartitions(ctx.db, month.from, PARTITIONS_SCHEDULE_ACTOR, 0);
    const gone = [
      register(before3.from),
      register(new Date(before2.from.getTime() + 5 * DAY)),
      register(new Date(before2.to.getTime() - 1)),
      register(new Date(before1.to.getTime() - 1)),
    ];
    const kept = [register(m.from), register(new Date(asOf.getTime() - DAY))];
    await ctx.db.insert(accessRegister).values([...gone, ...kept]);
    // A drop interrupted after its detach left before3's table detached: the purge finishes it.
    await ctx.sql.unsafe(`alter table access_register detach partition ${before3.name}`);
    const regInput: PurgeInput = { ...run(periods.accessRegisterDays, 2), asOf: asOf.toISOString(), maxBatches: 2 };
    const first = await purgeExpiredAccessRegister(ctx.db, regInput);
    expect(first).toMatchObject({ removed: { access_register: 3 }, batches: 2, more: true });
    const second = await purgeExpiredAccessRegister(ctx.db, regInput);
    expect(second).toMatchObject({ removed: { access_register: 1, idempotency_keys: 0 }, batches: 2, more: false });
    expect((await ctx.db.select({ id: accessRegister.id }).from(accessRegister)).map((x) => x.id)).toEqual(
      expect.arrayContaining(kept.map((x) => x.id)),
    );
    expect(
      await ctx.db.$count(
        accessRegister,
        inArray(
          accessRegister.id,
          gone.map((x) => x.id),
        ),
      ),
    ).toBe(0);
    const tables = await ctx.sql<Array<{ relname: string }>>`
      select relname from pg_class where relname = any(${[before3.name, before2.name, before1.name, m.name]})`;
    expect(tables.map((t) => t.relname)).toEqual([m.name]);
    // One audit entry per month dropped, by the purge's actor, naming the month and its rows.
    const entries = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'retention.purged'), eq(auditLog.entityId, 'access_register')))
      .orderBy(auditLog.id); // the order they were written in (without it PostgreSQL may return any order)
    const drops = entries
      .map((e) => e.data as { runId: string; partition?: string; removed: Record<string, number>; method?: string })
      .filter((d) => d.runId === regInput.runId && d.partition);
    expect(drops.map((d) => [d.partition, d.removed['access_register'], d.method])).toEqual([
      [before3.name, 1, 'partition_drop'],
      [before2.name, 2, 'partition_drop'],
      [before1.name, 1, 'partition_drop'],
    ]);
    expect(entries.every((e) => e.actor === 'workflow:retention-purge')).toBe(true);

    // Readings: a day four years back goes (with its reject and import), last week's stays.
    const oldDay = amsterdamDayOf(ago(4 * YEAR));
    const newDay = amsterdamDayOf(ago(7 * DAY));
    for (const day of [oldDay, newDay])
      await readingsDay(
        ctx.db,
        held.ean,
        day,
        registers(day, 0, () => 10),
        registers(day, 0, () => 0),
      );
    const [imp] = await ctx.db
      .insert(readingImports)
      .values({ source: 'bulk', actor: 'test', startedAt: ago(4 * YEAR), finishedAt: ago(4 * YEAR), summary: {} })
      .returning();
    await ctx.db.insert(meterReadingRejects).values({
      importId: imp!.id,
      day: oldDay,
      connectionEan: held.ean,
      code: 'register_decreased',
      message: 'test',
    });
    // A day's registers also close the day before and open the day after (AL-1): those rows are old too.
    const input = run(periods.readingDays, 1000);
    const firstKept = readingCutoff(new Date(input.asOf), periods.readingDays).day;
    const stored = (await ctx.db.select({ day: meterReadingDays.day }).from(meterReadingDays)).map((d) => d.day);
    const oldDays = stored.filter((d) => d < firstKept);
    expect(oldDays).toContain(oldDay);
    const readings = await purgeExpiredReadings(ctx.db, input);
    expect(readings).toMatchObject({
      kind: 'readings',
      cutoff: firstKept,
      removed: { meter_reading_days: oldDays.length, meter_reading_rejects: 1, reading_imports: 1, blocks: 1 },
      more: false,
    });
    expect(
      (await ctx.db.select({ day: meterReadingDays.day }).from(meterReadingDays)).map((d) => d.day).sort(),
    ).toEqual(stored.filter((d) => d >= firstKept).sort());
    expect(stored.filter((d) => d >= firstKept)).toContain(newDay);
    // The unreleased block of the purged case: its period's readings are gone, so it goes too (orphanBlockGone).
    expect(await ctx.db.$count(blocks, eq(blocks.connectionEan, lifted.ean))).toBe(0);
  });

  it('erases the old audit details of records without a period of their own, never of a kept record', async () => {
    await recordAudit(ctx.db, {
      ...handler,
      action: 'mandate.registered',
      entityType: 'mandate',
      entityId: randomUUID(),
      data: { grantedByName: 'Nora Nijhof' },
      at: ago(6 * YEAR),
    });
    await recordAudit(ctx.db, {
      ...handler,
      action: 'mandate.registered',
      entityType: 'mandate',
      entityId: randomUUID(),
      data: { grantedByName: 'Olga Ouwens' },
      at: ago(YEAR),
    });
    const before = await mentions('dirk@reporter.example');
    const r = await eraseExpiredAuditDetails(ctx.db, run(periods.auditDetailsDays, 1000));
    expect(await mentions('Nora Nijhof')).toBe(0);
    expect(await mentions('Olga Ouwens')).toBe(1);
    // The held case's entries are the case's, kept with it; the altered one is passed over again.
    expect(await mentions('dirk@reporter.example')).toBe(before);
    expect(r.auditDetailsErased).toBeGreaterThanOrEqual(1);
    // Lotte's altered note (its case purged) is refused again, not erased, and passed over by the cursor.
    expect(r.auditDetailsAltered).toEqual([alteredNoteId]);
    expect(r.cursor).not.toBeNull();
  });
});
