/**
 * CPR contact register (GT-10). Suppliers, service providers and grid operators maintain their own
 * contacts, and only their own; admins any party's. The party list is public to market roles, so
 * another party's contacts answer 403 (not 404: hiding the party would hide nothing).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Principal } from '../plugins/auth.js';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly, READ_ERRORS } from '../plugins/core-access.js';
import {
  ContactCreate,
  ContactList,
  ContactParams,
  ContactPatch,
  ContactSchema,
  GlnParams,
  toContactDto,
} from '../schemas/parties.js';
import { addContact, listContacts, removeContact, updateContact } from '../../db/repositories/contacts.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { forbidden } from '../../lib/errors.js';
import type { Party } from '../../db/schema/index.js';

function assertOwnParty(p: Principal, party: Party): void {
  if (p.role === 'admin') return;
  if (p.partyId !== party.id) throw forbidden('not_your_party', 'A party maintains only its own contacts (GT-10)');
}

const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db } = app.deps;
  const maintainers = requireRole('admin', 'supplier', 'case-handler');

  app.get(
    '/parties/:gln/contacts',
    {
      preHandler: maintainers,
      schema: {
        tags: ['contacts'],
        summary: "A party's CPR contacts (own party only, admin any)",
        params: GlnParams,
        querystring: Type.Object(
          { group: Type.Optional(Type.String({ maxLength: 100 })), includeRemoved: Type.Boolean({ default: false }) },
          { additionalProperties: false },
        ),
        response: { 200: ContactList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const party = await requirePartyByGln(db, req.params.gln, 'params.gln');
      assertOwnParty(req.principal, party);
      const rows = await listContacts(db, party.id, {
        ...(req.query.group ? { group: req.query.group } : {}),
        includeRemoved: req.query.includeRemoved,
      });
      return { items: rows.map(toContactDto) };
    },
  );

  app.post(
    '/parties/:gln/contacts',
    {
      preHandler: maintainers,
      schema: {
        tags: ['contacts'],
        summary: 'Add a contact person to a contact group',
        params: GlnParams,
        body: ContactCreate,
        response: { 201: ContactSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const party = await requirePartyByGln(db, req.params.gln, 'params.gln');
      assertOwnParty(req.principal, party);
      return reply.status(201).send(toContactDto(await addContact(db, actorFrom(req.principal), party.id, req.body)));
    },
  );

  app.patch(
    '/parties/:gln/contacts/:id',
    {
      preHandler: maintainers,
      schema: {
        tags: ['contacts'],
        summary: 'Change a contact person',
        params: ContactParams,
        body: ContactPatch,
        response: { 200: ContactSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req) => {
      const party = await requirePartyByGln(db, req.params.gln, 'params.gln');
      assertOwnParty(req.principal, party);
      return toContactDto(await updateContact(db, actorFrom(req.principal), party.id, req.params.id, req.body));
    },
  );

  app.delete(
    '/parties/:gln/contacts/:id',
    {
      preHandler: maintainers,
      schema: {
        tags: ['contacts'],
        summary: 'Remove a contact person (kept in the audit trail)',
        params: ContactParams,
        response: { 200: ContactSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const party = await requirePartyByGln(db, req.params.gln, 'params.gln');
      assertOwnParty(req.principal, party);
      return toContactDto(await removeContact(db, actorFrom(req.principal), party.id, req.params.id));
    },
  );
};

export default contactRoutes;
