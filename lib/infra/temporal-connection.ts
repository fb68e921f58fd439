/**
 * Connections to Temporal for the API (client) and the worker (NativeConnection), from config:
 * namespace, mTLS (client cert/key, optional CA and server name) and API keys (Temporal Cloud).
 *
 * TLS is on when any of cert/key, CA, server name or API key is set (Temporal Cloud with an API key
 * always speaks TLS, with the system's root certificates unless a CA is given). Otherwise plaintext,
 * which is what the local dev server speaks.
 */
import { readFile } from 'node:fs/promises';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config.js';

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
}

export async function connectClient(
  cfg: TemporalConfig,
  address: string,
  opts: ConnectOptions = {},
): Promise<{ connection: Connection; client: Client }> {
  const tls = await temporalTls(cfg);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      tls,
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeout: opts.connectTimeoutMs } : {}),
      ...(cfg.apiKey !== undefined ? { apiKey: cfg.apiKey } : {}),
    });
  } catch (cause) {
    throw new Error(`cannot connect to Temporal at ${describe(cfg, address)}`, { cause });
  }
  const client = new Client({ connection, namespace: cfg.namespace });
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
