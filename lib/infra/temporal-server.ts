/**
 * The self-hosted Temporal server on PostgreSQL as a child process (`npm run up:cluster`, the cluster e2e run of
 * `npm test`, `npm run bench:cluster`): the production shape of Temporal, against the dev server's SQLite.
 *
 * Binaries: `.tools/bin/temporal-server` and `.tools/bin/temporal-sql-tool`, built by `scripts/provision.sh
 * --cluster` from the Go modules of the server version inside the Temporal CLI (go.temporal.io/server v1.29.1).
 *
 * A start, each step idempotent so that a restart on the same databases takes the same path:
 *  1. `temporal-sql-tool` creates the databases when missing (`temporal`, `temporal_visibility`), sets up the
 *     schema version tables (`setup-schema -v 0.0`) and upgrades both schemas to the ones embedded in the tool
 *     (`update-schema --schema-name postgresql/v12/...`);
 *  2. a configuration directory is written (JSON is YAML; the database password is not in it: the server's
 *     config template reads it from the environment) and `temporal-server start` runs all four services
 *     (frontend, history, matching, worker) in one process, every port on loopback;
 *  3. the namespace is registered (when missing) and the custom search attributes are added (SQL visibility
 *     maps them onto its pre-allocated Keyword/Datetime columns); start waits until a visibility query over all
 *     of them is accepted, so the first workflow can upsert them.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { Logger } from 'pino';
import postgres from 'postgres';
import { infraLogger } from './log.js';
import { isPortInUse } from './ports.js';
import { SEARCH_ATTRIBUTE_NAMES } from './search-attributes.js';
import { startSupervised } from './supervised-process.js';
import { ensureSearchAttributes, projectRoot } from './temporal-dev-server.js';

const execFileAsync = promisify(execFile);

export const TEMPORAL_SERVER_VERSION = '1.29.1';
export const TEMPORAL_SERVER_HINT =
  'bash scripts/provision.sh --cluster (builds .tools/bin/temporal-server and temporal-sql-tool with go install)';

export interface TemporalServerDatabases {
  /** Executions, history, task queues (Temporal's "default store"). */
  main: string;
  /** Visibility: workflow lists and search attributes. */
  visibility: string;
}

export const DEFAULT_TEMPORAL_DATABASES: TemporalServerDatabases = {
  main: 'temporal',
  visibility: 'temporal_visibility',
};

export interface TemporalServerOptions {
  /**
   * Any postgres:// URL on the server that holds (or will hold) Temporal's databases: host, port, user, password
   * and `sslmode` are taken from it, its database name is not. The user must be allowed to create databases
   * unless both exist.
   */
  databaseUrl: string;
  databases?: TemporalServerDatabases;
  /** Where the generated configuration goes (created). */
  dir: string;
  /** gRPC port of the frontend; 0/undefined picks a free one. The other services' ports are always free ones. */
  port?: number;
  ip?: string;
  namespace?: string;
  /** Retention of closed workflows in a namespace registered here (existing namespaces keep theirs). */
  retentionDays?: number;
  /** Fixed for the life of a cluster (stored at its first start). */
  numHistoryShards?: number;
  /** Connections per service (frontend, history, matching, worker each hold a pool) to the main database. */
  maxConns?: number;
  /** Server log level on its stdout (logged at debug by the caller's logger). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  toolsBinDir?: string;
  logger?: Logger;
  startTimeoutMs?: number;
}

export interface TemporalServer {
  /** host:port of the frontend. */
  address: string;
  namespace: string;
  databases: TemporalServerDatabases;
  pid: number;
  stop(): Promise<void>;
}

async function executable(path: string): Promise<string> {
  try {
    await access(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(`${path} not found; build it: ${TEMPORAL_SERVER_HINT}`);
  }
}

export async function temporalServerBinaries(
  toolsBinDir = join(projectRoot(), '.tools', 'bin'),
): Promise<{ server: string; sqlTool: string }> {
  return {
    server: await executable(join(toolsBinDir, 'temporal-server')),
    sqlTool: await executable(join(toolsBinDir, 'temporal-sql-tool')),
  };
}

interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** libpq sslmode from the URL: disable (default), require, verify-ca, verify-full. */
  sslmode: string;
  sslrootcert: string | undefined;
}

function pgTarget(databaseUrl: string): PgTarget {
  const u = new URL(databaseUrl);
  return {
    host: u.hostname,
    port: u.port === '' ? 5432 : Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    sslmode: u.searchParams.get('sslmode') ?? 'disable',
    sslrootcert: u.searchParams.get('sslrootcert') ?? undefined,
  };
}

/** The same TLS choice for the schema tool (SQL_TLS* variables) and the server (persistence `tls`). */
function tlsOf(pg: PgTarget): { enabled: boolean; verifyHost: boolean; caFile: string | undefined } {
  const enabled = !['disable', 'allow', 'prefer'].includes(pg.sslmode);
  return { enabled, verifyHost: pg.sslmode === 'verify-full', caFile: pg.sslrootcert };
}

/** Step 1: databases and schemas, by Temporal's own tool (idempotent: upgrades only what is behind). */
export async function setupTemporalSchemas(
  databaseUrl: string,
  databases: TemporalServerDatabases = DEFAULT_TEMPORAL_DATABASES,
  opts: { toolsBinDir?: string; logger?: Logger } = {},
): Promise<void> {
  const logger = opts.logger ?? infraLogger();
  const { sqlTool } = await temporalServerBinaries(opts.toolsBinDir);
  const pg = pgTarget(databaseUrl);
  const tls = tlsOf(pg);
  // Everything through the environment: no password on a command line (ps would show it).
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: pg.host,
    SQL_PORT: String(pg.port),
    SQL_USER: pg.user,
    SQL_PASSWORD: pg.password,
    ...(tls.enabled
      ? {
          SQL_TLS: 'true',
          ...(tls.verifyHost ? {} : { SQL_TLS_DISABLE_HOST_VERIFICATION: 'true' }),
          ...(tls.caFile ? { SQL_TLS_CA_FILE: tls.caFile } : {}),
        }
      : {}),
  };
  const run = async (database: string, args: string[]): Promise<void> => {
    try {
      await execFileAsync(sqlTool, ['--db', database, ...args], { env, timeout: 120_000 });
    } catch (cause) {
      const out = cause as { stdout?: string; stderr?: string };
      throw new Error(
        `temporal-sql-tool --db ${database} ${args.join(' ')} failed: ${`${out.stderr ?? ''}${out.stdout ?? ''}`.trim().slice(-1500)}`,
        { cause },
      );
    }
  };
  const existing = await existingDatabases(databaseUrl, [databases.main, databases.visibility]);
  for (const [database, schema] of [
    [databases.main, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    const t = Date.now();
    if (!existing.has(database)) await run(database, ['create-database']);
    await run(database, ['setup-schema', '-v', '0.0']);
    await run(database, ['update-schema', '--schema-name', schema]);
    logger.info(
      { database, schema, created: !existing.has(database), ms: Date.now() - t },
      'Temporal schema up to date',
    );
  }
}

async function existingDatabases(databaseUrl: string, names: string[]): Promise<Set<string>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
  try {
    const rows = await sql<Array<{ datname: string }>>`select datname from pg_database where datname in ${sql(names)}`;
    return new Set(rows.map((r) => r.datname));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const PASSWORD_ENV = 'TEMPORAL_SERVER_SQL_PASSWORD';

/** Step 2: the server's static configuration (see config/development-postgres12.yaml in the server module). */
function serverConfig(o: {
  pg: PgTarget;
  databases: TemporalServerDatabases;
  ip: string;
  ports: {
    frontend: number;
    frontendHttp: number;
    frontendMembership: number;
    history: number;
    historyMembership: number;
    matching: number;
    matchingMembership: number;
    worker: number;
    workerMembership: number;
  };
  numHistoryShards: number;
  maxConns: number;
  logLevel: string;
  dynamicConfigFile: string;
}): string {
  const tls = tlsOf(o.pg);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${o.pg.host}:${o.pg.port}`,
      connectProtocol: 'tcp',
      user: o.pg.user,
      password: '__PASSWORD__',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
      ...(tls.enabled
        ? {
            tls: {
              enabled: true,
              enableHostVerification: tls.verifyHost,
              ...(tls.caFile ? { caFile: tls.caFile } : {}),
            },
          }
        : {}),
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: o.ip, ...(httpPort ? { httpPort } : {}) },
  });
  const frontend = `${o.ip}:${o.ports.frontend}`;
  const config = {
    log: { stdout: true, level: o.logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: o.numHistoryShards,
      datastores: {
        'postgres-default': store(o.databases.main, o.maxConns),
        'postgres-visibility': store(o.databases.visibility, Math.max(2, Math.ceil(o.maxConns / 2))),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: o.ip } },
    services: {
      frontend: rpc(o.ports.frontend, o.ports.frontendMembership, o.ports.frontendHttp),
      history: rpc(o.ports.history, o.ports.historyMembership),
      matching: rpc(o.ports.matching, o.ports.matchingMembership),
      worker: rpc(o.ports.worker, o.ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontend,
          httpAddress: `${o.ip}:${o.ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: frontend },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
  // The server renders a config file as a Go template when a comment names enable-template (sprig's env).
  return `# enable-template\n# Written by lib/infra/temporal-server.ts on every start; edits are overwritten.\n${JSON.stringify(config, null, 2).replaceAll('"__PASSWORD__"', `{{ env "${PASSWORD_ENV}" | toJson }}`)}\n`;
}

/** Dynamic configuration: only what differs from the server's defaults, each with its reason. */
const DYNAMIC_CONFIG = `# Written by lib/infra/temporal-server.ts. Server defaults apply to everything not listed.
# Case and archive workflow ids are UUIDs (+ ":archive"); keep ids well inside the column sizes.
limit.maxIDLength:
  - value: 255
`;

export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const logger = options.logger ?? infraLogger();
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const databases = options.databases ?? DEFAULT_TEMPORAL_DATABASES;
  const started = Date.now();
  const { server } = await temporalServerBinaries(options.toolsBinDir);

  const port = options.port && options.port > 0 ? options.port : await freePortBelow32768(ip, new Set());
  if (await isPortInUse(port, ip))
    throw new Error(`Temporal server: gRPC port ${ip}:${port} is already in use; choose another port`);
  await setupTemporalSchemas(options.databaseUrl, databases, {
    ...(options.toolsBinDir ? { toolsBinDir: options.toolsBinDir } : {}),
    logger,
  });

  // The cluster_membership table keeps ports as smallint: the OS's ephemeral ports (32768 and up) do not fit,
  // so the services get free ports from below that range, one after the other so that no two share one.
  const taken = new Set<number>([port]);
  const free = (): Promise<number> => freePortBelow32768(ip, taken);
  const ports = {
    frontend: port,
    frontendHttp: await free(),
    frontendMembership: await free(),
    history: await free(),
    historyMembership: await free(),
    matching: await free(),
    matchingMembership: await free(),
    worker: await free(),
    workerMembership: await free(),
  };
  const dir = resolve(options.dir);
  const configDir = join(dir, 'config');
  await mkdir(configDir, { recursive: true });
  const dynamicConfigFile = join(dir, 'dynamicconfig.yaml');
  await writeFile(dynamicConfigFile, DYNAMIC_CONFIG);
  const pg = pgTarget(options.databaseUrl);
  await writeFile(
    join(configDir, 'production.yaml'),
    serverConfig({
      pg,
      databases,
      ip,
      ports,
      numHistoryShards: options.numHistoryShards ?? 4,
      maxConns: options.maxConns ?? 10,
      logLevel: options.logLevel ?? 'warn',
      dynamicConfigFile,
    }),
  );

  const proc = startSupervised({
    name: 'temporal-server',
    command: server,
    args: ['--root', dir, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
    env: { ...process.env, [PASSWORD_ENV]: pg.password },
    cwd: dir,
    logger,
  });
  const address = `${ip}:${port}`;
  try {
    await waitForSystemInfo(address, () => proc.hasExited(), options.startTimeoutMs ?? 90_000);
    await ensureNamespace(address, namespace, options.retentionDays ?? 30, logger);
    await ensureSearchAttributes(address, namespace, logger);
    await waitForSearchAttributes(address, namespace, 30_000);
    await waitForServices(address, namespace, 60_000);
  } catch (cause) {
    await proc.stop(5_000);
    throw new Error(
      `Temporal server (${server}) did not start on ${address}: ${proc.outputTail().trim().slice(-1500)}`,
      { cause },
    );
  }
  logger.info({ address, namespace, databases, ms: Date.now() - started }, 'Temporal server ready');

  let stopping: Promise<void> | undefined;
  return {
    address,
    namespace,
    databases,
    pid: proc.pid,
    stop() {
      stopping ??= proc.stop(20_000);
      return stopping;
    },
  };
}

/** A port in 20000–32767 that nothing listens on (the first start of a service binds it a moment later). */
async function freePortBelow32768(ip: string, taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = 20_000 + Math.floor(Math.random() * 12_768);
    if (taken.has(p) || (await isPortInUse(p, ip))) continue;
    taken.add(p);
    return p;
  }
  throw new Error('no free port found in 20000-32767 for the Temporal services');
}

async function withConnection<T>(address: string, fn: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    return await fn(connection);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function waitForSystemInfo(address: string, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('the process exited', { cause: last });
    try {
      await withConnection(address, (c) => c.workflowService.getSystemInfo({}));
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no answer from the frontend within ${timeoutMs} ms`, { cause: last });
}

/** gRPC status codes. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/**
 * The frontend answers before history and matching have joined the membership ring ("Not enough hosts to serve
 * the request"): ready once a task-queue description (matching) and a lookup of an unknown run (history: not found)
 * both answer.
 */
async function waitForServices(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await withConnection(address, async (c) => {
        await c.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: 'readiness-probe' },
          taskQueueType: 1,
        });
        try {
          await c.workflowService.describeWorkflowExecution({
            namespace,
            execution: { workflowId: `readiness-probe-${Date.now()}` },
          });
        } catch (err) {
          if ((err as { code?: number }).code !== NOT_FOUND) throw err;
        }
      });
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`history and matching not serving within ${timeoutMs} ms`, { cause: last });
}

/** The self-hosted server starts without namespaces (the dev server creates `default` itself). */
export async function ensureNamespace(
  address: string,
  namespace: string,
  retentionDays: number,
  logger: Logger = infraLogger(),
): Promise<'registered' | 'exists'> {
  return withConnection(address, async (c) => {
    try {
      await c.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`),
        description: 'gerede twijfel klantmandaat',
      });
      logger.info({ namespace, retentionDays }, 'registered the Temporal namespace');
      return 'registered';
    } catch (err) {
      if ((err as { code?: number }).code === ALREADY_EXISTS) return 'exists';
      throw err;
    }
  });
}

/**
 * Registered attributes reach each service through its namespace cache (refreshed every few seconds): wait until
 * the frontend accepts a visibility query naming all of them.
 */
async function waitForSearchAttributes(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const query = SEARCH_ATTRIBUTE_NAMES.map((name) => `${name} IS NULL`).join(' AND ');
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await withConnection(address, (connection) => new Client({ connection, namespace }).workflow.count(query));
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`search attributes not queryable within ${timeoutMs} ms`, { cause: last });
}
