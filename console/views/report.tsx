/**
 * The signal report page (issue 19): a period form (plain GET), then every chart as an image the server drew
 * (the API's SVG, streamed through console/reports.ts: an <img>, so the strict CSP needs nothing inline) with its
 * numbers as a table under it — caption, column and row headers — so nothing is only in the picture; and the
 * CSV downloads of the report and of the access register for the same period.
 */
import { t, type Lang } from '../../lib/messages.js';
import { chartCategoryLabel as categoryLabel, chartColumnLabel as columnLabel } from '../../lib/chart-labels.js';
import type { Static } from '@sinclair/typebox';
import type { ChartTableSchema } from '../../api/schemas/reports.js';
import { Layout, type PageContext } from './layout.js';
import type { Notice } from './case.js';

/** The period asked for: the form's dates (Amsterdam, `toDate` included) and the API's window [from, to). */
export interface ReportPeriod {
  fromDate: string;
  toDate: string;
  from: string;
  to: string;
  groupBy: 'day' | 'week' | 'month';
}

export type ChartTable = Static<typeof ChartTableSchema>;
export type SignalChart = ChartTable['chart'];
/** The charts the page shows, in this order (the API's: services/reports/signal-charts.ts SIGNAL_CHARTS). */
export const CHARTS = ['by-period', 'by-channel', 'by-outcome', 'deadlines'] as const satisfies readonly SignalChart[];

export interface ReportChart {
  chart: SignalChart;
  /** The API's numbers of the chart (GET /reports/signals/charts/{chart}). */
  table: ChartTable;
  /** The image: the API's SVG through this console. */
  src: string;
}

const query = (p: ReportPeriod) => new URLSearchParams({ from: p.fromDate, to: p.toDate, groupBy: p.groupBy });

function Chart({ lang, c }: { lang: Lang; c: ReportChart }) {
  const title = t(lang, `report.chart.${c.chart}`);
  const [first, ...rest] = c.table.columns;
  const id = `chart-${c.chart}`;
  return (
    <section aria-labelledby={id} class="chart">
      <h2 id={id}>{title}</h2>
      <p class="hint">{c.table.title}</p>
      <img src={c.src} alt={t(lang, 'report.chartAlt', { title })} width={720} height={320} />
      {c.table.rows.length === 0 ? (
        <p>{t(lang, 'report.empty')}</p>
      ) : (
        <table class={`numbers ${c.chart}`}>
          <caption>{t(lang, 'report.tableCaption', { title })}</caption>
          <thead>
            <tr>
              {c.table.columns.map((col) => (
                <th scope="col" key={col.key}>
                  {columnLabel(lang, col.key, col.label)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {c.table.rows.map((row, i) => (
              <tr key={i}>
                <th scope="row">{categoryLabel(lang, first!.key, String(row[first!.key] ?? ''))}</th>
                {rest.map((col) => (
                  <td key={col.key} class="num">
                    {String(row[col.key] ?? '')}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ReportPage({
  ctx,
  period,
  charts,
  notice,
}: {
  ctx: PageContext;
  period: ReportPeriod;
  charts: ReportChart[];
  notice?: Notice | undefined;
}) {
  const { lang } = ctx;
  const q = query(period).toString();
  return (
    <Layout ctx={ctx} title={t(lang, 'report.title')}>
      <h1>{t(lang, 'report.title')}</h1>
      <p>{t(lang, 'report.intro')}</p>
      {/* A plain GET: the period is in the address (a link, the back button), with or without JavaScript. */}
      <form method="get" action="/console/reports" class="period">
        <fieldset>
          <legend>{t(lang, 'report.period')}</legend>
          <label for="from">{t(lang, 'report.from')}</label>
          <input id="from" name="from" type="date" value={period.fromDate} required />
          <label for="to">{t(lang, 'report.to')}</label>
          <input id="to" name="to" type="date" value={period.toDate} required />
          <label for="groupBy">{t(lang, 'report.groupBy')}</label>
          <select id="groupBy" name="groupBy">
            {(['day', 'week', 'month'] as const).map((g) => (
              <option value={g} selected={g === period.groupBy} key={g}>
                {t(lang, `report.groupBy.${g}`)}
              </option>
            ))}
          </select>
          <button type="submit">{t(lang, 'report.submit')}</button>
        </fieldset>
      </form>
      {notice && (
        <p class={`notice ${notice.kind}`} role="alert">
          {notice.text}
        </p>
      )}
      <section aria-labelledby="downloads">
        <h2 id="downloads">{t(lang, 'report.downloads')}</h2>
        <ul>
          <li>
            <a href={`/console/reports/signals.csv?${q}`} download>
              {t(lang, 'report.csv')}
            </a>
          </li>
          <li>
            <a href={`/console/reports/access-register.csv?${q}`} download>
              {t(lang, 'report.registerCsv')}
            </a>
          </li>
        </ul>
      </section>
      {charts.map((c) => (
        <Chart lang={lang} c={c} key={c.chart} />
      ))}
    </Layout>
  );
}
