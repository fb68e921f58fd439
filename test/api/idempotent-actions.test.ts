/**
 * Issue 20: Idempotency-Key on the case actions (api/plugins/case-action.ts), on the real stack (app, case
 * workflow on the dev server with this file's worker, PostgreSQL): a repeat gets the first outcome (a note
 * through the workflow's Update, a legal hold in the API's own transaction, a refusal), the same key for
 * another request is 422, a key whose first request still runs is 409 until its lease ends, keys are per
 * principal, and expired keys go with the retention purge.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../api/plugins/case-action.js';
import { claimKey } from '../../db/repositories/idempotency.js';
import { hashApiKey } from '../../lib/api-keys.js';
import { apiKeys, auditLog, idempotencyKeys } from '../../db/schema/index.js';
import { recordNote } from '../../services/cases/steps.js';
import { purgeExpiredAccessRegister } from '../../services/retention/purge.js';
import { makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, tag, type CaseApiContext } from './case-context.js';

let ctx: CaseApiContext;
let operator: Awaited<ReturnType<CaseApiContext['party']>>;
let supplier: Awaited<ReturnType<CaseApiContext['party']>>;
let handler: string;
let otherHandler: string;

beforeAll(async () => {
  ctx = await caseApiContext('idempotent_actions');
  operator = await ctx.party(['grid_operator']);
  supplier = await ctx.party(['supplier']);
  handler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
  otherHandler = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
});
afterAll(async () => ctx?.close());

function post(auth: string, url: string, body: unknown, key?: string): Promise<LightMyRequestResponse> {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: { authorization: auth, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    payload: JSON.stringify(body),
  });
}

async function openCase(): Promise<string> {
  const c = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: supplier.id });
  await makeMandate(ctx.db, { partyId: supplier.id, connectionEan: c.ean });
  const res = await post(handler, '/cases', {
    connectionEan: c.ean,
    partyGln: supplier.gln,
    channel: 'customer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'Klant',
    description: 'P4-opvragingen zonder machtiging',
    isma: false,
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

const notesWith = async (text: string) =>
  (
    await ctx.db
      .select({ actor: auditLog.actor })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'case.note'), sql`${auditLog.data}->>'text' = ${text}`))
  ).map((r) => r.actor);

/** The API key id behind an Authorization header (the principal keys are scoped to). */
async function keyIdOf(auth: string): Promise<string> {
  const hash = hashApiKey(auth.slice('Bearer '.length));
  const [k] = await ctx.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, hash));
  if (!k) throw new Error('no such key');
  return k.id;
}

describe('Idempotency-Key on case actions', () => {
  it('a note (workflow Update) repeated with its key: the first outcome, once; another body or path is 422', async () => {
    const caseId = await openCase();
    const key = `note-${tag()}`;
    const text = `Gebeld, voicemail ${tag()}`;
    const first = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await notesWith(text)).toHaveLength(1);

    const otherBody = await post(handler, `/cases/${caseId}/notes`, { text: `${text} (anders)` }, key);
    expect(otherBody.statusCode, otherBody.body).toBe(422);
    expect(otherBody.json()).toMatchObject({ code: 'idempotency_key_mismatch', field: 'headers.idempotency-key' });
    const otherCase = await openCase();
    const otherPath = await post(handler, `/cases/${otherCase}/notes`, { text }, key);
    expect(otherPath.statusCode).toBe(422);
    expect(await notesWith(text)).toHaveLength(1);
    expect(await notesWith(`${text} (anders)`)).toHaveLength(0);

    // Without a key every request is its own (as before).
    const plain = `Zonder sleutel ${tag()}`;
    for (let i = 0; i < 2; i++)
      expect((await post(handler, `/cases/${caseId}/notes`, { text: plain })).statusCode).toBe(201);
    expect(await notesWith(plain)).toHaveLength(2);
  });

  it('Temporal itself deduplicates the Update: a repeat whose key row is gone (never recorded) still notes once', async () => {
    const caseId = await openCase();
    const key = `lost-${tag()}`;
    const text = `Uitkomst kwijt ${tag()}`;
    const first = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(first.statusCode, first.body).toBe(201);
    // As if the first attempt's outcome had not been recorded (PostgreSQL gone right after the Update completed).
    await ctx.db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.principal, await keyIdOf(handler)), eq(idempotencyKeys.key, key)));
    const again = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined(); // answered by the workflow, not the key row
    expect(again.json()).toEqual(first.json()); // the first Update's own result (its instant)
    expect(await notesWith(text)).toHaveLength(1);
  });

  it('keys are per principal: another API key with the same key text gets its own outcome', async () => {
    const caseId = await openCase();
    const key = `shared-${tag()}`;
    const text = `Notitie ${tag()}`;
    const mine = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    const theirs = await post(otherHandler, `/cases/${caseId}/notes`, { text }, key);
    expect(mine.statusCode).toBe(201);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect((await notesWith(text)).sort()).toEqual(
      [`api-key:${await keyIdOf(handler)}`, `api-key:${await keyIdOf(otherHandler)}`].sort(),
    );
    // Each replays its own.
    const mineAgain = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(mineAgain.headers['idempotent-replayed']).toBe('true');
    expect(mineAgain.json()).toEqual(mine.json());
    expect(await notesWith(text)).toHaveLength(2);
  });

  it('a legal hold (the API’s own transaction) replays its first outcome; without the key a second is refused', async () => {
    const caseId = await openCase();
    const key = `hold-${tag()}`;
    const body = { authority: 'acm', reason: 'Zaak naar de ACM' };
    const first = await post(handler, `/cases/${caseId}/legal-hold`, body, key);
    expect(first.statusCode, first.body).toBe(200);
    const again = await post(handler, `/cases/${caseId}/legal-hold`, body, key);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    // The outcome was recorded in the hold's transaction: the row says done with the answer.
    const [row] = await ctx.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.principal, await keyIdOf(handler)), eq(idempotencyKeys.key, key)));
    expect(row).toMatchObject({ status: 'done', responseStatus: 200 });
    const unkeyed = await post(handler, `/cases/${caseId}/legal-hold`, body);
    expect(unkeyed.statusCode).toBe(409);
    expect(unkeyed.json().code).toBe('legal_hold_already_set');
    const holds = await ctx.db
      .select({ id: auditLog.id })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'case.legal_hold_set'), eq(auditLog.entityId, caseId)));
    expect(holds).toHaveLength(1);
  });

  it('a refusal is an outcome too: the repeat gets the same 4xx', async () => {
    const caseId = await openCase();
    const key = `refused-${tag()}`;
    const first = await post(handler, `/cases/${caseId}/evidence-requests`, { message: '   ' }, key);
    expect(first.statusCode, first.body).toBe(400);
    const again = await post(handler, `/cases/${caseId}/evidence-requests`, { message: '   ' }, key);
    expect(again.statusCode).toBe(400);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
  });

  it('a key whose first request still runs is 409 with Retry-After; once its lease ran out a repeat takes it over', async () => {
    const caseId = await openCase();
    const key = `busy-${tag()}`;
    const text = `Bezig ${tag()}`;
    const principal = await keyIdOf(handler);
    const fingerprint = fingerprintOf('POST', '/cases/:id/notes', { id: caseId }, { text });
    // Another attempt holds the key (as a request still waiting on its Update would).
    const held = await claimKey(ctx.db, {
      principal,
      key,
      fingerprint,
      owner: crypto.randomUUID(),
      leaseS: 60,
      ttlS: 3600,
    });
    expect(held.claimed).toBe(true);
    const busy = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(busy.statusCode, busy.body).toBe(409);
    expect(busy.json()).toMatchObject({ code: 'idempotency_key_in_progress' });
    expect(busy.headers['retry-after']).toBe('1');
    expect(await notesWith(text)).toHaveLength(0);
    // A different request under the held key is still 422, not 409.
    expect((await post(handler, `/cases/${caseId}/notes`, { text: 'iets anders' }, key)).statusCode).toBe(422);

    await ctx.db
      .update(idempotencyKeys)
      .set({ leaseUntil: sql`now() - interval '1 second'` })
      .where(and(eq(idempotencyKeys.principal, principal), eq(idempotencyKeys.key, key)));
    const taken = await post(handler, `/cases/${caseId}/notes`, { text }, key);
    expect(taken.statusCode, taken.body).toBe(201);
    expect(await notesWith(text)).toHaveLength(1);
  });

  it('the workflow writes a note once however many activity attempts write it (an attempt that timed out in a freeze)', async () => {
    const caseId = await openCase();
    const text = `Poging ${tag()}`;
    const note = {
      caseId,
      at: new Date().toISOString(),
      text,
      actor: { actor: 'api-key:x', actorRole: 'case-handler' },
    };
    await Promise.all([recordNote(ctx.db, note), recordNote(ctx.db, note), recordNote(ctx.db, note)]);
    expect(await notesWith(text)).toHaveLength(1);
    // Another note with the same text a moment later is another note.
    await recordNote(ctx.db, { ...note, at: new Date(Date.parse(note.at) + 1).toISOString() });
    expect(await notesWith(text)).toHaveLength(2);
  });

  it('expired keys are removed by the retention purge (with the access register), others kept', async () => {
    const principal = `purge-${tag()}`;
    const row = (key: string, expiresAt: string) => ({
      principal,
      key,
      fingerprint: 'x',
      status: 'done' as const,
      owner: crypto.randomUUID(),
      leaseUntil: sql`now()`,
      responseStatus: 201,
      responseBody: {},
      createdAt: sql`now() - interval '2 days'`,
      expiresAt: sql.raw(expiresAt),
    });
    await ctx.db
      .insert(idempotencyKeys)
      .values([
        row('old-1', "now() - interval '1 hour'"),
        row('old-2', "now() - interval '1 minute'"),
        row('new', "now() + interval '1 hour'"),
      ]);
    const r = await purgeExpiredAccessRegister(ctx.db, {
      runId: `test-${tag()}`,
      asOf: new Date().toISOString(),
      days: 3650,
      batchSize: 1,
      maxBatches: 50,
    });
    expect(r.removed.idempotency_keys).toBeGreaterThanOrEqual(2);
    const left = await ctx.db
      .select({ key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.principal, principal));
    expect(left.map((k) => k.key)).toEqual(['new']);
  });
});
