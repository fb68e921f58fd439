/**
 * Issue 20: OpenTelemetry traces, off by default (OTEL_TRACES_EXPORTER=none). With `otlp` one tracer provider per
 * process sends spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT; the API's request spans
 * (api/plugins/observability.ts), Temporal's client, workflow and activity interceptors
 * (@temporalio/interceptors-opentelemetry, lib/infra/temporal-interceptors.ts) all use it, so one intake is one
 * trace from the HTTP request to the contact mail.
 *
 * Off, nothing is registered: the API adds no hook, the global tracer stays OpenTelemetry's no-op, and the
 * workflow span sink drops what it is handed (NoopSpanProcessor).
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config.js';

export const DEFAULT_SERVICE_NAME = 'gerede-twijfel';

export interface Tracing {
  enabled: boolean;
  /** undefined when off (callers skip their spans entirely). */
  tracer: Tracer | undefined;
  /** Where workflow spans go (the workflow exporter sink): the exporting processor, or a no-op one. */
  processor: SpanProcessor;
  resource: Resource;
  /** Send what is buffered now (tests; before exit). */
  flush(): Promise<void>;
}

let current: Tracing | undefined;

/**
 * The process's tracing, set up on the first call (API and worker in one process share it; later calls get the
 * same, whatever their configuration says).
 */
export function startTracing(cfg: Config['observability']): Tracing {
  if (current) return current;
  const resource = new Resource({ [ATTR_SERVICE_NAME]: cfg.serviceName ?? DEFAULT_SERVICE_NAME });
  if (cfg.tracesExporter === 'none') {
    current = {
      enabled: false,
      tracer: undefined,
      processor: new NoopSpanProcessor(),
      resource,
      flush: async () => {},
    };
    return current;
  }
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: cfg.tracesEndpoint }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // Global provider, W3C trace-context propagator and the AsyncLocalStorage context manager: the Temporal
  // interceptors find the active span through them.
  provider.register();
  current = {
    enabled: true,
    tracer: trace.getTracer(DEFAULT_SERVICE_NAME),
    processor,
    resource,
    flush: () => provider.forceFlush(),
  };
  return current;
}

/** The process's tracing if started (undefined: nobody asked, which is off). */
export function currentTracing(): Tracing | undefined {
  return current;
}
