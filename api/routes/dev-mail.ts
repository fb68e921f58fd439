import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../plugins/auth.js';

/**
 * GET /dev/mail: the messages the local capturing SMTP server received (development only; the
 * route exists only when the API runs next to that server). Admins and case handlers may read it.
 */
const devMailRoutes: FastifyPluginAsyncTypebox<{ dir: string }> = async (app, opts) => {
  app.get(
    '/dev/mail',
    {
      preHandler: requireRole('admin', 'case-handler', 'compliance'),
      schema: {
        tags: ['platform'],
        summary: 'Captured outgoing mail (local SMTP capture)',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) },
      },
    },
    async (request) => {
      const files = (await readdir(opts.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort().reverse();
      const items = await Promise.all(
        files.slice(0, request.query.limit).map(async (f) => JSON.parse(await readFile(join(opts.dir, f), 'utf8')) as Record<string, unknown>),
      );
      return { items };
    },
  );
};

export default devMailRoutes;
