/**
 * The signal report's charts (issue 19), drawn on the server as SVG with @observablehq/plot over a linkedom
 * document: no browser, no script in the page. Each chart is first a table (chartTable: its title, its
 * description and every number it draws), so the console shows the numbers under the picture and a screen reader
 * gets them in full; the SVG carries the same title and description (<title>, <desc>, role="img") and every bar
 * its own <title> with its value.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { DEADLINE_NAMES } from '../../domain/case.js';
import type { SignalReport } from '../../db/repositories/signal-reports.js';
import { chartCategoryLabel, chartColumnLabel } from '../../lib/chart-labels.js';
import { t as say, type Lang, type MessageKey } from '../../lib/messages.js';

export const SIGNAL_CHARTS = ['by-period', 'by-channel', 'by-outcome', 'deadlines'] as const;
export type SignalChart = (typeof SIGNAL_CHARTS)[number];

export interface ChartColumn {
  key: string;
  label: string;
}
export type ChartRow = Record<string, string | number>;

/** A chart as numbers: what the SVG draws, row by row. */
export interface ChartTable {
  chart: SignalChart;
  title: string;
  description: string;
  columns: ChartColumn[];
  rows: ChartRow[];
}

interface ChartContext {
  /** The window and filters, as the title states them. */
  window: { from: Date; to: Date };
  groupBy: string;
  /** The reader's language (GET …?lang=): titles, descriptions and headings from the catalogue; none: English as before. */
  lang?: Lang | undefined;
}

const day = (d: Date) => d.toISOString().slice(0, 10);
const sum = (rows: ChartRow[], key: string) => rows.reduce((n, r) => n + Number(r[key] ?? 0), 0);

/** The numbers of one chart of the report, in the reader's language when one is asked for. */
export function chartTable(r: SignalReport, chart: SignalChart, ctx: ChartContext): ChartTable {
  const table = chartTableEn(r, chart, ctx);
  return ctx.lang ? localised(table, ctx.lang, ctx) : table;
}

/** The same table with the catalogue's words (lib/messages.ts report.*); the rows keep their codes and numbers. */
function localised(table: ChartTable, lang: Lang, ctx: ChartContext): ChartTable {
  const total = sum(table.rows, table.chart === 'by-outcome' ? 'count' : 'signals');
  const groupBy = say(lang, `report.groupBy.${ctx.groupBy}` as MessageKey);
  const span = `${day(ctx.window.from)} – ${day(ctx.window.to)}`;
  return {
    ...table,
    title: say(lang, 'report.svg.title', { chart: say(lang, `report.chart.${table.chart}`), span }),
    description: say(lang, `report.svg.desc.${table.chart}`, { groupBy, total, periods: table.rows.length }),
    columns: table.columns.map((c) => ({ key: c.key, label: chartColumnLabel(lang, c.key, c.label) })),
  };
}

function chartTableEn(r: SignalReport, chart: SignalChart, ctx: ChartContext): ChartTable {
  const span = `${day(ctx.window.from)} – ${day(ctx.window.to)}`;
  switch (chart) {
    case 'by-period': {
      const rows = r.byPeriod.map((p) => ({ period: p.period, open: p.open, closed: p.closed, signals: p.signals }));
      return {
        chart,
        title: `Signals per ${ctx.groupBy}, ${span}`,
        description: `Signals of unlawful reading received per ${ctx.groupBy} (Europe/Amsterdam), split into still open and closed: ${sum(rows, 'signals')} in all over ${rows.length} periods.`,
        columns: [
          { key: 'period', label: 'Period' },
          { key: 'open', label: 'Open' },
          { key: 'closed', label: 'Closed' },
          { key: 'signals', label: 'Signals' },
        ],
        rows,
      };
    }
    case 'by-channel': {
      const rows = r.byChannel.map((c) => ({ channel: c.channel, open: c.open, closed: c.closed, signals: c.signals }));
      return {
        chart,
        title: `Signals per channel, ${span}`,
        description: `How the ${sum(rows, 'signals')} signals reached the grid operator, per channel, open and closed.`,
        columns: [
          { key: 'channel', label: 'Channel' },
          { key: 'open', label: 'Open' },
          { key: 'closed', label: 'Closed' },
          { key: 'signals', label: 'Signals' },
        ],
        rows,
      };
    }
    case 'by-outcome': {
      const rows = r.byOutcome.map((o) => ({ status: o.status, count: o.count }));
      return {
        chart,
        title: `Cases per status, ${span}`,
        description: `The ${sum(rows, 'count')} cases of the window by status: the open ones and every closing outcome.`,
        columns: [
          { key: 'status', label: 'Status' },
          { key: 'count', label: 'Cases' },
        ],
        rows,
      };
    }
    case 'deadlines': {
      const rows = DEADLINE_NAMES.map((name) => {
        const d = r.deadlines[name];
        return { deadline: name, met: d.met, missed: d.missed, pending: d.pending };
      });
      return {
        chart,
        title: `Deadlines met and missed, ${span}`,
        description:
          'Per deadline — contact within 1 working day (GT-1), answer within 72 hours (GT-3), unblock within 1 working day (GT-7, GT-8) — how many were met, missed, or are still pending.',
        columns: [
          { key: 'deadline', label: 'Deadline' },
          { key: 'met', label: 'Met' },
          { key: 'missed', label: 'Missed' },
          { key: 'pending', label: 'Pending' },
        ],
        rows,
      };
    }
  }
}

/** Long form for a stacked bar: one row per category and series. */
function stacked(t: ChartTable, category: string, series: string[]) {
  return t.rows.flatMap((row) =>
    series.map((s) => ({ category: String(row[category]), series: s, value: Number(row[s] ?? 0) })),
  );
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** What is used here of the element Plot returns (linkedom's; the project compiles without the DOM library). */
interface SvgNode {
  firstChild: unknown;
  outerHTML: string;
  setAttribute(name: string, value: string): void;
  insertBefore(node: unknown, before: unknown): unknown;
  append(...nodes: unknown[]): void;
}

/** The chart drawn as a standalone, accessible SVG document; with a language, its categories in that language. */
export function chartSvg(t: ChartTable, lang?: Lang): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const category = t.columns[0]!.key;
  const series =
    t.chart === 'by-outcome'
      ? ['count']
      : t.columns
          .slice(1)
          .map((c) => c.key)
          .filter((k) => k !== 'signals');
  const label = (k: string) => t.columns.find((c) => c.key === k)?.label ?? k;
  const data = stacked(t, category, series).map((d) =>
    lang ? { ...d, category: chartCategoryLabel(lang, category, d.category) } : d,
  );
  const plot = Plot.plot({
    document: document as unknown as NonNullable<Plot.PlotOptions['document']>,
    width: 720,
    height: 320,
    marginTop: 28,
    marginLeft: 56,
    marginBottom: t.rows.length > 12 ? 60 : 40,
    x: { type: 'band', label: label(category), tickRotate: t.rows.length > 12 ? -45 : 0 },
    y: {
      label: t.chart === 'by-outcome' ? label('count') : lang ? say(lang, 'report.svg.count') : 'Count',
      grid: true,
    },
    color: { domain: series.map(label), legend: false, scheme: 'tableau10' },
    marks: [
      Plot.barY(data, {
        x: 'category',
        y: 'value',
        fill: (d: { series: string }) => label(d.series),
        // Every bar says its number (also to a screen reader that walks the picture).
        title: (d: { category: string; series: string; value: number }) =>
          `${d.category}, ${label(d.series)}: ${d.value}`,
      }),
      Plot.ruleY([0]),
    ],
  });
  const svg = plot as unknown as SvgNode;
  // A legend inside the picture (Plot's own legend is HTML beside it, lost in a standalone SVG).
  const colors = plot.scale('color');
  const legend = document.createElementNS(SVG_NS, 'g');
  legend.setAttribute('aria-hidden', 'true');
  const swatches = Array.from(colors?.range ?? []);
  Array.from(colors?.domain ?? []).forEach((name: unknown, i: number) => {
    const x = 60 + i * 110;
    const swatch = document.createElementNS(SVG_NS, 'rect');
    for (const [k, v] of Object.entries({ x, y: 4, width: 10, height: 10, fill: String(swatches[i]) }))
      swatch.setAttribute(k, String(v));
    const text = document.createElementNS(SVG_NS, 'text');
    for (const [k, v] of Object.entries({ x: x + 14, y: 13, 'text-anchor': 'start' })) text.setAttribute(k, String(v));
    text.textContent = String(name);
    legend.append(swatch, text);
  });
  svg.append(legend);
  svg.setAttribute('xmlns', SVG_NS);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', 'chart-title chart-desc');
  const title = document.createElementNS(SVG_NS, 'title');
  title.setAttribute('id', 'chart-title');
  title.textContent = t.title;
  const desc = document.createElementNS(SVG_NS, 'desc');
  desc.setAttribute('id', 'chart-desc');
  const legendText = series.map(label).join(', ');
  desc.textContent = `${t.description} ${lang ? say(lang, 'report.svg.legend', { series: legendText }) : `Legend: ${legendText}.`}`;
  svg.insertBefore(desc, svg.firstChild);
  svg.insertBefore(title, desc);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.outerHTML}`;
}
