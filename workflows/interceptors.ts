/**
 * Workflow interceptor module (issue 20; not a workflow): bundled with the workflow code (worker.ts,
 * scripts/bundle-workflows.ts, the replay test), one set of interceptors per workflow run.
 *
 * - The request id: the API request that started the workflow, or sent its latest signal or Update, carries its
 *   id in the REQUEST_ID_HEADER header (lib/infra/temporal-interceptors.ts); the run keeps the latest, puts it in
 *   its own log lines and hands it to every activity it schedules, whose log lines carry it too.
 * - OpenTelemetry's workflow interceptors: RunWorkflow / HandleUpdate / StartActivity spans, children of the
 *   client's span through the headers, sent out through the `exporter` sink.
 *
 * Deterministic: everything read here is in the history (headers of the start, signal and Update events); the
 * headers added to ScheduleActivityTask commands are not compared on replay (test/workflows/replay.test.ts).
 */
import { defaultPayloadConverter, type Headers, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';

/** lib/observability/request-id.ts REQUEST_ID_HEADER (workflow code imports nothing from lib/observability). */
const REQUEST_ID_HEADER = 'gt-request-id';

function requestIdOf(headers: Headers): string | undefined {
  const p = headers[REQUEST_ID_HEADER];
  if (p === undefined) return undefined;
  try {
    const id = defaultPayloadConverter.fromPayload<unknown>(p);
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  let requestId: string | undefined;
  const seen = (headers: Headers): void => {
    requestId = requestIdOf(headers) ?? requestId;
  };
  return {
    inbound: [
      {
        execute(input, next) {
          seen(input.headers);
          return next(input);
        },
        handleSignal(input, next) {
          seen(input.headers);
          return next(input);
        },
        handleUpdate(input, next) {
          seen(input.headers);
          return next(input);
        },
      },
      new OpenTelemetryInboundInterceptor(),
    ],
    outbound: [
      {
        scheduleActivity(input, next) {
          if (requestId === undefined || input.headers[REQUEST_ID_HEADER] !== undefined) return next(input);
          return next({
            ...input,
            headers: { ...input.headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) },
          });
        },
        getLogAttributes(attrs, next) {
          return next(requestId === undefined ? attrs : { ...attrs, requestId });
        },
      },
      new OpenTelemetryOutboundInterceptor(),
    ],
    internals: [new OpenTelemetryInternalsInterceptor()],
  };
};
