/**
 * Issue 20 on the real stack (PostgreSQL, Temporal dev server, SMTP capture): metrics and traces.
 *
 * - /metrics of the API's listener and of the worker's (METRICS_PORT) hold the named series, and their values
 *   move as the test drives a P4 request and a case intake (gate decisions by reason, contact-mail attempts,
 *   open cases by status, request counts by route); the worker's carries the Temporal SDK core's own series;
 *   its /livez and /readyz answer.
 * - One intake is one trace: the OTLP/HTTP exporter posts to a receiver in this test, and the HTTP request span,
 *   the client's StartWorkflow span, the workflow's StartActivity span and the mail activity's RunActivity span
 *   share one trace id, each the child of the one before.
 * - The request id of the intake is in the log lines of its activities (the SDK's own "Activity started" line).
 * - A scrape while PostgreSQL does not answer still answers within the collect bound, with gt_domain_metrics_up 0.
 *
 * API and worker share this process (as `npm start` runs them), so both listeners show one registry; the
 * API's adds the domain gauges, the worker's the Temporal core's series and the probes.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { createDb } from '../../db/client.js';
import { temporalDataConverter } from '../../lib/infra/payload-codec.js';
import { workflowSinks } from '../../lib/infra/temporal-interceptors.js';
import { workflowInterceptorsPath, workflowsPath } from '../../worker.js';
import { startMetricsServer, type MetricsServer } from '../../lib/observability/metrics-server.js';
import { currentTracing } from '../../lib/observability/tracing.js';
import { domainGaugeCollector } from '../../services/observability/domain-gauges.js';
import { caseApiContext, tag, type CaseApiContext } from '../api/case-context.js';
import { testConfig } from '../helpers/index.js';
import { call, days, iso, makeConnection, makeKey, makeMandate } from '../core/fixtures.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** An OTLP/HTTP receiver: every span posted to /v1/traces (JSON, as the exporter sends by default). */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[]; contentTypes: string[] }> {
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      contentTypes.push(String(req.headers['content-type']));
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes };
}

/** The value of one series in Prometheus text (labels given in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const attr = (s: OtlpSpan, key: string) => s.attributes?.find((a) => a.key === key)?.value.stringValue;

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
let ctx: CaseApiContext;
let apiMetrics: MetricsServer;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  receiver = await otlpReceiver();
  // The worker's logger (and the SDK runtime's, the first in this process): debug, so the SDK's own activity lines are kept.
  const workerLogger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
  ctx = await caseApiContext(
    'observability',
    {
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'gt-observability-test',
    },
    { workerLogger },
  );
  // What server.ts starts next to the API (METRICS_PORT), with the domain gauges of its database.
  apiMetrics = await startMetricsServer({ host: '127.0.0.1', port: 0, collect: domainGaugeCollector(ctx.db) });
});
afterAll(async () => {
  await apiMetrics?.close();
  await ctx?.close();
  receiver?.server.close();
});

/** A case intake over the API, answered once its contact mail is sent (the case open, awaiting the party). */
async function intakeContacted(
  handlerKey: string,
  connectionEan: string,
  partyGln: string,
  headers: Record<string, string> = {},
): Promise<{ id: string }> {
  const opened = await ctx.app.inject({
    method: 'POST',
    url: '/cases',
    headers: {
      authorization: handlerKey,
      'content-type': 'application/json',
      'idempotency-key': `obs-${tag()}`,
      ...headers,
    },
    payload: {
      connectionEan,
      partyGln,
      channel: 'customer',
      receivedAt: new Date(Date.now() - 60_000).toISOString(),
      reporterName: 'J. de Vries',
      description: 'Kwartierwaarden opgevraagd zonder machtiging',
      isma: false,
    },
  });
  expect(opened.statusCode, opened.body).toBe(201);
  const c = opened.json<{ id: string }>();
  await ctx.waitForCase(c.id, (r) => r.contactedAt !== null);
  return c;
}

describe('metrics', () => {
  it('the worker answers its probes and serves the Temporal core series with its own', async () => {
    const w = ctx.worker.metrics;
    expect(w, 'the worker starts its listener when METRICS_PORT is set').toBeDefined();
    expect(await get(`${w!.url}/livez`)).toEqual({ status: 200, text: JSON.stringify({ live: true }) });
    const ready = await get(`${w!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ ready: true, state: 'RUNNING', temporal: true });
    const m = await get(`${w!.url}/metrics`);
    expect(m.status).toBe(200);
    expect(sample(m.text, 'gt_temporal_runtime_metrics_up')).toBe(1);
    // The SDK core's series, e.g. its workflow-task pollers (from Runtime.install's Prometheus exporter).
    expect(m.text).toMatch(/^temporal_\w+/m);
    expect(m.text).toContain('process_resident_memory_bytes');
  });

  it('moves with a P4 decision and a case intake', async () => {
    const operator = await ctx.party(['grid_operator']);
    const supplier = await ctx.party(['supplier']);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: supplier.id });
    await makeMandate(ctx.db, { partyId: supplier.id, connectionEan: conn.ean });
    const handlerKey = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    const p4Key = await makeKey(ctx.db, 'p4-client', { partyId: supplier.id });
    const workerUrl = ctx.worker.metrics!.url;

    const api0 = (await get(`${apiMetrics.url}/metrics`)).text;
    const worker0 = (await get(`${workerUrl}/metrics`)).text;
    expect(sample(api0, 'gt_domain_metrics_up')).toBe(1);

    // A P4 request: one decision more under its reason code, one more request of the route with its status.
    const decided = await call(ctx.app, p4Key, 'POST', '/p4/requests', {
      connectionEan: conn.ean,
      dataKind: 'interval_data',
      from: iso(Date.now() - days(3)),
      to: iso(Date.now() - days(2)),
    });
    expect(decided.statusCode, decided.body).toBe(200);
    const reason: string = decided.json().reasonCode;
    const route = { method: 'POST', route: '/p4/requests', status: '200' };
    const api1 = (await get(`${apiMetrics.url}/metrics`)).text;
    expect(sample(api1, 'gt_p4_gate_decisions_total', { reason })).toBe(
      (sample(api0, 'gt_p4_gate_decisions_total', { reason }) ?? 0) + 1,
    );
    expect(sample(api1, 'gt_http_request_duration_seconds_count', route)).toBe(
      (sample(api0, 'gt_http_request_duration_seconds_count', route) ?? 0) + 1,
    );
    expect(sample(api1, 'gt_p4_gate_batch_size_count')).toBeGreaterThan(sample(api0, 'gt_p4_gate_batch_size_count')!);
    expect(sample(api1, 'gt_p4_gate_batch_duration_seconds_count')).toBeGreaterThan(
      sample(api0, 'gt_p4_gate_batch_duration_seconds_count')!,
    );

    // A case intake: the case is open awaiting its contact, then the contact mail is sent.
    const c = await intakeContacted(handlerKey, conn.ean, supplier.gln);

    const api2 = (await get(`${apiMetrics.url}/metrics`)).text;
    const worker2 = (await get(`${workerUrl}/metrics`)).text;
    const awaiting = { status: 'awaiting_response' };
    expect(sample(api2, 'gt_cases_open', awaiting)).toBe((sample(api0, 'gt_cases_open', awaiting) ?? 0) + 1);
    expect(sample(api2, 'gt_case_deadlines', { deadline: 'response', state: 'missed' })).toBe(0);
    expect(sample(api2, 'gt_breach_clocks', { clock: 'running' })).toBe(0);
    const contact = { mail: 'contact' };
    expect(sample(worker2, 'gt_mail_attempts_total', contact)).toBe(
      (sample(worker0, 'gt_mail_attempts_total', contact) ?? 0) + 1,
    );
    expect(sample(worker2, 'gt_mail_failures_total', contact) ?? 0).toBe(
      sample(worker0, 'gt_mail_failures_total', contact) ?? 0,
    );
    // The task queue's schedule-to-start latencies the docs alert on (the Temporal core's histograms).
    expect(worker2).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{/m);
    expect(worker2).toMatch(/^temporal_activity_schedule_to_start_latency_bucket\{/m);
    const intake = { method: 'POST', route: '/cases', status: '201' };
    expect(sample(api2, 'gt_http_request_duration_seconds_count', intake)).toBe(1);
  });

  it('answers a scrape while PostgreSQL does not, with gt_domain_metrics_up 0', async () => {
    // A "PostgreSQL" that accepts connections and never answers (as a frozen one does).
    const sockets: Socket[] = [];
    const silent = createTcpServer((s) => sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const dbh = createDb(`postgres://x:y@127.0.0.1:${(silent.address() as AddressInfo).port}/frozen`, { max: 1 });
    const frozen = await startMetricsServer({ host: '127.0.0.1', port: 0, collect: domainGaugeCollector(dbh.db) });
    try {
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const m = await get(`${frozen.url}/metrics`);
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(m.status).toBe(200);
        expect(sample(m.text, 'gt_domain_metrics_up')).toBe(0);
        expect(sample(m.text, 'gt_cases_open', { status: 'awaiting_response' })).toBeUndefined();
      }
    } finally {
      await frozen.close();
      for (const s of sockets) s.destroy();
      silent.close();
      await dbh.close().catch(() => undefined);
    }
  });
});

describe('traces', () => {
  it('follows one intake from the HTTP request to the contact-mail activity, with its request id in the activity logs', async () => {
    const operator = await ctx.party(['grid_operator']);
    const supplier = await ctx.party(['supplier']);
    const conn = await makeConnection(ctx.db, { gridOperatorId: operator.id, supplierId: supplier.id });
    const handlerKey = await makeKey(ctx.db, 'case-handler', { partyId: operator.id });
    const requestId = `obs-trace-${tag()}`;
    const c = await intakeContacted(handlerKey, conn.ean, supplier.gln, { 'x-request-id': requestId });

    // Every span of the intake's trace, once the contact-mail activity's span has arrived.
    let trace: OtlpSpan[] = [];
    const until = Date.now() + 20_000;
    for (;;) {
      await currentTracing()!.flush();
      const http = receiver.spans.find((s) => s.name === 'POST /cases' && attr(s, 'gt.request_id') === requestId);
      trace = http ? receiver.spans.filter((s) => s.traceId === http.traceId) : [];
      if (trace.some((s) => s.name === 'RunActivity:sendContactEmail')) break;
      if (Date.now() > until)
        throw new Error(`no complete trace; spans: ${receiver.spans.map((s) => `${s.name}@${s.traceId}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(receiver.contentTypes[0]).toContain('application/json');
    const named = (name: string) => {
      const found = trace.filter((s) => s.name === name);
      expect(found, `${name} in the trace (${trace.map((s) => s.name).join(', ')})`).toHaveLength(1);
      return found[0]!;
    };
    const http = named('POST /cases');
    const start = named('StartWorkflow:doubtCaseWorkflow');
    const startActivity = named('StartActivity:sendContactEmail');
    const runActivity = named('RunActivity:sendContactEmail');
    expect(http.parentSpanId || undefined).toBeUndefined();
    expect(start.parentSpanId).toBe(http.spanId);
    // The workflow's spans: StartActivity is the child of RunWorkflow (exported when the run ends), itself the
    // child of the client's StartWorkflow span; the activity's span the child of StartActivity.
    expect(runActivity.parentSpanId).toBe(startActivity.spanId);
    expect(startActivity.parentSpanId).toBeTruthy();
    expect(new Set(trace.map((s) => s.traceId))).toEqual(new Set([http.traceId]));

    // The request id in the log lines of the intake's activities: all but the SDK's "Activity started", which it
    // writes before any interceptor has seen the activity's headers ("Activity completed" carries it).
    const activityLines = logLines.filter(
      (l) => l['workflowId'] === c.id && typeof l['activityType'] === 'string' && l['msg'] !== 'Activity started',
    );
    const contactLines = activityLines.filter((l) => l['activityType'] === 'sendContactEmail');
    expect(contactLines.map((l) => l['msg'])).toContain('Activity completed');
    expect(activityLines.filter((l) => l['requestId'] !== requestId)).toEqual([]);

    // Its history, with the request-id and trace headers, replays with the interceptors and without them (a rollback).
    const history = await ctx.temporal.workflow.getHandle(c.id).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(Object.keys(started?.header?.fields ?? {})).toEqual(
      expect.arrayContaining(['gt-request-id', '_tracer-data']),
    );
    const sinks = workflowSinks(currentTracing()!);
    // The payloads are encrypted (issue 20): the replaying worker has the codec, as every worker does.
    const dataConverter = temporalDataConverter(testConfig().temporal.codec);
    await Worker.runReplayHistory(
      {
        workflowsPath: workflowsPath(),
        interceptors: { workflowModules: [workflowInterceptorsPath()] },
        sinks,
        dataConverter,
      },
      history,
      c.id,
    );
    await Worker.runReplayHistory({ workflowsPath: workflowsPath(), dataConverter }, history, c.id);
  }, 120_000);
});
