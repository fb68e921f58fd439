/**
 * GET /work-items: what waits for a person and by when (domain/work-items.ts). Rule ids refer to DOMAIN.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DEADLINE_NAMES } from '../../domain/case.js';
import { WORK_ITEM_KINDS, type WorkItem } from '../../domain/work-items.js';
import { DateTime, Paging, Uuid } from './common.js';

const lit = <T extends string>(values: readonly T[], description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  );

export const WorkItemQuery = Type.Intersect([
  Paging,
  Type.Object({
    kind: Type.Optional(
      Type.Array(lit(WORK_ITEM_KINDS), { description: 'Only these kinds (repeat the parameter); default all' }),
    ),
    horizonHours: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 720,
        description: 'A case deadline this many hours ahead (or passed) is listed; default WORK_ITEMS_HORIZON_HOURS',
      }),
    ),
  }),
]);

export const WorkItemSchema = Type.Object(
  {
    kind: lit(
      WORK_ITEM_KINDS,
      'judge_evidence (GT-3, GT-8), contact_failing (GT-1), contact_group_empty (GT-10), deadline_due (GT-1, GT-3, GT-7, GT-8), review_vote and review_decision (GT-5), breach_decision (GT-11), release_hold (GT-8)',
    ),
    subject: Type.Object({
      type: lit(['case', 'review', 'breach_assessment'] as const),
      id: Uuid,
      reference: Type.Union([Type.String(), Type.Null()], { description: 'The case reference (GT-2026-000042)' }),
    }),
    caseId: Type.Union([Uuid, Type.Null()]),
    expiresAt: Type.Union([DateTime, Type.Null()], {
      description: 'The instant that expires first for this item; null when nothing expires (it waits for a decision)',
    }),
    overdue: Type.Boolean({ description: 'expiresAt has passed' }),
    deadline: Type.Union([lit(DEADLINE_NAMES), Type.Null()], { description: 'Which deadline, for deadline_due' }),
    rule: Type.String(),
    why: Type.String({ description: 'Why it waits for a person (English)' }),
  },
  { title: 'WorkItem' },
);

export const WorkItemList = Type.Object(
  {
    items: Type.Array(WorkItemSchema, {
      description: 'Soonest expiresAt first (overdue first), those without one last',
    }),
    total: Type.Integer({ description: 'Every item of the queue (of the kinds asked for), not only this page' }),
    limit: Type.Integer({ description: 'Items per page (1–500)' }),
    offset: Type.Integer({ description: 'Items of the ordered queue skipped before this page' }),
    horizonHours: Type.Integer(),
    generatedAt: DateTime,
  },
  { title: 'WorkItemList' },
);

export const toWorkItemDto = (i: WorkItem, now: Date): Static<typeof WorkItemSchema> => ({
  kind: i.kind,
  subject: i.subject,
  caseId: i.caseId,
  expiresAt: i.expiresAt?.toISOString() ?? null,
  overdue: i.expiresAt !== null && i.expiresAt.getTime() <= now.getTime(),
  deadline: i.deadline,
  rule: i.rule,
  why: i.why,
});
