/**
 * The Temporal CLI dev server as a child process (local development and integration tests).
 *
 * CLI resolution order (first hit wins):
 *   1. TEMPORAL_CLI_PATH (config.temporal.cliPath) — must exist, no silent fallback when it does not;
 *   2. `temporal` on PATH;
 *   3. `.tools/bin/temporal` (built by scripts/provision.sh with `go install`);
 *   4. download of the official release archive from temporal.download into `.tools/bin`.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { infraLogger } from './log.js';
import { getFreePort, isPortInUse } from './ports.js';
import {
  SEARCH_ATTRIBUTES,
  SEARCH_ATTRIBUTE_NAMES,
  searchAttributeCliArgs,
  type SearchAttributeKind,
} from './search-attributes.js';
import { startSupervised } from './supervised-process.js';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const GO_INSTALL_HINT =
  `GOBIN="$PWD/.tools/bin" go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION} ` +
  '(add GOSUMDB=off if sum.golang.org is unreachable), or run: bash scripts/provision.sh';

/** Repository root: the nearest directory above this file holding package.json (works from dist/ too). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

export type CliSource = 'config' | 'path' | 'tools' | 'download';

export interface ResolveCliOptions {
  /** TEMPORAL_CLI_PATH. */
  cliPath?: string | undefined;
  /** PATH to search (default process.env.PATH). */
  pathEnv?: string | undefined;
  /** Where provisioned/downloaded binaries live (default <root>/.tools/bin). */
  toolsBinDir?: string;
  /** Allow step 4 (default true). */
  download?: boolean;
  /** Archive URL override (tests). */
  downloadUrl?: string;
  logger?: Logger;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function temporalDownloadUrl(): string {
  const os = platform() === 'win32' ? 'windows' : platform();
  const cpu = arch() === 'x64' ? 'amd64' : arch();
  return `https://temporal.download/cli/archive/latest?platform=${os}&arch=${cpu}`;
}

export async function resolveTemporalCli(opts: ResolveCliOptions = {}): Promise<{ path: string; source: CliSource }> {
  const logger = opts.logger ?? infraLogger();
  const exe = platform() === 'win32' ? 'temporal.exe' : 'temporal';

  if (opts.cliPath !== undefined) {
    const p = resolve(opts.cliPath);
    if (await isExecutableFile(p)) return { path: p, source: 'config' };
    throw new Error(`TEMPORAL_CLI_PATH=${opts.cliPath} is not an executable file`);
  }

  const pathEnv = opts.pathEnv ?? process.env['PATH'] ?? '';
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, exe);
    if (await isExecutableFile(candidate)) return { path: candidate, source: 'path' };
  }

  const toolsBin = opts.toolsBinDir ?? join(projectRoot(), '.tools', 'bin');
  const tools = join(toolsBin, exe);
  if (await isExecutableFile(tools)) return { path: tools, source: 'tools' };

  if (opts.download === false) {
    throw new Error(
      `Temporal CLI not found (TEMPORAL_CLI_PATH unset, no temporal on PATH, no ${tools}). Build it: ${GO_INSTALL_HINT}`,
    );
  }
  const url = opts.downloadUrl ?? temporalDownloadUrl();
  logger.info({ url, into: toolsBin }, 'Temporal CLI not found; downloading the release archive');
  try {
    await downloadCli(url, toolsBin, exe);
  } catch (cause) {
    throw new Error(
      `Temporal CLI not found and the download from ${url} failed (${(cause as Error).message}). Build it instead: ${GO_INSTALL_HINT}`,
      { cause },
    );
  }
  return { path: tools, source: 'download' };
}

async function downloadCli(url: string, toolsBin: string, exe: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'temporal-cli-'));
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(180_000), redirect: 'follow' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const archive = join(work, url.includes('windows') ? 'cli.zip' : 'cli.tar.gz');
    await writeFile(archive, Buffer.from(await res.arrayBuffer()));
    if (archive.endsWith('.zip')) await execFileAsync('unzip', ['-o', archive, exe, '-d', work]);
    else await execFileAsync('tar', ['-xzf', archive, '-C', work, exe]);
    await mkdir(toolsBin, { recursive: true });
    await chmod(join(work, exe), 0o755);
    await rename(join(work, exe), join(toolsBin, exe)).catch(async () => {
      // rename across file systems: copy via execFile cp
      await execFileAsync('cp', [join(work, exe), join(toolsBin, exe)]);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface TemporalDevServerOptions {
  /** SQLite file keeping the server's state across restarts; undefined keeps it in memory. */
  dbFile?: string;
  /** gRPC port; 0/undefined picks a free one. */
  port?: number;
  /** Web UI port; 0/undefined picks a free one. Ignored when headless. */
  uiPort?: number;
  namespace?: string;
  ip?: string;
  headless?: boolean;
  cliPath?: string | undefined;
  logger?: Logger;
  startTimeoutMs?: number;
}

export interface TemporalDevServer {
  /** host:port of the frontend. */
  address: string;
  /** Web UI, undefined when headless. */
  uiUrl: string | undefined;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const logger = options.logger ?? infraLogger();
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const port = options.port && options.port > 0 ? options.port : await getFreePort(ip);
  const uiPort = options.headless
    ? undefined
    : options.uiPort && options.uiPort > 0
      ? options.uiPort
      : await getFreePort(ip);
  // Something else on the port would answer the readiness probe in place of our server: refuse early.
  for (const [p, what] of [
    [port, 'gRPC port (TEMPORAL_DEV_PORT)'],
    [uiPort, 'UI port (TEMPORAL_DEV_UI_PORT)'],
  ] as const) {
    if (p !== undefined && (await isPortInUse(p, ip))) {
      throw new Error(
        `Temporal dev server: ${what} ${ip}:${p} is already in use (another dev server?); choose another port`,
      );
    }
  }
  const cli = await resolveTemporalCli({ cliPath: options.cliPath, logger });
  const started = Date.now();

  if (options.dbFile) await mkdir(dirname(resolve(options.dbFile)), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...(options.dbFile ? ['--db-filename', resolve(options.dbFile)] : []),
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...searchAttributeCliArgs(),
  ];
  const proc = startSupervised({ name: 'temporal', command: cli.path, args, logger });
  const address = `${ip}:${port}`;
  try {
    await waitForFrontend(address, namespace, () => proc.hasExited(), options.startTimeoutMs ?? 60_000);
    await ensureSearchAttributes(address, namespace, logger);
  } catch (cause) {
    await proc.stop(5_000);
    throw new Error(
      `Temporal dev server (${cli.path}) did not start on ${address}: ${proc.outputTail().trim().slice(-1500)}`,
      { cause },
    );
  }
  logger.info({ address, namespace, ms: Date.now() - started, cli: cli.source }, 'Temporal dev server ready');

  let stopping: Promise<void> | undefined;
  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://${ip}:${uiPort}`,
    namespace,
    pid: proc.pid,
    stop() {
      stopping ??= proc.stop(15_000);
      return stopping;
    },
  };
}

async function waitForFrontend(
  address: string,
  namespace: string,
  exited: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('the process exited', { cause: last });
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      last = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no answer from the frontend within ${timeoutMs} ms`, { cause: last });
}

/** temporal.api.enums.v1.IndexedValueType numbers (the proto package is not a direct dependency). */
const INDEXED = { KEYWORD: 2, DATETIME: 6 } as const satisfies Record<SearchAttributeKind, number>;

/**
 * `--search-attribute` only registers when the dev server creates its database file; on a restart with an
 * existing file (or an older file without a newer attribute) add what is missing through the operator service.
 * Returns the names that had to be added.
 */
export async function ensureSearchAttributes(
  address: string,
  namespace: string,
  logger: Logger = infraLogger(),
): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = SEARCH_ATTRIBUTE_NAMES.filter((name) => !known.has(name));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, INDEXED[SEARCH_ATTRIBUTES[name]]])),
      });
      logger.info({ namespace, added: missing }, 'registered missing search attributes');
    }
    return missing;
  } finally {
    await connection.close();
  }
}
