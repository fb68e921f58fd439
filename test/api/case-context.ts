/**
 * The real stack for the case API tests: the app (Fastify) on a private database, a Temporal client on
 * the shared dev server (`inject('temporalAddress')`), an in-process worker on a task queue of its own
 * (worker.ts startWorker: the real activities, real SMTP capture) and builders for parties with their
 * doubt contact groups (GT-10).
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { inject } from 'vitest';
import { buildApp, type App } from '../../api/app.js';
import { createDb, type Db } from '../../db/client.js';
import {
  contactPersons,
  DOUBT_CONTACT_GROUP,
  doubtCases,
  type DoubtCase,
  type PartyRole,
} from '../../db/schema/index.js';
import { connectClient } from '../../lib/infra/temporal-connection.js';
import { createLogger } from '../../lib/logger.js';
import { createMailer, type Mailer } from '../../notifications/mailer.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { makeParty } from '../core/fixtures.js';
import { freshDatabase, readMail, testConfig, type CapturedMail } from '../helpers/index.js';
import { timeSkippingEnvironment } from '../workflows/harness.js';

export interface CaseApiContext {
  app: App;
  db: Db;
  temporal: Client;
  taskQueue: string;
  evidenceMaxBytes: number;
  /** The in-process worker (its metrics listener, with METRICS_PORT set). */
  worker: RunningWorker;
  /** A party with `n` members in its doubt contact group (unique addresses). */
  party(roles: PartyRole[], contacts?: number): Promise<{ id: string; gln: string; name: string; mails: string[] }>;
  /** Poll the case row until `predicate` holds (the workflow mirrors its state into it). */
  waitForCase(id: string, predicate: (row: DoubtCase) => boolean, timeoutMs?: number): Promise<DoubtCase>;
  mail(predicate: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** With `timeSkipping`: skip the Java test server's clock by `ms` (timers fire as they would). */
  skip(ms: number): Promise<void>;
  close(): Promise<void>;
}

export const tag = () => randomBytes(4).toString('hex');

/**
 * `timeSkipping`: the app and its worker on the Java test server (harness.ts) instead of the shared dev
 * server, for API tests that must reach the end of the 72 hours (GT-3, GT-4).
 */
export async function caseApiContext(
  label: string,
  env: Record<string, string> = {},
  opts: { timeSkipping?: boolean; workerLogger?: Logger } = {},
): Promise<CaseApiContext> {
  const testEnv = opts.timeSkipping ? await timeSkippingEnvironment() : undefined;
  const temporalAddress = testEnv?.address ?? inject('temporalAddress');
  const fresh = await freshDatabase(label);
  const taskQueue = `api-${label}-${tag()}`;
  const config = testConfig({
    TEMPORAL_TASK_QUEUE: taskQueue,
    BODY_LIMIT_BYTES: '65536',
    EVIDENCE_MAX_BYTES: '200000',
    LOG_LEVEL: 'error',
    ...env,
  });
  const handle = createDb(fresh.url, { max: 8 });
  const { connection, client } = await connectClient(config.temporal, temporalAddress);
  let worker: RunningWorker | undefined;
  let app: App | undefined;
  let mailer: Mailer | undefined;
  try {
    worker = await startWorker({
      config,
      temporalAddress,
      databaseUrl: fresh.url,
      smtpUrl: inject('smtpUrl'),
      logger: opts.workerLogger ?? createLogger(config, 'worker'),
      schedule: false,
      recoverCases: false,
    });
    mailer = createMailer(inject('smtpUrl'), { from: config.smtp.from });
    app = await buildApp({ config, db: handle.db, sql: handle.sql, temporal: client, mailer, logger: false });
    await app.ready();
  } catch (err) {
    await worker?.shutdown();
    mailer?.close();
    await connection.close();
    await handle.close();
    await testEnv?.teardown();
    throw err;
  }
  const db = handle.db;
  const ctx: CaseApiContext = {
    app,
    db,
    temporal: client,
    taskQueue,
    evidenceMaxBytes: config.evidenceMaxBytes,
    worker,
    async party(roles, contacts = 1) {
      const p = await makeParty(db, roles, `${roles[0]} ${tag()}`);
      const mails: string[] = [];
      for (let i = 0; i < contacts; i++) {
        const email = `doubt-${i}-${tag()}@${roles[0]!.replace('_', '-')}.example`;
        await db
          .insert(contactPersons)
          .values({ partyId: p.id, contactGroup: DOUBT_CONTACT_GROUP, name: `Contact ${i}`, email });
        mails.push(email);
      }
      return { id: p.id, gln: p.gln, name: p.name, mails };
    },
    async waitForCase(id, predicate, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await db
          .select()
          .from(doubtCases)
          .where(and(eq(doubtCases.id, id)));
        if (row && predicate(row)) return row;
        if (Date.now() > until) throw new Error(`case ${id}: condition not reached; last ${JSON.stringify(row)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    mail: (predicate, timeoutMs = 15_000) => readMail(inject('mailDir'), predicate, timeoutMs),
    async skip(ms) {
      if (!testEnv) throw new Error('skip() needs caseApiContext(..., { timeSkipping: true })');
      await testEnv.sleep(ms);
    },
    async close() {
      await app?.close();
      mailer?.close();
      await worker?.shutdown();
      await connection.close();
      await handle.close();
      await fresh.drop();
      await testEnv?.teardown();
    },
  };
  return ctx;
}

/** A small but real PDF (the sniffer wants the %PDF- signature). */
export function smallPdf(text = 'Machtiging klant'): Buffer {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${text}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
    'latin1',
  );
}

/** PNG signature plus padding: enough for the type sniffer. */
export function pngBytes(size = 64): Buffer {
  const b = Buffer.alloc(size, 0);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
}
