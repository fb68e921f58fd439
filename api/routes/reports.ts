/**
 * GET /reports/signals: the numbers the seed measures success by (signals of unlawful reading per period,
 * party, channel and outcome) and the system's own deadline performance (GT-1, GT-3, GT-7/GT-8, GT-2
 * block duration, GT-9 supplier reports). Admins and the branch-wide view (branch-analyst: these aggregates
 * and nothing else, no case file) see every grid operator; a case handler and a compliance officer only their own.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { errorResponses, ownFilter, READ_ERRORS } from '../plugins/core-access.js';
import { aggregateScopeOf } from '../../domain/visibility.js';
import { SignalReportQuery, SignalReportSchema, toSignalReportDto } from '../schemas/reports.js';
import { signalReport, type ReportGranularity } from '../../db/repositories/signal-reports.js';
import { getPartyById, requirePartyByGln } from '../../db/repositories/parties.js';
import { forbidden, validationError } from '../../lib/errors.js';

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 90;
/** Bounds the response (and the generated period series): at most this many periods. */
export const MAX_PERIODS = 1000;
const PERIOD_DAYS: Record<ReportGranularity, number> = { day: 1, week: 7, month: 28 };

const reportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;

  app.get(
    '/reports/signals',
    {
      preHandler: requireRole('admin', 'compliance', 'case-handler', 'branch-analyst'),
      schema: {
        tags: ['reports'],
        summary:
          'Signals of unlawful reading per period, party, channel, outcome and grid operator, with deadline performance',
        description:
          'Window on received_at [from, to), default the last 90 days; periods on the Europe/Amsterdam calendar. Deadline shares are met / (met + missed); ' +
          'pending and not-applicable deadlines are reported apart. Case handlers and compliance officers see their own grid operator only; ' +
          'a branch analyst (branch-wide aggregates, no case files) every grid operator.',
        querystring: SignalReportQuery,
        response: { 200: SignalReportSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const p = req.principal;
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
      return toSignalReportDto(report, {
        from,
        to,
        groupBy: q.groupBy,
        generatedAt: now,
        filters: {
          gridOperatorGln: gridOperator?.gln ?? null,
          partyGln: party?.gln ?? null,
          channel: q.channel ?? null,
        },
      });
    },
  );
};

export default reportRoutes;
