import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';
import { ownedByGridOperator } from '../../db/repositories/grid-operator-scope.js';
import { scopeOf } from '../../domain/visibility.js';

/**
 * GET /dev/mail: the messages the local capturing SMTP server received (development only: the route
 * exists only when the API runs next to that server, and never with NODE_ENV=production; see api/app.ts).
 * Admins read every message; a case handler or compliance officer only its own grid operator's (mail about its
 * cases and the supplier reports made to it), so no operator reads another's ACM reports or contacts.
 */
type Captured = Record<string, unknown> & { headers?: Record<string, string> };

const devMailRoutes: FastifyPluginAsyncTypebox<{ dir: string }> = async (app, opts) => {
  const { db } = app.deps;
  app.get(
    '/dev/mail',
    {
      preHandler: requireRole('admin', 'case-handler', 'compliance'),
      schema: {
        tags: ['platform'],
        summary: 'Captured outgoing mail (local SMTP capture; a case handler sees its own grid operator’s only)',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) },
      },
    },
    async (request) => {
      const files = (await readdir(opts.dir).catch(() => [] as string[]))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .reverse();
      const read = (f: string) => readFile(join(opts.dir, f), 'utf8').then((t) => JSON.parse(t) as Captured);
      const limit = request.query.limit;
      // domain/visibility.ts: admin sees all; a case handler or compliance officer its grid operator's cases and reports.
      const scope = scopeOf(request.principal);
      if (scope.kind === 'all') return { items: await Promise.all(files.slice(0, limit).map(read)) };
      const gridOperatorId = scope.kind === 'grid_operator' ? scope.gridOperatorId : undefined;
      const items: Captured[] = [];
      for (let k = 0; k < files.length && items.length < limit; k += 200) {
        const page = await Promise.all(files.slice(k, k + 200).map(read));
        const caseIds = page.map((m) => m.headers?.['x-case-id']).filter((v): v is string => !!v);
        const supplierReportIds = page.map((m) => m.headers?.['x-supplier-report-id']).filter((v): v is string => !!v);
        const own = gridOperatorId
          ? await ownedByGridOperator(db, gridOperatorId, { caseIds, supplierReportIds })
          : new Set<string>();
        for (const m of page) {
          const ref = m.headers?.['x-case-id'] ?? m.headers?.['x-supplier-report-id'];
          if (ref && own.has(ref) && items.length < limit) items.push(m);
        }
      }
      return { items };
    },
  );
};

export default devMailRoutes;
