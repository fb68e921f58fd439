/**
 * Issue 20: the metrics listener, on a port of its own (METRICS_PORT), apart from the API's: a platform's
 * Prometheus scrapes it without an API key and the public ingress never routes to it (docs/operations.md,
 * "Metrics and traces").
 *
 * - GET /metrics: this process's series (lib/observability/metrics.ts), after `collect` refreshed the gauges
 *   read at scrape time, plus `extra` text (a worker: the Temporal SDK core's own series). A dependency that
 *   does not answer never holds the scrape: `collect` is awaited at most COLLECT_TIMEOUT_MS.
 * - GET /livez, /readyz (with `probes`, a worker): 200 or 503 with a small JSON body.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectProcessMetrics, registry } from './metrics.js';

/** A scrape answers within about this, whatever a collector waits on. */
export const COLLECT_TIMEOUT_MS = 1_000;

export interface Probes {
  /** The process does its work (restart it when not). */
  live(): boolean;
  /** It can take work now (running and connected). */
  ready(): Promise<{ ready: boolean; detail: Record<string, unknown> }>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** Refresh gauges read at scrape time; awaited at most COLLECT_TIMEOUT_MS (it should mark itself down then). */
  collect?: () => Promise<void>;
  /** More exposition text appended to this process's (already Prometheus text; its names must not clash). */
  extra?: () => Promise<string>;
  probes?: Probes;
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  collectProcessMetrics();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
    if (path === '/metrics') {
      if (opts.collect) await bounded(opts.collect(), COLLECT_TIMEOUT_MS);
      // `extra` first: reading it sets this process's gauge of whether it could (gt_temporal_runtime_metrics_up).
      const extra = opts.extra ? await opts.extra() : '';
      const own = await registry.metrics();
      return send(res, 200, registry.contentType, extra ? `${own}\n${extra}` : own);
    }
    if (opts.probes && path === '/livez') {
      const live = opts.probes.live();
      return send(res, live ? 200 : 503, 'application/json', JSON.stringify({ live }));
    }
    if (opts.probes && path === '/readyz') {
      const r = await opts.probes.ready();
      return send(res, r.ready ? 200 : 503, 'application/json', JSON.stringify({ ready: r.ready, ...r.detail }));
    }
    return send(res, 404, 'text/plain', 'not found\n');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  // A scraper's keep-alive connection must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
