/**
 * Configuration from environment variables, validated once at start.
 *
 * A bad value stops the process with one line naming the variable and what is expected
 * (ConfigError.message); nothing else reads process.env directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { AGREEMENT_RULES, type AgreementRule } from './agreement-rules.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly got: string | undefined,
  ) {
    super(`Invalid configuration: ${variable}=${JSON.stringify(got ?? '')} — expected ${expected}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback?: string): string | undefined {
  const v = env[name];
  if (v === undefined || v.trim() === '') return fallback;
  return v.trim();
}

/**
 * Issue 21 (decisions/0019): the compacted register months that keep their covering party-day index, counted back
 * from the current month. A closed month is in connection order (for DC-5), so without it a party's day reads a heap
 * page a row: at 100 M rows 22.6 / 90 ms p50 / p99 a page of 100 against 2.8 / 8.9 with it. It costs about the
 * month's heap again on disk (186 MiB per million rows), so it is bounded by months: by default 13 back, the current
 * one counted (the months the DC-5 answer reads; the current month, written in time order and never compacted, has
 * none), which keeps every party-day page of that window within the 2× at 100 M rows (docs/benchmarks.md,
 * 2026-12-07 20:21 run). An operator short of disk sets fewer (3: the two closed months before the current one).
 */
export const DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS = 13;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `an integer between ${min} and ${max}`, raw);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `an integer between ${min} and ${max}`, raw);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, `one of ${values.join(', ')}`, raw);
  return raw as T;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, 'true or false', raw);
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `a URL (${protocols.join(' or ')})`, redact(raw));
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(name, `a URL (${protocols.join(' or ')})`, redact(raw));
  return raw;
}

/** host:port, as Temporal clients expect. */
function hostPort(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(raw))
    throw new ConfigError(name, 'host:port, e.g. my-ns.a1b2c.tmprl.cloud:7233', raw);
  return raw;
}

function email(env: Env, name: string, fallback: string): string {
  const raw = str(env, name, fallback)!;
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(raw)) throw new ConfigError(name, 'an email address', raw);
  return raw;
}

/** Never echo a password back into a log line. */
function redact(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  host: string;
  port: number;
  /** Public base URL of the API, used in emails to tell parties how to answer. */
  publicUrl: string;
  dataDir: string;
  database: {
    /** undefined: start the embedded PostgreSQL under dataDir. */
    url: string | undefined;
    poolMax: number;
    /** Issue 8: an API request unanswered this long has PostgreSQL probed; no answer within as long again → 503. */
    hangProbeAfterMs: number;
    embeddedPort: number;
  };
  temporal: {
    /** undefined: start the Temporal CLI dev server as a child process. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    tls: {
      certPath: string | undefined;
      keyPath: string | undefined;
      caPath: string | undefined;
      serverName: string | undefined;
    };
    apiKey: string | undefined;
    cliPath: string | undefined;
    devPort: number;
    devUiPort: number;
    /** Encryption of workflow payloads before they reach Temporal (lib/infra/payload-codec.ts; docs/operations.md). */
    codec: CodecConfig;
  };
  smtp: {
    /** undefined: start the local capturing SMTP server. */
    url: string | undefined;
    capturePort: number;
    from: string;
  };
  /** GT-5 / GT-6: where reports to the ACM are mailed. Required in production (no placeholder there). */
  acmReportEmail: string;
  /** Body limit for JSON requests (bytes); evidence uploads have their own. */
  bodyLimit: number;
  evidenceMaxBytes: number;
  /** Issue 20: a case action not confirmed this long is answered 503 with its outcome (api/plugins/case-action.ts). */
  caseActionDeadlineMs: number;
  /** Issue 19: the work queue lists a case deadline this many hours ahead (GET /work-items). */
  workItemsHorizonHours: number;
  repeatOffender: {
    /** GT-5: signals per party across all grid operators within the window that open a review. */
    threshold: number;
    windowDays: number;
    followUpDays: number;
    /** GT-5: days the grid operators have to agree on a proposal; the rule they agree by (domain/review.ts). */
    votingDays: number;
    agreementRule: AgreementRule;
    scheduleEvery: string;
  };
  /** Bounds of one worker process (`node dist/worker.js`), so its memory stays flat however many cases are open. */
  worker: {
    /** Workflows kept in memory between tasks (sticky cache); the others are replayed from history on their next task. */
    maxCachedWorkflows: number;
    /** Workflow tasks run at once (at most maxCachedWorkflows). */
    maxConcurrentWorkflowTasks: number;
    /** Activities (database work, mail) run at once by this process. */
    maxConcurrentActivities: number;
    /** V8 old-space limit (MiB) of the thread that runs the workflow code; 0: Node's default (a share of the machine's memory). */
    workflowHeapMb: number;
  };
  allocation: {
    /** AL-3: aggregate cells of fewer connections are flagged in exports. */
    minimumConnections: number;
    /** Load the generated profile set for a year without one (never in production: real fractions only). */
    generatedProfiles: boolean;
    /** Local time (Europe/Amsterdam) at which the daily allocation Schedule runs yesterday's allocation. */
    scheduleAt: { hour: number; minute: number };
  };
  /**
   * DC-9 storage limitation: how long each kind of record is kept, in days, and the daily purge that removes
   * what is past it (services/retention/purge.ts; the reasoning behind the defaults: docs/retention.md).
   */
  retention: {
    /** Cases with their notes, notices, contact attempts, evidence metadata and digests: from the close. */
    caseDays: number;
    /** GT-9 supplier reports: from the report (never while their case is kept). */
    supplierReportDays: number;
    /** DC-1 access register rows: from decided_at. At least readingDays (DC-5: who received data still held). */
    accessRegisterDays: number;
    /** Meter reading days (AL-1): from the day. At least 3 years (DC-6: the grid user's 3 years of history). */
    readingDays: number;
    /** The personal part of audit entries whose record has no period of its own (keys, mandates, contacts, …). */
    auditDetailsDays: number;
    /** Rows removed per statement (register, readings, audit details): each batch is its own short transaction. */
    batchRows: number;
    /** Cases (or supplier reports) removed per transaction, with their dependent rows and audit details. */
    batchCases: number;
    /** Local time (Europe/Amsterdam) of the daily retention purge Schedule. */
    scheduleAt: { hour: number; minute: number };
  };
  /** Issue 21: the access register's upkeep by the daily partitions run (services/register/partitions.ts). */
  register: {
    /**
     * Months back (the current one counted) a compacted month keeps its covering party-day index (decisions/0019):
     * REGISTER_PARTY_DAY_INDEX_MONTHS, default 13; older months drop it (about the month's heap again on disk).
     */
    partyDayIndexMonths: number;
  };
  seedDemo: boolean;
  /** Issue 20: Prometheus metrics and OpenTelemetry traces (docs/operations.md, "Metrics and traces"). */
  observability: {
    /**
     * Port of the separate metrics listener (`/metrics`; a worker's also `/livez`, `/readyz`); undefined: none.
     * Apart from the API port so a platform's scraper needs no API key and the ingress never exposes it.
     */
    metricsPort: number | undefined;
    metricsHost: string;
    /** OTEL_TRACES_EXPORTER: `otlp` sends spans over OTLP/HTTP (JSON); `none` (the default) creates none. */
    tracesExporter: 'otlp' | 'none';
    /** OTLP/HTTP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
    tracesEndpoint: string;
    serviceName: string | undefined;
  };
  /** Issue 20: how machine clients and people prove who they are (api/plugins/auth.ts; docs/operations.md). */
  auth: AuthConfig;
  /** Issue 19: the people's console at /console (console/; docs/console.md). */
  console: ConsoleConfig;
  /** Issue 20: each P4 client's fair share of the gate, per API instance (api/routes/p4.ts). */
  p4FairShare: {
    /** Gate requests (decisions and deliveries) one party may make per window; 0: no limit. */
    max: number;
    windowMs: number;
  };
}

export interface AuthConfig {
  /** Known keys and certificates are cached this long: a revocation on another instance holds within it. */
  cacheTtlMs: number;
  /** Known keys and certificates cached (LRU). */
  cacheMax: number;
  /** Unknown, expired and revoked credentials cached apart (LRU), so a flood of them cannot evict known ones. */
  missCacheMax: number;
  /** Last-used times are written at most this often per key or certificate, in one statement off the request path. */
  lastUsedFlushMs: number;
  /**
   * The in-memory index of the keys that may authenticate (api/plugins/key-index.ts): an unknown key is refused
   * without PostgreSQL. Reloaded every refreshMs and, on a miss, at most once per missRefreshMs.
   */
  keyIndex: { enabled: boolean; refreshMs: number; missRefreshMs: number };
  /** The API serves HTTPS itself with these (PEM files); with clientCaFile it asks for client certificates (mTLS). */
  tls: { certFile: string | undefined; keyFile: string | undefined; clientCaFile: string | undefined };
  /** Behind an ingress that terminates mTLS: the header carrying the verified client certificate, lower case. */
  clientCertHeader: string | undefined;
  /** `fingerprint` (SHA-256, hex with or without colons) or `pem` (URL-encoded PEM, nginx `$ssl_client_escaped_cert`). */
  clientCertHeaderFormat: 'fingerprint' | 'pem';
  /** Addresses (IPs or CIDRs) whose clientCertHeader is believed: the ingress only. */
  trustedProxies: string[];
}

/**
 * The payload codec's keys (AES-256-GCM): every key listed decrypts, `encryptKeyId` encrypts. Rotation adds a key
 * and moves `encryptKeyId` to it; the old key stays listed while any history still holds payloads under it.
 */
export interface CodecConfig {
  /** Key id → 32 key bytes. A Map, so the keys never appear when the config is logged or serialised. */
  keys: ReadonlyMap<string, Buffer>;
  encryptKeyId: string;
  /** 'configured': TEMPORAL_CODEC_KEYS; 'development': the fixed, public key of one machine (never in production). */
  source: 'configured' | 'development';
  /** Origins (the Temporal UI's) allowed to call POST /codec/decode and /codec/encode from a browser. */
  corsOrigins: string[];
}

/** Id and material of the development key: public by design (it is in this file), refused in production. */
export const DEV_CODEC_KEY_ID = 'dev';
export const DEV_CODEC_KEY = createHash('sha256')
  .update('gerede-twijfel development payload key: public, never for real data')
  .digest();

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** TEMPORAL_CODEC_KEYS=id:base64,id:base64 and TEMPORAL_CODEC_KEY_ID; without keys, the dev key outside production. */
function codecConfig(env: Env, nodeEnv: Config['nodeEnv'], devUiPort: number): CodecConfig {
  const raw = str(env, 'TEMPORAL_CODEC_KEYS');
  const corsOrigins = str(env, 'TEMPORAL_CODEC_CORS_ORIGINS')
    ?.split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '') ?? [
    ...(nodeEnv === 'production' ? [] : [`http://localhost:${devUiPort}`, `http://127.0.0.1:${devUiPort}`]),
  ];
  for (const origin of corsOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin)
      throw new ConfigError(
        'TEMPORAL_CODEC_CORS_ORIGINS',
        'comma-separated origins like https://temporal-ui.example',
        origin,
      );
  }
  if (raw === undefined) {
    if (nodeEnv === 'production')
      throw new ConfigError(
        'TEMPORAL_CODEC_KEYS',
        'id:base64-32-byte-key[,id:key…] (required in production: workflow payloads are encrypted before they reach Temporal)',
        undefined,
      );
    const id = str(env, 'TEMPORAL_CODEC_KEY_ID', DEV_CODEC_KEY_ID)!;
    if (id !== DEV_CODEC_KEY_ID)
      throw new ConfigError(
        'TEMPORAL_CODEC_KEY_ID',
        `a key id listed in TEMPORAL_CODEC_KEYS (unset: only ${DEV_CODEC_KEY_ID})`,
        id,
      );
    return {
      keys: new Map([[DEV_CODEC_KEY_ID, DEV_CODEC_KEY]]),
      encryptKeyId: DEV_CODEC_KEY_ID,
      source: 'development',
      corsOrigins,
    };
  }
  const keys = new Map<string, Buffer>();
  const expected = 'id:base64-32-byte-key[,id:key…], e.g. k2026:$(openssl rand -base64 32)';
  for (const entry of raw.split(',').map((e) => e.trim())) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const material = colon > 0 ? entry.slice(colon + 1) : '';
    // Never echo key material: name the entry by its id only.
    const shown = id !== '' ? `${id}:***` : '***';
    if (!KEY_ID.test(id))
      throw new ConfigError('TEMPORAL_CODEC_KEYS', `${expected} (ids: letters, digits, . _ -)`, shown);
    if (keys.has(id)) throw new ConfigError('TEMPORAL_CODEC_KEYS', `${expected} (each id once)`, shown);
    const key = BASE64.test(material) ? Buffer.from(material, 'base64') : undefined;
    if (key?.length !== 32) throw new ConfigError('TEMPORAL_CODEC_KEYS', `${expected} (32 bytes, base64)`, shown);
    if (nodeEnv === 'production' && key.equals(DEV_CODEC_KEY))
      throw new ConfigError('TEMPORAL_CODEC_KEYS', 'a secret key (the development key is public)', shown);
    keys.set(id, key);
  }
  const only = keys.size === 1 ? [...keys.keys()][0] : undefined;
  const encryptKeyId = str(env, 'TEMPORAL_CODEC_KEY_ID', only);
  if (encryptKeyId === undefined || !keys.has(encryptKeyId))
    throw new ConfigError(
      'TEMPORAL_CODEC_KEY_ID',
      `the id of the key that encrypts, one of ${[...keys.keys()].join(', ')}`,
      encryptKeyId,
    );
  return { keys, encryptKeyId, source: 'configured', corsOrigins };
}

/** DC-6 (Datacode 5.4.1): the grid user may ask for the last 3 years of their data, so readings stay that long. */
export const MIN_READING_RETENTION_DAYS = 1096;

/**
 * DC-9: the access register's longest period, unless the readings are kept longer (then theirs, the register's
 * minimum). Five years, a leap day included: a supervisor's power to fine lapses five years after the violation
 * (Awb art. 5:45(1)) and a claim for damages five years after the injured party learned of it (BW art. 3:310(1));
 * past that and the readings' period the register serves no purpose (GDPR art. 5(1)(e); docs/rules.md DC-9).
 */
export const MAX_REGISTER_RETENTION_DAYS = 1826;

const DURATION = /^\d+(ms|s|m|h|d)$/;

function acmReportEmail(env: Env, nodeEnv: Config['nodeEnv']): string {
  if (nodeEnv === 'production' && str(env, 'ACM_REPORT_EMAIL') === undefined) {
    throw new ConfigError('ACM_REPORT_EMAIL', 'the ACM reporting address (required in production)', undefined);
  }
  return email(env, 'ACM_REPORT_EMAIL', 'meldingen@acm.example');
}

function workflowHeapMb(env: Env): number {
  const mb = int(env, 'WORKER_WORKFLOW_HEAP_MB', 128, 0, 65_536);
  if (mb !== 0 && mb < 64)
    throw new ConfigError('WORKER_WORKFLOW_HEAP_MB', '0 (Node default) or at least 64', String(mb));
  return mb;
}

/** A local time HH:MM (Europe/Amsterdam). */
function localTime(env: Env, name: string, fallback: string): { hour: number; minute: number } {
  const raw = str(env, name, fallback)!;
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(raw);
  if (!m) throw new ConfigError(name, 'a local time HH:MM (Europe/Amsterdam), e.g. 07:00', raw);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** DC-9 periods; the register must outlive the readings it accounts for (DC-5). */
function retention(env: Env): Config['retention'] {
  const readingDays = int(env, 'RETENTION_READING_DAYS', 1127, MIN_READING_RETENTION_DAYS, 36_500);
  const accessRegisterDays = int(env, 'RETENTION_ACCESS_REGISTER_DAYS', 1826, 1, 36_500);
  // DC-9 bounds: at least the readings' period (DC-5), at most five years or the readings' period if longer.
  const bounds = { min: readingDays, max: Math.max(MAX_REGISTER_RETENTION_DAYS, readingDays) };
  if (accessRegisterDays < bounds.min)
    throw new ConfigError(
      'RETENTION_ACCESS_REGISTER_DAYS',
      `at least RETENTION_READING_DAYS (${readingDays}): the register shows who received data still held (DC-5)`,
      String(accessRegisterDays),
    );
  if (accessRegisterDays > bounds.max)
    throw new ConfigError(
      'RETENTION_ACCESS_REGISTER_DAYS',
      `at most ${bounds.max} days: past five years (Awb 5:45, BW 3:310) and the readings' period the register has no purpose left (DC-9)`,
      String(accessRegisterDays),
    );
  return {
    caseDays: int(env, 'RETENTION_CASE_DAYS', 1826, 1, 36_500),
    supplierReportDays: int(env, 'RETENTION_SUPPLIER_REPORT_DAYS', 1826, 1, 36_500),
    accessRegisterDays,
    readingDays,
    auditDetailsDays: int(env, 'RETENTION_AUDIT_DETAILS_DAYS', 1826, 1, 36_500),
    batchRows: int(env, 'RETENTION_BATCH_ROWS', 5000, 1, 1_000_000),
    batchCases: int(env, 'RETENTION_BATCH_CASES', 100, 1, 10_000),
    scheduleAt: localTime(env, 'RETENTION_SCHEDULE_AT', '03:30'),
  };
}

/** In production mails must point parties at the real public address, never at this process's host:port. */
function publicUrl(env: Env, nodeEnv: Config['nodeEnv'], host: string, port: number): string {
  const given = url(env, 'PUBLIC_URL', ['http:', 'https:']);
  if (given !== undefined) return given;
  if (nodeEnv === 'production')
    throw new ConfigError('PUBLIC_URL', 'the public base URL parties answer at (required in production)', undefined);
  return `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const dataDir = resolve(str(env, 'DATA_DIR', '.data')!);
  const port = int(env, 'PORT', 3000, 0, 65535);
  const host = str(env, 'HOST', '127.0.0.1')!;
  const certPath = str(env, 'TEMPORAL_TLS_CERT_PATH');
  const keyPath = str(env, 'TEMPORAL_TLS_KEY_PATH');
  if ((certPath === undefined) !== (keyPath === undefined)) {
    const missing = certPath === undefined ? 'TEMPORAL_TLS_CERT_PATH' : 'TEMPORAL_TLS_KEY_PATH';
    throw new ConfigError(missing, 'set together with its pair (client certificate and key for mTLS)', undefined);
  }
  const devUiPort = int(env, 'TEMPORAL_DEV_UI_PORT', 8233, 1, 65535);
  const scheduleEvery = str(env, 'REPEAT_OFFENDER_SCHEDULE_EVERY', '1h')!;
  const maxCachedWorkflows = int(env, 'WORKER_MAX_CACHED_WORKFLOWS', 100, 2, 100_000);
  const maxConcurrentWorkflowTasks = int(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 10, 2, 1_000);
  // The SDK would silently lower it to the cache size; say so at start instead.
  if (maxConcurrentWorkflowTasks > maxCachedWorkflows) {
    throw new ConfigError(
      'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS',
      `at most WORKER_MAX_CACHED_WORKFLOWS (${maxCachedWorkflows})`,
      String(maxConcurrentWorkflowTasks),
    );
  }
  const allocationAt = str(env, 'ALLOCATION_SCHEDULE_AT', '07:00')!;
  const at = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(allocationAt);
  if (!at)
    throw new ConfigError('ALLOCATION_SCHEDULE_AT', 'a local time HH:MM (Europe/Amsterdam), e.g. 07:00', allocationAt);
  if (!DURATION.test(scheduleEvery))
    throw new ConfigError('REPEAT_OFFENDER_SCHEDULE_EVERY', 'a duration like 30m, 1h or 1d', scheduleEvery);

  return {
    nodeEnv,
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      nodeEnv === 'test' ? 'warn' : 'info',
    ),
    host,
    port,
    publicUrl: publicUrl(env, nodeEnv, host, port),
    dataDir,
    database: {
      url: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
      poolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
      hangProbeAfterMs: int(env, 'DATABASE_HANG_PROBE_MS', 500, 100, 60_000),
      embeddedPort: int(env, 'EMBEDDED_PG_PORT', 5433, 1, 65535),
    },
    temporal: {
      address: hostPort(env, 'TEMPORAL_ADDRESS'),
      namespace: str(env, 'TEMPORAL_NAMESPACE', 'default')!,
      taskQueue: str(env, 'TEMPORAL_TASK_QUEUE', 'gerede-twijfel')!,
      tls: {
        certPath,
        keyPath,
        caPath: str(env, 'TEMPORAL_TLS_CA_PATH'),
        serverName: str(env, 'TEMPORAL_TLS_SERVER_NAME'),
      },
      apiKey: str(env, 'TEMPORAL_API_KEY'),
      cliPath: str(env, 'TEMPORAL_CLI_PATH'),
      devPort: int(env, 'TEMPORAL_DEV_PORT', 7233, 1, 65535),
      devUiPort,
      codec: codecConfig(env, nodeEnv, devUiPort),
    },
    smtp: {
      url: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
      capturePort: int(env, 'SMTP_CAPTURE_PORT', 2525, 1, 65535),
      from: email(env, 'MAIL_FROM', 'gerede-twijfel@netbeheer.example'),
    },
    acmReportEmail: acmReportEmail(env, nodeEnv),
    bodyLimit: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    evidenceMaxBytes: int(env, 'EVIDENCE_MAX_BYTES', 5 * 1_048_576, 1024, 50 * 1_048_576),
    caseActionDeadlineMs: int(env, 'CASE_ACTION_DEADLINE_MS', 1_500, 100, 600_000),
    workItemsHorizonHours: int(env, 'WORK_ITEMS_HORIZON_HOURS', 24, 1, 720),
    repeatOffender: {
      threshold: int(env, 'REPEAT_OFFENDER_THRESHOLD', 5, 1, 1_000_000),
      windowDays: int(env, 'REPEAT_OFFENDER_WINDOW_DAYS', 90, 1, 3650),
      followUpDays: int(env, 'REPEAT_OFFENDER_FOLLOW_UP_DAYS', 60, 1, 3650),
      votingDays: int(env, 'REPEAT_OFFENDER_VOTING_DAYS', 30, 1, 3650),
      agreementRule: oneOf(env, 'REPEAT_OFFENDER_AGREEMENT_RULE', AGREEMENT_RULES, 'majority'),
      scheduleEvery,
    },
    worker: {
      maxCachedWorkflows,
      maxConcurrentWorkflowTasks,
      maxConcurrentActivities: int(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 20, 1, 1_000),
      workflowHeapMb: workflowHeapMb(env),
    },
    allocation: {
      minimumConnections: int(env, 'ALLOCATION_MIN_CONNECTIONS', 10, 1, 1_000_000),
      generatedProfiles: bool(env, 'ALLOCATION_GENERATED_PROFILES', nodeEnv !== 'production'),
      scheduleAt: { hour: Number(at[1]), minute: Number(at[2]) },
    },
    retention: retention(env),
    register: {
      partyDayIndexMonths: int(env, 'REGISTER_PARTY_DAY_INDEX_MONTHS', DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS, 0, 120),
    },
    seedDemo: bool(env, 'SEED_DEMO', nodeEnv === 'development'),
    observability: observability(env, host),
    auth: auth(env),
    console: consoleConfig(env, nodeEnv, publicUrl(env, nodeEnv, host, port)),
    p4FairShare: {
      max: int(env, 'P4_FAIR_SHARE_MAX', 1000, 0, 10_000_000),
      windowMs: int(env, 'P4_FAIR_SHARE_WINDOW_MS', 1000, 100, 3_600_000),
    },
  };
}

function file(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw !== undefined && !existsSync(raw)) throw new ConfigError(name, 'the path of a readable PEM file', raw);
  return raw;
}

/** IPs and CIDRs (10.0.0.0/8, fd00::/8), comma-separated. */
function addresses(env: Env, name: string): string[] {
  const raw = str(env, name);
  if (raw === undefined) return [];
  const list = raw
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const a of list) {
    const [ip, bits, extra] = a.split('/');
    const family = isIP(ip ?? '');
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)))
      throw new ConfigError(name, 'IP addresses or CIDRs, comma-separated (e.g. 10.0.0.0/8,127.0.0.1)', raw);
  }
  return list;
}

function auth(env: Env): AuthConfig {
  const certFile = file(env, 'TLS_CERT_FILE');
  const keyFile = file(env, 'TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE';
    throw new ConfigError(missing, 'set together with its pair (the API’s own certificate and key)', undefined);
  }
  const clientCaFile = file(env, 'TLS_CLIENT_CA_FILE');
  if (clientCaFile !== undefined && certFile === undefined)
    throw new ConfigError('TLS_CERT_FILE', 'set with TLS_CLIENT_CA_FILE (client certificates need HTTPS)', undefined);
  const header = str(env, 'CLIENT_CERT_HEADER')?.toLowerCase();
  if (header !== undefined && !/^[a-z0-9-]+$/.test(header))
    throw new ConfigError('CLIENT_CERT_HEADER', 'an HTTP header name, e.g. x-ssl-client-fingerprint', header);
  const trustedProxies = addresses(env, 'TRUSTED_PROXIES');
  // A forwarded certificate believed from anyone would let any caller claim any party.
  if (header !== undefined && trustedProxies.length === 0)
    throw new ConfigError('TRUSTED_PROXIES', 'the ingress addresses, required with CLIENT_CERT_HEADER', undefined);
  return {
    cacheTtlMs: int(env, 'AUTH_CACHE_TTL_MS', 30_000, 0, 600_000),
    cacheMax: int(env, 'AUTH_CACHE_MAX', 10_000, 1, 10_000_000),
    missCacheMax: int(env, 'AUTH_MISS_CACHE_MAX', 100_000, 1, 10_000_000),
    lastUsedFlushMs: int(env, 'AUTH_LAST_USED_FLUSH_MS', 60_000, 1_000, 3_600_000),
    keyIndex: {
      enabled: bool(env, 'AUTH_KEY_INDEX', true),
      refreshMs: int(env, 'AUTH_KEY_INDEX_REFRESH_MS', 5_000, 100, 600_000),
      missRefreshMs: int(env, 'AUTH_KEY_INDEX_MISS_REFRESH_MS', 1_000, 0, 60_000),
    },
    tls: { certFile, keyFile, clientCaFile },
    clientCertHeader: header,
    clientCertHeaderFormat: oneOf(env, 'CLIENT_CERT_HEADER_FORMAT', ['fingerprint', 'pem'] as const, 'fingerprint'),
    trustedProxies,
  };
}

/** Metrics listener and trace export; the OTEL_* names are OpenTelemetry's own (its SDK conventions). */
function observability(env: Env, host: string): Config['observability'] {
  const rawPort = str(env, 'METRICS_PORT');
  const base = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']) ?? 'http://localhost:4318';
  return {
    metricsPort: rawPort === undefined ? undefined : int(env, 'METRICS_PORT', 0, 0, 65535),
    metricsHost: str(env, 'METRICS_HOST', host)!,
    tracesExporter: oneOf(env, 'OTEL_TRACES_EXPORTER', ['otlp', 'none'] as const, 'none'),
    tracesEndpoint:
      url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']) ?? `${base.replace(/\/+$/, '')}/v1/traces`,
    serviceName: str(env, 'OTEL_SERVICE_NAME'),
  };
}

/** Load config or exit with the one-line reason (used by every entry point). */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/**
 * One grid operator's OpenID Connect provider (issue 19). The grid operator is the one this issuer speaks for by
 * configuration, never a claim; `roles` maps the values of `roleClaim` (e.g. groups) to this system's roles.
 */
export interface ConsoleProviderConfig {
  /** Short name in the sign-in URL (/console/login/<id>). */
  id: string;
  /** Shown on the sign-in page ("Liander"). */
  label: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The grid operator (GLN) this issuer speaks for. */
  gridOperatorGln: string;
  /** The claim holding the person's groups (default `groups`). */
  roleClaim: string;
  /** Scopes asked for (default `openid profile email`; add the one that releases roleClaim, e.g. `groups`). */
  scope: string;
  /** Claim value → role (case-handler, privacy-officer, compliance); values not listed give no role. */
  roles: Record<string, string>;
  /** Sign-in is refused unless the ID token's acr is one of these (empty: any). */
  requiredAcr: string[];
  /** Sign-in is refused unless the ID token's amr holds one of these (empty: any). */
  requiredAmr: string[];
  /** acr_values asked for a signed act's fresh authentication (MFA), where the provider offers one. */
  stepUpAcr: string | undefined;
}

export interface ConsoleConfig {
  /** Off when no provider is configured: /console is then not mounted. */
  enabled: boolean;
  /** Origin the browser uses (scheme://host:port): redirect URIs and the Origin check. */
  origin: string;
  /** https: cookie `__Host-gt-console` with Secure; http (loopback, never production): `gt-console` without. */
  secureCookie: boolean;
  /** Signs the session cookie (>= 32 characters); development: random per process when unset. */
  sessionSecret: string;
  idleMs: number;
  absoluteMs: number;
  /** Sign-in starts per minute per client address. */
  signInPerMinute: number;
  providers: ConsoleProviderConfig[];
}

function consoleProviders(env: Env): ConsoleProviderConfig[] {
  const raw = str(env, 'CONSOLE_OIDC_PROVIDERS');
  if (raw === undefined) return [];
  const expected =
    'a JSON array of {id, label, issuer, clientId, clientSecret, gridOperatorGln, roles: {group: role}, roleClaim?, requiredAcr?, requiredAmr?, stepUpAcr?}';
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw new ConfigError('CONSOLE_OIDC_PROVIDERS', expected, '(not JSON)');
  }
  if (!Array.isArray(list)) throw new ConfigError('CONSOLE_OIDC_PROVIDERS', expected, '(not an array)');
  const text = (o: Record<string, unknown>, k: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.trim() === '')
      throw new ConfigError('CONSOLE_OIDC_PROVIDERS', `${expected}; "${k}" missing`, String(o['id'] ?? '?'));
    return v.trim();
  };
  const texts = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const seen = new Set<string>();
  return list.map((item: unknown) => {
    if (!item || typeof item !== 'object') throw new ConfigError('CONSOLE_OIDC_PROVIDERS', expected, '(not an object)');
    const o = item as Record<string, unknown>;
    const id = text(o, 'id');
    if (!/^[a-z0-9-]{1,40}$/.test(id) || seen.has(id))
      throw new ConfigError('CONSOLE_OIDC_PROVIDERS', 'unique ids of a-z, 0-9 and -', id);
    seen.add(id);
    const issuer = text(o, 'issuer');
    if (!/^https?:\/\//.test(issuer)) throw new ConfigError('CONSOLE_OIDC_PROVIDERS', 'an http(s) issuer URL', issuer);
    const gln = text(o, 'gridOperatorGln');
    if (!/^\d{13}$/.test(gln)) throw new ConfigError('CONSOLE_OIDC_PROVIDERS', 'a 13-digit gridOperatorGln', gln);
    const roles = o['roles'];
    if (!roles || typeof roles !== 'object' || Array.isArray(roles))
      throw new ConfigError('CONSOLE_OIDC_PROVIDERS', `${expected}; "roles" missing`, id);
    return {
      id,
      label: typeof o['label'] === 'string' ? o['label'] : id,
      issuer,
      clientId: text(o, 'clientId'),
      clientSecret: text(o, 'clientSecret'),
      gridOperatorGln: gln,
      roleClaim: typeof o['roleClaim'] === 'string' ? o['roleClaim'] : 'groups',
      scope: typeof o['scope'] === 'string' ? o['scope'] : 'openid profile email',
      roles: Object.fromEntries(Object.entries(roles).filter(([, v]) => typeof v === 'string')) as Record<
        string,
        string
      >,
      requiredAcr: texts(o['requiredAcr']),
      requiredAmr: texts(o['requiredAmr']),
      stepUpAcr: typeof o['stepUpAcr'] === 'string' ? o['stepUpAcr'] : undefined,
    };
  });
}

function consoleConfig(env: Env, nodeEnv: Config['nodeEnv'], apiPublicUrl: string): ConsoleConfig {
  const providers = consoleProviders(env);
  const origin = new URL(url(env, 'CONSOLE_PUBLIC_URL', ['http:', 'https:']) ?? apiPublicUrl).origin;
  const secureCookie = origin.startsWith('https:');
  const loopback = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(origin);
  // http only on one machine: a session cookie without Secure must never cross a network (docs/console.md).
  if (providers.length > 0 && !secureCookie && (nodeEnv === 'production' || !loopback))
    throw new ConfigError('CONSOLE_PUBLIC_URL', 'an https URL (http only for localhost outside production)', origin);
  let secret = str(env, 'CONSOLE_SESSION_SECRET');
  if (secret === undefined && providers.length > 0) {
    if (nodeEnv === 'production')
      throw new ConfigError('CONSOLE_SESSION_SECRET', 'at least 32 random characters (required in production)', '');
    secret = randomBytes(32).toString('base64url');
  }
  if (secret !== undefined && secret.length < 32)
    throw new ConfigError('CONSOLE_SESSION_SECRET', 'at least 32 characters', '(too short)');
  return {
    enabled: providers.length > 0,
    origin,
    secureCookie,
    sessionSecret: secret ?? '',
    idleMs: int(env, 'CONSOLE_SESSION_IDLE_MINUTES', 30, 1, 24 * 60) * 60_000,
    absoluteMs: int(env, 'CONSOLE_SESSION_ABSOLUTE_HOURS', 10, 1, 24 * 7) * 3_600_000,
    signInPerMinute: int(env, 'CONSOLE_SIGN_IN_PER_MINUTE', 20, 1, 100_000),
    providers,
  };
}
