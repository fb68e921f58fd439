/**
 * GT-11 breach assessments. The grid operator's privacy officer (role privacy-officer, own grid operator)
 * decides; case handlers of that operator see them and ask for one on a case; compliance and admin see
 * all. Another operator's assessment is absent (404), as everywhere.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { requireRole } from '../plugins/auth.js';
import { ACTION_ERRORS, ActionHeaders, caseAction } from '../plugins/case-action.js';
import {
  actorFrom,
  BODY_ERRORS,
  errorResponses,
  iso,
  jsonBodiesOnly,
  ownFilter,
  READ_ERRORS,
  signerOf,
} from '../plugins/core-access.js';
import { DateTime, Page, Paging, Uuid } from '../schemas/common.js';
import { requireCase } from '../../db/repositories/cases.js';
import { listBreachAssessments, requireBreachAssessment } from '../../db/repositories/breach.js';
import type { BreachAssessment } from '../../db/schema/index.js';
import { BREACH_CLOCKS, BREACH_TRIGGERS } from '../../domain/breach.js';
import { caseOwner, visibleTo } from '../../domain/visibility.js';
import { notFound } from '../../lib/errors.js';
import {
  apReport,
  breachAssessmentOfCase,
  breachLetter,
  decideBreach,
  requestBreachAssessment,
} from '../../services/breach/assessments.js';

const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const Period = Type.Object({ dataKind: Type.String(), from: DateTime, to: DateTime, deliveries: Type.Integer() });
export const BreachAssessmentSchema = Type.Object(
  {
    id: Uuid,
    caseId: Uuid,
    gridOperatorId: Uuid,
    partyId: Uuid,
    connectionEan: Type.String(),
    trigger: lit(BREACH_TRIGGERS),
    awareAt: Type.String({
      format: 'date-time',
      description: 'When the operator became aware: the art. 33 clock start',
    }),
    dueAt: Type.String({ format: 'date-time', description: 'awareAt + 72 hours' }),
    clock: lit(BREACH_CLOCKS),
    remindersSent: Type.Integer(),
    prefill: Type.Object(
      {
        deliveries: Type.Integer(),
        firstDeliveredAt: nullable(DateTime),
        lastDeliveredAt: nullable(DateTime),
        dataKinds: Type.Array(Type.String()),
        periods: Type.Array(Period),
      },
      { description: 'From the access register: what this party received for this connection (DC-1)' },
    ),
    decidedAt: nullable(DateTime),
    decidedBy: nullable(Type.String()),
    decidedByName: nullable(Type.String({ description: 'The signature: the deciding key’s recorded holder' })),
    decidedByRole: nullable(Type.String({ description: 'The deciding key’s role' })),
    notifyAp: nullable(Type.Boolean()),
    apReason: nullable(Type.String()),
    informGridUser: nullable(Type.Boolean()),
    gridUserReason: nullable(Type.String()),
    assessment: nullable(Type.String()),
    delayReason: nullable(Type.String()),
  },
  { title: 'BreachAssessment' },
);

const toDto = (a: BreachAssessment): Static<typeof BreachAssessmentSchema> => ({
  id: a.id,
  caseId: a.caseId,
  gridOperatorId: a.gridOperatorId,
  partyId: a.partyId,
  connectionEan: a.connectionEan,
  trigger: a.trigger,
  awareAt: a.awareAt.toISOString(),
  dueAt: a.dueAt.toISOString(),
  clock: a.clock,
  remindersSent: a.remindersSent,
  prefill: a.prefill,
  decidedAt: iso(a.decidedAt),
  decidedBy: a.decidedBy,
  decidedByName: a.decidedByName,
  decidedByRole: a.decidedByRole,
  notifyAp: a.notifyAp,
  apReason: a.apReason,
  informGridUser: a.informGridUser,
  gridUserReason: a.gridUserReason,
  assessment: a.assessment,
  delayReason: a.delayReason,
});

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const BreachDecisionBody = Type.Object(
  {
    notifyAp: Type.Boolean({ description: 'GDPR art. 33: notify the Autoriteit Persoonsgegevens' }),
    apReason: Type.Optional(Text(4000)),
    informGridUser: Type.Boolean({ description: 'GDPR art. 34: inform the grid user (GET …/grid-user-letter)' }),
    gridUserReason: Type.Optional(Text(4000)),
    assessment: Text(20000),
    delayReason: Type.Optional(Text(4000)),
  },
  { additionalProperties: false, title: 'BreachDecision' },
);
const IdParams = Type.Object({ id: Uuid });
const ListQuery = Type.Intersect([Paging, Type.Object({ clock: Type.Optional(lit(BREACH_CLOCKS)) })]);

// long: a route plugin: one short handler per route with its schemas; the length is the list of routes
const breachRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db, config, temporal } = app.deps;
  const deps = { db, temporal, taskQueue: config.temporal.taskQueue, publicUrl: config.publicUrl };
  const readers = requireRole('privacy-officer', 'case-handler', 'compliance', 'admin');

  /** The assessment if the caller may see it (its case's grid operator), else 404. */
  async function visible(principal: Parameters<typeof visibleTo>[0], id: string) {
    const a = await requireBreachAssessment(db, id, 'params.id');
    if (!visibleTo(principal, caseOwner(a)))
      throw notFound('breach_assessment_not_found', `No breach assessment ${id}`, 'params.id');
    return a;
  }
  async function visibleCase(principal: Parameters<typeof visibleTo>[0], id: string) {
    const row = await requireCase(db, id).catch(() => undefined);
    if (!row || !visibleTo(principal, caseOwner(row))) throw notFound('case_not_found', `No case ${id}`, 'params.id');
    return row;
  }

  app.get(
    '/breach-assessments',
    {
      preHandler: readers,
      schema: {
        tags: ['breach'],
        summary:
          'Breach assessments (GT-11), newest first; a privacy officer or case handler sees its own grid operator',
        querystring: ListQuery,
        response: { 200: Page(BreachAssessmentSchema), ...errorResponses(...READ_ERRORS) },
      },
    },
    async (req) => {
      const f = ownFilter(req.principal);
      const { items, total } = await listBreachAssessments(db, {
        ...(f.gridOperatorId ? { gridOperatorId: f.gridOperatorId } : {}),
        ...(req.query.clock ? { clock: req.query.clock } : {}),
        limit: req.query.limit,
        offset: req.query.offset,
      });
      return { items: items.map(toDto), total, limit: req.query.limit, offset: req.query.offset };
    },
  );

  app.get(
    '/breach-assessments/:id',
    {
      preHandler: readers,
      schema: {
        tags: ['breach'],
        summary: 'One breach assessment: prefill, art. 33 clock (running, met, missed) and decision',
        params: IdParams,
        response: { 200: BreachAssessmentSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => toDto(await visible(req.principal, req.params.id)),
  );

  app.get(
    '/cases/:id/breach-assessment',
    {
      preHandler: readers,
      schema: {
        tags: ['breach', 'cases'],
        summary: "The case's breach assessment and its art. 33 clock (404 breach_assessment_not_found: none)",
        params: IdParams,
        response: { 200: BreachAssessmentSchema, ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const row = await visibleCase(req.principal, req.params.id);
      const a = await breachAssessmentOfCase(db, row.id);
      if (!a)
        throw notFound('breach_assessment_not_found', `Case ${row.reference} has no breach assessment`, 'params.id');
      return toDto(a);
    },
  );

  app.post(
    '/cases/:id/breach-assessment',
    {
      preHandler: requireRole('case-handler', 'privacy-officer'),
      schema: {
        tags: ['breach', 'cases'],
        summary:
          'Ask for a breach assessment now (GT-11); the 72 hours run from this request. A case keeps its first one.',
        description: '201 when opened, 200 with the existing one. 503 temporal_unavailable: repeat the request.',
        params: IdParams,
        response: {
          200: BreachAssessmentSchema,
          201: BreachAssessmentSchema,
          ...errorResponses(...READ_ERRORS, 404, 503),
        },
      },
    },
    async (req, reply) => {
      const row = await visibleCase(req.principal, req.params.id);
      const { assessment, created } = await requestBreachAssessment(deps, row.id, actorFrom(req.principal));
      return reply.status(created ? 201 : 200).send(toDto(assessment));
    },
  );

  app.post(
    '/breach-assessments/:id/decision',
    {
      preHandler: requireRole('privacy-officer'),
      schema: {
        tags: ['breach'],
        summary: 'Record the decision: notify the AP or not (reason), inform the grid user or not (reason)',
        description:
          'Once. Met when recorded within the 72 hours; after them delayReason is required (art. 33(1)) and the clock stays missed. ' +
          'Signed with the key holder’s recorded name and role (403 key_holder_required for a key without one). 409 breach_already_decided.',
        params: IdParams,
        headers: ActionHeaders,
        body: BreachDecisionBody,
        response: { 200: BreachAssessmentSchema, ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS) },
      },
    },
    async (req, reply) =>
      caseAction(req, reply, {}, async () => {
        const a = await visible(req.principal, req.params.id);
        // The key's recorded holder signs (403 without one); the entry says with what (issue 19: step-up or key).
        const { name, signedWith } = signerOf(req.principal);
        const decided = await decideBreach(deps, a.id, {
          ...req.body,
          actor: actorFrom(req.principal),
          actorName: name,
          signedWith,
        });
        return toDto(decided);
      }),
  );

  app.get(
    '/breach-assessments/:id/ap-report',
    {
      preHandler: requireRole('privacy-officer', 'compliance', 'admin'),
      schema: {
        tags: ['breach'],
        summary: 'The content of the AP notification (meldformulier datalekken, GDPR art. 33(3)), as an attachment',
        description: 'status draft until decided; then to_be_notified or not_notified (with the reason).',
        params: IdParams,
        response: { 200: Type.Record(Type.String(), Type.Unknown()), ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      const a = await visible(req.principal, req.params.id);
      const report = await apReport(db, a, config.publicUrl);
      return reply
        .header('content-disposition', `attachment; filename="ap-melding-${report.caseReference}.json"`)
        .send(report);
    },
  );

  app.get(
    '/breach-assessments/:id/grid-user-letter',
    {
      preHandler: requireRole('privacy-officer', 'compliance', 'admin'),
      schema: {
        tags: ['breach'],
        summary: 'The letter informing the grid user (GDPR art. 34), in Dutch, as text/plain',
        params: IdParams,
        response: {
          200: { content: { 'text/plain': { schema: Type.String() } } },
          ...errorResponses(...READ_ERRORS, 404),
        },
      },
    },
    async (req, reply) => {
      const a = await visible(req.principal, req.params.id);
      const letter = await breachLetter(db, a, config.publicUrl);
      return reply
        .type('text/plain; charset=utf-8')
        .header('x-letter-subject', encodeURIComponent(letter.subject))
        .send(letter.text);
    },
  );
};

export default breachRoutes;
