/**
 * Issue 20, the worker's side: Temporal's own runtime metrics and the worker's metrics and probe listener.
 *
 * The SDK core (Rust) serves its Prometheus series (`temporal_…`: task-queue schedule-to-start latency, poll and
 * slot counts, activity and workflow task latencies) on an address of its own. It is bound to a free loopback
 * port and merged into this listener's /metrics, so a scraper knows one port per worker (METRICS_PORT) and
 * the process's own series (`gt_…`, process_…) come with it.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import { temporalRuntimeMetricsUp } from './metrics.js';
import { startMetricsServer, type MetricsServer, type Probes } from './metrics-server.js';

/** A free loopback port for the core's exporter (bound by the core right after; the gap is a few ms). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The core's `telemetryOptions.metrics`, and where to read them (undefined when metrics are off). */
export async function runtimeMetricsOptions(
  cfg: Config['observability'],
): Promise<{ telemetry: { metrics: { prometheus: { bindAddress: string } } }; url: string } | undefined> {
  if (cfg.metricsPort === undefined) return undefined;
  const bindAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  return { telemetry: { metrics: { prometheus: { bindAddress } } }, url: `http://${bindAddress}/metrics` };
}

/** The core's series as text ('' and gt_temporal_runtime_metrics_up 0 when they cannot be read now). */
export function runtimeMetricsReader(url: string | undefined): () => Promise<string> {
  const up = temporalRuntimeMetricsUp();
  return async () => {
    if (url === undefined) {
      up.set(0);
      return '';
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      up.set(1);
      return text;
    } catch {
      up.set(0);
      return '';
    }
  };
}

export interface WorkerProbeState {
  /** The SDK worker's state (Worker.getState()). */
  state(): string;
  /** Temporal answers on the worker's connection. */
  connected(): Promise<boolean>;
}

/** /livez: not failed or stopped; /readyz: RUNNING and Temporal answers (a check within 1.5 s). */
export function workerProbes(s: WorkerProbeState): Probes {
  return {
    live: () => !['FAILED', 'STOPPED'].includes(s.state()),
    async ready() {
      const state = s.state();
      const connected = await s.connected().catch(() => false);
      return { ready: state === 'RUNNING' && connected, detail: { state, temporal: connected } };
    },
  };
}

/** The worker's listener on METRICS_PORT (undefined when the port is not configured). */
export async function startWorkerTelemetryServer(
  cfg: Config['observability'],
  runtimeMetricsUrl: string | undefined,
  collect: (() => Promise<void>) | undefined,
  probes: Probes,
): Promise<MetricsServer | undefined> {
  if (cfg.metricsPort === undefined) return undefined;
  return startMetricsServer({
    host: cfg.metricsHost,
    port: cfg.metricsPort,
    extra: runtimeMetricsReader(runtimeMetricsUrl),
    ...(collect ? { collect } : {}),
    probes,
  });
}
