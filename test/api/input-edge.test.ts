/**
 * Issue 18, what generated input found at the edge: JSON nested thousands deep (a stack overflow in the input
 * check → 500), calendar days that do not exist (2026-02-30 reached PostgreSQL → 500), allocation runs of days
 * that have not ended (accepted, AL-1), and input checks that ran before the role check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocationRuns, parties } from '../../db/schema/index.js';
import { requestRun } from '../../db/repositories/allocation-runs.js';
import { amsterdamDayOf, isDay, nextDay, previousDay } from '../../domain/allocation.js';
import { MAX_INPUT_DEPTH } from '../../domain/text.js';
import { DomainError } from '../../lib/errors.js';
import { call, coreContext, makeKey, makeParty, type CoreContext } from '../core/fixtures.js';

let ctx: CoreContext;
let admin: string;

beforeAll(async () => {
  ctx = await coreContext('input_edge');
  admin = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

/** `[[[…"x"…]]]` nested `depth` deep, as JSON text (built without recursion). */
const nested = (depth: number, inner = '"x"') => '['.repeat(depth) + inner + ']'.repeat(depth);

const post = (auth: string, url: string, payload: string) =>
  ctx.app.inject({
    method: 'POST',
    url,
    headers: { authorization: auth, 'content-type': 'application/json' },
    payload,
  });

describe('JSON nested deeper than the input check walks', () => {
  it(`answers 400 too_deep naming where (limit ${MAX_INPUT_DEPTH}), at 5,000 and 30,000 levels; a body at the limit is judged as usual`, async () => {
    for (const depth of [5_000, 30_000]) {
      const res = await post(admin, '/parties', `{"gln":"8712345678901","name":"x","roles":${nested(depth)}}`);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'too_deep', field: expect.stringMatching(/^body\.roles\[0\]/) });
    }
    // Within the limit: the schema's own answer.
    const ok = await post(
      admin,
      '/parties',
      `{"gln":"8712345678901","name":"x","roles":${nested(MAX_INPUT_DEPTH - 2)}}`,
    );
    expect(ok.statusCode).toBe(400);
    expect(ok.json()).toMatchObject({ code: 'invalid_request' });
    expect(await ctx.db.$count(parties)).toBe(0);
  });

  it('NUL deep inside is still found, and named', async () => {
    const res = await post(admin, '/parties', `{"gln":"8712345678901","name":"x","roles":[[{"a\\u0000":1}]]}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'unstorable_text', field: 'body.roles[0][0].a\u0000' });
  });

  it('a key without the role gets 403 before its input is judged', async () => {
    const compliance = await makeKey(ctx.db, 'compliance');
    for (const payload of [nested(5_000), '{"name":"x\\u0000"}', '{"gln": 12']) {
      const res = await post(compliance, '/parties', payload);
      expect(res.statusCode, payload.slice(0, 20)).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden_role' });
    }
    // The HEAD route Fastify makes of every GET keeps the check.
    const head = await ctx.app.inject({ method: 'HEAD', url: '/api-keys', headers: { authorization: compliance } });
    expect(head.statusCode).toBe(403);
  });
});

describe('calendar days are days', () => {
  it('2026-02-30, 2025-02-29, 2025-13-01 and years outside 1900-2999 are 400 naming the field, in the query and the body', async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    for (const day of ['2026-02-30', '2025-02-29', '2025-13-01', '2025-04-31', '0000-01-01', '9999-12-31']) {
      const list = await call(ctx.app, admin, 'GET', `/allocation/runs?day=${day}`);
      expect(list.statusCode, `${day}: ${list.body}`).toBe(400);
      expect(list.json()).toMatchObject({ code: 'invalid_request', field: 'querystring.day' });
      const run = await call(ctx.app, admin, 'POST', '/allocation/runs', { gridOperatorGln: op.gln, day, reason: 'x' });
      expect(run.statusCode, `${day}: ${run.body}`).toBe(400);
      expect(run.json()).toMatchObject({ code: 'invalid_request', field: 'body.day' });
    }
    expect((await call(ctx.app, admin, 'GET', '/allocation/runs?day=2024-02-29')).statusCode).toBe(200);
    expect(await ctx.db.$count(allocationRuns)).toBe(0);
  });

  it('the schema (CalendarDay) and the domain (isDay, which a readings file’s lines meet) give the same answers', async () => {
    const candidates = [
      '2024-02-29',
      '2025-02-29',
      '2100-02-29',
      '2000-02-29',
      '2026-02-30',
      '2025-04-31',
      '2025-12-31',
      '2025-00-10',
      '2025-01-00',
      '2025-13-01',
      '1900-01-01',
      '1899-12-31',
      '2999-12-31',
      '3000-01-01',
      '0000-01-01',
      '2025-1-01',
      '20250101',
      '2025-03-30',
      '2025-10-26',
    ];
    for (const day of candidates) {
      const res = await call(ctx.app, admin, 'GET', `/allocation/runs?day=${day}`);
      expect(res.statusCode === 200, `${day}: ${res.statusCode}`).toBe(isDay(day));
    }
  });
});

describe('AL-1: no allocation run of a day that has not ended (Europe/Amsterdam)', () => {
  it('requesting today, tomorrow or 2030 is 400 day_not_ended on body.day; yesterday is taken', async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const today = amsterdamDayOf(new Date());
    for (const day of [today, nextDay(today), '2030-01-01']) {
      const res = await call(ctx.app, admin, 'POST', '/allocation/runs', { gridOperatorGln: op.gln, day, reason: 'x' });
      expect(res.statusCode, `${day}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ code: 'day_not_ended', field: 'body.day' });
    }
    expect(await ctx.db.$count(allocationRuns)).toBe(0);
    // Yesterday has ended: recorded (503 here, as no Temporal client is configured).
    const res = await call(ctx.app, admin, 'POST', '/allocation/runs', {
      gridOperatorGln: op.gln,
      day: previousDay(today),
      reason: 'x',
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(await ctx.db.$count(allocationRuns)).toBe(1);
  });

  it('the Schedule’s request of a day not ended is refused too (the repository every request goes through)', async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const today = amsterdamDayOf(new Date());
    const actor = { actor: 'schedule:test', actorRole: 'system', actorPartyId: null };
    const err = await requestRun(ctx.db, actor, {
      gridOperatorId: op.id,
      day: today,
      trigger: 'schedule',
      requestKey: `schedule:${op.id}:${today}`,
      reason: 'daily',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ kind: 'validation', code: 'day_not_ended', field: 'day' });
  });
});
