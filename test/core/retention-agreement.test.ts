/**
 * The DC-9 retention rules exist twice: domain/retention.ts caseRetention() / supplierReportRetention() (the
 * specification) and their SQL mirror in db/repositories/retention.ts (caseVerdictSql, supplierReportVerdictSql),
 * which selects what the purge removes. This test generates random cases and reports — every status, closes and
 * ACM reports and breach decisions just before, at and after the cutoff, holds, open and closed reviews and
 * assessments, blocks in every state, mandates registered before, at and after the close, alive, expired at
 * exactly `asOf`, or ended — and requires the SQL to give each the verdict the TypeScript gives.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseVerdicts, supplierReportVerdicts } from '../../db/repositories/retention.js';
import {
  acmNotifications,
  blocks,
  breachAssessments,
  doubtCases,
  improvementReviews,
  mandates,
  reviewSignals,
  supplierReports,
} from '../../db/schema/index.js';
import { CASE_STATUSES, isClosedStatus, type CaseStatus } from '../../domain/case.js';
import {
  caseRetention,
  retentionCutoff,
  supplierReportRetention,
  type CaseRetentionFacts,
} from '../../domain/retention.js';
import { rng } from '../helpers/random.js';
import { coreContext, makeConnection, makeParty, type CoreContext } from './fixtures.js';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('retention_agreement');
});
afterAll(async () => ctx?.close());

const DAY = 86_400_000;
const CASE_DAYS = 1826;
const REPORT_DAYS = 730;

describe('DC-9 retention: SQL and domain agree', () => {
  it('gives every random case and supplier report the verdict domain/retention.ts gives', async () => {
    const seed = 20261207;
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const asOf = new Date('2026-12-07T10:15:30.123Z');
    const cutoff = retentionCutoff(asOf, CASE_DAYS);
    /** Around an instant: well before, just before, exactly at, just after, well after. */
    const around = (t: Date) => new Date(t.getTime() + pick([-400 * DAY, -DAY, -1, 0, 1, DAY, 300 * DAY]));

    const operator = await makeParty(ctx.db, ['grid_operator']);
    const party = await makeParty(ctx.db, ['supplier']);
    const otherParty = await makeParty(ctx.db, ['supplier']);
    const openReview = randomUUID();
    const closedReview = randomUUID();
    await ctx.db.insert(improvementReviews).values([
      {
        id: openReview,
        partyId: party.id,
        openedAt: asOf,
        windowDays: 90,
        signalsAtOpen: 5,
        threshold: 5,
        followUpDays: 60,
        electorate: [],
        status: 'contacting',
      },
      {
        id: closedReview,
        partyId: otherParty.id,
        openedAt: asOf,
        windowDays: 90,
        signalsAtOpen: 5,
        threshold: 5,
        followUpDays: 60,
        electorate: [],
        status: 'not_reported',
        closedAt: asOf,
      },
    ]);

    const expected = new Map<string, string>();
    const facts = new Map<string, CaseRetentionFacts>();
    for (let i = 0; i < 120; i++) {
      const status: CaseStatus = pick(CASE_STATUSES);
      const closedAt = isClosedStatus(status) ? around(cutoff) : null;
      const receivedAt = new Date((closedAt ?? asOf).getTime() - 40 * DAY);
      const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: party.id });
      const id = randomUUID();
      const legalHold = r() < 0.2;
      await ctx.db.insert(doubtCases).values({
        id,
        reference: `GT-AGREE-${i}`,
        gridOperatorId: operator.id,
        partyId: party.id,
        connectionEan: conn.ean,
        channel: 'customer',
        receivedAt,
        reporterName: 'R',
        description: 'd',
        isma: false,
        status,
        contactDueAt: receivedAt,
        closedAt,
        legalHoldSince: legalHold ? receivedAt : null,
        createdBy: 'test',
      });
      const acm = r() < 0.4 ? around(cutoff) : null;
      if (acm)
        await ctx.db.insert(acmNotifications).values([
          { caseId: id, sentAt: acm, sentBy: 'test', report: {}, dedupeKey: `${id}:1` },
          // An earlier report besides: the last one counts.
          { caseId: id, sentAt: new Date(acm.getTime() - 500 * DAY), sentBy: 'test', report: {}, dedupeKey: `${id}:0` },
        ]);
      const breachKind = pick(['none', 'none', 'open', 'decided'] as const);
      const breachDecidedAt = breachKind === 'decided' ? around(cutoff) : null;
      if (breachKind !== 'none')
        await ctx.db.insert(breachAssessments).values({
          caseId: id,
          gridOperatorId: operator.id,
          partyId: party.id,
          connectionEan: conn.ean,
          trigger: 'handler_request',
          awareAt: receivedAt,
          dueAt: receivedAt,
          prefill: { deliveries: 0, firstDeliveredAt: null, lastDeliveredAt: null, dataKinds: [], periods: [] },
          decidedAt: breachDecidedAt,
        });
      const review = pick(['none', 'none', 'open', 'closed'] as const);
      if (review !== 'none')
        await ctx.db.insert(reviewSignals).values({
          reviewId: review === 'open' ? openReview : closedReview,
          kind: 'case',
          signalId: id,
          gridOperatorId: operator.id,
          receivedAt,
        });
      const blockKind = pick(['none', 'in_force', 'in_force', 'released', 'unreleased'] as const);
      const blockEndedAt = blockKind === 'released' || blockKind === 'unreleased' ? (closedAt ?? asOf) : null;
      if (blockKind !== 'none')
        await ctx.db.insert(blocks).values({
          partyId: party.id,
          connectionEan: conn.ean,
          caseId: id,
          startedAt: receivedAt,
          endedAt: blockEndedAt,
          retroactive: blockKind === 'released',
        });
      // GT-8b: a mandate registered before, at or after the close; alive, expired exactly at asOf, or ended.
      const mandateKind = pick(['none', 'before', 'at', 'after'] as const);
      const mandateState = pick(['alive', 'expired', 'ended', 'pending'] as const);
      const close = closedAt ?? asOf;
      const registeredAt =
        mandateKind === 'before'
          ? new Date(close.getTime() - 10 * DAY)
          : mandateKind === 'at'
            ? close
            : new Date(close.getTime() + 1);
      if (mandateKind !== 'none')
        await ctx.db.insert(mandates).values({
          partyId: party.id,
          connectionEan: conn.ean,
          dataKinds: ['interval_data'],
          purpose: 'test',
          validFrom: new Date(registeredAt.getTime() - 400 * DAY),
          validTo: mandateState === 'expired' ? asOf : new Date(asOf.getTime() + 100 * DAY),
          grantedVia: 'portal',
          grantedByName: 'G',
          grantedByIsGridUser: true,
          status: mandateState === 'ended' ? 'ended' : mandateState === 'pending' ? 'pending_confirmation' : 'active',
          endReason: mandateState === 'ended' ? 'revoked_by_grid_user' : null,
          endedAt: mandateState === 'ended' ? registeredAt : null,
          createdAt: registeredAt,
        });
      const f: CaseRetentionFacts = {
        status,
        closedAt,
        legalHold,
        lastAcmReportAt: acm,
        breachAssessment: breachKind === 'none' ? null : { decidedAt: breachDecidedAt },
        citedByOpenReview: review === 'open',
        block: blockKind === 'none' ? null : { endedAt: blockEndedAt },
        preCloseMandateAlive:
          closedAt !== null &&
          (mandateKind === 'before' || mandateKind === 'at') &&
          (mandateState === 'alive' || mandateState === 'pending'),
      };
      facts.set(id, f);
      expected.set(id, caseRetention(f, asOf, CASE_DAYS));
    }
    const got = await caseVerdicts(ctx.db, [...expected.keys()], asOf.toISOString(), cutoff.toISOString());
    const disagreements = [...expected].filter(([id, v]) => got.get(id) !== v);
    expect(disagreements.map(([id, v]) => ({ seed, expected: v, sql: got.get(id), facts: facts.get(id) }))).toEqual([]);
    // The sample reaches every verdict, so each branch of both was compared.
    expect(new Set(expected.values())).toEqual(
      new Set([
        'open',
        'within_period',
        'legal_hold',
        'open_breach_assessment',
        'open_review',
        'block_in_force',
        'purge',
      ]),
    );

    // Supplier reports: around their own cutoff, with a case kept (either link) or gone, cited or not.
    const reportCutoff = retentionCutoff(asOf, REPORT_DAYS);
    const caseIds = [...expected.keys()];
    const reports = new Map<string, string>();
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: party.id });
    for (let i = 0; i < 60; i++) {
      const reportedAt = around(reportCutoff);
      const link = pick(['none', 'kept_case', 'case_points_here', 'gone_case'] as const);
      const [row] = await ctx.db
        .insert(supplierReports)
        .values({
          partyId: party.id,
          gridOperatorId: operator.id,
          connectionEan: conn.ean,
          signalReceivedAt: reportedAt,
          reportedAt,
          reportedWithinOneWorkingDay: true,
          customerSatisfaction: 'unknown',
          findings: 'f',
          actions: 'a',
          caseId: link === 'kept_case' ? pick(caseIds) : link === 'gone_case' ? randomUUID() : null,
          createdBy: 'test',
        })
        .returning();
      if (link === 'case_points_here') {
        const id = randomUUID();
        await ctx.db.insert(doubtCases).values({
          id,
          reference: `GT-AGREE-R${i}`,
          gridOperatorId: operator.id,
          partyId: party.id,
          connectionEan: conn.ean,
          channel: 'supplier_report',
          receivedAt: reportedAt,
          reporterName: 'R',
          description: 'd',
          isma: false,
          status: 'closed_withdrawn',
          contactDueAt: reportedAt,
          supplierReportId: row!.id,
          createdBy: 'test',
        });
      }
      const review = pick(['none', 'open', 'closed'] as const);
      if (review !== 'none')
        await ctx.db.insert(reviewSignals).values({
          reviewId: review === 'open' ? openReview : closedReview,
          kind: 'supplier_report',
          signalId: row!.id,
          gridOperatorId: operator.id,
          receivedAt: reportedAt,
        });
      reports.set(
        row!.id,
        supplierReportRetention(
          {
            reportedAt,
            caseKept: link === 'kept_case' || link === 'case_points_here',
            citedByOpenReview: review === 'open',
          },
          asOf,
          REPORT_DAYS,
        ),
      );
    }
    const gotReports = await supplierReportVerdicts(ctx.db, [...reports.keys()], reportCutoff.toISOString());
    expect([...reports].filter(([id, v]) => gotReports.get(id) !== v).map(([id, v]) => ({ seed, id, v }))).toEqual([]);
    expect(new Set(reports.values())).toEqual(new Set(['within_period', 'case_kept', 'open_review', 'purge']));
  });
});
