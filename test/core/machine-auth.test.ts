/**
 * Issue 20, machine clients: API keys expire, record their last use (batched, not per request) and rotate with
 * overlap; the authentication cache keeps known credentials apart from misses, so a flood of unknown keys evicts
 * none; each party has a fair share of the P4 gate (429 with Retry-After, other parties unaffected).
 * Mutual TLS over real sockets: test/core/mtls.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, sql as dsql } from 'drizzle-orm';
import { accessRegister, apiKeys, auditLog } from '../../db/schema/index.js';
import { createPrincipalResolver } from '../../api/plugins/principals.js';
import { generateApiKey, hashApiKey } from '../../lib/api-keys.js';
import { ConfigError, loadConfig } from '../../lib/config.js';
import {
  call,
  coreContext,
  days,
  iso,
  makeConnection,
  makeGridUser,
  makeKey,
  makeParty,
  type CoreContext,
} from './fixtures.js';

let ctx: CoreContext;
let adminKey: string;
beforeAll(async () => {
  ctx = await coreContext('machine_auth');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyRow = async (key: string) =>
  (
    await ctx.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashApiKey(key.replace(/^Bearer /, ''))))
  )[0]!;

describe('API keys: expiry, overlapping rotation, last use', () => {
  it('an expired key is 401 api_key_expired; a cached key is refused from its expiry on', async () => {
    const past = await makeKey(ctx.db, 'compliance', { expiresAt: new Date(Date.now() - 1000) });
    const res = await call(ctx.app, past, 'GET', '/parties');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'api_key_expired', field: 'headers.authorization' });

    const soon = await makeKey(ctx.db, 'compliance', { expiresAt: new Date(Date.now() + 1500) });
    expect((await call(ctx.app, soon, 'GET', '/parties')).statusCode).toBe(200); // now cached
    await sleep(1700);
    expect((await call(ctx.app, soon, 'GET', '/parties')).json().code).toBe('api_key_expired');
  });

  it('a new key defaults to a year; an expiry in the past is 400', async () => {
    const sp = await makeParty(ctx.db, ['service_provider']);
    const res = await call(ctx.app, adminKey, 'POST', '/api-keys', {
      role: 'p4-client',
      label: 'P4',
      partyGln: sp.gln,
    });
    expect(res.statusCode, res.body).toBe(201);
    const ms = Date.parse(res.json().apiKey.expiresAt) - Date.now();
    expect(ms).toBeGreaterThan(days(364));
    expect(ms).toBeLessThanOrEqual(days(365));
    const bad = await call(ctx.app, adminKey, 'POST', '/api-keys', {
      role: 'compliance',
      label: 'x',
      expiresAt: iso(Date.now() - 60_000),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'expiry_in_past', field: 'body.expiresAt' });
  });

  it('rotation: the new key works at once, the old one until the overlap ends; audited with the actor', async () => {
    const sp = await makeParty(ctx.db, ['service_provider']);
    const created = await call(ctx.app, adminKey, 'POST', '/api-keys', {
      role: 'p4-client',
      label: 'WattInzicht P4',
      holderName: 'J. Jansen',
      partyGln: sp.gln,
    });
    const old = created.json();
    const oldKey = `Bearer ${old.key}`;
    expect((await call(ctx.app, oldKey, 'GET', '/parties')).statusCode).toBe(200);

    const overlapUntil = iso(Date.now() + 2000);
    const rotated = await call(ctx.app, adminKey, 'POST', `/api-keys/${old.apiKey.id}/rotate`, { overlapUntil });
    expect(rotated.statusCode, rotated.body).toBe(201);
    expect(rotated.headers['cache-control']).toBe('no-store');
    const r = rotated.json();
    const newKey = `Bearer ${r.key}`;
    expect(r.apiKey).toMatchObject({
      role: 'p4-client',
      partyId: sp.id,
      label: 'WattInzicht P4',
      holderName: 'J. Jansen',
      rotatedFromId: old.apiKey.id,
    });
    expect(r.previous.expiresAt).toBe(overlapUntil);
    // Overlap: both work.
    expect((await call(ctx.app, newKey, 'GET', '/parties')).statusCode).toBe(200);
    expect((await call(ctx.app, oldKey, 'GET', '/parties')).statusCode).toBe(200);
    const [audit] = await ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'api_key.rotated'), eq(auditLog.entityId, r.apiKey.id)));
    expect(audit?.actor).toMatch(/^api-key:/);
    expect(audit?.data).toMatchObject({ rotatedFromId: old.apiKey.id, previousExpiresAt: overlapUntil });

    await sleep(Date.parse(overlapUntil) - Date.now() + 100);
    expect((await call(ctx.app, oldKey, 'GET', '/parties')).json().code).toBe('api_key_expired');
    expect((await call(ctx.app, newKey, 'GET', '/parties')).statusCode).toBe(200);
    // An expired or revoked key is not rotated.
    const again = await call(ctx.app, adminKey, 'POST', `/api-keys/${old.apiKey.id}/rotate`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('api_key_expired');
    await call(ctx.app, adminKey, 'POST', `/api-keys/${r.apiKey.id}/revoke`);
    expect((await call(ctx.app, newKey, 'GET', '/parties')).json().code).toBe('invalid_api_key');
    const revoked = await call(ctx.app, adminKey, 'POST', `/api-keys/${r.apiKey.id}/rotate`, {});
    expect(revoked.json().code).toBe('api_key_revoked');
  });

  it('last use is noted per request but written by the flush: one write per key', async () => {
    const key = await makeKey(ctx.db, 'compliance');
    const before = Date.now();
    for (let i = 0; i < 20; i++) expect((await call(ctx.app, key, 'GET', '/parties')).statusCode).toBe(200);
    expect((await keyRow(key)).lastUsedAt).toBeNull(); // no write on the request path
    await ctx.app.auth.lastUsed.flush();
    const at = (await keyRow(key)).lastUsedAt!;
    expect(at.getTime()).toBeGreaterThanOrEqual(before);
    expect(at.getTime()).toBeLessThanOrEqual(Date.now());
    const listed = (await call(ctx.app, adminKey, 'GET', '/api-keys?limit=500')).json();
    const row = await keyRow(key);
    expect(listed.items.find((k: { id: string }) => k.id === row.id).lastUsedAt).toBe(at.toISOString());
    // Nothing noted since: the next flush leaves it as it is.
    await ctx.app.auth.lastUsed.flush();
    expect((await keyRow(key)).lastUsedAt).toEqual(at);
  });
});

describe('the authentication cache', () => {
  it('a flood of unknown keys evicts no known key; the misses are bounded apart', async () => {
    const resolver = createPrincipalResolver(ctx.db, { ttlMs: 60_000, max: 10, missMax: 100 });
    const key = await makeKey(ctx.db, 'compliance');
    const bare = key.replace(/^Bearer /, '');
    expect((await resolver.byKey(bare)).principal?.role).toBe('compliance');
    // Revoked behind the cache's back: while it stays cached, the resolver still answers from memory.
    await ctx.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.keyHash, hashApiKey(bare)));
    for (let i = 0; i < 2_000; i++) expect((await resolver.byKey(generateApiKey().key)).refusal).toBe('unknown');
    expect(resolver.sizes()).toEqual({ known: 1, misses: 100 });
    expect((await resolver.byKey(bare)).principal?.role).toBe('compliance'); // not evicted
  });

  it('lookups arriving together share a statement and each gets its own answer', async () => {
    const resolver = createPrincipalResolver(ctx.db, { ttlMs: 60_000, max: 10, missMax: 10_000 });
    const a = (await makeKey(ctx.db, 'compliance')).replace(/^Bearer /, '');
    const b = (await makeKey(ctx.db, 'admin')).replace(/^Bearer /, '');
    const expired = (await makeKey(ctx.db, 'admin', { expiresAt: new Date(Date.now() - 1) })).replace(/^Bearer /, '');
    const unknown = Array.from({ length: 1_200 }, () => generateApiKey().key);
    const all = [a, ...unknown.slice(0, 600), b, expired, ...unknown.slice(600), a];
    const answers = await Promise.all(all.map((k) => resolver.byKey(k)));
    expect(answers[0]!.principal?.role).toBe('compliance');
    expect(answers[601]!.principal?.role).toBe('admin');
    expect(answers[602]!.refusal).toBe('expired');
    expect(answers.at(-1)!.principal?.role).toBe('compliance');
    expect(answers.filter((r) => r.refusal === 'unknown')).toHaveLength(1_200);
  });

  it('a revocation holds at once on this instance and within the TTL on another', async () => {
    const key = await makeKey(ctx.db, 'compliance');
    const other = createPrincipalResolver(ctx.db, { ttlMs: 300, max: 10, missMax: 10 });
    const bare = key.replace(/^Bearer /, '');
    expect((await call(ctx.app, key, 'GET', '/parties')).statusCode).toBe(200);
    expect((await other.byKey(bare)).principal).toBeDefined();
    const id = (await keyRow(key)).id;
    expect((await call(ctx.app, adminKey, 'POST', `/api-keys/${id}/revoke`)).statusCode).toBe(200);
    expect((await call(ctx.app, key, 'GET', '/parties')).json().code).toBe('invalid_api_key');
    expect((await other.byKey(bare)).principal).toBeDefined(); // still cached there
    await sleep(400);
    expect((await other.byKey(bare)).refusal).toBe('revoked');
  });
});

describe('the P4 gate’s fair share per client', () => {
  let fair: CoreContext;
  beforeAll(async () => {
    fair = await coreContext('fair_share', { P4_FAIR_SHARE_MAX: '5', P4_FAIR_SHARE_WINDOW_MS: '60000' });
  });
  afterAll(async () => fair?.close());

  it('a client over its share gets 429 with Retry-After, nothing registered; another client is unaffected', async () => {
    const operator = await makeParty(fair.db, ['grid_operator']);
    const a = await makeParty(fair.db, ['service_provider']);
    const b = await makeParty(fair.db, ['service_provider']);
    const aKey = await makeKey(fair.db, 'p4-client', { partyId: a.id });
    const aSecondKey = await makeKey(fair.db, 'p4-client', { partyId: a.id });
    const bKey = await makeKey(fair.db, 'p4-client', { partyId: b.id });
    const c = await makeConnection(fair.db, {
      gridOperatorId: operator.id,
      gridUserId: (await makeGridUser(fair.db)).id,
    });
    const QH = 900_000;
    const now = Math.floor(Date.now() / QH) * QH;
    const body = { connectionEan: c.ean, dataKind: 'interval_data', from: iso(now - days(2)), to: iso(now - days(1)) };
    const registered = async (partyId: string) =>
      (
        await fair.db
          .select({ n: dsql<number>`count(*)::int` })
          .from(accessRegister)
          .where(eq(accessRegister.partyId, partyId))
      )[0]!.n;

    for (let i = 0; i < 5; i++) {
      const ok = await call(fair.app, aKey, 'POST', '/p4/requests', body);
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-remaining']).toBeUndefined(); // nothing extra on the hot path
    }
    const over = await call(fair.app, aKey, 'POST', '/p4/requests', body);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'p4_fair_share_exceeded', details: { limit: 5, windowMs: 60_000 } });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(over.headers['x-ratelimit-limit']).toBe('5');
    // The share is the party's, whichever of its keys asks.
    expect((await call(fair.app, aSecondKey, 'POST', '/p4/requests', body)).statusCode).toBe(429);
    expect(await registered(a.id)).toBe(5);
    // Another client keeps its whole share.
    const bAnswers = [];
    for (let i = 0; i < 5; i++) bAnswers.push((await call(fair.app, bKey, 'POST', '/p4/requests', body)).statusCode);
    expect(bAnswers).toEqual([200, 200, 200, 200, 200]);
    expect(await registered(b.id)).toBe(5);
    expect((await call(fair.app, bKey, 'POST', '/p4/requests', body)).json().code).toBe('p4_fair_share_exceeded');
    // Reading a decision back is outside the share.
    const [entry] = await fair.db.select().from(accessRegister).where(eq(accessRegister.partyId, b.id)).limit(1);
    expect((await call(fair.app, bKey, 'GET', `/p4/requests/${entry!.id}`)).statusCode).toBe(200);
  });
});

describe('configuration of machine-client authentication', () => {
  const errorOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.variable;
      throw err;
    }
    return undefined;
  };

  it('has safe defaults: plain HTTP, no forwarded certificates, a fair share of 1,000/s', () => {
    const c = loadConfig({});
    expect(c.auth).toMatchObject({
      cacheTtlMs: 30_000,
      cacheMax: 10_000,
      missCacheMax: 100_000,
      lastUsedFlushMs: 60_000,
      tls: { certFile: undefined, keyFile: undefined, clientCaFile: undefined },
      clientCertHeader: undefined,
      trustedProxies: [],
    });
    expect(c.p4FairShare).toEqual({ max: 1000, windowMs: 1000 });
  });

  it('refuses half a TLS set-up, a forwarded certificate without trusted proxies, and bad addresses', () => {
    const pem = import.meta.filename; // any existing file
    expect(errorOf({ TLS_CERT_FILE: pem })).toBe('TLS_KEY_FILE');
    expect(errorOf({ TLS_CERT_FILE: '/nonexistent/server.pem', TLS_KEY_FILE: pem })).toBe('TLS_CERT_FILE');
    expect(errorOf({ TLS_CLIENT_CA_FILE: pem })).toBe('TLS_CERT_FILE');
    expect(errorOf({ CLIENT_CERT_HEADER: 'X-Client-Cert' })).toBe('TRUSTED_PROXIES');
    expect(errorOf({ CLIENT_CERT_HEADER: 'X-Client-Cert', TRUSTED_PROXIES: '10.0.0.0/33' })).toBe('TRUSTED_PROXIES');
    expect(errorOf({ CLIENT_CERT_HEADER: 'X-Client-Cert', TRUSTED_PROXIES: 'ingress.local' })).toBe('TRUSTED_PROXIES');
    expect(errorOf({ CLIENT_CERT_HEADER_FORMAT: 'der' })).toBe('CLIENT_CERT_HEADER_FORMAT');
    expect(
      loadConfig({ CLIENT_CERT_HEADER: 'X-Client-Cert', TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8,127.0.0.1' }).auth,
    ).toMatchObject({ clientCertHeader: 'x-client-cert', trustedProxies: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1'] });
  });
});
