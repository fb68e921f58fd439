/**
 * Doubt cases over HTTP (GT-1..GT-10), on top of the case service (api/services/cases.ts) and Temporal.
 *
 * Who sees what: a case handler its own grid operator's cases, a supplier or service provider the cases
 * about itself, compliance and admin all. Another party's case answers 404, never 403 (its existence is
 * not theirs to know). Case handlers act (intake, judgement, lift, withdraw, ACM, notes); the party
 * responds; compliance and admin read the complete history. Every action is audited with who and when by
 * the service and the workflow.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Principal } from '../plugins/auth.js';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly, partyOf, READ_ERRORS } from '../plugins/core-access.js';
import {
  AcmNotificationCreate,
  AcmNotificationResult,
  CaseCreate,
  CaseCreated,
  CaseDetailSchema,
  CaseFromReport,
  CaseList,
  CaseParams,
  CaseQuery,
  CaseSnapshotSchema,
  HistoryExportSchema,
  HistoryQuery,
  HistorySchema,
  IdempotencyHeaders,
  JudgementCreate,
  NoteCreate,
  NoteResult,
  ReasonBody,
  ResponseCreate,
  ResponseCreated,
  toCaseSummary,
  toResponseDto,
  toTimelineDto,
  type CaseCreateBody,
  type CaseDetailDto,
} from '../schemas/cases.js';
import { ReportParams } from '../schemas/supplier-reports.js';
import { caseHistory, caseHistoryExport } from '../services/case-history.js';
import { notificationActivities } from '../../activities/notifications.js';
import { addNote, judgeEvidence, liftWrongfulBlock, liveSnapshot, notifyAcm, openCase, submitResponse, withdrawCase, type CaseServiceDeps } from '../services/cases.js';
import { caseAuditTrail, caseDeadlines, CLOSED_STATUSES, getCase, getSupplierReport, listCases, listResponses } from '../../db/repositories/cases.js';
import { assertEan } from '../../db/repositories/connections.js';
import { partiesByIds, requirePartyByGln } from '../../db/repositories/parties.js';
import type { Db } from '../../db/client.js';
import type { DoubtCase } from '../../db/schema/index.js';
import { DomainError, notFound, validationError } from '../../lib/errors.js';

/** Media type of the raw history export (also `?format=export`). */
export const HISTORY_EXPORT_TYPE = 'application/vnd.gerede-twijfel.case-history+json';

/** Timeline actions that are the grid operator's internal business, not shown to the party. */
const INTERNAL_ACTIONS = new Set(['case.note', 'case.acm_notified', 'case.contact_at_risk', 'case.judgement_reminder', 'case.history_archived']);

export function canSeeCase(p: Principal, row: DoubtCase): boolean {
  switch (p.role) {
    case 'admin':
    case 'compliance':
      return true;
    case 'case-handler':
      return p.partyId !== null && row.gridOperatorId === p.partyId;
    case 'supplier':
      return p.partyId !== null && row.partyId === p.partyId;
    default:
      return false;
  }
}

async function visibleCase(db: Db, p: Principal, id: string): Promise<DoubtCase> {
  const row = await getCase(db, id);
  if (!row || !canSeeCase(p, row)) throw notFound('case_not_found', `No case ${id}`, 'params.id');
  return row;
}

const caseRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db, config, temporal, mailer } = app.deps;
  const service: CaseServiceDeps = {
    db,
    temporal,
    taskQueue: config.temporal.taskQueue,
    evidenceMaxBytes: config.evidenceMaxBytes,
    // GT-6 on a case whose workflow has closed: the workflow's own activity, run in this process.
    ...(mailer ? { acmReporter: notificationActivities({ db, mailer, config }).notifyAcm } : {}),
  };
  const handler = requireRole('case-handler');
  const readers = requireRole('case-handler', 'supplier', 'compliance', 'admin');
  // Evidence travels as base64 inside JSON (4/3 of the file) next to the texts: this route only.
  const responseBodyLimit = Math.max(config.bodyLimit, Math.ceil(config.evidenceMaxBytes / 3) * 4 + 64 * 1024);

  async function summaries(rows: DoubtCase[], now = new Date()) {
    const ps = await partiesByIds(db, rows.flatMap((r) => [r.partyId, r.gridOperatorId]));
    return rows.map((r) => toCaseSummary(r, ps, caseDeadlines(r, now)));
  }

  /** The running workflow's view, bounded in time: a case view must not hang on a worker outage. */
  async function workflowView(row: DoubtCase) {
    if (!temporal || CLOSED_STATUSES.includes(row.status)) return null;
    try {
      return (await temporal.withDeadline(Date.now() + 3_000, () => liveSnapshot(service, row.id))) ?? null;
    } catch {
      return null;
    }
  }

  /** GT-1 / GT-2 intake, shared by POST /cases and POST /supplier-reports/{id}/cases. */
  async function intake(p: Principal, b: CaseCreateBody, idempotencyKey: string | undefined) {
    const gridOperatorId = partyOf(p);
    let defaults: { connectionEan: string; partyId: string; receivedAt: Date; reporterName: string; description: string } | undefined;
    if (b.supplierReportId) {
      const report = await getSupplierReport(db, b.supplierReportId);
      if (!report || report.gridOperatorId !== gridOperatorId) throw notFound('supplier_report_not_found', `No supplier report ${b.supplierReportId}`, 'body.supplierReportId');
      if (b.channel !== undefined && b.channel !== 'supplier_report') throw validationError('channel_mismatch', 'A case opened from a supplier report has channel supplier_report', 'body.channel');
      if (b.connectionEan !== undefined && b.connectionEan !== report.connectionEan) throw validationError('supplier_report_mismatch', 'connectionEan differs from the supplier report', 'body.connectionEan');
      const reporter = (await partiesByIds(db, [report.partyId])).get(report.partyId);
      defaults = {
        connectionEan: report.connectionEan,
        partyId: report.partyId,
        // The grid operator received the signal when the party reported it (GT-9).
        receivedAt: report.reportedAt,
        reporterName: reporter ? `${reporter.name} (GT-9)` : 'supplier report (GT-9)',
        description: `GT-9 report by the party. Findings: ${report.findings}\nActions: ${report.actions}`,
      };
    } else {
      if (b.channel === 'supplier_report') throw validationError('supplier_report_required', 'Channel supplier_report needs supplierReportId', 'body.supplierReportId');
      for (const f of ['connectionEan', 'partyGln', 'channel', 'receivedAt', 'reporterName', 'description'] as const) {
        if (b[f] === undefined) throw validationError('field_required', `${f} is required`, `body.${f}`);
      }
    }
    const connectionEan = b.connectionEan ?? defaults!.connectionEan;
    assertEan(connectionEan, 'body.connectionEan');
    let partyId = defaults?.partyId;
    if (b.partyGln !== undefined) {
      const party = await requirePartyByGln(db, b.partyGln, 'body.partyGln');
      if (partyId !== undefined && party.id !== partyId) throw validationError('supplier_report_mismatch', 'partyGln differs from the supplier report', 'body.partyGln');
      partyId = party.id;
    }
    return openCase(service, {
      ...actorFrom(p),
      gridOperatorId,
      partyId: partyId!,
      connectionEan,
      channel: b.supplierReportId ? 'supplier_report' : b.channel!,
      receivedAt: b.receivedAt !== undefined ? new Date(b.receivedAt) : defaults!.receivedAt,
      reporterName: b.reporterName ?? defaults!.reporterName,
      reporterContact: b.reporterContact ?? null,
      description: b.description ?? defaults!.description,
      isma: b.isma,
      externalReference: b.externalReference ?? null,
      idempotencyKey: idempotencyKey ?? null,
      supplierReportId: b.supplierReportId ?? null,
      at: new Date(),
    });
  }

  const createdSchema = {
    201: CaseCreated,
    200: CaseCreated,
    ...errorResponses(...BODY_ERRORS, 404, 409, 503),
  };

  app.post(
    '/cases',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'Register a signal (GT-1, GT-2): the case, and its block in force before the answer',
        description:
          'Idempotent: a repeat with the same Idempotency-Key header, externalReference or supplierReportId answers 200 with the case the first request created (201). ' +
          'Only connections of the handler’s own grid operator (others: 404). The workflow contacts the party’s doubt contact group (GT-1, GT-10). ' +
          '503 temporal_unavailable: the case and block are committed but the workflow could not be started; repeat with the same Idempotency-Key.',
        headers: IdempotencyHeaders,
        body: CaseCreate,
        response: createdSchema,
      },
    },
    async (req, reply) => {
      const { row, created } = await intake(req.principal, req.body, req.headers['idempotency-key']);
      const [summary] = await summaries([row]);
      return reply
        .status(created ? 201 : 200)
        .header('location', `/cases/${row.id}`)
        .send({ ...summary!, created, blockInForce: true });
    },
  );

  app.post(
    '/supplier-reports/:id/cases',
    {
      preHandler: handler,
      schema: {
        tags: ['cases', 'supplier-reports'],
        summary: 'Open a case from a GT-9 supplier report (same as POST /cases with supplierReportId)',
        description: 'Idempotent per report: a second call answers 200 with the case the first one opened.',
        params: ReportParams,
        headers: IdempotencyHeaders,
        body: CaseFromReport,
        response: createdSchema,
      },
    },
    async (req, reply) => {
      const { row, created } = await intake(req.principal, { ...req.body, supplierReportId: req.params.id }, req.headers['idempotency-key']);
      const [summary] = await summaries([row]);
      return reply
        .status(created ? 201 : 200)
        .header('location', `/cases/${row.id}`)
        .send({ ...summary!, created, blockInForce: true });
    },
  );

  app.get(
    '/cases',
    {
      preHandler: readers,
      schema: {
        tags: ['cases'],
        summary: 'Cases, newest signal first; case handlers see their grid operator’s, parties their own',
        querystring: CaseQuery,
        response: { 200: CaseList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const p = req.principal;
      let gridOperatorId: string | undefined;
      let partyId: string | undefined;
      if (q.gridOperatorGln) gridOperatorId = (await requirePartyByGln(db, q.gridOperatorGln, 'query.gridOperatorGln')).id;
      if (q.partyGln) partyId = (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id;
      if (p.role === 'case-handler') {
        const own = partyOf(p);
        if (gridOperatorId !== undefined && gridOperatorId !== own) throw validationError('grid_operator_scope', 'A case handler lists its own grid operator’s cases only', 'query.gridOperatorGln');
        gridOperatorId = own;
      } else if (p.role === 'supplier') {
        const own = partyOf(p);
        if (partyId !== undefined && partyId !== own) throw validationError('party_scope', 'A party lists the cases about itself only', 'query.partyGln');
        partyId = own;
      }
      const now = new Date();
      const { items, total } = await listCases(db, {
        gridOperatorId,
        partyId,
        status: q.status,
        channel: q.channel,
        dueBefore: q.dueBefore ? new Date(q.dueBefore) : undefined,
        breached: q.breached,
        limit: q.limit,
        offset: q.offset,
        now,
      });
      return { items: await summaries(items, now), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/cases/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['cases'],
        summary: 'One case: state, every deadline (met / missed / pending), timeline, responses (metadata only)',
        description: 'The party the case is about does not see the reporter, the description, internal notes or who did what.',
        params: CaseParams,
        response: { 200: CaseDetailSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const p = req.principal;
      const row = await visibleCase(db, p, req.params.id);
      const full = p.role !== 'supplier';
      const [[summary], responses, trail, workflow] = await Promise.all([summaries([row]), listResponses(db, row.id), caseAuditTrail(db, row.id), workflowView(row)]);
      const dto: CaseDetailDto = {
        ...summary!,
        closedBy: full ? row.closedBy : null,
        closeReason: row.closeReason,
        acmNotifiedAt: full ? (row.acmNotifiedAt?.toISOString() ?? null) : null,
        profileEffectiveFrom: row.profileEffectiveFrom?.toISOString() ?? null,
        workflow,
        responses: responses.map(toResponseDto),
        timeline: trail.filter((e) => full || !INTERNAL_ACTIONS.has(e.action)).map((e) => toTimelineDto(e, full)),
      };
      if (full) {
        dto.reporterName = row.reporterName;
        dto.reporterContact = row.reporterContact;
        dto.description = row.description;
      }
      return dto;
    },
  );

  app.post(
    '/cases/:id/responses',
    {
      preHandler: requireRole('supplier'),
      bodyLimit: responseBodyLimit,
      schema: {
        tags: ['cases'],
        summary: 'The party’s answer (GT-3): findings, complaint handling and optionally the mandate evidence',
        description:
          'Evidence: PDF, PNG or JPEG, base64 in JSON, checked against its content (400 evidence_type_not_allowed / evidence_type_mismatch / evidence_not_base64 / evidence_too_large). ' +
          'After the 72 hours, or once the case is decided: 409 response_window_closed — late evidence does not reopen the case; restart the regular processes (P4 request process or iSMA), GT-8.',
        params: CaseParams,
        body: ResponseCreate,
        response: { 201: ResponseCreated, ...errorResponses(...BODY_ERRORS, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      const row = await visibleCase(db, p, req.params.id);
      const b = req.body;
      const result = await submitResponse(service, {
        ...actorFrom(p),
        caseId: row.id,
        partyId: partyOf(p),
        findings: b.findings,
        complaintHandling: b.complaintHandling,
        evidence: b.evidence ? { filename: b.evidence.filename, contentType: b.evidence.contentType, content: b.evidence.contentBase64 } : null,
      }).catch((err: unknown) => {
        // The service names its own input (evidence.content); this API calls it contentBase64.
        if (err instanceof DomainError && err.field === 'body.evidence.content') {
          throw new DomainError(err.kind, err.code, err.message, 'body.evidence.contentBase64', err.details, { cause: err });
        }
        throw err;
      });
      const [stored] = (await listResponses(db, row.id)).filter((r) => r.id === result.response.id);
      if (!stored) throw new Error(`response ${result.response.id} vanished`);
      return reply.status(201).header('location', `/cases/${row.id}`).send({ response: toResponseDto(stored), receivedAt: result.result.receivedAt, case: result.result.snapshot });
    },
  );

  app.post(
    '/cases/:id/judgements',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'Judge the evidence of a response: accept (GT-8: block lifted within 1 working day, retroactive) or reject (GT-4)',
        description:
          'Answers the case after the decision took effect. 409: nothing_to_judge (no response awaits a judgement), already_judged, response_refused, response_without_evidence (only evidence can be accepted), case_closed.',
        params: CaseParams,
        body: JudgementCreate,
        response: { 200: CaseSnapshotSchema, ...errorResponses(...BODY_ERRORS, 404, 409, 503) },
      },
    },
    async (req) => {
      const row = await visibleCase(db, req.principal, req.params.id);
      const b = req.body;
      return judgeEvidence(service, row.id, { ...actorFrom(req.principal), responseId: b.responseId, decision: b.decision, reason: b.reason ?? null });
    },
  );

  const handlerAction = { 200: CaseSnapshotSchema, ...errorResponses(...BODY_ERRORS, 404, 409, 503) };

  app.post(
    '/cases/:id/lift-block',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'The block was wrongful (GT-7): lift it at once, retroactively, and close the case',
        params: CaseParams,
        body: ReasonBody,
        response: handlerAction,
      },
    },
    async (req) => {
      const row = await visibleCase(db, req.principal, req.params.id);
      return liftWrongfulBlock(service, row.id, { ...actorFrom(req.principal), reason: req.body.reason });
    },
  );

  app.post(
    '/cases/:id/withdraw',
    {
      preHandler: handler,
      schema: { tags: ['cases'], summary: 'Withdraw the case (the signal was not about the party’s mandate); the block is lifted', params: CaseParams, body: ReasonBody, response: handlerAction },
    },
    async (req) => {
      const row = await visibleCase(db, req.principal, req.params.id);
      return withdrawCase(service, row.id, { ...actorFrom(req.principal), reason: req.body.reason });
    },
  );

  app.post(
    '/cases/:id/acm-notifications',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'Inform the ACM of the signal and the findings (GT-6)',
        description:
          'GT-6: at any time, also after the case closed. While the case workflow runs it sends the report; once its run has completed the API sends the same report itself ' +
          '(mail to the ACM, the notification, the audit entry and acmNotifiedAt recorded once). 503 mail_unavailable: the report could not be sent (or no mail server is configured for the API); nothing was recorded, repeat the request.',
        params: CaseParams,
        body: AcmNotificationCreate,
        response: { 201: AcmNotificationResult, ...errorResponses(...BODY_ERRORS, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const row = await visibleCase(db, req.principal, req.params.id);
      return reply.status(201).send(await notifyAcm(service, row.id, { ...actorFrom(req.principal), message: req.body.message }));
    },
  );

  app.post(
    '/cases/:id/notes',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'A note in the case timeline (the grid operator’s own; not shown to the party)',
        params: CaseParams,
        body: NoteCreate,
        response: { 201: NoteResult, ...errorResponses(...BODY_ERRORS, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const row = await visibleCase(db, req.principal, req.params.id);
      return reply.status(201).send(await addNote(service, row.id, { ...actorFrom(req.principal), text: req.body.text }));
    },
  );

  app.get(
    '/cases/:id/history',
    {
      preHandler: requireRole('compliance', 'admin'),
      schema: {
        tags: ['cases'],
        summary: 'The complete history: Temporal workflow events and audit entries, in time order (compliance)',
        description: `?format=export or Accept: ${HISTORY_EXPORT_TYPE} gives the raw export (Temporal history JSON, replayable, and the audit rows) as an attachment.`,
        params: CaseParams,
        querystring: HistoryQuery,
        response: {
          200: { content: { 'application/json': { schema: HistorySchema }, [HISTORY_EXPORT_TYPE]: { schema: HistoryExportSchema } } },
          ...errorResponses(...READ_ERRORS, 404, 503),
        },
      },
    },
    async (req, reply) => {
      const row = await visibleCase(db, req.principal, req.params.id);
      const historyDeps = { db, temporal };
      const wantsExport = req.query.format === 'export' || (req.query.format === undefined && (req.headers.accept ?? '').includes(HISTORY_EXPORT_TYPE));
      if (wantsExport) {
        const x = await caseHistoryExport(historyDeps, row.id);
        return reply
          .type(HISTORY_EXPORT_TYPE)
          .header('content-disposition', `attachment; filename="${row.reference}-history.json"`)
          .send({ caseId: row.id, reference: row.reference, exportedAt: new Date().toISOString(), temporal: x.temporal, audit: x.audit });
      }
      const h = await caseHistory(historyDeps, row.id);
      return reply.type('application/json').send({ caseId: row.id, reference: row.reference, temporalSource: h.temporalSource, entries: h.entries });
    },
  );
};

export default caseRoutes;
