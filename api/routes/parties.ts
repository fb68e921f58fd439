/** Parties (admin maintains them; every market role can look them up) and grid users (admin). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly, READ_ERRORS } from '../plugins/core-access.js';
import { Paging } from '../schemas/common.js';
import {
  GlnParams,
  PartyCreate,
  PartyList,
  PartyPatch,
  PartyRoleSchema,
  PartySchema,
  PartyUpdated,
  toPartyDto,
} from '../schemas/parties.js';
import { GridUserCreate, GridUserSchema, IdParams, toGridUserDto } from '../schemas/connections.js';
import { Type } from '@sinclair/typebox';
import { createParty, listParties, requirePartyByGln, updateParty } from '../../db/repositories/parties.js';
import { createGridUser, getGridUser } from '../../db/repositories/connections.js';
import { notFound } from '../../lib/errors.js';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const partyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db } = app.deps;
  const readers = requireRole('admin', 'case-handler', 'compliance', 'supplier', 'p4-client');

  app.post(
    '/parties',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['parties'],
        summary: 'Register a party (GLN with GS1 check digit)',
        body: PartyCreate,
        response: { 201: PartySchema, ...errorResponses(...BODY_ERRORS, 409) },
      },
    },
    async (req, reply) => reply.status(201).send(toPartyDto(await createParty(db, actorFrom(req.principal), req.body))),
  );

  app.get(
    '/parties',
    {
      preHandler: readers,
      schema: {
        tags: ['parties'],
        summary: 'List parties',
        querystring: Type.Intersect([Paging, Type.Object({ role: Type.Optional(PartyRoleSchema) })]),
        response: { 200: PartyList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { items, total } = await listParties(db, req.query);
      return { items: items.map(toPartyDto), total, limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.get(
    '/parties/:gln',
    {
      preHandler: readers,
      schema: {
        tags: ['parties'],
        summary: 'A party by GLN',
        params: GlnParams,
        response: { 200: PartySchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => toPartyDto(await requirePartyByGln(db, req.params.gln, 'params.gln')),
  );

  app.patch(
    '/parties/:gln',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['parties'],
        summary: 'Change a party; admitted=false ends all its mandates at once (DC-4)',
        params: GlnParams,
        body: PartyPatch,
        response: { 200: PartyUpdated, ...errorResponses(...BODY_ERRORS, 404) },
      },
    },
    async (req) => {
      const party = await requirePartyByGln(db, req.params.gln, 'params.gln');
      const r = await updateParty(db, actorFrom(req.principal), party.id, req.body);
      return { party: toPartyDto(r.party), mandatesEnded: r.mandatesEnded };
    },
  );

  app.post(
    '/grid-users',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['connections'],
        summary: 'Register a grid user',
        body: GridUserCreate,
        response: { 201: GridUserSchema, ...errorResponses(...BODY_ERRORS) },
      },
    },
    async (req, reply) =>
      reply.status(201).send(toGridUserDto(await createGridUser(db, actorFrom(req.principal), req.body))),
  );

  app.get(
    '/grid-users/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['connections'],
        summary: 'A grid user',
        params: IdParams,
        response: { 200: GridUserSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const u = await getGridUser(db, req.params.id);
      if (!u) throw notFound('grid_user_not_found', `No grid user ${req.params.id}`, 'params.id');
      return toGridUserDto(u);
    },
  );
};

export default partyRoutes;
