/**
 * Step-up for the console's signed acts (issue 19: "not demonstrated", GT-5 vote/commitment/decision, the GT-11
 * decision): send the person to their own provider for a fresh authentication, and on return check it is the same
 * person, record it (person.stepped_up) and give the person that authentication to sign with (the API checks its
 * freshness: signerOf). The pages say only what is asked and what is done with the signer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { t, type Lang } from '../lib/messages.js';
import { recordStepUp } from '../services/people/people.js';
import type { Person } from './api.js';
import type { ConsoleKit } from './index.js';
import { authorizationUrl, type Identity, type PendingSignIn, type Provider } from './oidc.js';
import type { Notice } from './views/case.js';

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
 * A signed act as its page module defines it (the judgement "not demonstrated", the GT-11 decision, the GT-5 acts):
 * the page the person goes back to, and the act done as the signer, with the notice it leaves there.
 */
export interface SignedAct {
  /** The page of the act's subject (stepUp.subjectId): the case, the assessment, the review. */
  page(subjectId: string): string;
  /** The act as the signer (the API checks the authentication's freshness: signerOf): its refusal or what was done. */
  perform(kit: ConsoleKit, signer: Person, stepUp: StepUp, lang: Lang): Promise<Notice>;
}

/**
 * Back from the provider with a fresh authentication: it must be the same person, then it is recorded
 * (person.stepped_up) and the act it was asked for is done with it; back to the act's page with what happened
 * (303, so a reload does not post again). Someone else signed in at the provider: nothing is done.
 */
export async function completeStepUp(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  provider: Provider,
  identity: Identity,
  stepUp: StepUp,
  act: SignedAct,
): Promise<FastifyReply> {
  const person = kit.personOf(request, reply);
  if (!person) return reply;
  const lang = kit.ctx(request, reply, false).lang;
  const sp = request.session.get('person')!;
  const notice: Notice =
    identity.issuer !== provider.config.issuer || identity.subject !== sp.subject
      ? { kind: 'error', text: t(lang, 'signIn.failed', { reason: 'another person signed in' }) }
      : await act.perform(kit, await recordedSigner(kit, person, identity, stepUp), stepUp, lang);
  request.session.set('flash', notice);
  return reply.redirect(act.page(stepUp.subjectId), 303);
}

/** The signer: the person with the fresh authentication, recorded (person.stepped_up). */
async function recordedSigner(kit: ConsoleKit, person: Person, identity: Identity, stepUp: StepUp): Promise<Person> {
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
