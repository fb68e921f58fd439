/**
 * The work queue (GET /work-items): one page of one viewer's queue and its total, the facts of its grid operator
 * (or all, for admin) read in one snapshot, decided by domain/work-items.ts workQueue. Only the facts the kinds
 * asked for need are read; of the cases only those the page can hold (db/repositories/work-items.ts caseWorkPage
 * orders and bounds them in SQL, as caseWorkItems would), so a queue over thousands of open cases reads a page's
 * worth of rows, not all of them.
 */
import type { Db } from '../../db/client.js';
import { breachWorkFacts, caseWorkPage, reviewWorkFacts } from '../../db/repositories/work-items.js';
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

export interface WorkQueuePage {
  /** Items offset … offset + limit of the ordered queue (compareWorkItems). */
  items: WorkItem[];
  /** Every item of the queue (of those kinds). */
  total: number;
}

export async function workQueuePage(
  db: Db,
  viewer: WorkViewer,
  at: { now: Date; horizonHours: number },
  page: { kinds?: readonly WorkItemKind[] | undefined; limit: number; offset: number },
): Promise<WorkQueuePage> {
  const { now, horizonHours } = at;
  const kinds = (WORK_ITEM_KINDS_BY_ROLE[viewer.role] ?? []).filter((k) => !page.kinds || page.kinds.includes(k));
  if (kinds.length === 0) return { items: [], total: 0 };
  const wants = (k: readonly WorkItemKind[]) => k.some((x) => kinds.includes(x));
  const g = viewer.gridOperatorId;
  const first = page.offset + page.limit;
  // One snapshot: a case and its assessment are seen as of the same instant.
  const facts = await db.transaction(
    async (tx) => ({
      cases: wants(CASE_KINDS)
        ? await caseWorkPage(tx, g, { now, horizonHours, kinds, first })
        : { facts: [], total: 0 },
      reviews: wants(['review_vote', 'review_decision']) ? await reviewWorkFacts(tx, g) : [],
      breaches: wants(['breach_decision']) ? await breachWorkFacts(tx, g) : [],
    }),
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  const queue = workQueue(
    { cases: facts.cases.facts, reviews: facts.reviews, breaches: facts.breaches },
    { role: viewer.role, gridOperatorId: g ?? null },
    now,
    horizonHours,
  ).filter((i) => kinds.includes(i.kind));
  // The cases' items are counted in SQL over every case; the reviews' and assessments' here (all were read).
  const others = queue.filter((i) => i.subject.type !== 'case').length;
  return { items: queue.slice(page.offset, first), total: facts.cases.total + others };
}
