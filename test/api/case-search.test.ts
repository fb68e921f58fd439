/**
 * GET /cases for people (issue 19): sort=due (nextDueAt ascending, nothing due last, id as tiebreaker, pages that
 * neither repeat nor skip), the default order unchanged (newest signal first), and q= — the beginning of a
 * reference, connection EAN, party GLN or name, or the reporter's reference (not for the party the case is
 * about), with LIKE's wildcards taken literally; within the caller's scope. The prefix search uses its indexes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { doubtCases } from '../../db/schema/index.js';
import { call, coreContext, makeConnection, makeKey, makeParty, type CoreContext } from '../core/fixtures.js';

const H = 3_600_000;
/** The year in the case references made here (a reference, not a rule id). */
const YEAR = 2026;
let ctx: CoreContext;
const now = Date.now();
const at = (hours: number) => new Date(now + hours * H);
type Party = Awaited<ReturnType<typeof makeParty>>;
let opA: Party, opB: Party, groen: Party, watt: Party;
let eanA: string;
let handlerA: string, handlerB: string, groenKey: string;
const ref: Record<string, string> = {};

beforeAll(async () => {
  ctx = await coreContext('case_search');
  opA = await makeParty(ctx.db, ['grid_operator'], 'Operator A');
  opB = await makeParty(ctx.db, ['grid_operator'], 'Operator B');
  groen = await makeParty(ctx.db, ['supplier'], 'Groene Stroom BV');
  watt = await makeParty(ctx.db, ['service_provider'], 'WattInzicht');
  eanA = (await makeConnection(ctx.db, { gridOperatorId: opA.id })).ean;
  const eanB = (await makeConnection(ctx.db, { gridOperatorId: opB.id })).ean;
  handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  handlerB = await makeKey(ctx.db, 'case-handler', { partyId: opB.id });
  groenKey = await makeKey(ctx.db, 'supplier', { partyId: groen.id });
  // [name, operator, party, reporter reference, status, contact due (h), contacted, response due (h), unblock due (h)]
  const cases: [string, Party, Party, string | null, string, number, boolean, number | null, number | null][] = [
    ['c1', opA, groen, 'AB_1', 'blocked', 5, false, null, null],
    ['c2', opA, groen, 'ABX1', 'awaiting_response', -30, true, 40, null],
    ['c3', opA, watt, '50%', 'blocked', -2, false, null, null], // overdue contact: first
    ['c4', opA, watt, null, 'closed_withdrawn', 10, false, null, null], // nothing due
    ['c5', opA, groen, null, 'closed_mandate_accepted', -50, true, -10, 3], // unblock pending
    ['c6', opA, watt, null, 'blocked', 5, false, null, null], // same due as c1: the id decides
    ['c7', opB, groen, 'AB_2', 'blocked', 1, false, null, null],
  ];
  let n = 0;
  for (const [name, op, party, reporterReference, status, contactH, contacted, responseH, unblockH] of cases) {
    const reference = `GT-${YEAR}-${String(770_000 + ++n).padStart(6, '0')}`;
    ref[name] = reference;
    await ctx.db.insert(doubtCases).values({
      id: randomUUID(),
      reference,
      gridOperatorId: op.id,
      partyId: party.id,
      connectionEan: op === opA ? eanA : eanB,
      channel: 'customer',
      receivedAt: at(-100 + n), // c7 newest
      reporterName: 'Reporter',
      reporterReference,
      description: 'search',
      isma: false,
      status: status as 'blocked',
      contactDueAt: at(contactH),
      contactedAt: contacted ? at(-40) : null,
      responseDueAt: responseH === null ? null : at(responseH),
      unblockDueAt: unblockH === null ? null : at(unblockH),
      closedAt: status.startsWith('closed_') ? at(-1) : null,
      createdBy: 'test',
    });
  }
}, 60_000);
afterAll(async () => ctx?.close());

const list = async (key: string, query: string) => {
  const res = await call(ctx.app, key, 'GET', `/cases${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { items: { reference: string; nextDueAt: string | null }[]; total: number };
};
const refs = (r: { items: { reference: string }[] }) => r.items.map((c) => c.reference);
const named = (...names: string[]) => names.map((n) => ref[n]!);

describe('GET /cases?sort=due', () => {
  it('orders by the next deadline, overdue first, nothing due last, the same in pages as whole', async () => {
    const whole = await list(handlerA, '?sort=due&limit=50');
    const tie = [ref.c1!, ref.c6!];
    // c1 and c6 are due at the same instant: their order is the ids', whichever it is, and stable.
    const firstOfTie = refs(whole).indexOf(tie[0]!) < refs(whole).indexOf(tie[1]!) ? tie : [tie[1]!, tie[0]!];
    expect(refs(whole)).toEqual([...named('c3', 'c5'), ...firstOfTie, ...named('c2', 'c4')]);
    expect(whole.items[0]!.nextDueAt).toBe(at(-2).toISOString());
    expect(whole.items.at(-1)!.nextDueAt).toBeNull();
    const paged: string[] = [];
    for (let offset = 0; offset < whole.total; offset += 2)
      paged.push(...refs(await list(handlerA, `?sort=due&limit=2&offset=${offset}`)));
    expect(paged).toEqual(refs(whole));
  });

  it('leaves the default unchanged: newest signal first', async () => {
    expect(refs(await list(handlerA, '?limit=50'))).toEqual(named('c6', 'c5', 'c4', 'c3', 'c2', 'c1'));
    expect(refs(await list(handlerA, '?sort=received&limit=50'))).toEqual(named('c6', 'c5', 'c4', 'c3', 'c2', 'c1'));
    expect((await call(ctx.app, handlerA, 'GET', '/cases?sort=soonest')).statusCode).toBe(400);
  });
});

describe('GET /cases?q=', () => {
  it('finds by the beginning of a reference (any case), an EAN, a party GLN or name', async () => {
    expect(refs(await list(handlerA, `?q=${ref.c2!.toLowerCase()}`))).toEqual(named('c2'));
    const prefix = ref.c1!.slice(0, -1); // GT-<year>-77000: c1..c6 (and c7, not A's)
    expect((await list(handlerA, `?q=${prefix}`)).total).toBe(6);
    expect((await list(handlerA, `?q=${eanA.slice(0, 12)}`)).total).toBe(6);
    expect(refs(await list(handlerA, '?q=wattin&sort=due'))).toEqual(named('c3', 'c6', 'c4'));
    expect((await list(handlerA, `?q=${watt.gln}`)).total).toBe(3);
    // Combined with the other filters (all must hold).
    expect(refs(await list(handlerA, '?q=groene&status=blocked'))).toEqual(named('c1'));
  });

  it('the reporter’s reference, with LIKE’s wildcards taken literally', async () => {
    expect(refs(await list(handlerA, '?q=AB_'))).toEqual(named('c1'));
    expect(refs(await list(handlerA, '?q=ABX'))).toEqual(named('c2'));
    expect(refs(await list(handlerA, '?q=50%25'))).toEqual(named('c3'));
    expect((await list(handlerA, '?q=%25%25%25')).total).toBe(0);
  });

  it('within the caller’s scope; the party a case is about does not search the reporter’s reference', async () => {
    expect(refs(await list(handlerB, '?q=AB_'))).toEqual(named('c7'));
    expect((await list(groenKey, '?q=AB_')).total).toBe(0);
    expect(refs(await list(groenKey, `?q=${ref.c1!}`))).toEqual(named('c1'));
    expect((await list(groenKey, '?q=wattinzicht')).total).toBe(0);
    const short = await call(ctx.app, handlerA, 'GET', '/cases?q=GT');
    expect(short.statusCode).toBe(400);
    expect(short.json().field).toMatch(/q$/);
  });

  it('a prefix is an index range: the plan of each search column uses its pattern index', async () => {
    await ctx.db.execute(sql`analyze doubt_cases`);
    // One transaction: the setting and the plans on the same connection.
    await ctx.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      for (const [column, index] of [
        ['reference', 'doubt_cases_reference_prefix_idx'],
        ['connection_ean', 'doubt_cases_connection_prefix_idx'],
        ['reporter_reference', 'doubt_cases_reporter_reference_prefix_idx'],
      ] as const) {
        const plan = (await tx.execute(
          sql.raw(`explain select id from doubt_cases where ${column} like 'GT-2026-7700%'`),
        )) as unknown as { 'QUERY PLAN': string }[];
        expect(plan.map((r) => r['QUERY PLAN']).join('\n'), column).toContain(index);
      }
    });
  });
});
