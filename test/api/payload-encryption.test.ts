/**
 * Issue 20, encrypted payloads on the real stack (the shared Temporal dev server, an app and worker per key set):
 * a history read raw from Temporal (a client without the codec) holds no EAN, note or contact in clear, while the
 * API and the compliance export show them; after a rotation (a new key encrypts, the old one still listed) both the
 * old and the new histories decrypt, and the worker replays the old one; a payload under a key that is not configured
 * fails by naming it; the UI's codec endpoint refuses without a key (401) and with the wrong role (403), round-trips
 * with the right one, answers the UI's origin with CORS, and audits who decoded.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../db/schema/index.js';
import { loadConfig } from '../../lib/config.js';
import { AesGcmPayloadCodec, decodeHistoryJson, temporalDataConverter } from '../../lib/infra/payload-codec.js';
import { temporalHistory } from '../../services/cases/history.js';
import { caseStateQuery } from '../../workflows/shared.js';
import { inject } from 'vitest';
import { call, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { TEST_CODEC_KEY_ID, testCodecKey } from '../helpers/config.js';
import { workflowBundle } from '../workflows/harness.js';
import { caseApiContext, tag, type CaseApiContext } from './case-context.js';

const K1 = `${TEST_CODEC_KEY_ID}:${testCodecKey(TEST_CODEC_KEY_ID)}`;
const K2 = `test-2:${testCodecKey('test-2')}`;
const codecOf = (keys: string, id?: string) =>
  loadConfig({ NODE_ENV: 'test', TEMPORAL_CODEC_KEYS: keys, ...(id ? { TEMPORAL_CODEC_KEY_ID: id } : {}) }).temporal
    .codec;

interface Opened {
  operatorId: string;
  id: string;
  ean: string;
  note: string;
  contact: string;
}

/** Every string of a JSON value, and each base64 string decoded too: what a reader of the raw history can see. */
function readable(json: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      out.push(v);
      if (v.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) out.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json);
  return out.join('\n');
}

/** Key ids of the encrypted payloads in a raw history. */
function keyIds(json: unknown): string[] {
  const ids = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const m = (v as { metadata?: Record<string, string> }).metadata;
      const id = m?.['encryption-key-id'];
      if (id) ids.add(Buffer.from(id, 'base64').toString('utf8'));
      Object.values(v).forEach(walk);
    }
  };
  walk(json);
  return [...ids].sort();
}

/** The failures a raw history carries (activity or workflow failures): their messages as Temporal stores them. */
function failureMessages(json: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const f = (v as { failure?: { message?: string } }).failure;
      if (f) out.push(f.message ?? '');
      Object.values(v).forEach(walk);
    }
  };
  walk(json);
  return out;
}

let one: CaseApiContext; // the test key only
let two: CaseApiContext; // rotated: test-2 encrypts, test-1 still decrypts
let raw: Client; // no codec: what Temporal (and anyone reading it) sees
const keys = {} as Record<'handler1' | 'handler2' | 'compliance1' | 'compliance2' | 'admin2', string>;
let case1: Opened;
let case2: Opened;

async function openCaseWithNote(ctx: CaseApiContext, handlerKey: 'handler1' | 'handler2'): Promise<Opened> {
  const op = await ctx.party(['grid_operator']);
  const sup = await ctx.party(['supplier']);
  keys[handlerKey] = await makeKey(ctx.db, 'case-handler', { partyId: op.id });
  const c = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: sup.id });
  await makeMandate(ctx.db, { partyId: sup.id, connectionEan: c.ean });
  const contact = `klant-${tag()}@example.nl`;
  const res = await call(ctx.app, keys[handlerKey], 'POST', '/cases', {
    connectionEan: c.ean,
    partyGln: sup.gln,
    channel: 'consuwijzer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'Mevrouw Jansen',
    reporterContact: contact,
    description: 'Klant ziet P4-opvragingen zonder machtiging',
    isma: false,
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = (res.json() as { id: string }).id;
  await ctx.waitForCase(id, (r) => r.status === 'awaiting_response');
  const note = `Gebeld met mevrouw Jansen ${tag()}`;
  const noted = await call(ctx.app, keys[handlerKey], 'POST', `/cases/${id}/notes`, { text: note });
  expect(noted.statusCode, noted.body).toBe(201);
  return { id, ean: c.ean, note, contact, operatorId: op.id };
}

const rawHistory = async (id: string) =>
  JSON.parse(historyToJSON(await raw.workflow.getHandle(id).fetchHistory())) as Record<string, unknown>;

beforeAll(async () => {
  one = await caseApiContext('codec_one');
  two = await caseApiContext('codec_two', { TEMPORAL_CODEC_KEYS: `${K1},${K2}`, TEMPORAL_CODEC_KEY_ID: 'test-2' });
  raw = new Client({ connection: one.temporal.connection, namespace: one.temporal.options.namespace });
  keys.admin2 = await makeKey(two.db, 'admin');
  case1 = await openCaseWithNote(one, 'handler1');
  case2 = await openCaseWithNote(two, 'handler2');
  // Compliance officers belong to a grid operator: each reads its own operator's case files.
  keys.compliance1 = await makeKey(one.db, 'compliance', { partyId: case1.operatorId });
  keys.compliance2 = await makeKey(two.db, 'compliance', { partyId: case2.operatorId });
}, 240_000);
afterAll(async () => {
  await one?.close();
  await two?.close();
});

describe('encrypted payloads (issue 20)', () => {
  it('Temporal holds no EAN, note or contact in clear; the API and the compliance export show them', async () => {
    const history = await rawHistory(case1.id);
    const seen = readable(history);
    expect(seen).toContain(case1.id); // the workflow id is in clear (a UUID: no personal data)
    for (const secret of [case1.ean, case1.note, case1.contact, 'Mevrouw Jansen']) expect(seen).not.toContain(secret);
    expect(keyIds(history)).toEqual([TEST_CODEC_KEY_ID]);
    for (const m of failureMessages(history)) expect(m).toBe('Encoded failure');

    const view = await call(one.app, keys.handler1, 'GET', `/cases/${case1.id}`);
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({ connectionEan: case1.ean });
    const exported = await call(one.app, keys.compliance1, 'GET', `/cases/${case1.id}/history?format=export`);
    expect(exported.statusCode, exported.body).toBe(200);
    const temporal = (exported.json() as { temporal: { source: string; history: unknown } }).temporal;
    expect(temporal.source).toBe('live');
    const shown = readable(temporal.history);
    expect(shown).toContain(case1.ean);
    expect(shown).toContain(case1.note);
    expect(keyIds(temporal.history)).toEqual([]);
    // The merged history names the note's actor from the decrypted Update (services/cases/history.ts fromEvent).
    const merged = await call(one.app, keys.compliance1, 'GET', `/cases/${case1.id}/history`);
    const entries = (merged.json() as { entries: { source: string; type: string; actor: string }[] }).entries;
    expect(entries.some((e) => e.source === 'temporal' && e.actor.startsWith('api-key:'))).toBe(true);
  });

  it('after a rotation both the old and the new histories decrypt, and the worker replays the old one', async () => {
    const fresh = await rawHistory(case2.id);
    expect(keyIds(fresh)).toEqual(['test-2']);
    expect(readable(fresh)).not.toContain(case2.note);

    const deps = { db: two.db, temporal: two.temporal };
    const old = await temporalHistory(deps, case1.id);
    const now = await temporalHistory(deps, case2.id);
    expect(readable(old.history)).toContain(case1.note);
    expect(readable(now.history)).toContain(case2.note);
    // The rotated client reads the old worker's answers (test-1) and the new worker's (test-2).
    expect((await two.temporal.workflow.getHandle(case1.id).query(caseStateQuery)).status).toBe('awaiting_response');

    const rotated = temporalDataConverter(codecOf(`${K1},${K2}`, 'test-2'));
    const history = await raw.workflow.getHandle(case1.id).fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle(), dataConverter: rotated },
      history,
      case1.id,
    );
  }, 120_000);

  it('a payload under a key that is not configured fails, naming the key', async () => {
    const onlyNew = new Client({
      connection: one.temporal.connection,
      namespace: one.temporal.options.namespace,
      dataConverter: temporalDataConverter(codecOf(K2)),
    });
    const message = 'payload encrypted under key id "test-1", which is not configured (TEMPORAL_CODEC_KEYS has test-2)';
    await expect(onlyNew.workflow.getHandle(case1.id).query(caseStateQuery)).rejects.toThrow(message);
    await expect(
      decodeHistoryJson(await rawHistory(case1.id), onlyNew.options.loadedDataConverter.payloadCodecs),
    ).rejects.toThrow(message);
  });
});

describe('the codec endpoint of the Temporal UI', () => {
  const UI = 'http://localhost:8233';
  const post = (auth: string | null, path: string, body: unknown, origin?: string) =>
    two.app.inject({
      method: 'POST',
      url: path,
      headers: {
        'content-type': 'application/json',
        'x-namespace': 'default',
        ...(auth ? { authorization: auth } : {}),
        ...(origin ? { origin } : {}),
      },
      payload: JSON.stringify(body),
    });
  /** The encrypted input payload of a case's first event, as the UI would send it. */
  const startInput = async (id: string) => {
    const h = (await rawHistory(id)) as {
      events: { workflowExecutionStartedEventAttributes?: { input: { payloads: unknown[] } } }[];
    };
    return h.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0] as {
      metadata: Record<string, string>;
      data: string;
    };
  };

  it('refuses without a key (401) and with a role that may not read every case (403)', async () => {
    const p = await startInput(case2.id);
    const none = await post(null, '/codec/decode', { payloads: [p] }, UI);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'unauthenticated' });
    expect(none.headers['access-control-allow-origin']).toBe(UI); // the UI can read the refusal
    const handler = await post(keys.handler2, '/codec/decode', { payloads: [p] });
    expect(handler.statusCode).toBe(403);
    expect(handler.json()).toMatchObject({ code: 'forbidden_role' });
    // A compliance officer reads its own grid operator's cases only, and a payload names no case: no decoding.
    const complianceDecodes = await post(keys.compliance2, '/codec/decode', { payloads: [p] });
    expect(complianceDecodes.statusCode).toBe(403);
    const complianceEncodes = await post(keys.compliance2, '/codec/encode', { payloads: [p] });
    expect(complianceEncodes.statusCode).toBe(403);
  });

  it('decodes old and new payloads and encodes for admin, and audits who decoded', async () => {
    const payloads = [await startInput(case1.id), await startInput(case2.id)];
    const res = await post(keys.admin2, '/codec/decode', { payloads }, UI);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(UI);
    const decoded = (res.json() as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
    expect(decoded.map((p) => Buffer.from(p.metadata['encoding']!, 'base64').toString())).toEqual([
      'json/plain',
      'json/plain',
    ]);
    const inputs = decoded.map(
      (p) => JSON.parse(Buffer.from(p.data, 'base64').toString()) as { connectionEan: string },
    );
    expect(inputs.map((i) => i.connectionEan)).toEqual([case1.ean, case2.ean]);

    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: decoded[0]!.data };
    const enc = await post(keys.admin2, '/codec/encode', { payloads: [plain] });
    expect(enc.statusCode, enc.body).toBe(200);
    const encrypted = (enc.json() as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads[0]!;
    expect(Buffer.from(encrypted.metadata['encryption-key-id']!, 'base64').toString()).toBe('test-2');
    const back = await post(keys.admin2, '/codec/decode', { payloads: [encrypted] });
    expect((back.json() as { payloads: unknown[] }).payloads[0]).toEqual(plain);

    const audited = await two.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'temporal.payloads_decoded'), eq(auditLog.actorRole, 'admin')));
    expect(audited.length).toBeGreaterThanOrEqual(2);
    expect(audited[0]!.actor).toMatch(/^api-key:/);
    expect(audited[0]!.entityId).toBe('default');
    expect(audited[0]!.data).toMatchObject({ payloads: 2, keyIds: ['test-1', 'test-2'], origin: UI });
    const encAudit = await two.db.select().from(auditLog).where(eq(auditLog.action, 'temporal.payloads_encoded'));
    expect(encAudit).toHaveLength(1);
  });

  it('names a payload under an unknown key or altered, as a 400', async () => {
    const good = await startInput(case2.id);
    const [foreign] = await new AesGcmPayloadCodec({
      keys: new Map([['gone', Buffer.alloc(32, 1)]]),
      encryptKeyId: 'gone',
    }).encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') }]);
    const foreignJson = {
      metadata: Object.fromEntries(
        Object.entries(foreign!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(foreign!.data!).toString('base64'),
    };
    const unknown = await post(keys.admin2, '/codec/decode', { payloads: [good, foreignJson] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({
      code: 'payload_not_decodable',
      field: 'body.payloads.1',
      details: { keyId: 'gone' },
    });
    const bytes = Buffer.from(good.data, 'base64');
    bytes[20] = bytes[20]! ^ 0xff;
    const altered = await post(keys.admin2, '/codec/decode', {
      payloads: [{ ...good, data: bytes.toString('base64') }],
    });
    expect(altered.statusCode).toBe(400);
    expect(altered.json()).toMatchObject({ code: 'payload_not_decodable', details: { keyId: 'test-2' } });
    expect((altered.json() as { message: string }).message).toMatch(/failed authentication/);
  });

  it('serves the Temporal CLI: `temporal workflow show --codec-endpoint … --codec-auth` shows the note', async () => {
    const address = await two.app.listen({ port: 0, host: '127.0.0.1' });
    const cli = fileURLToPath(new URL('../../.tools/bin/temporal', import.meta.url));
    const shown = await promisify(execFile)(
      cli,
      ['workflow', 'show', '--address', inject('temporalAddress'), '--namespace', inject('temporalNamespace')]
        .concat(['-w', case1.id, '--output', 'json', '--codec-endpoint', `${address}/codec`])
        .concat(['--codec-auth', keys.admin2]),
      { timeout: 30_000 },
    );
    expect(readable(JSON.parse(shown.stdout))).toContain(case1.note);
    // Without --codec-auth the endpoint answers 401 (above) and the CLI retries until its deadline: not run here.
  });

  it('answers the UI origin’s preflight, and no other origin', async () => {
    const pre = (origin: string) =>
      two.app.inject({
        method: 'OPTIONS',
        url: '/codec/decode',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const ok = await pre(UI);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(UI);
    expect(ok.headers['access-control-allow-headers']).toContain('authorization');
    const other = await pre('https://elsewhere.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
