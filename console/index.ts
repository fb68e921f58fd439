/**
 * The people's console at /console (issue 19): an encapsulated Fastify plugin that renders the API's answers as
 * HTML. Everything it shows or does goes through the API's routes in-process as the signed-in person
 * (console/api.ts); it reads and writes no case data itself. What it keeps itself is who is signed in: people and
 * sessions (services/people/), in PostgreSQL.
 *
 * Security inside /console only: a strict CSP without inline script (@fastify/helmet), a server-side session
 * behind a `__Host-` cookie (@fastify/session over PostgreSQL), CSRF tokens on every form
 * (@fastify/csrf-protection) and an Origin check on every POST, a rate limit on sign-in. The API's own auth hook
 * treats these routes as public: the session, not a key, admits a person here, and no key opens a page.
 */
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import session from '@fastify/session';
import fastifyStatic from '@fastify/static';
import type { Db } from '../db/client.js';
import type { ConsoleConfig } from '../lib/config.js';
import { projectRoot } from '../lib/infra/temporal-dev-server.js';
import { t, type Lang } from '../lib/messages.js';
import type { Role } from '../domain/visibility.js';
import { postgresSessionStore, purgeExpiredSessions } from '../services/people/sessions.js';
import { consoleApi, type Person } from './api.js';
import { breachRoutes } from './breach.js';
import { caseRoutes } from './cases.js';
import { reportRoutes } from './reports.js';
import { reviewRoutes } from './reviews.js';
import { sessionRoutes } from './sessions.js';
import { registerSignIn } from './sign-in.js';
import { createProvider, ProviderUnavailable, type PendingSignIn, type Provider } from './oidc.js';
import { fragment, page, type PageContext } from './views/layout.js';
import { MessagePage } from './views/pages.js';

/** The person of a session (set at sign-in). */
export interface SessionPerson {
  id: string;
  name: string;
  /** The role acted in: the first the provider's groups map to; null: none (the person sees nothing). */
  role: Role | null;
  roles: Role[];
  gridOperatorId: string;
  operatorName: string;
  providerId: string;
  subject: string;
}

declare module 'fastify' {
  interface Session {
    person?: SessionPerson;
    /** Indexed by the store: the person, the provider and its session id (back-channel logout). */
    personId?: string;
    issuer?: string;
    oidcSid?: string | null;
    /** The browser's User-Agent at sign-in (the sessions page names the session by it). */
    userAgent?: string;
    lang?: Lang;
    pending?: PendingSignIn;
    flash?: { kind: 'ok' | 'error'; text: string };
    /** The store's last write of this session (ms; services/people/sessions.ts): set anew to roll its idle expiry. */
    seenAt?: number;
  }
}

export interface ConsoleOptions {
  config: ConsoleConfig;
  db: Db;
}

/** The two static files: the stylesheet and htmx from node_modules (no CDN). */
const ASSETS = new Set(['/console.css', '/htmx.min.js', '/favicon.svg']);

export interface ConsoleKit {
  config: ConsoleConfig;
  db: Db;
  providers: Provider[];
  api: ReturnType<typeof consoleApi>;
  ctx(request: FastifyRequest, reply: FastifyReply, forms?: boolean): PageContext;
  /** The signed-in person with a role, or a reply already sent (sign-in, no role). */
  personOf(request: FastifyRequest, reply: FastifyReply): Person | null;
  redirectUri: string;
}

// long: the plugin's registration: security plugins, assets, then the sign-in routes; pages live in cases.ts
export default async function consolePlugin(app: FastifyInstance, { config, db }: ConsoleOptions): Promise<void> {
  const providers = config.providers.map(createProvider);
  const api = consoleApi(app);
  const redirectUri = `${config.origin}/console/callback`;

  // The API's auth hook admits keys; here the session admits people (and a key opens nothing).
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), public: true };
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        // Plus exactly the empty inline style (the SHA-256 of ''), which htmx 4 applies during a swap: allowing the
        // empty string admits no styling, and every other inline style stays blocked.
        styleSrc: ["'self'", "'unsafe-hashes'", "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        // A form may lead to the provider: the step-up of a signed act redirects there after the POST.
        formAction: ["'self'", ...new Set(config.providers.map((p) => new URL(p.issuer).origin))],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // Same-origin requests keep their Origin (no-referrer would send `Origin: null` with a form's POST).
    referrerPolicy: { policy: 'same-origin' },
    // http on one machine (docs/console.md): no HSTS there.
    strictTransportSecurity: config.secureCookie,
    crossOriginEmbedderPolicy: false,
  });
  await app.register(cookie);
  const store = postgresSessionStore<Session>(db, { idleMs: config.idleMs, absoluteMs: config.absoluteMs });
  await app.register(session, {
    secret: config.sessionSecret,
    cookieName: config.secureCookie ? '__Host-gt-console' : 'gt-console',
    store,
    saveUninitialized: false,
    // Saved when it changed; the idle expiry rolls with a slack (the hook below; services/people/sessions.ts).
    rolling: false,
    cookie: { path: '/', secure: config.secureCookie, httpOnly: true, sameSite: 'lax' },
  });
  // After the session is read: once its last write is the slack old, a new seenAt changes it, so this view writes it.
  app.addHook('onRequest', async (request) => {
    const s = request.session;
    if (typeof s?.get === 'function' && store.rollDue(s.get('seenAt'))) s.set('seenAt', Date.now());
  });
  await app.register(csrf, { sessionPlugin: '@fastify/session' });
  await app.register(formbody);
  await app.register(rateLimit, { global: false });
  const htmxDir = join(createRequire(import.meta.url).resolve('htmx.org'), '..');
  await app.register(fastifyStatic, {
    root: [join(projectRoot(), 'console', 'assets'), htmxDir],
    prefix: '/console/assets/',
    allowedPath: (path) => ASSETS.has(path),
    maxAge: 3_600_000,
    index: false,
    list: false,
  });

  // CSRF, second line: a state change comes from a page of this console (the browser's Origin), or not at all.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    if (request.url.startsWith('/console/backchannel-logout')) return; // server to server, a signed token
    if (request.headers.origin !== config.origin) {
      request.log.info({ origin: request.headers.origin }, 'console: POST from another origin refused');
      reply.code(403).type('text/html; charset=utf-8');
      return reply.send(
        page(
          MessagePage({
            ctx: bareCtx(request),
            title: t(langOf(request), 'error.title'),
            text: t(langOf(request), 'error.forbidden'),
            back: false,
          }),
        ),
      );
    }
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const lang = langOf(request);
    const ctx = bareCtx(request);
    const status = err instanceof ProviderUnavailable ? 503 : (err.statusCode ?? 500);
    let text: string;
    if (err instanceof ProviderUnavailable) text = t(lang, 'error.unavailable', { what: err.providerId });
    else if (status === 429) text = t(lang, 'error.rateLimited');
    else if (status === 403) text = t(lang, 'error.forbidden');
    else if (status < 500) text = err.message;
    else {
      request.log.error({ err }, 'console error');
      text = t(lang, 'error.title');
    }
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(page(MessagePage({ ctx, title: t(lang, 'error.title'), text })));
  });

  const langOf = (request: FastifyRequest): Lang => request.session?.get?.('lang') ?? 'nl';
  function bareCtx(request: FastifyRequest): PageContext {
    const p = request.session?.get?.('person');
    return {
      lang: langOf(request),
      csrf: '',
      path: '/console/queue',
      person: p ? { name: p.name, role: p.role, operatorName: p.operatorName } : undefined,
    };
  }
  const kit: ConsoleKit = {
    config,
    db,
    providers,
    api,
    redirectUri,
    ctx(request, reply, forms = true) {
      const p = request.session.get('person');
      return {
        lang: langOf(request),
        // Only pages with forms make a token: an anonymous visit to the sign-in page stores no session.
        csrf: forms && p ? reply.generateCsrf() : '',
        path: request.url.split('?')[0] ?? '/console/queue',
        person: p ? { name: p.name, role: p.role, operatorName: p.operatorName } : undefined,
      };
    },
    personOf(request, reply) {
      const p = request.session.get('person');
      if (!p) {
        // A session that expired or was ended looks like none: back to sign-in (htmx: a full-page redirect).
        const to = `/console/sign-in${request.cookies[config.secureCookie ? '__Host-gt-console' : 'gt-console'] ? '?expired=1' : ''}`;
        if (request.headers['hx-request']) void reply.header('hx-redirect', to).code(401).send('');
        else void reply.redirect(to, 303);
        return null;
      }
      if (!p.role) {
        const ctx = kit.ctx(request, reply);
        void reply
          .code(403)
          .type('text/html; charset=utf-8')
          .send(
            page(
              MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text: t(ctx.lang, 'signIn.noRole'), back: false }),
            ),
          );
        return null;
      }
      return { id: p.id, name: p.name, role: p.role, gridOperatorId: p.gridOperatorId };
    },
  };

  const html = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  registerSignIn(app, kit, html);

  // Expired rows are never read; remove them now and then so the table holds live sessions only.
  const purge = setInterval(() => {
    purgeExpiredSessions(db).catch((err: unknown) => app.log.warn({ err }, 'console: purging expired sessions failed'));
  }, 15 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));

  await caseRoutes.register(app, kit, { html, fragment });
  breachRoutes.register(app, kit, { html });
  reviewRoutes.register(app, kit, { html });
  reportRoutes.register(app, kit, { html });
  sessionRoutes.register(app, kit, { html });
}
