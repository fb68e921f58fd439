/**
 * An admin's correction of a closed case's block (issue 18, item 3; domain/block-corrections.ts): its own
 * audited action with a reason (case.block_corrected on the case's timeline and history), stamped now. A
 * running case's block is its workflow's: 409 case_running, its actions lift it (lift-block, withdraw, judgements).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../../plugins/auth.js';
import { ACTION_ERRORS, ActionHeaders, caseAction } from '../../plugins/case-action.js';
import { actorFrom, BODY_ERRORS, errorResponses } from '../../plugins/core-access.js';
import { BlockCorrectionCreate, BlockCorrectionSchema, toBlockCorrectionDto } from '../../schemas/blocks.js';
import { CaseParams } from '../../schemas/cases.js';
import { correctCaseBlock } from '../../../services/cases/block-corrections.js';
import type { CaseRoutesContext } from './context.js';

const caseBlockCorrectionRoutes: FastifyPluginAsyncTypebox<{ cases: CaseRoutesContext }> = async (app, { cases }) => {
  const { db } = cases;

  app.post(
    '/cases/:id/block-corrections',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['cases'],
        summary: 'Correct the block of a closed case (admin): lift it, or release its blocked period (GT-7, GT-8)',
        description:
          'For what the case process can no longer do: a block still in force on a closed case (e.g. "mandate not demonstrated" set aside by a court, the ACM or the disputes committee), or a blocked period to be made available again. ' +
          'Stamped with the server’s clock (never backdated); the block, the case’s unblockedAt and the audit entry case.block_corrected (actor, kind, reason code, reason, reference) change in one transaction; the P4 gate reads it at once. ' +
          'The party’s timeline shows that its block was corrected and when, not the reason. ' +
          '409 case_running: the workflow owns a running case’s block — use its actions (lift-block, withdraw, judgements). ' +
          '409 block_already_lifted, period_already_released: the correction was made already (nothing changes). ' +
          'With an Idempotency-Key a repeat (after a 503 or a lost answer) replays the first outcome instead.',
        params: CaseParams,
        headers: ActionHeaders,
        body: BlockCorrectionCreate,
        response: {
          201: { ...BlockCorrectionSchema, description: 'The correction made and the block as it now stands' },
          ...errorResponses(...BODY_ERRORS, 404, ...ACTION_ERRORS),
        },
      },
    },
    async (req, reply) =>
      caseAction(
        req,
        reply,
        { status: 201, headers: { location: `/cases/${req.params.id}` }, present: toBlockCorrectionDto },
        async () => {
          const row = await cases.visibleCase(req.principal, req.params.id);
          const { kind, reasonCode, reason, reference } = req.body;
          return correctCaseBlock(db, {
            ...actorFrom(req.principal),
            caseId: row.id,
            kind,
            reasonCode,
            reason,
            reference: reference ?? null,
          });
        },
      ),
  );
};

export default caseBlockCorrectionRoutes;
