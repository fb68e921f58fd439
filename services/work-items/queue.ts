/**
 * The work queue (GET /work-items): the facts of one viewer's grid operator (or all, for admin) read in one
 * snapshot, decided by domain/work-items.ts workQueue. Only the facts the viewer's role has kinds for are read.
 */
import type { Db } from '../../db/client.js';
import { breachWorkFacts, caseWorkFacts, reviewWorkFacts } from '../../db/repositories/work-items.js';
import { WORK_ITEM_KINDS_BY_ROLE, workQueue, type WorkItem, type WorkItemKind } from '../../domain/work-items.js';
import type { Role } from '../../domain/visibility.js';

const CASE_KINDS: readonly WorkItemKind[] = [
  'judge_evidence',
  'contact_failing',
  'contact_group_empty',
  'deadline_due',
  'release_hold',
];

export interface WorkViewer {
  role: Role;
  /** The grid operator whose items it sees; undefined: every grid operator's (admin). */
  gridOperatorId: string | undefined;
}

export async function workQueueOf(db: Db, viewer: WorkViewer, now: Date, horizonHours: number): Promise<WorkItem[]> {
  const kinds = WORK_ITEM_KINDS_BY_ROLE[viewer.role] ?? [];
  if (kinds.length === 0) return [];
  const wants = (k: readonly WorkItemKind[]) => k.some((x) => kinds.includes(x));
  const g = viewer.gridOperatorId;
  // One snapshot: a case and its assessment are seen as of the same instant.
  const facts = await db.transaction(
    async (tx) => ({
      cases: wants(CASE_KINDS) ? await caseWorkFacts(tx, g, { now, horizonHours }) : [],
      reviews: wants(['review_vote', 'review_decision']) ? await reviewWorkFacts(tx, g) : [],
      breaches: wants(['breach_decision']) ? await breachWorkFacts(tx, g) : [],
    }),
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  return workQueue(facts, { role: viewer.role, gridOperatorId: g ?? null }, now, horizonHours);
}
