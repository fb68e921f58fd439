/**
 * api/plugins/errors.ts requestField: services and repositories name their own inputs in a
 * DomainError's field; the error body names where the request carried it. Real Fastify, no database.
 */
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorFieldsForRoutes, registerErrorHandling } from '../../api/plugins/errors.js';
import { validationError } from '../../lib/errors.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ logger: false });
  registerErrorHandling(app);
  // Each route refuses with the DomainError field given as ?throw=<field>.
  const refuse = (req: { query: unknown }) => {
    throw validationError('refused', 'refused', (req.query as { throw: string }).throw);
  };
  const query = Type.Object({ throw: Type.String(), connectionEan: Type.Optional(Type.String()) });
  await app.register(async (scoped) => {
    errorFieldsForRoutes(scoped, { caseId: 'params.id', partyId: 'body.partyGln' });
    scoped.post(
      '/things/:id',
      { schema: { querystring: query, body: Type.Object({}, { additionalProperties: true }) } },
      refuse,
    );
    scoped.post(
      '/things/:id/own',
      {
        config: { errorFields: { partyId: 'body.party' } },
        schema: { querystring: query, body: Type.Object({}, { additionalProperties: true }) },
      },
      refuse,
    );
  });
  app.get('/connections/:ean', { schema: { querystring: query } }, refuse);
  await app.ready();
});
afterAll(async () => app?.close());

const fieldOf = async (method: 'GET' | 'POST', url: string, payload?: object) => {
  const res = await app.inject({ method, url, ...(payload ? { payload } : {}) });
  expect(res.statusCode).toBe(400);
  return (res.json() as { field?: string }).field;
};

describe('requestField', () => {
  it.each([
    // A request path (written in api/) stays as it is.
    ['POST', '/things/1?throw=query.limit', 'query.limit'],
    ['POST', '/things/1?throw=headers.idempotency-key', 'headers.idempotency-key'],
    // The routes' errorFields, plugin-wide and per route (the route's own win).
    ['POST', '/things/1?throw=caseId', 'params.id'],
    ['POST', '/things/1?throw=partyId', 'body.partyGln'],
    ['POST', '/things/1/own?throw=partyId', 'body.party'],
    ['POST', '/things/1/own?throw=caseId', 'params.id'],
    // Otherwise the part of the request that carries that name: params, then query...
    ['GET', '/connections/871?throw=ean', 'params.ean'],
    ['GET', '/connections/871?throw=connectionEan&connectionEan=871', 'query.connectionEan'],
    // ...else the body, with the nested path kept, for a route that takes one...
    ['POST', '/things/1?throw=evidence.content', 'body.evidence.content'],
    ['POST', '/things/1?throw=validTo', 'body.validTo'],
    // ...and the service's own name where the route takes no body.
    ['GET', '/connections/871?throw=validTo', 'validTo'],
  ] as const)('%s %s → %s', async (method, url, field) => {
    expect(await fieldOf(method, url, method === 'POST' ? {} : undefined)).toBe(field);
  });
});
