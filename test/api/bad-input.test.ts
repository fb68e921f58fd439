/**
 * Issue 8, bad input: every route the OpenAPI document lists (so a new route is covered without editing this
 * file) gets, in each string it takes (path, query, body, nested), text PostgreSQL cannot store (NUL, an unpaired
 * surrogate); in each number and date it takes, values beyond the documented bounds. Each answer is a 4xx in the
 * documented body naming the field, nothing in the database changes, and the open case stays usable (a note, then
 * a withdrawal, on the real stack). Framework-level refusals (414, 431, header parse, bad URL) give the same body.
 */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { activityFailure } from '../../activities/failures.js';
import { NON_RETRYABLE_ERROR_TYPES, validationError } from '../../lib/errors.js';
import { addNoteUpdate, archiveWorkflowId, withdrawCaseUpdate } from '../../workflows/shared.js';
import { call, makeConnection, makeGridUser, makeKey, makeMandate, newEan } from '../core/fixtures.js';
import { caseApiContext, type CaseApiContext } from './case-context.js';

type Schema = {
  type?: string | string[];
  format?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  $ref?: string;
};
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema & { enum?: unknown[] };
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Route {
  method: string;
  path: string;
  op: Operation;
}

const NUL = 'x\u0000y';
const LONE_SURROGATE = 'x\ud800y';
const BAD_NUMBERS = [1e308, -1e308, 2 ** 64];
const BAD_QUERY_NUMBERS = ['1e308', 'Infinity', '-Infinity', '18446744073709551616', 'NaN'];
const BAD_DATES = ['0013-01-01T00:00:00Z', '0099-06-01T00:00:00Z', '9999-12-31T23:59:59Z', '1899-12-31T23:59:59Z'];

let ctx: CaseApiContext;
let auth: string;
let handler: string;
let routes: Route[];
let components: Record<string, Schema>;
let caseId: string;
let caseEan: string;
let partyGln: string;

const resolve = (s: Schema): Schema =>
  s.$ref ? resolve(components[s.$ref.replace('#/components/schemas/', '')] ?? {}) : s;
const types = (s: Schema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** Every leaf of `schema` with its path (`.a[0].b`) and a value builder placing a given leaf value there. */
function leaves(schema: Schema, path = ''): { path: string; schema: Schema; build: (v: unknown) => unknown }[] {
  const s = resolve(schema);
  const variants = [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])];
  if (variants.length) return variants.flatMap((v) => leaves(v, path));
  if (s.properties) {
    return Object.entries(s.properties).flatMap(([k, p]) =>
      leaves(p, `${path}.${k}`).map((l) => ({ ...l, build: (v: unknown) => ({ [k]: l.build(v) }) })),
    );
  }
  if (types(s).includes('array') && s.items)
    return leaves(s.items, `${path}[0]`).map((l) => ({ ...l, build: (v: unknown) => [l.build(v)] }));
  return [{ path, schema: s, build: (v: unknown) => v }];
}

const isString = (s: Schema) => types(s).includes('string');
const isNumber = (s: Schema) => types(s).some((t) => t === 'integer' || t === 'number');
const isDateTime = (s: Schema) => isString(s) && s.format === 'date-time';

/** A URL for the route with `id`-like path params filled (the bad one substituted raw, already encoded). */
function url(r: Route, override?: { name: string; raw: string }, query?: string): string {
  // Valid values elsewhere, so a refusal names the input under test, not a neighbour.
  const valid = (name: string) =>
    name === 'ean' ? caseEan : /gln/i.test(name) ? partyGln : name === 'chart' ? 'by-period' : caseId;
  const path = r.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    override?.name === name ? override.raw : valid(name),
  );
  return query ? `${path}?${query}` : path;
}

/** `query` plus a valid value for every other required query parameter. */
function withRequired(r: Route, except: string, query: string): string {
  const others = (r.op.parameters ?? []).filter((p) => p.in === 'query' && p.required && p.name !== except);
  const value = (p: Parameter) => {
    const s = resolve(p.schema) as Schema & { enum?: unknown[] };
    if (s.enum?.length) return String(s.enum[0]);
    if (isDateTime(s)) return encodeURIComponent('2026-01-01T00:00:00Z');
    if (isNumber(s)) return String(s.minimum ?? 1);
    if (types(s).includes('boolean')) return 'false';
    return 'x';
  };
  return [query, ...others.map((p) => `${p.name}=${value(p)}`)].join('&');
}

/** A key of every role; each route is called with the first its role check lets through (see send). */
let roleKeys: string[];
const keyOfRoute = new Map<string, string>();

/**
 * The request with a key the route's role check lets through: the role is checked before any input is judged
 * (issue 18), so a key of another role gets 403 forbidden_role whatever it sends. The first key not refused so is
 * the route's from then on (a new route is covered whatever roles it takes).
 */
async function send(r: Route, target: string, body?: unknown) {
  const route = `${r.method} ${r.path}`;
  const known = keyOfRoute.get(route);
  for (const key of known ? [known] : roleKeys) {
    const res = await ctx.app.inject({
      method: r.method as 'GET',
      url: target,
      headers: { authorization: key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    if (!known && res.statusCode === 403 && (res.json() as { code?: string }).code === 'forbidden_role') continue;
    keyOfRoute.set(route, key);
    return res;
  }
  throw new Error(`no role's key passes the role check of ${route}`);
}

/** The content of every table (api_keys aside: authentication stamps its use), to show nothing was written. */
async function snapshot(): Promise<Record<string, string>> {
  const tables = (await ctx.db.execute(
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'api_keys' order by 1`,
  )) as unknown as { table_name: string }[];
  const out: Record<string, string> = {};
  for (const { table_name } of tables) {
    const [row] = (await ctx.db.execute(
      sql.raw(
        `select count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as h from "${table_name}" t`,
      ),
    )) as unknown as { h: string }[];
    out[table_name] = row!.h;
  }
  return out;
}

function expectRefusal(res: { statusCode: number; body: string }, where: string, field?: string) {
  expect(res.statusCode, `${where}: ${res.body}`).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, `${where}: ${res.body}`).toBeLessThan(500);
  const body = JSON.parse(res.body) as { code?: unknown; message?: unknown; field?: unknown };
  expect(typeof body.code, where).toBe('string');
  expect(typeof body.message, where).toBe('string');
  if (field) expect(body.field, `${where}: ${res.body}`).toBe(field);
}

/** A new grid operator, its case handler's key and a case opened through the API on a supplier's connection. */
async function openCase() {
  const op = await ctx.party(['grid_operator']);
  const sup = await ctx.party(['supplier']);
  const key = await makeKey(ctx.db, 'case-handler', { partyId: op.id });
  const c = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: sup.id });
  await makeMandate(ctx.db, { partyId: sup.id, connectionEan: c.ean });
  const res = await call(ctx.app, key, 'POST', '/cases', {
    connectionEan: c.ean,
    partyGln: sup.gln,
    channel: 'customer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'Klant',
    description: 'P4-opvragingen zonder machtiging',
    isma: false,
  });
  expect(res.statusCode, res.body).toBe(201);
  return { op, key, ean: c.ean, id: (res.json() as { id: string }).id };
}

beforeAll(async () => {
  ctx = await caseApiContext('bad_input');
  auth = await makeKey(ctx.db, 'admin');
  const opened = await openCase();
  handler = opened.key;
  caseId = opened.id;
  caseEan = opened.ean;
  partyGln = opened.op.gln;
  const party = async (roles: Parameters<typeof ctx.party>[0]) => (await ctx.party(roles)).id;
  roleKeys = [
    auth,
    handler,
    await makeKey(ctx.db, 'compliance'),
    await makeKey(ctx.db, 'privacy-officer', { partyId: opened.op.id }),
    await makeKey(ctx.db, 'supplier', { partyId: await party(['supplier']) }),
    await makeKey(ctx.db, 'p4-client', { partyId: await party(['service_provider']) }),
    await makeKey(ctx.db, 'brp', { partyId: await party(['balance_responsible_party']) }),
    await makeKey(ctx.db, 'grid-user', { gridUserId: (await makeGridUser(ctx.db)).id }),
  ];
  // Contact made and recorded: from here the case changes only on a caller's action.
  await ctx.waitForCase(caseId, (r) => r.status === 'awaiting_response');

  const doc = (await call(ctx.app, null, 'GET', '/openapi.json')).json() as {
    paths: Record<string, Record<string, Operation>>;
    components?: { schemas?: Record<string, Schema> };
  };
  components = doc.components?.schemas ?? {};
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}, 120_000);
afterAll(async () => ctx?.close());

const params = (r: Route, where: 'path' | 'query') => (r.op.parameters ?? []).filter((p) => p.in === where);
const bodySchema = (r: Route) => r.op.requestBody?.content['application/json']?.schema;

describe('the OpenAPI document shows the bounds', () => {
  it('lists the routes, and every number and date-time a route takes has its bounds in the document', () => {
    expect(routes.length).toBeGreaterThan(40);
    const unbounded: string[] = [];
    for (const r of routes) {
      const inputs = [
        ...[...params(r, 'path'), ...params(r, 'query')].map((p) => ({ path: `${p.in}.${p.name}`, schema: p.schema })),
        ...(bodySchema(r) ? leaves(bodySchema(r)!).map((l) => ({ path: `body${l.path}`, schema: l.schema })) : []),
      ];
      for (const i of inputs) {
        const s = resolve(i.schema);
        if (isNumber(s) && (s.minimum ?? s.exclusiveMinimum) === undefined)
          unbounded.push(`${r.method} ${r.path} ${i.path} min`);
        if (isNumber(s) && (s.maximum ?? s.exclusiveMaximum) === undefined)
          unbounded.push(`${r.method} ${r.path} ${i.path} max`);
        if (isDateTime(s) && !s.pattern) unbounded.push(`${r.method} ${r.path} ${i.path} years`);
      }
    }
    expect(unbounded).toEqual([]);
  });
});

describe('bad input to every route: a 4xx in the documented body, nothing written, the case still usable', () => {
  it('refuses NUL and unpaired surrogates in every string, numbers and dates beyond the bounds', async () => {
    const before = await snapshot();
    let probes = 0;
    // Every failing probe is listed at the end, not just the first.
    const failures: string[] = [];
    const soft = (res: { statusCode: number; body: string }, where: string, field?: string) => {
      try {
        expectRefusal(res, where, field);
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0]!);
      }
    };
    for (const r of routes) {
      const where = (what: string) => `${r.method} ${r.path} ${what}`;
      for (const p of params(r, 'path')) {
        // NUL survives URL decoding and is refused naming the parameter; an unpaired surrogate has no UTF-8 form,
        // so its bytes do not decode: the URL is refused.
        soft(await send(r, url(r, { name: p.name, raw: 'x%00y' })), where(`path ${p.name} NUL`), `params.${p.name}`);
        soft(await send(r, url(r, { name: p.name, raw: 'x%ED%A0%80y' })), where(`path ${p.name} surrogate`));
        probes += 2;
      }
      for (const p of params(r, 'query')) {
        const s = resolve(p.schema);
        const bad = [
          ...(isString(s) ? ['x%00y'] : []),
          ...(isNumber(s) ? BAD_QUERY_NUMBERS : []),
          ...(isDateTime(s) ? BAD_DATES.map(encodeURIComponent) : []),
        ];
        for (const v of bad) {
          soft(
            await send(r, url(r, undefined, withRequired(r, p.name, `${p.name}=${v}`))),
            where(`query ${p.name}=${v}`),
            `querystring.${p.name}`,
          );
          probes++;
        }
      }
      for (const p of params(r, 'query').filter((q) => isString(resolve(q.schema)))) {
        // Bytes that are no UTF-8 stay undecoded in a query value (storable text): whatever the answer, no 5xx.
        const res = await send(r, url(r, undefined, withRequired(r, p.name, `${p.name}=x%ED%A0%80y`)));
        if (res.statusCode >= 500) failures.push(where(`query ${p.name} surrogate bytes: ${res.body}`));
        probes++;
      }
      const body = bodySchema(r);
      if (!body) continue;
      for (const leaf of leaves(body)) {
        const s = leaf.schema;
        // Strings are refused before validation, so the field is named whatever else the body lacks.
        if (isString(s))
          for (const v of [NUL, LONE_SURROGATE]) {
            soft(
              await send(r, url(r), leaf.build(v)),
              where(`body${leaf.path} ${JSON.stringify(v)}`),
              `body${leaf.path}`,
            );
            probes++;
          }
        const bad = [...(isNumber(s) ? BAD_NUMBERS : []), ...(isDateTime(s) ? BAD_DATES : [])];
        for (const v of bad) {
          soft(await send(r, url(r), leaf.build(v)), where(`body${leaf.path} ${v}`));
          probes++;
        }
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(100);
    expect(await snapshot()).toEqual(before);

    // The case is still usable: a note, then the withdrawal, go through and the case closes.
    const note = await call(ctx.app, handler, 'POST', `/cases/${caseId}/notes`, { text: 'Na onleesbare invoer' });
    expect(note.statusCode, note.body).toBeLessThan(300);
    const withdrawn = await call(ctx.app, handler, 'POST', `/cases/${caseId}/withdraw`, {
      reason: 'Signaal ingetrokken',
    });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    await ctx.waitForCase(caseId, (row) => row.status.startsWith('closed'));
    // Its last writes (the closing notices, the history archive) land before the next test's snapshot.
    await ctx.temporal.workflow.getHandle(caseId).result();
    await ctx.temporal.workflow.getHandle(archiveWorkflowId(caseId)).result();
  }, 300_000);
});

describe('the reported cases, in otherwise valid requests', () => {
  it('capacity below its resolution, years before 100 or in 9999: 400 naming the field, nothing written', async () => {
    const op = await ctx.party(['grid_operator']);
    const before = await snapshot();
    const connection = (patch: Record<string, unknown>) =>
      call(ctx.app, auth, 'POST', '/connections', {
        ean: newEan(),
        gridOperatorGln: op.gln,
        gridArea: 'A',
        capacityKw: 10,
        allocationMethod: { method: 'isma', effectiveFrom: '2025-01-01T00:00:00Z', basis: 'customer_consent' },
        ...patch,
      });
    for (const capacityKw of [0.0004, 1.0004, 0])
      expectRefusal(await connection({ capacityKw }), `capacityKw ${capacityKw}`, 'body.capacityKw');
    for (const effectiveFrom of ['0013-01-01T00:00:00Z', '0099-01-01T00:00:00Z', '9999-01-01T00:00:00Z'])
      expectRefusal(
        await connection({ allocationMethod: { method: 'isma', effectiveFrom, basis: 'customer_consent' } }),
        `effectiveFrom ${effectiveFrom}`,
        'body.allocationMethod.effectiveFrom',
      );
    expectRefusal(
      await call(ctx.app, auth, 'GET', '/reports/signals?to=9999-12-31T23:59:59Z'),
      'report window ending in 9999',
      'querystring.to',
    );
    expect(await snapshot()).toEqual(before);
    // The same request within the bounds is taken: the refusals were the values, not the request.
    const ok = await connection({ capacityKw: 1.001 });
    expect(ok.statusCode, ok.body).toBe(201);
    expect((ok.json() as { capacityKw: number }).capacityKw).toBe(1.001);
  });
});

/** Send raw bytes to the listening app; the whole answer (the server closes the connection after it). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((ok, fail) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', (err) => (answer ? ok(answer) : fail(err)));
    socket.on('close', () => ok(answer));
    socket.write(request);
  });
}

function parseRaw(answer: string): { status: number; body: { code?: unknown; message?: unknown; field?: unknown } } {
  const [head, body] = answer.split('\r\n\r\n');
  return { status: Number(head!.split(' ')[1]), body: JSON.parse(body ?? '') as never };
}

describe('refusals Fastify and Node raise themselves have the documented body', () => {
  it('414 (path parameter too long), malformed URL, unknown route', async () => {
    const long = await call(ctx.app, handler, 'GET', `/cases/${'a'.repeat(300)}`);
    expect(long.statusCode).toBe(414);
    expect(long.json()).toEqual({ code: 'uri_too_long', message: expect.any(String), field: 'params' });
    const badUrl = await call(ctx.app, handler, 'GET', '/cases/%E0%A4%A');
    expectRefusal(badUrl, 'malformed URL');
    const none = await call(ctx.app, handler, 'GET', '/nowhere');
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'route_not_found' });
  });

  it('431 (headers too large) and a header Node cannot parse (400), answered on the socket', async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = ctx.app.server.address() as AddressInfo;
    const big = parseRaw(await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(big.status).toBe(431);
    expect(big.body).toEqual({ code: 'headers_too_large', message: expect.any(String), field: 'headers' });
    const broken = parseRaw(await raw(port, 'GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n'));
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual({ code: 'malformed_request', message: expect.any(String), field: 'headers' });
  });
});

describe('an activity failing for a reason retrying cannot mend is non-retryable and keeps a domain code', () => {
  it('data PostgreSQL refuses (NUL, unpaired surrogate in jsonb, out of range) becomes a DomainError failure', async () => {
    const probes = [
      sql`select ${NUL}::text`,
      sql`select '"\\ud800"'::jsonb`,
      sql`select '0013-01-01'::date + interval '9999999 years'`,
      sql`select 10000000::numeric(10,3)`,
    ];
    for (const probe of probes) {
      const err = await ctx.db.execute(probe).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, String(probe)).toBeDefined();
      const failure = activityFailure(err);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      const f = failure as ApplicationFailure;
      expect(f.type).toBe('DomainError');
      expect(NON_RETRYABLE_ERROR_TYPES).toContain(f.type);
      expect(f.nonRetryable).toBe(true);
      expect(f.details?.[0]).toEqual({ kind: 'validation', code: 'unstorable_input' });
    }
    // A connection refused (no SQLSTATE of a data exception) stays retryable.
    const transient = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(activityFailure(transient)).toBe(transient);
    // A domain refusal keeps its kind, code and field across Temporal.
    const refused = activityFailure(validationError('reason_required', 'A reason is required', 'reason'));
    expect((refused as ApplicationFailure).details?.[0]).toEqual({
      kind: 'validation',
      code: 'reason_required',
      field: 'reason',
    });
  });

  it('the case workflow refuses unstorable text in a handler action itself (an Update sent past the API)', async () => {
    const { key, id } = await openCase();
    await ctx.waitForCase(id, (r) => r.status === 'awaiting_response');
    const handle = ctx.temporal.workflow.getHandle(id);
    for (const reason of [NUL, LONE_SURROGATE]) {
      await expect(
        handle.executeUpdate(withdrawCaseUpdate, { args: [{ reason, actor: 'test', actorRole: 'case-handler' }] }),
      ).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(
        handle.executeUpdate(addNoteUpdate, { args: [{ text: reason, actor: 'test', actorRole: 'case-handler' }] }),
      ).rejects.toThrow(WorkflowUpdateFailedError);
    }
    // Still open and usable: the same withdrawal with storable text closes it.
    const withdrawn = await call(ctx.app, key, 'POST', `/cases/${id}/withdraw`, { reason: 'Signaal ingetrokken' });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    await ctx.waitForCase(id, (row) => row.status.startsWith('closed'));
  }, 120_000);
});
