/**
 * Issue 20: machine clients prove who they are with client certificates, over real TLS. A private CA (as
 * PKIoverheid private issues them), the API's own certificate and client certificates are made with `openssl` in a
 * temp dir; the API listens with HTTPS and requestCert. A registered certificate is admitted as its party and role;
 * an unknown, expired, revoked or foreign one is refused 401. Keys keep working over the same TLS listener.
 * The ingress variant (a trusted proxy forwards the verified certificate's fingerprint) runs on app.inject.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { accessRegister, auditLog, clientCertificates } from '../../db/schema/index.js';
import { fingerprintOf } from '../../lib/client-certificates.js';
import { call, coreContext, days, iso, makeConnection, makeKey, makeParty, type CoreContext } from './fixtures.js';

const CA_CONFIG = `[ ca ]
default_ca = test
[ test ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
`;

/** A CA in `dir` (named `name`) that signs certificates with the validity asked. */
function makeCa(dir: string, name: string) {
  const ca = join(dir, name);
  execFileSync('mkdir', ['-p', ca]);
  writeFileSync(join(ca, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(ca, 'index.txt'), '');
  writeFileSync(join(ca, 'serial'), '01\n');
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: ca, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '3',
    '-subj',
    `/CN=${name}`,
  );
  return {
    pem: join(ca, 'ca.pem'),
    /** Issue a certificate; `dates`: [startdate, enddate] as YYYYMMDDHHMMSSZ, default valid for 2 days. */
    issue(cn: string, o: { dates?: [string, string]; san?: string } = {}) {
      const base = join(ca, cn.replace(/\W+/g, '_'));
      ssl(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
        '-subj',
        `/CN=${cn}`,
        ...(o.san ? ['-addext', `subjectAltName=${o.san}`] : []),
      );
      const validity = o.dates ? ['-startdate', o.dates[0], '-enddate', o.dates[1]] : ['-days', '2'];
      ssl(
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-cert',
        'ca.pem',
        '-keyfile',
        'ca.key',
        '-in',
        `${base}.csr`,
        '-out',
        `${base}.pem`,
        '-notext',
        ...validity,
      );
      return { certFile: `${base}.pem`, keyFile: `${base}.key`, pem: readFileSync(`${base}.pem`, 'utf8') };
    },
  };
}

let dir: string;
let ctx: CoreContext;
let port: number;
let adminKey: string;
let caPem: Buffer;
type Client = { certFile: string; keyFile: string; pem: string };
let good: Client, unknown: Client, expired: Client, revoked: Client, lapsed: Client, foreign: Client;
let provider: Awaited<ReturnType<typeof makeParty>>;
let ean: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gt-mtls-'));
  const ca = makeCa(dir, 'Test PKIoverheid private CA');
  const other = makeCa(dir, 'Some other CA');
  const server = ca.issue('localhost', { san: 'IP:127.0.0.1,DNS:localhost' });
  good = ca.issue('wattinzicht-p4');
  unknown = ca.issue('not-registered');
  expired = ca.issue('expired', { dates: ['20200101000000Z', '20200102000000Z'] });
  revoked = ca.issue('to-be-revoked');
  lapsed = ca.issue('registration-lapsed');
  foreign = other.issue('foreign');
  caPem = readFileSync(ca.pem);
  ctx = await coreContext('mtls', {
    TLS_CERT_FILE: server.certFile,
    TLS_KEY_FILE: server.keyFile,
    TLS_CLIENT_CA_FILE: ca.pem,
  });
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ctx.app.server.address() as AddressInfo).port;
  adminKey = await makeKey(ctx.db, 'admin');
  const operator = await makeParty(ctx.db, ['grid_operator']);
  provider = await makeParty(ctx.db, ['service_provider'], 'WattInzicht');
  ean = (await makeConnection(ctx.db, { gridOperatorId: operator.id })).ean;
  for (const c of [good, revoked]) {
    const res = await call(ctx.app, adminKey, 'POST', '/client-certificates', {
      certificatePem: c.pem,
      role: 'p4-client',
      label: 'WattInzicht P4 client',
      partyGln: provider.gln,
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  // Registered, but only until a moment already past (the agreement ended): refused though TLS accepts it.
  await ctx.db.insert(clientCertificates).values({
    fingerprint: fingerprintOf(new X509Certificate(lapsed.pem)),
    subject: 'CN=registration-lapsed',
    issuer: 'CN=Test PKIoverheid private CA',
    serialNumber: '99',
    label: 'lapsed',
    role: 'p4-client',
    partyId: provider.id,
    notAfter: new Date(Date.now() - 60_000),
  });
});
afterAll(async () => {
  await ctx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const QH = 900_000;
const now = Math.floor(Date.now() / QH) * QH;
const gateBody = () => ({
  connectionEan: ean,
  dataKind: 'interval_data',
  from: iso(now - days(2)),
  to: iso(now - days(1)),
});

/** One request over a new TLS connection (agent: false), with the client certificate given. */
function request(
  method: 'GET' | 'POST',
  path: string,
  o: { client?: Client; auth?: string; body?: unknown } = {},
): Promise<{ status: number; json: { code?: string; [k: string]: unknown } }> {
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        ca: caPem,
        ...(o.client ? { cert: readFileSync(o.client.certFile), key: readFileSync(o.client.keyFile) } : {}),
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(o.auth ? { authorization: o.auth } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('mutual TLS at the API', () => {
  it('a registered certificate is admitted as its party and role, and its use is recorded', async () => {
    const res = await request('POST', '/p4/requests', { client: good, body: gateBody() });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const [row] = await ctx.db
      .select()
      .from(accessRegister)
      .where(eq(accessRegister.id, res.json.id as string));
    expect(row?.partyId).toBe(provider.id);
    await ctx.app.auth.lastUsed.flush();
    const listed = (await call(ctx.app, adminKey, 'GET', '/client-certificates')).json();
    const entry = listed.items.find((c: { subject: string }) => c.subject.includes('wattinzicht-p4'));
    expect(entry).toMatchObject({ role: 'p4-client', partyId: provider.id, revokedAt: null });
    expect(entry.fingerprint).toBe(fingerprintOf(new X509Certificate(good.pem)));
    expect(Date.parse(entry.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it.each([
    ['unknown (same CA, not registered)', 'client_certificate_unknown', () => unknown],
    ['expired (TLS says so)', 'client_certificate_expired', () => expired],
    ['registered until a moment past', 'client_certificate_expired', () => lapsed],
    ['from another CA', 'client_certificate_untrusted', () => foreign],
  ])('%s → 401 %s, nothing registered', async (_name, code, client) => {
    const before = (await ctx.db.select().from(accessRegister)).length;
    const res = await request('POST', '/p4/requests', { client: client(), body: gateBody() });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code, field: 'tls.clientCertificate' });
    expect((await ctx.db.select().from(accessRegister)).length).toBe(before);
  });

  it('a revoked certificate is refused at once (audited with the actor)', async () => {
    expect((await request('POST', '/p4/requests', { client: revoked, body: gateBody() })).status).toBe(200);
    const fingerprint = fingerprintOf(new X509Certificate(revoked.pem));
    const [row] = await ctx.db.select().from(clientCertificates).where(eq(clientCertificates.fingerprint, fingerprint));
    const res = await call(ctx.app, adminKey, 'POST', `/client-certificates/${row!.id}/revoke`);
    expect(res.statusCode).toBe(200);
    expect(res.json().revokedAt).toBeTruthy();
    const after = await request('POST', '/p4/requests', { client: revoked, body: gateBody() });
    expect(after.status).toBe(401);
    expect(after.json.code).toBe('client_certificate_revoked');
    const [audit] = await ctx.db.select().from(auditLog).where(eq(auditLog.entityId, row!.id));
    expect(audit).toBeDefined();
    const actions = (await ctx.db.select().from(auditLog).where(eq(auditLog.entityId, row!.id))).map((a) => a.action);
    expect(actions.sort()).toEqual(['client_certificate.registered', 'client_certificate.revoked']);
    expect(audit!.actor).toMatch(/^api-key:/);
  });

  it('without a certificate an API key still works over TLS; a refused certificate falls back to the key', async () => {
    const key = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    expect((await request('POST', '/p4/requests', { auth: key, body: gateBody() })).status).toBe(200);
    expect((await request('POST', '/p4/requests', { client: unknown, auth: key, body: gateBody() })).status).toBe(200);
    const none = await request('GET', '/parties');
    expect(none.status).toBe(401);
    expect(none.json.code).toBe('unauthenticated');
  });

  it('registration refuses expired, CA and duplicate certificates', async () => {
    const reg = (pem: string) =>
      call(ctx.app, adminKey, 'POST', '/client-certificates', {
        certificatePem: pem,
        role: 'p4-client',
        label: 'x',
        partyGln: provider.gln,
      });
    const exp = await reg(expired.pem);
    expect(exp.statusCode).toBe(400);
    expect(exp.json().code).toBe('certificate_expired');
    const ca = await reg(caPem.toString('utf8'));
    expect(ca.json()).toMatchObject({ code: 'certificate_is_ca', field: 'body.certificatePem' });
    const dup = await reg(good.pem);
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('certificate_already_registered');
    const junk = await reg('-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----');
    expect(junk.json()).toMatchObject({ code: 'certificate_invalid', field: 'body.certificatePem' });
    const forbidden = await call(ctx.app, await makeKey(ctx.db, 'compliance'), 'GET', '/client-certificates');
    expect(forbidden.statusCode).toBe(403);
  });
});

describe('mutual TLS at the ingress (forwarded fingerprint)', () => {
  let ingress: CoreContext;
  beforeAll(async () => {
    ingress = await coreContext('mtls_ingress', {
      CLIENT_CERT_HEADER: 'X-SSL-Client-Fingerprint',
      TRUSTED_PROXIES: '10.1.0.0/16',
    });
  });
  afterAll(async () => ingress?.close());

  it('is believed from a trusted proxy only', async () => {
    const party = await makeParty(ingress.db, ['supplier']);
    const fingerprint = fingerprintOf(new X509Certificate(good.pem));
    const admin = await makeKey(ingress.db, 'admin');
    const reg = await call(ingress.app, admin, 'POST', '/client-certificates', {
      certificatePem: good.pem,
      role: 'supplier',
      label: 'supplier system',
      partyGln: party.gln,
    });
    expect(reg.statusCode, reg.body).toBe(201);
    const ask = (remoteAddress: string, value: string) =>
      ingress.app.inject({
        method: 'GET',
        url: '/parties',
        remoteAddress,
        headers: { 'x-ssl-client-fingerprint': value },
      });
    // Colon-separated upper case, as some ingresses send it.
    const colons = fingerprint.toUpperCase().match(/../g)!.join(':');
    expect((await ask('10.1.2.3', colons)).statusCode).toBe(200);
    const direct = await ask('192.0.2.7', fingerprint);
    expect(direct.statusCode).toBe(401);
    expect(direct.json().code).toBe('unauthenticated');
    const unknownFp = await ask('10.1.2.3', fingerprintOf(new X509Certificate(unknown.pem)));
    expect(unknownFp.json().code).toBe('client_certificate_unknown');
    expect((await ask('10.1.2.3', 'not-a-fingerprint')).json().code).toBe('client_certificate_untrusted');
  });
});
