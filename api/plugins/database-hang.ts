/**
 * Issue 8, "never a hang": a PostgreSQL that stops answering without closing its sockets (a frozen server, a
 * network partition) leaves the pool's queries waiting for TCP to give up, minutes later. A refused or reset
 * connection is already a fast 503 (errors.ts); this covers the silent case. A request still unanswered after
 * `afterMs` has PostgreSQL probed on a connection of its own (db/client.ts `probe`); when that does not answer
 * within `probeTimeoutMs` either, the request gets the same 503 `database_unavailable` at once. A slow request
 * on a healthy database is left alone (the probe answers) and checked again after another `afterMs`.
 *
 * What the hung request was doing may still complete when PostgreSQL answers again: a write is then either
 * complete or absent as ever (one transaction), and a retry with the same Idempotency-Key finds it.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DEPENDENCY_DOWN } from '../../lib/infra/dependency-errors.js';
import { unavailableTotal } from '../../lib/observability/metrics.js';

export interface DatabaseHangGuard {
  probe(timeoutMs: number): Promise<boolean>;
  /** Unanswered for this long, a request has PostgreSQL probed. */
  afterMs: number;
  probeTimeoutMs: number;
}

/** Routes that never wait on PostgreSQL (liveness must not depend on it; the docs are static). */
const EXEMPT = /^\/(health\/live|docs)(\/|$|\?)/;

declare module 'fastify' {
  interface FastifyRequest {
    databaseHangTimer?: NodeJS.Timeout;
  }
}

export function registerDatabaseHangGuard(app: FastifyInstance, guard: DatabaseHangGuard): void {
  const d = DEPENDENCY_DOWN.database;
  const answerDown = (reply: FastifyReply) => {
    unavailableTotal.labels('database', d.code).inc();
    return reply
      .status(503)
      .header('retry-after', String(d.retryAfterS))
      .send({ code: d.code, message: d.message, details: { dependency: 'database' } });
  };

  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.test(request.url)) return;
    const check = () => {
      request.databaseHangTimer = setTimeout(() => {
        void guard.probe(guard.probeTimeoutMs).then((ok) => {
          if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) return; // answered, or the client left
          if (ok) return check();
          request.log.warn(
            { dependency: 'database', waitedMs: Math.round(reply.elapsedTime) },
            'PostgreSQL does not answer: 503 instead of waiting',
          );
          void answerDown(reply);
        });
      }, guard.afterMs);
      request.databaseHangTimer.unref();
    };
    check();
  });
  const stop = async (request: { databaseHangTimer?: NodeJS.Timeout }) => clearTimeout(request.databaseHangTimer);
  app.addHook('onResponse', stop);
  app.addHook('onRequestAbort', stop);
}
