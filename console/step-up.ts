/**
 * Step-up for the console's signed acts (issue 19: "not demonstrated", GT-5 vote/commitment/decision, the GT-11
 * decision): send the person to their own provider for a fresh authentication, and on return check it is the same
 * person, record it (person.stepped_up) and give the person that authentication to sign with (the API checks its
 * freshness: signerOf). The pages say only what is asked and what is done with the signer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordStepUp } from '../services/people/people.js';
import type { Person } from './api.js';
import type { ConsoleKit } from './index.js';
import { authorizationUrl, type Identity, type PendingSignIn, type Provider } from './oidc.js';

export type StepUp = NonNullable<PendingSignIn['stepUp']>;

/** Redirects to the person's provider for the act; null when that provider is no longer configured. */
export async function beginStepUp(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  stepUp: StepUp,
): Promise<FastifyReply | null> {
  const sp = request.session.get('person')!;
  const provider = kit.providers.find((p) => p.config.id === sp.providerId);
  if (!provider) return null;
  const { url, pending } = await authorizationUrl(provider, kit.redirectUri, stepUp);
  request.session.set('pending', pending);
  return reply.redirect(url.href, 303);
}

/**
 * Back from the provider: the signer (the person with the fresh authentication, recorded), 'another_person' when
 * someone else signed in at the provider, or null when the session has no person (the reply is answered).
 */
export async function signerAfterStepUp(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  provider: Provider,
  identity: Identity,
  stepUp: StepUp,
): Promise<Person | 'another_person' | null> {
  const person = kit.personOf(request, reply);
  if (!person) return null;
  const sp = request.session.get('person')!;
  if (identity.issuer !== provider.config.issuer || identity.subject !== sp.subject) return 'another_person';
  await recordStepUp(kit.db, {
    personId: person.id,
    role: person.role,
    gridOperatorId: person.gridOperatorId,
    purpose: stepUp.purpose,
    subjectId: stepUp.subjectId,
    acr: identity.acr,
    amr: identity.amr,
    authenticatedAt: new Date(identity.authTime),
  });
  return { ...person, stepUp: { at: identity.authTime, acr: identity.acr, amr: identity.amr } };
}
