/**
 * Meter readings (AL-1, AL-2). Import reports rejects per row: valid rows are stored, each invalid
 * row is listed with a stable code and stored nowhere. Whole-batch problems (unknown connection,
 * opted-out connection, malformed body) write nothing.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, canSeeConnection, errorResponses, jsonBodiesOnly, READ_ERRORS } from '../plugins/core-access.js';
import { EanParams } from '../schemas/connections.js';
import { ImportResultSchema, ReadingsImport, ReadingsList, ReadingsQuery } from '../schemas/readings.js';
import { requireConnection } from '../../db/repositories/connections.js';
import { importReadings, readingsForKind } from '../../db/repositories/readings.js';
import { validationError } from '../../lib/errors.js';

const MAX_RANGE_MS = 366 * 24 * 3600 * 1000;

export function parsePeriod(fromS: string, toS: string, fields = { from: 'query.from', to: 'query.to' }): { from: Date; to: Date } {
  const from = new Date(fromS);
  const to = new Date(toS);
  if (!(to > from)) throw validationError('period_invalid', 'to must be later than from', fields.to);
  return { from, to };
}

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
      return importReadings(db, actorFrom(req.principal), req.params.ean, req.body.readings.map((r) => ({ readAt: new Date(r.readAt), registerWh: r.registerWh, feedInRegisterWh: r.feedInRegisterWh ?? null })));
    },
  );

  app.get(
    '/connections/:ean/readings',
    {
      preHandler: requireRole('admin', 'case-handler'),
      schema: { tags: ['readings'], summary: 'Quarter-hour readings with volumes over [from, to) (at most a year)', params: EanParams, querystring: ReadingsQuery, response: { 200: ReadingsList, ...errorResponses(...READ_ERRORS, 404) } },
    },
    async (req) => {
      await requireConnection(db, req.params.ean, 'params.ean', (c) => canSeeConnection(req.principal, c));
      const { from, to } = parsePeriod(req.query.from, req.query.to);
      if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw validationError('period_too_long', 'At most 366 days per request', 'query.to');
      const points = await readingsForKind(db, req.params.ean, 'interval_data', from, to);
      return { connectionEan: req.params.ean, from: from.toISOString(), to: to.toISOString(), readings: points.map((p) => ({ ...p, at: p.at.toISOString() })) };
    },
  );
};

export default readingRoutes;
