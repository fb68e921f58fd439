import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';

const Check = Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), error: Type.Optional(Type.String()) });
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Check,
  temporal: Check,
});

async function timed(fn: () => Promise<unknown>) {
  const start = performance.now();
  try {
    await fn();
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round((performance.now() - start) * 100) / 100,
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

/** GET /health: database and Temporal reachable, with latency. 503 when either is not. */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['platform'],
        summary: 'Liveness and dependencies',
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const { db, temporal } = app.deps;
      const [database, temporalCheck] = await Promise.all([
        timed(() => db.execute(sql`select 1`)),
        temporal
          ? timed(() => temporal.workflowService.getSystemInfo({}))
          : Promise.resolve({ ok: false, latencyMs: 0, error: 'no Temporal client configured' }),
      ]);
      const ok = database.ok && temporalCheck.ok;
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', database, temporal: temporalCheck });
    },
  );
};

export default healthRoutes;
