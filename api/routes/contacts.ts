/**
 * CPR contact register (GT-10). Suppliers, service providers and grid operators maintain their own
 * contacts, and only their own; admins any party's. Reading another party's contacts answers 404, as
 * everything a caller may not see (domain/visibility.ts); changing them 403 (the party list is public, so
 * the refusal tells nothing). The one exception (seed 000 §4): the doubt contact group of the other side of
 * a case the caller has, at GET /parties/{gln}/doubt-contacts.
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
import { forbidden, notFound } from '../../lib/errors.js';
import { lookUpDoubtContacts } from '../../services/parties/contact-groups.js';
import type { Party } from '../../db/schema/index.js';

function assertOwnParty(p: Principal, party: Party): void {
  if (p.role === 'admin') return;
  if (p.partyId !== party.id) throw forbidden('not_your_party', 'A party maintains only its own contacts (GT-10)');
}

function assertOwnContacts(p: Principal, party: Party): void {
  if (p.role === 'admin' || p.partyId === party.id) return;
  throw notFound(
    'contacts_not_found',
    `No contacts of ${party.gln} for this key: a party reads its own (the doubt contact group of the other side of its case: /parties/{gln}/doubt-contacts)`,
    'params.gln',
  );
}

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
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
        summary: "A party's CPR contacts (own party only, admin any; another party's: 404)",
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
      assertOwnContacts(req.principal, party);
      const rows = await listContacts(db, party.id, {
        ...(req.query.group ? { group: req.query.group } : {}),
        includeRemoved: req.query.includeRemoved,
      });
      return { items: rows.map(toContactDto) };
    },
  );

  app.get(
    '/parties/:gln/doubt-contacts',
    {
      preHandler: requireRole('admin', 'compliance', 'supplier', 'case-handler'),
      schema: {
        tags: ['contacts'],
        summary: 'The doubt contact group of a party: its own, or of the other side of a case the caller has (GT-10)',
        description:
          'Seed 000 §4: parties consult each other through the CPR contacts. A supplier or service provider looks up the ' +
          '"Gerede twijfel Klantmandaat" group of a grid operator it has a case with (open or closed), a case handler that ' +
          'of a party a case of its grid operator is about. Active contacts only. Any other party answers 404 ' +
          'contact_group_not_found. Each lookup of another party’s group is recorded in the audit log (contact_group.consulted).',
        params: GlnParams,
        response: { 200: ContactList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const { contacts } = await lookUpDoubtContacts(
        db,
        { ...req.principal, ...actorFrom(req.principal) },
        req.params.gln,
      );
      return { items: contacts.map(toContactDto) };
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
