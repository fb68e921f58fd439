import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_NAMES } from '../../lib/infra/search-attributes.js';
import { startSupervised } from '../../lib/infra/supervised-process.js';
import { resolveTemporalCli, startTemporalDevServer } from '../../lib/infra/temporal-dev-server.js';
import { getFreePort } from '../../lib/infra/ports.js';

/** Search attributes registered in a namespace, as { name: 'KEYWORD' | 'DATETIME' | … }. */
async function customSearchAttributes(address: string, namespace = 'default'): Promise<Record<string, string>> {
  const connection = await Connection.connect({ address });
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    const names: Record<number, string> = {
      1: 'TEXT',
      2: 'KEYWORD',
      3: 'INT',
      4: 'DOUBLE',
      5: 'BOOL',
      6: 'DATETIME',
      7: 'KEYWORD_LIST',
    };
    return Object.fromEntries(
      Object.entries(res.customAttributes ?? {}).map(([k, v]) => [k, names[v as number] ?? String(v)]),
    );
  } finally {
    await connection.close();
  }
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gt-temporal-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Temporal dev server', () => {
  it('the shared test server has every search attribute registered with its type', async () => {
    const registered = await customSearchAttributes(inject('temporalAddress'), inject('temporalNamespace'));
    for (const name of SEARCH_ATTRIBUTE_NAMES) expect(registered[name], name).toBe(SEARCH_ATTRIBUTES[name]);
  });

  it('adds missing search attributes to a database file created without them, and state survives a restart', async () => {
    const dbFile = join(root, 'old.db');
    const cli = await resolveTemporalCli({ download: false });
    const port = await getFreePort();
    // An older database file: created by a plain `start-dev`, without our --search-attribute flags.
    const plain = startSupervised({
      name: 'temporal-plain',
      command: cli.path,
      args: [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--db-filename',
        dbFile,
        '--log-level',
        'error',
      ],
      logger: pino({ level: 'silent' }),
    });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 });
          await c.workflowService.describeNamespace({ namespace: 'default' });
          await c.close();
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error('plain dev server did not start', { cause: err });
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      const before = await customSearchAttributes(`127.0.0.1:${port}`);
      expect(Object.keys(before)).not.toContain('CaseStatus');
    } finally {
      await plain.stop();
    }

    const server = await startTemporalDevServer({ dbFile, headless: true });
    try {
      const after = await customSearchAttributes(server.address);
      for (const name of SEARCH_ATTRIBUTE_NAMES) expect(after[name], name).toBe(SEARCH_ATTRIBUTES[name]);
    } finally {
      await server.stop();
    }
  });

  it("refuses a port that is already taken instead of probing someone else's server", async () => {
    const taken = Number(inject('temporalAddress').split(':')[1]);
    await expect(startTemporalDevServer({ port: taken, headless: true })).rejects.toThrow(
      /TEMPORAL_DEV_PORT.*already in use/,
    );
  });

  it('serves the UI on the requested port and stops completely', async () => {
    const [port, uiPort] = [await getFreePort(), await getFreePort()];
    const server = await startTemporalDevServer({ dbFile: join(root, 'ui.db'), port, uiPort });
    expect(server.address).toBe(`127.0.0.1:${port}`);
    expect(server.uiUrl).toBe(`http://127.0.0.1:${uiPort}`);
    const res = await fetch(server.uiUrl!);
    expect(res.status).toBe(200);
    await server.stop();
    let alive = true;
    try {
      process.kill(server.pid, 0);
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
    await expect(Connection.connect({ address: server.address, connectTimeout: 1_000 })).rejects.toThrow();
  });
});
