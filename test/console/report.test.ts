/**
 * Issue 19, the signal report page in a real browser: every chart image loads (the API's SVG streamed through the
 * console), every table under a chart holds the API's numbers for the same period, the period form is a plain GET,
 * and the report and the access register download as CSV over the real socket — the grid operator's own only.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeConnection } from '../core/fixtures.js';
import { periodOf } from '../../console/reports.js';
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
      expect(await svg.text()).toContain('role="img"');

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
