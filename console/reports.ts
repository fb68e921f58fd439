/**
 * The signal report page (issue 19): the API's charts (GET /reports/signals/charts/{chart}.svg, drawn on the
 * server with @observablehq/plot) shown as images streamed through this console, each with its numbers as a table
 * under it (GET /reports/signals/charts/{chart}: the same numbers the picture draws), a period filter as a plain
 * GET form, and CSV downloads of the report and of the access register, streamed through as the API writes them.
 * Who may read what (own grid operator only) is the API's (api/routes/reports.ts, api/routes/p4.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { t } from '../lib/messages.js';
import type { ConsoleKit } from './index.js';
import type { Person } from './api.js';
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

/**
 * Stream one API download through (the CSV downloads, the chart images): the API's status and headers, its body
 * as it is written (back-pressure included); a browser that goes away ends the API's answer too (its reader
 * stops). A refusal is a page with the API's reason.
 */
export async function streamThrough(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  html: Html,
  person: Person,
  url: string,
  accept: string,
) {
  const res = await kit.api.download(person, url, accept);
  if (!res.body) {
    const ctx = kit.ctx(request, reply);
    const text = `${res.error?.message ?? `HTTP ${res.status}`}${res.error?.field ? ` (${res.error.field})` : ''}`;
    return html(reply, page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text })), res.status);
  }
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) res.abort();
  });
  for (const h of ['content-type', 'content-disposition', 'x-content-type-options'] as const)
    if (res.headers[h] !== undefined) void reply.header(h, res.headers[h]);
  return reply.code(res.status).header('cache-control', 'no-store').send(res.body);
}

function invalidPage(kit: ConsoleKit, request: FastifyRequest, reply: FastifyReply, html: Html, value: string) {
  const ctx = kit.ctx(request, reply);
  const text = t(ctx.lang, 'report.invalidDate', { value });
  return html(reply, page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text })), 400);
}

/** The numbers of every chart from the API; the first refusal stops the page (they share one validation). */
async function chartTables(kit: ConsoleKit, person: Person, period: ReportPeriod) {
  const answers = await Promise.all(
    SIGNAL_CHARTS.map((chart) =>
      kit.api.get<ChartTable>(person, `/reports/signals/charts/${chart}?${reportQuery(period)}`),
    ),
  );
  const refused = answers.find((a) => a.error);
  if (refused)
    return {
      notice: {
        kind: 'error' as const,
        text: `${refused.error?.message ?? `HTTP ${refused.status}`}${refused.error?.field ? ` (${refused.error.field})` : ''}`,
      },
      status: refused.status,
    };
  const charts: ReportChart[] = answers.map((a, i) => ({
    chart: SIGNAL_CHARTS[i]!,
    table: a.body,
    src: `/console/reports/charts/${SIGNAL_CHARTS[i]!}.svg?${formQuery(period)}`,
  }));
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
      const got = await chartTables(kit, person, period);
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
        querystring: periodQuerySchema,
      },
    },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const period = periodOf(request.query, new Date());
      if ('invalid' in period) return invalidPage(kit, request, reply, html, period.invalid);
      const chart = request.params.chart as SignalChart;
      const url = `/reports/signals/charts/${chart}.svg?${reportQuery(period)}`;
      return streamThrough(kit, request, reply, html, person, url, 'image/svg+xml');
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
      return streamThrough(kit, request, reply, html, person, url, 'text/csv');
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
      return streamThrough(kit, request, reply, html, person, `/access-register?${q}`, 'text/csv');
    },
  );
}

export const reportRoutes = { register };
