/**
 * Compliance: the complete history of a case — the Temporal workflow events and the audit entries in
 * time order — or the raw export (Temporal's history JSON, replayable, and the audit rows).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../../plugins/auth.js';
import { errorResponses, READ_ERRORS } from '../../plugins/core-access.js';
import { CaseParams, HistoryExportSchema, HistoryQuery, HistorySchema } from '../../schemas/cases.js';
import { caseHistory, caseHistoryExport } from '../../../services/cases/history.js';
import type { CaseRoutesContext } from './context.js';

/** Media type of the raw history export (also `?format=export`). */
export const HISTORY_EXPORT_TYPE = 'application/vnd.gerede-twijfel.case-history+json';

const caseHistoryRoutes: FastifyPluginAsyncTypebox<{ cases: CaseRoutesContext }> = async (app, { cases }) => {
  const historyDeps = { db: cases.db, temporal: cases.service.temporal };

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
          200: {
            content: {
              'application/json': { schema: HistorySchema },
              [HISTORY_EXPORT_TYPE]: { schema: HistoryExportSchema },
            },
          },
          ...errorResponses(...READ_ERRORS, 404, 503),
        },
      },
    },
    async (req, reply) => {
      const row = await cases.visibleCase(req.principal, req.params.id);
      const wantsExport =
        req.query.format === 'export' ||
        (req.query.format === undefined && (req.headers.accept ?? '').includes(HISTORY_EXPORT_TYPE));
      if (wantsExport) {
        const x = await caseHistoryExport(historyDeps, row.id);
        return reply
          .type(HISTORY_EXPORT_TYPE)
          .header('content-disposition', `attachment; filename="${row.reference}-history.json"`)
          .send({
            caseId: row.id,
            reference: row.reference,
            exportedAt: new Date().toISOString(),
            temporal: x.temporal,
            audit: x.audit,
          });
      }
      const h = await caseHistory(historyDeps, row.id);
      return reply
        .type('application/json')
        .send({ caseId: row.id, reference: row.reference, temporalSource: h.temporalSource, entries: h.entries });
    },
  );
};

export default caseHistoryRoutes;
