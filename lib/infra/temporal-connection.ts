/**
 * Connections to Temporal for the API (client) and the worker (NativeConnection), from config:
 * namespace, mTLS (client cert/key, optional CA and server name) and API keys (Temporal Cloud). Every client carries
 * the payload codec (lib/infra/payload-codec.ts); workers take the same through `temporalDataConverter`.
 *
 * TLS is on when any of cert/key, CA, server name or API key is set (Temporal Cloud with an API key
 * always speaks TLS, with the system's root certificates unless a CA is given). Otherwise plaintext,
 * which is what the local dev server speaks.
 */
import { readFile } from 'node:fs/promises';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
  type TLSConfig,
} from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config.js';
import { temporalDataConverter } from './payload-codec.js';
import { clientInterceptors } from './temporal-interceptors.js';

export type TemporalConfig = Config['temporal'];

async function readPem(path: string, variable: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new Error(`cannot read ${variable}=${path}`, { cause });
  }
}

/** The `tls` option for both connection kinds; `false` means plaintext. */
export async function temporalTls(cfg: TemporalConfig): Promise<TLSConfig | false> {
  const { certPath, keyPath, caPath, serverName } = cfg.tls;
  const wantsTls =
    certPath !== undefined || caPath !== undefined || serverName !== undefined || cfg.apiKey !== undefined;
  if (!wantsTls) return false;
  const tls: TLSConfig = {};
  if (certPath !== undefined && keyPath !== undefined) {
    tls.clientCertPair = {
      crt: await readPem(certPath, 'TEMPORAL_TLS_CERT_PATH'),
      key: await readPem(keyPath, 'TEMPORAL_TLS_KEY_PATH'),
    };
  }
  if (caPath !== undefined) tls.serverRootCACertificate = await readPem(caPath, 'TEMPORAL_TLS_CA_PATH');
  if (serverName !== undefined) tls.serverNameOverride = serverName;
  return tls;
}

function describe(cfg: TemporalConfig, address: string): string {
  const mode = cfg.apiKey
    ? 'TLS + API key'
    : cfg.tls.certPath
      ? 'mTLS'
      : cfg.tls.caPath || cfg.tls.serverName
        ? 'TLS'
        : 'plaintext';
  return `${address} (namespace ${cfg.namespace}, ${mode})`;
}

export interface ConnectOptions {
  /** How long to wait for the server (default: the SDK's, 10 s). */
  connectTimeoutMs?: number;
  /**
   * Answer fast while Temporal is down (the API): at most 3 attempts (about half a second) instead of the
   * SDK's 10 (about 20 s), and every short call bounded by `callTimeoutMs`. Long polls (Updates waiting
   * for the workflow, history and result waits, queries answered by a worker) keep their own time.
   * Connects lazily, so a Temporal that is down does not stop the start.
   */
  failFast?: { callTimeoutMs: number };
}

/** The API's Temporal calls: a dependency down is a 503 within 2 s (docs/operations.md, "Faults"). */
export const API_TEMPORAL_FAIL_FAST = { callTimeoutMs: 2_000 } as const;

type Interceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/** gRPC methods that wait on a workflow or worker by design: no deadline of ours on those. */
const LONG_POLLS = /\/(UpdateWorkflowExecution|PollWorkflowExecutionUpdate|GetWorkflowExecutionHistory|QueryWorkflow)$/;

/** A deadline on every call that has none and is not a long poll. */
export function callDeadlineInterceptor(callTimeoutMs: number): Interceptor {
  // nextCall returns the next InterceptingCall of the chain; grpc-js types it by its interface only.
  return (options, nextCall) => {
    const path = options.method_definition.path;
    const unbounded = options.deadline === undefined || options.deadline === Infinity;
    const next = !unbounded || LONG_POLLS.test(path) ? options : { ...options, deadline: Date.now() + callTimeoutMs };
    return nextCall(next) as ReturnType<Interceptor>;
  };
}

export async function connectClient(
  cfg: TemporalConfig,
  address: string,
  opts: ConnectOptions = {},
): Promise<{ connection: Connection; client: Client }> {
  const tls = await temporalTls(cfg);
  let connection: Connection;
  try {
    const options = {
      address,
      tls,
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeout: opts.connectTimeoutMs } : {}),
      ...(opts.failFast
        ? {
            interceptors: [
              callDeadlineInterceptor(opts.failFast.callTimeoutMs),
              makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 3 })),
            ],
          }
        : {}),
      ...(cfg.apiKey !== undefined ? { apiKey: cfg.apiKey } : {}),
    };
    // Fail-fast (the API) connects lazily: it starts and serves the P4 gate while Temporal is down.
    connection = opts.failFast ? Connection.lazy(options) : await Connection.connect(options);
  } catch (cause) {
    throw new Error(`cannot connect to Temporal at ${describe(cfg, address)}`, { cause });
  }
  // Encrypted payloads (lib/infra/payload-codec.ts); issue 20: the request id and (when on) trace context in the
  // headers of every start, signal and Update.
  const client = new Client({
    connection,
    namespace: cfg.namespace,
    dataConverter: temporalDataConverter(cfg.codec),
    interceptors: clientInterceptors(),
  });
  return { connection, client };
}

export async function connectWorkerConnection(cfg: TemporalConfig, address: string): Promise<NativeConnection> {
  const tls = await temporalTls(cfg);
  try {
    return await NativeConnection.connect({
      address,
      tls,
      ...(cfg.apiKey !== undefined ? { apiKey: cfg.apiKey } : {}),
    });
  } catch (cause) {
    throw new Error(`cannot connect the worker to Temporal at ${describe(cfg, address)}`, { cause });
  }
}
