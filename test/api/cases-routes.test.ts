/**
 * The case routes on the real stack: Fastify → case service → Temporal dev server (a worker of this file
 * on its own task queue, real activities) → PostgreSQL, with the SMTP capture. Role boundaries
 * (401/403/404), bad input (400 naming the field), idempotent intake with the block in force at the
 * moment of the 201 (asked through the P4 gate), evidence checks, late evidence (GT-8), the handler's
 * actions, GT-9 supplier reports and the compliance history.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, asc, count, eq } from 'drizzle-orm';
import { auditLog, caseResponses, doubtCases, supplierReports } from '../../db/schema/index.js';
import { call, days, iso, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';
import { caseApiContext, pngBytes, smallPdf, tag, type CaseApiContext } from './case-context.js';
import { callAs, makePerson, steppedUp, stepUpRecord } from './person.js';

let ctx: CaseApiContext;
let opA: Awaited<ReturnType<CaseApiContext['party']>>;
let opB: Awaited<ReturnType<CaseApiContext['party']>>;
let supS: Awaited<ReturnType<CaseApiContext['party']>>;
let supT: Awaited<ReturnType<CaseApiContext['party']>>;
const keys: Record<
  'handlerA' | 'handlerB' | 'supplierS' | 'supplierT' | 'p4S' | 'compliance' | 'complianceB' | 'admin',
  string
> = {} as never;

beforeAll(async () => {
  ctx = await caseApiContext('cases_routes');
  opA = await ctx.party(['grid_operator']);
  opB = await ctx.party(['grid_operator']);
  supS = await ctx.party(['supplier'], 2);
  supT = await ctx.party(['supplier']);
  keys.handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id, holderName: 'Anna de Vries' });
  keys.handlerB = await makeKey(ctx.db, 'case-handler', { partyId: opB.id });
  keys.supplierS = await makeKey(ctx.db, 'supplier', { partyId: supS.id });
  keys.supplierT = await makeKey(ctx.db, 'supplier', { partyId: supT.id });
  keys.p4S = await makeKey(ctx.db, 'p4-client', { partyId: supS.id });
  // Compliance officers belong to a grid operator (A's and B's): each reads its own operator's case files.
  keys.compliance = await makeKey(ctx.db, 'compliance', { partyId: opA.id, holderName: 'C. de Jong' });
  keys.complianceB = await makeKey(ctx.db, 'compliance', { partyId: opB.id, holderName: 'D. Dekker' });
  keys.admin = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

/** A connection of operator A supplied by S, with S's mandate for interval data (so only a block denies). */
async function connectionOfA() {
  const c = await makeConnection(ctx.db, { gridOperatorId: opA.id, supplierId: supS.id });
  await makeMandate(ctx.db, { partyId: supS.id, connectionEan: c.ean });
  return c.ean;
}

const intake = (ean: string, extra: Record<string, unknown> = {}) => ({
  connectionEan: ean,
  partyGln: supS.gln,
  channel: 'consuwijzer',
  receivedAt: new Date(Date.now() - 60_000).toISOString(),
  reporterName: 'Klant via ConsuWijzer',
  reporterContact: 'klant@example.nl',
  description: 'Klant ziet P4-opvragingen zonder machtiging',
  isma: false,
  ...extra,
});

async function openCase(extra: Record<string, unknown> = {}) {
  const ean = await connectionOfA();
  const res = await call(ctx.app, keys.handlerA, 'POST', '/cases', intake(ean, extra));
  expect(res.statusCode, res.body).toBe(201);
  return { ean, body: res.json() };
}

function askGate(ean: string) {
  return call(ctx.app, keys.p4S, 'POST', '/p4/requests', {
    connectionEan: ean,
    dataKind: 'interval_data',
    from: iso(Date.now() - days(2)),
    to: iso(Date.now() - days(1)),
  });
}

function evidence(content: Buffer, contentType = 'application/pdf', filename = 'machtiging.pdf') {
  return { filename, contentType, contentBase64: content.toString('base64') };
}

const respond = (caseId: string, body: Record<string, unknown>, key = keys.supplierS) =>
  call(ctx.app, key, 'POST', `/cases/${caseId}/responses`, body);
const answer = (ev?: ReturnType<typeof evidence>) => ({
  findings: 'Machtiging via website verkregen',
  complaintHandling: 'Klant gebeld op dag 1',
  ...(ev ? { evidence: ev } : {}),
});

describe('intake (GT-1, GT-2)', () => {
  it('201 with reference and deadlines, and the block is in force at that moment (P4 gate: blocked_by_doubt_case)', async () => {
    const ean = await connectionOfA();
    const before = await askGate(ean);
    expect(before.json()).toMatchObject({ allowed: true, reasonCode: 'mandate_valid' });

    const res = await call(ctx.app, keys.handlerA, 'POST', '/cases', intake(ean));
    // No waiting: the very next request after the 201 is denied.
    const gate = await askGate(ean);
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json();
    expect(res.headers.location).toBe(`/cases/${c.id}`);
    expect(c).toMatchObject({
      created: true,
      blockInForce: true,
      status: 'blocked',
      channel: 'consuwijzer',
      party: { gln: supS.gln },
      gridOperator: { gln: opA.gln },
    });
    expect(c.reference).toMatch(/^GT-\d{4}-\d{6}$/);
    expect(c.deadlines.contact).toMatchObject({ state: 'pending', rule: 'GT-1' });
    expect(Date.parse(c.deadlines.contact.dueAt)).toBeGreaterThan(Date.now());
    expect(c.deadlines.response.rule).toBe('GT-3');
    expect(gate.statusCode).toBe(200);
    expect(gate.json()).toMatchObject({ allowed: false, reasonCode: 'blocked_by_doubt_case', rule: 'GT-2' });
  });

  it('is idempotent on Idempotency-Key and on the external reference: 200 with the same case, one case and one block', async () => {
    const ean = await connectionOfA();
    const key = `idem-${tag()}`;
    const extRef = `CW-${tag()}`;
    const body = intake(ean, { externalReference: extRef });
    const first = await ctx.app.inject({
      method: 'POST',
      url: '/cases',
      headers: { authorization: keys.handlerA, 'content-type': 'application/json', 'idempotency-key': key },
      payload: body,
    });
    const again = await ctx.app.inject({
      method: 'POST',
      url: '/cases',
      headers: { authorization: keys.handlerA, 'content-type': 'application/json', 'idempotency-key': key },
      payload: body,
    });
    const byRef = await call(ctx.app, keys.handlerA, 'POST', '/cases', body);
    expect(first.statusCode, first.body).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(byRef.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.json().id, reference: first.json().reference, created: false });
    expect(byRef.json().id).toBe(first.json().id);
    const n = (await ctx.db.select({ n: count() }).from(doubtCases).where(eq(doubtCases.connectionEan, ean)))[0]!.n;
    expect(n).toBe(1);
    // The same key for another connection is a conflict, not silently the old case.
    const other = await connectionOfA();
    const reused = await ctx.app.inject({
      method: 'POST',
      url: '/cases',
      headers: { authorization: keys.handlerA, 'content-type': 'application/json', 'idempotency-key': key },
      payload: intake(other),
    });
    expect(reused.statusCode).toBe(409);
    expect(reused.json()).toMatchObject({ code: 'idempotency_key_reused', field: 'headers.idempotency-key' });
  });

  it('the workflow contacts the party: status awaiting_response, contactedAt and the 72-hour deadline set', async () => {
    const { body } = await openCase();
    const row = await ctx.waitForCase(body.id, (r) => r.contactedAt !== null);
    expect(row.status).toBe('awaiting_response');
    expect(row.responseDueAt!.getTime() - row.contactedAt!.getTime()).toBeGreaterThanOrEqual(72 * 3_600_000);
    const view = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${body.id}`)).json();
    expect(view.deadlines.contact.state).toBe('met');
    expect(view.deadlines.response).toMatchObject({ state: 'pending', dueAt: row.responseDueAt!.toISOString() });
    expect(view.workflow).toMatchObject({ caseId: body.id, status: 'awaiting_response' });
  });
});

describe('role boundaries', () => {
  it('401 without a key; 403 for roles that may not act; 404 for another party’s case', async () => {
    const { body } = await openCase();
    const none = await call(ctx.app, null, 'GET', `/cases/${body.id}`);
    expect(none.statusCode).toBe(401);
    expect((await call(ctx.app, null, 'POST', '/cases', intake(body.connectionEan))).statusCode).toBe(401);

    const bySupplier = await call(ctx.app, keys.supplierS, 'POST', '/cases', intake(body.connectionEan));
    expect(bySupplier.statusCode).toBe(403);
    expect(bySupplier.json().code).toBe('forbidden_role');
    expect(
      (await call(ctx.app, keys.compliance, 'POST', `/cases/${body.id}/withdraw`, { reason: 'x' })).statusCode,
    ).toBe(403);
    expect((await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/responses`, answer())).statusCode).toBe(403);
    expect((await call(ctx.app, keys.handlerA, 'GET', `/cases/${body.id}/history`)).statusCode).toBe(403);
    expect((await call(ctx.app, keys.p4S, 'GET', `/cases/${body.id}`)).statusCode).toBe(403);

    // Another grid operator's handler and another party: the case does not exist for them.
    for (const [key, method, url, payload] of [
      [keys.handlerB, 'GET', `/cases/${body.id}`, undefined],
      [keys.handlerB, 'POST', `/cases/${body.id}/withdraw`, { reason: 'not mine' }],
      [keys.handlerB, 'POST', `/cases/${body.id}/notes`, { text: 'peek' }],
      [keys.supplierT, 'GET', `/cases/${body.id}`, undefined],
      [keys.supplierT, 'POST', `/cases/${body.id}/responses`, answer()],
    ] as const) {
      const res = await call(ctx.app, key, method, url, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toMatchObject({ code: 'case_not_found', field: 'params.id' });
    }
    // A handler cannot open a case on another operator's connection either.
    const foreign = await makeConnection(ctx.db, { gridOperatorId: opB.id, supplierId: supS.id });
    const res = await call(ctx.app, keys.handlerA, 'POST', '/cases', intake(foreign.ean));
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'connection_not_found', field: 'body.connectionEan' });
  });

  it('the party sees its own case without the reporter, the description or internal notes; the handler sees everything', async () => {
    const { body } = await openCase();
    const note = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/notes`, {
      text: 'Intern: klant belt terug',
    });
    expect(note.statusCode, note.body).toBe(201);
    const party = await call(ctx.app, keys.supplierS, 'GET', `/cases/${body.id}`);
    expect(party.statusCode).toBe(200);
    const p = party.json();
    expect(p.reporterName).toBeUndefined();
    expect(p.description).toBeUndefined();
    expect(p.timeline.map((e: { action: string }) => e.action)).not.toContain('case.note');
    expect(p.timeline.every((e: Record<string, unknown>) => e.actor === undefined && e.data === undefined)).toBe(true);
    const full = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${body.id}`)).json();
    expect(full).toMatchObject({ reporterName: 'Klant via ConsuWijzer', reporterContact: 'klant@example.nl' });
    const noteEntry = full.timeline.find((e: { action: string }) => e.action === 'case.note');
    expect(noteEntry).toMatchObject({ data: { text: 'Intern: klant belt terug' }, actorRole: 'case-handler' });
    expect(noteEntry.actor).toMatch(/^api-key:/);
  });
});

describe('the people around the case (issue 10)', () => {
  it('an AP signal: the reporter is acknowledged at its e-mail address; its reference and what it was told are shown to the handler, never to the party', async () => {
    const reporter = `melder-${tag()}@ap.example`;
    const reference = `AP-${tag()}`;
    const { body } = await openCase({
      channel: 'ap',
      reporterName: 'Autoriteit Persoonsgegevens',
      reporterContact: reporter,
      reporterReference: reference,
    });
    expect(body.channel).toBe('ap');
    const ack = await ctx.mail((m) => m.to.includes(reporter));
    expect(ack.subject).toContain(body.reference);
    expect(ack.subject).toContain(reference);
    const told = async () => {
      for (let i = 0; i < 100; i++) {
        const v = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${body.id}`)).json();
        const e = v.timeline.find((x: { action: string }) => x.action === 'case.notice_sent');
        if (e) return { view: v, entry: e };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no notice recorded');
    };
    const { view, entry } = await told();
    expect(view).toMatchObject({ reporterContact: reporter, reporterReference: reference });
    expect(entry.data).toMatchObject({ notice: 'reporter_acknowledgement', to: [reporter], subject: ack.subject });
    const party = await call(ctx.app, keys.supplierS, 'GET', `/cases/${body.id}`);
    expect(party.statusCode).toBe(200);
    expect(party.json().reporterReference).toBeUndefined();
    expect(party.json().timeline.map((e: { action: string }) => e.action)).not.toContain('case.notice_sent');
    expect(party.body).not.toContain(reporter);
    expect(party.body).not.toContain(reference);
  });
});

describe('bad input: 400 naming the field, nothing written', () => {
  it.each([
    ['isma not a boolean', (b: Record<string, unknown>) => ({ ...b, isma: 'ja' }), 'body.isma', 'invalid_request'],
    ['unknown field', (b: Record<string, unknown>) => ({ ...b, priority: 'high' }), 'body.priority', 'invalid_request'],
    [
      'unknown channel',
      (b: Record<string, unknown>) => ({ ...b, channel: 'twitter' }),
      'body.channel',
      'invalid_request',
    ],
    [
      'malformed receivedAt',
      (b: Record<string, unknown>) => ({ ...b, receivedAt: 'yesterday' }),
      'body.receivedAt',
      'invalid_request',
    ],
    [
      'EAN check digit',
      (b: Record<string, unknown>) => ({
        ...b,
        connectionEan:
          String(b['connectionEan']).slice(0, -1) + ((Number(String(b['connectionEan']).slice(-1)) + 1) % 10),
      }),
      'body.connectionEan',
      'invalid_ean',
    ],
    ['no channel', (b: Record<string, unknown>) => ({ ...b, channel: undefined }), 'body.channel', 'field_required'],
    [
      'supplier_report without a report',
      (b: Record<string, unknown>) => ({ ...b, channel: 'supplier_report' }),
      'body.supplierReportId',
      'supplier_report_required',
    ],
    [
      'reporterReference over 100 characters',
      (b: Record<string, unknown>) => ({ ...b, reporterReference: 'K'.repeat(101) }),
      'body.reporterReference',
      'invalid_request',
    ],
    [
      'receivedAt in the future',
      (b: Record<string, unknown>) => ({ ...b, receivedAt: iso(Date.now() + days(1)) }),
      'body.receivedAt',
      'received_in_future',
    ],
    [
      'a party that requests no data',
      (b: Record<string, unknown>) => ({ ...b, partyGln: opB.gln }),
      'body.partyGln',
      'party_not_requester',
    ],
  ])('%s', async (_name, mutate, field, code) => {
    const ean = await connectionOfA();
    const res = await call(ctx.app, keys.handlerA, 'POST', '/cases', mutate(intake(ean)));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code, field });
    const n = (await ctx.db.select({ n: count() }).from(doubtCases).where(eq(doubtCases.connectionEan, ean)))[0]!.n;
    expect(n).toBe(0);
  });

  it('a rejection without a reason; a judgement with an unknown decision', async () => {
    const { body } = await openCase();
    const noReason = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: randomUUID(),
      decision: 'reject',
    });
    expect(noReason.json()).toMatchObject({ code: 'reason_required', field: 'body.reason' });
    const bad = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: randomUUID(),
      decision: 'maybe',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('body.decision');
  });
});

describe('the party’s response and its evidence (GT-3, GT-8)', () => {
  it('refuses evidence of another type, with a lying type, not base64 or too large; accepts a file above the global body limit', async () => {
    const { body } = await openCase();
    await ctx.waitForCase(body.id, (r) => r.contactedAt !== null);
    const cases: [unknown, string, string][] = [
      [evidence(Buffer.from('hello'), 'text/plain', 'a.txt'), 'evidence_type_not_allowed', 'body.evidence.contentType'],
      [evidence(pngBytes(), 'application/pdf'), 'evidence_type_mismatch', 'body.evidence.contentBase64'],
      [
        { filename: 'x.pdf', contentType: 'application/pdf', contentBase64: '%%% not base64 %%%' },
        'evidence_not_base64',
        'body.evidence.contentBase64',
      ],
      [
        evidence(Buffer.concat([smallPdf(), Buffer.alloc(ctx.evidenceMaxBytes)])),
        'evidence_too_large',
        'body.evidence.contentBase64',
      ],
    ];
    for (const [ev, code, field] of cases) {
      const res = await respond(body.id, { ...answer(), evidence: ev });
      expect(res.statusCode, code).toBe(400);
      expect(res.json()).toMatchObject({ code, field });
    }
    // Far beyond the route's own limit: refused before parsing.
    const huge = await respond(body.id, { ...answer(), evidence: evidence(Buffer.alloc(ctx.evidenceMaxBytes * 2, 1)) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('payload_too_large');
    const n = (await ctx.db.select({ n: count() }).from(caseResponses).where(eq(caseResponses.caseId, body.id)))[0]!.n;
    expect(n).toBe(0);

    // 150 kB of evidence: more than BODY_LIMIT_BYTES (64 KiB) allows elsewhere, within EVIDENCE_MAX_BYTES.
    const pdf = Buffer.concat([smallPdf(), Buffer.alloc(150_000, 0x20)]);
    const ok = await respond(body.id, answer(evidence(pdf)));
    expect(ok.statusCode, ok.body).toBe(201);
    const r = ok.json();
    expect(r.response).toMatchObject({
      status: 'received',
      evidence: {
        filename: 'machtiging.pdf',
        contentType: 'application/pdf',
        size: pdf.length,
        sha256: createHash('sha256').update(pdf).digest('hex'),
        held: true,
      },
    });
    expect(JSON.stringify(r)).not.toContain(pdf.subarray(0, 40).toString('base64'));
    expect(r.case.status).toBe('awaiting_judgement');
    const view = (await call(ctx.app, keys.supplierS, 'GET', `/cases/${body.id}`)).json();
    expect(view.responses).toHaveLength(1);
    expect(view.responses[0]).not.toHaveProperty('evidenceContent');
  });

  it('a rejection leaves the 72 hours to the party (GT-3); after the decision, evidence is late: 409 response_window_closed, pointing to the regular processes', async () => {
    const { body } = await openCase();
    await ctx.waitForCase(body.id, (r) => r.contactedAt !== null);
    const first = await respond(body.id, answer(evidence(smallPdf())));
    expect(first.statusCode, first.body).toBe(201);
    const rejected = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: first.json().response.id,
      decision: 'reject',
      reason: 'Handtekening ontbreekt',
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json()).toMatchObject({ status: 'awaiting_response', outcome: null });
    const second = await respond(body.id, answer(evidence(smallPdf('tweede poging'))));
    expect(second.statusCode, second.body).toBe(201);
    const accepted = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: second.json().response.id,
      decision: 'accept',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({ status: 'closed_mandate_accepted', outcome: 'accepted' });
    // Issue 19: the rejection's own entry says it was signed by the key's recorded holder (no step-up for a key);
    // an acceptance is not signed.
    const judged = await judgedEntries(body.id);
    expect(judged.map((e) => [e.data['decision'], e.data['signedWith'] ?? null])).toEqual([
      [
        'rejected',
        { kind: 'key_holder', keyId: judged[0]!.actor.slice('api-key:'.length), holderName: 'Anna de Vries' },
      ],
      ['accepted', null],
    ]);

    const late = await respond(body.id, answer(evidence(smallPdf('derde poging'))));
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('response_window_closed');
    expect(late.json().message).toMatch(/regular processes/);
  });
});

const judgedEntries = (caseId: string) =>
  ctx.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityId, caseId), eq(auditLog.action, 'case.evidence_judged')))
    .orderBy(asc(auditLog.id));

describe('a signed rejection by a person (issue 19)', () => {
  it('needs a fresh authentication; the judgement and its own audit entry name the person and the step-up it was signed with', async () => {
    const person = await makePerson(ctx.db, 'Hanna Hendriks', 'case-handler', opA.id);
    const { body } = await openCase();
    await ctx.waitForCase(body.id, (r) => r.contactedAt !== null);
    const sent = await respond(body.id, answer(evidence(smallPdf())));
    expect(sent.statusCode, sent.body).toBe(201);
    const reject = { responseId: sent.json().response.id, decision: 'reject', reason: 'Handtekening ontbreekt' };

    // Signed in, but no step-up (or one older than 5 minutes): refused, nothing judged.
    for (const who of [person, steppedUp(person, 6 * 60_000)]) {
      const refused = await callAs(ctx.app, who, 'POST', `/cases/${body.id}/judgements`, reject);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'step_up_required' });
    }
    expect(await judgedEntries(body.id)).toEqual([]);

    const signer = steppedUp(person);
    const rejected = await callAs(ctx.app, signer, 'POST', `/cases/${body.id}/judgements`, reject);
    expect(rejected.statusCode, rejected.body).toBe(200);
    const [stored] = await ctx.db.select().from(caseResponses).where(eq(caseResponses.id, reject.responseId));
    expect(stored).toMatchObject({ judgement: 'rejected', judgedBy: `user:${person.id}`, judgedByName: person.name });
    const [entry, ...more] = await judgedEntries(body.id);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ actor: `user:${person.id}`, actorName: person.name, actorRole: 'case-handler' });
    expect(entry!.data).toMatchObject({ decision: 'rejected', signedWith: stepUpRecord(signer) });
  });
});

describe('handler actions', () => {
  it('judging when nothing awaits a judgement is 409 nothing_to_judge; an unknown response 404; accepting a response without evidence 409', async () => {
    const { body } = await openCase();
    const nothing = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: randomUUID(),
      decision: 'accept',
    });
    expect(nothing.statusCode).toBe(409);
    expect(nothing.json().code).toBe('nothing_to_judge');

    await ctx.waitForCase(body.id, (r) => r.contactedAt !== null);
    const plain = await respond(body.id, answer());
    expect(plain.statusCode, plain.body).toBe(201);
    expect(plain.json().case.status).toBe('awaiting_response');
    const unknown = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: randomUUID(),
      decision: 'accept',
    });
    expect(unknown.json()).toMatchObject({ code: 'response_not_found', field: 'body.responseId' });
    const noEvidence = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/judgements`, {
      responseId: plain.json().response.id,
      decision: 'accept',
    });
    expect(noEvidence.statusCode).toBe(409);
    expect(noEvidence.json().code).toBe('response_without_evidence');
  });

  it('notes, an ACM notification (GT-6), then lift a wrongful block (GT-7): each audited with who; a closed case refuses further actions', async () => {
    const { body } = await openCase();
    const note = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/notes`, {
      text: 'Gebeld met leverancier',
    });
    expect(note.statusCode, note.body).toBe(201);
    const acm = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/acm-notifications`, {
      message: 'Derde signaal deze maand',
    });
    expect(acm.statusCode, acm.body).toBe(201);
    expect(acm.json().notificationId).toMatch(/^[0-9a-f-]{36}$/);
    const empty = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/lift-block`, {});
    expect(empty.json()).toMatchObject({ code: 'invalid_request', field: 'body.reason' });

    const lifted = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/lift-block`, {
      reason: 'Verkeerde aansluiting gemeld',
    });
    expect(lifted.statusCode, lifted.body).toBe(200);
    expect(lifted.json()).toMatchObject({ status: 'closed_wrongful_block', outcome: 'wrongful_block' });
    expect((await askGate(body.connectionEan)).json()).toMatchObject({ allowed: true });

    const again = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/withdraw`, { reason: 'dubbel' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('case_closed');
    // Notes stay possible on a completed case (straight into the audit log).
    await ctx.temporal.workflow.getHandle(body.id).result();
    const noteLate = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/notes`, { text: 'Na afsluiting' });
    expect(noteLate.statusCode, noteLate.body).toBe(201);

    const view = (await call(ctx.app, keys.handlerA, 'GET', `/cases/${body.id}`)).json();
    const byAction = new Map<string, { actor: string; at: string }>(
      view.timeline.map((e: { action: string; actor: string; at: string }) => [e.action, e]),
    );
    for (const action of ['case.note', 'case.acm_notified', 'case.closed']) {
      expect(byAction.get(action)?.actor, action).toMatch(/^api-key:/);
    }
    expect(view.deadlines.unblock).toMatchObject({ rule: 'GT-7', state: 'met' });
    expect(view.workflow).toBeNull();
  });
});

describe('listing', () => {
  it('a handler sees its own operator’s cases only; filters on status, party, channel, breached; paging', async () => {
    const a = await openCase({ channel: 'acm' });
    const foreign = await makeConnection(ctx.db, { gridOperatorId: opB.id, supplierId: supT.id });
    const b = await call(ctx.app, keys.handlerB, 'POST', '/cases', { ...intake(foreign.ean), partyGln: supT.gln });
    expect(b.statusCode, b.body).toBe(201);

    const mine = (await call(ctx.app, keys.handlerA, 'GET', '/cases?limit=500')).json();
    expect(mine.items.every((c: { gridOperator: { id: string } }) => c.gridOperator.id === opA.id)).toBe(true);
    expect(mine.items.map((c: { id: string }) => c.id)).toContain(a.body.id);
    expect(mine.items.map((c: { id: string }) => c.id)).not.toContain(b.json().id);
    const scoped = await call(ctx.app, keys.handlerA, 'GET', `/cases?gridOperatorGln=${opB.gln}`);
    expect(scoped.json()).toMatchObject({ code: 'grid_operator_scope', field: 'query.gridOperatorGln' });

    const viaAcm = (await call(ctx.app, keys.handlerA, 'GET', '/cases?channel=acm')).json();
    expect(viaAcm.items.map((c: { id: string }) => c.id)).toEqual([a.body.id]);
    const ofB = (await call(ctx.app, keys.complianceB, 'GET', `/cases?gridOperatorGln=${opB.gln}`)).json();
    expect(ofB.items.map((c: { id: string }) => c.id)).toEqual([b.json().id]);
    // A's compliance officer reads A's case files only: B's are not in its list, nor to be asked for.
    const ofA = (await call(ctx.app, keys.compliance, 'GET', '/cases?limit=500')).json();
    expect(ofA.items.map((c: { id: string }) => c.id)).toContain(a.body.id);
    expect(ofA.items.map((c: { id: string }) => c.id)).not.toContain(b.json().id);
    expect((await call(ctx.app, keys.compliance, 'GET', `/cases?gridOperatorGln=${opB.gln}`)).json()).toMatchObject({
      code: 'grid_operator_scope',
    });
    expect((await call(ctx.app, keys.compliance, 'GET', `/cases/${b.json().id}`)).statusCode).toBe(404);
    expect((await call(ctx.app, keys.compliance, 'GET', `/cases/${b.json().id}/history`)).statusCode).toBe(404);
    const ofT = (await call(ctx.app, keys.supplierT, 'GET', '/cases')).json();
    expect(ofT.items.map((c: { id: string }) => c.id)).toEqual([b.json().id]);
    expect((await call(ctx.app, keys.compliance, 'GET', '/cases?breached=true')).json().items).toEqual([]);
    const page = (
      await call(
        ctx.app,
        keys.handlerA,
        'GET',
        '/cases?status=blocked&status=awaiting_response&status=awaiting_judgement&limit=1&offset=0',
      )
    ).json();
    expect(page.items).toHaveLength(1);
    expect(page.total).toBeGreaterThan(1);
    expect(page).toMatchObject({ limit: 1, offset: 0 });
    expect((await call(ctx.app, keys.handlerA, 'GET', '/cases?status=open')).statusCode).toBe(400);
  });
});

describe('GT-9 supplier reports', () => {
  it('a supplier reports; the operator’s doubt group is mailed; the handler opens a case from it (idempotent); others do not see it', async () => {
    const ean = await connectionOfA();
    const signal = new Date(Date.now() - 3_600_000);
    const res = await call(ctx.app, keys.supplierS, 'POST', '/supplier-reports', {
      connectionEan: ean,
      signalReceivedAt: signal.toISOString(),
      customerSatisfaction: 'dissatisfied',
      findings: 'Klant boos',
      actions: 'Teruggebeld',
    });
    expect(res.statusCode, res.body).toBe(201);
    const report = res.json();
    expect(report).toMatchObject({
      reportedWithinOneWorkingDay: true,
      gridOperator: { id: opA.id },
      party: { id: supS.id },
      caseId: null,
    });
    const mail = await ctx.mail((m) => m.headers['x-supplier-report-id'] === report.id);
    expect(mail.to.sort()).toEqual([...opA.mails].sort());

    const late = await call(ctx.app, keys.supplierS, 'POST', '/supplier-reports', {
      connectionEan: ean,
      signalReceivedAt: iso(Date.now() - days(10)),
      customerSatisfaction: 'unknown',
      findings: 'f',
      actions: 'a',
    });
    expect(late.json().reportedWithinOneWorkingDay).toBe(false);

    expect(
      (await call(ctx.app, keys.handlerA, 'GET', '/supplier-reports?withCase=false&limit=500'))
        .json()
        .items.map((r: { id: string }) => r.id),
    ).toContain(report.id);
    expect(
      (await call(ctx.app, keys.handlerB, 'GET', '/supplier-reports?limit=500'))
        .json()
        .items.map((r: { id: string }) => r.id),
    ).not.toContain(report.id);
    expect((await call(ctx.app, keys.supplierT, 'GET', `/supplier-reports/${report.id}`)).statusCode).toBe(404);
    expect(
      (await call(ctx.app, keys.handlerB, 'POST', '/cases', { supplierReportId: report.id, isma: false })).statusCode,
    ).toBe(404);

    const opened = await call(ctx.app, keys.handlerA, 'POST', '/cases', { supplierReportId: report.id, isma: false });
    expect(opened.statusCode, opened.body).toBe(201);
    expect(opened.json()).toMatchObject({
      channel: 'supplier_report',
      supplierReportId: report.id,
      connectionEan: ean,
      party: { id: supS.id },
    });
    const twice = await call(ctx.app, keys.handlerA, 'POST', `/supplier-reports/${report.id}/cases`, { isma: false });
    expect(twice.statusCode).toBe(200);
    expect(twice.json().id).toBe(opened.json().id);
    const [row] = await ctx.db.select().from(supplierReports).where(eq(supplierReports.id, report.id));
    expect(row!.caseId).toBe(opened.json().id);
    expect((await askGate(ean)).json().reasonCode).toBe('blocked_by_doubt_case');
  });

  it('only suppliers report; bad input names the field', async () => {
    const ean = await connectionOfA();
    expect(
      (
        await call(ctx.app, keys.handlerA, 'POST', '/supplier-reports', {
          connectionEan: ean,
          signalReceivedAt: iso(Date.now()),
          customerSatisfaction: 'unknown',
          findings: 'f',
          actions: 'a',
        })
      ).statusCode,
    ).toBe(403);
    const bad = await call(ctx.app, keys.supplierS, 'POST', '/supplier-reports', {
      connectionEan: ean,
      signalReceivedAt: iso(Date.now()),
      customerSatisfaction: 'satisfied',
      findings: 'f',
      actions: 'a',
    });
    expect(bad.json()).toMatchObject({ code: 'invalid_request', field: 'body.customerSatisfaction' });
    const future = await call(ctx.app, keys.supplierS, 'POST', '/supplier-reports', {
      connectionEan: ean,
      signalReceivedAt: iso(Date.now() + days(1)),
      customerSatisfaction: 'unknown',
      findings: 'f',
      actions: 'a',
    });
    expect(future.json()).toMatchObject({ code: 'signal_in_future', field: 'body.signalReceivedAt' });
  });
});

describe('compliance history', () => {
  it('Temporal events and audit entries merged in time order; the raw export as an attachment', async () => {
    const { body } = await openCase();
    await ctx.waitForCase(body.id, (r) => r.contactedAt !== null);
    const withdrawn = await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/withdraw`, {
      reason: 'Signaal betrof andere partij',
    });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    // The Update answers once the case is closed; the run completes after the outcome mail.
    await ctx.temporal.workflow.getHandle(body.id).result();

    // Another grid operator's compliance officer does not read this case's history (404, as for a handler).
    expect((await call(ctx.app, keys.complianceB, 'GET', `/cases/${body.id}/history`)).statusCode).toBe(404);
    const res = await call(ctx.app, keys.compliance, 'GET', `/cases/${body.id}/history`);
    expect(res.statusCode, res.body).toBe(200);
    const h = res.json();
    expect(h.temporalSource).toBe('live');
    const entries: { at: string; source: string; type: string; actor: string; detail?: string }[] = h.entries;
    const times = entries.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const idx = (source: string, type: string, detail?: string) =>
      entries.findIndex((e) => e.source === source && e.type === type && (detail === undefined || e.detail === detail));
    expect(idx('database', 'case.opened')).toBeGreaterThanOrEqual(0);
    expect(idx('database', 'case.opened')).toBeLessThan(idx('temporal', 'WorkflowExecutionStarted'));
    expect(idx('temporal', 'WorkflowExecutionStarted')).toBeLessThan(
      idx('database', 'case.contacted') >= 0 ? idx('database', 'case.contacted') : Infinity,
    );
    const update = entries.find((e) => e.type === 'WorkflowExecutionUpdateAccepted' && e.detail === 'withdrawCase');
    expect(update?.actor).toMatch(/^api-key:/);
    expect(idx('temporal', 'WorkflowExecutionCompleted')).toBeGreaterThan(idx('database', 'case.closed'));

    const exp = await ctx.app.inject({
      method: 'GET',
      url: `/cases/${body.id}/history?format=export`,
      headers: { authorization: keys.compliance },
    });
    expect(exp.statusCode).toBe(200);
    expect(exp.headers['content-disposition']).toBe(`attachment; filename="${body.reference}-history.json"`);
    expect(exp.headers['content-type']).toMatch(/^application\/vnd\.gerede-twijfel\.case-history\+json/);
    const x = exp.json();
    expect(x.temporal.source).toBe('live');
    expect(x.temporal.history.events[0].workflowExecutionStartedEventAttributes.workflowType.name).toBe(
      'doubtCaseWorkflow',
    );
    expect(x.audit.map((a: { action: string }) => a.action)).toContain('case.opened');
    const viaAccept = await ctx.app.inject({
      method: 'GET',
      url: `/cases/${body.id}/history`,
      headers: { authorization: keys.admin, accept: 'application/vnd.gerede-twijfel.case-history+json' },
    });
    expect(viaAccept.headers['content-disposition']).toMatch(/^attachment/);
  });

  it('a case whose Temporal history is no longer retained answers from the archive', async () => {
    const { body } = await openCase();
    await call(ctx.app, keys.handlerA, 'POST', `/cases/${body.id}/withdraw`, { reason: 'Dubbele melding' });
    await ctx.temporal.workflow.getHandle(body.id).result();
    // The archive child workflow (started just before the case run completed) copies the history.
    await ctx.temporal.workflow.getHandle(`${body.id}:archive`).result();
    const live = (await call(ctx.app, keys.compliance, 'GET', `/cases/${body.id}/history`)).json();
    // Deleting the execution stands in for the namespace retention running out (the dev server deletes
    // asynchronously, in some 20 seconds).
    await ctx.temporal.workflowService.deleteWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: body.id },
    });
    let archived: { temporalSource: string; entries: unknown[] } | undefined;
    for (let i = 0; i < 450; i++) {
      archived = (await call(ctx.app, keys.compliance, 'GET', `/cases/${body.id}/history`)).json();
      if (archived!.temporalSource === 'archive') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(archived!.temporalSource).toBe('archive');
    // Same Temporal events as live; the archive step itself adds one audit entry.
    const temporalOf = (h: { entries: unknown[] }) =>
      (h.entries as { source: string }[]).filter((e) => e.source === 'temporal');
    expect(temporalOf(archived!)).toEqual(temporalOf(live));
  }, 120_000);
});

describe('OpenAPI', () => {
  it('documents every case and supplier-report endpoint with its responses', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const expected: [string, string, string[]][] = [
      ['post', '/cases', ['200', '201', '400', '404', '409', '503']],
      ['get', '/cases', ['200', '400']],
      ['get', '/cases/{id}', ['200', '404']],
      ['post', '/cases/{id}/responses', ['201', '404', '409', '413']],
      ['post', '/cases/{id}/judgements', ['200', '404', '409']],
      ['post', '/cases/{id}/lift-block', ['200', '404', '409']],
      ['post', '/cases/{id}/withdraw', ['200', '404', '409']],
      ['post', '/cases/{id}/block-corrections', ['201', '404', '409']],
      ['post', '/cases/{id}/acm-notifications', ['201', '404', '409']],
      ['post', '/cases/{id}/notes', ['201', '404', '409']],
      ['get', '/cases/{id}/history', ['200', '404', '503']],
      ['post', '/supplier-reports', ['201', '404']],
      ['get', '/supplier-reports', ['200']],
      ['get', '/supplier-reports/{id}', ['200', '404']],
      ['post', '/supplier-reports/{id}/cases', ['200', '201', '404']],
    ];
    for (const [method, path, statuses] of expected) {
      const op = doc.paths?.[path]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeTruthy();
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(
        expect.arrayContaining([...statuses, '401', '403']),
      );
      if (op.requestBody)
        expect(Object.keys(op.responses), `${method} ${path} 413/415`).toEqual(expect.arrayContaining(['413', '415']));
    }
    const history = doc.paths['/cases/{id}/history'].get.responses['200'].content;
    expect(Object.keys(history)).toEqual(
      expect.arrayContaining(['application/json', 'application/vnd.gerede-twijfel.case-history+json']),
    );
    expect(doc.paths['/cases'].post.parameters.map((p: { name: string }) => p.name)).toContain('idempotency-key');
  });
});
