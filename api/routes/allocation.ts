/**
 * Allocation (AL-1 … AL-6): the bulk readings file, effective-dated parties, profile sets, runs and what
 * leaves them. Only aggregates leave (AL-3): a BRP key sees the cells of its BRP, a supplier key those of
 * its supplier; the grid operator (its case handlers), compliance and admin see whole runs. Individual
 * connection results are for the grid operator only, with a purpose, and every read is registered (DC-8).
 */
import { Readable } from 'node:stream';
import { errorCodes } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type postgres from 'postgres';
import { Type, type Static } from '@sinclair/typebox';
import { requireRole, type Principal } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, READ_ERRORS } from '../plugins/core-access.js';
import {
  ALLOCATION_ROLES,
  allocationRunScope,
  allocationRunsListed,
  connectionOwner,
  mayRunAllocationOf,
  seesWholeRun,
  visibleTo,
  type AllocationScope,
} from '../../domain/visibility.js';
import { EanParams } from '../schemas/connections.js';
import {
  AggregateList,
  AggregatesQuery,
  BulkImportResultSchema,
  ConnectionResultQuery,
  ConnectionResultSchema,
  DifferenceList,
  PartyChangeCreate,
  PartyHistory,
  PartyHistoryRowSchema,
  ProfileSetList,
  ProfileSetSchema,
  ProfileUploadQuery,
  RunConnectionParams,
  RunCreate,
  RunCreated,
  RunHeaders,
  RunList,
  RunParams,
  RunQuery,
  RunSchema,
  toPartyHistoryDto,
  toProfileSetDto,
  toRunDto,
  YearParams,
} from '../schemas/allocation.js';
import { Paging } from '../schemas/common.js';
import { listProfileSets } from '../../db/repositories/allocation-profiles.js';
import { listRuns, requireRun } from '../../db/repositories/allocation-runs.js';
import { changeConnectionParties, listPartyHistory } from '../../db/repositories/connection-parties.js';
import { requireConnection } from '../../db/repositories/connections.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import type { Db } from '../../db/client.js';
import type { AllocationRun } from '../../db/schema/index.js';
import type { AppDeps } from '../app.js';
import { forbidden, invalidState, validationError } from '../../lib/errors.js';
import { importReadingsFile } from '../../services/allocation/import.js';
import {
  aggregateCsv,
  aggregatePage,
  differencePage,
  readConnectionResult,
} from '../../services/allocation/results.js';
import { driverOf, loadProfileFile, requestAllocationRun } from '../../services/allocation/runs.js';

/** A profile file is a year of quarter-hours: a few MB. */
const PROFILE_FILE_MAX_BYTES = 64 * 1024 * 1024;

async function readText(stream: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    // Fastify's own 413 (payload_too_large, as for any body over its limit); the rest of the body is not read.
    if (size > max) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type App = Parameters<FastifyPluginAsyncTypebox>[0];

/** What every group of routes below shares. */
interface AllocationRoutesContext {
  db: Db;
  sql: postgres.Sql;
  config: AppDeps['config'];
  temporal: AppDeps['temporal'];
  /** The run, when `p` sees it (others: 404), and which of its cells (domain/visibility.ts allocationRunScope). */
  visibleRun(p: Principal, id: string): Promise<{ run: AllocationRun; scope: AllocationScope }>;
}

// Any body passes validation: the parser hands over the raw stream (the schema documents it).
const csvBody = Type.Unsafe<Readable>({ description: 'The file, Content-Type: text/csv' });
const importer = requireRole(...ALLOCATION_ROLES.import);
const masterDataReader = requireRole(...ALLOCATION_ROLES.readMasterData);
const operator = requireRole(...ALLOCATION_ROLES.run);
const reader = requireRole(...ALLOCATION_ROLES.read);

/** The bulk readings file (AL-1, AL-2) and the effective-dated parties of a connection (AL-3). */
function readingRoutes(app: App, { db, sql }: AllocationRoutesContext): void {
  app.post(
    '/readings/bulk',
    {
      preHandler: importer,
      schema: {
        tags: ['allocation'],
        summary: "Import a day's readings file of all connections (text/csv, streamed; AL-1, AL-2)",
        description:
          'Lines `connection_ean,day,register,r0,…,rN` after a header of that shape; register offtake or feed_in; r0 at 00:00 Amsterdam, rk at the end of quarter-hour k (N = 92, 96 or 100); empty = not read. ' +
          'Each line is judged (registers never decrease; no volume above capacity) against the stored data; rejected lines are listed with their line number and code, all other lines are stored. A malformed header stores nothing.',
        consumes: ['text/csv'],
        body: csvBody,
        response: { 200: BulkImportResultSchema, ...errorResponses(...BODY_ERRORS) },
      },
    },
    async (req) => {
      if (!(req.body instanceof Readable))
        throw validationError('csv_required', 'Send the file as Content-Type: text/csv', 'headers.content-type');
      return importReadingsFile(sql, actorFrom(req.principal), req.body);
    },
  );

  app.get(
    '/connections/:ean/parties',
    {
      preHandler: masterDataReader,
      schema: {
        tags: ['allocation'],
        summary: 'Supplier, BRP and grid area over time (effective-dated)',
        description:
          'Each row holds from its effectiveFrom until the next row; a day is allocated to the parties of each of its quarter-hours, so a supplier switch takes effect at its moment (AL-3). ' +
          'No rows: the connection’s current parties have held since its registration. Case handlers see their grid operator’s connections only (others 404).',
        params: EanParams,
        response: { 200: PartyHistory, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const conn = await requireConnection(db, req.params.ean, 'params.ean', (c) =>
        visibleTo(req.principal, connectionOwner(c)),
      );
      const rows = await listPartyHistory(db, conn.ean);
      // No history recorded: the connection's parties have held since its registration.
      return { connectionEan: conn.ean, items: rows.map(toPartyHistoryDto) };
    },
  );

  app.post(
    '/connections/:ean/parties',
    {
      preHandler: importer,
      schema: {
        tags: ['allocation'],
        summary: 'Change the BRP and/or grid area from a moment on (a supplied connection keeps a BRP; in time order)',
        description:
          'Records a new effective-dated row (supplier switches go through POST /connections/{ean}/events). 409 when the moment lies before the latest row (history is appended in time order) or the change would leave a supplied connection without a BRP. ' +
          'Runs of days already allocated do not change: request a re-run to see the effect.',
        params: EanParams,
        body: PartyChangeCreate,
        response: { 201: PartyHistoryRowSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      await requireConnection(db, req.params.ean, 'params.ean');
      const b = req.body;
      const row = await changeConnectionParties(db, actorFrom(req.principal), req.params.ean, {
        effectiveFrom: new Date(b.effectiveFrom),
        ...(b.balanceResponsiblePartyGln !== undefined
          ? { balanceResponsiblePartyGln: b.balanceResponsiblePartyGln }
          : {}),
        ...(b.gridArea !== undefined ? { gridArea: b.gridArea } : {}),
        reason: b.reason,
      });
      return reply.status(201).send(toPartyHistoryDto(row));
    },
  );
}

/** The profile sets (AL-4). */
function profileRoutes(app: App, { db }: AllocationRoutesContext): void {
  app.put(
    '/allocation/profiles/:year',
    {
      preHandler: importer,
      schema: {
        tags: ['allocation'],
        summary:
          "Load a year's profile fractions from the sector's file (text/csv; AL-4); runs of that year use the latest loaded set",
        description:
          'A header, then one row per quarter-hour of the year in time order (Amsterdam time). Separator ; or , (decimal comma allowed with ;). Columns named like a time (Datum, Van, Tot, from, to) are skipped; every other column is a profile category. Each category must sum to 1.',
        consumes: ['text/csv'],
        params: YearParams,
        querystring: ProfileUploadQuery,
        body: csvBody,
        response: { 201: ProfileSetSchema, ...errorResponses(...BODY_ERRORS) },
      },
    },
    async (req, reply) => {
      if (!(req.body instanceof Readable))
        throw validationError('csv_required', 'Send the file as Content-Type: text/csv', 'headers.content-type');
      const text = await readText(req.body, PROFILE_FILE_MAX_BYTES);
      const set = await loadProfileFile(
        db,
        actorFrom(req.principal),
        req.params.year,
        text,
        req.query.source ?? `upload ${new Date().toISOString()}`,
      );
      return reply.status(201).send(toProfileSetDto(set));
    },
  );

  app.get(
    '/allocation/profiles',
    {
      preHandler: masterDataReader,
      schema: {
        tags: ['allocation'],
        summary: 'Loaded profile sets (AL-4)',
        description:
          'Per year, every loaded set with its source and categories; a run uses the latest set of its day’s year and records which (the generated development set only where ALLOCATION_GENERATED_PROFILES allows it).',
        response: { 200: ProfileSetList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async () => ({ items: (await listProfileSets(db)).map(toProfileSetDto) }),
  );
}

/** Requesting runs and reading them (AL-3, AL-6). */
function runRoutes(app: App, { db, config, temporal, visibleRun }: AllocationRoutesContext): void {
  app.post(
    '/allocation/runs',
    {
      preHandler: operator,
      schema: {
        tags: ['allocation'],
        summary:
          'Request an allocation (re-)run of a day: the next version, computed by its workflow; compared with the previous version',
        description:
          '202 with the run (status requested). A repeat with the same Idempotency-Key answers the same run. 400 day_not_ended: the day has not ended in Europe/Amsterdam (AL-1: allocation comes afterwards). 503 temporal_unavailable: the run is recorded; repeat with the same key.',
        headers: RunHeaders,
        body: RunCreate,
        response: { 202: RunCreated, ...errorResponses(...BODY_ERRORS, 404, 503) },
      },
    },
    async (req, reply) => {
      const gop = await requirePartyByGln(db, req.body.gridOperatorGln, 'body.gridOperatorGln');
      if (!mayRunAllocationOf(req.principal, gop.id))
        throw forbidden('grid_operator_out_of_scope', 'Case handlers run allocations of their own grid operator only');
      if (!gop.roles.includes('grid_operator'))
        throw validationError('party_role_mismatch', `Party ${gop.gln} is no grid operator`, 'body.gridOperatorGln');
      const key = req.headers['idempotency-key'];
      const { run, created } = await requestAllocationRun(
        db,
        temporal,
        config.temporal.taskQueue,
        actorFrom(req.principal),
        {
          gridOperatorId: gop.id,
          day: req.body.day,
          reason: req.body.reason,
          requestKey: key ? `request:${req.principal.keyId}:${key}` : `request:${crypto.randomUUID()}`,
        },
      );
      return reply.status(202).send({ run: toRunDto(run, true), created });
    },
  );

  app.get(
    '/allocation/runs',
    {
      preHandler: reader,
      schema: {
        tags: ['allocation'],
        summary: 'Allocation runs, newest first (case handlers and compliance: their grid operator)',
        description:
          'Filter by day and grid operator (GLN; 404 when unknown). BRPs and suppliers see the runs without the grid operator’s summary and difference (they contain counts per method); their data is in the aggregates.',
        querystring: RunQuery,
        response: { 200: RunList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const p = req.principal;
      const { limit, offset } = req.query;
      const listed = allocationRunsListed(p);
      if (listed.kind === 'none') return { items: [], total: 0, limit, offset };
      const gridOperatorId =
        listed.kind === 'grid_operator'
          ? listed.gridOperatorId
          : req.query.gridOperatorGln
            ? (await requirePartyByGln(db, req.query.gridOperatorGln, 'query.gridOperatorGln')).id
            : undefined;
      const { items, total } = await listRuns(db, { gridOperatorId, day: req.query.day, limit, offset });
      return { items: items.map((r) => toRunDto(r, seesWholeRun(p, r))), total, limit, offset };
    },
  );

  app.get(
    '/allocation/runs/:id',
    {
      preHandler: reader,
      schema: {
        tags: ['allocation'],
        summary: 'A run: status, version, and (grid operator) its summary and difference against the previous version',
        description:
          'Status requested → running → completed or failed (with its reason). Every re-run of a day is the next version; previousRunId names the version it was compared with. Case handlers of another grid operator get 404.',
        params: RunParams,
        response: { 200: RunSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const { run } = await visibleRun(req.principal, req.params.id);
      return toRunDto(run, seesWholeRun(req.principal, run));
    },
  );
}

/** What leaves a run (AL-3): its aggregates and their differences against the previous version. */
function aggregateRoutes(app: App, { db, sql, config, visibleRun }: AllocationRoutesContext): void {
  app.get(
    '/allocation/runs/:id/aggregates',
    {
      preHandler: reader,
      schema: {
        tags: ['allocation'],
        summary:
          'The run’s sums per quarter-hour × BRP × supplier × grid area × direction (AL-3): a BRP or supplier gets its own rows only; JSON pages or CSV (format=csv or Accept: text/csv)',
        description:
          'Only aggregates leave the grid operator (AL-3): a BRP key sees the rows of its own BRP, a supplier key those of its own supplier; admin, compliance and the run’s grid operator see all, with connection counts. ' +
          'belowMinimumConnections flags a cell of fewer than ALLOCATION_MIN_CONNECTIONS connections; estimated marks profile estimates for missing quarter-hour data. ' +
          'CSV columns: quarter_hour_start, quarter_hour_end, balance_responsible_party_gln, supplier_gln, grid_area, direction, volume_kwh, volume_wh, estimated, below_minimum_connections (every row of the scope, streamed). 409 while the run has not completed.',
        params: RunParams,
        querystring: AggregatesQuery,
        produces: ['application/json', 'text/csv'],
        response: { 200: AggregateList, ...errorResponses(...READ_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const { run, scope } = await visibleRun(req.principal, req.params.id);
      if (run.status !== 'completed')
        throw invalidState(
          'allocation_run_not_completed',
          `Run ${run.id} is ${run.status}: its aggregates exist once it has completed`,
        );
      const csv =
        req.query.format === 'csv' ||
        (req.query.format === undefined && (req.headers.accept ?? '').includes('text/csv'));
      if (csv) {
        // A stream bypasses the JSON response schema (the CSV columns are documented in docs/api.md, "Allocation").
        const body = Readable.from(aggregateCsv(sql, run, scope, config.allocation.minimumConnections));
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="allocation-${run.day}-v${run.version}.csv"`)
          .send(body as unknown as Static<typeof AggregateList>);
      }
      const page = await aggregatePage(db, run, scope, config.allocation.minimumConnections, req.query);
      return { ...page, limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.get(
    '/allocation/runs/:id/differences',
    {
      preHandler: reader,
      schema: {
        tags: ['allocation'],
        summary:
          'Per aggregate, what changed against the previous version (a re-run after late readings, a case decided afterwards); scoped as the aggregates',
        description:
          'Every aggregate whose volume changed, appeared (previousWh null) or disappeared (currentWh null) against the version named in previousRunId; version 1 has none. A BRP or supplier sees the differences of its own cells only.',
        params: RunParams,
        querystring: Paging,
        response: { 200: DifferenceList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const { run, scope } = await visibleRun(req.principal, req.params.id);
      return { ...(await differencePage(db, run, scope, req.query)), limit: req.query.limit, offset: req.query.offset };
    },
  );
}

/** One connection’s result: the grid operator’s only, every read registered (DC-8). */
function connectionResultRoutes(app: App, { db, visibleRun }: AllocationRoutesContext): void {
  app.get(
    '/allocation/runs/:id/connections/:ean',
    {
      preHandler: operator,
      schema: {
        tags: ['allocation'],
        summary:
          'One connection’s result per quarter-hour (grid operator only; the read and its purpose are registered, DC-8)',
        description:
          'Individual results never leave the grid operator (AL-3): admin and the run’s own case handlers only. Per quarter-hour the cell, and per direction the method in force (measured, profile, zero, unallocated), its reason, whether it is estimated, and the volume. ' +
          'Each read is an access-register entry (kind internal, reason internal_access, DC-8) with the reader and the stated purpose, made before the data is returned and visible to compliance and the grid user as a read of the readings is. 404 when the run allocated no such connection.',
        params: RunConnectionParams,
        querystring: ConnectionResultQuery,
        response: { 200: ConnectionResultSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const { run } = await visibleRun(req.principal, req.params.id);
      const { accessId, quarterHours } = await readConnectionResult(
        db,
        actorFrom(req.principal),
        run,
        req.params.ean,
        req.query.purpose,
        req.id,
      );
      return {
        runId: run.id,
        connectionEan: req.params.ean,
        day: run.day,
        version: run.version,
        accessId,
        quarterHours,
      };
    },
  );
}

const allocationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config, temporal } = app.deps;
  // CSV bodies are streamed to the handler (a day's readings file is gigabytes), so Fastify's bodyLimit does not
  // apply to them (the profile route counts its own); a JSON body sent to a file route is held to the usual limit.
  // The role check runs before any of it (api/plugins/auth.ts), and the input check leaves the stream alone
  // (api/plugins/input.ts): each file's parser checks it line by line.
  if (app.hasContentTypeParser('text/plain')) app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));
  const ctx: AllocationRoutesContext = {
    db,
    sql: driverOf(db),
    config,
    temporal,
    async visibleRun(p, id) {
      let scope: AllocationScope | null = null;
      const run = await requireRun(db, id, (r) => (scope = allocationRunScope(p, r)) !== null);
      return { run, scope: scope! };
    },
  };
  for (const routes of [readingRoutes, profileRoutes, runRoutes, aggregateRoutes, connectionResultRoutes])
    routes(app, ctx);
};

export default allocationRoutes;
