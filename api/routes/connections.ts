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
  AllocationBasisCreate,
  AllocationBasisSchema,
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
  toAllocationBasisDto,
  toAllocationDto,
  toConnectionDto,
  toEventDto,
  toMethodDto,
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
import { allocationState, recordAllocationBasis } from '../../db/repositories/allocation.js';
import type { Connection } from '../../db/schema/index.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';
import type { AllocationBasisKind } from '../../domain/allocation.js';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const connectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db } = app.deps;
  const readers = requireRole('admin', 'compliance', 'case-handler');
  const admin = requireRole('admin');
  // The grid operator's own people record the allocation basis: admin, and case handlers of its connections.
  const operator = requireRole('admin', 'case-handler');

  /** A basis as the repository takes it: the supplier named by GLN resolved, absent fields none. */
  const basisInput = async (
    b: {
      method: 'isma' | 'profile';
      effectiveFrom: string;
      basis?: AllocationBasisKind | null;
      supplierGln?: string;
      reference?: string;
    },
    supplierField: string,
  ) => ({
    method: b.method,
    effectiveFrom: new Date(b.effectiveFrom),
    basis: b.basis ?? null,
    supplierId: b.supplierGln ? (await requirePartyByGln(db, b.supplierGln, supplierField)).id : null,
    reference: b.reference ?? null,
  });

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
          ? { allocationMethod: await basisInput(allocationMethod, 'body.allocationMethod.supplierGln') }
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
        summary: "Allocation basis history and the '0'-values state (AL-4, GT-4, AL-6)",
        params: EanParams,
        response: { 200: AllocationStateSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const conn = await requireConnection(db, req.params.ean, 'params.ean', (c) =>
        visibleTo(req.principal, connectionOwner(c)),
      );
      return toAllocationDto(conn.ean, await allocationState(db, conn, new Date()));
    },
  );

  app.get(
    '/connections/:ean/allocation-basis',
    {
      preHandler: readers,
      schema: {
        tags: ['allocation'],
        summary: 'The allocation basis: in force now, how the connection is allocated under it, and its history',
        description:
          "iSMA rests on a recorded basis: the supplier's iSMA request under its mandate (only while that supplier supplies the connection), the customer's consent, or a legal provision. Without one the connection is allocated by profile (AL-4). Case handlers see their grid operator's connections only (others 404).",
        params: EanParams,
        response: { 200: AllocationBasisSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const conn = await requireConnection(db, req.params.ean, 'params.ean', (c) =>
        visibleTo(req.principal, connectionOwner(c)),
      );
      return toAllocationBasisDto(conn.ean, await allocationState(db, conn, new Date()));
    },
  );

  app.post(
    '/connections/:ean/allocation-basis',
    {
      preHandler: operator,
      schema: {
        tags: ['allocation'],
        summary: 'Record the allocation basis from a moment on: a new period that supersedes, never overwrites',
        description:
          "iSMA names its basis (400 allocation_basis_required); profile takes none (400 allocation_basis_not_applicable); a legal provision its reference. A supplier's iSMA request is that of the connection's supplier at effectiveFrom (409 allocation_basis_supplier_not_of_record). Audited with the actor. Runs of days already allocated do not change: request a re-run to see the effect. Case handlers record for their grid operator's connections only (others 404).",
        params: EanParams,
        body: AllocationBasisCreate,
        response: { 201: AllocationMethodRowSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const conn: Connection = await requireConnection(db, req.params.ean, 'params.ean', (c) =>
        visibleTo(req.principal, connectionOwner(c)),
      );
      const row = await recordAllocationBasis(db, {
        ...actorFrom(req.principal),
        connectionEan: conn.ean,
        ...(await basisInput(req.body, 'body.supplierGln')),
        reason: req.body.reason,
      });
      return reply.status(201).send(toMethodDto(row));
    },
  );
};

export default connectionRoutes;
