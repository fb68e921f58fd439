/**
 * Issue 20: the process's Prometheus series (prom-client's default registry), named `gt_…`; Temporal's own
 * runtime series (`temporal_…`) come from the SDK core on a worker (lib/observability/metrics-server.ts merges
 * them in). Names, labels and what to alert on: docs/operations.md, "Metrics and traces".
 *
 * Hot paths (every request, the P4 gate's decisions) add to plain numbers that the scrape turns into series
 * (RouteMetrics, countDecision): prom-client's labelled `inc`/`observe` build a label object and string per call.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, register, type Registry } from 'prom-client';

export const registry: Registry = register;

let defaultsCollected = false;
/** Process series (CPU, memory, event-loop lag, GC), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry });
}

// ---- API: requests -------------------------------------------------------------------------------------------

const HTTP_REQUEST_SECONDS = 'gt_http_request_duration_seconds';
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5] as const;

interface StatusCounts {
  /** Observations per bucket (not cumulative; the scrape adds them up). */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * One route's request counts and latencies by status code. A request adds to plain numbers (a map lookup by status,
 * a bucket search, three additions: no label object, no label string, nothing allocated once its status was seen);
 * the histogram's series are built at scrape time. One per method and route pattern in the process, so apps built
 * twice in one process (tests) share it.
 */
export class RouteMetrics {
  private readonly byStatus = new Map<number, StatusCounts>();
  private constructor(
    readonly method: string,
    readonly route: string,
  ) {}

  private static readonly all = new Map<string, RouteMetrics>();
  static of(method: string, route: string): RouteMetrics {
    const key = `${method} ${route}`;
    let m = RouteMetrics.all.get(key);
    if (m === undefined) RouteMetrics.all.set(key, (m = new RouteMetrics(method, route)));
    return m;
  }

  observe(status: number, ms: number): void {
    let s = this.byStatus.get(status);
    if (s === undefined) {
      s = { buckets: new Float64Array(HTTP_BUCKETS.length), sum: 0, count: 0 };
      this.byStatus.set(status, s);
    }
    const seconds = ms / 1000;
    s.sum += seconds;
    s.count += 1;
    for (let i = 0; i < HTTP_BUCKETS.length; i++) {
      if (seconds <= HTTP_BUCKETS[i]!) {
        s.buckets[i]! += 1;
        break;
      }
    }
  }

  /** prom-client's histogram values (name_bucket with le, name_sum, name_count) for the exposition. */
  static values(): { metricName: string; labels: Record<string, string | number>; value: number }[] {
    const out: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const m of RouteMetrics.all.values()) {
      for (const [status, s] of m.byStatus) {
        const labels = { method: m.method, route: m.route, status: String(status) };
        let cumulative = 0;
        HTTP_BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          out.push({ metricName: `${HTTP_REQUEST_SECONDS}_bucket`, labels: { ...labels, le }, value: cumulative });
        });
        out.push({ metricName: `${HTTP_REQUEST_SECONDS}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
        out.push({ metricName: `${HTTP_REQUEST_SECONDS}_sum`, labels, value: s.sum });
        out.push({ metricName: `${HTTP_REQUEST_SECONDS}_count`, labels, value: s.count });
      }
    }
    return out;
  }
}

/** The request histogram, formatted by prom-client from RouteMetrics' numbers at scrape time. */
const httpRequestSeconds = {
  name: HTTP_REQUEST_SECONDS,
  help: 'API requests by method, route pattern and status code: latency in seconds (_count is the request count)',
  type: 'histogram',
  aggregator: 'sum',
  get: async () => ({
    name: HTTP_REQUEST_SECONDS,
    help: httpRequestSeconds.help,
    type: 'histogram',
    aggregator: 'sum',
    values: RouteMetrics.values(),
  }),
};
registry.registerMetric(httpRequestSeconds as unknown as Parameters<Registry['registerMetric']>[0]);

export const unavailableTotal = new Counter({
  name: 'gt_http_unavailable_total',
  help: 'API answers 503 by the dependency they name (database, temporal, mail, gate) and their error code',
  labelNames: ['dependency', 'code'] as const,
});

// ---- API: authentication refusals (issue 20) -------------------------------------------------------------------

/** 401s by error code since start, as plain numbers (a flood of guessed keys adds one property increment each). */
const authRefusalsByCode: Record<string, number> = {};

export const authRefusalsTotal = new Counter({
  name: 'gt_auth_refusals_total',
  help: 'Requests refused 401 by authentication, by error code (invalid_api_key: unknown or revoked key)',
  labelNames: ['code'] as const,
  collect() {
    this.reset();
    for (const [code, n] of Object.entries(authRefusalsByCode)) this.inc({ code }, n);
  },
});

export function countAuthRefusal(code: string): void {
  authRefusalsByCode[code] = (authRefusalsByCode[code] ?? 0) + 1;
}

/** The counts so far (the benchmark's report). */
export const authRefusals = (): Readonly<Record<string, number>> => ({ ...authRefusalsByCode });

// ---- API: the P4 gate (DC-1) -----------------------------------------------------------------------------------

/** Decisions per reason code since start, as plain numbers: the gate adds to them, the scrape reads them. */
const decisionsByReason: Record<string, number> = {};

export const gateDecisionsTotal = new Counter({
  name: 'gt_p4_gate_decisions_total',
  help: 'P4 gate decisions registered, by reason code (DC-1; connection_not_found is no decision)',
  labelNames: ['reason'] as const,
  collect() {
    this.reset();
    for (const [reason, n] of Object.entries(decisionsByReason)) this.inc({ reason }, n);
  },
});

/** One decision more under its reason code: one property increment on the hot path. */
export function countDecision(reason: string): void {
  decisionsByReason[reason] = (decisionsByReason[reason] ?? 0) + 1;
}

export const gateBatchSize = new Histogram({
  name: 'gt_p4_gate_batch_size',
  help: 'Requests decided and registered by one gate statement (group commit)',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
});

export const gateBatchSeconds = new Histogram({
  name: 'gt_p4_gate_batch_duration_seconds',
  help: 'Decision + register latency: one gate statement, from its start to its commit, in seconds',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});

export const gateFailedBatchesTotal = new Counter({
  name: 'gt_p4_gate_failed_batches_total',
  help: 'Gate statements that failed (every request of the batch answered 503, nothing registered)',
});

// ---- Worker: mail -------------------------------------------------------------------------------------------

export const mailAttemptsTotal = new Counter({
  name: 'gt_mail_attempts_total',
  help: 'Mail activity attempts on this worker, by mail (contact: the GT-1 / GT-10 contact mail)',
  labelNames: ['mail'] as const,
});

export const mailFailuresTotal = new Counter({
  name: 'gt_mail_failures_total',
  help: 'Mail activity attempts that failed (Temporal retries them), by mail',
  labelNames: ['mail'] as const,
});

// ---- Domain state, computed at scrape time (services/observability/domain-gauges.ts) ---------------------------
// Created on first use, so that only a process that computes them (the API) lists them.

const once = <T>(make: () => T): (() => T) => {
  let made: T | undefined;
  return () => (made ??= make());
};

export const domainGauges = once(() => ({
  casesOpen: new Gauge({
    name: 'gt_cases_open',
    help: 'Open doubt cases by status',
    labelNames: ['status'] as const,
  }),
  caseDeadlines: new Gauge({
    name: 'gt_case_deadlines',
    help: 'Open doubt cases per deadline (contact GT-1, response GT-3, unblock GT-7/GT-8) at risk (pending, due within 4 h) or missed',
    labelNames: ['deadline', 'state'] as const,
  }),
  breachClocks: new Gauge({
    name: 'gt_breach_clocks',
    help: 'GT-11 breach assessments by their 72-hour clock (running, met, missed); overdue: running past its due time',
    labelNames: ['clock'] as const,
  }),
  breachNextDueSeconds: new Gauge({
    name: 'gt_breach_clock_next_due_seconds',
    help: 'Seconds until the earliest running GT-11 clock is due (negative: overdue); absent when none runs',
  }),
  up: new Gauge({
    name: 'gt_domain_metrics_up',
    help: '1 when the domain gauges of this scrape were read from PostgreSQL; 0 when it did not answer in time',
  }),
}));

export const temporalRuntimeMetricsUp = once(
  () =>
    new Gauge({
      name: 'gt_temporal_runtime_metrics_up',
      help: "1 when this scrape includes the Temporal SDK core's own series (temporal_…); 0 when they could not be read",
    }),
);
