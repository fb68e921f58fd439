/**
 * The grid user's own view (DC-5) and controls (DC-3, DC-4): their connections, who has or had access
 * and when data was requested, stopping a party's access, confirming or revoking mandates, granting
 * one in the portal. Connections and mandates of others answer 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { csvFilename, sendCsv, wantsCsv, type CsvRow } from '../plugins/csv.js';
import type { Principal } from '../plugins/auth.js';
import { requireRole } from '../plugins/auth.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  gridUserOf,
  jsonBodiesOnly,
  READ_ERRORS,
} from '../plugins/core-access.js';
import { errorFieldsForRoutes } from '../plugins/errors.js';
import { Gln13, Paging } from '../schemas/common.js';
import { ConnectionList, EanParams, IdParams, toConnectionDto } from '../schemas/connections.js';
import { MandateList, MandateSchema, PortalMandateCreate, toMandateDto } from '../schemas/mandates.js';
import { ReadingsList, ReadingsQuery } from '../schemas/readings.js';
import { AccessOverviewSchema, AccessQuery, StopResult, toOverviewDto } from '../schemas/transparency.js';
import { getGridUser, listConnections, requireConnection } from '../../db/repositories/connections.js';
import {
  confirmMandate,
  createMandate,
  listMandates,
  revokeMandate,
  stopPartyAccess,
} from '../../db/repositories/mandates.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { readingsForKind } from '../../db/repositories/readings.js';
import { accessOverview } from '../../db/repositories/transparency.js';
import { MANDATE_STATUSES } from '../../db/schema/index.js';
import { notFound, validationError } from '../../lib/errors.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';
import { ownPeriod, quarterHourGap } from '../../domain/gate.js';
import { parsePeriod, toDataPoints } from './readings.js';

/** GET /me/connections/{ean}/access, also as CSV (DC-5). */
const AccessCsvQuery = Type.Object(
  {
    ...AccessQuery.properties,
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv')], {
        description: 'csv: the access register entries as a CSV download; also Accept: text/csv',
      }),
    ),
  },
  { additionalProperties: false },
);

const ACCESS_CSV_COLUMNS = [
  'decidedAt',
  'kind',
  'partyGln',
  'partyName',
  'dataKind',
  'periodFrom',
  'periodTo',
  'allowed',
  'reasonCode',
  'rule',
  'purpose',
  'requestId',
  'mandateId',
] as const;

/** The overview's register entries as CSV rows, each with the name of the party it concerns. */
function accessCsvRows(o: Static<typeof AccessOverviewSchema>): CsvRow[] {
  const party = new Map(o.parties.map((p) => [p.party.id, p.party]));
  return o.recentRequests.map((e) => ({
    decidedAt: e.decidedAt,
    kind: e.kind,
    partyGln: party.get(e.partyId)?.gln ?? null,
    partyName: party.get(e.partyId)?.name ?? null,
    dataKind: e.dataKind,
    periodFrom: e.periodFrom,
    periodTo: e.periodTo,
    allowed: e.allowed,
    reasonCode: e.reasonCode,
    rule: e.rule,
    purpose: e.purpose,
    requestId: e.requestId,
    mandateId: e.mandateId,
  }));
}

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const transparencyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  // The repository names the mandate's party by id (given here by GLN) and the mandate as mandateId.
  errorFieldsForRoutes(app, { partyId: 'body.partyGln', mandateId: 'params.id' });
  const { db } = app.deps;
  const gridUser = requireRole('grid-user');
  const own = (req: { principal: Principal }, ean: string) =>
    requireConnection(db, ean, 'params.ean', (c) => visibleTo(req.principal, connectionOwner(c)));

  app.get(
    '/me/connections',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: "The grid user's own connections",
        querystring: Paging,
        response: { 200: ConnectionList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { items, total } = await listConnections(db, {
        gridUserId: gridUserOf(req.principal),
        limit: req.query.limit,
        offset: req.query.offset,
      });
      return { items: items.map(toConnectionDto), total, limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.get(
    '/me/connections/:ean/access',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: 'Which parties have or had access to this connection’s data, and when data was requested (DC-5)',
        description:
          'format=csv or Accept: text/csv: the `recent` latest entries of the access register as a CSV download, one row per request, delivery or internal read, with the party’s GLN and name (docs/api.md "CSV downloads").',
        params: EanParams,
        querystring: AccessCsvQuery,
        response: { 200: AccessOverviewSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      const conn = await own(req, req.params.ean);
      const now = new Date();
      const overview = toOverviewDto(
        await accessOverview(
          db,
          conn,
          gridUserOf(req.principal),
          now,
          req.query.recent,
          app.deps.config.retention.accessRegisterDays,
        ),
        now,
      );
      if (!wantsCsv(req, req.query.format)) return overview;
      const name = csvFilename(`access-register-${conn.ean}-${now.toISOString().slice(0, 10)}`);
      return sendCsv(reply, name, ACCESS_CSV_COLUMNS, async (write) => {
        for (const row of accessCsvRows(overview)) await write(row);
      });
    },
  );

  app.post(
    '/me/connections/:ean/access/:partyGln/stop',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: "Stop a party's access: every open mandate of it on this connection ends at once (DC-4); idempotent",
        description:
          'The supplier of record keeps reading billing registers on the supply contract (GT-2): that basis is not a mandate.',
        params: Type.Object({ ean: EanParams.properties.ean, partyGln: Gln13 }),
        response: { 200: StopResult, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const conn = await own(req, req.params.ean);
      const party = await requirePartyByGln(db, req.params.partyGln, 'params.partyGln');
      const ended = await stopPartyAccess(db, actorFrom(req.principal), conn.ean, party.id);
      const now = new Date();
      return { connectionEan: conn.ean, partyId: party.id, mandatesEnded: ended.map((m) => toMandateDto(m, now)) };
    },
  );

  app.post(
    '/me/connections/:ean/mandates',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: 'Grant a party a mandate in the portal (DC-2): given by the grid user, so active at once',
        params: EanParams,
        body: PortalMandateCreate,
        response: { 201: MandateSchema, ...errorResponses(...BODY_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => {
      const conn = await own(req, req.params.ean);
      const user = await getGridUser(db, gridUserOf(req.principal));
      if (!user) throw notFound('grid_user_not_found', 'The grid user of this key no longer exists');
      const party = await requirePartyByGln(db, req.body.partyGln, 'body.partyGln');
      const b = req.body;
      const m = await createMandate(db, actorFrom(req.principal), {
        partyId: party.id,
        connectionEan: conn.ean,
        dataKinds: b.dataKinds,
        purpose: b.purpose,
        validFrom: new Date(b.validFrom),
        validTo: new Date(b.validTo),
        historyIncluded: b.historyIncluded,
        grantedVia: 'portal',
        grantedByName: user.name,
        grantedByIsGridUser: true,
        registeredByGridUser: true, // DC-3: the grid user's own key: confirmed by the act itself (GT-8b too)
      });
      return reply.status(201).send(toMandateDto(m));
    },
  );

  app.get(
    '/me/mandates',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: 'Mandates on the grid user’s connections (e.g. status=pending_confirmation to confirm, DC-3)',
        querystring: Type.Intersect([
          Paging,
          Type.Object({ status: Type.Optional(Type.Union(MANDATE_STATUSES.map((s) => Type.Literal(s)))) }),
        ]),
        response: { 200: MandateList, ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const q = req.query;
      const { items, total } = await listMandates(db, {
        gridUserId: gridUserOf(req.principal),
        status: q.status,
        limit: q.limit,
        offset: q.offset,
      });
      const now = new Date();
      return { items: items.map((m) => toMandateDto(m, now)), total, limit: q.limit, offset: q.offset };
    },
  );

  app.post(
    '/me/mandates/:id/confirm',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: 'Confirm a mandate granted by someone else (DC-3); idempotent',
        params: IdParams,
        response: { 200: MandateSchema, ...errorResponses(...READ_ERRORS, 404, 409) },
      },
    },
    async (req) =>
      toMandateDto(await confirmMandate(db, actorFrom(req.principal), gridUserOf(req.principal), req.params.id)),
  );

  app.post(
    '/me/mandates/:id/revoke',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary: 'Revoke (or decline) a mandate: access ends at once (DC-4); idempotent',
        params: IdParams,
        response: { 200: MandateSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) =>
      toMandateDto(await revokeMandate(db, actorFrom(req.principal), gridUserOf(req.principal), req.params.id)),
  );

  app.get(
    '/me/connections/:ean/readings',
    {
      preHandler: gridUser,
      schema: {
        tags: ['transparency'],
        summary:
          'The grid user’s own quarter-hour readings over [from, to), cut to the time they are the grid user of the connection (DC-7)',
        description:
          'DC-7: the period is taken on quarter-hour boundaries, rounded inward, and cut to the grid user’s own period and to now (from, to, periodCut state the period delivered); ' +
          'it holds one point per quarter-hour, labelled with the quarter-hour’s end (AL-1): those labelled in (from, to]. Offtake and feed-in. ' +
          'No whole quarter-hour left: 400 period_before_grid_user (query.to), period_no_quarter_hour (query.to) or period_in_future (query.from).',
        params: EanParams,
        querystring: ReadingsQuery,
        response: { 200: ReadingsList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const conn = await own(req, req.params.ean);
      const asked = parsePeriod(req.query.from, req.query.to);
      if (asked.to.getTime() - asked.from.getTime() > 366 * 24 * 3600 * 1000)
        throw validationError('period_too_long', 'At most 366 days per request', 'query.to');
      const now = Date.now();
      if (asked.from.getTime() >= now)
        throw validationError(
          'period_in_future',
          'The period starts in the future: that data does not exist yet',
          'query.from',
        );
      // DC-7: whole quarter-hours only, as the gate takes them.
      const gap = quarterHourGap(asked.from, asked.to, now);
      if (gap) throw validationError(gap.code, gap.message, `query.${gap.field}`);
      // DC-7: only the period in which this grid user is the grid user of the connection (the same fact the gate reads).
      const period = ownPeriod(asked.from, asked.to, conn.gridUserSince ?? new Date(0), now);
      if (!period)
        throw validationError(
          'period_before_grid_user',
          'The period ends before your first quarter-hour as the grid user of this connection (DC-7)',
          'query.to',
        );
      const points = await readingsForKind(db, conn.ean, 'interval_data', period.from, period.to);
      return {
        connectionEan: conn.ean,
        from: period.from.toISOString(),
        to: period.to.toISOString(),
        periodCut: period.cut,
        readings: toDataPoints(points),
      };
    },
  );
};

export default transparencyRoutes;
