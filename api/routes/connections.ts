/**
 * Connections: admin maintains them; case handlers see their own grid operator's connections,
 * a compliance officer its grid operator's. Supplier and customer change only through events (DC-4).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  jsonBodiesOnly,
  ownFilter,
  READ_ERRORS,
} from '../plugins/core-access.js';
import {
  AllocationMethodCreate,
  AllocationMethodRowSchema,
  AllocationStateSchema,
  ConnectionCreate,
  ConnectionEventCreate,
  ConnectionEventResult,
  ConnectionEventSchema,
  ConnectionList,
  ConnectionPatch,
  ConnectionQuery,
  ConnectionSchema,
  EanParams,
  toAllocationDto,
  toConnectionDto,
  toEventDto,
} from '../schemas/connections.js';
import { Type } from '@sinclair/typebox';
import {
  createConnection,
  listConnectionEvents,
  listConnections,
  recordConnectionEvent,
  requireConnection,
  updateConnection,
} from '../../db/repositories/connections.js';
import { allocationState, setAllocationMethod } from '../../db/repositories/allocation.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';

const connectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db } = app.deps;
  const readers = requireRole('admin', 'compliance', 'case-handler');
  const admin = requireRole('admin');

  app.post(
    '/connections',
    {
      preHandler: admin,
      schema: {
        tags: ['connections'],
        summary: 'Register a connection (18-digit EAN with GS1 check digit)',
        body: ConnectionCreate,
        response: { 201: ConnectionSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const { allocationMethod, ...b } = req.body;
      const conn = await createConnection(db, actorFrom(req.principal), {
        ...b,
        ...(allocationMethod
          ? {
              allocationMethod: {
                method: allocationMethod.method,
                effectiveFrom: new Date(allocationMethod.effectiveFrom),
              },
            }
          : {}),
      });
      return reply.status(201).send(toConnectionDto(conn));
    },
  );

  app.get(
    '/connections',
    {
      preHandler: readers,
      schema: {
        tags: ['connections'],
        summary: 'List connections (case handlers: their grid operator only)',
        querystring: ConnectionQuery,
        response: { 200: ConnectionList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const own = ownFilter(req.principal);
      const gridOperatorId =
        own.gridOperatorId ??
        (q.gridOperatorGln ? (await requirePartyByGln(db, q.gridOperatorGln, 'query.gridOperatorGln')).id : undefined);
      const supplierId = q.supplierGln
        ? (await requirePartyByGln(db, q.supplierGln, 'query.supplierGln')).id
        : undefined;
      const { items, total } = await listConnections(db, {
        gridOperatorId,
        supplierId,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: items.map(toConnectionDto), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/connections/:ean',
    {
      preHandler: readers,
      schema: {
        tags: ['connections'],
        summary: 'A connection',
        params: EanParams,
        response: { 200: ConnectionSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) =>
      toConnectionDto(
        await requireConnection(db, req.params.ean, 'params.ean', (c) => visibleTo(req.principal, connectionOwner(c))),
      ),
  );

  app.patch(
    '/connections/:ean',
    {
      preHandler: admin,
      schema: {
        tags: ['connections'],
        summary: 'Change capacity, opt-out (AL-5), grid area, BRP or profile',
        params: EanParams,
        body: ConnectionPatch,
        response: { 200: ConnectionSchema, ...errorResponses(...BODY_ERRORS, 404) },
      },
    },
    async (req) => {
      await requireConnection(db, req.params.ean, 'params.ean');
      return toConnectionDto(await updateConnection(db, actorFrom(req.principal), req.params.ean, req.body));
    },
  );

  app.post(
    '/connections/:ean/events',
    {
      preHandler: admin,
      schema: {
        tags: ['connections'],
        summary: 'Record a change of supplier and/or customer; a customer switch ends all mandates (DC-4)',
        params: EanParams,
        body: ConnectionEventCreate,
        response: { 201: ConnectionEventResult, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      await requireConnection(db, req.params.ean, 'params.ean');
      const b = req.body;
      const r = await recordConnectionEvent(db, actorFrom(req.principal), req.params.ean, {
        kind: b.kind,
        effectiveAt: new Date(b.effectiveAt),
        newSupplierGln: b.newSupplierGln ?? null,
        newBalanceResponsiblePartyGln: b.newBalanceResponsiblePartyGln ?? null,
        newGridUserId: b.newGridUserId ?? null,
      });
      return reply.status(201).send({
        event: toEventDto(r.event),
        connection: toConnectionDto(r.connection),
        mandatesEnded: r.mandatesEnded,
      });
    },
  );

  app.get(
    '/connections/:ean/events',
    {
      preHandler: readers,
      schema: {
        tags: ['connections'],
        summary: 'Supplier and customer changes',
        params: EanParams,
        response: {
          200: Type.Object({ items: Type.Array(ConnectionEventSchema) }),
          ...errorResponses(...READ_ERRORS, 404),
        },
      },
    },
    async (req) => {
      await requireConnection(db, req.params.ean, 'params.ean', (c) => visibleTo(req.principal, connectionOwner(c)));
      return { items: (await listConnectionEvents(db, req.params.ean)).map(toEventDto) };
    },
  );

  app.get(
    '/connections/:ean/allocation',
    {
      preHandler: readers,
      schema: {
        tags: ['allocation'],
        summary: "Allocation method history and the '0'-values state (GT-4, AL-6)",
        params: EanParams,
        response: { 200: AllocationStateSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      await requireConnection(db, req.params.ean, 'params.ean', (c) => visibleTo(req.principal, connectionOwner(c)));
      return toAllocationDto(req.params.ean, await allocationState(db, req.params.ean, new Date()));
    },
  );

  app.post(
    '/connections/:ean/allocation-methods',
    {
      preHandler: admin,
      schema: {
        tags: ['allocation'],
        summary: 'Record the allocation method from a moment on (effective-dated)',
        params: EanParams,
        body: AllocationMethodCreate,
        response: { 201: AllocationMethodRowSchema, ...errorResponses(...BODY_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      await requireConnection(db, req.params.ean, 'params.ean');
      const m = await setAllocationMethod(db, {
        ...actorFrom(req.principal),
        connectionEan: req.params.ean,
        method: req.body.method,
        effectiveFrom: new Date(req.body.effectiveFrom),
        reason: req.body.reason,
      });
      return reply.status(201).send({
        id: m.id,
        method: m.method,
        effectiveFrom: m.effectiveFrom.toISOString(),
        caseId: m.caseId,
        reason: m.reason,
        recordedAt: m.recordedAt.toISOString(),
      });
    },
  );
};

export default connectionRoutes;
