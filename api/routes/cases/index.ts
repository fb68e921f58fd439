/**
 * Doubt cases over HTTP (GT-1..GT-10), on top of the case services (services/cases/intake.ts,
 * services/cases/actions.ts) and Temporal: intake, reads, actions, and the compliance history.
 *
 * Who sees what is domain/visibility.ts: a case handler its own grid operator's cases, a supplier or
 * service provider the cases about itself, a compliance officer its grid operator's, admin all; another
 * party's case answers 404, never 403 (its existence is not theirs to know). Case handlers act (intake, judgement, lift, withdraw,
 * ACM, notes); the party responds; compliance and admin read the complete history; an admin corrects a closed
 * case's block (block-corrections.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { jsonBodiesOnly } from '../../plugins/core-access.js';
import { errorFieldsForRoutes } from '../../plugins/errors.js';
import caseActionRoutes from './actions.js';
import caseBlockCorrectionRoutes from './block-corrections.js';
import { caseRoutesContext } from './context.js';
import caseEvidenceRoutes from './evidence.js';
import caseHistoryRoutes from './history.js';
import caseIntakeRoutes from './intake.js';
import caseReadRoutes from './reads.js';

const caseRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  // The case services name the case caseId; these routes carry it as the path's id.
  errorFieldsForRoutes(app, { caseId: 'params.id' });
  const cases = caseRoutesContext(app.deps);
  for (const routes of [
    caseIntakeRoutes,
    caseReadRoutes,
    caseActionRoutes,
    caseBlockCorrectionRoutes,
    caseEvidenceRoutes,
    caseHistoryRoutes,
  ]) {
    await app.register(routes, { cases });
  }
};

export default caseRoutes;
