/**
 * GET /reports/signals: the numbers the seed measures success by (signals of unlawful reading per period,
 * party, channel and outcome) and the system's own deadline performance (GT-1, GT-3, GT-7/GT-8, GT-2
 * block duration, GT-9 supplier reports), as JSON, as CSV and as charts (SVG, with their numbers). Admins and the branch-wide view (branch-analyst: these aggregates
 * and nothing else, no case file) see every grid operator; a case handler and a compliance officer only their own.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses, ownFilter, READ_ERRORS } from '../plugins/core-access.js';
import { aggregateScopeOf } from '../../domain/visibility.js';
import {
  ChartParams,
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
import { chartSvg, chartTable } from '../../services/reports/signal-charts.js';
import { SIGNAL_CSV_COLUMNS, signalReportCsvRows } from '../../services/reports/signal-csv.js';
import { signalReport, type ReportGranularity } from '../../db/repositories/signal-reports.js';
import { getPartyById, requirePartyByGln } from '../../db/repositories/parties.js';
import { forbidden, validationError } from '../../lib/errors.js';

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 90;
/** Bounds the response (and the generated period series): at most this many periods. */
export const MAX_PERIODS = 1000;
const PERIOD_DAYS: Record<ReportGranularity, number> = { day: 1, week: 7, month: 28 };

/** The report a request asks for, held to the caller's scope: validation, scope and one snapshot. */
async function loadReport(db: Db, p: Principal, q: SignalReportQueryT) {
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

const READERS = ['admin', 'compliance', 'case-handler', 'branch-analyst'] as const;
const SCOPE =
  'Case handlers and compliance officers see their own grid operator only; a branch analyst (branch-wide aggregates, no case files) every grid operator.';

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;

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
      const { report, meta } = await loadReport(db, req.principal, q);
      if (!wantsCsv(req, format)) return toSignalReportDto(report, meta);
      const name = `signal-report-${meta.from.toISOString().slice(0, 10)}-${meta.to.toISOString().slice(0, 10)}`;
      return sendCsv(reply, csvFilename(name), SIGNAL_CSV_COLUMNS, async (write) => {
        for (const row of signalReportCsvRows(report)) await write({ ...row });
      });
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
        querystring: SignalReportQuery,
        response: { 200: ChartTableSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const { report, meta } = await loadReport(db, req.principal, req.query);
      return chartTable(report, req.params.chart, { window: meta, groupBy: meta.groupBy });
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
          SCOPE,
        params: ChartParams,
        querystring: SignalReportQuery,
        response: {
          200: {
            description: 'The chart, a standalone SVG document',
            content: { 'image/svg+xml': { schema: { type: 'string' } } },
          },
          ...errorResponses(...READ_ERRORS, 404),
        },
      },
    },
    async (req, reply) => {
      const { report, meta } = await loadReport(db, req.principal, req.query);
      const svg = chartSvg(chartTable(report, req.params.chart, { window: meta, groupBy: meta.groupBy }));
      return reply.type('image/svg+xml; charset=utf-8').header('x-content-type-options', 'nosniff').send(svg);
    },
  );
};

export default reportRoutes;
