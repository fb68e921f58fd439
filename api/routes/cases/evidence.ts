/**
 * The evidence the handler judges (GT-3, GT-8): a case handler of the grid operator (and compliance) opens
 * each response's copy, every opening recorded; a legal hold (the case went to the ACM, the AP or the
 * disputes committee) keeps the copies beyond the decision until it is released.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../../plugins/auth.js';
import { ACTION_ERRORS, ActionHeaders, caseAction } from '../../plugins/case-action.js';
import { actorFrom, BODY_ERRORS, errorResponses, READ_ERRORS } from '../../plugins/core-access.js';
import {
  CaseParams,
  EvidenceParams,
  LegalHoldCreate,
  LegalHoldRelease,
  LegalHoldResult,
  toLegalHoldDto,
} from '../../schemas/cases.js';
import { liftLegalHold, openResponseEvidence, placeLegalHold } from '../../../services/cases/evidence.js';
import type { CaseRoutesContext } from './context.js';

const caseEvidenceRoutes: FastifyPluginAsyncTypebox<{ cases: CaseRoutesContext }> = async (app, { cases }) => {
  const { db } = cases;
  const operator = requireRole('case-handler', 'compliance');

  app.get(
    '/cases/:id/responses/:responseId/evidence',
    {
      preHandler: operator,
      config: { errorFields: { responseId: 'params.responseId' } },
      schema: {
        tags: ['cases'],
        summary: 'Download a response’s evidence to judge it (case handler, compliance); every opening is recorded',
        description:
          'The copy as the party uploaded it, with Content-Type, Content-Disposition (filename), Content-Length and ' +
          'X-Evidence-SHA256 (hex) / Repr-Digest (sha-256). Each download is an audit entry case.evidence_opened ' +
          '(who, when, digest). After the decision the copy is destroyed (GT-8) unless a legal hold keeps it: ' +
          '409 evidence_destroyed with the digest.',
        params: EvidenceParams,
        response: {
          200: {
            description: 'The evidence file (PDF, PNG or JPEG)',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          ...errorResponses(...READ_ERRORS, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const row = await cases.visibleCase(req.principal, req.params.id);
      const copy = await openResponseEvidence(db, {
        ...actorFrom(req.principal),
        caseId: row.id,
        responseId: req.params.responseId,
      });
      const ascii = copy.filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
      return reply
        .type(copy.contentType)
        .header(
          'content-disposition',
          `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(copy.filename)}`,
        )
        .header('x-evidence-sha256', copy.sha256)
        .header('repr-digest', `sha-256=:${Buffer.from(copy.sha256, 'hex').toString('base64')}:`)
        .header('cache-control', 'no-store')
        .send(copy.content);
    },
  );

  app.post(
    '/cases/:id/legal-hold',
    {
      preHandler: operator,
      schema: {
        tags: ['cases'],
        summary:
          'Set a legal hold: the evidence is kept beyond the decision (case to the ACM, AP or disputes committee)',
        description:
          'Recorded as case.legal_hold_set. While set, closing the case does not destroy the evidence copies (GT-8 ' +
          'postponed). 409 legal_hold_already_set when one is in force.',
        params: CaseParams,
        headers: ActionHeaders,
        body: LegalHoldCreate,
        response: {
          200: { ...LegalHoldResult, description: 'The hold in force and the number of copies it keeps' },
          ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS),
        },
      },
    },
    async (req, reply) =>
      caseAction(
        req,
        reply,
        { present: (r) => ({ legalHold: toLegalHoldDto(r.hold), copiesHeld: r.copiesHeld }) },
        async () => {
          const row = await cases.visibleCase(req.principal, req.params.id);
          return placeLegalHold(db, { ...actorFrom(req.principal), caseId: row.id, ...req.body });
        },
      ),
  );

  app.post(
    '/cases/:id/legal-hold/release',
    {
      preHandler: operator,
      schema: {
        tags: ['cases'],
        summary: 'Release the legal hold; on a closed case the evidence copies are destroyed at once (GT-8)',
        description: 'Recorded as case.legal_hold_released. 409 no_legal_hold when none is in force.',
        params: CaseParams,
        headers: ActionHeaders,
        body: LegalHoldRelease,
        response: {
          200: { ...LegalHoldResult, description: 'No hold in force; the copies destroyed by the release' },
          ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS),
        },
      },
    },
    async (req, reply) =>
      caseAction(
        req,
        reply,
        { present: (r) => ({ legalHold: null, evidenceDestroyed: r.evidenceDestroyed }) },
        async () => {
          const row = await cases.visibleCase(req.principal, req.params.id);
          return liftLegalHold(db, { ...actorFrom(req.principal), caseId: row.id, reason: req.body.reason });
        },
      ),
  );
};

export default caseEvidenceRoutes;
