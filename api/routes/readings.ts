/**
 * Meter readings (AL-1, AL-2). Import reports rejects per row: valid rows are stored, each invalid
 * row is listed with a stable code and stored nowhere. Whole-batch problems (unknown connection,
 * opted-out connection, malformed body) write nothing.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly, READ_ERRORS } from '../plugins/core-access.js';
import { EanParams } from '../schemas/connections.js';
import { ImportResultSchema, InternalReadingsQuery, ReadingsImport, ReadingsList } from '../schemas/readings.js';
import { registerInternalAccess } from '../../db/repositories/access-register.js';
import { requireConnection } from '../../db/repositories/connections.js';
import { importReadings, readingsForKind, type DataPoint } from '../../db/repositories/readings.js';
import { periodAtDecision, quarterHourGap } from '../../domain/gate.js';
import { validationError } from '../../lib/errors.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';

const MAX_RANGE_MS = 366 * 24 * 3600 * 1000;

export function parsePeriod(
  fromS: string,
  toS: string,
  fields = { from: 'query.from', to: 'query.to' },
): { from: Date; to: Date } {
  const from = new Date(fromS);
  const to = new Date(toS);
  if (!(to > from)) throw validationError('period_invalid', 'to must be later than from', fields.to);
  return { from, to };
}

export const toDataPoints = (points: DataPoint[]) =>
  points.map((p) => ({
    at: p.at.toISOString(),
    registerWh: p.registerWh,
    ...(p.volumeWh !== undefined ? { volumeWh: p.volumeWh } : {}),
    ...(p.feedInRegisterWh !== undefined ? { feedInRegisterWh: p.feedInRegisterWh } : {}),
    ...(p.feedInVolumeWh !== undefined ? { feedInVolumeWh: p.feedInVolumeWh } : {}),
  }));

const readingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db } = app.deps;

  app.post(
    '/connections/:ean/readings',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['readings'],
        summary: 'Import quarter-hour register readings; rejects are reported per row (AL-1, AL-2)',
        params: EanParams,
        body: ReadingsImport,
        response: { 200: ImportResultSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req) => {
      await requireConnection(db, req.params.ean, 'params.ean');
      return importReadings(
        db,
        actorFrom(req.principal),
        req.params.ean,
        req.body.readings.map((r) => ({
          readAt: new Date(r.readAt),
          registerWh: r.registerWh,
          feedInRegisterWh: r.feedInRegisterWh ?? null,
        })),
      );
    },
  );

  app.get(
    '/connections/:ean/readings',
    {
      preHandler: requireRole('admin', 'case-handler'),
      schema: {
        tags: ['readings'],
        summary:
          'Quarter-hour readings with volumes over [from, to) (at most a year); every read is registered with its purpose (DC-8)',
        description:
          'For the grid operator’s own work on the meter data (validation and corrections, AL-2; allocation questions; a GT-11 assessment of what a party received). ' +
          'Handling a doubt case needs no consumption data. Each read is an access-register entry (kind internal, reason internal_access, DC-8) with the purpose and the reader, ' +
          'visible to compliance and, without the reader, to the grid user (DC-5).',
        params: EanParams,
        querystring: InternalReadingsQuery,
        response: { 200: ReadingsList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const conn = await requireConnection(db, req.params.ean, 'params.ean', (c) =>
        visibleTo(req.principal, connectionOwner(c)),
      );
      const asked = parsePeriod(req.query.from, req.query.to);
      if (asked.to.getTime() - asked.from.getTime() > MAX_RANGE_MS)
        throw validationError('period_too_long', 'At most 366 days per request', 'query.to');
      const now = new Date();
      if (asked.from >= now)
        throw validationError(
          'period_in_future',
          'The period starts in the future: that data does not exist yet',
          'query.from',
        );
      // DC-7's quarter-hours, as the gate takes them (rounded inward); none left is no read.
      const gap = quarterHourGap(asked.from, asked.to, now.getTime());
      if (gap) throw validationError(gap.code, gap.message, `query.${gap.field}`);
      const { from, to, cut } = periodAtDecision(asked.from, asked.to, now.getTime());
      const entry = await registerInternalAccess(
        db,
        {
          gridOperatorId: conn.gridOperatorId,
          connectionEan: conn.ean,
          dataKind: 'interval_data',
          from,
          to,
          requestId: req.id,
          actor: actorFrom(req.principal).actor,
          purpose: req.query.purpose,
        },
        now,
      );
      const points = await readingsForKind(db, conn.ean, 'interval_data', from, to);
      return {
        connectionEan: conn.ean,
        from: from.toISOString(),
        to: to.toISOString(),
        periodCut: cut,
        accessId: entry.id,
        readings: toDataPoints(points),
      };
    },
  );
};

export default readingRoutes;
