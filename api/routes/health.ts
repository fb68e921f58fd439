import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';

const Check = Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), error: Type.Optional(Type.String()) });
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Check,
  temporal: Check,
});

/** What each capability needs. The P4 gate and the consent core need only PostgreSQL; cases also need Temporal. */
const CAPABILITIES = {
  p4: ['database'],
  core: ['database'],
  cases: ['database', 'temporal'],
  all: ['database', 'temporal'],
} as const satisfies Record<string, readonly ('database' | 'temporal')[]>;
type Capability = keyof typeof CAPABILITIES;

const Ready = Type.Object({
  ready: Type.Boolean(),
  for: Type.String(),
  needs: Type.Array(Type.String()),
  down: Type.Array(Type.String()),
});

/** A check answers within this, so a load balancer's probe never hangs on a dead dependency. */
const CHECK_TIMEOUT_MS = 1_500;

async function timed(fn: () => Promise<unknown>) {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round((performance.now() - start) * 100) / 100,
      error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /health: every dependency with its latency (503 when one is down; for monitoring).
 * GET /health/live: the process serves (liveness: restart it only when this fails).
 * GET /health/ready?for=p4|core|cases|all: ready for that capability (a load balancer per route group:
 * the P4 gate stays in service while Temporal is down).
 */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const checks = async (needs: readonly ('database' | 'temporal')[]) => {
    const { db, temporal } = app.deps;
    const [database, temporalCheck] = await Promise.all([
      needs.includes('database') ? timed(() => db.execute(sql`select 1`)) : Promise.resolve({ ok: true, latencyMs: 0 }),
      !needs.includes('temporal')
        ? Promise.resolve({ ok: true, latencyMs: 0 })
        : temporal
          ? timed(() => temporal.workflowService.getSystemInfo({}))
          : Promise.resolve({ ok: false, latencyMs: 0, error: 'no Temporal client configured' }),
    ]);
    return { database, temporal: temporalCheck };
  };

  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['platform'],
        summary: 'Dependencies and their latency (503 when one is down)',
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const c = await checks(CAPABILITIES.all);
      const ok = c.database.ok && c.temporal.ok;
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...c });
    },
  );

  app.get(
    '/health/live',
    {
      config: { public: true },
      schema: {
        tags: ['platform'],
        summary: 'Liveness: the process answers (no dependency is checked)',
        security: [],
        response: { 200: Type.Object({ live: Type.Literal(true) }) },
      },
    },
    async () => ({ live: true as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { public: true },
      schema: {
        tags: ['platform'],
        summary: 'Readiness per capability: p4 and core need PostgreSQL; cases (and all, the default) also Temporal',
        security: [],
        querystring: Type.Object(
          { for: Type.Optional(Type.Union(Object.keys(CAPABILITIES).map((k) => Type.Literal(k)))) },
          { additionalProperties: false },
        ),
        response: { 200: Ready, 503: Ready },
      },
    },
    async (request, reply) => {
      const capability = (request.query.for ?? 'all') as Capability;
      const needs = CAPABILITIES[capability];
      const c = await checks(needs);
      const down = needs.filter((n) => !c[n].ok);
      if (down.length > 0) void reply.header('retry-after', '5');
      return reply
        .status(down.length === 0 ? 200 : 503)
        .send({ ready: down.length === 0, for: capability, needs: [...needs], down });
    },
  );
};

export default healthRoutes;
