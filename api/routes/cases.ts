/**
 * Doubt cases over HTTP (GT-1..GT-10), on top of api/services/cases.ts. A case handler sees its grid
 * operator's cases, a supplier the cases about itself, compliance and admin all; another party's case
 * answers 404 (its existence is not theirs to know).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireRole } from '../plugins/auth.js';
import { errorResponses, READ_ERRORS } from '../plugins/core-access.js';
import { IdParams } from '../schemas/connections.js';
import { getCase } from '../../db/repositories/cases.js';
import { notFound } from '../../lib/errors.js';

const caseRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;

  app.get(
    '/cases/:id',
    {
      preHandler: requireRole('case-handler', 'supplier', 'compliance', 'admin'),
      schema: {
        tags: ['cases'],
        summary: 'One doubt case',
        params: IdParams,
        response: { 200: Type.Object({ id: Type.String(), reference: Type.String(), status: Type.String() }), ...errorResponses(...READ_ERRORS, 404) },
      },
    },
    async (req) => {
      const p = req.principal;
      const row = await getCase(db, req.params.id);
      const visible =
        row && (p.role === 'admin' || p.role === 'compliance' || (p.role === 'case-handler' && row.gridOperatorId === p.partyId) || (p.role === 'supplier' && row.partyId === p.partyId));
      if (!row || !visible) throw notFound('case_not_found', `No case ${req.params.id}`, 'params.id');
      return { id: row.id, reference: row.reference, status: row.status };
    },
  );
};

export default caseRoutes;
