/**
 * Issue 20: OpenTelemetry traces, off by default (OTEL_TRACES_EXPORTER=none). With `otlp` one tracer provider per
 * process sends spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT; the API's request spans
 * (api/plugins/observability.ts), Temporal's client, workflow and activity interceptors
 * (@temporalio/interceptors-opentelemetry, lib/infra/temporal-interceptors.ts) all use it, so one intake is one
 * trace from the HTTP request to the contact mail.
 *
 * Off, nothing is loaded or registered: the API adds no hook, the global tracer stays OpenTelemetry's no-op, and
 * the workflow span sink drops what it is handed.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config.js';

export const DEFAULT_SERVICE_NAME = 'gerede-twijfel';

export interface Tracing {
  enabled: boolean;
  /** undefined when off (callers skip their spans entirely). */
  tracer: Tracer | undefined;
  /** Where workflow spans go (the workflow exporter sink); undefined when off (the sink drops them). */
  processor: SpanProcessor | undefined;
  resource: Resource | undefined;
  /** Send what is buffered now (tests; before exit). */
  flush(): Promise<void>;
}

const OFF: Tracing = {
  enabled: false,
  tracer: undefined,
  processor: undefined,
  resource: undefined,
  flush: async () => {},
};

let current: Tracing | undefined;
let starting: Promise<Tracing> | undefined;

/**
 * The process's tracing, set up on the first call (API and worker in one process share it; later calls get the
 * same, whatever their configuration says). The SDK and the exporter are loaded only when tracing is on: off, a
 * process carries none of it.
 */
export function startTracing(cfg: Config['observability']): Promise<Tracing> {
  starting ??= (async () => {
    if (cfg.tracesExporter === 'none') return (current = OFF);
    const [{ OTLPTraceExporter }, { Resource }, { BatchSpanProcessor }, { NodeTracerProvider }, { ATTR_SERVICE_NAME }] =
      await Promise.all([
        import('@opentelemetry/exporter-trace-otlp-http'),
        import('@opentelemetry/resources'),
        import('@opentelemetry/sdk-trace-base'),
        import('@opentelemetry/sdk-trace-node'),
        import('@opentelemetry/semantic-conventions'),
      ]);
    const resource = new Resource({ [ATTR_SERVICE_NAME]: cfg.serviceName ?? DEFAULT_SERVICE_NAME });
    const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: cfg.tracesEndpoint }));
    const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
    // Global provider, W3C trace-context propagator and the AsyncLocalStorage context manager: the Temporal
    // interceptors find the active span through them.
    provider.register();
    return (current = {
      enabled: true,
      tracer: trace.getTracer(DEFAULT_SERVICE_NAME),
      processor,
      resource,
      flush: () => provider.forceFlush(),
    });
  })();
  return starting;
}

/** The process's tracing if started (undefined: nobody asked, which is off). */
export function currentTracing(): Tracing | undefined {
  return current;
}
