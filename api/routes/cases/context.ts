/**
 * What the case routes share: the case service's dependencies, the visible case (404 for another
 * party's or operator's case, domain/visibility.ts) and the summary view with its deadlines.
 */
import type { AppDeps } from '../../app.js';
import type { Principal } from '../../plugins/auth.js';
import { toCaseSummary } from '../../schemas/cases.js';
import { caseDeadlines, getCase } from '../../../db/repositories/cases.js';
import { partiesByIds } from '../../../db/repositories/parties.js';
import type { Db } from '../../../db/client.js';
import type { DoubtCase } from '../../../db/schema/index.js';
import { caseOwner, visibleTo } from '../../../domain/visibility.js';
import { notFound } from '../../../lib/errors.js';
import type { CaseServiceDeps } from '../../../services/cases/actions.js';

export interface CaseRoutesContext {
  db: Db;
  service: CaseServiceDeps;
  /** The case, if the caller may see it; otherwise 404 case_not_found. */
  visibleCase(p: Principal, id: string): Promise<DoubtCase>;
  /** List and intake view: parties resolved, deadlines as of `now`. */
  summaries(rows: DoubtCase[], now?: Date): Promise<ReturnType<typeof toCaseSummary>[]>;
}

export function caseRoutesContext({ db, config, temporal, mailer }: AppDeps): CaseRoutesContext {
  return {
    db,
    service: {
      db,
      temporal,
      taskQueue: config.temporal.taskQueue,
      evidenceMaxBytes: config.evidenceMaxBytes,
      // GT-6 on a case whose workflow has closed: the service sends the report itself.
      ...(mailer ? { acmReport: { mailer, config } } : {}),
    },
    async visibleCase(p, id) {
      const row = await getCase(db, id);
      if (!row || !visibleTo(p, caseOwner(row))) throw notFound('case_not_found', `No case ${id}`, 'params.id');
      return row;
    },
    async summaries(rows, now = new Date()) {
      const ps = await partiesByIds(
        db,
        rows.flatMap((r) => [r.partyId, r.gridOperatorId]),
      );
      return rows.map((r) => toCaseSummary(r, ps, caseDeadlines(r, now)));
    },
  };
}
