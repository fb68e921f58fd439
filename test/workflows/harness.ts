/**
 * Time-skipping harness for the doubt-case workflows: the Java test server (real deadlines, skipped),
 * a private PostgreSQL database (real activities, real repositories) and the shared SMTP capture.
 *
 *   const h = await caseHarness('accepted');
 *   const c = await h.openCase({ isma: true });
 *   await h.run(async (worker) => { ...; await h.result(c.id) });
 *
 * The test server does not know custom search attributes until they are added, so the harness registers
 * the same ones the dev server has (lib/infra/search-attributes.ts).
 */
import { randomBytes } from 'node:crypto';
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { inject } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { startCaseWorkflow } from '../../services/cases/intake.js';
import { createDb, type Db } from '../../db/client.js';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { connections, contactPersons, DOUBT_CONTACT_GROUP, parties, type DoubtCase } from '../../db/schema/index.js';
import { withCheckDigit } from '../../lib/gs1.js';
import {
  decodeHistoryJson,
  failureConverterPath,
  payloadCodec,
  temporalDataConverter,
} from '../../lib/infra/payload-codec.js';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_NAMES } from '../../lib/infra/search-attributes.js';
import { createMailer, type Mailer } from '../../notifications/mailer.js';
import { archiveWorkflowId, caseStateQuery, type CaseSnapshot, type SignalChannel } from '../../workflows/shared.js';
import { freshDatabase, readMail, testConfig, type CapturedMail } from '../helpers/index.js';

export const TASK_QUEUE = 'doubt-case-test';
const INDEXED: Record<string, number> = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
};

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Workflow code bundled once per test file, with the failure converter the workers use (as scripts/bundle-workflows.ts). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    failureConverterPath: failureConverterPath(),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

/** The payload codec of the tests (test/helpers/config.ts: its key), as every client and worker of the app has it. */
export const testDataConverter = (): DataConverter => temporalDataConverter(testConfig().temporal.codec);

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env['TEMPORAL_TEST_LOG'] as 'INFO' | undefined) ?? 'ERROR') });
  } catch {
    // already installed in this process
  }
}

let seq = 0;
const tag = () => `${process.pid % 10000}`.padStart(4, '0') + randomBytes(2).toString('hex');
/**
 * Digits unique within this process: every harness has its own database, so a counter is enough (the
 * former pid+clock scheme was cut to 10 digits for GLNs and collided within one millisecond).
 */
const uniqueDigits = (length: number) => String(++seq).padStart(length, '0');

export interface Fixture {
  gridOperatorId: string;
  gridOperatorGln: string;
  partyId: string;
  partyGln: string;
  partyMail: string;
  handlerMail: string;
  connectionEan: string;
}

export interface CaseHarness {
  env: TestWorkflowEnvironment;
  /** The data converter of env.client and the workers (encrypted payloads): give it to any other client. */
  dataConverter: DataConverter;
  db: Db;
  mailer: Mailer;
  deps: ActivityDeps;
  fixture(o?: { partyContacts?: boolean; handlerContacts?: boolean }): Promise<Fixture>;
  openCase(o?: {
    isma?: boolean;
    receivedAt?: Date;
    channel?: SignalChannel;
    fixture?: Fixture;
  }): Promise<{ row: DoubtCase; fixture: Fixture }>;
  startWorkflow(caseId: string): Promise<void>;
  worker(
    activityOverrides?: Partial<ReturnType<typeof createActivities>>,
    options?: { maxCachedWorkflows?: number; identity?: string },
  ): Promise<Worker>;
  /**
   * One worker for the whole file (returns its stop function). With the Java test server, a workflow task
   * left on a stopped worker's sticky queue holds the clock; a file-wide worker avoids that.
   */
  runWorker(): Promise<() => Promise<void>>;
  now(): Promise<Date>;
  /** Skip the test server's clock to `at` (never backwards). */
  skipTo(at: Date): Promise<void>;
  snapshot(caseId: string): Promise<CaseSnapshot>;
  /** Poll the workflow's query until `predicate` holds (real time; the clock does not skip while polling). */
  waitFor(caseId: string, predicate: (s: CaseSnapshot) => boolean, timeoutMs?: number): Promise<CaseSnapshot>;
  /** The case's result (skipping time while it runs), after its history archive workflow has finished too. */
  result(caseId: string): Promise<CaseSnapshot>;
  mail(predicate: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** Write the case's history for the replay test (only with RECORD_HISTORIES=1). */
  recordHistory(caseId: string, name: string): Promise<void>;
  /** The patch ids (Temporal `patched`) the case's history carries markers for, in history order. */
  patchIds(caseId: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The SDK gives the Java test server 5 s to listen; on a loaded 2-core machine a JVM start can take
 * longer (provisioning's class-data archive makes that rare). Retry rather than fail the file.
 */
export async function startTimeSkippingServer(
  attempts = 3,
  dataConverter: DataConverter = testDataConverter(),
): Promise<TestWorkflowEnvironment> {
  for (let i = 1; ; i++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
        client: { dataConverter },
      });
    } catch (err) {
      if (i >= attempts || !/did not start within/.test(String(err))) throw err;
    }
  }
}

/**
 * The Java test server with the case search attributes registered (it does not know custom ones until added); its
 * client encrypts payloads as the app's do.
 */
export async function timeSkippingEnvironment(
  dataConverter: DataConverter = testDataConverter(),
): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await startTimeSkippingServer(3, dataConverter);
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_NAMES.map((n) => [n, INDEXED[SEARCH_ATTRIBUTES[n]]!])),
  });
  return env;
}

export async function caseHarness(label: string, opts: { smtpUrl?: string } = {}): Promise<CaseHarness> {
  quietRuntime();
  const fresh = await freshDatabase(`wf_${label}`);
  const dbh = createDb(fresh.url, { max: 8 });
  // A unique ACM address per harness, so each test finds its own ACM report in the shared capture.
  const config = testConfig({ ACM_REPORT_EMAIL: `acm-${tag()}@acm.example` });
  const dataConverter = temporalDataConverter(config.temporal.codec);
  const env = await timeSkippingEnvironment(dataConverter);
  const mailer = createMailer(opts.smtpUrl ?? inject('smtpUrl'), { from: config.smtp.from });
  const deps: ActivityDeps = { db: dbh.db, mailer, config, temporalClient: env.client };
  const db = dbh.db;
  /** A client that never unlocks the test server's clock (waiting on it lets only real time pass). */
  const plain = new Client({ connection: env.connection, namespace: 'default', dataConverter });

  const h: CaseHarness = {
    env,
    dataConverter,
    db,
    mailer,
    deps,
    async fixture(o = {}) {
      const t = tag();
      const [gop] = await db
        .insert(parties)
        .values({ gln: withCheckDigit(`87${uniqueDigits(10)}`), name: `Netbeheerder ${t}`, roles: ['grid_operator'] })
        .returning();
      const [sup] = await db
        .insert(parties)
        .values({ gln: withCheckDigit(`87${uniqueDigits(10)}`), name: `Leverancier ${t}`, roles: ['supplier'] })
        .returning();
      const [conn] = await db
        .insert(connections)
        .values({
          ean: withCheckDigit(`871${uniqueDigits(14)}`),
          gridOperatorId: gop!.id,
          gridArea: 'Test',
          supplierId: sup!.id,
          capacityKw: 17.25,
        })
        .returning();
      const partyMail = `doubt-${t}@supplier.example`;
      const handlerMail = `handler-${t}@operator.example`;
      if (o.partyContacts !== false)
        await db
          .insert(contactPersons)
          .values({ partyId: sup!.id, contactGroup: DOUBT_CONTACT_GROUP, name: 'Supplier contact', email: partyMail });
      if (o.handlerContacts !== false)
        await db
          .insert(contactPersons)
          .values({ partyId: gop!.id, contactGroup: DOUBT_CONTACT_GROUP, name: 'Case handler', email: handlerMail });
      return {
        gridOperatorId: gop!.id,
        gridOperatorGln: gop!.gln,
        partyId: sup!.id,
        partyGln: sup!.gln,
        partyMail,
        handlerMail,
        connectionEan: conn!.ean,
      };
    },
    async openCase(o = {}) {
      const f = o.fixture ?? (await h.fixture());
      const at = await h.now();
      const { row } = await createCaseWithBlock(db, {
        actor: 'test',
        actorRole: 'case-handler',
        gridOperatorId: f.gridOperatorId,
        partyId: f.partyId,
        connectionEan: f.connectionEan,
        channel: o.channel ?? 'customer',
        receivedAt: o.receivedAt ?? at,
        reporterName: 'Klant',
        description: 'Klant meldt onbekende P4-opvragingen',
        isma: o.isma ?? false,
        at,
      });
      return { row, fixture: f };
    },
    async startWorkflow(caseId) {
      await startCaseWorkflow(db, env.client, TASK_QUEUE, caseId);
    },
    async worker(overrides = {}, options = {}) {
      return Worker.create({
        connection: env.nativeConnection,
        taskQueue: TASK_QUEUE,
        workflowBundle: await workflowBundle(),
        dataConverter,
        activities: { ...createActivities(deps), ...overrides },
        ...options,
      });
    },
    async runWorker() {
      const worker = await h.worker();
      const running = worker.run();
      return async () => {
        worker.shutdown();
        await running;
      };
    },
    async now() {
      return new Date(await env.currentTimeMs());
    },
    async skipTo(at) {
      const now = await env.currentTimeMs();
      if (at.getTime() > now) await env.sleep(at.getTime() - now);
    },
    snapshot: (caseId) => env.client.workflow.getHandle(caseId).query(caseStateQuery),
    async waitFor(caseId, predicate, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let last: CaseSnapshot | undefined;
      for (;;) {
        try {
          last = await h.snapshot(caseId);
          if (predicate(last)) return last;
        } catch {
          // not started yet
        }
        if (Date.now() > until)
          throw new Error(`case ${caseId}: condition not reached; last state ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async result(caseId) {
      // Skip time only while the case still runs: the test server jumps to its next timer (even a stale
      // ten-year timeout) whenever skipping is unlocked and nothing is pending.
      const running = (await env.client.workflow.getHandle(caseId).describe()).status.name === 'RUNNING';
      if (running) await env.client.workflow.getHandle(caseId).result();
      // The archive workflow runs on real time (activities only); wait for it without unlocking the clock.
      await plain.workflow.getHandle(archiveWorkflowId(caseId)).result();
      return (await plain.workflow.getHandle(caseId).result()) as CaseSnapshot;
    },
    mail: (predicate, timeoutMs = 15_000) => readMail(inject('mailDir'), predicate, timeoutMs),
    async recordHistory(caseId, name) {
      if (process.env['RECORD_HISTORIES'] !== '1') return;
      const history = await env.client.workflow.getHandle(caseId).fetchHistory();
      const file = fileURLToPath(new URL(`./histories/${name}.json`, import.meta.url));
      await mkdir(dirname(file), { recursive: true });
      // Recorded decrypted: a recorded history replays without the test key (test/workflows/replay.test.ts).
      const json = await decodeHistoryJson(JSON.parse(historyToJSON(history)) as object, [
        payloadCodec(config.temporal.codec),
      ]);
      await writeFile(file, JSON.stringify(json, null, 1) + '\n');
    },
    async patchIds(caseId) {
      const history = await env.client.workflow.getHandle(caseId).fetchHistory();
      return (history.events ?? []).flatMap((e) => {
        const marker = e.markerRecordedEventAttributes;
        const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : null;
        return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
      });
    },
    async close() {
      mailer.close();
      await env.teardown();
      await dbh.close();
      await fresh.drop();
    },
  };
  return h;
}
