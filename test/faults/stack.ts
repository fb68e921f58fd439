/**
 * The stack as separate processes, so a fault test can SIGKILL one: the API (`server.ts`) and the worker
 * (`worker.ts`) each run as their own node process (tsx), configured only by environment, against the
 * PostgreSQL, Temporal and SMTP the test hands them. Also the case fixtures the fault tests share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { contactPersons, DOUBT_CONTACT_GROUP, doubtCases } from '../../db/schema/index.js';
import { getFreePort } from '../../lib/infra/ports.js';
import { makeConnection, makeKey, makeMandate, makeParty } from '../core/fixtures.js';
import { TEST_CODEC_KEY_ID, testCodecKey } from '../helpers/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const tag = () => randomBytes(4).toString('hex');

export interface Proc {
  child: ChildProcess;
  /** Captured stdout + stderr (for failure messages). */
  output(): string;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, and wait until the process is gone. */
  stop(): Promise<void>;
}

function run(entry: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      SEED_DEMO: 'false',
      // Keys are inserted straight into PostgreSQL and used at once: each key index miss reloads it (as testConfig).
      AUTH_KEY_INDEX_MISS_REFRESH_MS: '0',
      // The tests' payload key (test/helpers/config.ts), as the in-process clients of the other tests have it.
      TEMPORAL_CODEC_KEYS: `${TEST_CODEC_KEY_ID}:${testCodecKey(TEST_CODEC_KEY_ID)}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    await gone;
  };
  return { child, output: () => out, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, proc?: Proc): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (proc && proc.child.exitCode !== null) throw new Error(`${what}: process exited\n${proc.output()}`);
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms\n${proc?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export type StackEnv = {
  DATABASE_URL: string;
  TEMPORAL_ADDRESS: string;
  SMTP_URL: string;
  TEMPORAL_TASK_QUEUE: string;
  DATABASE_HANG_PROBE_MS?: string;
};

export async function spawnApi(env: StackEnv): Promise<Proc & { url: string }> {
  const port = await getFreePort();
  const proc = run('server.ts', { ...env, PORT: String(port), LOG_LEVEL: 'warn' });
  const url = `http://127.0.0.1:${port}`;
  // A start that times out leaves no API behind to hold its port and CPU for the rest of the run.
  await until('API live', async () => ((await fetch(`${url}/health/live`)).ok ? true : undefined), 60_000, proc).catch(
    async (err: unknown) => {
      await proc.kill();
      throw err;
    },
  );
  return { ...proc, url };
}

export async function spawnWorker(env: StackEnv): Promise<Proc> {
  const proc = run('worker.ts', env);
  await until(
    'worker running',
    async () => (proc.output().includes('worker running') ? true : undefined),
    90_000,
    proc,
  ).catch(async (err: unknown) => {
    await proc.kill();
    throw err;
  });
  return proc;
}

/** A grid operator, a party with a doubt contact group, `n` connections with mandates, a case-handler key. */
export async function caseFixture(db: Db, n: number) {
  const operator = await makeParty(db, ['grid_operator'], `Operator ${tag()}`);
  const party = await makeParty(db, ['supplier'], `Supplier ${tag()}`);
  const address = `doubt-${tag()}@supplier.example`;
  await db
    .insert(contactPersons)
    .values({ partyId: party.id, contactGroup: DOUBT_CONTACT_GROUP, name: 'Doubt desk', email: address });
  const eans: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = await makeConnection(db, { gridOperatorId: operator.id, supplierId: party.id });
    await makeMandate(db, { partyId: party.id, connectionEan: c.ean });
    eans.push(c.ean);
  }
  const handlerKey = await makeKey(db, 'case-handler', { partyId: operator.id });
  const body = (ean: string) => ({
    connectionEan: ean,
    partyGln: party.gln,
    channel: 'consuwijzer',
    receivedAt: new Date(Date.now() - 60_000).toISOString(),
    reporterName: 'Klant via ConsuWijzer',
    description: 'fault test',
    isma: false,
  });
  return { operator, party, address, eans, handlerKey, body };
}

/** POST /cases over HTTP; a dead API is `{ status: 0 }`. */
export async function postCase(url: string, key: string, body: unknown, idempotencyKey?: string) {
  const t = performance.now();
  try {
    const res = await fetch(`${url}/cases`, {
      method: 'POST',
      headers: {
        authorization: key,
        'content-type': 'application/json',
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t, body: text, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: 0, ms: performance.now() - t, body: '', retryAfter: null };
  }
}

/** The open cases on these connections that have no confirmed workflow yet. */
export async function casesWithoutWorkflowOn(db: Db, eans: string[]) {
  return db
    .select({ id: doubtCases.id })
    .from(doubtCases)
    .where(and(inArray(doubtCases.connectionEan, eans), isNull(doubtCases.workflowStartedAt)));
}

export async function casesOn(db: Db, eans: string[]) {
  return db.select().from(doubtCases).where(inArray(doubtCases.connectionEan, eans));
}

export async function caseById(db: Db, id: string) {
  const [row] = await db.select().from(doubtCases).where(eq(doubtCases.id, id));
  return row;
}

export { until };
