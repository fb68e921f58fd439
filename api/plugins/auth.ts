/**
 * Authentication (issue 20): a verified client certificate registered to a party and role (mutual TLS, at the API
 * or at a trusted ingress), otherwise an API key (`Authorization: Bearer gt_…`). Every request but health and
 * docs needs one. Lookups are cached (api/plugins/principals.ts); last-used times are written in batches
 * (api/plugins/last-used.ts).
 */
import { X509Certificate } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Role } from '../../db/schema/index.js';
import type { Db } from '../../db/client.js';
import type { AuthConfig } from '../../lib/config.js';
import { fingerprintOf, normaliseFingerprint } from '../../lib/client-certificates.js';
import { countAuthRefusal } from '../../lib/observability/metrics.js';
import { createKeyIndex, type KeyIndex } from './key-index.js';
import { createLastUsedRecorder, type LastUsedRecorder } from './last-used.js';
import { createPrincipalResolver, type Principal, type PrincipalResolver, type Refusal } from './principals.js';
import { createPersonBridge, PERSON_TICKET_HEADER, type PersonBridge } from './person-bridge.js';

export type { Principal } from './principals.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** Refused 401 by authentication: counted, not logged one by one (AuthLogController). */
    authRefused: boolean;
  }
  interface FastifyContextConfig {
    /** Routes that need no API key (health, docs, OpenAPI). */
    public?: boolean;
  }
  interface FastifyInstance {
    auth: {
      resolver: PrincipalResolver;
      lastUsed: LastUsedRecorder;
      index: KeyIndex | undefined;
      people: PersonBridge;
    };
  }
}

/** The audit actor string for a principal (a person: `user:<id>`, named by the audit chain trigger from people). */
export const actorOf = (p: Principal) =>
  p.via === 'client-certificate'
    ? `client-certificate:${p.keyId}`
    : p.via === 'person'
      ? `user:${p.keyId}`
      : `api-key:${p.keyId}`;

/** A client certificate as presented: its fingerprint once the TLS layer verified it, else why it was not. */
type Presented = { fingerprint: string; refusal?: undefined } | { fingerprint?: undefined; refusal: CertRefusal };
type CertRefusal = Refusal | 'untrusted';

const CERT_CODES = {
  unknown: 'client_certificate_unknown',
  expired: 'client_certificate_expired',
  revoked: 'client_certificate_revoked',
  untrusted: 'client_certificate_untrusted',
} as const;
const CERT_MESSAGES: Record<CertRefusal, string> = {
  unknown: 'The client certificate is not registered to a party',
  expired: 'The client certificate has expired',
  revoked: 'The client certificate has been revoked',
  untrusted: 'The client certificate is not signed by a trusted CA (or not valid)',
};

/** What the TLS socket says of the peer's certificate, once per connection (keep-alive: many requests). */
const perSocket = new WeakMap<object, Presented | null>();

function fromTls(request: FastifyRequest): Presented | null {
  const socket = request.raw.socket as TLSSocket;
  if (!socket.encrypted) return null;
  let seen = perSocket.get(socket);
  if (seen !== undefined) return seen;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) seen = null;
  else if (!socket.authorized)
    // requestCert with rejectUnauthorized off: a client without (or with an unverifiable) certificate may still
    // use an API key; the certificate alone never authenticates it.
    seen = { refusal: String(socket.authorizationError) === 'CERT_HAS_EXPIRED' ? 'expired' : 'untrusted' };
  else seen = { fingerprint: peer.fingerprint256.replace(/:/g, '').toLowerCase() };
  perSocket.set(socket, seen);
  return seen;
}

/**
 * The certificate an ingress verified and forwarded in config.clientCertHeader: believed only from
 * config.trustedProxies (the ingress must also drop that header from what clients send: docs/operations.md).
 */
function forwardedReader(config: AuthConfig) {
  const header = config.clientCertHeader;
  if (!header) return () => null;
  const trusted = new BlockList();
  for (const a of config.trustedProxies) {
    const [ip, bits] = a.split('/') as [string, string | undefined];
    const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
    if (bits === undefined) trusted.addAddress(ip, family);
    else trusted.addSubnet(ip, Number(bits), family);
  }
  const fromTrusted = (address: string | undefined) => {
    if (!address) return false;
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    return isIPv4(v4) ? trusted.check(v4, 'ipv4') : trusted.check(address, 'ipv6');
  };
  return (request: FastifyRequest, now: number): Presented | null => {
    const value = request.headers[header];
    if (typeof value !== 'string' || value === '') return null;
    if (!fromTrusted(request.raw.socket.remoteAddress)) return null;
    if (config.clientCertHeaderFormat === 'fingerprint') {
      const fingerprint = normaliseFingerprint(value);
      return fingerprint ? { fingerprint } : { refusal: 'untrusted' };
    }
    try {
      const cert = new X509Certificate(decodeURIComponent(value));
      if (new Date(cert.validTo).getTime() <= now) return { refusal: 'expired' };
      return { fingerprint: fingerprintOf(cert) };
    } catch {
      return { refusal: 'untrusted' };
    }
  };
}

/**
 * A body still to come up to this size is read and dropped by Node after the answer, and the connection stays open:
 * a refused client does not reconnect for each request. Before issue 20 every refusal at onRequest closed its
 * connection (the body of even a small POST has not been parsed yet when the hooks run), so each request of a
 * guessed-key flood cost both sides a new TCP connection (bench:p4 BENCH_AUTH_FLOOD: 4,613 of 4,633 401s closed it).
 */
const DRAIN_MAX_BYTES = 64 * 1024;

/** A body on its way that is large, or of unknown length (chunked). */
function largeBodyToCome(request: FastifyRequest): boolean {
  if (request.raw.complete !== false) return false;
  const length = Number(request.headers['content-length']);
  return !(Number.isFinite(length) && length <= DRAIN_MAX_BYTES);
}

/**
 * A refusal sent at onRequest, before the body is read: with a large body on its way, the connection closes after
 * the answer, so Node does not read (and discard) the rest of a body that may be gigabytes (issue 18).
 */
function refuseUnread(
  request: FastifyRequest,
  reply: FastifyReply,
  status: 401 | 403,
  body: { code: string; message: string; field?: string },
): FastifyReply {
  if (largeBodyToCome(request)) void reply.header('connection', 'close');
  if (status === 401) {
    void reply.header('www-authenticate', 'Bearer');
    request.authRefused = true;
    refusals(request.log, body.code);
  }
  return reply.status(status).send(body);
}

/** A warning at most this often while requests are refused 401 (a guessed-key flood shows in the log). */
const REFUSAL_WARN_MS = 60_000;
/** Fewer 401s than this in such a minute are clients with a wrong key, not a flood: counted only. */
const REFUSAL_WARN_AT = 100;
let refusedSince = Date.now();
let refusedCount = 0;
const refusedCodes: Record<string, number> = {};

/**
 * Every 401 is counted (gt_auth_refusals_total by code) and not logged by itself: a flood of guessed keys would be
 * a log line each. Once a minute, when REFUSAL_WARN_AT or more were refused in it, one warning says how many.
 */
function refusals(log: FastifyBaseLogger, code: string): void {
  countAuthRefusal(code);
  refusedCount += 1;
  refusedCodes[code] = (refusedCodes[code] ?? 0) + 1;
  const now = Date.now();
  if (now - refusedSince < REFUSAL_WARN_MS) return;
  if (refusedCount >= REFUSAL_WARN_AT)
    log.warn(
      { refused: refusedCount, seconds: Math.round((now - refusedSince) / 1000), codes: { ...refusedCodes } },
      'many requests refused authentication (a key-guessing flood?): see gt_auth_refusals_total',
    );
  refusedSince = now;
  refusedCount = 0;
  for (const c of Object.keys(refusedCodes)) delete refusedCodes[c];
}

/**
 * Fastify's request log, one line a request: the request and its answer in `request completed` (info; Fastify's
 * `incoming request` goes to debug), and nothing for a request refused 401 by authentication (counted and summed
 * up by refusals() instead), so a flood of guessed keys cannot flood the log.
 */
export class AuthLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request) || (request.authRefused && !error)) return;
    if (error)
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Marks the hooks requireRole makes, so registerAuth can run them at onRequest. */
const ROLE_GUARD = Symbol('roleGuard');
type RoleGuard = ((request: FastifyRequest, reply: FastifyReply, done: () => void) => void) & {
  [ROLE_GUARD]: true;
};
const isRoleGuard = (hook: unknown): hook is RoleGuard =>
  typeof hook === 'function' && (hook as Partial<RoleGuard>)[ROLE_GUARD] === true;
const hooksOf = (h: unknown): unknown[] => (h === undefined || h === null ? [] : Array.isArray(h) ? h : [h]);

export function registerAuth(app: FastifyInstance, db: Db, config: AuthConfig): void {
  // The index drops what the resolver cached for a key revoked elsewhere (it refuses the key itself anyway).
  let forget = (_hash: string): void => undefined;
  const index = config.keyIndex.enabled
    ? createKeyIndex(db, config.keyIndex, app.log, (hash) => forget(hash))
    : undefined;
  const resolver = createPrincipalResolver(db, {
    ttlMs: config.cacheTtlMs,
    max: config.cacheMax,
    missMax: config.missCacheMax,
    index,
  });
  forget = (hash) => resolver.forgetKeyHash(hash);
  const lastUsed = createLastUsedRecorder(db, config.lastUsedFlushMs, app.log);
  const people = createPersonBridge();
  app.decorate('auth', { resolver, lastUsed, index, people });
  lastUsed.start();
  index?.start();
  app.addHook('onClose', async () => {
    index?.stop();
    await lastUsed.stop();
  });
  const forwarded = forwardedReader(config);

  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('authRefused', false);
  // A key without the role is refused before anything reads, parses or judges its body (issue 18: the input
  // check ran first and a CSV upload of any role was a 500). Routes give requireRole(...) as their preHandler;
  // it runs at onRequest instead, where route hooks follow the key lookup below.
  app.addHook('onRoute', (route) => {
    const pre = hooksOf(route.preHandler);
    const guards = pre.filter(isRoleGuard);
    if (guards.length === 0) return;
    const rest = pre.filter((h) => !isRoleGuard(h));
    route.preHandler = (rest.length > 0 ? rest : undefined) as typeof route.preHandler;
    route.onRequest = [...hooksOf(route.onRequest), ...guards] as typeof route.onRequest;
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.public || request.is404) return;
    const now = Date.now();
    const cert = fromTls(request) ?? forwarded(request, now);
    let certRefusal: CertRefusal | undefined;
    if (cert?.fingerprint) {
      const r = await resolver.byCertificate(cert.fingerprint, now);
      if (r.principal) {
        request.principal = r.principal;
        lastUsed.note(r.principal, now);
        return;
      }
      certRefusal = r.refusal;
    } else if (cert) certRefusal = cert.refusal;

    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      // Issue 19: the console's in-process call for a signed-in person (never a cookie; a request with a key never
      // gets here, so the P4 path does no session work).
      const ticket = request.headers[PERSON_TICKET_HEADER];
      const person = typeof ticket === 'string' && !cert ? people.take(ticket) : undefined;
      if (person) {
        request.principal = person;
        return;
      }
      if (certRefusal) {
        return refuseUnread(request, reply, 401, {
          code: CERT_CODES[certRefusal],
          message: CERT_MESSAGES[certRefusal],
          field: 'tls.clientCertificate',
        });
      }
      return refuseUnread(request, reply, 401, {
        code: 'unauthenticated',
        message: 'A registered client certificate or Authorization: Bearer <api key> is required',
        field: 'headers.authorization',
      });
    }
    // The connection's key is remembered with it (principals.ts): keep-alive requests skip the hash and the cache.
    const r = await resolver.byKey(match[1]!, now, request.raw.socket);
    if (r.refusal === 'expired') {
      return refuseUnread(request, reply, 401, {
        code: 'api_key_expired',
        message: 'The API key has expired',
        field: 'headers.authorization',
      });
    }
    if (!r.principal) {
      return refuseUnread(request, reply, 401, {
        code: 'invalid_api_key',
        message: 'The API key is unknown or revoked',
        field: 'headers.authorization',
      });
    }
    request.principal = r.principal;
    lastUsed.note(r.principal, now);
  });
}

/**
 * Only these roles may call the route (403 otherwise). Give it as the route's `preHandler`: registerAuth runs it
 * at onRequest, right after the key is resolved and before the body is read.
 */
export function requireRole(...roles: Role[]): RoleGuard {
  // A synchronous hook (issue 21): no promise and no extra turn of the microtask queue on every gate request. A
  // refusal answers and does not call done(), which ends the request's hooks there.
  const guard = function roleGuard(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (!roles.includes(request.principal.role)) {
      refuseUnread(request, reply, 403, {
        code: 'forbidden_role',
        message: `This action needs one of the roles: ${roles.join(', ')}`,
      });
      return;
    }
    done();
  };
  return Object.assign(guard, { [ROLE_GUARD]: true as const });
}
