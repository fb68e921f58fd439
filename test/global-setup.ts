/**
 * Starts the real services once per test run, on free ports and in temp dirs, and hands their addresses
 * to the test files (`inject('databaseUrl')`, …; types in test/provided.d.ts):
 *
 * - embedded PostgreSQL; migrations run once into the template database `gt_template`; `gerede_twijfel`
 *   is a copy shared by all files; `freshDatabase()` (test/helpers) makes a private copy per file;
 * - the SMTP capture (mail as JSON + .eml in a temp dir);
 * - the Temporal dev server (temp SQLite file, headless, search attributes registered).
 *
 * Everything is stopped and removed at the end.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../db/migrate.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../lib/infra/embedded-postgres.js';
import { startSmtpCapture, type SmtpCapture } from '../lib/infra/smtp-capture.js';
import { projectRoot, startTemporalDevServer, type TemporalDevServer } from '../lib/infra/temporal-dev-server.js';

export const TEMPLATE_DATABASE = 'gt_template';
export const SHARED_DATABASE = 'gerede_twijfel';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = pino({ name: 'test-infra', level: process.env['TEST_INFRA_LOG_LEVEL'] ?? 'warn' });
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'gt-test-'));
  const mailDir = join(work, 'mail');

  let pg: EmbeddedPostgres | undefined;
  let smtp: SmtpCapture | undefined;
  let temporal: TemporalDevServer | undefined;
  const teardown = async (): Promise<void> => {
    const results = await Promise.allSettled([temporal?.stop(), smtp?.stop(), pg?.stop()]);
    await rm(work, { recursive: true, force: true });
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0)
      throw new Error('test infrastructure did not stop cleanly', { cause: failed.map((f) => f.reason as unknown) });
  };

  try {
    // Each service is recorded as soon as it is up, so a failure elsewhere still stops it.
    await Promise.all([
      (async () => {
        const server = await startEmbeddedPostgres({ persistent: false, database: TEMPLATE_DATABASE, logger });
        pg = server;
        await runMigrations(server.url);
        const admin = postgres(server.adminUrl, { max: 1, onnotice: () => undefined });
        try {
          await admin.unsafe(`CREATE DATABASE "${SHARED_DATABASE}" TEMPLATE "${TEMPLATE_DATABASE}"`);
        } finally {
          await admin.end({ timeout: 5 });
        }
      })(),
      startSmtpCapture({ port: 0, dir: mailDir, logger }).then((s) => (smtp = s)),
      startTemporalDevServer({ dbFile: join(work, 'temporal.db'), headless: true, logger }).then((t) => (temporal = t)),
    ]);
  } catch (err) {
    await teardown().catch(() => undefined);
    throw new Error('test infrastructure did not start (run `bash scripts/provision.sh` first?)', { cause: err });
  }

  if (!pg || !smtp || !temporal) throw new Error('unreachable: services not recorded');
  const testServerPath = join(projectRoot(), '.tools', 'temporal-test-server', 'run');
  if (!existsSync(testServerPath)) {
    logger.warn({ testServerPath }, 'time-skipping test server wrapper missing; run bash scripts/provision.sh');
  }

  project.provide('databaseUrl', pg.url.replace(`/${TEMPLATE_DATABASE}`, `/${SHARED_DATABASE}`));
  project.provide('adminDatabaseUrl', pg.adminUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  project.provide('smtpUrl', smtp.url);
  project.provide('mailDir', mailDir);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalNamespace', temporal.namespace);
  project.provide('testServerPath', testServerPath);
  logger.info(
    { ms: Date.now() - started, pg: pg.port, smtp: smtp.port, temporal: temporal.address },
    'test infrastructure ready',
  );

  return teardown;
}
