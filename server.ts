/**
 * The API on its own (`node dist/server.js`), for scale-out: any number of these run behind a load
 * balancer against shared PostgreSQL and Temporal, next to any number of workers (`node dist/worker.js`).
 * They keep no state of their own. For the whole system on one machine use `npm start` instead.
 */
import { buildApp } from './api/app.js';
import { createDb } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { ConfigError, loadConfigOrExit } from './lib/config.js';
import { API_TEMPORAL_FAIL_FAST, connectClient } from './lib/infra/temporal-connection.js';
import { createLogger } from './lib/logger.js';
import { createMailer } from './notifications/mailer.js';
import { startMetricsServer } from './lib/observability/metrics-server.js';
import { currentTracing } from './lib/observability/tracing.js';
import { domainGaugeCollector } from './services/observability/domain-gauges.js';
import { ensureRegisterPartitions, startupActor } from './services/register/partitions.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'server');

for (const [name, value] of [
  ['DATABASE_URL', config.database.url],
  ['TEMPORAL_ADDRESS', config.temporal.address],
] as const) {
  if (!value) {
    process.stderr.write(
      `${new ConfigError(name, 'set: the API alone runs against shared services (use npm start for the embedded ones)', value).message}\n`,
    );
    process.exit(78);
  }
}

await runMigrations(config.database.url!);
const dbh = createDb(config.database.url!, { max: config.database.poolMax });
// DC-1: the register's current month exists before the first decision (domain/register-partitions.ts).
await ensureRegisterPartitions(dbh.db, new Date(), startupActor('api'));
const { connection, client } = await connectClient(config.temporal, config.temporal.address!, {
  failFast: API_TEMPORAL_FAIL_FAST,
});
// Optional: without SMTP_URL the API sends nothing itself (GT-6 reports on closed cases then answer 503).
const mailer = config.smtp.url ? createMailer(config.smtp.url, { from: config.smtp.from }) : undefined;
const app = await buildApp({
  config,
  db: dbh.db,
  sql: dbh.sql,
  databaseProbe: dbh.probe,
  temporal: client,
  ...(mailer ? { mailer } : {}),
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Stop taking requests and finish in-flight ones, then release connections.
    app
      .close()
      .then(() => metrics?.close())
      .then(() =>
        currentTracing()
          ?.flush()
          .catch(() => undefined),
      )
      .then(() => connection.close())
      .then(() => mailer?.close())
      .then(() => dbh.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}

// Issue 20: /metrics on a listener of its own (docs/operations.md, "Metrics and traces").
const metrics =
  config.observability.metricsPort === undefined
    ? undefined
    : await startMetricsServer({
        host: config.observability.metricsHost,
        port: config.observability.metricsPort,
        collect: domainGaugeCollector(dbh.db),
      });
await app.listen({ host: config.host, port: config.port });
