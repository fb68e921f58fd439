/**
 * GET /work-items: the cases, reviews and breach assessments waiting for a person, soonest expiring first
 * (domain/work-items.ts). A case handler, privacy officer or compliance officer sees its own grid operator's
 * items only (domain/visibility.ts scopeOf), admin every operator's; a branch analyst has no queue (403).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { errorResponses, ownFilter, READ_ERRORS } from '../plugins/core-access.js';
import { toWorkItemDto, WorkItemList, WorkItemQuery } from '../schemas/work-items.js';
import { workQueueOf } from '../../services/work-items/queue.js';

const workItemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app.deps;

  app.get(
    '/work-items',
    {
      preHandler: requireRole('case-handler', 'privacy-officer', 'compliance', 'admin'),
      schema: {
        tags: ['cases'],
        summary: 'What waits for a person, and by when: the work queue, soonest expiring first',
        description:
          'Evidence to judge, a failing contact mail or an empty CPR contact group, a case deadline within horizonHours (or passed), a GT-5 vote or ACM decision, a GT-11 decision, a legal hold to release. ' +
          'A case handler sees its grid operator’s case and review items, a privacy officer its GT-11 decisions, compliance every kind of its grid operator, admin all.',
        querystring: WorkItemQuery,
        response: { 200: WorkItemList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const q = req.query;
      const now = new Date();
      const horizonHours = q.horizonHours ?? config.workItemsHorizonHours;
      const viewer = { role: req.principal.role, gridOperatorId: ownFilter(req.principal).gridOperatorId };
      const all = await workQueueOf(db, viewer, now, horizonHours);
      const items = q.kind ? all.filter((i) => q.kind!.includes(i.kind)) : all;
      return {
        items: items.slice(q.offset, q.offset + q.limit).map((i) => toWorkItemDto(i, now)),
        total: items.length,
        limit: q.limit,
        offset: q.offset,
        horizonHours,
        generatedAt: now.toISOString(),
      };
    },
  );
};

export default workItemRoutes;
