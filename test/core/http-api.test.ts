/**
 * The HTTP edge of the consent core: authentication and roles, each bad-input class (oversized body,
 * wrong content type, malformed JSON, unknown fields) with a stable JSON error and nothing written,
 * API key management, and the OpenAPI document listing every endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { accessRegister, parties } from '../../db/schema/index.js';
import {
  call,
  coreContext,
  days,
  iso,
  makeConnection,
  makeGridUser,
  makeKey,
  makeParty,
  newGln,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
let adminKey: string;
beforeAll(async () => {
  ctx = await coreContext('http');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

const partyCount = async () => (await ctx.db.select({ n: count() }).from(parties))[0]!.n;

describe('authentication and roles', () => {
  it('401 without a key, 401 with an unknown key, 403 with the wrong role', async () => {
    const none = await call(ctx.app, null, 'GET', '/parties');
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('unauthenticated');
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const bad = await call(ctx.app, 'Bearer gt_not-a-real-key', 'GET', '/parties');
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('invalid_api_key');
    const user = await makeGridUser(ctx.db);
    const gridUser = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
    const wrong = await call(ctx.app, gridUser, 'POST', '/parties', { gln: newGln(), name: 'X', roles: ['supplier'] });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('forbidden_role');
  });
});

describe('bad input: stable JSON errors, nothing written', () => {
  const valid = () => ({ gln: newGln(), name: 'Valid B.V.', roles: ['supplier'] });

  it('oversized body → 413 payload_too_large', async () => {
    const before = await partyCount();
    const res = await call(ctx.app, adminKey, 'POST', '/parties', { ...valid(), name: 'x'.repeat(70_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'payload_too_large', field: 'body' });
    expect(await partyCount()).toBe(before);
  });

  it('wrong content type → 415 unsupported_media_type', async () => {
    const before = await partyCount();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/parties',
      headers: { authorization: adminKey, 'content-type': 'text/plain' },
      payload: JSON.stringify(valid()),
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
    expect(await partyCount()).toBe(before);
  });

  it('malformed JSON → 400 malformed_json', async () => {
    const before = await partyCount();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/parties',
      headers: { authorization: adminKey, 'content-type': 'application/json' },
      payload: '{"gln": "8712',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'malformed_json', field: 'body' });
    expect(await partyCount()).toBe(before);
  });

  it('a party that exists already → 409 naming the body field', async () => {
    const gln = newGln();
    expect((await call(ctx.app, adminKey, 'POST', '/parties', { ...valid(), gln })).statusCode).toBe(201);
    const res = await call(ctx.app, adminKey, 'POST', '/parties', { ...valid(), gln });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'party_exists', field: 'body.gln' });
  });

  it('unknown field → 400 invalid_request naming the field', async () => {
    const res = await call(ctx.app, adminKey, 'POST', '/parties', { ...valid(), vatNumber: 'NL0' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid_request', field: 'body.vatNumber' });
  });

  it('the gate registers nothing for any of these', async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const sp = await makeParty(ctx.db, ['service_provider']);
    const c = await makeConnection(ctx.db, { gridOperatorId: op.id });
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: sp.id });
    const before = (await ctx.db.select({ n: count() }).from(accessRegister))[0]!.n;
    const body = JSON.stringify({
      connectionEan: c.ean,
      dataKind: 'interval_data',
      from: iso(Date.now() - days(1)),
      to: iso(Date.now()),
    });
    const results = await Promise.all([
      ctx.app.inject({
        method: 'POST',
        url: '/p4/requests',
        headers: { authorization: p4, 'content-type': 'text/plain' },
        payload: body,
      }),
      ctx.app.inject({
        method: 'POST',
        url: '/p4/requests',
        headers: { authorization: p4, 'content-type': 'application/json' },
        payload: body.slice(0, -2),
      }),
      ctx.app.inject({
        method: 'POST',
        url: '/p4/requests',
        headers: { authorization: p4, 'content-type': 'application/json' },
        payload: body.replace('}', `,"pad":"${'x'.repeat(70_000)}"}`),
      }),
      ctx.app.inject({
        method: 'POST',
        url: '/p4/requests',
        headers: { 'content-type': 'application/json' },
        payload: body,
      }),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([415, 400, 413, 401]);
    expect((await ctx.db.select({ n: count() }).from(accessRegister))[0]!.n).toBe(before);
  });
});

describe('API keys (admin)', () => {
  it('creates a key shown once, which then works; lists without the key; revokes', async () => {
    const sp = await makeParty(ctx.db, ['service_provider']);
    const res = await call(ctx.app, adminKey, 'POST', '/api-keys', {
      role: 'p4-client',
      label: 'WattInzicht P4',
      partyGln: sp.gln,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const { apiKey, key } = res.json();
    expect(key).toMatch(/^gt_/);
    expect(apiKey).toMatchObject({ role: 'p4-client', partyId: sp.id, revokedAt: null });
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    const list = (await call(ctx.app, adminKey, 'GET', '/api-keys?limit=500')).json();
    expect(JSON.stringify(list)).not.toContain(key);
    expect(list.items.some((k: { id: string }) => k.id === apiKey.id)).toBe(true);
    expect((await call(ctx.app, `Bearer ${key}`, 'GET', '/parties')).statusCode).toBe(200);
    const revoked = await call(ctx.app, adminKey, 'POST', `/api-keys/${apiKey.id}/revoke`);
    expect(revoked.json().revokedAt).toBeTruthy();
    expect(
      (await call(ctx.app, adminKey, 'GET', '/api-keys?limit=500'))
        .json()
        .items.some((k: { id: string }) => k.id === apiKey.id),
    ).toBe(false);
  });

  it.each([
    ['p4-client without party', { role: 'p4-client', label: 'x' }, 400, 'party_required', 'body.partyGln'],
    // A compliance officer belongs to a grid operator (it sees that operator's case files only).
    ['compliance without grid operator', { role: 'compliance', label: 'x' }, 400, 'party_required', 'body.partyGln'],
    [
      'compliance for a supplier',
      { role: 'compliance', label: 'x', partyGln: 'SUPPLIER' },
      400,
      'party_role_mismatch',
      'body.partyGln',
    ],
    // The branch-wide view belongs to no party.
    [
      'branch analyst with a party',
      { role: 'branch-analyst', label: 'x', partyGln: 'OPERATOR' },
      400,
      'unexpected_field',
      'body.partyGln',
    ],
    ['grid-user without grid user', { role: 'grid-user', label: 'x' }, 400, 'grid_user_required', 'body.gridUserId'],
    [
      'admin with a party',
      { role: 'admin', label: 'x', partyGln: 'OPERATOR' },
      400,
      'unexpected_field',
      'body.partyGln',
    ],
    [
      'case-handler for a supplier',
      { role: 'case-handler', label: 'x', partyGln: 'SUPPLIER' },
      400,
      'party_role_mismatch',
      'body.partyGln',
    ],
    ['unknown party', { role: 'supplier', label: 'x', partyGln: 'UNKNOWN' }, 404, 'party_not_found', 'body.partyGln'],
    [
      'unknown grid user',
      { role: 'grid-user', label: 'x', gridUserId: '00000000-0000-4000-8000-000000000000' },
      404,
      'grid_user_not_found',
      'body.gridUserId',
    ],
    ['unknown role', { role: 'root', label: 'x' }, 400, 'invalid_request', 'body.role'],
  ])('%s → %i %s (%s)', async (_n, body, status, code, field) => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const sup = await makeParty(ctx.db, ['supplier']);
    const gln = { OPERATOR: op.gln, SUPPLIER: sup.gln, UNKNOWN: newGln() }[
      (body as { partyGln?: string }).partyGln ?? ''
    ];
    const res = await call(ctx.app, adminKey, 'POST', '/api-keys', { ...body, ...(gln ? { partyGln: gln } : {}) });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json()).toMatchObject({ code, field });
  });

  it('revoking an unknown key → 404 naming the path id', async () => {
    const res = await call(ctx.app, adminKey, 'POST', '/api-keys/00000000-0000-4000-8000-000000000000/revoke');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'api_key_not_found', field: 'params.id' });
  });

  it('non-admins cannot manage keys', async () => {
    const compliance = await makeKey(ctx.db, 'compliance');
    expect((await call(ctx.app, compliance, 'GET', '/api-keys')).statusCode).toBe(403);
    expect(
      (await call(ctx.app, compliance, 'POST', '/api-keys', { role: 'admin', label: 'escalate' })).statusCode,
    ).toBe(403);
  });
});

describe('OpenAPI', () => {
  it('documents every consent-core endpoint with its responses', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const expected: Array<[string, string]> = [
      ['post', '/parties'],
      ['get', '/parties'],
      ['get', '/parties/{gln}'],
      ['patch', '/parties/{gln}'],
      ['post', '/grid-users'],
      ['get', '/grid-users/{id}'],
      ['get', '/parties/{gln}/contacts'],
      ['post', '/parties/{gln}/contacts'],
      ['patch', '/parties/{gln}/contacts/{id}'],
      ['delete', '/parties/{gln}/contacts/{id}'],
      ['post', '/connections'],
      ['get', '/connections'],
      ['get', '/connections/{ean}'],
      ['patch', '/connections/{ean}'],
      ['post', '/connections/{ean}/events'],
      ['get', '/connections/{ean}/events'],
      ['get', '/connections/{ean}/allocation'],
      ['get', '/connections/{ean}/allocation-basis'],
      ['post', '/connections/{ean}/allocation-basis'],
      ['post', '/connections/{ean}/readings'],
      ['get', '/connections/{ean}/readings'],
      ['post', '/mandates'],
      ['get', '/mandates'],
      ['get', '/mandates/{id}'],
      ['post', '/mandates/{id}/withdraw'],
      ['post', '/p4/requests'],
      ['get', '/p4/requests/{id}'],
      ['get', '/p4/requests/{id}/data'],
      ['get', '/access-register'],
      ['get', '/blocks'],
      ['get', '/blocks/{caseId}'],
      ['get', '/me/connections'],
      ['get', '/me/connections/{ean}/access'],
      ['post', '/me/connections/{ean}/access/{partyGln}/stop'],
      ['post', '/me/connections/{ean}/mandates'],
      ['get', '/me/mandates'],
      ['post', '/me/mandates/{id}/confirm'],
      ['post', '/me/mandates/{id}/revoke'],
      ['get', '/me/connections/{ean}/readings'],
      ['post', '/api-keys'],
      ['get', '/api-keys'],
      ['post', '/api-keys/{id}/revoke'],
    ];
    for (const [method, path] of expected) {
      const op = doc.paths?.[path]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeTruthy();
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => s.startsWith('2')),
        `${method} ${path} success`,
      ).toBe(true);
      expect(statuses, `${method} ${path} 401`).toContain('401');
      if (op.requestBody) expect(statuses, `${method} ${path} 413/415`).toEqual(expect.arrayContaining(['413', '415']));
    }
    const gate = doc.paths['/p4/requests'].post;
    expect(JSON.stringify(gate.responses['200'])).toContain('blocked_by_doubt_case');
  });
});
