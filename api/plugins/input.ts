/**
 * Input the service cannot store is refused at the edge, before any handler runs (issue 8): text with NUL or a
 * lone surrogate anywhere in params, query or body is a 400 naming the field, and every `date-time` lies within
 * the years the schemas document (common.ts DateTime), so no write fails or corrupts further down — and no
 * activity retries such a write forever. JSON nested deeper than MAX_INPUT_DEPTH is a 400 too_deep (issue 18);
 * a streamed body (text/csv) is not walked here: its parser checks it line by line.
 */
import type { FastifyInstance } from 'fastify';
import { inputFaultAt, isJsonValue, MAX_INPUT_DEPTH } from '../../domain/text.js';
import { validationError } from '../../lib/errors.js';
import { DATE_TIME_YEARS } from '../schemas/common.js';

/** The part of Ajv this needs (Ajv is Fastify's, not a dependency of ours). */
interface AjvFormats {
  formats: Record<string, unknown>;
  addFormat(
    name: string,
    format: { type: 'string'; validate: (s: string) => boolean; compare?: (a: string, b: string) => number },
  ): unknown;
}

/**
 * Fastify's `ajv.onCreate` (run after ajv-formats): `date-time` also requires a year within DATE_TIME_YEARS, so
 * an inline `format: 'date-time'` is bounded like the shared DateTime piece. PostgreSQL misreads years before 100
 * and RFC 3339 has no years after 9999; the bound keeps every instant derived from one (windows, deadlines) valid.
 */
export function boundDateTimes(ajv: AjvFormats): void {
  const base = ajv.formats['date-time'] as
    { validate?: (s: string) => boolean; compare?: (a: string, b: string) => number } | undefined;
  const validate = base?.validate;
  if (typeof validate !== 'function') throw new Error('ajv-formats date-time is not loaded');
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s) => {
      const quick = plainDateTime(s);
      return quick !== undefined ? quick : DATE_TIME_YEARS.pattern.test(s) && validate(s);
    },
    ...(base?.compare ? { compare: base.compare } : {}),
  });
}

/**
 * The usual shape of an instant, `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)` with a year DATE_TIME_YEARS allows, judged
 * by one regular expression and the day of the month: what ajv-formats' `date-time` (split, two expressions with
 * captures) and the year bound answer for it, at a tenth of their cost (issue 21: 0.05 against 0.65 µs of CPU measured
 * apart; the P4 gate validates two instants a decision). Every other string (`undefined` here) goes the whole way: leap seconds, a space or
 * lower-case `t`, an offset without minutes, other years. test/unit/date-time-format.test.ts holds the two to the
 * same answers.
 */
const PLAIN_DATE_TIME =
  /^(?:19|2[0-9])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$/;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (s: string, i: number) => s.charCodeAt(i) - 48;

export function plainDateTime(s: string): boolean | undefined {
  if (!PLAIN_DATE_TIME.test(s)) return undefined;
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const month = digit(s, 5) * 10 + digit(s, 6);
  const day = digit(s, 8) * 10 + digit(s, 9);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!);
}

/**
 * On every route: the first unstorable string in params, query or body is a 400 naming it, and so is JSON nested
 * deeper than MAX_INPUT_DEPTH (before validation, so whatever else the request lacks); a non-finite number a query
 * or path coerced to is a 400 after it. Runs after the role check (api/plugins/auth.ts): a key without the role
 * gets 403 whatever it sends.
 */
export function refuseUnstorableText(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    // Named as schema validation names them (querystring.x), so one input has one field name.
    for (const [part, name] of [
      ['params', 'params'],
      ['query', 'querystring'],
      ['body', 'body'],
    ] as const) {
      const given: unknown = request[part];
      // A streamed body (the text/csv routes hand the handler the request stream) is its parser's to check.
      if (part === 'body' && !isJsonValue(given)) continue;
      const fault = inputFaultAt(given, name);
      if (fault?.code === 'too_deep')
        throw validationError('too_deep', `JSON may nest at most ${MAX_INPUT_DEPTH} levels`, fault.field);
      if (fault)
        throw validationError(
          'unstorable_text',
          'Text may not contain NUL (U+0000) or an unpaired UTF-16 surrogate',
          fault.field,
        );
    }
  });
  // Ajv coerces the query text "Infinity" to a number and then skips minimum/maximum (they only test finite
  // numbers), so a bounded query number could reach a handler unbounded: refused here, after coercion.
  app.addHook('preHandler', async (request) => {
    for (const [part, name] of [
      ['params', 'params'],
      ['query', 'querystring'],
    ] as const) {
      const given = request[part];
      if (!given || typeof given !== 'object') continue;
      for (const [key, value] of Object.entries(given)) {
        if (typeof value === 'number' && !Number.isFinite(value))
          throw validationError('invalid_request', `${name}/${key} must be a finite number`, `${name}.${key}`);
      }
    }
  });
}

/** The query parameter names a route's querystring schema declares (its properties, through allOf/anyOf). */
function declaredNames(schema: unknown, into = new Set<string>()): Set<string> {
  if (!schema || typeof schema !== 'object') return into;
  const s = schema as { properties?: object; allOf?: unknown[]; anyOf?: unknown[]; oneOf?: unknown[] };
  for (const name of Object.keys(s.properties ?? {})) into.add(name);
  for (const part of [...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? [])]) declaredNames(part, into);
  return into;
}

/**
 * An unknown query parameter is a 400 naming it, never silently ignored (issue 10): a misspelt filter
 * (`?partygln=`) would otherwise answer as if unfiltered. Every route holds its query to the names its schema
 * declares, a route without a querystring schema takes none. The documentation UI's assets (/docs) are exempt.
 */
export function refuseUnknownQueryParameters(app: FastifyInstance): void {
  const cache = new WeakMap<object, ReadonlySet<string>>();
  const none: ReadonlySet<string> = new Set();
  app.addHook('preValidation', async (request) => {
    if (request.is404 || request.routeOptions.url?.startsWith('/docs')) return;
    const query = request.query;
    if (!query || typeof query !== 'object') return;
    const keys = Object.keys(query);
    if (keys.length === 0) return;
    const schema = request.routeOptions.schema?.querystring as object | undefined;
    let names = schema ? cache.get(schema) : none;
    if (!names) cache.set(schema!, (names = declaredNames(schema)));
    const unknown = keys.find((k) => !names.has(k));
    if (unknown === undefined) return;
    const takes = [...names].sort().join(', ');
    throw validationError(
      'unknown_query_parameter',
      `Unknown query parameter "${unknown.slice(0, 100)}"; ${takes ? `this route takes ${takes}` : 'this route takes none'}`,
      `querystring.${unknown}`,
    );
  });
}
