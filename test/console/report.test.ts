/**
 * Issue 19, the signal report page in a real browser: every chart image loads (the API's SVG streamed through the
 * console), every table under a chart holds the API's numbers for the same period, the period form is a plain GET,
 * and the report and the access register download as CSV over the real socket — the grid operator's own only.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeConnection } from '../core/fixtures.js';
import { periodOf } from '../../console/reports.js';
import { sql } from 'drizzle-orm';
import { ACCESS_REGISTER_CSV_PAGE } from '../../api/routes/access-register-csv.js';
import { accessRegisterPageQuery } from '../../db/repositories/access-register.js';
import { accessRegister } from '../../db/schema/index.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { chartSvg, type ChartTable as SignalChartTable } from '../../services/reports/signal-charts.js';
import { checkPage, consoleStack, newContext, signIn, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_report');
});
afterAll(async () => stack?.close());

interface ChartTable {
  columns: Array<{ key: string }>;
  rows: Array<Record<string, string | number>>;
}

/** A P4 request for a connection of `op` by the stack's P4 client: registered (allowed or denied) in DC-1. */
async function registerEntry(op: ConsoleStack['noord']) {
  const conn = await makeConnection(stack.ctx.db, { gridOperatorId: op.id });
  const to = Math.floor((Date.now() - 86_400_000) / 900_000) * 900_000;
  const res = await call(stack.ctx.app, stack.p4Key, 'POST', '/p4/requests', {
    connectionEan: conn.ean,
    dataKind: 'interval_data',
    from: new Date(to - 86_400_000).toISOString(),
    to: new Date(to).toISOString(),
  });
  expect(res.statusCode, res.body).toBe(200);
  return conn.ean;
}

/** The CSV as a browser saved it: rows of cells (no quoting in these files' cells but the header's). */
const csvLines = (text: string) =>
  text
    .replace(/^\uFEFF/, '')
    .trimEnd()
    .split('\r\n');

describe('the signal report page', () => {
  it('shows every chart with the API’s numbers under it, filters by period and downloads both CSVs', async () => {
    await stack.openCase(stack.noord, false);
    await stack.openCase(stack.noord, false);
    await stack.openCase(stack.zuid, false);
    const mineEan = await registerEntry(stack.noord);
    const theirsEan = await registerEntry(stack.zuid);
    const { context, page, problems } = await newContext(stack);

    await signIn(stack, page, stack.noord, 'behandelaar');
    await page.getByRole('link', { name: 'Signaalrapport' }).click();
    await page.waitForURL('**/console/reports');
    await checkPage(page, 'r01-report');

    // The default period: the last 90 days up to and including today (Amsterdam), per month.
    const fromDate = await page.locator('#from').inputValue();
    const toDate = await page.locator('#to').inputValue();
    const period = periodOf({ from: fromDate, to: toDate, groupBy: 'month' }, new Date());
    if ('invalid' in period) throw new Error('invalid period');
    const q = new URLSearchParams({ from: period.from, to: period.to, groupBy: 'month' });

    for (const chart of ['by-period', 'by-channel', 'by-outcome', 'deadlines']) {
      const section = page.locator(`section.chart[aria-labelledby="chart-${chart}"]`);
      // The image loaded: a decoded SVG from the console's route (its own CSP allows images from 'self' only).
      const img = section.locator('img');
      const loaded = await img.evaluate(async (el: HTMLImageElement) => {
        await el.decode();
        return { w: el.naturalWidth, src: el.getAttribute('src') };
      });
      expect(loaded.w).toBeGreaterThan(0);
      expect(loaded.src).toMatch(new RegExp(`^/console/reports/charts/${chart}\\.svg\\?`));
      const svg = await context.request.get(`${stack.origin}${loaded.src}`);
      expect(svg.headers()['content-type']).toMatch(/^image\/svg\+xml/);
      const svgText = await svg.text();
      expect(svgText).toContain('role="img"');
      // Drawn in the person's language, as the page around it (issue 19: Dutch first).
      expect(svgText).toMatch(/<title id="chart-title">(Signalen|Zaken|Termijnen) /);
      // Cacheable per period, for this person's browser only; a revalidation is a 304 without a body.
      expect(svg.headers()['cache-control']).toBe('private, max-age=60');
      const etag = svg.headers()['etag'];
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await context.request.get(`${stack.origin}${loaded.src}`, { headers: { 'if-none-match': etag! } });
      expect(again.status()).toBe(304);
      expect((await again.body()).length).toBe(0);
      expect(again.headers()['etag']).toBe(etag);
      const other = await context.request.get(`${stack.origin}${loaded.src}`, { headers: { 'if-none-match': '"x"' } });
      expect(other.status()).toBe(200);

      // The table holds the API's numbers for the same period, row by row (as the grid operator's own key sees them).
      const api = await call(stack.ctx.app, stack.noord.handlerKey, 'GET', `/reports/signals/charts/${chart}?${q}`);
      expect(api.statusCode, api.body).toBe(200);
      const t = api.json<ChartTable>();
      const cells = await section
        .locator('table tbody tr')
        .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
      expect(cells).toEqual(t.rows.map((r) => t.columns.slice(1).map((c) => String(r[c.key]))));
      expect(await section.locator('table caption').textContent()).toMatch(/^De cijfers van/);
      expect(await section.locator('thead th[scope=col]').count()).toBe(t.columns.length);
      expect(await section.locator('tbody th[scope=row]').count()).toBe(t.rows.length);
    }
    // Two signals of this operator in all (the other operator's case is not counted).
    const signals = await page
      .locator('table.by-period tbody td:nth-of-type(3)')
      .allTextContents()
      .then((v) => v.reduce((n, s) => n + Number(s), 0));
    expect(signals).toBe(2);

    // The period form is a plain GET: per week, a shorter window.
    await page.locator('#groupBy').selectOption('week');
    await page.locator('#from').fill(toDate.slice(0, 8) + '01');
    await page.getByRole('button', { name: 'Toon' }).click();
    await page.waitForURL((u) => u.pathname === '/console/reports' && u.searchParams.get('groupBy') === 'week');
    expect(await page.locator('#groupBy').inputValue()).toBe('week');
    const weekly = periodOf({ from: toDate.slice(0, 8) + '01', to: toDate, groupBy: 'week' }, new Date());
    if ('invalid' in weekly) throw new Error('invalid period');
    const wq = new URLSearchParams({ from: weekly.from, to: weekly.to, groupBy: 'week' });
    const byWeek = (
      await call(stack.ctx.app, stack.noord.handlerKey, 'GET', `/reports/signals/charts/by-period?${wq}`)
    ).json<ChartTable>();
    expect(await page.locator('table.by-period tbody tr').count()).toBe(byWeek.rows.length);
    await checkPage(page, 'r02-report-weekly');

    // The report as CSV: the API's file (its BOM, header and rows), through the console over the socket.
    const [report] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Het rapport over deze periode (CSV)' }).click(),
    ]);
    expect(report.suggestedFilename()).toBe(`signal-report-${weekly.from.slice(0, 10)}-${weekly.to.slice(0, 10)}.csv`);
    const reportCsv = await readFile((await report.path())!, 'utf8');
    expect(reportCsv.startsWith('\uFEFF')).toBe(true);
    const direct = await fetch(`${stack.origin}/reports/signals?format=csv&${wq}`, {
      headers: { authorization: stack.noord.handlerKey },
    });
    // Block durations still in force grow by the second; every other number is the same file.
    const stable = (text: string) => csvLines(text).filter((l) => !l.startsWith('blockDuration,inForce'));
    expect(stable(reportCsv)).toEqual(stable(await direct.text()));
    expect(csvLines(reportCsv)[0]).toBe('section,key,name,measure,value');
    expect(csvLines(reportCsv)).toContain('totals,,,signals,2');

    // The access register as CSV: the own grid operator's connections only.
    const [register] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Het toegangsregister over deze periode (CSV)' }).click(),
    ]);
    expect(register.suggestedFilename()).toMatch(/^access-register-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = csvLines(await readFile((await register.path())!, 'utf8'));
    expect(lines[0]).toBe(
      'decidedAt,kind,connectionEan,partyGln,partyName,dataKind,periodFrom,periodTo,allowed,reasonCode,rule,purpose,actor,requestId,deliveryOf,mandateId,blockId,id',
    );
    const rows = lines.slice(1);
    expect(rows.some((l) => l.includes(`,request,${mineEan},`))).toBe(true);
    expect(rows.some((l) => l.includes(theirsEan))).toBe(false);
    const listed = await call(
      stack.ctx.app,
      stack.noord.handlerKey,
      'GET',
      `/access-register?since=${encodeURIComponent(weekly.from)}&until=${encodeURIComponent(new Date().toISOString())}`,
    );
    expect(rows).toHaveLength(listed.json<{ total: number }>().total);

    // A date that is none: a 400 page saying so, nothing asked of the API.
    const bad = await page.goto(`${stack.origin}/console/reports?from=2026-13-45`);
    expect(bad!.status()).toBe(400);
    expect(await page.locator('p[role=alert]').textContent()).toContain('2026-13-45');

    expect(problems.map((m) => m.replace(stack.origin, ''))).toEqual([
      'page /console/reports?from=2026-13-45: Failed to load resource: the server responded with a status of 400 (Bad Request)',
    ]);
    await context.close();
  }, 240_000);

  it('computes the report once for the page: the images of that window draw the tables’ computation', async () => {
    const q = new URLSearchParams({
      from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
      to: new Date(Date.now() + 86_400_000).toISOString(),
      groupBy: 'day',
    });
    const get = (url: string) => call(stack.ctx.app, stack.noord.handlerKey, 'GET', url);
    const all = await get(`/reports/signals/charts?${q}`);
    expect(all.statusCode, all.body).toBe(200);
    const tables = all.json<{ charts: Array<ChartTable & { chart: string }> }>().charts;
    expect(tables.map((c) => c.chart)).toEqual(['by-period', 'by-channel', 'by-outcome', 'deadlines']);
    // Every table is the one the single-chart route gives for the same window.
    for (const table of tables) {
      const one = await get(`/reports/signals/charts/${table.chart}?${q}`);
      expect(one.json<ChartTable>()).toEqual(table);
    }
    const signalsOf = (t: ChartTable) => t.rows.reduce((n, r) => n + Number(r['signals']), 0);
    const before = signalsOf(tables[0]!);
    const svg0 = await get(`/reports/signals/charts/by-period.svg?${q}`);
    expect(svg0.statusCode).toBe(200);
    expect(svg0.body).toBe(chartSvg(tables[0]! as SignalChartTable));

    // A new signal. The image of the same window, within its max-age, draws the report the tables were computed
    // from (the same bytes) instead of computing it again; JSON answers are always computed anew, and the image
    // drawn after one shows the new signal.
    await stack.openCase(stack.noord, false);
    const svg1 = await get(`/reports/signals/charts/by-period.svg?${q}`);
    expect(svg1.headers['etag']).toBe(svg0.headers['etag']);
    expect(svg1.body).toBe(svg0.body);
    const fresh = (await get(`/reports/signals/charts/by-period?${q}`)).json<ChartTable>();
    expect(signalsOf(fresh)).toBe(before + 1);
    const svg2 = await get(`/reports/signals/charts/by-period.svg?${q}`);
    expect(svg2.body).toBe(chartSvg(fresh as SignalChartTable));
    expect(svg2.headers['etag']).not.toBe(svg0.headers['etag']);

    // Another grid operator's handler with the same window gets its own report, never the one remembered here.
    const zuid = (path: string) => call(stack.ctx.app, stack.zuid.handlerKey, 'GET', path);
    const theirs = await zuid(`/reports/signals/charts/by-period.svg?${q}`);
    const theirTable = (await zuid(`/reports/signals/charts/by-period?${q}`)).json<SignalChartTable>();
    expect(signalsOf(theirTable)).not.toBe(signalsOf(fresh));
    expect(theirs.body).toBe(chartSvg(theirTable));
  }, 120_000);

  it('streams a register of several pages over the socket: keyset pages in order, none twice, none missing', async () => {
    const conn = await makeConnection(stack.ctx.db, { gridOperatorId: stack.noord.id });
    const other = await makeConnection(stack.ctx.db, { gridOperatorId: stack.zuid.id });
    const since = new Date(Date.now() - 3_600_000);
    // More entries than two pages, two to each millisecond (ties on decided_at are ordered by id), with the other
    // operator's entries in between; written as the gate writes them (id = uuidv7(decided_at)).
    const n = 2 * ACCESS_REGISTER_CSV_PAGE + 345;
    const base = Date.now() - 60_000;
    const rows = Array.from({ length: n + 200 }, (_, k) => {
      const at = base + Math.floor(k / 2) * 3;
      const mine = k < n;
      return {
        id: uuidv7(at),
        decidedAt: new Date(at),
        requestId: `keyset-${k}`,
        partyId: stack.noord.id,
        connectionEan: mine ? conn.ean : other.ean,
        dataKind: 'interval_data',
        periodFrom: new Date(at - 86_400_000),
        periodTo: new Date(at - 3_600_000),
        allowed: false,
        reasonCode: 'no_mandate',
        rule: 'DC-2',
      };
    });
    for (let k = 0; k < rows.length; k += 500) await stack.ctx.db.insert(accessRegister).values(rows.slice(k, k + 500));
    await stack.ctx.db.execute(sql`analyze access_register`);

    const until = new Date(Date.now() + 60_000);
    const q = new URLSearchParams({ format: 'csv', since: since.toISOString(), until: until.toISOString() });
    const res = await fetch(`${stack.origin}/access-register?${q}`, {
      headers: { authorization: stack.noord.handlerKey },
    });
    expect(res.status).toBe(200);
    const lines = csvLines(await res.text());
    const idAt = lines[0]!.split(',').indexOf('id');
    const ids = lines.slice(1).map((l) => l.split(',')[idAt]!);
    // Exactly the operator's entries of the window, newest first (decided_at desc, id desc): in order, no
    // duplicate, none missing, none of the other operator's.
    const expected = await stack.ctx.db.execute<{ id: string }>(sql`
      select ar.id from access_register ar join connections c on c.ean = ar.connection_ean
       where c.grid_operator_id = ${stack.noord.id} and ar.decided_at >= ${since.toISOString()}::timestamptz
       order by ar.decided_at desc, ar.id desc`);
    expect(ids.length).toBeGreaterThan(2 * ACCESS_REGISTER_CSV_PAGE);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expected.map((r) => r.id));
    const theirs = new Set(rows.filter((r) => r.connectionEan === other.ean).map((r) => r.id));
    expect(ids.filter((id) => theirs.has(id))).toEqual([]);

    // A page deep in the window follows an index of the partitioned register, only the partitions up to the
    // cursor's month, and no count. Over all of an operator's connections: the key index, read backward, is the
    // page's order (no sort of the window). On this small register the planner prefers the operator's few
    // connections and sorts their entries; with sorting priced out it shows the order the key index delivers —
    // the plan it chose by itself for an operator with 240 connections and 80,000 of 100,000 entries (analyzed:
    // key index backward, each connection looked up, about 1,240 entries read for a page of 1,000).
    const cursor = { decidedAt: rows[1500]!.decidedAt, id: rows[1500]!.id };
    const explain = (f: Parameters<typeof accessRegisterPageQuery>[1], noSort: boolean) =>
      stack.ctx.db.transaction(
        async (tx) => {
          if (noSort) await tx.execute(sql`set local enable_sort = off`);
          const page = accessRegisterPageQuery(tx, f, cursor, ACCESS_REGISTER_CSV_PAGE);
          const plan = await tx.execute<{ 'QUERY PLAN': string }>(sql`explain (costs off) ${page.getSQL()}`);
          return plan.map((r) => r['QUERY PLAN']).join('\n');
        },
        { accessMode: 'read only' },
      );
    const byOperator = await explain({ gridOperatorId: stack.noord.id, since, until }, true);
    expect(byOperator).toMatch(/Index Scan Backward using access_register_p\d{6}_pkey on access_register_p\d{6}/);
    expect(byOperator).not.toMatch(/\bSort\b|Seq Scan on access_register|Aggregate/);
    // As the planner chooses it here: still an index of the register's partition, no sequential read, no count.
    const chosen = await explain({ gridOperatorId: stack.noord.id, since, until }, false);
    expect(chosen).toMatch(/Index Scan\w* (Backward )?(using|on) access_register_p\d{6}_\w+/);
    expect(chosen).not.toMatch(/Seq Scan on access_register|Aggregate/);
  }, 120_000);

  it('is not offered to a privacy officer, and the API refuses it', async () => {
    const { context, page } = await newContext(stack);
    await signIn(stack, page, stack.zuid, 'privacy');
    expect(await page.getByRole('link', { name: 'Signaalrapport' }).count()).toBe(0);
    const res = await page.goto(`${stack.origin}/console/reports`);
    expect(res!.status()).toBe(403);
    const csv = await context.request.get(`${stack.origin}/console/reports/signals.csv`);
    expect(csv.status()).toBe(403);
    await context.close();
  }, 120_000);
});
