/**
 * Issue 8, "never a hang": a PostgreSQL that stops answering without closing its sockets (a frozen server, a
 * network partition) leaves the pool's queries waiting for TCP to give up, minutes later. A refused or reset
 * connection is already a fast 503 (errors.ts); this covers the silent case. A request still unanswered after
 * `afterMs` joins the waiting requests, and while any wait PostgreSQL is probed on a connection of its own
 * (db/client.ts `probe`), one probe at a time, `recheckMs` apart. A probe that does not answer within
 * `probeTimeoutMs` answers every waiting request at once with 503 `database_unavailable`. A slow request on a
 * healthy database is left alone (the probes answer).
 *
 * Issue 20, "every request within 2 s, in flight or new": each request used to run its own check and, after a
 * probe that passed, wait `afterMs` again before the next, so a request in flight when PostgreSQL froze just
 * after a passing probe was answered only after afterMs + afterMs + probeTimeoutMs and more (2.4–6.6 s under
 * load). Now the bound is afterMs + recheckMs + probeTimeoutMs (defaults 500 + 200 + 500 ms) whenever the
 * database froze, and one failing probe answers all who wait. Until a probe answers again PostgreSQL counts as
 * down: a request that comes to wait is answered at once, and case actions refuse before their first query
 * (`databaseKnownDown`), so repeats during a freeze do not pile queries into the pool that would all run at the
 * resume and hold up the requests after it.
 *
 * A case action's 503 says what became of it (api/plugins/case-action.ts): `outcome: not_done` when its write
 * was not sent (and now never is), `unknown` when it was (a repeat with the same Idempotency-Key answers it).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DatabaseProbe } from '../../db/client.js';
import { DEPENDENCY_DOWN } from '../../lib/infra/dependency-errors.js';
import { giveUp } from '../../services/idempotency/action.js';
import { outcomeMessage } from './case-action.js';
import { unavailableTotal } from '../../lib/observability/metrics.js';

export interface DatabaseHangGuard {
  probe: DatabaseProbe;
  /** Unanswered for this long, a request waits on the probes. */
  afterMs: number;
  probeTimeoutMs: number;
  /** Pause between two probes that answered while requests still wait (default 200 ms). */
  recheckMs?: number;
}

/** Routes that never wait on PostgreSQL (liveness must not depend on it; the docs are static). */
const EXEMPT = /^\/(health\/live|docs)(\/|$|\?)/;

interface Waiting {
  request: FastifyRequest;
  reply: FastifyReply;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * PostgreSQL's last probe went unanswered and none has answered since: a case action refuses at once
     * (503 not_done) instead of queueing a query behind the hung ones (api/plugins/case-action.ts).
     */
    databaseKnownDown?: () => boolean;
  }
  interface FastifyRequest {
    databaseHangTimer?: NodeJS.Timeout;
    databaseHangWaiting?: Waiting;
  }
}

/** A probe while PostgreSQL is known down: nobody waits on it, so it may take its time to open a connection. */
const RECOVERY_PROBE_MS = 2_000;

const answered = (reply: FastifyReply) => reply.sent || reply.raw.headersSent || reply.raw.destroyed;

export function registerDatabaseHangGuard(app: FastifyInstance, guard: DatabaseHangGuard): void {
  const d = DEPENDENCY_DOWN.database;
  const recheckMs = guard.recheckMs ?? 200;
  const waiting = new Set<Waiting>();
  let probing = false;
  /** Since the first unanswered probe, until one answers again (probed every recheckMs meanwhile). */
  let down = false;
  app.decorate('databaseKnownDown', () => down);

  const answerDown = ({ request, reply }: Waiting) => {
    if (answered(reply)) return;
    const action = request.caseAction;
    const outcome = action ? giveUp(action) : undefined;
    unavailableTotal.labels('database', d.code).inc();
    request.log.warn(
      { dependency: 'database', waitedMs: Math.round(reply.elapsedTime), outcome },
      'PostgreSQL does not answer: 503 instead of waiting',
    );
    void reply
      .status(503)
      .header('retry-after', String(outcome === 'unknown' ? 1 : d.retryAfterS))
      .send({
        code: d.code,
        message: outcome ? `The database is not reachable. ${outcomeMessage(outcome)}` : d.message,
        details: { dependency: 'database', ...(outcome ? { outcome } : {}) },
      });
  };

  const pause = () => new Promise((r) => setTimeout(r, recheckMs).unref());

  /**
   * Probe while anyone waits; the first probe without an answer answers them all and marks PostgreSQL down.
   * While down, whoever comes to wait is answered at once, and the probes go on (no request waits on them, so
   * they may take longer: a fresh backend on a loaded machine) until one answers.
   */
  async function watch(): Promise<void> {
    if (probing) return;
    probing = true;
    try {
      while (waiting.size > 0 || down) {
        if (down) {
          for (const w of waiting) answerDown(w);
          waiting.clear();
          await pause();
          if (await guard.probe(RECOVERY_PROBE_MS)) down = false;
          continue;
        }
        const ok = await guard.probe(guard.probeTimeoutMs);
        for (const w of waiting) if (answered(w.reply)) waiting.delete(w);
        if (!ok) {
          down = true;
          continue;
        }
        if (waiting.size > 0) await pause();
      }
    } finally {
      probing = false;
    }
  }

  guard.probe.warm?.();
  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.test(request.url)) return;
    request.databaseHangTimer = setTimeout(() => {
      if (answered(reply)) return;
      const w = { request, reply };
      if (down) return answerDown(w);
      request.databaseHangWaiting = w;
      waiting.add(w);
      void watch();
    }, guard.afterMs);
    request.databaseHangTimer.unref();
  });
  const stop = async (request: FastifyRequest) => {
    clearTimeout(request.databaseHangTimer);
    if (request.databaseHangWaiting) waiting.delete(request.databaseHangWaiting);
  };
  app.addHook('onResponse', stop);
  app.addHook('onRequestAbort', stop);
}
