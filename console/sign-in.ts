/**
 * Signing in and out (issue 19): the sign-in page, the redirect to the provider (PKCE), the callback (a new
 * session id, the person recorded; or the step-up of a signed act), sign-out, the language, and the provider's
 * back-channel logout.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LANGS, t, type Lang } from '../lib/messages.js';
import { findPerson, recordSignIn } from '../services/people/people.js';
import { revokeProviderSessions } from '../services/people/sessions.js';
import { BREACH_DECIDE, breachRoutes } from './breach.js';
import { caseRoutes } from './cases.js';
import { isReviewStepUp, reviewRoutes } from './reviews.js';
import type { ConsoleKit } from './index.js';
import { authorizationUrl, completeSignIn, SignInRefused, verifyLogoutToken } from './oidc.js';
import { completeStepUp } from './step-up.js';
import { page } from './views/layout.js';
import { MessagePage, SignInPage } from './views/pages.js';

type Html = (reply: FastifyReply, body: string, status?: number) => FastifyReply;

// long: one short handler per route; the callback is the longest (sign-in or step-up)
export function registerSignIn(app: FastifyInstance, kit: ConsoleKit, html: Html): void {
  const signInLimit = { rateLimit: { max: kit.config.signInPerMinute, timeWindow: 60_000 } };

  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/queue', 303));

  app.get<{ Querystring: { expired?: string } }>(
    '/console/sign-in',
    { schema: { hide: true, querystring: { type: 'object', properties: { expired: { type: 'string' } } } } },
    async (request, reply) => {
      const ctx = kit.ctx(request, reply, false);
      const notice = request.query.expired ? t(ctx.lang, 'signIn.expired') : undefined;
      const list = kit.providers.map((p) => ({ id: p.config.id, label: p.config.label }));
      return html(reply, page(SignInPage({ ctx, providers: list, notice })));
    },
  );

  app.get<{ Params: { provider: string } }>(
    '/console/login/:provider',
    { config: signInLimit, schema: { hide: true } },
    async (request, reply) => {
      const provider = kit.providers.find((p) => p.config.id === request.params.provider);
      if (!provider) return reply.redirect('/console/sign-in', 303);
      const { url, pending } = await authorizationUrl(provider, kit.redirectUri, undefined);
      request.session.set('pending', pending);
      return reply.redirect(url.href, 303);
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/console/callback',
    {
      config: signInLimit,
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: Object.fromEntries(
            ['code', 'state', 'iss', 'session_state', 'error', 'error_description'].map((k) => [k, { type: 'string' }]),
          ),
        },
      },
    },
    async (request, reply) => {
      const pending = request.session.get('pending');
      const provider = pending && kit.providers.find((p) => p.config.id === pending.providerId);
      const refuse = (reason: string) => {
        const ctx = kit.ctx(request, reply, false);
        const list = kit.providers.map((p) => ({ id: p.config.id, label: p.config.label }));
        return html(
          reply,
          page(SignInPage({ ctx, providers: list, notice: t(ctx.lang, 'signIn.failed', { reason }) })),
          400,
        );
      };
      if (!pending || !provider) return refuse('no sign-in in progress');
      request.session.set('pending', undefined);
      let identity;
      try {
        identity = await completeSignIn(provider, new URL(request.url, kit.config.origin), pending);
      } catch (err) {
        if (err instanceof SignInRefused) return refuse(err.reason);
        throw err;
      }
      if (pending.stepUp) {
        // The signed act it was asked for: a GT-5 act, a GT-11 decision, or the judgement "not demonstrated".
        const { purpose } = pending.stepUp;
        const acts = isReviewStepUp(purpose) ? reviewRoutes : purpose === BREACH_DECIDE ? breachRoutes : caseRoutes;
        return completeStepUp(kit, request, reply, provider, identity, pending.stepUp, acts.signed);
      }
      const { person, operatorName } = await recordSignIn(kit.db, {
        issuer: identity.issuer,
        subject: identity.subject,
        name: identity.name,
        email: identity.email,
        gridOperatorGln: provider.config.gridOperatorGln,
        roles: identity.roles,
        acr: identity.acr,
        amr: identity.amr,
        at: new Date(),
      });
      const lang = request.session.get('lang');
      // A new session id at sign-in (no fixation); the language chosen before it carries over.
      await request.session.regenerate();
      request.session.set('person', {
        id: person.id,
        name: person.name,
        role: identity.roles[0] ?? null,
        roles: identity.roles,
        gridOperatorId: person.gridOperatorId,
        operatorName,
        providerId: provider.config.id,
        subject: identity.subject,
      });
      request.session.set('personId', person.id);
      request.session.set('issuer', identity.issuer);
      request.session.set('oidcSid', identity.sid);
      const ua = request.headers['user-agent'];
      if (ua) request.session.set('userAgent', ua.slice(0, 300));
      if (lang) request.session.set('lang', lang);
      return reply.redirect('/console/queue', 303);
    },
  );

  app.post('/console/sign-out', { preHandler: app.csrfProtection, schema: { hide: true } }, async (request, reply) => {
    await request.session.destroy();
    const ctx = { lang: request.session.get('lang') ?? 'nl', csrf: '', path: '/console/sign-in', person: undefined };
    return html(
      reply,
      page(
        MessagePage({ ctx, title: t(ctx.lang, 'signedOut.title'), text: t(ctx.lang, 'signedOut.text'), back: false }),
      ),
    );
  });

  // The display language only (a link, so it works before sign-in and without JavaScript); no other state.
  app.get<{ Querystring: { to?: string; back?: string } }>(
    '/console/language',
    {
      schema: {
        hide: true,
        querystring: { type: 'object', properties: { to: { type: 'string' }, back: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const { to, back } = request.query;
      if (to && (LANGS as readonly string[]).includes(to)) request.session.set('lang', to as Lang);
      // Only a path of this console: never an open redirect.
      return reply.redirect(back && /^\/console(\/[\w\-/]*)?$/.test(back) ? back : '/console/queue', 303);
    },
  );

  app.post<{ Body: { logout_token?: string } }>(
    '/console/backchannel-logout',
    { config: signInLimit, schema: { hide: true } },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      const token = request.body?.logout_token;
      if (typeof token !== 'string') return reply.code(400).send({ error: 'invalid_request' });
      let claims;
      try {
        claims = await verifyLogoutToken(kit.providers, token);
      } catch (err) {
        if (err instanceof SignInRefused) {
          request.log.info({ reason: err.reason }, 'back-channel logout refused');
          return reply.code(400).send({ error: 'invalid_request', error_description: err.reason });
        }
        throw err;
      }
      const person = claims.subject ? await findPerson(kit.db, claims.issuer, claims.subject) : undefined;
      const ended = await revokeProviderSessions(kit.db, claims.issuer, { sid: claims.sid, personId: person?.id });
      request.log.info({ issuer: claims.issuer, ended }, 'back-channel logout');
      return reply.code(200).send();
    },
  );
}
