/**
 * GT-9: a supplier or service provider reports a customer signal about the mandate to the grid operator
 * of the connection, within 1 working day of receiving it (recorded, not refused when late). The grid
 * operator's doubt contact group is mailed by the supplier-report workflow (GT-10). Case handlers see
 * their grid operator's reports and open a case from one (POST /cases with supplierReportId, or
 * POST /supplier-reports/{id}/cases); a party sees its own; compliance and admin all. Others: 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  jsonBodiesOnly,
  ownFilter,
  partyOf,
  READ_ERRORS,
} from '../plugins/core-access.js';
import {
  ReportParams,
  SupplierReportCreate,
  SupplierReportList,
  SupplierReportQuery,
  SupplierReportSchema,
  toSupplierReportDto,
} from '../schemas/supplier-reports.js';
import { reportSupplierSignal } from '../../services/supplier-reports/intake.js';
import { getSupplierReport } from '../../db/repositories/cases.js';
import { assertEan } from '../../db/repositories/connections.js';
import { partiesByIds, requirePartyByGln } from '../../db/repositories/parties.js';
import { listSupplierReports } from '../../db/repositories/supplier-reports.js';
import type { SupplierReport } from '../../db/schema/index.js';
import { supplierReportOwner, visibleTo } from '../../domain/visibility.js';
import { notFound, validationError } from '../../lib/errors.js';

const supplierReportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db, config, temporal } = app.deps;
  const readers = requireRole('case-handler', 'supplier', 'compliance', 'admin');

  async function dtos(rows: SupplierReport[]) {
    const ps = await partiesByIds(
      db,
      rows.flatMap((r) => [r.partyId, r.gridOperatorId]),
    );
    return rows.map((r) => toSupplierReportDto(r, ps));
  }

  app.post(
    '/supplier-reports',
    {
      preHandler: requireRole('supplier'),
      schema: {
        tags: ['supplier-reports'],
        summary:
          'Report a customer signal about the mandate to the grid operator (GT-9); its doubt contact group is mailed (GT-10)',
        description:
          'reportedWithinOneWorkingDay records whether the report arrived before the end of the first working day after the signal. ' +
          '503 temporal_unavailable: the report is registered but the grid operator’s doubt contact group could not be informed yet; a running worker informs it within 30 s of Temporal answering again (do not report again).',
        body: SupplierReportCreate,
        response: { 201: SupplierReportSchema, ...errorResponses(...BODY_ERRORS, 404, 503) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      assertEan(b.connectionEan, 'body.connectionEan');
      const row = await reportSupplierSignal(
        { db, temporal, taskQueue: config.temporal.taskQueue },
        {
          ...actorFrom(req.principal),
          partyId: partyOf(req.principal),
          connectionEan: b.connectionEan,
          signalReceivedAt: new Date(b.signalReceivedAt),
          customerSatisfaction: b.customerSatisfaction,
          findings: b.findings,
          actions: b.actions,
          at: new Date(),
        },
      );
      const [dto] = await dtos([row]);
      return reply.status(201).header('location', `/supplier-reports/${row.id}`).send(dto!);
    },
  );

  app.get(
    '/supplier-reports',
    {
      preHandler: readers,
      schema: {
        tags: ['supplier-reports'],
        summary: 'Supplier reports, newest first: a case handler its grid operator’s, a party its own',
        querystring: SupplierReportQuery,
        response: { 200: SupplierReportList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      const partyId = q.partyGln ? (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id : undefined;
      const own = ownFilter(req.principal);
      if (own.partyId !== undefined && partyId !== undefined && partyId !== own.partyId)
        throw validationError('party_scope', 'A party lists its own reports only', 'query.partyGln');
      const { items, total } = await listSupplierReports(db, {
        partyId: own.partyId ?? partyId,
        gridOperatorId: own.gridOperatorId,
        connectionEan: q.connectionEan,
        withCase: q.withCase,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: await dtos(items), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/supplier-reports/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['supplier-reports'],
        summary: 'One supplier report',
        params: ReportParams,
        response: { 200: SupplierReportSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const r = await getSupplierReport(db, req.params.id);
      if (!r || !visibleTo(req.principal, supplierReportOwner(r)))
        throw notFound('supplier_report_not_found', `No supplier report ${req.params.id}`, 'params.id');
      const [dto] = await dtos([r]);
      return dto!;
    },
  );
};

export default supplierReportRoutes;
