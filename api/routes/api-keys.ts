/** API key management (admin). A key is shown once, at creation; only its SHA-256 is stored. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly, READ_ERRORS } from '../plugins/core-access.js';
import { errorFieldsForRoutes } from '../plugins/errors.js';
import {
  ApiKeyCreate,
  ApiKeyCreated,
  ApiKeyList,
  ApiKeyQuery,
  ApiKeyRotate,
  ApiKeyRotated,
  ApiKeySchema,
  toApiKeyDto,
} from '../schemas/api-keys.js';
import { IdParams } from '../schemas/connections.js';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../../db/repositories/api-keys.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const apiKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  // The repository names the key's party by id and the key as apiKeyId.
  errorFieldsForRoutes(app, {
    partyId: 'body.partyGln',
    apiKeyId: 'params.id',
    expiresAt: 'body.expiresAt',
    overlapUntil: 'body.overlapUntil',
  });
  const { db } = app.deps;
  const admin = requireRole('admin');

  app.post(
    '/api-keys',
    {
      preHandler: admin,
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key (the key is in this response only)',
        body: ApiKeyCreate,
        response: { 201: ApiKeyCreated, ...errorResponses(...BODY_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const partyId = b.partyGln ? (await requirePartyByGln(db, b.partyGln, 'body.partyGln')).id : null;
      const { apiKey, key } = await createApiKey(db, actorFrom(req.principal), {
        role: b.role,
        label: b.label,
        holderName: b.holderName ?? null,
        partyId,
        gridUserId: b.gridUserId ?? null,
        expiresAt: b.expiresAt ? new Date(b.expiresAt) : null,
      });
      app.auth.resolver.keyCreated(apiKey.keyHash);
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ apiKey: toApiKeyDto(apiKey), key });
    },
  );

  app.get(
    '/api-keys',
    {
      preHandler: admin,
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys (never the keys themselves)',
        querystring: ApiKeyQuery,
        response: { 200: ApiKeyList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { items, total } = await listApiKeys(db, req.query);
      return { items: items.map(toApiKeyDto), total, limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.post(
    '/api-keys/:id/revoke',
    {
      preHandler: admin,
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key; idempotent',
        params: IdParams,
        response: { 200: ApiKeySchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const row = await revokeApiKey(db, actorFrom(req.principal), req.params.id);
      // At once on this instance; on the others when their key index reloads (AUTH_KEY_INDEX_REFRESH_MS).
      app.auth.resolver.keyRevoked(row.keyHash);
      return toApiKeyDto(row);
    },
  );

  app.post(
    '/api-keys/:id/rotate',
    {
      preHandler: admin,
      schema: {
        tags: ['api-keys'],
        summary:
          'Rotate an API key with overlap: a new key for the same holder (in this response only); the old one stays valid until overlapUntil',
        params: IdParams,
        body: ApiKeyRotate,
        response: { 201: ApiKeyRotated, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { apiKey, key, previous } = await rotateApiKey(db, actorFrom(req.principal), req.params.id, {
        overlapUntil: b.overlapUntil ? new Date(b.overlapUntil) : null,
        expiresAt: b.expiresAt ? new Date(b.expiresAt) : null,
      });
      // The old key's cached expiry changed; the new key works at once on this instance.
      app.auth.resolver.forgetKeyHash(previous.keyHash);
      app.auth.resolver.keyCreated(apiKey.keyHash);
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ apiKey: toApiKeyDto(apiKey), key, previous: toApiKeyDto(previous) });
    },
  );
};

export default apiKeyRoutes;
