/**
 * The PostgreSQL of a single-process bench (bench:p4, bench:allocation): BENCH_DATABASE_URL when set, else an
 * embedded cluster in a temp dir with PostgreSQL's durable defaults (fsync, synchronous_commit) and the bench's
 * settings, restarted once so that those needing a restart (shared_buffers) apply. The directory is removed at
 * stop unless BENCH_KEEP_DATA=1.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../lib/infra/embedded-postgres.js';

export interface BenchDatabase {
  url: string;
  /** The postmaster (its children are the backends whose CPU time a bench counts); null with BENCH_DATABASE_URL. */
  pid: number | null;
  stop(): Promise<void>;
}

export async function startBenchDatabase(
  tempPrefix: string,
  settings: Readonly<Record<string, string>>,
  log: (msg: string) => void,
): Promise<BenchDatabase> {
  const env = process.env;
  if (env.BENCH_DATABASE_URL) return { url: env.BENCH_DATABASE_URL, pid: null, stop: async () => undefined };
  const logger = pino({ level: 'warn' });
  const dataDir = await mkdtemp(join(tmpdir(), tempPrefix));
  let pg = await startEmbeddedPostgres({ persistent: true, dataDir, logger });
  const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => undefined });
  for (const [k, v] of Object.entries(settings)) await admin.unsafe(`ALTER SYSTEM SET ${k} = '${v}'`);
  await admin.end();
  await pg.stop();
  pg = await startEmbeddedPostgres({ persistent: true, dataDir, logger });
  log(`embedded PostgreSQL on port ${pg.port}, data in ${dataDir}`);
  return {
    url: pg.url,
    pid: Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async stop() {
      await pg.stop();
      if (env.BENCH_KEEP_DATA !== '1') await rm(dataDir, { recursive: true, force: true });
    },
  };
}
