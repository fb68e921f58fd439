/**
 * The Temporal worker: runs the case workflows and their activities on `config.temporal.taskQueue`.
 *
 * - `startWorker(...)` is used by scripts/start.ts (everything in one process on one machine);
 * - `node dist/worker.js` runs it alone (scale-out: any number of these next to any number of API
 *   processes), configured only by environment: DATABASE_URL, TEMPORAL_ADDRESS and SMTP_URL are then
 *   required, since a standalone worker starts no infrastructure.
 *
 * Activities get their dependencies from `createActivities(deps)` (activities/index.ts); the workflow
 * code is bundled from workflows/index.ts (tsx) or dist/workflows/index.js (compiled).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type { Client } from '@temporalio/client';
import { Runtime, Worker, type Logger as TemporalLogger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from './activities/index.js';
import { createDb } from './db/client.js';
import { loadConfigOrExit, type Config } from './lib/config.js';
import { temporalDataConverter } from './lib/infra/payload-codec.js';
import { connectClient, connectWorkerConnection } from './lib/infra/temporal-connection.js';
import { createLogger } from './lib/logger.js';
import { createMailer } from './notifications/mailer.js';
import { activityInterceptors, workflowSinks } from './lib/infra/temporal-interceptors.js';
import type { MetricsServer } from './lib/observability/metrics-server.js';
import { startTracing } from './lib/observability/tracing.js';
import {
  runtimeMetricsOptions,
  startWorkerTelemetryServer,
  workerProbes,
} from './lib/observability/worker-telemetry.js';
import { ensureAllocationSchedule } from './services/allocation/schedule.js';
import { ensureRetentionSchedule } from './services/retention/schedule.js';
import { ensureRegisterPartitions, startupActor } from './services/register/partitions.js';
import { ensureRegisterPartitionsSchedule } from './services/register/schedule.js';
import { runRecoveryLoop, type RecoveryLoop } from './services/recovery/sweep.js';
import { upsertSchedule } from './services/schedules.js';
import { repeatOffenderScheduleId, type RepeatOffenderScanInput } from './workflows/shared.js';

export interface StartWorkerOptions {
  config: Config;
  temporalAddress: string;
  databaseUrl: string;
  smtpUrl: string;
  logger?: Logger;
  /** Create/refresh the GT-5 repeat-offender Schedule (default true). */
  schedule?: boolean;
  /**
   * Every RECOVERY_EVERY_MS, start the workflows of intakes (cases, supplier reports) that committed but
   * never started one (services/recovery/sweep.ts runRecoveryLoop; default true).
   */
  recoverCases?: boolean;
  /** Issue 20: more gauges for this worker's metrics listener to refresh at scrape time (scripts/start.ts: the domain's). */
  metricsCollect?: () => Promise<void>;
}

/**
 * GT-5: the Schedule that runs the repeat-offender scan. Idempotent: created once, and on every later
 * worker start updated to the configured interval and thresholds.
 */
export async function ensureRepeatOffenderSchedule(
  client: Client,
  config: Config,
  logger: Logger,
): Promise<'created' | 'updated'> {
  const args: [RepeatOffenderScanInput] = [
    {
      threshold: config.repeatOffender.threshold,
      windowDays: config.repeatOffender.windowDays,
      followUpDays: config.repeatOffender.followUpDays,
      votingDays: config.repeatOffender.votingDays,
      agreementRule: config.repeatOffender.agreementRule,
    },
  ];
  const spec = {
    intervals: [{ every: config.repeatOffender.scheduleEvery as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` }],
  };
  const scheduleId = repeatOffenderScheduleId(config.temporal.taskQueue);
  const done = await upsertSchedule(client, {
    scheduleId,
    spec,
    workflowType: 'repeatOffenderScanWorkflow',
    taskQueue: config.temporal.taskQueue,
    args,
    catchupWindow: '1 hour',
  });
  if (done === 'created')
    logger.info({ every: config.repeatOffender.scheduleEvery, ...args[0] }, 'repeat-offender schedule created');
  return done;
}

export interface RunningWorker {
  /** Stop polling, let running activities finish (up to the grace time), then close connections. */
  shutdown(): Promise<void>;
  /** Settles when the worker stops; rejects when it fails on its own. */
  done: Promise<void>;
  /** Issue 20: the metrics and probe listener (METRICS_PORT; undefined when not configured). */
  metrics?: MetricsServer;
}

/** Workflow code: the TypeScript source under tsx, the compiled file under node dist/. */
export function workflowsPath(): string {
  for (const candidate of ['./workflows/index.ts', './workflows/index.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('workflows/index.(ts|js) not found next to worker');
}

/** Issue 20: the workflow interceptor module (request id, OpenTelemetry), bundled with the workflow code. */
export function workflowInterceptorsPath(): string {
  for (const candidate of ['./workflows/interceptors.ts', './workflows/interceptors.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('workflows/interceptors.(ts|js) not found next to worker');
}

/** Written by `npm run build` (scripts/bundle-workflows.ts) next to the compiled worker. */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

/**
 * The prebuilt bundle when this is the compiled worker and the bundle is at least as new as the compiled workflow
 * code; otherwise the SDK bundles workflows/ at start (tsx, or a `tsc` without the bundle step).
 */
export function workflowCode(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const source = workflowsPath();
  const bundle = fileURLToPath(new URL(`./${WORKFLOW_BUNDLE_FILE}`, import.meta.url));
  if (!source.endsWith('.js') || !existsSync(bundle)) return { workflowsPath: source };
  const dir = dirname(source);
  const newest = Math.max(
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
  return statSync(bundle).mtimeMs >= newest ? { workflowBundle: { codePath: bundle } } : { workflowsPath: source };
}

/** The SDK's logger interface on top of pino (activity `log` calls end up here too). */
function temporalLogger(logger: Logger): TemporalLogger {
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: LogMetadata) =>
    logger[level](meta ?? {}, message);
  const byLevel: Record<LogLevel, (message: string, meta?: LogMetadata) => void> = {
    TRACE: at('trace'),
    DEBUG: at('debug'),
    INFO: at('info'),
    WARN: at('warn'),
    ERROR: at('error'),
  };
  return {
    log: (level, message, meta) => byLevel[level](message, meta),
    trace: byLevel.TRACE,
    debug: byLevel.DEBUG,
    info: byLevel.INFO,
    warn: byLevel.WARN,
    error: byLevel.ERROR,
  };
}

let runtimeInstalled: { metricsUrl: string | undefined } | undefined;
/** Installs the SDK runtime once per process; with METRICS_PORT, with its Prometheus exporter (issue 20). */
async function installRuntime(logger: Logger, config: Config): Promise<{ metricsUrl: string | undefined }> {
  if (runtimeInstalled) return runtimeInstalled;
  const metrics = await runtimeMetricsOptions(config.observability);
  try {
    Runtime.install({ logger: temporalLogger(logger), ...(metrics ? { telemetryOptions: metrics.telemetry } : {}) });
    runtimeInstalled = { metricsUrl: metrics?.url };
  } catch (err) {
    // Already instantiated by an earlier connection in this process: keep that runtime (without its metrics).
    logger.debug({ err }, 'Temporal runtime already installed');
    runtimeInstalled = { metricsUrl: undefined };
  }
  return runtimeInstalled;
}

export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config, 'worker');
  const runtime = await installRuntime(logger, config);
  const tracing = await startTracing(config.observability);
  if (config.temporal.codec.source === 'development')
    logger.info('workflow payloads encrypted with the public development key (set TEMPORAL_CODEC_KEYS for real data)');

  const connection = await connectWorkerConnection(config.temporal, opts.temporalAddress);
  const { connection: clientConnection, client } = await connectClient(config.temporal, opts.temporalAddress);
  const dbh = createDb(opts.databaseUrl, { max: config.database.poolMax });
  const mailer = createMailer(opts.smtpUrl, { from: config.smtp.from });
  let metrics: MetricsServer | undefined;
  const closeAll = async (): Promise<void> => {
    await metrics?.close();
    // Spans still buffered (the last activities') go out before the process ends; a collector away costs no shutdown.
    await tracing.flush().catch(() => undefined);
    mailer.close();
    await dbh.close();
    await clientConnection.close();
    await connection.close();
  };
  try {
    const activities = createActivities({ config, db: dbh.db, mailer, temporalClient: client });
    if (opts.schedule !== false) await ensureRepeatOffenderSchedule(client, config, logger);
    // V8 takes its heap limits from its flags when an isolate is created: set before Worker.create creates the
    // workflow thread, this bounds that thread's heap (without it V8 grows it lazily towards a share of the machine's
    // memory under load; docs/operations.md, "Bounded worker memory"). The main thread keeps its own limit.
    if (config.worker.workflowHeapMb > 0) setFlagsFromString(`--max-old-space-size=${config.worker.workflowHeapMb}`);
    if (opts.schedule !== false) await ensureAllocationSchedule(client, config, logger);
    if (opts.schedule !== false) await ensureRetentionSchedule(client, config, logger);
    // DC-1: the register's current month and those ahead exist before anything is decided, whatever the Schedule
    // did while the system was stopped (domain/register-partitions.ts).
    await ensureRegisterPartitions(dbh.db, new Date(), startupActor('worker'));
    if (opts.schedule !== false) await ensureRegisterPartitionsSchedule(client, config, logger);
    const code = workflowCode();
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      ...code,
      activities,
      // Encrypted payloads and failure messages (lib/infra/payload-codec.ts); the prebuilt bundle has the same converter.
      dataConverter: temporalDataConverter(config.temporal.codec),
      // Issue 20: request id and traces (lib/infra/temporal-interceptors.ts); a prebuilt bundle has the module.
      interceptors: {
        activity: activityInterceptors(tracing),
        workflowModules: 'workflowsPath' in code ? [workflowInterceptorsPath()] : [],
      },
      sinks: workflowSinks(tracing),
      shutdownGraceTime: '20s',
      // Bounded memory (docs/operations.md, "Bounded worker memory"): the SDK's default cache grows with the heap limit.
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    });
    metrics = await startWorkerTelemetryServer(
      config.observability,
      runtime.metricsUrl,
      opts.metricsCollect,
      workerProbes({
        state: () => worker.getState(),
        connected: () =>
          connection
            .withDeadline(Date.now() + 1_500, () => connection.workflowService.getSystemInfo({}))
            .then(() => true),
      }),
    );
    const done = worker.run();
    // Runs next to the worker for as long as it runs (a sweep never rejects: failures wait for the next).
    const recovery: RecoveryLoop | undefined =
      opts.recoverCases !== false
        ? runRecoveryLoop({ db: dbh.db, temporal: client, taskQueue: config.temporal.taskQueue, logger })
        : undefined;
    let closing: Promise<void> | undefined;
    const close = async (): Promise<void> => {
      await recovery?.stop();
      await closeAll();
    };
    // Whatever ends the worker, release the pool and the connection once.
    const finished = done.then(
      () => (closing ??= close()),
      async (err: unknown) => {
        await (closing ??= close());
        throw err;
      },
    );
    return {
      done: finished,
      ...(metrics ? { metrics } : {}),
      async shutdown() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await finished;
      },
    };
  } catch (err) {
    await closeAll();
    throw new Error('the Temporal worker did not start', { cause: err });
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'worker');
  const missing = [
    ['DATABASE_URL', config.database.url],
    ['TEMPORAL_ADDRESS', config.temporal.address],
    ['SMTP_URL', config.smtp.url],
  ].filter(([, v]) => v === undefined);
  if (missing.length > 0) {
    process.stderr.write(
      `A standalone worker needs ${missing.map(([k]) => k).join(', ')} (it starts no local services; npm start does).\n`,
    );
    process.exit(78);
  }
  const running = await startWorker({
    config,
    temporalAddress: config.temporal.address!,
    databaseUrl: config.database.url!,
    smtpUrl: config.smtp.url!,
    logger,
  });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'worker running');
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      logger.info({ signal }, 'draining worker');
      running.shutdown().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'worker failed while draining');
          process.exit(1);
        },
      );
    });
  }
  await running.done;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
