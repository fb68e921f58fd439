import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, isNull } from 'drizzle-orm';
import { apiKeys, type Role } from '../../db/schema/index.js';
import type { Db } from '../../db/client.js';
import { hashApiKey } from '../../lib/api-keys.js';

/** Who is calling: resolved from the bearer key on every request but health and docs. */
export interface Principal {
  keyId: string;
  role: Role;
  label: string;
  /** The person the key is issued to (signed acts name them: domain/visibility.ts signatureOf); null: none recorded. */
  holderName: string | null;
  /** Grid operator (case-handler) or party (supplier, p4-client) the key acts for. */
  partyId: string | null;
  gridUserId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Routes that need no API key (health, docs, OpenAPI). */
    public?: boolean;
  }
}

/** The audit actor string for a principal. */
export const actorOf = (p: Principal) => `api-key:${p.keyId}`;

/**
 * Keys are looked up by hash and cached briefly: the P4 gate is the hot path and a database
 * round trip per request for an unchanged key is waste. A revoked key stops working within the TTL.
 */
export function createPrincipalResolver(db: Db, ttlMs = 30_000) {
  const cache = new Map<string, { principal: Principal | null; expires: number }>();
  return async function resolve(key: string): Promise<Principal | null> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit && hit.expires > now) return hit.principal;
    const [row] = await db
      .select({
        id: apiKeys.id,
        role: apiKeys.role,
        label: apiKeys.label,
        holderName: apiKeys.holderName,
        partyId: apiKeys.partyId,
        gridUserId: apiKeys.gridUserId,
      })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
    const principal: Principal | null = row
      ? {
          keyId: row.id,
          role: row.role,
          label: row.label,
          holderName: row.holderName,
          partyId: row.partyId,
          gridUserId: row.gridUserId,
        }
      : null;
    if (cache.size > 10_000) cache.clear(); // bound memory against key-guessing floods
    cache.set(hash, { principal, expires: now + ttlMs });
    return principal;
  };
}

/**
 * A refusal sent at onRequest, before the body is read: with a body on its way, the connection closes after the
 * answer, so Node does not read (and discard) the rest of a body that may be gigabytes (issue 18).
 */
function refuseUnread(
  request: FastifyRequest,
  reply: FastifyReply,
  status: 401 | 403,
  body: { code: string; message: string; field?: string },
): FastifyReply {
  if (request.raw.complete === false) void reply.header('connection', 'close');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.status(status).send(body);
}

/** Marks the hooks requireRole makes, so registerAuth can run them at onRequest. */
const ROLE_GUARD = Symbol('roleGuard');
type RoleGuard = ((request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>) & {
  [ROLE_GUARD]: true;
};
const isRoleGuard = (hook: unknown): hook is RoleGuard =>
  typeof hook === 'function' && (hook as Partial<RoleGuard>)[ROLE_GUARD] === true;
const hooksOf = (h: unknown): unknown[] => (h === undefined || h === null ? [] : Array.isArray(h) ? h : [h]);

export function registerAuth(app: FastifyInstance, db: Db): void {
  const resolve = createPrincipalResolver(db);
  app.decorateRequest('principal', null as unknown as Principal);
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
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      return refuseUnread(request, reply, 401, {
        code: 'unauthenticated',
        message: 'Authorization: Bearer <api key> is required',
        field: 'headers.authorization',
      });
    }
    const principal = await resolve(match[1]!);
    if (!principal) {
      return refuseUnread(request, reply, 401, {
        code: 'invalid_api_key',
        message: 'The API key is unknown or revoked',
        field: 'headers.authorization',
      });
    }
    request.principal = principal;
  });
}

/**
 * Only these roles may call the route (403 otherwise). Give it as the route's `preHandler`: registerAuth runs it
 * at onRequest, right after the key is resolved and before the body is read.
 */
export function requireRole(...roles: Role[]): RoleGuard {
  const guard = async function roleGuard(request: FastifyRequest, reply: FastifyReply) {
    if (!roles.includes(request.principal.role)) {
      return refuseUnread(request, reply, 403, {
        code: 'forbidden_role',
        message: `This action needs one of the roles: ${roles.join(', ')}`,
      });
    }
    return undefined;
  };
  return Object.assign(guard, { [ROLE_GUARD]: true as const });
}
