/**
 * Helpers the routes share: the audit actor of the caller, the party or grid user a key acts for, and
 * the list filter that holds a caller's lists to what it may see (domain/visibility.ts, the one rule).
 */
import type { Principal } from './auth.js';
import { actorOf } from './auth.js';
import type { Actor } from '../../db/repositories/actor.js';
import { scopeOf, signatureOf, type Signature, type SignedWith } from '../../domain/visibility.js';
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

/** How recent a person's fresh authentication must be for a signed act (issue 19). */
export const STEP_UP_MAX_AGE_MS = 5 * 60_000;

/**
 * The signature of a signed act (domain/visibility.ts signatureOf): the key's recorded holder, role and id, and
 * what it was signed with (the act's own audit entry records it: data.signedWith). A key without a holder cannot
 * sign: 403 key_holder_required, nothing recorded.
 */
export function signerOf(p: Principal, now = Date.now()): Signature & { signedWith: SignedWith } {
  // Issue 19: a person signs only right after authenticating again at their provider (the console asks for it).
  if (p.via === 'person' && !(p.stepUp && now - p.stepUp.at <= STEP_UP_MAX_AGE_MS && p.stepUp.at <= now + 60_000))
    throw forbidden('step_up_required', 'This act is signed: authenticate again at your provider first');
  const s = signatureOf(p);
  if (!s)
    throw forbidden(
      'key_holder_required',
      'This act is signed with the name of the person the API key is issued to, and this key records none: issue a key with holderName',
    );
  // Issue 19: a person's act names the authentication it was signed with; a key's, its recorded holder.
  const signedWith: SignedWith = p.stepUp
    ? { kind: 'step_up', authenticatedAt: new Date(p.stepUp.at).toISOString(), acr: p.stepUp.acr, amr: p.stepUp.amr }
    : { kind: 'key_holder', keyId: p.keyId, holderName: s.name };
  return { ...s, signedWith };
}

/** An id no row has: the filter of a caller that sees nothing. */
const NOBODY = '00000000-0000-0000-0000-000000000000';

/**
 * The caller's scope (domain/visibility.ts scopeOf) as a repository filter: the grid operator or party
 * its lists are held to, nothing for those who see all, an id no row has for those who see none.
 */
export function ownFilter(p: Principal): { gridOperatorId?: string; partyId?: string } {
  const s = scopeOf(p);
  switch (s.kind) {
    case 'all':
      return {};
    case 'grid_operator':
      return { gridOperatorId: s.gridOperatorId };
    case 'party':
      return { partyId: s.partyId };
    case 'grid_user':
    case 'none':
      // A key without the party its role acts for is refused, as partyOf does; other roles see nothing here.
      if (p.role === 'case-handler' || p.role === 'supplier' || p.role === 'compliance') partyOf(p);
      return { gridOperatorId: NOBODY, partyId: NOBODY };
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
export function jsonBodiesOnly(app: {
  removeContentTypeParser(ct: string | string[]): unknown;
  hasContentTypeParser(ct: string): boolean;
}): void {
  if (app.hasContentTypeParser('text/plain')) app.removeContentTypeParser('text/plain');
}
