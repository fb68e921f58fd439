/**
 * The console's only way to the data (issue 19): the API's own routes, in-process (app.inject), as the person
 * signed in. Visibility (404, not 403), validation, idempotency and audit stay the API's; the console renders the
 * answers. The person travels as a one-time ticket (api/plugins/person-bridge.ts), never as a cookie or a key.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PERSON_TICKET_HEADER } from '../api/plugins/person-bridge.js';
import type { Principal } from '../api/plugins/principals.js';
import type { Role } from '../domain/visibility.js';

/** Who the console acts for: the session's person in the role they act in. */
export interface Person {
  id: string;
  name: string;
  role: Role;
  gridOperatorId: string;
  /** The fresh authentication for a signed act, when there is one (api/plugins/core-access.ts signerOf). */
  stepUp?: Principal['stepUp'];
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  /** The API's error body ({code, message, field}) for a 4xx/5xx. */
  error?: { code: string; message: string; field?: string };
}

export function principalOf(p: Person): Principal {
  return {
    keyId: p.id,
    via: 'person',
    role: p.role,
    label: `person ${p.name}`,
    holderName: p.name,
    partyId: p.gridOperatorId,
    gridUserId: null,
    ...(p.stepUp ? { stepUp: p.stepUp } : {}),
  };
}

/** A download as the API streams it: its status and headers at once, the body as it is written. */
export interface ApiDownload {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** The body while it is written (back-pressure reaches the API's writer); null for a refusal. */
  body: Readable | null;
  error?: ApiAnswer['error'];
  /** Ends the API's answer (the browser went away): its writer sees a closed response and stops reading. */
  abort(): void;
}

export interface ConsoleApi {
  get<T>(person: Person, url: string): Promise<ApiAnswer<T>>;
  post<T>(person: Person, url: string, body: object, idempotencyKey?: string): Promise<ApiAnswer<T>>;
  put<T>(person: Person, url: string, body: object, idempotencyKey?: string): Promise<ApiAnswer<T>>;
  /** `headers`: request headers passed on to the API (a conditional request's If-None-Match). */
  download(person: Person, url: string, accept: string, headers?: Record<string, string>): Promise<ApiDownload>;
}

/** An API refusal in words: its message (the API's, in English) with the field it names. */
export const refusalText = (a: { status: number; error?: ApiAnswer['error'] | undefined }): string =>
  `${a.error?.message ?? `HTTP ${a.status}`}${a.error?.field ? ` (${a.error.field})` : ''}`;

export interface StreamOptions {
  /** The API's response headers passed on as they are (when it sent them). */
  pass: readonly string[];
  /** Headers set after the API's (they win): the evidence viewer's sandbox, a letter's filename; or made from the API's. */
  set?: Record<string, string> | ((apiHeaders: ApiDownload['headers']) => Record<string, string>);
  /** Request headers for the API (the browser's If-None-Match for a chart image). */
  forward?: Record<string, string | undefined>;
  /** The browser's answer when the API refuses (it has no body to stream): a page with the reason. */
  refused(res: ApiDownload): FastifyReply | Promise<FastifyReply>;
}

/**
 * Stream one API download through to the browser (the CSV downloads, the chart images, the evidence viewer, the
 * breach letters): the API's status and the headers `pass` names, then `set`, and `Cache-Control: no-store` unless
 * one of them said otherwise; the body as the API writes it (back-pressure included). A browser that goes away
 * ends the API's answer too (its reader stops: api/plugins/csv.ts). A 304 is passed on without a body.
 */
export async function streamThrough(
  api: ConsoleApi,
  person: Person,
  reply: FastifyReply,
  url: string,
  accept: string,
  opts: StreamOptions,
): Promise<FastifyReply> {
  const forward = Object.fromEntries(
    Object.entries(opts.forward ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const res = await api.download(person, url, accept, forward);
  if (!res.body) return opts.refused(res);
  for (const h of opts.pass) if (res.headers[h] !== undefined) void reply.header(h, res.headers[h]);
  const set = typeof opts.set === 'function' ? opts.set(res.headers) : (opts.set ?? {});
  for (const [h, v] of Object.entries(set)) void reply.header(h, v);
  if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  if (res.status === 304) {
    res.abort();
    return reply.code(304).send();
  }
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) res.abort();
  });
  return reply.code(res.status).send(res.body);
}

export function consoleApi(app: FastifyInstance): ConsoleApi {
  async function call<T>(
    person: Person,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: object,
    idempotencyKey?: string,
  ): Promise<ApiAnswer<T>> {
    const ticket = app.auth.people.issue(principalOf(person));
    try {
      const res = await app.inject({
        method,
        url,
        headers: {
          [PERSON_TICKET_HEADER]: ticket,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      const parsed: unknown = res.body ? JSON.parse(res.body) : null;
      return res.statusCode >= 400
        ? { status: res.statusCode, body: parsed as T, error: parsed as ApiAnswer['error'] }
        : { status: res.statusCode, body: parsed as T };
    } finally {
      app.auth.people.drop(ticket);
    }
  }
  /** A GET whose answer is streamed on (a CSV download): the inject resolves at the head, not at the end. */
  async function download(
    person: Person,
    url: string,
    accept: string,
    headers: Record<string, string> = {},
  ): Promise<ApiDownload> {
    const ticket = app.auth.people.issue(principalOf(person));
    try {
      const res = await app.inject({
        method: 'GET',
        url,
        headers: { ...headers, [PERSON_TICKET_HEADER]: ticket, accept },
        payloadAsStream: true,
      });
      const body = res.stream();
      const abort = () => {
        body.destroy();
        (res.raw.res as { destroy(): void }).destroy();
      };
      if (res.statusCode < 400) return { status: res.statusCode, headers: res.headers, body, abort };
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
      const text = Buffer.concat(chunks).toString('utf8');
      const error = (
        text ? JSON.parse(text) : { code: 'error', message: `HTTP ${res.statusCode}` }
      ) as ApiDownload['error'];
      return { status: res.statusCode, headers: res.headers, body: null, error, abort };
    } finally {
      app.auth.people.drop(ticket);
    }
  }
  return {
    get: (person, url) => call(person, 'GET', url),
    post: (person, url, body, key) => call(person, 'POST', url, body, key),
    put: (person, url, body, key) => call(person, 'PUT', url, body, key),
    download,
  };
}
