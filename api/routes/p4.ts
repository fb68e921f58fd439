/**
 * The P4 gate (hot path) and the access register (DC-1).
 *
 * POST /p4/requests is for p4-client keys only: P4 is the machine channel, and keeping its keys apart
 * from the supplier keys used for mandates and case responses lets either be rotated or revoked
 * without touching the other. Both act for the same party, so the register attributes decisions to
 * the party either way.
 *
 * Allowed and denied are both answers (200) and both are registered before they are sent. Bad input
 * (check digit, period, unknown connection) is not a decision: 4xx, nothing registered.
 *
 * DC-7 periods: [from, to) on quarter-hour boundaries, rounded inward (domain/gate.ts periodAtDecision); the
 * answer states the period decided, which is the one registered and delivered: the points labelled in
 * (from, to], one per quarter-hour, with both registers (offtake and feed-in, AL-1). A period without a whole
 * quarter-hour is 400 (period_no_quarter_hour on body.to; period_in_future on body.from when its first
 * quarter-hour has not ended yet).
 *
 * Every delivery is a decision (DC-1, DC-4, GT-2): GET /p4/requests/{id}/data decides the request again,
 * through the same batched statement, under the rules in force at that moment, and registers it as a
 * delivery of that request. An allowed decision is no standing subscription: a block, revocation,
 * customer switch, expiry or loss of admission denies every fetch whose statement starts after it
 * committed, on every API instance (nothing is cached).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { fairShareHook, type FairShare } from '../plugins/fair-share.js';
import {
  BODY_ERRORS,
  errorResponses,
  jsonBodiesOnly,
  ownFilter,
  partyOf,
  READ_ERRORS,
} from '../plugins/core-access.js';
import { IdParams } from '../schemas/connections.js';
import { GATE_REASONS, periodAtDecision, quarterHourGap } from '../../domain/gate.js';
import {
  P4Data,
  P4Decision,
  P4Request,
  RegisterEntrySchema,
  RegisterList,
  RegisterQuery,
  toDecisionDto,
  toRegisterDto,
} from '../schemas/p4.js';
import { P4Gate, type P4GateOptions } from '../p4-gate.js';
import { getAccessRegisterEntry, listAccessRegister } from '../../db/repositories/access-register.js';
import { getConnection } from '../../db/repositories/connections.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { readingsForKind } from '../../db/repositories/readings.js';
import type { DataKind } from '../../db/schema/index.js';
import { DomainError, invalidState, notFound, validationError } from '../../lib/errors.js';
import { isValidEan18 } from '../../lib/gs1.js';
import { msFromIso } from '../../lib/iso-time.js';
import { connectionOwner, visibleTo } from '../../domain/visibility.js';
import { toDataPoints } from './readings.js';
import { sendAccessRegisterCsv } from './access-register-csv.js';
import { wantsCsv } from '../plugins/csv.js';
import { Type } from '@sinclair/typebox';

export interface P4RouteOptions {
  gate?: Omit<P4GateOptions, 'now'>;
  /** Each party's share of the gate per window, per API instance (config.p4FairShare; max 0: none). */
  fairShare?: FairShare;
}

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const p4Routes: FastifyPluginAsyncTypebox<P4RouteOptions> = async (app, opts) => {
  jsonBodiesOnly(app);
  const { db, sql } = app.deps;
  const gate = new P4Gate(sql, opts.gate ?? {});
  // Issue 20: each party's fair share of the gate (api/plugins/fair-share.ts): decisions and deliveries count
  // together; the reads beside them (one decision, the register) are outside it.
  const share = opts.fairShare && opts.fairShare.max > 0 ? fairShareHook(opts.fairShare) : undefined;
  const p4Client = requireRole('p4-client');
  const shared = share ? [p4Client, share] : [p4Client];
  // Answer every queued request before the pool closes.
  app.addHook('onClose', async () => gate.close());

  app.post(
    '/p4/requests',
    {
      preHandler: shared,
      schema: {
        tags: ['p4'],
        summary:
          'Ask for data kind X of connection E over [from, to): allowed or denied, with reason code and rule; always registered (DC-1)',
        description:
          'DC-7: the period is taken on quarter-hour boundaries, rounded inward (a quarter-hour partly outside [from, to) is not in it), ' +
          'and cut at the decision instant; the answer states the period decided (from, to, periodCut). ' +
          'A period without a whole quarter-hour is 400 period_no_quarter_hour (body.to), or period_in_future (body.from) while its first quarter-hour has not ended.',
        body: P4Request,
        response: { 200: P4Decision, ...errorResponses(...BODY_ERRORS, 404, 429, 503) },
      },
    },
    async (req) => {
      const b = req.body;
      if (!isValidEan18(b.connectionEan))
        throw validationError(
          'invalid_ean',
          `${b.connectionEan} is not an 18-digit EAN with a valid GS1 check digit`,
          'body.connectionEan',
        );
      // lib/iso-time.ts: Date's reading of the instants at a tenth of its parser's cost (issue 21).
      const from = new Date(msFromIso(b.from));
      const to = new Date(msFromIso(b.to));
      if (!(to > from)) throw validationError('period_invalid', 'to must be later than from', 'body.to');
      // No future periods: nothing is left to decide (a later end is cut at the decision instant).
      if (from.getTime() >= Date.now())
        throw validationError(
          'period_in_future',
          'The period starts in the future: that data does not exist yet',
          'body.from',
        );
      // DC-7: whole quarter-hours only; none left is no decision. (The gate decides a moment later: its
      // period can only be longer, never empty.)
      const gap = quarterHourGap(from, to, Date.now());
      if (gap) throw validationError(gap.code, gap.message, `body.${gap.field}`);
      const outcome = await gate.request({
        partyId: partyOf(req.principal),
        connectionEan: b.connectionEan,
        dataKind: b.dataKind,
        from,
        to,
        requestId: req.id,
      });
      if (outcome.kind === 'connection_not_found')
        throw notFound('connection_not_found', `No connection ${b.connectionEan}`, 'body.connectionEan');
      return toDecisionDto(outcome.decision);
    },
  );

  async function ownEntry(id: string, partyId: string) {
    const e = await getAccessRegisterEntry(db, id);
    if (!e || e.partyId !== partyId) throw notFound('request_not_found', `No P4 request ${id}`, 'params.id');
    return e;
  }

  app.get(
    '/p4/requests/:id',
    {
      preHandler: p4Client,
      schema: {
        tags: ['p4'],
        summary: 'One of the party’s own decisions',
        params: IdParams,
        response: { 200: RegisterEntrySchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => toRegisterDto(await ownEntry(req.params.id, partyOf(req.principal))),
  );

  app.get(
    '/p4/requests/:id/data',
    {
      preHandler: shared,
      schema: {
        tags: ['p4'],
        summary:
          'The data of an allowed request (the decision id is the handle), decided again and registered as a delivery (DC-1, DC-4)',
        description:
          'Each fetch is a new decision under the rules in force now (409 delivery_denied with its reasonCode and registered deliveryId when they no longer allow it). ' +
          'DC-7: the points of [from, to) are those labelled in (from, to] — a register value is labelled with the end of the quarter-hour it closes (AL-1), so the one at `from` (the previous quarter-hour’s) is never delivered and the one at `to` is. ' +
          'interval_data: one point per quarter-hour with its volumes; daily_registers: registers at midnight; monthly_registers: at midnight on the 1st (Europe/Amsterdam). ' +
          'Offtake and feed-in registers both, wherever they were read.',
        params: IdParams,
        response: { 200: P4Data, ...errorResponses(...READ_ERRORS, 404, 409, 429) },
      },
    },
    async (req) => {
      const partyId = partyOf(req.principal);
      const e = await ownEntry(req.params.id, partyId);
      if (e.kind !== 'request') throw notFound('request_not_found', `No P4 request ${e.id}`, 'params.id');
      if (!e.allowed)
        throw invalidState(
          'request_denied',
          `This request was denied (${e.reasonCode}, ${e.rule}): there is no data to fetch`,
        );
      // Decided again now, and registered as a delivery of this request, before any data leaves. The
      // readings are read meanwhile (the registered period lies before the request's decision, so the
      // delivery's is the same) and dropped when the delivery is denied. A request registered before
      // periods were taken on quarter-hours is delivered over its whole quarter-hours (rounded inward).
      const dataKind = e.dataKind as DataKind;
      const period = periodAtDecision(e.periodFrom, e.periodTo, e.decidedAt.getTime());
      const [outcome, points] = await Promise.all([
        gate.request({
          partyId,
          connectionEan: e.connectionEan,
          dataKind,
          from: period.from,
          to: period.to,
          requestId: req.id,
          deliveryOf: e.id,
        }),
        readingsForKind(db, e.connectionEan, dataKind, period.from, period.to),
      ]);
      if (outcome.kind === 'connection_not_found')
        throw notFound('connection_not_found', `No connection ${e.connectionEan}`);
      const d = outcome.decision;
      if (!d.allowed) {
        throw new DomainError(
          'state',
          'delivery_denied',
          `The delivery was denied now (${d.reasonCode}, ${d.rule}): ${GATE_REASONS[d.reasonCode].text}`,
          undefined,
          {
            deliveryId: d.id,
            reasonCode: d.reasonCode,
            rule: d.rule,
            mandateId: d.mandateId,
            blockId: d.blockId,
          },
        );
      }
      if (d.from.getTime() !== period.from.getTime() || d.to.getTime() !== period.to.getTime())
        throw new Error(`delivery ${d.id}: period changed after its request's decision`);
      return {
        id: e.id,
        deliveryId: d.id,
        decidedAt: d.decidedAt.toISOString(),
        reasonCode: d.reasonCode,
        rule: d.rule,
        mandateId: d.mandateId,
        connectionEan: e.connectionEan,
        dataKind,
        from: d.from.toISOString(),
        to: d.to.toISOString(),
        // Both registers (AL-1): a data kind covers the meter's offtake and feed-in alike (DC-2 scope is granularity and purpose).
        readings: toDataPoints(points),
      };
    },
  );

  app.get(
    '/access-register',
    {
      preHandler: requireRole('admin', 'compliance', 'case-handler'),
      schema: {
        tags: ['p4'],
        summary:
          'The access register (DC-1): every decision; case handlers and compliance see their grid operator’s connections',
        description:
          'format=csv or Accept: text/csv (issue 19): every matching entry (not a page; limit and offset do not apply), newest first, streamed as a CSV download with the party’s GLN and name (docs/api.md "CSV downloads").',
        querystring: Type.Intersect([
          RegisterQuery,
          Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])) }),
        ]),
        response: { 200: RegisterList, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const p = req.principal;
      if (q.connectionEan) {
        const c = await getConnection(db, q.connectionEan);
        if (!c || !visibleTo(p, connectionOwner(c)))
          throw notFound('connection_not_found', `No connection ${q.connectionEan}`, 'query.connectionEan');
      }
      const partyId = q.partyGln ? (await requirePartyByGln(db, q.partyGln, 'query.partyGln')).id : undefined;
      if (wantsCsv(req, q.format))
        return sendAccessRegisterCsv(
          reply,
          db,
          {
            connectionEan: q.connectionEan,
            partyId,
            gridOperatorId: ownFilter(p).gridOperatorId,
            since: q.since ? new Date(q.since) : undefined,
            until: q.until ? new Date(q.until) : undefined,
          },
          new Date(),
        );
      const { items, total } = await listAccessRegister(db, {
        connectionEan: q.connectionEan,
        partyId,
        // domain/visibility.ts: case handlers and compliance officers their own grid operator's connections.
        gridOperatorId: ownFilter(p).gridOperatorId,
        since: q.since ? new Date(q.since) : undefined,
        until: q.until ? new Date(q.until) : undefined,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: items.map((e) => toRegisterDto(e, true)), total, limit: q.limit, offset: q.offset };
    },
  );
};

export default p4Routes;
