/**
 * What is done on a case: the party's response (GT-3) and the case handler's actions — asking for more
 * evidence (GT-3), judging the evidence (GT-4, GT-8), lifting a wrongful block (GT-7), withdrawing with a
 * reason code (GT-7), informing the ACM (GT-6), notes.
 * Each answers after the workflow took the step; each is audited with who and when by the service and
 * the workflow.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole, type Principal } from '../../plugins/auth.js';
import { ACTION_ERRORS, ActionHeaders, caseAction } from '../../plugins/case-action.js';
import { actorFrom, BODY_ERRORS, errorResponses, partyOf, signerOf } from '../../plugins/core-access.js';
import {
  AcmNotificationCreate,
  AcmNotificationResult,
  CaseParams,
  CaseSnapshotSchema,
  EvidenceRequestCreate,
  EvidenceRequestCreated,
  JudgementCreate,
  ManualContactCreate,
  NoteCreate,
  NoteResult,
  ReasonBody,
  ResponseCreate,
  ResponseCreated,
  toResponseDto,
  WithdrawalResult,
  WithdrawBody,
} from '../../schemas/cases.js';
import { listResponses } from '../../../db/repositories/cases.js';
import type { Actor } from '../../../db/repositories/actor.js';
import {
  addNote,
  judgeEvidence,
  liftWrongfulBlock,
  notifyAcm,
  recordManualContact,
  requestEvidence,
  submitResponse,
  withdrawCase,
  type CaseServiceDeps,
} from '../../../services/cases/actions.js';
import type { CaseSnapshot } from '../../../workflows/shared.js';
import type { CaseRoutesContext } from './context.js';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const caseActionRoutes: FastifyPluginAsyncTypebox<{ cases: CaseRoutesContext }> = async (app, { cases }) => {
  const { db, service } = cases;
  const handler = requireRole('case-handler');
  // Evidence travels as base64 inside JSON (4/3 of the file) next to the texts: this route only.
  const { config } = app.deps;
  const responseBodyLimit = Math.max(config.bodyLimit, Math.ceil(config.evidenceMaxBytes / 3) * 4 + 64 * 1024);
  const handlerAction = { 200: CaseSnapshotSchema, ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS) };

  /** A handler's action that only needs a reason: on the visible case, by the caller. */
  type ReasonAction = (deps: CaseServiceDeps, caseId: string, a: Actor & { reason: string }) => Promise<CaseSnapshot>;
  async function withReason(action: ReasonAction, p: Principal, caseId: string, reason: string) {
    const row = await cases.visibleCase(p, caseId);
    return action(service, row.id, { ...actorFrom(p), reason });
  }

  app.post(
    '/cases/:id/responses',
    {
      preHandler: requireRole('supplier'),
      bodyLimit: responseBodyLimit,
      // The service names the decoded file evidence.content; this API carries it as contentBase64.
      config: { errorFields: { 'evidence.content': 'body.evidence.contentBase64' } },
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
      const row = await cases.visibleCase(p, req.params.id);
      const { evidence, ...texts } = req.body;
      const upload = evidence
        ? { filename: evidence.filename, contentType: evidence.contentType, content: evidence.contentBase64 }
        : null;
      const result = await submitResponse(service, {
        ...actorFrom(p),
        ...texts,
        caseId: row.id,
        partyId: partyOf(p),
        evidence: upload,
      });
      const [stored] = (await listResponses(db, row.id)).filter((r) => r.id === result.response.id);
      if (!stored) throw new Error(`response ${result.response.id} vanished`);
      return reply
        .status(201)
        .header('location', `/cases/${row.id}`)
        .send({
          response: toResponseDto(stored, false),
          receivedAt: result.result.receivedAt,
          case: result.result.snapshot,
        });
    },
  );

  app.post(
    '/cases/:id/judgements',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary:
          'Judge the evidence of a response: accept (GT-8: block lifted within 1 working day, retroactive) or reject (GT-4)',
        description:
          'Answers the case after the decision took effect. 409: nothing_to_judge (no response awaits a judgement), already_judged, response_refused, response_without_evidence (only evidence can be accepted), case_closed. ' +
          'A rejection ("not demonstrated") is signed with the key holder’s recorded name and role: 403 key_holder_required for a key without one.',
        params: CaseParams,
        headers: ActionHeaders,
        body: JudgementCreate,
        response: { 200: CaseSnapshotSchema, ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS) },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, async () => {
        const row = await cases.visibleCase(req.principal, req.params.id);
        // A rejection is the "not demonstrated" judgement: it names the person (domain/visibility.ts signatureOf)
        // and its audit entry what it was signed with (issue 19: the step-up, or the key's holder).
        const signed = req.body.decision === 'reject' ? { signedWith: signerOf(req.principal).signedWith } : {};
        const j = { responseId: req.body.responseId, decision: req.body.decision, reason: req.body.reason ?? null };
        return judgeEvidence(service, row.id, { ...actorFrom(req.principal), ...j, ...signed });
      }),
  );

  app.post(
    '/cases/:id/contacts',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'Record contact made by telephone, in a meeting or by letter: it counts as the GT-1 contact',
        description:
          'The contact mail (perhaps failing, e.g. an empty doubt contact group) is stopped and the 72 hours run from contactedAt (GT-3). ' +
          'Answers the case with its deadlines. 409 already_contacted, case_closed; 400 contact_time_invalid (before the signal or in the future).',
        params: CaseParams,
        headers: ActionHeaders,
        body: ManualContactCreate,
        response: {
          200: { ...CaseSnapshotSchema, description: 'The case, contacted, with the 72 hours running' },
          ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS),
        },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, async () => {
        const row = await cases.visibleCase(req.principal, req.params.id);
        return recordManualContact(service, row.id, { ...actorFrom(req.principal), ...req.body });
      }),
  );

  app.post(
    '/cases/:id/lift-block',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'The block was wrongful (GT-7): lift it at once, retroactively, and close the case',
        params: CaseParams,
        headers: ActionHeaders,
        body: ReasonBody,
        response: handlerAction,
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, () => withReason(liftWrongfulBlock, req.principal, req.params.id, req.body.reason)),
  );

  app.post(
    '/cases/:id/withdraw',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary:
          'Withdraw the case with a reason code (GT-7); the block is lifted, the code decides the blocked period',
        description:
          'not_concerning_party: the signal did not concern this party, a wrongful block (GT-7): the case closes as closed_wrongful_block, the block is lifted within 1 working day and the blocked period released (retroactive, as GT-8). ' +
          'reporter_withdrew and other: the block is lifted now, the blocked period stays closed (consent for it was not demonstrated, GT-8). ' +
          'duplicate: this case’s block is lifted now and its own period released; the case about the same signal keeps its block and decides the period. ' +
          'Without reasonCode: other. The answer states the effect (withdrawal), as does the case history. 409 case_closed.',
        params: CaseParams,
        headers: ActionHeaders,
        body: WithdrawBody,
        response: { 200: WithdrawalResult, ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS) },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, async () => {
        const row = await cases.visibleCase(req.principal, req.params.id);
        return withdrawCase(service, row.id, { ...actorFrom(req.principal), ...req.body });
      }),
  );

  app.post(
    '/cases/:id/evidence-requests',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'Ask the party for more or other evidence within its 72 hours (GT-3); they do not restart',
        description:
          'Recorded (case history, GET /cases/{id} evidenceRequests) and mailed, Dutch with English below, to the party’s doubt contact group (GT-10) with what is needed, the response endpoint and the unchanged reply-by instant; ' +
          'the mail is retried until sent, always with the same text. The party answers through POST /cases/{id}/responses. ' +
          '409 response_window_not_open (not contacted yet), response_window_closed (the 72 hours are over), case_closed.',
        params: CaseParams,
        headers: ActionHeaders,
        body: EvidenceRequestCreate,
        response: {
          201: { ...EvidenceRequestCreated, description: 'The request, recorded; the mail follows' },
          ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS),
        },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, { status: 201, headers: { location: `/cases/${req.params.id}` } }, async () => {
        const row = await cases.visibleCase(req.principal, req.params.id);
        return requestEvidence(service, row.id, { ...actorFrom(req.principal), message: req.body.message });
      }),
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
        headers: ActionHeaders,
        body: AcmNotificationCreate,
        response: { 201: AcmNotificationResult, ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS) },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, { status: 201 }, async () => {
        const row = await cases.visibleCase(req.principal, req.params.id);
        return notifyAcm(service, row.id, { ...actorFrom(req.principal), message: req.body.message });
      }),
  );

  app.post(
    '/cases/:id/notes',
    {
      preHandler: handler,
      schema: {
        tags: ['cases'],
        summary: 'A note in the case timeline (the grid operator’s own; not shown to the party)',
        params: CaseParams,
        headers: ActionHeaders,
        body: NoteCreate,
        response: { 201: NoteResult, ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS) },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, { status: 201 }, async () => {
        const row = await cases.visibleCase(req.principal, req.params.id);
        return addNote(service, row.id, { ...actorFrom(req.principal), text: req.body.text });
      }),
  );
};

export default caseActionRoutes;
