import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { connectClient, connectWorkerConnection, temporalTls } from '../../lib/infra/temporal-connection.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gt-tls-'));
  await writeFile(join(dir, 'client.pem'), 'CERT');
  await writeFile(join(dir, 'client.key'), 'KEY');
  await writeFile(join(dir, 'ca.pem'), 'CA');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const temporalCfg = (env: Record<string, string>) => loadConfig(env).temporal;

describe('Temporal connection options', () => {
  it('plaintext when nothing TLS-related is configured (local dev server)', async () => {
    expect(await temporalTls(temporalCfg({}))).toBe(false);
  });

  it('mTLS: client certificate pair, CA and server name from the configured files', async () => {
    const tls = await temporalTls(
      temporalCfg({
        TEMPORAL_TLS_CERT_PATH: join(dir, 'client.pem'),
        TEMPORAL_TLS_KEY_PATH: join(dir, 'client.key'),
        TEMPORAL_TLS_CA_PATH: join(dir, 'ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      }),
    );
    expect(tls).not.toBe(false);
    if (tls === false) return;
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('KEY');
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toBe('CA');
    expect(tls.serverNameOverride).toBe('temporal.internal');
  });

  it('an API key implies TLS with the system roots (Temporal Cloud)', async () => {
    expect(await temporalTls(temporalCfg({ TEMPORAL_API_KEY: 'key' }))).toEqual({});
  });

  it('an unreadable certificate file is reported with its variable', async () => {
    const cfg = temporalCfg({
      TEMPORAL_TLS_CERT_PATH: join(dir, 'missing.pem'),
      TEMPORAL_TLS_KEY_PATH: join(dir, 'client.key'),
    });
    await expect(temporalTls(cfg)).rejects.toThrow(/TEMPORAL_TLS_CERT_PATH=.*missing\.pem/);
  });

  it('client and worker connections reach the dev server in the configured namespace', async () => {
    const cfg = temporalCfg({ TEMPORAL_NAMESPACE: inject('temporalNamespace') });
    const { connection, client } = await connectClient(cfg, inject('temporalAddress'));
    try {
      expect(client.options.namespace).toBe(inject('temporalNamespace'));
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
    } finally {
      await connection.close();
    }
    const native = await connectWorkerConnection(cfg, inject('temporalAddress'));
    await native.close();
  });

  it('a TLS client against the plaintext dev server fails with the address and mode in the message', async () => {
    const cfg = temporalCfg({ TEMPORAL_API_KEY: 'secret-key' });
    const attempt = connectClient(cfg, inject('temporalAddress'), { connectTimeoutMs: 2_000 });
    await expect(attempt).rejects.toThrow(
      /cannot connect to Temporal at 127\.0\.0\.1:\d+ \(namespace default, TLS \+ API key\)/,
    );
    await expect(attempt).rejects.not.toThrow(/secret-key/);
  });
});
