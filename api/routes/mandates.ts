/**
 * Mandates (DC-2, DC-3, DC-4). A supplier or service provider registers and withdraws its own
 * mandates and sees only those; another party's mandate answers 404 (its existence is not theirs to
 * know). Case handlers read the mandates on their grid operator's connections, as does a compliance officer, admin
 * all (and may register for a party). Grid users confirm and revoke under /me (transparency.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  jsonBodiesOnly,
  ownFilter,
  partyOf,
  READ_ERRORS,
} from '../plugins/core-access.js';
import { errorFieldsForRoutes } from '../plugins/errors.js';
import { IdParams } from '../schemas/connections.js';
import { MandateCreate, MandateList, MandateQuery, MandateSchema, toMandateDto } from '../schemas/mandates.js';
import { assertEan, getConnection } from '../../db/repositories/connections.js';
import { createMandate, getMandate, listMandates, withdrawMandate } from '../../db/repositories/mandates.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { mandateOwner, visibleTo } from '../../domain/visibility.js';
import { notFound, validationError } from '../../lib/errors.js';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const mandateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  // The repository names the mandate's party by id (given here by GLN) and the mandate as mandateId.
  errorFieldsForRoutes(app, { partyId: 'body.partyGln', mandateId: 'params.id' });
  const { db } = app.deps;

  app.post(
    '/mandates',
    {
      preHandler: requireRole('supplier', 'admin'),
      schema: {
        tags: ['mandates'],
        summary: 'Register a mandate (DC-2); pending until the grid user confirms when granted by someone else (DC-3)',
        body: MandateCreate,
        response: { 201: MandateSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const p = req.principal;
      let partyId: string;
      if (p.role === 'admin') {
        if (!b.partyGln)
          throw validationError(
            'party_required',
            'An admin registers a mandate for a party: give partyGln',
            'body.partyGln',
          );
        partyId = (await requirePartyByGln(db, b.partyGln, 'body.partyGln')).id;
      } else {
        partyId = partyOf(p);
        if (b.partyGln) {
          // A supplier registers only its own mandates; naming another party is refused, naming itself is fine.
          const named = await requirePartyByGln(db, b.partyGln, 'body.partyGln');
          if (named.id !== partyId)
            throw validationError(
              'not_your_party',
              'A supplier registers mandates for its own party only',
              'body.partyGln',
            );
        }
      }
      assertEan(b.connectionEan, 'body.connectionEan');
      const m = await createMandate(db, actorFrom(p), {
        partyId,
        connectionEan: b.connectionEan,
        dataKinds: b.dataKinds,
        purpose: b.purpose,
        validFrom: new Date(b.validFrom),
        validTo: new Date(b.validTo),
        historyIncluded: b.historyIncluded,
        grantedVia: b.grantedVia,
        grantedByName: b.grantedByName,
        grantedByIsGridUser: b.grantedByIsGridUser,
      });
      return reply.status(201).send(toMandateDto(m));
    },
  );

  app.get(
    '/mandates',
    {
      preHandler: requireRole('supplier', 'admin', 'compliance', 'case-handler'),
      schema: {
        tags: ['mandates'],
        summary: 'List mandates the caller may see',
        querystring: MandateQuery,
        response: { 200: MandateList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const p = req.principal;
      if (q.connectionEan) assertEan(q.connectionEan, 'query.connectionEan');
      const partyFilter = q.partyGln ? (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id : undefined;
      const own = ownFilter(p);
      // A party asking for another party's mandates sees none of them (an empty list, not an error).
      if (own.partyId !== undefined && partyFilter !== undefined && partyFilter !== own.partyId)
        return { items: [], total: 0, limit: q.limit, offset: q.offset };
      const filter = { partyId: own.partyId ?? partyFilter, gridOperatorId: own.gridOperatorId };
      const { items, total } = await listMandates(db, {
        ...filter,
        connectionEan: q.connectionEan,
        status: q.status,
        limit: q.limit,
        offset: q.offset,
      });
      const now = new Date();
      return { items: items.map((m) => toMandateDto(m, now)), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/mandates/:id',
    {
      preHandler: requireRole('supplier', 'admin', 'compliance', 'case-handler'),
      schema: {
        tags: ['mandates'],
        summary: 'One mandate, as its holder, the grid operator of its connection or compliance sees it',
        params: IdParams,
        response: { 200: MandateSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const m = await getMandate(db, req.params.id);
      if (!m || !visibleTo(req.principal, mandateOwner(m, await getConnection(db, m.connectionEan))))
        throw notFound('mandate_not_found', `No mandate ${req.params.id}`, 'params.id');
      return toMandateDto(m);
    },
  );

  app.post(
    '/mandates/:id/withdraw',
    {
      preHandler: requireRole('supplier', 'admin'),
      schema: {
        tags: ['mandates'],
        summary: 'The party withdraws its own mandate (access ends at once, DC-4); idempotent',
        params: IdParams,
        response: { 200: MandateSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const p = req.principal;
      return toMandateDto(
        await withdrawMandate(db, actorFrom(p), p.role === 'admin' ? null : partyOf(p), req.params.id),
      );
    },
  );
};

export default mandateRoutes;
