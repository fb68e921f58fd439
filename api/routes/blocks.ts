/**
 * Blocks (GT-2, GT-7, GT-8), keyed by the doubt case that caused them: read-only here. A block is placed only
 * at intake (services/cases/intake.ts) and lifted only by the case's own process (its workflow's decisions and
 * closing effects), so no one can place a block without a case or lift one behind the case's back (issue 18).
 * Case handlers and compliance officers read their own grid operator's connections (others: 404), admins any.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import type { Principal } from '../plugins/auth.js';
import { errorResponses, jsonBodiesOnly, ownFilter, READ_ERRORS } from '../plugins/core-access.js';
import { BlockList, BlockQuery, BlockSchema, CaseParams, toBlockDto } from '../schemas/blocks.js';
import { getBlockByCase, listBlocks } from '../../db/repositories/blocks.js';
import { getConnection } from '../../db/repositories/connections.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import type { Block } from '../../db/schema/index.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';
import { notFound } from '../../lib/errors.js';
import type { Db } from '../../db/client.js';

/** A block is seen as the connection it is on (domain/visibility.ts); others answer 404. */
async function visibleBlock(db: Db, p: Principal, caseId: string): Promise<Block> {
  const b = await getBlockByCase(db, caseId);
  const c = b ? await getConnection(db, b.connectionEan) : undefined;
  if (!b || !c || !visibleTo(p, connectionOwner(c)))
    throw notFound('block_not_found', `No block for case ${caseId}`, 'params.caseId');
  return b;
}

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const blockRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db } = app.deps;
  const readers = requireRole('admin', 'compliance', 'case-handler');

  app.get(
    '/blocks',
    {
      preHandler: readers,
      schema: {
        tags: ['blocks'],
        summary: 'Blocks, newest first',
        querystring: BlockQuery,
        response: { 200: BlockList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const partyId = q.partyGln ? (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id : undefined;
      const { items, total } = await listBlocks(db, {
        connectionEan: q.connectionEan,
        partyId,
        active: q.active,
        gridOperatorId: ownFilter(req.principal).gridOperatorId,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: items.map(toBlockDto), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/blocks/:caseId',
    {
      preHandler: readers,
      schema: {
        tags: ['blocks'],
        summary: 'The block of a doubt case',
        params: CaseParams,
        response: { 200: BlockSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => toBlockDto(await visibleBlock(db, req.principal, req.params.caseId)),
  );
};

export default blockRoutes;
