/**
 * `npm run bench:cases` — doubt-case intake end to end, on this machine, with nothing shared:
 *
 * 1. Starts its own embedded PostgreSQL (temp dir, durable defaults: fsync and synchronous commit on),
 *    SMTP capture (temp dir) and Temporal dev server (state in memory; BENCH_TEMPORAL_DB=file keeps it in a
 *    SQLite file in the temp dir, as `npm start` does),
 *    applies the migrations and seeds one grid operator, BENCH_PARTIES service providers (each with one
 *    member in its CPR doubt contact group, GT-10, and a p4-client key), BENCH_CASES connections (one per
 *    case, so cases never collide) with an active interval-data mandate of the party the case will be
 *    about, and a case-handler key.
 * 2. Starts the Temporal worker (worker.ts) and the API (buildApp, listening on a free port) in this process.
 * 3. Checks that without a block the gate would allow those reads (a sample), then POSTs BENCH_CASES
 *    signals to POST /cases over HTTP, BENCH_CONCURRENCY at a time. The moment a 201 arrives it asks the
 *    P4 gate (POST /p4/requests, the party's p4-client key) for interval data of that connection: because
 *    the question is asked only after the 201, a `blocked_by_doubt_case` answer proves the block was in
 *    force when the 201 returned (GT-2). The gate calls run beside the intake, not inside its slots, so
 *    they do not slow the intake down.
 * 4. Waits until the capture holds the contact request (GT-1, GT-10: X-Case-Id and X-Response-Due headers)
 *    of every case, polling the capture's folder.
 * 5. Prints intake throughput, p50/p99 intake latency, the block-in-force share and the time from the first
 *    POST until the last contact mail arrived; stops everything and removes the temp dir. Exit code 1 when
 *    a case was refused, a gate answer was not `blocked_by_doubt_case`, or mail is missing.
 *
 * Environment: BENCH_CASES (default 1000), BENCH_CONCURRENCY (20), BENCH_PARTIES (10), BENCH_MAIL_TIMEOUT
 * (s to wait for the mails, default 300), BENCH_POOL_MAX (API and worker pools, default 10),
 * BENCH_TEMPORAL_DB (memory | file, default memory: the dev server's single SQLite connection is the
 * bottleneck on two cores, disk writes make it slower still), BENCH_KEEP_DATA=1 (keep the temp dir).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import { createDb } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { loadConfig } from '../lib/config.js';
import { startEmbeddedPostgres } from '../lib/infra/embedded-postgres.js';
import { startSmtpCapture } from '../lib/infra/smtp-capture.js';
import { connectClient } from '../lib/infra/temporal-connection.js';
import { startTemporalDevServer } from '../lib/infra/temporal-dev-server.js';
import { startWorker } from '../worker.js';

import { BENCH_CODEC_ENV, intEnv } from './env.js';
import { waitForContactMails } from './contact-mails.js';
import { eanOf, seedCaseLoad, type Seeded } from './seed.js';

const env = process.env;
const N = intEnv('BENCH_CASES', 1000);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 20);
const PARTIES = intEnv('BENCH_PARTIES', 10);
const MAIL_TIMEOUT_MS = intEnv('BENCH_MAIL_TIMEOUT', 300) * 1000;
const POOL_MAX = intEnv('BENCH_POOL_MAX', 10);
const TEMPORAL_DB = env.BENCH_TEMPORAL_DB ?? 'memory';
if (TEMPORAL_DB !== 'memory' && TEMPORAL_DB !== 'file')
  throw new Error(`BENCH_TEMPORAL_DB must be memory or file, got ${TEMPORAL_DB}`);
const DAY = 86_400_000;
const log = (msg: string) => process.stdout.write(`[bench:cases] ${msg}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** An error's message with its causes (fetch failures carry the socket error as the cause). */
const describe = (err: unknown): string => {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join(' <- ');
};

/** A stop function per started part, run in reverse order at the end whatever happened. */
const running: Array<{ name: string; stop: () => Promise<unknown> }> = [];
async function stopAll(): Promise<void> {
  for (const part of running.splice(0).reverse()) {
    try {
      await part.stop();
    } catch (err) {
      process.exitCode = 1;
      log(`could not stop ${part.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** The body of POST /cases for case i (see api/schemas/cases.ts). */
function caseBody(i: number, s: Seeded): Record<string, unknown> {
  return {
    connectionEan: eanOf(i),
    partyGln: s.parties[i % PARTIES]!.gln,
    channel: 'customer',
    receivedAt: new Date().toISOString(),
    reporterName: `Bench customer ${i}`,
    description: 'Customer reports interval data read through P4 without a mandate (bench).',
    isma: false,
  };
}

interface GateAnswer {
  reasonCode: string;
  allowed: boolean;
}

async function askGate(base: string, key: string, ean: string): Promise<GateAnswer> {
  const now = Date.now();
  const res = await fetch(`${base}/p4/requests`, {
    method: 'POST',
    headers: { authorization: key, 'content-type': 'application/json' },
    body: JSON.stringify({
      connectionEan: ean,
      dataKind: 'interval_data',
      from: new Date(now - DAY).toISOString(),
      to: new Date(now).toISOString(),
    }),
  });
  const body = (await res.json()) as GateAnswer & { code?: string };
  if (res.status !== 200) throw new Error(`gate answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

async function main(): Promise<void> {
  const t0 = Date.now();
  const logger = pino({ level: 'warn' });
  const root = await mkdtemp(join(tmpdir(), 'gt-bench-cases-'));
  // PostgreSQL gets its own temp dir: as root its cluster directory is handed to the postgres user.
  const pgDir = await mkdtemp(join(tmpdir(), 'gt-bench-cases-pg-'));
  for (const dir of [root, pgDir]) {
    running.push({
      name: `temp dir ${dir}`,
      stop: () =>
        env.BENCH_KEEP_DATA === '1' ? Promise.resolve(log(`kept ${dir}`)) : rm(dir, { recursive: true, force: true }),
    });
  }

  // One after the other: each picks a free port and binds it before the next looks (the Temporal dev server
  // also binds internal ports of its own), so parallel starts could race for the same port.
  const pg = await startEmbeddedPostgres({ persistent: true, dataDir: pgDir, logger });
  running.push({ name: 'PostgreSQL', stop: () => pg.stop() });
  const temporal = await startTemporalDevServer({
    headless: true,
    logger,
    ...(TEMPORAL_DB === 'file' ? { dbFile: join(root, 'temporal.db') } : {}),
  });
  running.push({ name: 'Temporal dev server', stop: () => temporal.stop() });
  const smtp = await startSmtpCapture({ dir: join(root, 'mail'), logger });
  running.push({ name: 'SMTP capture', stop: () => smtp.stop() });
  log(
    `PostgreSQL, Temporal dev server (${temporal.address}, state ${TEMPORAL_DB === 'file' ? 'in a SQLite file' : 'in memory'}) and SMTP capture up in ${secs(Date.now() - t0)}`,
  );
  await runMigrations(pg.url);
  let t = Date.now();
  const seeded = await seedCaseLoad(pg.url, { parties: PARTIES, connections: N });
  log(`seeded ${N} connections and mandates, ${PARTIES} service providers in ${secs(Date.now() - t)}`);

  const config = loadConfig({
    NODE_ENV: 'production',
    ...BENCH_CODEC_ENV,
    ACM_REPORT_EMAIL: 'meldingen@acm.example',
    PUBLIC_URL: 'https://gerede-twijfel.example',
    LOG_LEVEL: 'warn',
    PORT: '0',
    DATABASE_URL: pg.url,
    DATABASE_POOL_MAX: String(POOL_MAX),
    TEMPORAL_ADDRESS: temporal.address,
    SMTP_URL: smtp.url,
    SEED_DEMO: 'false',
    DATA_DIR: root,
  });
  t = Date.now();
  // The GT-5 schedule is left out: its scan is not part of intake and would only add noise.
  const worker = await startWorker({
    config,
    temporalAddress: temporal.address,
    databaseUrl: pg.url,
    smtpUrl: smtp.url,
    logger,
    schedule: false,
  });
  running.push({ name: 'worker', stop: () => worker.shutdown() });
  const { connection, client } = await connectClient(config.temporal, temporal.address);
  running.push({ name: 'Temporal client', stop: () => connection.close() });
  const dbh = createDb(pg.url, { max: POOL_MAX });
  running.push({ name: 'database pool', stop: () => dbh.close() });
  const app = await buildApp({ config, db: dbh.db, sql: dbh.sql, temporal: client, logger: false });
  running.push({ name: 'API', stop: () => app.close() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  log(`worker and API (${base}) up in ${secs(Date.now() - t)}`);

  // Without a block the gate allows these reads: the denials below are the block's doing.
  const sample = Array.from({ length: Math.min(N, 20) }, (_, k) => Math.floor((k * N) / Math.min(N, 20)));
  for (const i of sample) {
    const a = await askGate(base, seeded.parties[i % PARTIES]!.p4Key, eanOf(i));
    if (!a.allowed) throw new Error(`before any case the gate denied connection ${i}: ${a.reasonCode}`);
  }
  log(
    `gate allows the sample of ${sample.length} reads before any case; posting ${N} cases, ${CONCURRENCY} at a time…`,
  );

  const latencies: number[] = [];
  const failures: string[] = [];
  const gateAnswers: Array<Promise<string>> = [];
  /** Case id → wall-clock time of its 201 and the party it is about. */
  const caseIds = new Map<string, { at: number; party: number }>();
  let next = 0;
  let lastAnswer = 0;
  const first = performance.now();
  const firstWall = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, N) }, async () => {
      for (let i = next++; i < N; i = next++) {
        const start = performance.now();
        let res: Response;
        try {
          res = await fetch(`${base}/cases`, {
            method: 'POST',
            headers: {
              authorization: seeded.handlerKey,
              'content-type': 'application/json',
              'idempotency-key': randomUUID(),
            },
            body: JSON.stringify(caseBody(i, seeded)),
          });
        } catch (err) {
          failures.push(`case ${i}: ${describe(err)}`);
          continue;
        }
        const text = await res.text();
        const end = performance.now();
        lastAnswer = Math.max(lastAnswer, end);
        if (res.status !== 201) {
          failures.push(`case ${i}: ${res.status} ${text.slice(0, 300)}`);
          continue;
        }
        latencies.push(end - start);
        caseIds.set((JSON.parse(text) as { id: string }).id, { at: Date.now(), party: i % PARTIES });
        // Asked only now, after the 201: a denial shows the block was committed before the answer.
        gateAnswers.push(
          askGate(base, seeded.parties[i % PARTIES]!.p4Key, eanOf(i)).then(
            (a) => a.reasonCode,
            (err: unknown) => `error: ${describe(err)}`,
          ),
        );
      }
    }),
  );
  const intakeMs = Math.max(1, lastAnswer - first);
  const reasons = await Promise.all(gateAnswers);
  const blocked = reasons.filter((r) => r === 'blocked_by_doubt_case').length;
  log(`intake done in ${secs(intakeMs)}; waiting for the contact mails…`);

  const mails = await waitForContactMails(smtp.dir, caseIds, Date.now() + MAIL_TIMEOUT_MS, (seen, total) =>
    log(`  ${seen} / ${total} contact mails so far`),
  );
  const sorted = [...latencies].sort((a, b) => a - b);
  const otherReasons = [...new Set(reasons.filter((r) => r !== 'blocked_by_doubt_case'))];

  const line = (k: string, v: string) => process.stdout.write(`  ${k.padEnd(34)} ${v}\n`);
  process.stdout.write(`\nbench:cases — ${N} cases, concurrency ${CONCURRENCY}, ${PARTIES} parties\n`);
  line('cases created (201)', `${latencies.length} / ${N}${failures.length ? ` (${failures.length} failed)` : ''}`);
  line('intake throughput', `${((latencies.length / intakeMs) * 1000).toFixed(1)} cases/s (${secs(intakeMs)})`);
  line('intake latency p50 / p99', `${percentile(sorted, 50).toFixed(0)} ms / ${percentile(sorted, 99).toFixed(0)} ms`);
  line(
    'block in force right after the 201',
    `${((blocked / N) * 100).toFixed(1)} % (${blocked} of ${N} asked after the 201: blocked_by_doubt_case) ${blocked === N ? 'PASS' : 'FAIL'}`,
  );
  if (otherReasons.length) line('other gate answers', otherReasons.join(', '));
  line(
    'contact mails received',
    `${mails.seen.size} / ${N}${mails.recipientsOk ? '' : ' (some not exactly to the party’s doubt contact group!)'} ${mails.seen.size === N && mails.recipientsOk ? 'PASS' : 'FAIL'}`,
  );
  if (mails.seen.size > 0) {
    line('first POST → last contact mail', `${secs(mails.lastAt - firstWall)}`);
    const d = [...mails.delays].sort((a, b) => a - b);
    line('201 → contact mail p50 / p99', `${secs(percentile(d, 50))} / ${secs(percentile(d, 99))}`);
  }
  line('total bench time', secs(Date.now() - t0));
  for (const f of failures.slice(0, 5)) log(`failure: ${f}`);

  const ok = failures.length === 0 && blocked === N && mails.seen.size === N && mails.recipientsOk;
  if (!ok) {
    process.exitCode = 1;
    log('FAIL: not every case was created, blocked right after its 201 and mailed');
  }
}

// Ctrl-C: stop what was started (the child processes would die with this process anyway).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .catch((err: unknown) => {
    process.exitCode = 1;
    process.stderr.write(`[bench:cases] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (err instanceof Error && err.cause)
      process.stderr.write(`  cause: ${String((err.cause as Error).stack ?? err.cause)}\n`);
  })
  .finally(async () => {
    await stopAll();
    log('stopped everything');
  });
