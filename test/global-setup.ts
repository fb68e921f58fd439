/**
 * Starts the real services once per test run, on free ports and in temp dirs, and hands their addresses
 * to the test files (`inject('databaseUrl')`, …; types in test/provided.d.ts):
 *
 * - embedded PostgreSQL; migrations run once into the template database `gt_template`; `gerede_twijfel`
 *   is a copy shared by all files; `freshDatabase()` (test/helpers) makes a private copy per file;
 * - the SMTP capture (mail as JSON + .eml in a temp dir);
 * - Temporal: the dev server (temp SQLite file, headless, search attributes registered), or with
 *   TEST_TEMPORAL=cluster the self-hosted Temporal server on this PostgreSQL (databases temporal and
 *   temporal_visibility, PostgreSQL visibility; `npm test` runs test/e2e that way too, see package.json).
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
import { projectRoot, startTemporalDevServer } from '../lib/infra/temporal-dev-server.js';
import { startTemporalServer } from '../lib/infra/temporal-server.js';

export const TEMPLATE_DATABASE = 'gt_template';
export const SHARED_DATABASE = 'gerede_twijfel';

/** Which Temporal the run uses: `dev` (default) or `cluster`. */
function temporalKind(): 'dev' | 'cluster' {
  const kind = process.env['TEST_TEMPORAL'] ?? 'dev';
  if (kind !== 'dev' && kind !== 'cluster') throw new Error(`TEST_TEMPORAL must be dev or cluster, got ${kind}`);
  return kind;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = pino({ name: 'test-infra', level: process.env['TEST_INFRA_LOG_LEVEL'] ?? 'warn' });
  const kind = temporalKind();
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'gt-test-'));
  const mailDir = join(work, 'mail');

  let pg: EmbeddedPostgres | undefined;
  let smtp: SmtpCapture | undefined;
  let temporal: { address: string; namespace: string; stop(): Promise<void> } | undefined;
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
        // The self-hosted server keeps its state in this PostgreSQL: it starts once the server is up.
        if (kind === 'cluster')
          temporal = await startTemporalServer({ databaseUrl: server.adminUrl, dir: join(work, 'temporal'), logger });
      })(),
      startSmtpCapture({ port: 0, dir: mailDir, logger }).then((s) => (smtp = s)),
      kind === 'dev'
        ? startTemporalDevServer({ dbFile: join(work, 'temporal.db'), headless: true, logger }).then(
            (t) => (temporal = t),
          )
        : undefined,
    ]);
  } catch (err) {
    await teardown().catch(() => undefined);
    const provision = kind === 'cluster' ? 'bash scripts/provision.sh --cluster' : 'bash scripts/provision.sh';
    throw new Error(`test infrastructure did not start (run \`${provision}\` first?)`, { cause: err });
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
  project.provide('temporalKind', kind);
  logger.info(
    { ms: Date.now() - started, pg: pg.port, smtp: smtp.port, temporal: temporal.address, kind },
    'test infrastructure ready',
  );

  return teardown;
}
