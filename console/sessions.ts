/**
 * The sessions page (issue 19: sessions are revocable): a person sees where they are signed in (created, last
 * used, which browser, this one marked) and ends one or all others; a compliance officer also sees the sessions
 * of the colleagues of their own grid operator and may end them. Plain POST forms with CSRF; every revocation is
 * audited with the person who did it (services/people/sessions.ts endSessions). Sessions are the console's own
 * data (services/people/), not case data: no API route is involved.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { t } from '../lib/messages.js';
import { endSessions, listSessions, sessionOwner, type SessionScope } from '../services/people/sessions.js';
import type { Person } from './api.js';
import type { ConsoleKit } from './index.js';
import { page } from './views/layout.js';
import { MessagePage } from './views/pages.js';
import { SessionsPage } from './views/sessions.js';

type Html = (reply: FastifyReply, body: string, status?: number) => FastifyReply;

const UUID = /^[0-9a-fA-F-]{36}$/;

function register(app: FastifyInstance, kit: ConsoleKit, { html }: { html: Html }) {
  const csrf = app.csrfProtection;
  const actorOf = (p: Person) => ({ personId: p.id, role: p.role, gridOperatorId: p.gridOperatorId });

  app.get('/console/sessions', { schema: { hide: true } }, async (request, reply) => {
    const person = kit.personOf(request, reply);
    if (!person) return reply;
    const sid = request.session.sessionId;
    const own = await listSessions(kit.db, { personId: person.id }, sid);
    // Compliance: the colleagues of the own grid operator (the provider speaks for it by configuration).
    const colleagues =
      person.role === 'compliance'
        ? await listSessions(kit.db, { gridOperatorId: person.gridOperatorId, exceptPersonId: person.id }, sid)
        : undefined;
    const flash = request.session.get('flash');
    if (flash) request.session.set('flash', undefined);
    const ctx = kit.ctx(request, reply);
    const operator = request.session.get('person')?.operatorName ?? '';
    return html(reply, page(SessionsPage({ ctx, own, colleagues, operator, notice: flash })));
  });

  function notFound(request: FastifyRequest, reply: FastifyReply) {
    const ctx = kit.ctx(request, reply);
    const text = t(ctx.lang, 'sessions.notFound');
    return html(reply, page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text })), 404);
  }

  /**
   * End sessions and go back to the page with what happened (303). Nothing ended — no such session, or one the
   * person may not end (another grid operator's, or not compliance) — is a 404, as the API answers what one may
   * not see.
   */
  async function end(
    request: FastifyRequest,
    reply: FastifyReply,
    person: Person,
    target: string,
    scope: SessionScope,
  ) {
    const ended = await endSessions(kit.db, actorOf(person), target, scope);
    if (ended === 0) return notFound(request, reply);
    const lang = kit.ctx(request, reply, false).lang;
    request.session.set('flash', { kind: 'ok', text: t(lang, 'sessions.ended', { count: ended }) });
    return reply.redirect('/console/sessions', 303);
  }

  // One session by its handle: the person's own, or (compliance) a colleague's; endSessions decides who may.
  app.post<{ Body: { id?: string } }>(
    '/console/sessions/end',
    { preHandler: csrf, schema: { hide: true } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const id = request.body?.id ?? '';
      const owner = UUID.test(id) ? await sessionOwner(kit.db, id) : null;
      if (!owner) return notFound(request, reply);
      return end(request, reply, person, owner, { one: id });
    },
  );

  app.post('/console/sessions/end-others', { preHandler: csrf, schema: { hide: true } }, async (request, reply) => {
    const person = kit.personOf(request, reply);
    if (!person) return reply;
    return end(request, reply, person, person.id, { allBut: request.session.sessionId });
  });

  // Compliance: every session of a colleague of the own grid operator.
  app.post<{ Body: { personId?: string } }>(
    '/console/sessions/end-person',
    { preHandler: csrf, schema: { hide: true } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const target = request.body?.personId ?? '';
      if (!UUID.test(target)) return notFound(request, reply);
      return end(request, reply, person, target, 'all');
    },
  );
}

export const sessionRoutes = { register };
