/**
 * Issue 19 downloads over a real HTTP socket (the app listening on port 0, read with fetch): the case list as
 * CSV (same filters and scope as GET /cases, streamed across pages), the signal report as CSV and its charts as
 * SVG with their numbers, the access register of a connection (DC-5) as CSV. Content negotiation (format=csv,
 * Accept: text/csv), Content-Disposition, the UTF-8 BOM, formula-injection escaping.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { doubtCases } from '../../db/schema/index.js';
import { contactDeadline } from '../../domain/case.js';
import {
  coreContext,
  days,
  iso,
  makeConnection,
  makeGridUser,
  makeKey,
  makeMandate,
  makeParty,
  type CoreContext,
} from '../core/fixtures.js';

/** The year in the case references made here (a reference, not a rule id). */
const YEAR = 2026;
let ctx: CoreContext;
let base: string;
type Party = Awaited<ReturnType<typeof makeParty>>;
let opA: Party, opB: Party, evil: Party, plain: Party;
let handlerA: string, handlerB: string, supplierKey: string, analyst: string;
const BOM = '\ufeff';
const CASES_OF_A = 1203; // more than two pages of the stream (500)

beforeAll(async () => {
  ctx = await coreContext('downloads');
  opA = await makeParty(ctx.db, ['grid_operator'], 'Netbeheer Één');
  opB = await makeParty(ctx.db, ['grid_operator'], 'Netbeheer Twee');
  // A party whose name a spreadsheet would run as a formula.
  evil = await makeParty(ctx.db, ['supplier'], '=HYPERLINK("http://evil.example","klik")');
  plain = await makeParty(ctx.db, ['supplier'], 'Groene Stroom');
  handlerA = await makeKey(ctx.db, 'case-handler', { partyId: opA.id });
  handlerB = await makeKey(ctx.db, 'case-handler', { partyId: opB.id });
  supplierKey = await makeKey(ctx.db, 'supplier', { partyId: plain.id });
  analyst = await makeKey(ctx.db, 'branch-analyst');
  const eanA = (await makeConnection(ctx.db, { gridOperatorId: opA.id })).ean;
  const eanB = (await makeConnection(ctx.db, { gridOperatorId: opB.id })).ean;
  const t0 = Date.now() - days(20);
  const rows = Array.from({ length: CASES_OF_A + 2 }, (_, i) => {
    const receivedAt = new Date(t0 + i * 60_000);
    const ofB = i >= CASES_OF_A;
    return {
      id: randomUUID(),
      reference: `GT-${YEAR}-${String(900_000 + i).padStart(6, '0')}`,
      gridOperatorId: ofB ? opB.id : opA.id,
      partyId: i % 3 === 0 ? evil.id : plain.id,
      connectionEan: ofB ? eanB : eanA,
      channel: i % 2 === 0 ? ('customer' as const) : ('acm' as const),
      receivedAt,
      reporterName: 'Reporter',
      description: 'read without a mandate',
      isma: false,
      status: i % 5 === 0 ? ('closed_withdrawn' as const) : ('blocked' as const),
      closedAt: i % 5 === 0 ? new Date(receivedAt.getTime() + 3_600_000) : null,
      contactDueAt: contactDeadline(receivedAt),
      createdBy: 'test',
    };
  });
  for (let i = 0; i < rows.length; i += 400) await ctx.db.insert(doubtCases).values(rows.slice(i, i + 400));
  // Microseconds a JavaScript Date cannot hold (a row written by SQL has them): the pages must not lose them. 26
  // cases within one millisecond straddle the boundary of the first page (newest first: 487 cases above them).
  await ctx.db.execute(
    sql`update doubt_cases set received_at = received_at + (random() * 999)::int * interval '1 microsecond'`,
  );
  const sameMs = new Date(t0 + 705 * 60_000).toISOString();
  await ctx.db.execute(sql`update doubt_cases
    set received_at = ${sameMs}::timestamptz + right(reference, 3)::int * interval '1 microsecond'
    where reference between ${`GT-${YEAR}-900690`} and ${`GT-${YEAR}-900715`}`);
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = ctx.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${addr.port}`;
}, 120_000);
afterAll(async () => ctx?.close());

const get = (key: string, path: string, accept?: string) =>
  fetch(`${base}${path}`, { headers: { authorization: key, ...(accept ? { accept } : {}) } });

/** A JSON answer, loosely typed (the shapes are the OpenAPI document's; these tests read a few fields). */
type Json = any;
const body = async (res: Response | Promise<Response>): Promise<Json> => (await res).json();

/** RFC 4180 read back (quoted fields, doubled quotes, CRLF), as a spreadsheet does; csv-parse is not a dependency. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') ((cell += '"'), i++);
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') (row.push(cell), (cell = ''));
    else if (ch === '\r' && text[i + 1] === '\n') (row.push(cell), rows.push(row), (row = []), (cell = ''), i++);
    else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}
function parse(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}

/** The body as received: its first character is the BOM; the rest parsed as CSV with a header. */
async function csvOf(res: Response): Promise<{ raw: string; records: Record<string, string>[] }> {
  const bytes = Buffer.from(await res.arrayBuffer());
  const raw = bytes.toString('utf8');
  expect(raw.startsWith(BOM), 'UTF-8 byte-order mark').toBe(true);
  expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  return { raw, records: parse(raw.slice(1)) };
}

describe('GET /cases as CSV', () => {
  it('streams every case of the caller’s grid operator, in the list’s order, with a filename and no formula', async () => {
    const res = await get(handlerA, '/cases?format=csv&sort=due');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="cases-\d{4}-\d{2}-\d{2}\.csv"$/);
    // Streamed: no length known up front.
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const { raw, records } = await csvOf(res);
    expect(records).toHaveLength(CASES_OF_A);
    expect(new Set(records.map((r) => r.gridOperatorGln))).toEqual(new Set([opA.gln]));
    expect(new Set(records.map((r) => r.id)).size).toBe(CASES_OF_A);
    // The same order as the JSON list sorted by due (first page).
    const page = await body(get(handlerA, '/cases?sort=due&limit=500'));
    expect(records.slice(0, 500).map((r) => r.id)).toEqual(page.items.map((c: { id: string }) => c.id));
    // Formula injection: the cell starts with a quote, so a spreadsheet shows it as text.
    const bad = records.find((r) => r.partyGln === evil.gln)!;
    expect(bad.partyName).toBe(`'=HYPERLINK("http://evil.example","klik")`);
    expect(raw).not.toMatch(/(^|,)=HYPERLINK/m);
    // UTF-8 survives (the grid operator's name).
    expect(records[0]!.gridOperatorName).toBe('Netbeheer Één');
    expect(raw.split('\r\n')[0]).toBe(
      `${BOM}reference,status,receivedAt,channel,connectionEan,partyGln,partyName,gridOperatorGln,gridOperatorName,nextDueAt,contactDueAt,contactState,responseDueAt,responseState,unblockDueAt,unblockState,breached,closedAt,isma,signalClass,externalReference,id`,
    );
  });

  it('in both orders, page after page (keyset in one snapshot), exactly the JSON list’s order', async () => {
    for (const sort of ['due', 'received']) {
      const { records } = await csvOf(await get(handlerA, `/cases?format=csv&sort=${sort}`));
      const pages: string[] = [];
      for (let offset = 0; offset < CASES_OF_A; offset += 500)
        pages.push(
          ...(await body(get(handlerA, `/cases?sort=${sort}&limit=500&offset=${offset}`))).items.map(
            (c: { id: string }) => c.id,
          ),
        );
      expect(
        records.map((r) => r.id),
        sort,
      ).toEqual(pages);
    }
  });

  it('by Accept: text/csv, with the filters of the list; JSON stays the default', async () => {
    const res = await get(handlerA, '/cases?channel=acm&status=closed_withdrawn', 'text/csv');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const { records } = await csvOf(res);
    const json = await body(get(handlerA, '/cases?channel=acm&status=closed_withdrawn&limit=500'));
    expect(records.map((r) => r.id)).toEqual(json.items.map((c: { id: string }) => c.id));
    expect(records.every((r) => r.channel === 'acm' && r.status === 'closed_withdrawn')).toBe(true);
    // A browser's Accept prefers HTML, then */*: JSON. format=json wins over Accept.
    const browser = await get(handlerA, '/cases?limit=1', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(browser.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get(handlerA, '/cases?limit=1&format=json', 'text/csv')).headers.get('content-type')).toMatch(
      /^application\/json/,
    );
  });

  it('holds the download to the caller’s scope: another operator’s handler, a party, an analyst', async () => {
    const { records } = await csvOf(await get(handlerB, '/cases?format=csv'));
    expect(records).toHaveLength(2);
    const own = await csvOf(await get(supplierKey, '/cases?format=csv'));
    expect(own.records.length).toBeGreaterThan(0);
    expect(own.records.every((r) => r.partyGln === plain.gln)).toBe(true);
    const refused = await get(analyst, '/cases?format=csv');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    // Bad input is the JSON error, before any CSV.
    const bad = await get(handlerA, '/cases?format=xlsx');
    expect(bad.status).toBe(400);
    expect((await body(bad)).field).toMatch(/format/);
  });
});

describe('GET /reports/signals as CSV and as charts', () => {
  const window = `from=${encodeURIComponent(iso(Date.now() - days(30)))}&to=${encodeURIComponent(iso(Date.now()))}`;

  it('the report as one long CSV table with the JSON report’s numbers', async () => {
    const json = await body(get(handlerA, `/reports/signals?${window}&groupBy=week`));
    const res = await get(handlerA, `/reports/signals?${window}&groupBy=week`, 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="signal-report-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const { records } = await csvOf(res);
    const value = (section: string, key: string, measure: string) =>
      records.find((r) => r.section === section && r.key === key && r.measure === measure)?.value;
    expect(value('totals', '', 'signals')).toBe(String(json.totals.signals));
    expect(json.totals.signals).toBe(CASES_OF_A);
    for (const p of json.byPeriod) expect(value('byPeriod', p.period, 'signals')).toBe(String(p.signals));
    expect(value('byChannel', 'acm', 'signals')).toBe(
      String(json.byChannel.find((c: { channel: string }) => c.channel === 'acm').signals),
    );
    expect(value('deadlines', 'contact', 'missed')).toBe(String(json.deadlines.contact.missed));
    // The party's formula-like name is text here too.
    expect(records.find((r) => r.section === 'byParty' && r.key === evil.gln)!.name).toMatch(/^'=/);
  });

  it('a chart as SVG carries its title, description and every number of its table', async () => {
    const table = await body(get(handlerA, `/reports/signals/charts/by-channel?${window}`));
    expect(table.title).toMatch(/^Signals per channel/);
    expect(table.rows.find((r: { channel: string }) => r.channel === 'acm').signals).toBeGreaterThan(0);
    const res = await get(handlerA, `/reports/signals/charts/by-channel.svg?${window}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    const svg = await res.text();
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('role="img"');
    expect(svg).toContain(`<title id="chart-title">${table.title}</title>`);
    expect(svg).toMatch(/<desc id="chart-desc">How the 1203 signals reached the grid operator/);
    // Every bar names its value: the series values are in the picture.
    for (const row of table.rows as { channel: string; open: number; closed: number }[]) {
      expect(svg).toContain(`<title>${row.channel}, Open: ${row.open}</title>`);
      expect(svg).toContain(`<title>${row.channel}, Closed: ${row.closed}</title>`);
    }
    // Issue 19: in Dutch (lang=nl) the words change and the numbers do not: the console's picture matches its page.
    const nl = await body(get(handlerA, `/reports/signals/charts/by-channel?${window}&lang=nl`));
    expect(nl.title).toMatch(/^Signalen per kanaal, /);
    expect(nl.columns.map((c: { label: string }) => c.label)).toEqual(['Kanaal', 'Open', 'Gesloten', 'Signalen']);
    expect(nl.rows).toEqual(table.rows);
    const nlSvg = await (await get(handlerA, `/reports/signals/charts/by-channel.svg?${window}&lang=nl`)).text();
    expect(nlSvg).toContain(`<title id="chart-title">${nl.title}</title>`);
    expect(nlSvg).toMatch(
      /<desc id="chart-desc">Hoe de 1203 signalen de netbeheerder bereikten.* Legenda: Open, Gesloten\./,
    );
    for (const row of table.rows as { channel: string; open: number }[]) {
      const channel = row.channel === 'acm' ? 'ACM' : null;
      if (channel) expect(nlSvg).toContain(`<title>${channel}, Open: ${row.open}</title>`);
    }
    expect(nlSvg).not.toContain('Legend:');
    expect((await get(handlerA, `/reports/signals/charts/by-channel.svg?${window}&lang=de`)).status).toBe(400);
  });

  it('every chart renders; an unknown chart is a 400; scope as the report', async () => {
    for (const chart of ['by-period', 'by-outcome', 'deadlines']) {
      const res = await get(handlerB, `/reports/signals/charts/${chart}.svg?${window}`);
      expect(res.status, chart).toBe(200);
      const table = await body(get(handlerB, `/reports/signals/charts/${chart}?${window}`));
      const svg = await res.text();
      const numbers = table.rows.flatMap((r: Record<string, string | number>) =>
        Object.values(r).filter((v) => typeof v === 'number'),
      );
      expect(numbers.length, chart).toBeGreaterThan(0);
      for (const n of numbers) expect(svg, chart).toContain(`: ${n}</title>`);
    }
    const outcome = await body(get(handlerB, `/reports/signals/charts/by-outcome?${window}`));
    expect(outcome.rows.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe(2);
    expect((await get(handlerA, `/reports/signals/charts/pie.svg?${window}`)).status).toBe(400);
    expect((await get(supplierKey, `/reports/signals/charts/by-period.svg?${window}`)).status).toBe(403);
    expect((await get(analyst, `/reports/signals/charts/by-period.svg?${window}`)).status).toBe(200);
  });
});

describe('GET /me/connections/{ean}/access as CSV (DC-5)', () => {
  it('the register entries of the grid user’s connection, with the party named', async () => {
    const user = await makeGridUser(ctx.db, 'Jan Jansen');
    const conn = await makeConnection(ctx.db, { gridOperatorId: opA.id, gridUserId: user.id });
    const provider = await makeParty(ctx.db, ['service_provider'], '+31 Inzicht');
    await makeMandate(ctx.db, { partyId: provider.id, connectionEan: conn.ean });
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: provider.id });
    const userKey = await makeKey(ctx.db, 'grid-user', { gridUserId: user.id });
    for (const dataKind of ['interval_data', 'daily_registers']) {
      const res = await fetch(`${base}/p4/requests`, {
        method: 'POST',
        headers: { authorization: p4, 'content-type': 'application/json' },
        body: JSON.stringify({
          connectionEan: conn.ean,
          dataKind,
          from: iso(Date.now() - days(2)),
          to: iso(Date.now() - days(1)),
        }),
      });
      expect(res.status).toBeLessThan(300);
    }
    const res = await get(userKey, `/me/connections/${conn.ean}/access?format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="access-register-${conn.ean}-${new Date().toISOString().slice(0, 10)}.csv"`,
    );
    const { records } = await csvOf(res);
    const json = await body(get(userKey, `/me/connections/${conn.ean}/access`));
    expect(records.map((r) => r.requestId)).toEqual(json.recentRequests.map((e: { requestId: string }) => e.requestId));
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(new Set(records.map((r) => r.dataKind))).toEqual(new Set(['interval_data', 'daily_registers']));
    // A name starting with + is escaped as a formula would be.
    expect(records.every((r) => r.partyName === `'+31 Inzicht` && r.partyGln === provider.gln)).toBe(true);
    // Someone else's connection: 404 as in JSON.
    const other = await makeKey(ctx.db, 'grid-user', { gridUserId: (await makeGridUser(ctx.db)).id });
    expect((await get(other, `/me/connections/${conn.ean}/access`, 'text/csv')).status).toBe(404);
  });
});
