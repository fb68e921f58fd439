/**
 * GET /work-items: the cases, reviews and breach assessments waiting for a person, soonest expiring first
 * (domain/work-items.ts). A case handler, privacy officer or compliance officer sees its own grid operator's
 * items only (domain/visibility.ts scopeOf), admin every operator's; a branch analyst has no queue (403).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { errorResponses, ownFilter, READ_ERRORS } from '../plugins/core-access.js';
import { toWorkItemDto, WorkItemList, WorkItemQuery } from '../schemas/work-items.js';
import { workQueuePage } from '../../services/work-items/queue.js';

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
          'A case handler sees its grid operator’s case and review items, a privacy officer its GT-11 decisions, compliance every kind of its grid operator, admin all. ' +
          'Paged in the queue’s order: `limit` items (1–500, default 50) from `offset` (default 0); `total` counts the whole queue of the kinds asked for. The order and the page are worked out in the database, so a page costs about the same at any queue length.',
        querystring: WorkItemQuery,
        response: { 200: WorkItemList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const q = req.query;
      const now = new Date();
      const horizonHours = q.horizonHours ?? config.workItemsHorizonHours;
      const viewer = { role: req.principal.role, gridOperatorId: ownFilter(req.principal).gridOperatorId };
      // Ordered and paged in SQL as far as the cases go (services/work-items/queue.ts), not all read and sorted here.
      const page = await workQueuePage(
        db,
        viewer,
        { now, horizonHours },
        { kinds: q.kind, limit: q.limit, offset: q.offset },
      );
      return {
        items: page.items.map((i) => toWorkItemDto(i, now)),
        total: page.total,
        limit: q.limit,
        offset: q.offset,
        horizonHours,
        generatedAt: now.toISOString(),
      };
    },
  );
};

export default workItemRoutes;
