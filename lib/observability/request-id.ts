/**
 * Issue 20: the API request id that travels into Temporal. The API runs the handlers of routes that call Temporal
 * inside `requestIds.run(id, …)` (api/plugins/observability.ts); the client interceptor puts the id in a Temporal
 * header of every start, signal and Update; workflows/interceptors.ts keeps the latest one and hands it on to the
 * activities they schedule, whose log lines carry it (lib/infra/temporal-interceptors.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The Temporal header (workflow, Update, signal, activity) that carries the request id. Keep in step with workflows/interceptors.ts. */
export const REQUEST_ID_HEADER = 'gt-request-id';

/** The request being answered, for code far below the route (the Temporal client interceptor). */
export const requestIds = new AsyncLocalStorage<string>();
