/**
 * `npm run bench:cluster` — the same load against the dev-server shape and the cluster shape, in one run, each
 * part its own process (lib/infra/cluster-topology.ts, `node dist/server.js` / `node dist/worker.js`):
 *
 *   dev      Temporal CLI dev server (state in memory) + 1 API + 1 worker
 *   cluster  self-hosted Temporal server on PostgreSQL + 2 APIs + 2 workers
 *
 * Both get their own embedded PostgreSQL (temp dir, durable settings) and SMTP capture, the same seed (one grid
 * operator, BENCH_PARTIES service providers with a doubt contact group and a p4-client key, one connection per
 * case with an active interval-data mandate of the party its case is about) and the same load:
 *
 * 1. intake: BENCH_CASES signals to POST /cases, BENCH_CONCURRENCY at a time, round robin over the APIs as a load
 *    balancer would; right after each 201 the gate is asked for that party and connection (blocked_by_doubt_case
 *    proves the block was in force at the 201, GT-2); then every contact mail is awaited (GT-1, GT-10);
 * 2. gate: autocannon on POST /p4/requests for BENCH_GATE_DURATION s, spread over the APIs.
 *
 * Then, on the cluster only:
 *
 * 3. kill: BENCH_KILL_CASES more signals; a third of the way in, one API and one worker get SIGKILL (no restart).
 *    The load generator behaves as a load balancer with a client that retries: a refused or reset connection, or
 *    a 5xx, is retried on the other API with the same Idempotency-Key. Checked: 0 cases lost (every signal has
 *    exactly one case), 0 cases without a workflow once BOUND_S (60 s, issue 8) have passed since the kill (asked
 *    of Temporal, not only of the case row), 5xx only within that bound, every contact mail delivered (duplicates
 *    counted: a mail activity cut off by the kill is retried).
 * 4. memory: the surviving worker alone (`node dist/worker.js`, WORKER_MAX_* from the environment or the defaults
 *    of lib/config.ts) while BENCH_OPEN_CASES more cases are opened, so it holds them all open (each waits on its
 *    72-hour timer); its RSS is sampled throughout (peak = VmHWM) and after BENCH_READS random case views
 *    (GET /cases/{id} queries the live workflow, replaying evicted ones). Goal: peak ≤ 512 MiB.
 *
 * Prints the figures with the load average (the machine may be shared), PASS/FAIL per check; exit code 1 on a
 * FAIL. Environment: BENCH_CASES (500), BENCH_CONCURRENCY (20), BENCH_PARTIES (10), BENCH_GATE_DURATION (10),
 * BENCH_GATE_CONNECTIONS (40), BENCH_KILL_CASES (600), BENCH_OPEN_CASES (10000), BENCH_OPEN_CONCURRENCY (40),
 * BENCH_READS (500), BENCH_MAIL_TIMEOUT (s per wait, 1800), BENCH_PHASES (dev,cluster,kill,memory),
 * BENCH_RUNTIME (dist | tsx; dist needs `npm run build`, which the npm script runs), BENCH_WORKER_NODE_ARGS (default
 * --max-old-space-size=128, as the Dockerfile's worker; '' for none),
 * BENCH_KEEP_DATA=1.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Connection, Client, WorkflowNotFoundError } from '@temporalio/client';
import postgres from 'postgres';
import { pino } from 'pino';
import { runMigrations } from '../db/migrate.js';
import { loadConfig } from '../lib/config.js';
import {
  startClusterTopology,
  WORKER_HEAP_FLAG,
  type ClusterTopology,
  type NodeProcess,
} from '../lib/infra/cluster-topology.js';
import { projectRoot } from '../lib/infra/temporal-dev-server.js';
import { waitForContactMails } from './contact-mails.js';
import { BENCH_CODEC_ENV, benchDataConverter, intEnv } from './env.js';
import { eanOf, seedCaseLoad, type Seeded } from './seed.js';

const env = process.env;
const N = intEnv('BENCH_CASES', 500);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 20);
const PARTIES = intEnv('BENCH_PARTIES', 10);
const GATE_DURATION = intEnv('BENCH_GATE_DURATION', 10);
const GATE_CONNECTIONS = intEnv('BENCH_GATE_CONNECTIONS', 40);
const KILL_CASES = intEnv('BENCH_KILL_CASES', 600);
const OPEN_CASES = intEnv('BENCH_OPEN_CASES', 10_000);
const OPEN_CONCURRENCY = intEnv('BENCH_OPEN_CONCURRENCY', 40);
const READS = intEnv('BENCH_READS', 500, 0);
const MAIL_TIMEOUT_MS = intEnv('BENCH_MAIL_TIMEOUT', 1800) * 1000;
const PHASES = new Set((env.BENCH_PHASES ?? 'dev,cluster,kill,memory').split(',').map((p) => p.trim()));
for (const p of PHASES)
  if (!['dev', 'cluster', 'kill', 'memory'].includes(p)) throw new Error(`BENCH_PHASES: unknown phase ${p}`);
const RUNTIME = env.BENCH_RUNTIME ?? 'dist';
if (RUNTIME !== 'dist' && RUNTIME !== 'tsx') throw new Error(`BENCH_RUNTIME must be dist or tsx, got ${RUNTIME}`);
if (RUNTIME === 'dist' && !existsSync(join(projectRoot(), 'dist', 'worker.js')))
  throw new Error('dist/worker.js missing: npm run build (npm run bench:cluster does)');
/** As docs/operations.md and the Dockerfile run the worker: the main thread's heap bounded too (WORKER_WORKFLOW_HEAP_MB bounds the workflow thread's). */
const WORKER_NODE_ARGS = (env.BENCH_WORKER_NODE_ARGS ?? WORKER_HEAP_FLAG).split(' ').filter(Boolean);
/** Issue 8: a case has its workflow at most this long after a crash. */
const BOUND_S = 60;
const MEMORY_GOAL = 512 * 1024 * 1024;
const DAY = 86_400_000;

const log = (msg: string) => process.stdout.write(`[bench:cluster] ${msg}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};
const describe = (err: unknown): string => {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join(' <- ');
};

// ---------------------------------------------------------------------------------------------- load balancer

/** Round robin over the APIs; one that refused a connection or answered 5xx is skipped for a moment (passive health check). */
class Balancer {
  private next = 0;
  private readonly downUntil = new Map<string, number>();
  constructor(private readonly apis: NodeProcess[]) {}
  pick(): NodeProcess {
    const now = Date.now();
    for (let i = 0; i < this.apis.length; i++) {
      const api = this.apis[this.next++ % this.apis.length]!;
      if ((this.downUntil.get(api.name) ?? 0) <= now) return api;
    }
    return this.apis[this.next++ % this.apis.length]!;
  }
  markDown(api: NodeProcess): void {
    this.downUntil.set(api.name, Date.now() + 2_000);
  }
}

interface Incident {
  at: number;
  api: string;
  what: string;
}

interface CallResult {
  status: number;
  body: string;
  api: NodeProcess;
}

/** One logical request: retried on another API after a network error or a 5xx, until giveUpMs. */
async function call(
  lb: Balancer,
  path: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  incidents: { serverErrors: Incident[]; networkErrors: Incident[] },
  giveUpMs = 120_000,
): Promise<CallResult> {
  const deadline = Date.now() + giveUpMs;
  for (let attempt = 0; ; attempt++) {
    const api = lb.pick();
    try {
      const res = await fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
      const body = await res.text();
      if (res.status < 500) return { status: res.status, body, api };
      incidents.serverErrors.push({ at: Date.now(), api: api.name, what: `${res.status} ${body.slice(0, 160)}` });
      lb.markDown(api);
    } catch (err) {
      incidents.networkErrors.push({ at: Date.now(), api: api.name, what: describe(err) });
      lb.markDown(api);
    }
    if (Date.now() > deadline) throw new Error(`${init.method} ${path}: no answer but errors for ${giveUpMs} ms`);
    await sleep(Math.min(1_000, 50 * 2 ** attempt));
  }
}

interface IntakeResult {
  cases: Map<string, { index: number; at: number; party: number }>;
  latencies: number[];
  failures: string[];
  blocked: number;
  asked: number;
  otherReasons: Set<string>;
  serverErrors: Incident[];
  networkErrors: Incident[];
  firstPost: number;
  seconds: number;
}

async function intake(
  t: ClusterTopology,
  s: Seeded,
  indices: number[],
  opts: { concurrency: number; verifyBlock: boolean; onProgress?: (done: number) => void },
): Promise<IntakeResult> {
  const lb = new Balancer(t.apis);
  const r: IntakeResult = {
    cases: new Map(),
    latencies: [],
    failures: [],
    blocked: 0,
    asked: 0,
    otherReasons: new Set(),
    serverErrors: [],
    networkErrors: [],
    firstPost: Date.now(),
    seconds: 0,
  };
  const gateChecks: Array<Promise<void>> = [];
  let next = 0;
  let done = 0;
  const start = performance.now();
  let lastAnswer = start;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, indices.length) }, async () => {
      for (let k = next++; k < indices.length; k = next++) {
        const i = indices[k]!;
        const party = i % PARTIES;
        const t0 = performance.now();
        try {
          const res = await call(
            lb,
            '/cases',
            {
              method: 'POST',
              headers: {
                authorization: s.handlerKey,
                'content-type': 'application/json',
                'idempotency-key': `bench-cluster-${i}`,
              },
              body: JSON.stringify({
                connectionEan: eanOf(i),
                partyGln: s.parties[party]!.gln,
                channel: 'customer',
                receivedAt: new Date().toISOString(),
                reporterName: `Bench customer ${i}`,
                description: 'Customer reports interval data read through P4 without a mandate (bench).',
                isma: false,
              }),
            },
            r,
          );
          lastAnswer = Math.max(lastAnswer, performance.now());
          // 200: a retry found the case its first attempt created (the answer was lost with a killed API).
          if (res.status !== 201 && res.status !== 200) {
            r.failures.push(`case ${i}: ${res.status} ${res.body.slice(0, 200)}`);
            continue;
          }
          r.latencies.push(performance.now() - t0);
          r.cases.set((JSON.parse(res.body) as { id: string }).id, { index: i, at: Date.now(), party });
          if (opts.verifyBlock) {
            gateChecks.push(
              call(
                lb,
                '/p4/requests',
                {
                  method: 'POST',
                  headers: { authorization: s.parties[party]!.p4Key, 'content-type': 'application/json' },
                  body: JSON.stringify({
                    connectionEan: eanOf(i),
                    dataKind: 'interval_data',
                    from: new Date(Date.now() - DAY).toISOString(),
                    to: new Date().toISOString(),
                  }),
                },
                r,
              ).then(
                (g) => {
                  r.asked++;
                  const reason = (JSON.parse(g.body) as { reasonCode?: string }).reasonCode ?? `status ${g.status}`;
                  if (reason === 'blocked_by_doubt_case') r.blocked++;
                  else r.otherReasons.add(reason);
                },
                (err: unknown) => {
                  r.asked++;
                  r.otherReasons.add(`error: ${describe(err)}`);
                },
              ),
            );
          }
        } catch (err) {
          r.failures.push(`case ${i}: ${describe(err)}`);
        } finally {
          opts.onProgress?.(++done);
        }
      }
    }),
  );
  await Promise.all(gateChecks);
  r.seconds = Math.max(1, lastAnswer - start) / 1000;
  return r;
}

const mailProgress = (seen: number, total: number) => log(`  ${seen} / ${total} contact mails so far (load ${load()})`);

async function gate(
  t: ClusterTopology,
  s: Seeded,
  connectionCount: number,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }> {
  const perApi = Math.max(1, Math.floor(GATE_CONNECTIONS / t.apis.length));
  let seq = 0;
  const results = await Promise.all(
    t.apis.map((api) =>
      autocannon({
        url: api.url!,
        connections: perApi,
        duration: GATE_DURATION,
        requests: [
          {
            method: 'POST',
            path: '/p4/requests',
            setupRequest: (req: Record<string, unknown>) => {
              const i = (seq++ * 7919) % connectionCount;
              const now = Date.now();
              req.body = JSON.stringify({
                connectionEan: eanOf(i),
                dataKind: 'interval_data',
                from: new Date(now - DAY).toISOString(),
                to: new Date(now).toISOString(),
              });
              req.headers = { 'content-type': 'application/json', authorization: s.parties[i % PARTIES]!.p4Key };
              return req;
            },
          },
        ],
      } as autocannon.Options),
    ),
  );
  return {
    rps: results.reduce((a, r) => a + r.requests.average, 0),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    non2xx: results.reduce((a, r) => a + r.non2xx, 0),
    errors: results.reduce((a, r) => a + r.errors + r.timeouts, 0),
  };
}

// ---------------------------------------------------------------------------------------------- report

const checks: Array<{ name: string; ok: boolean }> = [];
const rows: string[] = [];
function check(name: string, ok: boolean): string {
  checks.push({ name, ok });
  return ok ? 'PASS' : 'FAIL';
}
const line = (k: string, v: string) => process.stdout.write(`  ${k.padEnd(40)} ${v}\n`);

function reportIntake(
  title: string,
  n: number,
  r: IntakeResult,
  mails: Awaited<ReturnType<typeof waitForContactMails>>,
  verified: boolean,
): { rps: number; p99: number; mailP50: number; mailP99: number } {
  process.stdout.write(`\n${title}\n`);
  const rps = r.latencies.length / r.seconds;
  line(
    'cases created (201/200)',
    `${r.cases.size} / ${n}${r.failures.length ? ` (${r.failures.length} failed)` : ''} ${check(`${title}: every case created`, r.cases.size === n)}`,
  );
  line('intake throughput', `${rps.toFixed(1)} cases/s (${secs(r.seconds * 1000)})`);
  line(
    'intake latency p50 / p99',
    `${percentile(r.latencies, 50).toFixed(0)} ms / ${percentile(r.latencies, 99).toFixed(0)} ms`,
  );
  if (verified) {
    line(
      'block in force right after the 201',
      `${r.blocked} of ${r.asked} ${check(`${title}: blocks`, r.blocked === n && r.asked === n)}${r.otherReasons.size ? ` (other: ${[...r.otherReasons].slice(0, 3).join(', ')})` : ''}`,
    );
  }
  const dupes = [...mails.seen.values()].filter((c) => c > 1).length;
  line(
    'contact mails received',
    `${mails.seen.size} / ${r.cases.size}${dupes ? `, ${dupes} cases mailed twice` : ''}${mails.recipientsOk ? '' : ' (some not exactly to the party’s doubt contact group!)'} ${check(`${title}: every contact mail`, mails.seen.size === r.cases.size && r.cases.size === n && mails.recipientsOk)}`,
  );
  line(
    'cases told a second deadline',
    `${mails.secondDeadline} (a repeated send states the same reply-by and Message-ID) ${check(`${title}: one deadline per case`, mails.secondDeadline === 0)}`,
  );
  const mailP50 = percentile(mails.delays, 50);
  const mailP99 = percentile(mails.delays, 99);
  if (mails.delays.length)
    line(
      '201 → contact mail p50 / p99 / max',
      `${secs(mailP50)} / ${secs(mailP99)} / ${secs(Math.max(...mails.delays))}`,
    );
  for (const f of r.failures.slice(0, 5)) log(`failure: ${f}`);
  return { rps, p99: percentile(r.latencies, 99), mailP50, mailP99 };
}

// ---------------------------------------------------------------------------------------------- phases

let current: ClusterTopology | undefined;
const tempDirs: string[] = [];

async function startShape(
  kind: 'dev' | 'cluster',
  connectionCount: number,
): Promise<{ t: ClusterTopology; s: Seeded }> {
  const dir = await mkdtemp(join(tmpdir(), `gt-bench-cluster-${kind}-`));
  tempDirs.push(dir);
  // As root, PostgreSQL runs as the postgres user: it must be able to pass through to <dir>/postgres.
  await chmod(dir, 0o711);
  let seeded: Seeded | undefined;
  const t0 = Date.now();
  const t = await startClusterTopology({
    dataDir: dir,
    persistent: true, // durable settings (fsync on), as production; the temp dir goes at the end
    temporal: kind === 'dev' ? 'dev' : 'self-hosted',
    namespace: 'default',
    taskQueue: 'gerede-twijfel',
    apis: kind === 'dev' ? 1 : 2,
    workers: kind === 'dev' ? 1 : 2,
    host: '127.0.0.1',
    apiPort: 0,
    runtime: RUNTIME as 'dist' | 'tsx',
    env: { NODE_ENV: 'production', ACM_REPORT_EMAIL: 'meldingen@acm.example', LOG_LEVEL: 'warn', ...BENCH_CODEC_ENV },
    workerNodeArgs: WORKER_NODE_ARGS,
    restart: false,
    logger: pino({ level: 'warn' }),
    beforeApis: async (url) => {
      await runMigrations(url);
      seeded = await seedCaseLoad(url, { parties: PARTIES, connections: connectionCount });
    },
  });
  current = t;
  log(
    `${kind}: ${t.apis.length} API + ${t.workers.length} worker processes (${RUNTIME}), Temporal ${t.temporalKind} at ${t.temporalAddress}, ${connectionCount} connections seeded; up in ${secs(Date.now() - t0)} (load ${load()})`,
  );
  return { t, s: seeded! };
}

async function stopShape(): Promise<void> {
  const t = current;
  current = undefined;
  await t?.stop();
}

async function intakePhase(kind: 'dev' | 'cluster', t: ClusterTopology, s: Seeded): Promise<void> {
  log(`${kind}: posting ${N} cases, ${CONCURRENCY} at a time (load ${load()})`);
  const r = await intake(
    t,
    s,
    Array.from({ length: N }, (_, i) => i),
    { concurrency: CONCURRENCY, verifyBlock: true },
  );
  log(`${kind}: intake done in ${secs(r.seconds * 1000)}; waiting for the contact mails…`);
  const mails = await waitForContactMails(t.mailDir!, r.cases, Date.now() + MAIL_TIMEOUT_MS, mailProgress);
  const figures = reportIntake(
    `${kind} (${t.apis.length} API, ${t.workers.length} worker, Temporal ${t.temporalKind}) — ${N} cases, concurrency ${CONCURRENCY}`,
    N,
    r,
    mails,
    true,
  );
  log(`${kind}: gate for ${GATE_DURATION} s over ${t.apis.length} API(s), ${GATE_CONNECTIONS} connections…`);
  const g = await gate(t, s, N);
  line(
    'gate (POST /p4/requests)',
    `${g.rps.toFixed(0)} req/s, p50 ${g.p50} ms / p99 ${g.p99} ms${g.non2xx || g.errors ? `, ${g.non2xx} non-2xx, ${g.errors} errors` : ''} ${check(`${kind}: gate answers`, g.non2xx === 0 && g.errors === 0)}`,
  );
  rows.push(
    `| ${kind} | ${figures.rps.toFixed(1)} | ${figures.p99.toFixed(0)} ms | ${secs(figures.mailP50)} / ${secs(figures.mailP99)} | ${g.rps.toFixed(0)} (p99 ${g.p99} ms) | ${load()} |`,
  );
}

async function killPhase(t: ClusterTopology, s: Seeded): Promise<void> {
  const indices = Array.from({ length: KILL_CASES }, (_, k) => N + k);
  const [api, worker] = [t.apis[0]!, t.workers[0]!];
  let killedAt = 0;
  log(
    `kill: posting ${KILL_CASES} cases; SIGKILL to ${api.name} (pid ${api.pid}) and ${worker.name} (pid ${worker.pid}) after ${Math.floor(KILL_CASES / 3)} (load ${load()})`,
  );
  const r = await intake(t, s, indices, {
    concurrency: CONCURRENCY,
    verifyBlock: true,
    onProgress: (done) => {
      if (done === Math.floor(KILL_CASES / 3) && killedAt === 0) {
        killedAt = Date.now();
        api.kill('SIGKILL');
        worker.kill('SIGKILL');
        log(`  killed ${api.name} and ${worker.name}`);
      }
    },
  });
  log(`kill: intake done in ${secs(r.seconds * 1000)}; waiting for the contact mails…`);
  const mails = await waitForContactMails(t.mailDir!, r.cases, Date.now() + MAIL_TIMEOUT_MS, mailProgress);
  const figures = reportIntake(
    `kill: ${KILL_CASES} cases on the cluster, ${api.name} and ${worker.name} SIGKILLed after ${Math.floor(KILL_CASES / 3)}`,
    KILL_CASES,
    r,
    mails,
    true,
  );

  // Cases lost: every signal has exactly one case row.
  const sql = postgres(t.databaseUrl, { max: 1, onnotice: () => undefined });
  const connection = await Connection.connect({ address: t.temporalAddress });
  try {
    const eans = indices.map(eanOf);
    const [counts] = await sql<
      Array<{ cases: number; connections: number }>
    >`select count(*)::int as cases, count(distinct connection_ean)::int as connections from doubt_cases where connection_ean in ${sql(eans)}`;
    line(
      'cases lost',
      `${KILL_CASES - counts!.connections} (${counts!.cases} case rows for ${KILL_CASES} signals) ${check('kill: 0 cases lost, none twice', counts!.connections === KILL_CASES && counts!.cases === KILL_CASES)}`,
    );

    // Cases without a workflow once the bound has passed: asked of Temporal for every case the row does not mark.
    const wait = killedAt + BOUND_S * 1000 - Date.now();
    if (wait > 0) {
      log(`kill: waiting ${secs(wait)} until ${BOUND_S} s after the kill`);
      await sleep(wait);
    }
    const unmarked = await sql<
      Array<{ id: string }>
    >`select id from doubt_cases where connection_ean in ${sql(eans)} and workflow_started_at is null`;
    const client = new Client({ connection, dataConverter: benchDataConverter() });
    let without = 0;
    for (const { id } of unmarked) {
      try {
        await client.workflow.getHandle(id).describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) without++;
        else throw err;
      }
    }
    line(
      `cases without a workflow ${BOUND_S} s after the kill`,
      `${without} (${unmarked.length} rows not marked started) ${check(`kill: 0 cases without a workflow after ${BOUND_S} s`, without === 0)}`,
    );
  } finally {
    await connection.close();
    await sql.end();
  }
  const after = (i: Incident) => i.at > killedAt + BOUND_S * 1000;
  const rel = (i: Incident) => `+${((i.at - killedAt) / 1000).toFixed(1)} s`;
  line(
    '5xx answers (retried on the other API)',
    `${r.serverErrors.length}${r.serverErrors.length ? `, ${rel(r.serverErrors[0]!)} … ${rel(r.serverErrors.at(-1)!)} after the kill` : ''} ${check(`kill: 5xx only within ${BOUND_S} s`, !r.serverErrors.some(after))}`,
  );
  for (const e of r.serverErrors.slice(0, 3)) log(`  5xx ${rel(e)} ${e.api}: ${e.what}`);
  line(
    'refused/reset connections (retried)',
    `${r.networkErrors.length}${r.networkErrors.length ? `, ${rel(r.networkErrors[0]!)} … ${rel(r.networkErrors.at(-1)!)}` : ''}`,
  );
  rows.push(
    `| kill | ${figures.rps.toFixed(1)} | ${figures.p99.toFixed(0)} ms | ${secs(figures.mailP50)} / ${secs(figures.mailP99)} | — | ${load()} |`,
  );
}

async function memoryPhase(t: ClusterTopology, s: Seeded): Promise<void> {
  // The worker alone: stop the others (after the kill phase only the second one is left).
  const alive = t.workers.filter((w) => w.pid > 0);
  const worker = alive.at(-1)!;
  for (const other of alive.slice(0, -1)) {
    other.kill('SIGTERM');
    await other.exited();
  }
  const first = N + (PHASES.has('kill') ? KILL_CASES : 0);
  const indices = Array.from({ length: OPEN_CASES }, (_, k) => first + k);
  log(
    `memory: ${worker.name} (pid ${worker.pid}) alone; opening ${OPEN_CASES} more cases, ${OPEN_CONCURRENCY} at a time (load ${load()})`,
  );
  let peakSampled = 0;
  const sampler = setInterval(() => {
    void worker.memory().then((m) => {
      if (m) peakSampled = Math.max(peakSampled, m.rss);
    });
  }, 2_000);
  try {
    const t0 = Date.now();
    const r = await intake(t, s, indices, {
      concurrency: OPEN_CONCURRENCY,
      verifyBlock: false,
      onProgress: (done) => {
        if (done % 1000 === 0)
          void worker
            .memory()
            .then((m) =>
              log(
                `  ${done} / ${OPEN_CASES} posted in ${secs(Date.now() - t0)}; worker RSS ${m ? mib(m.rss) : '?'} (load ${load()})`,
              ),
            );
      },
    });
    const mails = await waitForContactMails(t.mailDir!, r.cases, Date.now() + MAIL_TIMEOUT_MS, mailProgress);
    const afterIntake = await worker.memory();
    const connection = await Connection.connect({ address: t.temporalAddress });
    let open = 0;
    try {
      open = (
        await new Client({ connection, dataConverter: benchDataConverter() }).workflow.count(
          `CaseKind = 'doubt_case' AND ExecutionStatus = 'Running'`,
        )
      ).count;
    } finally {
      await connection.close();
    }

    // Case views query the live workflow: evicted ones are replayed from their history on this worker.
    const ids = [...r.cases.keys()];
    const lb = new Balancer(t.apis.filter((a) => a.pid > 0));
    let views = 0;
    let live = 0;
    const tr = Date.now();
    await Promise.all(
      Array.from({ length: 10 }, async (_, k) => {
        for (let j = k; j < READS; j += 10) {
          const id = ids[(j * 7919) % ids.length]!;
          const res = await call(
            lb,
            `/cases/${id}`,
            { method: 'GET', headers: { authorization: s.handlerKey } },
            { serverErrors: [], networkErrors: [] },
          );
          if (res.status === 200) {
            views++;
            if ((JSON.parse(res.body) as { workflow: unknown }).workflow !== null) live++;
          }
        }
      }),
    );
    const afterReads = await worker.memory();
    const peak = Math.max(peakSampled, afterIntake?.peak ?? 0, afterReads?.peak ?? 0);

    process.stdout.write(
      `\nmemory: ${worker.name} alone (node ${RUNTIME === 'dist' ? 'dist/worker.js' : 'worker.ts via tsx'}), ${OPEN_CASES} cases opened\n`,
    );
    line(
      'cases opened / contact mails',
      `${r.cases.size} / ${mails.seen.size} ${check('memory: every case opened and mailed', r.cases.size === OPEN_CASES && mails.seen.size === OPEN_CASES)}`,
    );
    line('open case workflows in Temporal', `${open}`);
    line('worker RSS after the intake', afterIntake ? mib(afterIntake.rss) : '?');
    line(
      `worker RSS after ${READS} case views`,
      `${afterReads ? mib(afterReads.rss) : '?'} (${live} of ${views} views with the live workflow state, ${secs(Date.now() - tr)})`,
    );
    line(
      'worker peak RSS (VmHWM)',
      `${mib(peak)} ${check('memory: worker peak RSS ≤ 512 MiB', peak <= MEMORY_GOAL && peak > 0)}`,
    );
    const bounds = loadConfig(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('WORKER_')))).worker;
    line(
      'worker bounds',
      `cache ${bounds.maxCachedWorkflows} workflows, ${bounds.maxConcurrentWorkflowTasks} workflow tasks, ${bounds.maxConcurrentActivities} activities, workflow thread heap ${bounds.workflowHeapMb || 'default'} MiB${WORKER_NODE_ARGS.length ? `, node ${WORKER_NODE_ARGS.join(' ')}` : ''}`,
    );
    rows.push(
      `| memory | ${(r.latencies.length / r.seconds).toFixed(1)} | ${percentile(r.latencies, 99).toFixed(0)} ms | ${mails.delays.length ? `${secs(percentile(mails.delays, 50))} / ${secs(percentile(mails.delays, 99))}` : '—'} | peak RSS ${mib(peak)}, ${open} open | ${load()} |`,
    );
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  log(`load average at start: ${load()}; phases ${[...PHASES].join(', ')}`);
  if (PHASES.has('dev')) {
    const { t, s } = await startShape('dev', N);
    await intakePhase('dev', t, s);
    await stopShape();
  }
  if (PHASES.has('cluster') || PHASES.has('kill') || PHASES.has('memory')) {
    const total = N + (PHASES.has('kill') ? KILL_CASES : 0) + (PHASES.has('memory') ? OPEN_CASES : 0);
    const { t, s } = await startShape('cluster', total);
    if (PHASES.has('cluster')) await intakePhase('cluster', t, s);
    if (PHASES.has('kill')) await killPhase(t, s);
    if (PHASES.has('memory')) await memoryPhase(t, s);
    await stopShape();
  }
  process.stdout.write(
    '\n| run | intake cases/s | intake p99 | 201 → mail p50 / p99 | gate req/s | load avg (end) |\n| --- | --- | --- | --- | --- | --- |\n',
  );
  for (const r of rows) process.stdout.write(`${r}\n`);
  const failed = checks.filter((c) => !c.ok);
  process.stdout.write(
    `\n${checks.length - failed.length} of ${checks.length} checks PASS${failed.length ? `; FAIL: ${failed.map((c) => c.name).join('; ')}` : ''}\n`,
  );
  log(`total ${secs(Date.now() - t0)}; load average at the end: ${load()}`);
  if (failed.length) process.exitCode = 1;
}

async function cleanup(): Promise<void> {
  await stopShape().catch((err: unknown) => log(`could not stop cleanly: ${describe(err)}`));
  for (const dir of tempDirs.splice(0)) {
    if (env.BENCH_KEEP_DATA === '1') log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .catch((err: unknown) => {
    process.exitCode = 1;
    process.stderr.write(
      `[bench:cluster] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    if (err instanceof Error && err.cause) process.stderr.write(`  cause: ${describe(err.cause)}\n`);
  })
  .finally(async () => {
    await cleanup();
    log('stopped everything');
  });
