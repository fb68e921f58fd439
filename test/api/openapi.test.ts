/**
 * Issue 10, the OpenAPI document as a client reads it: every response has a real description (none reads
 * "Default Response"), every error response carries the error body, every route lists the errors the edge
 * gives it (400; 401/403/503 when authenticated; 413/415 with a body; 414 with a path parameter), and no
 * parameter with a default is marked required. The walk covers whatever routes exist, so a new one is held to
 * the same. Then the same document, asked of the app: an unknown query parameter on any route is a 400 naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, coreContext, makeGridUser, makeKey, makeParty, type CoreContext } from '../core/fixtures.js';

interface Response {
  description?: string;
  content?: Record<string, { schema?: { title?: string; required?: string[]; properties?: Record<string, unknown> } }>;
}
interface Operation {
  summary?: string;
  security?: unknown[];
  parameters?: { in: string; name: string; required?: boolean; schema?: { default?: unknown } }[];
  requestBody?: unknown;
  responses: Record<string, Response>;
}
type Doc = { paths: Record<string, Record<string, Operation>> };

let ctx: CoreContext;
let doc: Doc;
let routes: { method: string; path: string; op: Operation }[];

beforeAll(async () => {
  ctx = await coreContext('openapi');
  const res = await call(ctx.app, null, 'GET', '/openapi.json');
  expect(res.statusCode).toBe(200);
  doc = res.json() as Doc;
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}, 60_000);
afterAll(async () => ctx?.close());

describe('the OpenAPI document (issue 10)', () => {
  it('lists the routes', () => {
    expect(routes.length).toBeGreaterThan(80);
    expect(doc.paths['/cases']?.get).toBeTruthy();
    expect(doc.paths['/parties/{gln}/doubt-contacts']?.get).toBeTruthy();
  });

  it('no response reads "Default Response"; every description says something', () => {
    const bad = routes.flatMap((r) =>
      Object.entries(r.op.responses)
        .filter(([, res]) => !res.description || res.description === 'Default Response' || res.description.length < 10)
        .map(([status]) => `${r.method} ${r.path} ${status}`),
    );
    expect(bad).toEqual([]);
  });

  it('no parameter with a default is required', () => {
    const bad = routes.flatMap((r) =>
      (r.op.parameters ?? [])
        .filter((p) => p.required && p.schema?.default !== undefined)
        .map((p) => `${r.method} ${r.path} ${p.in}.${p.name}`),
    );
    expect(bad).toEqual([]);
    // The paging parameters are the common case: documented with their default, not required.
    const limit = doc.paths['/cases']!.get!.parameters!.find((p) => p.name === 'limit')!;
    expect(limit).toMatchObject({ required: false, schema: { default: 50 } });
  });

  it('every route lists a 4xx, and every error the edge gives it, each with the error body', () => {
    const missing: string[] = [];
    for (const r of routes) {
      const statuses = Object.keys(r.op.responses);
      if (!statuses.some((s) => s.startsWith('4'))) missing.push(`${r.method} ${r.path}: no 4xx`);
      const authenticated = !(Array.isArray(r.op.security) && r.op.security.length === 0);
      const expected = [
        '400',
        ...(authenticated ? ['401', '403', '503'] : []),
        ...(r.op.requestBody ? ['413', '415'] : []),
        ...(r.path.includes('{') ? ['414'] : []),
      ];
      for (const s of expected) if (!statuses.includes(s)) missing.push(`${r.method} ${r.path}: ${s}`);
      for (const [s, res] of Object.entries(r.op.responses)) {
        if (Number(s) < 400) continue;
        const schema = res.content?.['application/json']?.schema;
        // The health routes answer 503 with their own report of what is down; every other error is ErrorResponse.
        if (r.path.startsWith('/health') && s === '503') continue;
        if (schema?.title !== 'ErrorResponse' || !schema.required?.includes('code'))
          missing.push(`${r.method} ${r.path}: ${s} without the error body`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the filters of GET /cases are documented, none required', () => {
    const names = doc.paths['/cases']!.get!.parameters!.filter((p) => p.in === 'query');
    for (const n of ['connectionEan', 'reference', 'partyGln', 'reporterReference', 'externalReference'])
      expect(
        names.find((p) => p.name === n),
        n,
      ).toMatchObject({ required: false });
  });
});

/** The route's path with well-formed values no record has, so a lookup answers not found. */
const fill = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) =>
    /ean/i.test(name)
      ? '871687120000000019'
      : /gln/i.test(name)
        ? '8712345000004'
        : /year/i.test(name)
          ? '2026'
          : '00000000-0000-0000-0000-000000000000',
  );

describe('what the routes answer is what the document lists', () => {
  it('an unknown record, an empty body, a supplier key or one of the wrong role: each answer is documented', async () => {
    const supplier = await makeParty(ctx.db, ['supplier']);
    const keys = [
      await makeKey(ctx.db, 'admin'),
      await makeKey(ctx.db, 'supplier', { partyId: supplier.id }),
      await makeKey(ctx.db, 'grid-user'),
      null,
    ];
    const undocumented: string[] = [];
    let probes = 0;
    for (const r of routes) {
      for (const key of keys) {
        const res = await ctx.app.inject({
          method: r.method as 'GET',
          url: fill(r.path),
          headers: {
            ...(key ? { authorization: key } : {}),
            ...(r.op.requestBody ? { 'content-type': 'application/json' } : {}),
          },
          ...(r.op.requestBody ? { payload: '{}' } : {}),
        });
        probes++;
        if (!(String(res.statusCode) in r.op.responses))
          undocumented.push(`${r.method} ${r.path} ${key ? 'key' : 'no key'}: ${res.statusCode} ${res.body}`);
      }
    }
    expect(undocumented).toEqual([]);
    expect(probes).toBeGreaterThan(320);
  });
});

describe('an unknown query parameter is a 400 naming it, on every route', () => {
  it('answers 400 unknown_query_parameter with the field, whatever the route, before anything runs but the role check', async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const party = async (role: Parameters<typeof makeParty>[1][number]) => (await makeParty(ctx.db, [role])).id;
    // A key of every role: each route is asked with one its role check lets through (that check comes first).
    const keys = [
      await makeKey(ctx.db, 'admin'),
      await makeKey(ctx.db, 'case-handler', { partyId: op.id }),
      await makeKey(ctx.db, 'privacy-officer', { partyId: op.id }),
      await makeKey(ctx.db, 'supplier', { partyId: await party('supplier') }),
      await makeKey(ctx.db, 'p4-client', { partyId: await party('service_provider') }),
      await makeKey(ctx.db, 'grid-user', { gridUserId: (await makeGridUser(ctx.db)).id }),
    ];
    const wrong: string[] = [];
    for (const r of routes) {
      // Path parameters filled with well-formed values; the unknown parameter is refused before they are looked up.
      const path = fill(r.path);
      let res!: Awaited<ReturnType<typeof ctx.app.inject>>;
      for (const key of keys) {
        res = await ctx.app.inject({
          method: r.method as 'GET',
          url: `${path}?limit=5&zzUnknown=1`,
          headers: { authorization: key },
        });
        if (!(res.statusCode === 403 && (res.json() as { code?: string }).code === 'forbidden_role')) break;
      }
      const body = res.json() as { code?: string; field?: string; message?: string };
      const limitKnown = (r.op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'limit');
      const field = limitKnown ? 'querystring.zzUnknown' : 'querystring.limit';
      if (res.statusCode !== 400 || body.code !== 'unknown_query_parameter' || body.field !== field)
        wrong.push(`${r.method} ${r.path}: ${res.statusCode} ${res.body}`);
    }
    expect(wrong).toEqual([]);
  });

  it('names what the route takes, and a route without a querystring takes none', async () => {
    const admin = await makeKey(ctx.db, 'admin');
    const misspelt = await call(ctx.app, admin, 'GET', '/cases?partygln=8712345000004');
    expect(misspelt.statusCode).toBe(400);
    expect(misspelt.json()).toMatchObject({ code: 'unknown_query_parameter', field: 'querystring.partygln' });
    expect(misspelt.json().message).toContain('partyGln');
    const none = await call(ctx.app, null, 'GET', '/health/live?verbose=1');
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ code: 'unknown_query_parameter', field: 'querystring.verbose' });
    expect(none.json().message).toContain('takes none');
    // The same requests without the stray parameter are answered.
    expect((await call(ctx.app, null, 'GET', '/health/live')).statusCode).toBe(200);
    expect((await call(ctx.app, admin, 'GET', '/parties?limit=5')).statusCode).toBe(200);
  });
});
