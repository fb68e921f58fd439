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

export function registerAuth(app: FastifyInstance, db: Db): void {
  const resolve = createPrincipalResolver(db);
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.public || request.is404) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({
        code: 'unauthenticated',
        message: 'Authorization: Bearer <api key> is required',
        field: 'headers.authorization',
      });
    }
    const principal = await resolve(match[1]!);
    if (!principal) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({
        code: 'invalid_api_key',
        message: 'The API key is unknown or revoked',
        field: 'headers.authorization',
      });
    }
    request.principal = principal;
  });
}

/** preHandler: only these roles may call the route (403 otherwise). */
export function requireRole(...roles: Role[]) {
  return async function roleGuard(request: FastifyRequest, reply: FastifyReply) {
    if (!roles.includes(request.principal.role)) {
      return reply
        .status(403)
        .send({ code: 'forbidden_role', message: `This action needs one of the roles: ${roles.join(', ')}` });
    }
  };
}
