/**
 * Helpers the consent-core routes share: the audit actor of the caller, the party or grid user a key
 * acts for, and the visibility rules (a supplier sees only its own, a case handler only its grid
 * operator's connections, a grid user only their own connections).
 */
import type { Principal } from './auth.js';
import { actorOf } from './auth.js';
import type { Actor } from '../../db/repositories/actor.js';
import type { Connection } from '../../db/schema/index.js';
import { forbidden } from '../../lib/errors.js';
import { ErrorResponse } from '../schemas/common.js';

export function actorFrom(p: Principal): Actor {
  return { actor: actorOf(p), actorRole: p.role, actorPartyId: p.partyId };
}

/** The party the key acts for (supplier, p4-client, case-handler keys carry one). */
export function partyOf(p: Principal): string {
  if (!p.partyId) throw forbidden('key_without_party', 'This API key does not act for a party');
  return p.partyId;
}

export function gridUserOf(p: Principal): string {
  if (!p.gridUserId) throw forbidden('key_without_grid_user', 'This API key does not act for a grid user');
  return p.gridUserId;
}

/** May the caller see this connection? (Unseen ones are answered with 404, never 403.) */
export function canSeeConnection(p: Principal, c: Connection): boolean {
  switch (p.role) {
    case 'admin':
    case 'compliance':
      return true;
    case 'case-handler':
      return c.gridOperatorId === p.partyId;
    case 'grid-user':
      return c.gridUserId !== null && c.gridUserId === p.gridUserId;
    default:
      return false;
  }
}

/** Response schemas for the given error statuses (every status a route can return is documented). */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorResponse])) as Record<S, typeof ErrorResponse>;
}

/** Statuses every authenticated route with a JSON body can return besides its own. */
export const BODY_ERRORS = [400, 401, 403, 413, 415] as const;
export const READ_ERRORS = [400, 401, 403] as const;

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/**
 * Bodies of the consent-core routes are JSON only: drop Fastify's built-in text/plain parser in the
 * plugin's (encapsulated) context, so any other content type is a 415, not a 400 from the schema.
 */
export function jsonBodiesOnly(app: { removeContentTypeParser(ct: string | string[]): unknown; hasContentTypeParser(ct: string): boolean }): void {
  if (app.hasContentTypeParser('text/plain')) app.removeContentTypeParser('text/plain');
}
