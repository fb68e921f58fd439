/**
 * The signal report page (issue 19): the API's charts (GET /reports/signals/charts/{chart}.svg, drawn on the
 * server with @observablehq/plot) shown as images streamed through this console, each with its numbers as a table
 * under it (GET /reports/signals/charts: every chart's numbers from one computation of the report, which the
 * images then draw), a period filter as a plain GET form, and CSV downloads of the report and of the access
 * register, streamed through as the API writes them.
 * Who may read what (own grid operator only) is the API's (api/routes/reports.ts, api/routes/p4.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { t, type Lang } from '../lib/messages.js';
import type { ConsoleKit } from './index.js';
import { refusalText, streamThrough, type ApiDownload, type Person } from './api.js';
import { page } from './views/layout.js';
import { MessagePage } from './views/pages.js';
import {
  CHARTS as SIGNAL_CHARTS,
  ReportPage,
  type ChartTable,
  type ReportChart,
  type ReportPeriod,
  type SignalChart,
} from './views/report.js';

type Html = (reply: FastifyReply, body: string, status?: number) => FastifyReply;

const ZONE = 'Europe/Amsterdam';
/** The report's default window, as the API's (api/routes/reports.ts DEFAULT_WINDOW_DAYS): the last 90 days. */
const DEFAULT_DAYS = 90;
const GROUPS = ['day', 'week', 'month'] as const;
type Group = (typeof GROUPS)[number];

interface PeriodQuery {
  from?: string;
  to?: string;
  groupBy?: string;
}
const periodQuerySchema = {
  type: 'object',
  properties: { from: { type: 'string' }, to: { type: 'string' }, groupBy: { type: 'string' } },
};
/** The chart image's address also names the language (a cache key per language; the drawing takes the session's). */
const chartQuerySchema = {
  type: 'object',
  properties: { ...periodQuerySchema.properties, lang: { type: 'string', enum: ['nl', 'en'] } },
};

/**
 * The form's period (Amsterdam calendar dates, `to` included) as the API's window [from, to): from the start of
 * the first day to the start of the day after the last. Empty fields: the last 90 days up to and including today.
 */
export function periodOf(q: PeriodQuery, now: Date): ReportPeriod | { invalid: string } {
  const day = (v: string | undefined) => {
    const text = v?.trim();
    if (!text) return null;
    const d = DateTime.fromISO(text, { zone: ZONE });
    return /^\d{4}-\d{2}-\d{2}$/.test(text) && d.isValid ? d.startOf('day') : text;
  };
  const toDay = day(q.to) ?? DateTime.fromJSDate(now, { zone: ZONE }).startOf('day');
  if (typeof toDay === 'string') return { invalid: toDay };
  const fromDay = day(q.from) ?? toDay.minus({ days: DEFAULT_DAYS - 1 });
  if (typeof fromDay === 'string') return { invalid: fromDay };
  const groupBy: Group = (GROUPS as readonly string[]).includes(q.groupBy ?? '') ? (q.groupBy as Group) : 'month';
  return {
    fromDate: fromDay.toISODate()!,
    toDate: toDay.toISODate()!,
    from: fromDay.toUTC().toISO()!,
    to: toDay.plus({ days: 1 }).toUTC().toISO()!,
    groupBy,
  };
}

/** The window as the API's query string (reports and charts). */
const reportQuery = (p: ReportPeriod) => new URLSearchParams({ from: p.from, to: p.to, groupBy: p.groupBy }).toString();
/** The window as this console's query string (the form's fields). */
export const formQuery = (p: ReportPeriod) =>
  new URLSearchParams({ from: p.fromDate, to: p.toDate, groupBy: p.groupBy }).toString();

/** A refused download: a page with the API's reason. */
function refusedPage(kit: ConsoleKit, request: FastifyRequest, reply: FastifyReply, html: Html) {
  return (res: ApiDownload) => {
    const ctx = kit.ctx(request, reply);
    return html(
      reply,
      page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text: refusalText(res) })),
      res.status,
    );
  };
}

/** The CSV downloads: the API's file as it writes it. */
const CSV_HEADERS = ['content-type', 'content-disposition', 'x-content-type-options'] as const;

function invalidPage(kit: ConsoleKit, request: FastifyRequest, reply: FastifyReply, html: Html, value: string) {
  const ctx = kit.ctx(request, reply);
  const text = t(ctx.lang, 'report.invalidDate', { value });
  return html(reply, page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text })), 400);
}

/**
 * The numbers of every chart from the API, from one computation of the report (GET /reports/signals/charts); the
 * images then draw that computation (api/routes/reports.ts CHART_IMAGE_MAX_AGE_S) instead of computing their own.
 */
async function chartTables(kit: ConsoleKit, person: Person, period: ReportPeriod, lang: Lang) {
  const answer = await kit.api.get<{ charts: ChartTable[] }>(
    person,
    `/reports/signals/charts?${reportQuery(period)}&lang=${lang}`,
  );
  if (answer.error) return { notice: { kind: 'error' as const, text: refusalText(answer) }, status: answer.status };
  const byChart = new Map(answer.body.charts.map((table) => [table.chart, table]));
  const charts: ReportChart[] = SIGNAL_CHARTS.flatMap((chart) => {
    const table = byChart.get(chart);
    // The language in the address too: a cached picture in the other language is not reused after a switch.
    const src = `/console/reports/charts/${chart}.svg?${formQuery(period)}&lang=${lang}`;
    return table ? [{ chart, table, src }] : [];
  });
  return { charts };
}

function register(app: FastifyInstance, kit: ConsoleKit, { html }: { html: Html }) {
  app.get<{ Querystring: PeriodQuery }>(
    '/console/reports',
    { schema: { hide: true, querystring: periodQuerySchema } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const period = periodOf(request.query, new Date());
      if ('invalid' in period) return invalidPage(kit, request, reply, html, period.invalid);
      const ctx = kit.ctx(request, reply, false);
      const got = await chartTables(kit, person, period, ctx.lang);
      return html(
        reply,
        page(ReportPage({ ctx, period, charts: got.charts ?? [], notice: got.notice })),
        got.notice ? got.status : 200,
      );
    },
  );

  app.get<{ Params: { chart: string }; Querystring: PeriodQuery }>(
    '/console/reports/charts/:chart.svg',
    {
      schema: {
        hide: true,
        params: {
          type: 'object',
          properties: { chart: { type: 'string', enum: [...SIGNAL_CHARTS] } },
          required: ['chart'],
        },
        querystring: chartQuerySchema,
      },
    },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const period = periodOf(request.query, new Date());
      if ('invalid' in period) return invalidPage(kit, request, reply, html, period.invalid);
      const chart = request.params.chart as SignalChart;
      // Drawn in the person's language (the address's lang only keeps the browser's cache apart per language).
      const { lang } = kit.ctx(request, reply, false);
      const url = `/reports/signals/charts/${chart}.svg?${reportQuery(period)}&lang=${lang}`;
      // Cacheable per period (the API's ETag and private max-age); a revalidation is the API's 304.
      return streamThrough(kit.api, person, reply, url, 'image/svg+xml', {
        pass: [...CSV_HEADERS, 'etag', 'cache-control'],
        forward: { 'if-none-match': request.headers['if-none-match'] },
        refused: refusedPage(kit, request, reply, html),
      });
    },
  );

  app.get<{ Querystring: PeriodQuery }>(
    '/console/reports/signals.csv',
    { schema: { hide: true, querystring: periodQuerySchema } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const period = periodOf(request.query, new Date());
      if ('invalid' in period) return invalidPage(kit, request, reply, html, period.invalid);
      const url = `/reports/signals?format=csv&${reportQuery(period)}`;
      return streamThrough(kit.api, person, reply, url, 'text/csv', {
        pass: CSV_HEADERS,
        refused: refusedPage(kit, request, reply, html),
      });
    },
  );

  // The access register (DC-1) of the person's grid operator over the same period: the API's CSV (api/routes/p4.ts).
  app.get<{ Querystring: PeriodQuery }>(
    '/console/reports/access-register.csv',
    { schema: { hide: true, querystring: periodQuerySchema } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const period = periodOf(request.query, new Date());
      if ('invalid' in period) return invalidPage(kit, request, reply, html, period.invalid);
      const q = new URLSearchParams({ format: 'csv', since: period.from, until: period.to }).toString();
      return streamThrough(kit.api, person, reply, `/access-register?${q}`, 'text/csv', {
        pass: CSV_HEADERS,
        refused: refusedPage(kit, request, reply, html),
      });
    },
  );
}

export const reportRoutes = { register };
