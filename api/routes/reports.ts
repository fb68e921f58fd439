/**
 * GET /reports/signals: the numbers the seed measures success by (signals of unlawful reading per period,
 * party, channel and outcome) and the system's own deadline performance (GT-1, GT-3, GT-7/GT-8, GT-2
 * block duration, GT-9 supplier reports), as JSON, as CSV and as charts (SVG, with their numbers). Admins and the branch-wide view (branch-analyst: these aggregates
 * and nothing else, no case file) see every grid operator; a case handler and a compliance officer only their own.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LRUCache } from 'lru-cache';
import { errorResponses, ownFilter, READ_ERRORS } from '../plugins/core-access.js';
import { aggregateScopeOf } from '../../domain/visibility.js';
import {
  ChartParams,
  ChartQuery,
  ChartTableSchema,
  SignalReportCsvQuery,
  SignalReportQuery,
  SignalReportSchema,
  toSignalReportDto,
  type SignalReportQueryT,
} from '../schemas/reports.js';
import type { Db } from '../../db/client.js';
import { csvFilename, sendCsv, wantsCsv } from '../plugins/csv.js';
import { requireRole, type Principal } from '../plugins/auth.js';
import { chartSvg, chartTable, SIGNAL_CHARTS } from '../../services/reports/signal-charts.js';
import { SIGNAL_CSV_COLUMNS, signalReportCsvRows } from '../../services/reports/signal-csv.js';
import { signalReport, type ReportGranularity } from '../../db/repositories/signal-reports.js';
import { getPartyById, requirePartyByGln } from '../../db/repositories/parties.js';
import { forbidden, validationError } from '../../lib/errors.js';

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 90;
/** Bounds the response (and the generated period series): at most this many periods. */
export const MAX_PERIODS = 1000;
const PERIOD_DAYS: Record<ReportGranularity, number> = { day: 1, week: 7, month: 28 };

/**
 * How long a chart image may be served from a report computed for the same scope and window (and a browser may
 * keep it: `Cache-Control: private, max-age`). The console's report page asks for all tables in one call
 * (GET /reports/signals/charts) and then for its four images: they draw that computation instead of four new ones.
 * JSON and CSV answers are always computed anew; only the images may be this old.
 */
export const CHART_IMAGE_MAX_AGE_S = 60;

type LoadedReport = Awaited<ReturnType<typeof computeReport>>;
/** Recently computed reports, by scope and query (reportKey); per app, bounded. */
type ReportCache = LRUCache<string, LoadedReport>;

/**
 * The report's cache key: the scope the caller was held to (its grid operator, resolved) and every query field.
 * Only a window with an explicit `to` is keyed (otherwise `to` is the request's instant and never repeats).
 */
function reportKey(scopeOperator: string | undefined, q: SignalReportQueryT): string | undefined {
  if (!q.to) return undefined;
  return JSON.stringify([
    scopeOperator ?? null,
    q.gridOperatorGln ?? null,
    q.partyGln ?? null,
    q.channel ?? null,
    q.from ?? null,
    q.to,
    q.groupBy,
  ]);
}

/**
 * The report a request asks for, held to the caller's scope (computeReport); with `cache`, a report of the same
 * scope and query computed within CHART_IMAGE_MAX_AGE_S is reused (the chart images) — and every computation is
 * remembered for them.
 */
async function loadReport(db: Db, p: Principal, q: SignalReportQueryT, cache: ReportCache, reuse = false) {
  const scope = aggregateScopeOf(p).kind === 'all' ? undefined : ownFilter(p).gridOperatorId;
  const key = reportKey(scope, q);
  const hit = reuse && key !== undefined ? cache.get(key) : undefined;
  if (hit) return hit;
  const loaded = await computeReport(db, p, q);
  if (key !== undefined) cache.set(key, loaded);
  return loaded;
}

/** The report a request asks for, held to the caller's scope: validation, scope and one snapshot. */
async function computeReport(db: Db, p: Principal, q: SignalReportQueryT) {
  const now = new Date();
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
  if (!(to.getTime() > from.getTime()))
    throw validationError('period_invalid', 'to must be later than from', q.to ? 'query.to' : 'query.from');
  const periods = Math.ceil((to.getTime() - from.getTime()) / (PERIOD_DAYS[q.groupBy] * DAY_MS)) + 1;
  if (periods > MAX_PERIODS) {
    throw validationError(
      'too_many_periods',
      `The window spans about ${periods} ${q.groupBy} periods; at most ${MAX_PERIODS} are reported at once`,
      'query.groupBy',
      {
        max: MAX_PERIODS,
        periods,
      },
    );
  }

  // Scope: a case handler or compliance officer reports on its own grid operator only; a branch analyst
  // (aggregates only: it reads no case file anywhere) and an admin on any.
  let gridOperator = q.gridOperatorGln
    ? await requirePartyByGln(db, q.gridOperatorGln, 'query.gridOperatorGln')
    : undefined;
  const own = aggregateScopeOf(p).kind === 'all' ? undefined : ownFilter(p).gridOperatorId;
  if (own !== undefined) {
    if (gridOperator && gridOperator.id !== own)
      throw forbidden('grid_operator_out_of_scope', 'This key reports on its own grid operator only');
    gridOperator = gridOperator ?? (await getPartyById(db, own));
    if (!gridOperator) throw forbidden('key_without_party', 'The grid operator of this API key no longer exists');
  }
  const party = q.partyGln ? await requirePartyByGln(db, q.partyGln, 'query.partyGln') : undefined;

  // One snapshot for all sections, so totals, deadlines and durations describe the same cases.
  const report = await db.transaction(
    (tx) =>
      signalReport(tx, {
        from,
        to,
        groupBy: q.groupBy,
        gridOperatorId: gridOperator?.id,
        partyId: party?.id,
        channel: q.channel,
        now,
      }),
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  const meta = {
    from,
    to,
    groupBy: q.groupBy,
    generatedAt: now,
    filters: {
      gridOperatorGln: gridOperator?.gln ?? null,
      partyGln: party?.gln ?? null,
      channel: q.channel ?? null,
    },
  };
  return { report, meta };
}

/** Whether an If-None-Match header names `etag` (a list, `*`, weak forms compared weakly as RFC 9110 says). */
function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === etag;
  });
}

const READERS = ['admin', 'compliance', 'case-handler', 'branch-analyst'] as const;
const SCOPE =
  'Case handlers and compliance officers see their own grid operator only; a branch analyst (branch-wide aggregates, no case files) every grid operator.';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const cache: ReportCache = new LRUCache({ max: 200, ttl: CHART_IMAGE_MAX_AGE_S * 1000 });

  app.get(
    '/reports/signals',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary:
          'Signals of unlawful reading per period, party, channel, outcome and grid operator, with deadline performance',
        description:
          'Window on received_at [from, to), default the last 90 days; periods on the Europe/Amsterdam calendar. Deadline shares are met / (met + missed); ' +
          `pending and not-applicable deadlines are reported apart. ${SCOPE} ` +
          'format=csv or Accept: text/csv: the same numbers as one CSV table, one number per row (section, key, name, measure, value; docs/api.md "CSV downloads").',
        querystring: SignalReportCsvQuery,
        response: { 200: SignalReportSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      const { format, ...q } = req.query;
      const { report, meta } = await loadReport(db, req.principal, q, cache);
      if (!wantsCsv(req, format)) return toSignalReportDto(report, meta);
      const name = `signal-report-${meta.from.toISOString().slice(0, 10)}-${meta.to.toISOString().slice(0, 10)}`;
      return sendCsv(reply, csvFilename(name), SIGNAL_CSV_COLUMNS, async (write) => {
        for (const row of signalReportCsvRows(report)) await write({ ...row });
      });
    },
  );

  app.get(
    '/reports/signals/charts',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary: 'Every chart of the signal report as numbers, from one computation of the report',
        description:
          'The tables of all charts (as GET /reports/signals/charts/{chart} answers one), in the order by-period, by-channel, by-outcome, deadlines: ' +
          `a page that shows every chart computes the report once. The chart images of the same window (with an explicit \`to\`) drawn within ${CHART_IMAGE_MAX_AGE_S} s after draw this computation. ${SCOPE}`,
        querystring: ChartQuery,
        response: {
          200: Type.Object({ charts: Type.Array(ChartTableSchema) }, { title: 'SignalChartTables' }),
          ...errorResponses(...READ_ERRORS, 404),
        },
      },
    },
    async (req) => {
      const { lang, ...query } = req.query;
      const { report, meta } = await loadReport(db, req.principal, query, cache);
      return {
        charts: SIGNAL_CHARTS.map((chart) => chartTable(report, chart, { window: meta, groupBy: meta.groupBy, lang })),
      };
    },
  );

  app.get(
    '/reports/signals/charts/:chart',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary: 'One chart of the signal report as numbers: its title, description and the table it draws',
        description: `The table shown under the chart (GET /reports/signals/charts/{chart}.svg draws it). ${SCOPE}`,
        params: ChartParams,
        querystring: ChartQuery,
        response: { 200: ChartTableSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const { lang, ...query } = req.query;
      const { report, meta } = await loadReport(db, req.principal, query, cache);
      return chartTable(report, req.params.chart, { window: meta, groupBy: meta.groupBy, lang });
    },
  );

  app.get(
    '/reports/signals/charts/:chart.svg',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary: 'One chart of the signal report, drawn on the server (image/svg+xml)',
        description:
          'An accessible SVG (role="img", <title>, <desc>, each bar titled with its number); the numbers as a table: GET /reports/signals/charts/{chart}. ' +
          `Cacheable: an ETag and \`Cache-Control: private, max-age=${CHART_IMAGE_MAX_AGE_S}\`; with an explicit \`to\` it draws a report of the same scope and window computed in that time, if there is one. ` +
          SCOPE,
        params: ChartParams,
        querystring: ChartQuery,
        response: {
          200: {
            description: 'The chart, a standalone SVG document',
            content: { 'image/svg+xml': { schema: { type: 'string' } } },
          },
          304: { description: 'Not modified: If-None-Match names the image’s ETag', type: 'null' },
          ...errorResponses(...READ_ERRORS, 404),
        },
      },
    },
    async (req, reply) => {
      // An image may draw a report of the same scope and window computed moments ago (the page's tables).
      // The language changes the words only: the same cached report serves both (loadReport's key has no lang).
      const { lang, ...query } = req.query;
      const { report, meta } = await loadReport(db, req.principal, query, cache, true);
      const svg = chartSvg(chartTable(report, req.params.chart, { window: meta, groupBy: meta.groupBy, lang }), lang);
      const etag = `"${createHash('sha256').update(svg).digest('base64url').slice(0, 27)}"`;
      // Private: the numbers are the caller's grid operator's; short: new signals show within a minute.
      void reply
        .header('etag', etag)
        .header('cache-control', `private, max-age=${CHART_IMAGE_MAX_AGE_S}`)
        .header('x-content-type-options', 'nosniff');
      if (ifNoneMatch(req.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('image/svg+xml; charset=utf-8').send(svg);
    },
  );
};

export default reportRoutes;
