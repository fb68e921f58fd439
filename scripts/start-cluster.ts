/**
 * The production shape on one machine (`npm run up:cluster`): every part its own process, as in a deployment.
 *
 *   PostgreSQL   embedded, data in $DATA_DIR/cluster/postgres     (DATABASE_URL: that server instead)
 *   Temporal     the self-hosted server on that PostgreSQL, databases temporal + temporal_visibility, schemas
 *                set up and upgraded by temporal-sql-tool, namespace and search attributes registered
 *                (TEMPORAL_ADDRESS: that frontend instead)
 *   SMTP         capture, mail in $DATA_DIR/cluster/mail          (SMTP_URL: that server instead)
 *   then migrations and demo data (SEED_DEMO), 2 workers (`worker.ts`) and 2 APIs (`server.ts`) on PORT, PORT+1.
 *
 * Options: --apis N, --workers N (default 2 each), --dist (run `node dist/server.js` / `node dist/worker.js`;
 * `npm run build` first). The Node processes get the same environment as this one (WORKER_*, LOG_LEVEL, …) plus
 * the addresses above; their output goes to $DATA_DIR/cluster/logs/<name>.log. A process that exits on its own is
 * restarted. Ctrl-C or SIGTERM stops everything in order (APIs, workers drain, Temporal, SMTP, PostgreSQL).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDb } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDemo } from '../db/seed-demo.js';
import { loadConfigOrExit } from '../lib/config.js';
import { startClusterTopology, type ClusterTopology } from '../lib/infra/cluster-topology.js';
import { projectRoot } from '../lib/infra/temporal-dev-server.js';
import { createLogger } from '../lib/logger.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'cluster');
const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const { values: flags } = parseArgs({
  options: {
    apis: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    dist: { type: 'boolean', default: false },
  },
});
const count = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    say(`--${name} must be an integer from 1 to 16, got ${raw}`);
    process.exit(64);
  }
  return n;
};
const apis = count('apis', flags.apis);
const workers = count('workers', flags.workers);

const redact = (url: string): string => url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
const startedAt = Date.now();
let topology: ClusterTopology | undefined;
let shutdownPromise: Promise<void> | undefined;

function shutdown(reason: string, exitCode: number): Promise<void> {
  shutdownPromise ??= (async () => {
    logger.info({ reason }, 'shutting down');
    const t = Date.now();
    try {
      await topology?.stop();
    } catch (err) {
      exitCode = exitCode || 1;
      logger.error({ err }, 'failed to stop cleanly');
    }
    say(`Stopped (${((Date.now() - t) / 1000).toFixed(1)} s).`);
    process.exit(exitCode);
  })();
  return shutdownPromise;
}

// Ctrl-C reaches this process twice at once (terminal and npm): only a later signal means "stop waiting".
let firstSignalAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      if (topology) void shutdown(signal, 0);
      else
        say(
          `${signal}: stopping once the start is through (again to exit at once; the child processes stop with this one).`,
        );
    } else if (Date.now() - firstSignalAt > 1_000) {
      say(`Second ${signal}: exiting now (child processes stop with this process).`);
      process.exit(130);
    }
  });
}

// npm runs this with `exec`; should the parent still go away without a signal, shut down in order.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown('parent process exited', 0);
}, 1_000).unref();

async function main(): Promise<void> {
  const dataDir = join(config.dataDir, 'cluster');
  let demo: Awaited<ReturnType<typeof seedDemo>> = null;
  topology = await startClusterTopology({
    dataDir,
    databaseUrl: config.database.url,
    embeddedPgPort: config.database.embeddedPort,
    persistent: true,
    temporal: config.temporal.address ? { address: config.temporal.address } : 'self-hosted',
    temporalPort: config.temporal.devPort,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    smtpUrl: config.smtp.url,
    smtpCapturePort: config.smtp.capturePort,
    apis,
    workers,
    host: config.host,
    apiPort: config.port,
    runtime: flags.dist ? 'dist' : 'tsx',
    logger,
    beforeApis: async (databaseUrl) => {
      await runMigrations(databaseUrl);
      if (!config.seedDemo) return;
      const dbh = createDb(databaseUrl, { max: 2 });
      try {
        demo = await seedDemo(dbh.db);
      } finally {
        await dbh.close();
      }
    },
  });
  if (firstSignalAt !== undefined) return void shutdown('signal during start', 0);
  const t = topology;
  const rel = (p: string) => p.replace(`${projectRoot()}/`, '');

  say();
  say(
    `Gerede twijfel klantmandaat, cluster topology, is running (ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
  );
  for (const api of t.apis)
    say(`  ${api.name.padEnd(14)} ${api.url}  (pid ${api.pid}; ${api.url}/docs, ${api.url}/health)`);
  for (const w of t.workers) say(`  ${w.name.padEnd(14)} pid ${w.pid}, task queue ${t.taskQueue}`);
  const temporalWhat =
    t.temporalKind === 'self-hosted'
      ? `self-hosted Temporal server on PostgreSQL (databases ${t.temporalDatabases?.main}, ${t.temporalDatabases?.visibility})`
      : 'existing Temporal frontend';
  say(`  Temporal       ${t.temporalAddress}, namespace ${t.namespace}: ${temporalWhat}`);
  say(`                 .tools/bin/temporal workflow list --address ${t.temporalAddress} --namespace ${t.namespace}`);
  say(
    `  Database       ${t.embeddedPostgres ? t.databaseUrl : redact(t.databaseUrl)}${t.embeddedPostgres ? ` (data in ${rel(join(dataDir, 'postgres'))})` : ''}`,
  );
  say(t.mailDir ? `  Mail capture   ${t.smtpUrl} -> ${rel(t.mailDir)}` : `  SMTP           ${redact(t.smtpUrl)}`);
  say(`  Logs           ${rel(t.logDir)}/<name>.log`);
  if (demo) {
    const keys = (demo as NonNullable<Awaited<ReturnType<typeof seedDemo>>>).keys;
    say();
    say('Demo API keys (shown only now; only their hashes are stored; more with `npm run key:create`):');
    for (const k of keys) say(`  ${k.role.padEnd(14)} ${k.key}  ${k.label}`);
  }
  say();
  say('Each API answers for the whole system (put a load balancer in front). A process that exits is restarted.');
  say('Ctrl-C stops everything.');
}

main().catch((err: unknown) => {
  logger.error({ err }, 'start failed');
  say(`Start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
