/**
 * Issue 20, "a 503 tells the truth", on the real stack (API and worker as their own processes, embedded
 * PostgreSQL of its own, the shared Temporal dev server and SMTP capture): PostgreSQL frozen (SIGSTOP on the
 * postmaster and every backend: no answer, no closed socket) while a handler's client adds notes (on an open
 * case: a workflow Update; on a closed one: the API's own transaction), asks for evidence, informs the ACM and
 * sets a legal hold, and repeats every 503 and 409 with the same Idempotency-Key until it is answered.
 * Afterwards each action is in the case exactly once, and every answer (first tries, repeats, requests in
 * flight when it froze, those right after it resumed) came within 2 s.
 *
 * The freeze lasts FREEZE_MS (10 s by default, not the issue's 20 s; FAULT_FREEZE_MS=20000 runs that): what is exercised — requests in flight at the
 * freeze, 503s while frozen, the backlog at the resume — is the same from a few seconds on, and the freeze
 * must stay inside the activities' 30 s start-to-close timeout (workflows/activity-options.ts); 10 s keeps
 * this file's run short on the shared 2-core machine. The machine's load average is printed with the figures.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type DbHandle } from '../../db/client.js';
import { runMigrations } from '../../db/migrate.js';
import { auditLog, evidenceRequests } from '../../db/schema/index.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../lib/infra/embedded-postgres.js';
import { supervisedChildPid } from '../../lib/infra/supervised-process.js';
import {
  caseById,
  caseFixture,
  postCase,
  spawnApi,
  spawnWorker,
  tag,
  until,
  type Proc,
  type StackEnv,
} from './stack.js';

/** Every answer, in flight or new (issue 20; docs/operations.md, Faults). */
const BOUND_MS = 2_000;
/** FAULT_FREEZE_MS=20000 runs the issue's 20 s (as measured in docs/api.md). */
const FREEZE_MS = Number(process.env.FAULT_FREEZE_MS ?? 10_000);
/** Pause before repeating a 503 or 409 (shorter than Retry-After, so the freeze sees many repeats). */
const REPEAT_MS = 300;

const procs: Proc[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

interface Answer {
  status: number;
  ms: number;
  body: string;
}

/** One POST, timed; a dropped connection is `{ status: 0 }` (and fails the test: the API must answer). */
async function post(url: string, key: string, path: string, body: unknown, idempotencyKey: string): Promise<Answer> {
  const t = performance.now();
  try {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: key, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    return { status: res.status, ms: performance.now() - t, body: await res.text() };
  } catch (err) {
    return { status: 0, ms: performance.now() - t, body: String(err) };
  }
}

interface Action {
  name: string;
  path: string;
  body: unknown;
  answers: Answer[];
}

/** Send until answered other than 503/409 (or a minute passed): every answer kept. */
async function untilDone(url: string, key: string, a: Action): Promise<Answer> {
  const idem = `idem-${tag()}`;
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await post(url, key, a.path, a.body, idem);
    a.answers.push(r);
    if ((r.status !== 503 && r.status !== 409) || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, REPEAT_MS));
  }
}

describe('PostgreSQL frozen while case actions are repeated with their Idempotency-Key', () => {
  let pg: EmbeddedPostgres | undefined;
  let handle: DbHandle | undefined;
  let work: string;
  let stopped: number[] = [];
  let frozen = false;
  const signalAll = (pids: number[], signal: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone meanwhile
      }
    }
  };
  /** The postmaster and every backend (each is its own session leader, so no process group covers them). */
  const clusterPids = async (): Promise<number[]> => {
    const postmaster = await supervisedChildPid(pg!.pid);
    if (postmaster === undefined) throw new Error('no postmaster');
    const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    return [postmaster, ...children];
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gt-fault-idem-'));
    await chmod(work, 0o711); // as root the postgres user must pass it
  });
  afterAll(async () => {
    if (frozen) signalAll(stopped, 'SIGCONT');
    await handle?.close().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  it('each action once, every answer within 2 s, in flight, frozen and after the resume', async () => {
    const loadBefore = loadavg();
    pg = await startEmbeddedPostgres({ persistent: true, dataDir: join(work, 'pg') });
    await runMigrations(pg.url);
    handle = createDb(pg.url, { max: 2 });
    const db = handle.db;
    const fx = await caseFixture(db, 2);
    const env: StackEnv = {
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      SMTP_URL: inject('smtpUrl'),
      TEMPORAL_TASK_QUEUE: `faults-idem-${tag()}`,
    };
    procs.push(await spawnWorker(env));
    const api = await spawnApi(env);
    procs.push(api);

    // Case A open and contacted (evidence requests need the 72 hours running); case B withdrawn (closed).
    const [a, b] = await Promise.all(
      fx.eans.map(async (ean) => {
        const r = await postCase(api.url, fx.handlerKey, fx.body(ean));
        expect(r.status, r.body).toBe(201);
        return (JSON.parse(r.body) as { id: string }).id;
      }),
    );
    await until('case A contacted', async () => ((await caseById(db, a!))?.contactedAt ? true : undefined), 60_000);
    const w = await post(api.url, fx.handlerKey, `/cases/${b}/withdraw`, { reason: 'test' }, `w-${tag()}`);
    expect(w.status, w.body).toBe(200);
    await until(
      'case B closed',
      async () => ((await caseById(db, b!))?.status.startsWith('closed') ? true : undefined),
      60_000,
    );

    // This process's own event-loop delay (it measures every answer): on an overloaded machine part of an
    // answer's time is the measuring process waiting for the CPU, not the API.
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const run = tag();
    const actions: Action[] = [
      ...Array.from({ length: 12 }, (_, i) => ({
        name: `note A ${i}`,
        path: `/cases/${a}/notes`,
        body: { text: `note ${run} A ${i}` },
        answers: [],
      })),
      ...Array.from({ length: 4 }, (_, i) => ({
        name: `note B ${i}`,
        path: `/cases/${b}/notes`,
        body: { text: `note ${run} B ${i}` },
        answers: [],
      })),
      ...Array.from({ length: 2 }, (_, i) => ({
        name: `evidence request ${i}`,
        path: `/cases/${a}/evidence-requests`,
        body: { message: `evidence ${run} ${i}` },
        answers: [],
      })),
      { name: 'acm', path: `/cases/${a}/acm-notifications`, body: { message: `acm ${run}` }, answers: [] },
      {
        name: 'legal hold',
        path: `/cases/${a}/legal-hold`,
        body: { authority: 'acm', reason: `hold ${run}` },
        answers: [],
      },
    ];
    // Spread from 1.5 s before the freeze to 1.5 s after the resume: some in flight when it freezes, most
    // while frozen, some right after.
    const span = FREEZE_MS + 3_000;
    const started = Date.now();
    const done = Promise.all(
      actions.map(async (act, i) => {
        await new Promise((r) => setTimeout(r, Math.round((i * span) / actions.length)));
        return untilDone(api.url, fx.handlerKey, act);
      }),
    );
    await new Promise((r) => setTimeout(r, 1_500));
    stopped = await clusterPids();
    signalAll(stopped.slice(0, 1), 'SIGSTOP'); // the postmaster first, so it forks no more
    stopped = await clusterPids();
    signalAll(stopped, 'SIGSTOP');
    frozen = true;
    const frozenAt = Date.now() - started;
    await new Promise((r) => setTimeout(r, FREEZE_MS));
    signalAll(stopped, 'SIGCONT');
    frozen = false;
    const resumedAt = Date.now() - started;
    const finals = await done;
    const loadAfter = loadavg();
    lag.disable();
    // The API's own view: how long it had waited when it answered 503 (its warn lines, api/plugins).
    const apiWaited = [...api.output().matchAll(/"waitedMs":(\d+)/g)].map((m) => Number(m[1]));

    const all = actions.flatMap((x) => x.answers);
    const slowest = all.reduce((m, x) => (x.ms > m.ms ? x : m));
    const by = (p: (x: Answer) => boolean) => all.filter(p).length;
    const outcome = (x: Answer) => (JSON.parse(x.body) as { details?: { outcome?: string } }).details?.outcome;
    const unavailable = all.filter((x) => x.status === 503);
    const slowestBy = new Map<string, number>();
    for (const x of all) {
      const code = x.status < 300 ? String(x.status) : `${x.status} ${(JSON.parse(x.body) as { code?: string }).code}`;
      slowestBy.set(code, Math.max(slowestBy.get(code) ?? 0, Math.round(x.ms)));
    }
    console.info(
      `PostgreSQL frozen ${FREEZE_MS} ms (from ${frozenAt} ms to ${resumedAt} ms): ${actions.length} actions, ${all.length} answers; ` +
        `503 ${unavailable.length} (not_done ${unavailable.filter((x) => outcome(x) === 'not_done').length}, unknown ${unavailable.filter((x) => outcome(x) === 'unknown').length}), ` +
        `409 ${by((x) => x.status === 409)}, replayed after a 503/409 ${actions.filter((x) => x.answers.length > 1).length}; ` +
        `slowest answer ${Math.round(slowest.ms)} ms (${slowest.status}; by answer ${[...slowestBy].map(([c, ms]) => `${c}: ${ms}`).join(', ')}); ` +
        `the API's 503s after at most ${Math.max(0, ...apiWaited)} ms of its own (${apiWaited.length} logged); this process's event-loop delay max ${Math.round(lag.max / 1e6)} ms, p99 ${Math.round(lag.percentile(99) / 1e6)} ms; ` +
        `load average ${loadBefore.map((l) => l.toFixed(2)).join('/')} before, ${loadAfter.map((l) => l.toFixed(2)).join('/')} after`,
    );

    for (const [i, f] of finals.entries()) expect(f.status, `${actions[i]!.name}: ${f.body}`).toBeLessThan(300);
    for (const x of all) {
      expect(x.status, x.body).not.toBe(0);
      expect(x.ms, `${x.status} ${x.body}`).toBeLessThan(BOUND_MS);
    }
    // Every 503 says what became of the action.
    expect(unavailable.length).toBeGreaterThan(0);
    for (const x of unavailable) expect(['not_done', 'unknown'], x.body).toContain(outcome(x));

    // Each action exactly once.
    const notes = await db
      .select({ text: sql<string>`${auditLog.data}->>'text'`, n: sql<number>`count(*)::int` })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'case.note'), sql`${auditLog.data}->>'text' like ${`note ${run} %`}`))
      .groupBy(sql`1`);
    expect(new Map(notes.map((n) => [n.text, n.n]))).toEqual(
      new Map(actions.filter((x) => x.name.startsWith('note')).map((x) => [(x.body as { text: string }).text, 1])),
    );
    const requests = await db
      .select({ message: evidenceRequests.message })
      .from(evidenceRequests)
      .where(eq(evidenceRequests.caseId, a!));
    expect(requests.map((r) => r.message).sort()).toEqual([`evidence ${run} 0`, `evidence ${run} 1`]);
    const once = async (action: string) =>
      (
        await db
          .select({ id: auditLog.id })
          .from(auditLog)
          .where(and(eq(auditLog.action, action), eq(auditLog.entityId, a!)))
      ).length;
    expect(await once('case.acm_notified')).toBe(1);
    expect(await once('case.legal_hold_set')).toBe(1);
  }, 300_000);
});
