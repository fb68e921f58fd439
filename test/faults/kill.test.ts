/**
 * Issue 8, on the real stack: each process a test kills with SIGKILL is its own process (API: server.ts,
 * worker: worker.ts, Temporal: the CLI dev server, PostgreSQL: the embedded server).
 *
 * - API killed during a burst of intakes: every committed case gets its workflow and its contact mail
 *   within the bound (services/recovery/intake-bound.ts) from the worker's recovery loop, without a worker restart.
 * - Worker killed during contact mails: another worker finishes them; every case's mails state one deadline.
 * - Temporal killed and restarted: intake answers 503 temporal_unavailable within 2 s (never a 500, never
 *   a hang), the P4 capability stays ready; after the restart the case committed meanwhile gets its workflow.
 * - PostgreSQL killed and restarted: 503 database_unavailable within 2 s; the API recovers on its own.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type DbHandle } from '../../db/client.js';
import { runMigrations } from '../../db/migrate.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../lib/infra/embedded-postgres.js';
import { supervisedChildPid } from '../../lib/infra/supervised-process.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../lib/infra/temporal-dev-server.js';
import { INTAKE_WORKFLOW_BOUND_MS } from '../../services/recovery/intake-bound.js';
import { makeKey } from '../core/fixtures.js';
import { freshDatabase, listMail, type FreshDatabase } from '../helpers/index.js';
import {
  caseFixture,
  casesOn,
  casesWithoutWorkflowOn,
  postCase,
  spawnApi,
  spawnWorker,
  tag,
  until,
  type Proc,
  type StackEnv,
} from './stack.js';

/** The 503 bound for a dependency down (docs/operations.md, "Faults"). */
const FAST_503_MS = 2_000;
/** Slack on the shared, loaded test machine for process start-up and mail capture. */
const SLACK_MS = 30_000;

const procs: Proc[] = [];
const track = <T extends Proc>(p: T): T => {
  procs.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

/** Every case on these connections has a confirmed workflow and a contact mail with one stated deadline. */
async function allContacted(handle: DbHandle, eans: string[], address: string, timeoutMs: number) {
  return until(
    'every case contacted',
    async () => {
      const rows = await casesOn(handle.db, eans);
      if (rows.some((r) => !r.workflowStartedAt || !r.contactedAt)) return undefined;
      const mails = await listMail(inject('mailDir'), (m) => m.to.includes(address));
      const ids = new Set(rows.map((r) => r.id));
      const byCase = new Map<string, Set<string>>();
      for (const m of mails) {
        const id = m.headers['x-case-id'];
        if (!id || !ids.has(id)) continue;
        byCase.set(id, (byCase.get(id) ?? new Set()).add(m.headers['x-response-due'] ?? ''));
      }
      if (byCase.size < rows.length) return undefined;
      return { rows, byCase, mails: mails.length };
    },
    timeoutMs,
  );
}

/** One P4 gate request for a day of interval data on `ean`, timed. */
async function askGate(apiUrl: string, p4Key: string, ean: string) {
  const t = performance.now();
  const r = await fetch(`${apiUrl}/p4/requests`, {
    method: 'POST',
    headers: { authorization: p4Key, 'content-type': 'application/json' },
    body: JSON.stringify({
      connectionEan: ean,
      dataKind: 'interval_data',
      from: new Date(Date.now() - 86_400_000).toISOString(),
      to: new Date().toISOString(),
    }),
  });
  return {
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    body: await r.text(),
    ms: performance.now() - t,
  };
}

describe('API and worker SIGKILLed (shared Temporal, own database)', () => {
  let fresh: FreshDatabase;
  let handle: DbHandle;
  let env: StackEnv;

  beforeAll(async () => {
    fresh = await freshDatabase('faults_kill');
    handle = createDb(fresh.url, { max: 4 });
    env = {
      DATABASE_URL: fresh.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      SMTP_URL: inject('smtpUrl'),
      TEMPORAL_TASK_QUEUE: `faults-${tag()}`,
    };
  });
  afterAll(async () => {
    await handle?.close();
    await fresh?.drop();
  });

  it('API killed during a burst of intakes: every committed case gets its workflow and contact mail within the bound', async () => {
    const fx = await caseFixture(handle.db, 30);
    const worker = track(await spawnWorker(env));
    const api = track(await spawnApi(env));
    const answers = fx.eans.map((ean) => postCase(api.url, fx.handlerKey, fx.body(ean)));
    // Kill as soon as the first case is committed: the others are mid-intake.
    await until(
      'first case committed',
      async () => ((await casesOn(handle.db, fx.eans)).length > 0 ? true : undefined),
      30_000,
    );
    await api.kill();
    const killedAt = Date.now();
    const results = await Promise.all(answers);
    expect(results.filter((r) => r.status >= 500 && r.status !== 503)).toEqual([]);
    const committed = await casesOn(handle.db, fx.eans);
    const orphans = await casesWithoutWorkflowOn(handle.db, fx.eans);
    expect(committed.length).toBeGreaterThan(0);
    const done = await allContacted(handle, fx.eans, fx.address, INTAKE_WORKFLOW_BOUND_MS + SLACK_MS);
    const tookMs = Date.now() - killedAt;
    expect(worker.child.exitCode).toBeNull(); // the same worker, never restarted
    for (const [, deadlines] of done.byCase) expect(deadlines.size).toBe(1);
    console.info(
      `API killed: ${committed.length} cases committed, ${orphans.length} without a workflow at the kill, all contacted ${tookMs} ms after it`,
    );
  }, 240_000);

  it('worker killed during contact mails: another worker sends them, one deadline per case', async () => {
    const fx = await caseFixture(handle.db, 20);
    const a = track(await spawnWorker(env));
    const api = track(await spawnApi(env));
    const results = await Promise.all(fx.eans.map((ean) => postCase(api.url, fx.handlerKey, fx.body(ean))));
    // On a loaded machine a start may pass the API's 2 s Temporal deadline: 503, case committed, the sweep starts it.
    expect(
      results.filter((r) => r.status !== 201 && !(r.status === 503 && r.body.includes('temporal_unavailable'))),
    ).toEqual([]);
    expect(results.filter((r) => r.status === 201).length).toBeGreaterThan(0);
    // Kill once the first contact mails have gone out: the rest are in flight or queued.
    await until(
      'first contact mail',
      async () => ((await listMail(inject('mailDir'), (m) => m.to.includes(fx.address))).length > 0 ? true : undefined),
      60_000,
    );
    await a.kill();
    const killedAt = Date.now();
    track(await spawnWorker(env));
    const done = await allContacted(handle, fx.eans, fx.address, 120_000);
    for (const [, deadlines] of done.byCase) expect(deadlines.size).toBe(1);
    console.info(
      `worker killed: ${done.rows.length} cases, ${done.mails} contact mails (${done.mails - done.rows.length} repeated with the same deadline), all contacted ${Date.now() - killedAt} ms after the kill`,
    );
  }, 240_000);
});

describe('Temporal SIGKILLed and restarted', () => {
  let fresh: FreshDatabase;
  let handle: DbHandle;
  let work: string;
  let temporal: TemporalDevServer | undefined;

  beforeAll(async () => {
    fresh = await freshDatabase('faults_temporal');
    handle = createDb(fresh.url, { max: 4 });
    work = await mkdtemp(join(tmpdir(), 'gt-fault-temporal-'));
  });
  afterAll(async () => {
    await temporal?.stop().catch(() => undefined);
    await handle?.close();
    await fresh?.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('503 temporal_unavailable within 2 s, P4 stays ready, the case committed meanwhile gets its workflow after the restart', async () => {
    const dbFile = join(work, 'temporal.db');
    temporal = await startTemporalDevServer({ dbFile, headless: true });
    const port = Number(temporal.address.split(':').pop());
    const env: StackEnv = {
      DATABASE_URL: fresh.url,
      TEMPORAL_ADDRESS: temporal.address,
      SMTP_URL: inject('smtpUrl'),
      TEMPORAL_TASK_QUEUE: `faults-t-${tag()}`,
    };
    const fx = await caseFixture(handle.db, 3);
    track(await spawnWorker(env));
    const api = track(await spawnApi(env));
    expect((await postCase(api.url, fx.handlerKey, fx.body(fx.eans[0]!))).status).toBe(201);

    // The server itself, not its watchdog (killing that would stop the server gracefully).
    const server = await supervisedChildPid(temporal.pid);
    expect(server).toBeDefined();
    process.kill(server!, 'SIGKILL');
    await until(
      'Temporal gone',
      async () => ((await fetch(`${api.url}/health/ready?for=cases`)).status === 503 ? true : undefined),
      20_000,
    );
    const down = await postCase(api.url, fx.handlerKey, fx.body(fx.eans[1]!), `k-${tag()}`);
    expect(down.status, down.body).toBe(503);
    expect(JSON.parse(down.body)).toMatchObject({ code: 'temporal_unavailable' });
    expect(down.ms).toBeLessThan(FAST_503_MS);
    expect(down.retryAfter).toBeTruthy();
    const t = performance.now();
    const p4 = await fetch(`${api.url}/health/ready?for=p4`);
    expect(p4.status).toBe(200);
    const cases = await fetch(`${api.url}/health/ready?for=cases`);
    expect(cases.status).toBe(503);
    expect(await cases.json()).toMatchObject({ ready: false, down: ['temporal'] });
    expect(performance.now() - t).toBeLessThan(2 * FAST_503_MS);
    expect(await casesWithoutWorkflowOn(handle.db, [fx.eans[1]!])).toHaveLength(1); // committed, block in force

    temporal = await startTemporalDevServer({ dbFile, port, headless: true });
    const restartedAt = Date.now();
    await until(
      'orphan started',
      async () => ((await casesWithoutWorkflowOn(handle.db, fx.eans.slice(0, 2))).length === 0 ? true : undefined),
      INTAKE_WORKFLOW_BOUND_MS + SLACK_MS,
    );
    console.info(
      `Temporal killed: intake 503 in ${Math.round(down.ms)} ms; orphan started ${Date.now() - restartedAt} ms after the restart`,
    );
    const after = await postCase(api.url, fx.handlerKey, fx.body(fx.eans[2]!));
    expect(after.status, after.body).toBe(201);
  }, 300_000);
});

describe('PostgreSQL SIGKILLed and restarted', () => {
  let pg: EmbeddedPostgres | undefined;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gt-fault-pg-'));
    await chmod(work, 0o711); // as root the postgres user must pass it (else the cluster is placed elsewhere)
  });
  afterAll(async () => {
    await pg?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  it('503 database_unavailable within 2 s while it is down; the API serves again after the restart without a restart of its own', async () => {
    const dataDir = join(work, 'pg');
    pg = await startEmbeddedPostgres({ persistent: true, dataDir });
    await runMigrations(pg.url);
    const handle = createDb(pg.url, { max: 2 });
    const fx = await caseFixture(handle.db, 3);
    const p4Key = await makeKey(handle.db, 'p4-client', { partyId: fx.party.id });
    await handle.close();
    const env: StackEnv = {
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      SMTP_URL: inject('smtpUrl'),
      TEMPORAL_TASK_QUEUE: `faults-pg-${tag()}`,
    };
    track(await spawnWorker(env));
    const api = track(await spawnApi(env));
    expect((await postCase(api.url, fx.handlerKey, fx.body(fx.eans[0]!))).status).toBe(201);
    const gateOnce = () => askGate(api.url, p4Key, fx.eans[2]!);
    expect((await gateOnce()).status).toBe(200);

    // The postmaster itself, not its watchdog (killing that would stop PostgreSQL with a fast shutdown).
    const postmaster = await supervisedChildPid(pg.pid);
    expect(postmaster).toBeDefined();
    process.kill(postmaster!, 'SIGKILL');
    await until(
      'postmaster gone',
      async () => {
        try {
          process.kill(postmaster!, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      20_000,
    );
    // A burst while it is down, more requests than the pool has connections: each one a fast 503. The driver's
    // default reconnect backoff (growing to 20 s) once queued such a burst for up to 26 s (db/client.ts).
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => postCase(api.url, fx.handlerKey, fx.body(fx.eans[1]!), `k-${tag()}-${i}`)),
    );
    for (const r of burst) {
      expect(r.status, r.body).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'database_unavailable' });
      expect(r.retryAfter).toBeTruthy();
    }
    const down = burst.reduce((a, b) => (b.ms > a.ms ? b : a));
    expect(down.ms).toBeLessThan(FAST_503_MS);
    // The gate's own 503 (its key known, its batch statement failed) names the database too.
    const gate = await gateOnce();
    expect(gate.status).toBe(503);
    expect(gate.retryAfter).toBeTruthy();
    expect(JSON.parse(gate.body)).toMatchObject({ details: { dependency: 'database' } });
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${api.url}/health/ready?for=p4`);
    expect(ready.status).toBe(503);

    pg = await startEmbeddedPostgres({ persistent: true, dataDir, port: pg.port });
    const restartedAt = Date.now();
    const back = await until(
      'intake answers again',
      async () => {
        const r = await postCase(api.url, fx.handlerKey, fx.body(fx.eans[1]!));
        return r.status === 201 ? r : undefined;
      },
      60_000,
    );
    console.info(
      `PostgreSQL killed: 40 intakes at once all 503 within ${Math.round(down.ms)} ms; 201 again ${Date.now() - restartedAt} ms after the restart`,
    );
    expect(back.status).toBe(201);
  }, 300_000);
});

describe('PostgreSQL frozen (SIGSTOP: no answer, no closed socket, as in a network partition)', () => {
  let pg: EmbeddedPostgres | undefined;
  let frozen = false;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gt-fault-pg-frozen-'));
    await chmod(work, 0o711);
  });
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
  let stopped: number[] = [];
  const signalAll = (pids: number[], signal: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone meanwhile
      }
    }
  };

  afterAll(async () => {
    if (frozen) signalAll(stopped, 'SIGCONT');
    await pg?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  it('503 database_unavailable within 2 s instead of waiting for TCP; serves again once it answers', async () => {
    pg = await startEmbeddedPostgres({ persistent: true, dataDir: join(work, 'pg') });
    await runMigrations(pg.url);
    const handle = createDb(pg.url, { max: 2 });
    const fx = await caseFixture(handle.db, 3);
    const p4Key = await makeKey(handle.db, 'p4-client', { partyId: fx.party.id });
    await handle.close();
    const api = track(
      await spawnApi({
        DATABASE_URL: pg.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        SMTP_URL: inject('smtpUrl'),
        TEMPORAL_TASK_QUEUE: `faults-pg-frozen-${tag()}`,
      }),
    );
    const gateOnce = () => askGate(api.url, p4Key, fx.eans[2]!);
    expect((await gateOnce()).status).toBe(200);
    expect((await postCase(api.url, fx.handlerKey, fx.body(fx.eans[0]!))).status).toBe(201);

    // The whole cluster (postmaster first, so it forks no more, then every backend) stops answering; its
    // sockets stay open.
    stopped = await clusterPids();
    signalAll(stopped.slice(0, 1), 'SIGSTOP');
    stopped = await clusterPids();
    signalAll(stopped, 'SIGSTOP');
    frozen = true;
    const hung = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answers within 15 s\n${api.output()}`)), 15_000).unref(),
    );
    const answers = await Promise.race([
      hung,
      Promise.all([
        ...Array.from({ length: 10 }, (_, i) =>
          postCase(api.url, fx.handlerKey, fx.body(fx.eans[1]!), `f-${tag()}-${i}`),
        ),
        ...Array.from({ length: 10 }, () => gateOnce()),
      ]),
    ]);
    for (const r of answers) {
      expect(r.status, r.body).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'database_unavailable', details: { dependency: 'database' } });
      expect(r.retryAfter).toBeTruthy();
    }
    const slowest = Math.max(...answers.map((r) => r.ms));
    expect(slowest).toBeLessThan(FAST_503_MS);
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);

    signalAll(stopped, 'SIGCONT');
    frozen = false;
    const thawedAt = Date.now();
    const back = await until(
      'the gate answers again',
      async () => {
        const r = await gateOnce();
        return r.status === 200 ? r : undefined;
      },
      30_000,
    );
    console.info(
      `PostgreSQL frozen: 20 requests all 503 within ${Math.round(slowest)} ms; 200 again ${Date.now() - thawedAt} ms after it resumed`,
    );
    expect(back.status).toBe(200);
  }, 300_000);
});
