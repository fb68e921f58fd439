/**
 * GET /audit/verify (compliance): recompute the audit log's hash chain and name its first broken link.
 * The chain itself is kept by the database (custom migration audit_chain); see db/repositories/audit.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireRole } from '../plugins/auth.js';
import { errorResponses, READ_ERRORS } from '../plugins/core-access.js';
import { DateTime } from '../schemas/common.js';
import { verifyAuditChain } from '../../db/repositories/audit.js';

const AuditVerification = Type.Object(
  {
    intact: Type.Boolean({ description: 'Every entry links to its predecessor and hashes to its stored hash' }),
    entries: Type.Integer({ description: 'Entries checked (the whole log)' }),
    detailsErased: Type.Integer({
      description:
        'Of those, entries whose personal details the retention purge erased (DC-9); they verify by their digest',
    }),
    head: Type.Union([
      Type.Object(
        { chainPosition: Type.Integer(), hash: Type.String(), at: DateTime },
        { description: 'The last entry: keep its hash outside this system to anchor the chain' },
      ),
      Type.Null(),
    ]),
    firstBroken: Type.Union([
      Type.Object({
        chainPosition: Type.Integer(),
        auditId: Type.Integer(),
        reason: Type.Union(
          [
            Type.Literal('hash_mismatch'),
            Type.Literal('prev_hash_mismatch'),
            Type.Literal('position_gap'),
            Type.Literal('erasure_unrecorded'),
          ],
          {
            description:
              'hash_mismatch: the entry was altered; prev_hash_mismatch: it was re-linked; position_gap: entries before it were taken out; ' +
              'erasure_unrecorded: its details were erased without a recorded retention purge',
          },
        ),
      }),
      Type.Null(),
    ]),
    checkedAt: DateTime,
  },
  { title: 'AuditVerification' },
);

const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  app.get(
    '/audit/verify',
    {
      preHandler: requireRole('compliance', 'admin'),
      schema: {
        tags: ['audit'],
        summary: 'Recompute the audit hash chain and name its first broken link (compliance)',
        description:
          'One global chain: each entry carries chain_position, prev_hash and hash = SHA-256 over prev_hash, the entry’s ' +
          'non-personal columns and the digest of its details (audit_entry_hash(), audit_details_digest() in PostgreSQL). ' +
          'The database refuses UPDATE, DELETE and TRUNCATE on the log, except the retention purge erasing the details (DC-9), ' +
          'which leaves the chain verifiable.',
        response: { 200: AuditVerification, ...errorResponses(...READ_ERRORS) },
      },
    },
    async () => {
      const v = await verifyAuditChain(db);
      return { intact: v.firstBroken === null, ...v, checkedAt: new Date().toISOString() };
    },
  );
};

export default auditRoutes;
