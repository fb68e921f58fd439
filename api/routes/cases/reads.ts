/**
 * Reading cases: the list (a case handler its grid operator's, a party the cases about itself,
 * a compliance officer its grid operator's, admin all) and one case with every deadline, its timeline and responses. The party the
 * case is about does not see the reporter, the description, internal notes or who did what.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole, type Principal } from '../../plugins/auth.js';
import { errorResponses, ownFilter, READ_ERRORS } from '../../plugins/core-access.js';
import {
  CaseDetailSchema,
  CaseList,
  CaseParams,
  CaseQuery,
  toEvidenceRequestDto,
  toResponseDto,
  toLegalHoldDto,
  toTimelineDto,
  type CaseDetailDto,
  type CaseSummaryDto,
} from '../../schemas/cases.js';
import { csvFilename, sendCsv, wantsCsv, type CsvRow } from '../../plugins/csv.js';
import {
  caseAuditTrail,
  CLOSED_STATUSES,
  forEachCasePage,
  listCases,
  listEvidenceRequests,
  listResponses,
} from '../../../db/repositories/cases.js';
import { legalHoldOf } from '../../../db/repositories/evidence.js';
import { requirePartyByGln } from '../../../db/repositories/parties.js';
import type { DoubtCase } from '../../../db/schema/index.js';
import { partySeesCaseAction } from '../../../domain/visibility.js';
import { validationError } from '../../../lib/errors.js';
import { liveSnapshot } from '../../../services/cases/actions.js';
import type { CaseRoutesContext } from './context.js';

/** The case list as CSV: the summary's fields, flat (no reporter: the party sees its own cases too). */
const CASE_CSV_COLUMNS = [
  'reference',
  'status',
  'receivedAt',
  'channel',
  'connectionEan',
  'partyGln',
  'partyName',
  'gridOperatorGln',
  'gridOperatorName',
  'nextDueAt',
  'contactDueAt',
  'contactState',
  'responseDueAt',
  'responseState',
  'unblockDueAt',
  'unblockState',
  'breached',
  'closedAt',
  'isma',
  'signalClass',
  'externalReference',
  'id',
] as const;

function caseCsvRow(c: CaseSummaryDto): CsvRow {
  return {
    reference: c.reference,
    status: c.status,
    receivedAt: c.receivedAt,
    channel: c.channel,
    connectionEan: c.connectionEan,
    partyGln: c.party.gln,
    partyName: c.party.name,
    gridOperatorGln: c.gridOperator.gln,
    gridOperatorName: c.gridOperator.name,
    nextDueAt: c.nextDueAt,
    contactDueAt: c.deadlines.contact.dueAt,
    contactState: c.deadlines.contact.state,
    responseDueAt: c.deadlines.response.dueAt,
    responseState: c.deadlines.response.state,
    unblockDueAt: c.deadlines.unblock.dueAt,
    unblockState: c.deadlines.unblock.state,
    breached: c.breached,
    closedAt: c.closedAt,
    isma: c.isma,
    signalClass: c.signalClass,
    externalReference: c.externalReference,
    id: c.id,
  };
}

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const caseReadRoutes: FastifyPluginAsyncTypebox<{ cases: CaseRoutesContext }> = async (app, { cases }) => {
  const { db, service } = cases;
  const readers = requireRole('case-handler', 'supplier', 'compliance', 'admin');

  /** The running workflow's view, bounded in time: a case view must not hang on a worker outage. */
  async function workflowView(row: DoubtCase) {
    const temporal = service.temporal;
    if (!temporal || CLOSED_STATUSES.includes(row.status)) return null;
    try {
      return (await temporal.withDeadline(Date.now() + 3_000, () => liveSnapshot(service, row.id))) ?? null;
    } catch {
      return null;
    }
  }

  /** The filters asked for, held to what the caller may see (a conflicting one is a 400, not an empty list). */
  async function scopedFilter(
    p: Principal,
    q: { gridOperatorGln?: string; partyGln?: string; reporterReference?: string },
  ) {
    let gridOperatorId = q.gridOperatorGln
      ? (await requirePartyByGln(db, q.gridOperatorGln, 'query.gridOperatorGln')).id
      : undefined;
    let partyId = q.partyGln ? (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id : undefined;
    // The party does not see the reporter (see caseDetail): filtering on them would tell it what is hidden.
    if (p.role === 'supplier' && q.reporterReference !== undefined)
      throw validationError(
        'filter_not_allowed',
        'The party a case is about cannot search by the reporter’s reference',
        'querystring.reporterReference',
      );
    const own = ownFilter(p);
    if (own.gridOperatorId !== undefined) {
      if (gridOperatorId !== undefined && gridOperatorId !== own.gridOperatorId)
        throw validationError(
          'grid_operator_scope',
          'A case handler or compliance officer lists its own grid operator’s cases only',
          'query.gridOperatorGln',
        );
      gridOperatorId = own.gridOperatorId;
    }
    if (own.partyId !== undefined) {
      if (partyId !== undefined && partyId !== own.partyId)
        throw validationError('party_scope', 'A party lists the cases about itself only', 'query.partyGln');
      partyId = own.partyId;
    }
    return { gridOperatorId, partyId };
  }

  /** One case as the caller may see it: the party (supplier role) gets the external view. */
  async function caseDetail(p: Principal, row: DoubtCase): Promise<CaseDetailDto> {
    const full = p.role !== 'supplier';
    const [[summary], responses, requests, trail, workflow] = await Promise.all([
      cases.summaries([row]),
      listResponses(db, row.id),
      listEvidenceRequests(db, row.id),
      caseAuditTrail(db, row.id),
      workflowView(row),
    ]);
    return {
      ...summary!,
      closedBy: full ? row.closedBy : null,
      closeReason: row.closeReason,
      withdrawalReason: row.withdrawalReason,
      acmNotifiedAt: full ? (row.acmNotifiedAt?.toISOString() ?? null) : null,
      profileEffectiveFrom: row.profileEffectiveFrom?.toISOString() ?? null,
      workflow,
      responses: responses.map((r) => toResponseDto(r, full)),
      evidenceRequests: requests.map((r) => toEvidenceRequestDto(r, full)),
      timeline: trail.filter((e) => full || partySeesCaseAction(e.action)).map((e) => toTimelineDto(e, full)),
      ...(full
        ? {
            reporterName: row.reporterName,
            reporterContact: row.reporterContact,
            reporterReference: row.reporterReference,
            description: row.description,
            legalHold: toLegalHoldDto(legalHoldOf(row)),
            contact: {
              method: row.contactMethod,
              attempts: row.contactAttempts,
              // Sent: the errors before it are history (attempts still counts them).
              lastError: row.contactedAt ? null : row.contactLastError,
              lastAttemptAt: row.contactLastAttemptAt?.toISOString() ?? null,
              groupEmptyAt: row.contactGroupEmptyAt?.toISOString() ?? null,
            },
          }
        : {}),
    };
  }

  app.get(
    '/cases',
    {
      preHandler: readers,
      schema: {
        tags: ['cases'],
        summary:
          'Cases, newest signal first or (sort=due) the next deadline first; case handlers see their grid operator’s, parties their own',
        description:
          'Finding a case from a complaint letter: by connectionEan, reference (GT-2026-000042), partyGln, reporterReference ' +
          '(the reporter’s own reference; not for the party the case is about) or externalReference, each matched exactly ' +
          'as recorded, or by q: the beginning of any of reference, EAN, party GLN or name, reporter reference. Filters combine (all must hold) and stay within what the caller may see; an unknown query parameter ' +
          'is a 400 unknown_query_parameter naming it. sort=due: nextDueAt ascending (overdue first, nothing due last), then id; received (default): receivedAt descending, then id. ' +
          'format=csv or Accept: text/csv: every matching case as a CSV download, streamed (docs/api.md "CSV downloads").',
        querystring: CaseQuery,
        response: { 200: CaseList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const now = new Date();
      const filter = {
        ...(await scopedFilter(req.principal, q)),
        status: q.status,
        channel: q.channel,
        breached: q.breached,
        connectionEan: q.connectionEan,
        reference: q.reference,
        reporterReference: q.reporterReference,
        externalReference: q.externalReference,
        dueBefore: q.dueBefore ? new Date(q.dueBefore) : undefined,
        q: q.q,
        // The party does not see the reporter (see caseDetail): its search does not look there.
        searchReporterReference: req.principal.role !== 'supplier',
        sort: q.sort,
        now,
      };
      if (wantsCsv(req, q.format))
        return sendCsv(reply, csvFilename(`cases-${now.toISOString().slice(0, 10)}`), CASE_CSV_COLUMNS, (write) =>
          forEachCasePage(db, filter, 500, async (rows) => {
            for (const c of await cases.summaries(rows, now)) await write(caseCsvRow(c));
          }).then(() => undefined),
        );
      const { items, total } = await listCases(db, { ...filter, limit: q.limit, offset: q.offset });
      return { items: await cases.summaries(items, now), total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/cases/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['cases'],
        summary: 'One case: state, every deadline (met / missed / pending), timeline, responses (metadata only)',
        description:
          'The party the case is about does not see the reporter, the description, internal notes or who did what.',
        params: CaseParams,
        response: { 200: CaseDetailSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => caseDetail(req.principal, await cases.visibleCase(req.principal, req.params.id)),
  );
};

export default caseReadRoutes;
