/**
 * Client certificates of machine clients (admin, issue 20): registered to a party and role by fingerprint, listed,
 * revoked. The TLS layer verifies the certificate against the client CA; this register says whom it speaks for.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly, READ_ERRORS } from '../plugins/core-access.js';
import { errorFieldsForRoutes } from '../plugins/errors.js';
import {
  ClientCertificateList,
  ClientCertificateQuery,
  ClientCertificateRegister,
  ClientCertificateSchema,
  toClientCertificateDto,
} from '../schemas/client-certificates.js';
import { IdParams } from '../schemas/connections.js';
import {
  listClientCertificates,
  registerClientCertificate,
  revokeClientCertificate,
} from '../../db/repositories/client-certificates.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';

const clientCertificateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  errorFieldsForRoutes(app, {
    partyId: 'body.partyGln',
    clientCertificateId: 'params.id',
    certificatePem: 'body.certificatePem',
    notAfter: 'body.notAfter',
  });
  const { db } = app.deps;
  const admin = requireRole('admin');

  app.post(
    '/client-certificates',
    {
      preHandler: admin,
      schema: {
        tags: ['client-certificates'],
        summary: 'Register a client certificate to a party and role (mutual TLS)',
        body: ClientCertificateRegister,
        response: { 201: ClientCertificateSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const party = await requirePartyByGln(db, b.partyGln, 'body.partyGln');
      const row = await registerClientCertificate(db, actorFrom(req.principal), {
        certificatePem: b.certificatePem,
        role: b.role,
        label: b.label,
        partyId: party.id,
        notAfter: b.notAfter ? new Date(b.notAfter) : null,
      });
      // A refusal cached before the registration must not outlive it.
      app.auth.resolver.forgetCertificate(row.fingerprint);
      return reply.status(201).send(toClientCertificateDto(row));
    },
  );

  app.get(
    '/client-certificates',
    {
      preHandler: admin,
      schema: {
        tags: ['client-certificates'],
        summary: 'List client certificates (without includeRevoked: those that work now)',
        querystring: ClientCertificateQuery,
        response: { 200: ClientCertificateList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { items, total } = await listClientCertificates(db, req.query);
      return { items: items.map(toClientCertificateDto), total, limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.post(
    '/client-certificates/:id/revoke',
    {
      preHandler: admin,
      schema: {
        tags: ['client-certificates'],
        summary: 'Revoke a client certificate; idempotent',
        params: IdParams,
        response: { 200: ClientCertificateSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const row = await revokeClientCertificate(db, actorFrom(req.principal), req.params.id);
      // At once on this instance; on the others within AUTH_CACHE_TTL_MS.
      app.auth.resolver.forgetCertificate(row.fingerprint);
      return toClientCertificateDto(row);
    },
  );
};

export default clientCertificateRoutes;
