/**
 * Issue 20: the process's Prometheus series (prom-client's default registry), named `gt_…`; Temporal's own
 * runtime series (`temporal_…`) come from the SDK core on a worker (lib/observability/metrics-server.ts merges
 * them in). Names, labels and what to alert on: docs/operations.md, "Metrics and traces".
 *
 * Hot paths (the P4 gate) touch only pre-bound children: a counter's `inc()` or a histogram's `observe()` on an
 * object looked up by a small key, no label object per request.
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

export const httpRequestSeconds = new Histogram({
  name: 'gt_http_request_duration_seconds',
  help: 'API requests by method, route pattern and status code: latency in seconds (_count is the request count)',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
});

/**
 * One route's histogram children by status code, bound on first use: a request looks one up by number and
 * observes (no label object, no string built per request).
 */
export class RouteMetrics {
  private readonly byStatus = new Map<number, Histogram.Internal<'method' | 'route' | 'status'>>();
  constructor(
    private readonly method: string,
    private readonly route: string,
  ) {}

  observe(status: number, ms: number): void {
    let child = this.byStatus.get(status);
    if (child === undefined) {
      child = httpRequestSeconds.labels(this.method, this.route, String(status));
      this.byStatus.set(status, child);
    }
    child.observe(ms / 1000);
  }
}

export const unavailableTotal = new Counter({
  name: 'gt_http_unavailable_total',
  help: 'API answers 503 by the dependency they name (database, temporal, mail, gate) and their error code',
  labelNames: ['dependency', 'code'] as const,
});

// ---- API: the P4 gate (DC-1) -----------------------------------------------------------------------------------

export const gateDecisionsTotal = new Counter({
  name: 'gt_p4_gate_decisions_total',
  help: 'P4 gate decisions registered, by reason code (DC-1; connection_not_found is no decision)',
  labelNames: ['reason'] as const,
});

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

/** A counter's children by label value, bound once: `inc(key)` on the hot path costs one map lookup. */
export function boundCounter<K extends string>(counter: Counter<K>): (value: string) => void {
  const children = new Map<string, Counter.Internal>();
  return (value) => {
    let child = children.get(value);
    if (child === undefined) {
      child = counter.labels(value);
      children.set(value, child);
    }
    child.inc();
  };
}

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
