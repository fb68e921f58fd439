/**
 * GT-1 / GT-2 intake: POST /cases (the signal's facts, or a GT-9 supplier report to open it from) and
 * POST /supplier-reports/{id}/cases. The block is in force before the answer; the workflow contacts the
 * party's doubt contact group (GT-1, GT-10).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { requireRole, type Principal } from '../../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, partyOf } from '../../plugins/core-access.js';
import {
  CaseCreate,
  CaseCreated,
  CaseFromReport,
  IdempotencyHeaders,
  type CaseCreateBody,
} from '../../schemas/cases.js';
import { ReportParams } from '../../schemas/supplier-reports.js';
import { registerSignal } from '../../../services/cases/intake.js';
import type { CaseRoutesContext } from './context.js';

const caseIntakeRoutes: FastifyPluginAsyncTypebox<{ cases: CaseRoutesContext }> = async (app, { cases }) => {
  const handler = requireRole('case-handler');
  const response = { 201: CaseCreated, 200: CaseCreated, ...errorResponses(...BODY_ERRORS, 404, 409, 503) };
  // The intake names the party it resolved (partyId) and the key it deduplicates on (idempotencyKey).
  const config = { errorFields: { partyId: 'body.partyGln', idempotencyKey: 'headers.idempotency-key' } };

  /** One intake for both routes: 201 with the new case, 200 with the one a repeat finds. */
  async function intake(p: Principal, b: CaseCreateBody, idempotencyKey: string | undefined, reply: FastifyReply) {
    const signal = {
      ...b,
      receivedAt: b.receivedAt === undefined ? undefined : new Date(b.receivedAt),
      idempotencyKey,
    };
    const { row, created } = await registerSignal(
      cases.service,
      { ...actorFrom(p), gridOperatorId: partyOf(p) },
      signal,
    );
    const [summary] = await cases.summaries([row]);
    return reply
      .status(created ? 201 : 200)
      .header('location', `/cases/${row.id}`)
      .send({ ...summary!, created, blockInForce: true });
  }

  app.post(
    '/cases',
    {
      preHandler: handler,
      config,
      schema: {
        tags: ['cases'],
        summary: 'Register a signal (GT-1, GT-2): the case, and its block in force before the answer',
        description:
          'Idempotent: a repeat with the same Idempotency-Key header, externalReference or supplierReportId answers 200 with the case the first request created (201). ' +
          'Only connections of the handler’s own grid operator (others: 404). The workflow contacts the party’s doubt contact group (GT-1, GT-10). ' +
          '503 temporal_unavailable: the case and block are committed but the workflow could not be started; a running worker starts it within 30 s of Temporal answering again (repeating with the same Idempotency-Key is safe). 503 database_unavailable: nothing was written; repeat after Retry-After.',
        headers: IdempotencyHeaders,
        body: CaseCreate,
        response,
      },
    },
    async (req, reply) => intake(req.principal, req.body, req.headers['idempotency-key'], reply),
  );

  app.post(
    '/supplier-reports/:id/cases',
    {
      preHandler: handler,
      config,
      schema: {
        tags: ['cases', 'supplier-reports'],
        summary: 'Open a case from a GT-9 supplier report (same as POST /cases with supplierReportId)',
        description: 'Idempotent per report: a second call answers 200 with the case the first one opened.',
        params: ReportParams,
        headers: IdempotencyHeaders,
        body: CaseFromReport,
        response,
      },
    },
    async (req, reply) =>
      intake(req.principal, { ...req.body, supplierReportId: req.params.id }, req.headers['idempotency-key'], reply),
  );
};

export default caseIntakeRoutes;
