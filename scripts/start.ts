/**
 * One command for the whole system on one machine (`npm start`):
 *
 *   PostgreSQL   embedded, data in $DATA_DIR/postgres          (skipped when DATABASE_URL is set)
 *   Temporal     CLI dev server, state in $DATA_DIR/temporal.db (skipped when TEMPORAL_ADDRESS is set)
 *   SMTP         local capture, mail in $DATA_DIR/mail          (skipped when SMTP_URL is set)
 *   then: migrations, demo data (SEED_DEMO), the Temporal worker and the API.
 *
 * SIGINT/SIGTERM stop everything in reverse order: the API stops taking requests, the worker drains,
 * then Temporal, SMTP and PostgreSQL stop. A second signal forces the exit; the child processes die with
 * this process in any case (see lib/infra/supervised-process.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../api/app.js';
import { createDb, type DbHandle } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { gln as demoGln, seedDemo } from '../db/seed-demo.js';
import { loadConfigOrExit } from '../lib/config.js';
import { startEmbeddedPostgres } from '../lib/infra/embedded-postgres.js';
import { startSmtpCapture } from '../lib/infra/smtp-capture.js';
import { API_TEMPORAL_FAIL_FAST, connectClient } from '../lib/infra/temporal-connection.js';
import { startTemporalDevServer } from '../lib/infra/temporal-dev-server.js';
import { createLogger } from '../lib/logger.js';
import { createMailer } from '../notifications/mailer.js';
import { ensureRegisterPartitions, startupActor } from '../services/register/partitions.js';
import { startWorker } from '../worker.js';
import { domainGaugeCollector } from '../services/observability/domain-gauges.js';

/**
 * Issue 19: on one machine, two development OpenID Connect providers (scripts/dev-oidc.ts, a dev dependency) speak
 * for the demo grid operators Liander and Enexis, unless CONSOLE_OIDC_PROVIDERS names real ones (docs/console.md).
 */
async function startDevIdentityProviders() {
  const env = process.env;
  if (env['NODE_ENV'] === 'production' || env['CONSOLE_OIDC_PROVIDERS'] || env['CONSOLE_DEV_OIDC'] === 'false')
    return [];
  const { demoPeople, startDevOidc } = await import('./dev-oidc.js');
  const [liander, enexis] = await Promise.all([
    startDevOidc({
      port: Number(env['CONSOLE_DEV_OIDC_PORT'] ?? 9001),
      host: 'localhost',
      people: demoPeople('Liander'),
    }),
    startDevOidc({
      port: Number(env['CONSOLE_DEV_OIDC_PORT'] ?? 9001) + 1,
      host: '127.0.0.1',
      people: demoPeople('Enexis'),
    }),
  ]);
  env['CONSOLE_PUBLIC_URL'] ??= `http://localhost:${env['PORT'] ?? 3000}`;
  for (const idp of [liander!, enexis!]) idp.attach({ origin: env['CONSOLE_PUBLIC_URL'] });
  env['CONSOLE_OIDC_PROVIDERS'] = JSON.stringify([
    liander!.providerEntry('liander', 'Liander', demoGln(1)),
    enexis!.providerEntry('enexis', 'Enexis', demoGln(2)),
  ]);
  return [
    { name: 'Liander', idp: liander! },
    { name: 'Enexis', idp: enexis! },
  ];
}
const devIdentityProviders = await startDevIdentityProviders();
const config = loadConfigOrExit();
const logger = createLogger(config, 'start');
const startedAt = Date.now();
const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Started parts, stopped in reverse order. */
const running: Array<{ name: string; stop: () => Promise<unknown> }> = devIdentityProviders.map((d) => ({
  name: `development OIDC provider ${d.name}`,
  stop: () => d.idp.stop(),
}));
let shutdownPromise: Promise<void> | undefined;

async function started<T>(name: string, value: T, stop: (v: T) => Promise<unknown>): Promise<T> {
  if (shutdownPromise) {
    // A signal (or a failure elsewhere) came while this part was starting: stop it right away.
    await stop(value).catch((err: unknown) => logger.error({ err, part: name }, 'failed to stop cleanly'));
    throw new ShutdownRequested();
  }
  running.push({ name, stop: () => stop(value) });
  return value;
}

class ShutdownRequested extends Error {
  constructor() {
    super('shutdown requested during start');
  }
}

function shutdown(reason: string, exitCode: number): Promise<void> {
  shutdownPromise ??= (async () => {
    logger.info({ reason }, 'shutting down');
    const t = Date.now();
    for (const part of running.splice(0).reverse()) {
      try {
        await part.stop();
        logger.info({ part: part.name }, 'stopped');
      } catch (err) {
        exitCode = exitCode || 1;
        logger.error({ err, part: part.name }, 'failed to stop cleanly');
      }
    }
    say(`Stopped (${((Date.now() - t) / 1000).toFixed(1)} s).`);
    process.exit(exitCode);
  })();
  return shutdownPromise;
}

// Ctrl-C reaches this process twice at once (from the terminal and forwarded by npm): only a signal
// well after the first one means "stop waiting".
let firstSignalAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      void shutdown(signal, 0);
    } else if (Date.now() - firstSignalAt > 1_000) {
      say(`Second ${signal}: exiting now (child processes stop with this process).`);
      process.exit(130);
    }
  });
}

// npm runs this with `exec`, so a SIGTERM to `npm start` reaches this process. Should the parent
// still go away without one (SIGKILL), notice it and shut down in order rather than run on as an orphan.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown('parent process exited', 0);
}, 1_000).unref();

// long: the one-command start: every service in order, each printed as it comes up
async function main(): Promise<void> {
  const dataDir = config.dataDir;
  await mkdir(dataDir, { recursive: true });
  const secs = (t: number): string => `${((Date.now() - t) / 1000).toFixed(1)} s`;

  // The three services are independent: start them side by side.
  const [databaseUrl, temporal, smtp] = await Promise.all([
    (async () => {
      if (config.database.url) return { url: config.database.url, embedded: false };
      const t = Date.now();
      const pg = await startEmbeddedPostgres({
        dataDir: join(dataDir, 'postgres'),
        port: config.database.embeddedPort,
        persistent: true,
        logger,
      });
      await started('PostgreSQL', pg, (p) => p.stop());
      logger.info({ ms: Date.now() - t, dataDir: pg.dataDir }, 'PostgreSQL up');
      return { url: pg.url, embedded: true };
    })(),
    (async () => {
      if (config.temporal.address)
        return { address: config.temporal.address, uiUrl: undefined as string | undefined, embedded: false };
      const dev = await startTemporalDevServer({
        dbFile: join(dataDir, 'temporal.db'),
        port: config.temporal.devPort,
        uiPort: config.temporal.devUiPort,
        namespace: config.temporal.namespace,
        cliPath: config.temporal.cliPath,
        logger,
      });
      await started('Temporal dev server', dev, (d) => d.stop());
      return { address: dev.address, uiUrl: dev.uiUrl, embedded: true };
    })(),
    (async () => {
      if (config.smtp.url) return { url: config.smtp.url, dir: undefined as string | undefined };
      const capture = await startSmtpCapture({ port: config.smtp.capturePort, dir: join(dataDir, 'mail'), logger });
      await started('SMTP capture', capture, (c) => c.stop());
      return { url: capture.url, dir: capture.dir };
    })(),
  ]);

  let t = Date.now();
  await runMigrations(databaseUrl.url);
  logger.info({ ms: Date.now() - t }, 'migrations applied');

  const dbh: DbHandle = await started(
    'database pool',
    createDb(databaseUrl.url, { max: config.database.poolMax }),
    (h) => h.close(),
  );
  // DC-1: the register's current month exists before the first decision (domain/register-partitions.ts).
  await ensureRegisterPartitions(dbh.db, new Date(), startupActor('api'));
  let demo: Awaited<ReturnType<typeof seedDemo>> = null;
  if (config.seedDemo) demo = await seedDemo(dbh.db);

  t = Date.now();
  const worker = await startWorker({
    config,
    temporalAddress: temporal.address,
    databaseUrl: databaseUrl.url,
    smtpUrl: smtp.url,
    // One process: the worker's metrics listener (METRICS_PORT) is the API's too, with the domain gauges.
    metricsCollect: domainGaugeCollector(dbh.db),
  });
  await started('worker', worker, (w) => w.shutdown());
  logger.info({ ms: Date.now() - t }, 'worker running');

  const { connection, client } = await connectClient(config.temporal, temporal.address, {
    failFast: API_TEMPORAL_FAIL_FAST,
  });
  await started('Temporal client', connection, (c) => c.close());

  // The API sends GT-6 reports on cases whose workflow has closed itself.
  const mailer = await started('API mailer', createMailer(smtp.url, { from: config.smtp.from }), async (m) =>
    m.close(),
  );
  const app = await buildApp({
    config,
    db: dbh.db,
    sql: dbh.sql,
    databaseProbe: dbh.probe,
    temporal: client,
    mailer,
    ...(smtp.dir ? { mailCaptureDir: smtp.dir } : {}),
  });
  await started('API', app, (a) => a.close());
  await app.listen({ port: config.port, host: config.host });
  const port = (app.server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const apiUrl = `http://${host}:${port}`;

  say();
  say(`Gerede twijfel klantmandaat is running (ready in ${secs(startedAt)})`);
  say(`  API            ${apiUrl}`);
  say(`  API docs       ${apiUrl}/docs`);
  say(`  OpenAPI        ${apiUrl}/openapi.json`);
  say(`  Health         ${apiUrl}/health`);
  if (worker.metrics) say(`  Metrics        ${worker.metrics.url}/metrics (probes /livez, /readyz)`);
  say(
    `  Temporal       ${temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
  );
  if (temporal.uiUrl) say(`  Temporal UI    ${temporal.uiUrl}`);
  if (smtp.dir) {
    say(`  Mail capture   ${smtp.url} -> ${smtp.dir}`);
    say(`                 GET ${apiUrl}/dev/mail (admin, case-handler or compliance key)`);
  } else {
    say(`  SMTP           ${smtp.url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@')}`);
  }
  say(
    `  Database       ${databaseUrl.embedded ? databaseUrl.url : databaseUrl.url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@')}`,
  );
  if (config.console.enabled) {
    say(`  Console        ${config.console.origin}/console`);
    for (const d of devIdentityProviders)
      say(
        `                 ${d.name} (${d.idp.issuer}): sign in as behandelaar, privacy, compliance or zondergroep, any password`,
      );
  }
  if (demo) {
    say();
    say('Demo API keys (shown only now; only their hashes are stored; more with `npm run key:create`):');
    for (const k of demo.keys) say(`  ${k.role.padEnd(14)} ${k.key}  ${k.label}`);
  } else if (config.seedDemo) {
    say('  Demo data      already present (its keys were shown at the first start; new ones: npm run key:create)');
  }
  say();
  say('Ctrl-C stops everything.');

  worker.done.catch((err: unknown) => {
    logger.error({ err }, 'worker stopped unexpectedly');
    void shutdown('worker failed', 1);
  });
}

main().catch((err: unknown) => {
  if (err instanceof ShutdownRequested) return; // shutdown() is already stopping what was started
  logger.error({ err }, 'start failed');
  say(`Start failed: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown('start failed', 1);
});
