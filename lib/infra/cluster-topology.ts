/**
 * A production-shaped topology on one machine (`npm run up:cluster`, `npm run bench:cluster`): PostgreSQL, a
 * Temporal server, the SMTP capture, then N API processes (`server.ts`) and M worker processes (`worker.ts`), each
 * its own Node process configured only by environment, exactly as they run in containers.
 *
 * - PostgreSQL: embedded (`<dataDir>/postgres`) or an existing one (`databaseUrl`);
 * - Temporal: the self-hosted server on that PostgreSQL (lib/infra/temporal-server.ts), the CLI dev server
 *   (the comparison in bench:cluster), or an existing frontend (`{ address }`);
 * - SMTP: the capture (`<dataDir>/mail`) or an existing server (`smtpUrl`);
 * - `beforeApis(databaseUrl)` once before any API starts: the caller migrates (each API would too, and find nothing
 *   to do) and seeds there (lib/ imports nothing above it);
 * - each Node process runs under the watchdog of supervised-process.ts (it dies with this process), writes its
 *   output to `<dataDir>/logs/<name>.log`, and is restarted when it exits on its own (`restart`, as an
 *   orchestrator would); an API is ready when GET /health answers 200, a worker when Temporal lists it among the
 *   pollers of the task queue.
 *
 * `stop()` stops in order: APIs (finish in-flight requests), workers (drain), Temporal, SMTP, PostgreSQL.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { infraLogger } from './log.js';
import { getFreePort } from './ports.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { startSmtpCapture } from './smtp-capture.js';
import { startSupervised, supervisedChildPid, type SupervisedProcess } from './supervised-process.js';
import { projectRoot, startTemporalDevServer } from './temporal-dev-server.js';
import { startTemporalServer, type TemporalServerDatabases } from './temporal-server.js';

/**
 * How a worker process is started here, as docs/operations.md ("Bounded worker memory") and the Dockerfile say: the main
 * thread's V8 heap bounded (WORKER_WORKFLOW_HEAP_MB bounds the workflow thread's).
 */
export const WORKER_HEAP_FLAG = '--max-old-space-size=128';

export type TemporalChoice = 'self-hosted' | 'dev' | { address: string };

export interface ClusterTopologyOptions {
  /** Holds postgres/, temporal/, mail/ and logs/. */
  dataDir: string;
  /** An existing PostgreSQL; otherwise embedded in `<dataDir>/postgres`. */
  databaseUrl?: string | undefined;
  /** Port of the embedded PostgreSQL (0: a free one). */
  embeddedPgPort?: number;
  /** Keep the embedded cluster (and so Temporal's state) across starts; false: removed at stop. */
  persistent: boolean;
  temporal: TemporalChoice;
  /** gRPC port of a Temporal server started here (0: a free one). */
  temporalPort?: number;
  namespace: string;
  taskQueue: string;
  /** An existing SMTP server; otherwise the capture in `<dataDir>/mail`. */
  smtpUrl?: string | undefined;
  smtpCapturePort?: number;
  apis: number;
  workers: number;
  host: string;
  /** Port of the first API, the others count up from it (0: free ports). */
  apiPort: number;
  /** `tsx`: the TypeScript sources; `dist`: the compiled `node dist/server.js` / `node dist/worker.js` (npm run build). */
  runtime: 'tsx' | 'dist';
  /** Environment of every Node process on top of process.env and the addresses above (LOG_LEVEL, WORKER_*, …). */
  env?: Record<string, string>;
  /** `node` arguments of the workers (default [WORKER_HEAP_FLAG]). */
  workerNodeArgs?: string[];
  /** Restart a Node process that exits on its own (default true). */
  restart?: boolean;
  /** Called before the first worker and API start: migrations, demo data. */
  beforeApis?: (databaseUrl: string) => Promise<void>;
  logger?: Logger;
}

export interface NodeProcess {
  readonly name: string;
  readonly kind: 'api' | 'worker';
  /** http://host:port (APIs only). */
  readonly url: string | undefined;
  /** The node process itself (not its watchdog); changes on a restart. */
  readonly pid: number;
  readonly logFile: string;
  readonly restarts: number;
  /** Send a signal to the node process (SIGKILL: a crash; the restart policy applies). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the current node process has exited. */
  exited(): Promise<unknown>;
  /** Start it again after it exited (also with `restart: false`); resolves when it is ready. */
  start(): Promise<void>;
  /** /proc/<pid>/status VmRSS and VmHWM (peak) in bytes; undefined when not running. */
  memory(): Promise<{ rss: number; peak: number } | undefined>;
}

export interface ClusterTopology {
  databaseUrl: string;
  /** Maintenance URL of an embedded PostgreSQL (undefined for an existing one). */
  adminDatabaseUrl: string | undefined;
  embeddedPostgres: boolean;
  temporalAddress: string;
  temporalKind: 'self-hosted' | 'dev' | 'existing';
  temporalDatabases: TemporalServerDatabases | undefined;
  namespace: string;
  taskQueue: string;
  smtpUrl: string;
  mailDir: string | undefined;
  logDir: string;
  apis: NodeProcess[];
  workers: NodeProcess[];
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;

async function procMemory(pid: number): Promise<{ rss: number; peak: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

// long: the one-machine cluster launcher: starts, supervises and stops every process in order, read top to bottom
export async function startClusterTopology(options: ClusterTopologyOptions): Promise<ClusterTopology> {
  const logger = options.logger ?? infraLogger();
  const logDir = join(options.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const running: Array<{ name: string; stop: () => Promise<unknown> }> = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    const failures: unknown[] = [];
    for (const part of running.splice(0).reverse()) {
      try {
        await part.stop();
        logger.info({ part: part.name }, 'stopped');
      } catch (err) {
        failures.push(err);
        logger.error({ err, part: part.name }, 'failed to stop cleanly');
      }
    }
    if (failures.length > 0) throw new Error('the topology did not stop cleanly', { cause: failures });
  };

  try {
    // PostgreSQL first: the self-hosted Temporal server keeps its state in it.
    let databaseUrl = options.databaseUrl;
    let adminDatabaseUrl: string | undefined;
    if (databaseUrl === undefined) {
      const pg = await startEmbeddedPostgres({
        dataDir: join(options.dataDir, 'postgres'),
        port: options.embeddedPgPort ?? 0,
        persistent: options.persistent,
        // Temporal's four services hold pools of their own next to the APIs' and workers'.
        maxConnections: 250,
        logger,
      });
      running.push({ name: 'PostgreSQL', stop: () => pg.stop() });
      databaseUrl = pg.url;
      adminDatabaseUrl = pg.adminUrl;
    }

    let temporalAddress: string;
    let temporalDatabases: TemporalServerDatabases | undefined;
    let temporalKind: ClusterTopology['temporalKind'];
    if (options.temporal === 'self-hosted') {
      const server = await startTemporalServer({
        databaseUrl,
        dir: join(options.dataDir, 'temporal'),
        port: options.temporalPort ?? 0,
        namespace: options.namespace,
        logger,
      });
      running.push({ name: 'Temporal server', stop: () => server.stop() });
      temporalAddress = server.address;
      temporalDatabases = server.databases;
      temporalKind = 'self-hosted';
    } else if (options.temporal === 'dev') {
      const dev = await startTemporalDevServer({
        headless: true,
        port: options.temporalPort ?? 0,
        namespace: options.namespace,
        logger,
      });
      running.push({ name: 'Temporal dev server', stop: () => dev.stop() });
      temporalAddress = dev.address;
      temporalKind = 'dev';
    } else {
      temporalAddress = options.temporal.address;
      temporalKind = 'existing';
    }

    let smtpUrl = options.smtpUrl;
    let mailDir: string | undefined;
    if (smtpUrl === undefined) {
      const capture = await startSmtpCapture({
        port: options.smtpCapturePort ?? 0,
        dir: join(options.dataDir, 'mail'),
        logger,
      });
      running.push({ name: 'SMTP capture', stop: () => capture.stop() });
      smtpUrl = capture.url;
      mailDir = capture.dir;
    }

    await options.beforeApis?.(databaseUrl);

    const root = projectRoot();
    const entry = (name: 'server' | 'worker'): string[] =>
      options.runtime === 'dist' ? [join(root, 'dist', `${name}.js`)] : ['--import', 'tsx', join(root, `${name}.ts`)];
    const apiPorts: number[] = [];
    for (let i = 0; i < options.apis; i++)
      apiPorts.push(options.apiPort > 0 ? options.apiPort + i : await getFreePort(options.host));
    const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
    const baseEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: options.namespace,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      SMTP_URL: smtpUrl,
      HOST: options.host,
      SEED_DEMO: 'false',
      // Mails point parties at one address: in production the load balancer's.
      PUBLIC_URL:
        options.env?.['PUBLIC_URL'] ?? process.env['PUBLIC_URL'] ?? `http://${shownHost}:${apiPorts[0] ?? 3000}`,
    };

    const client = await Connection.connect({ address: temporalAddress });
    running.push({ name: 'Temporal connection', stop: () => client.close() });
    const pollerIdentities = async (): Promise<string[]> => {
      // taskQueueType 1: TASK_QUEUE_TYPE_WORKFLOW (the proto enums are not a direct dependency).
      const d = await client.workflowService.describeTaskQueue({
        namespace: options.namespace,
        taskQueue: { name: options.taskQueue },
        taskQueueType: 1,
      });
      return (d.pollers ?? []).map((p) => p.identity ?? '');
    };

    // long: one supervised process: spawn, restart policy, logs and stop share its state
    const makeProcess = (kind: 'api' | 'worker', index: number): { handle: NodeProcess; stop: () => Promise<void> } => {
      const name = `${kind}-${index + 1}`;
      const logFile = join(logDir, `${name}.log`);
      const port = kind === 'api' ? apiPorts[index]! : undefined;
      const url = port === undefined ? undefined : `http://${shownHost}:${port}`;
      const args =
        kind === 'api' ? entry('server') : [...(options.workerNodeArgs ?? [WORKER_HEAP_FLAG]), ...entry('worker')];
      const env = { ...baseEnv, ...(port === undefined ? {} : { PORT: String(port) }) };
      let proc: SupervisedProcess | undefined;
      let pid = -1;
      let restarts = 0;
      let log: WriteStream | undefined;
      let startedAt = 0;

      const waitReady = async (): Promise<void> => {
        const deadline = Date.now() + READY_TIMEOUT_MS;
        while (Date.now() < deadline) {
          // With the restart policy a process that failed its start (e.g. Temporal still settling) comes back with
          // another pid: follow it.
          if (proc?.hasExited() && options.restart === false)
            throw new Error(`${name} exited during start: ${proc.outputTail().trim().slice(-1500)}`);
          const identity = `${pid}@${hostname()}`;
          try {
            if (kind === 'api') {
              const res = await fetch(
                `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}/health`,
                { signal: AbortSignal.timeout(2_000) },
              );
              if (res.status === 200) return;
            } else if ((await pollerIdentities()).includes(identity)) {
              return;
            }
          } catch {
            // not listening yet
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(
          `${name} not ready within ${READY_TIMEOUT_MS} ms: ${proc?.outputTail().trim().slice(-1500) ?? ''}`,
        );
      };

      const start = async (): Promise<void> => {
        log ??= createWriteStream(logFile, { flags: 'a' });
        log.write(`--- ${new Date().toISOString()} start ${name} (node ${args.join(' ')})\n`);
        proc = startSupervised({
          name,
          command: process.execPath,
          args,
          env,
          cwd: root,
          logger,
          onOutput: (text) => log?.write(text),
        });
        startedAt = Date.now();
        for (let i = 0; i < 100 && pid <= 0; i++) {
          pid = (await supervisedChildPid(proc.pid)) ?? -1;
          if (pid <= 0) await new Promise((r) => setTimeout(r, 20));
        }
        const current = proc;
        void current.exited.then(({ code, signal }) => {
          log?.write(
            `--- ${new Date().toISOString()} ${name} (pid ${pid}) exited: code ${code} signal ${signal ?? '-'}\n`,
          );
          if (stopping || current !== proc) return;
          logger.warn({ process: name, pid, code, signal }, 'process exited');
          pid = -1;
          if (options.restart === false) return;
          // As an orchestrator would: again at once, with a pause when it keeps failing right after its start.
          const delay = Date.now() - startedAt < 10_000 ? 5_000 : 500;
          setTimeout(() => {
            if (stopping || current !== proc) return;
            restarts++;
            start().then(
              () => logger.warn({ process: name, pid }, 'process restarted'),
              (err: unknown) => logger.error({ err, process: name }, 'restart failed'),
            );
          }, delay).unref();
        });
        await waitReady();
      };

      const handle: NodeProcess = {
        name,
        kind,
        url,
        get pid() {
          return pid;
        },
        logFile,
        get restarts() {
          return restarts;
        },
        kill(signal) {
          if (pid > 0) process.kill(pid, signal);
        },
        exited: () => proc?.exited ?? Promise.resolve(),
        start: () => {
          pid = -1;
          return start();
        },
        memory: () => (pid > 0 ? procMemory(pid) : Promise.resolve(undefined)),
      };
      return {
        handle,
        stop: async () => {
          await proc?.stop(kind === 'worker' ? 30_000 : 15_000);
          await new Promise<void>((r) => (log ? log.end(r) : r()));
        },
      };
    };

    // Workers first: they create the GT-5 Schedule and take the first workflow tasks an API start would cause.
    const workers = Array.from({ length: options.workers }, (_, i) => makeProcess('worker', i));
    const apis = Array.from({ length: options.apis }, (_, i) => makeProcess('api', i));
    for (const [name, group] of [
      ['workers', workers],
      ['APIs', apis],
    ] as const) {
      // Registered before they start, so a failure half-way still stops what came up.
      running.push({ name, stop: () => Promise.all(group.map((p) => p.stop())) });
      await Promise.all(group.map((p) => p.handle.start()));
    }

    return {
      databaseUrl,
      adminDatabaseUrl,
      embeddedPostgres: options.databaseUrl === undefined,
      temporalAddress,
      temporalKind,
      temporalDatabases,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      smtpUrl,
      mailDir,
      logDir,
      apis: apis.map((p) => p.handle),
      workers: workers.map((p) => p.handle),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
