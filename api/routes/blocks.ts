/**
 * Blocks (GT-2, GT-7, GT-8), keyed by the doubt case that caused them. Case handlers place and lift
 * blocks on their own grid operator's connections (others: 404), admins on any; a compliance officer reads its grid operator's.
 * Placing is idempotent (PUT: 201 the first time, 200 after), lifting too.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import type { Principal } from '../plugins/auth.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  jsonBodiesOnly,
  ownFilter,
  READ_ERRORS,
} from '../plugins/core-access.js';
import {
  BlockLift,
  BlockList,
  BlockPlace,
  BlockQuery,
  BlockSchema,
  CaseParams,
  toBlockDto,
} from '../schemas/blocks.js';
import { getBlockByCase, liftBlock, listBlocks, placeBlock } from '../../db/repositories/blocks.js';
import { getConnection, requireConnection } from '../../db/repositories/connections.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import type { Block } from '../../db/schema/index.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';
import { DomainError, notFound } from '../../lib/errors.js';
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
  const writers = requireRole('admin', 'case-handler');

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

  app.put(
    '/blocks/:caseId',
    {
      preHandler: writers,
      schema: {
        tags: ['blocks'],
        summary:
          'Block a party on a connection for requests that need an additional mandate (GT-2); idempotent per case',
        params: CaseParams,
        body: BlockPlace,
        response: { 200: BlockSchema, 201: BlockSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      const conn = await requireConnection(db, req.body.connectionEan, 'body.connectionEan', (c) =>
        visibleTo(p, connectionOwner(c)),
      );
      const party = await requirePartyByGln(db, req.body.partyGln, 'body.partyGln');
      const { block, created } = await placeBlock(db, {
        ...actorFrom(p),
        caseId: req.params.caseId,
        partyId: party.id,
        connectionEan: conn.ean,
        at: req.body.at ? new Date(req.body.at) : new Date(),
      }).catch(async (err: unknown) => {
        // The case already blocks another party or connection: unless the caller may see that block, the
        // same 404 as a read (a 409 would name another grid operator's party and connection).
        if (err instanceof DomainError && err.code === 'block_case_mismatch')
          await visibleBlock(db, p, req.params.caseId);
        throw err;
      });
      return reply.status(created ? 201 : 200).send(toBlockDto(block));
    },
  );

  app.post(
    '/blocks/:caseId/lift',
    {
      preHandler: writers,
      schema: {
        tags: ['blocks'],
        summary: 'Lift the block of a case (GT-7, GT-8); retroactive releases the blocked period; idempotent',
        params: CaseParams,
        body: BlockLift,
        response: { 200: BlockSchema, ...errorResponses(...BODY_ERRORS, 404) },
      },
    },
    async (req) => {
      await visibleBlock(db, req.principal, req.params.caseId);
      const { block } = await liftBlock(db, {
        ...actorFrom(req.principal),
        caseId: req.params.caseId,
        reason: req.body.reason,
        retroactive: req.body.retroactive,
        at: req.body.at ? new Date(req.body.at) : new Date(),
      });
      return toBlockDto(block);
    },
  );
};

export default blockRoutes;
