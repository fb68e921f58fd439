/**
 * The console's case pages (issue 19): the work queue and one case, with its actions — note (htmx or a plain
 * form), judgement ("not demonstrated" only after a fresh authentication: step-up), recording a contact, asking
 * for more evidence, a legal hold and its release, informing the ACM, withdrawing — and its evidence to open. Each
 * action is the API's route called as the person; the API's answer (or refusal) is what the page shows.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CaseDetailDto, CaseSummaryDto } from '../api/schemas/cases.js';
import type { WorkItemDto } from './views/queue.js';
import { t, type MessageKey } from '../lib/messages.js';
import { refusalText, streamThrough, type ApiAnswer, type Person } from './api.js';
import type { ConsoleKit } from './index.js';
import { beginStepUp, type SignedAct } from './step-up.js';
import { fromLocalInput } from './format.js';
import { Activity, CasePage, type Notice } from './views/case.js';
import { page } from './views/layout.js';
import { MessagePage } from './views/pages.js';
import { QueuePage, type Search } from './views/queue.js';

type Html = (reply: FastifyReply, body: string, status?: number) => FastifyReply;
type Fragment = typeof import('./views/layout.js').fragment;

/** The first page of the queue and of a search's results (the API's maximum page). */
/** Rows per queue page: the API pages in SQL (GET /work-items limit/offset); 50 keeps the page under 100 KB. */
export const QUEUE_PAGE = 50;
const SEARCH_LIMIT = 50;
const REJECT = 'case.judgement.reject';
const UUID = '^[0-9a-fA-F-]{36}$';
const caseParams = { type: 'object', properties: { id: { type: 'string', pattern: UUID } }, required: ['id'] };
const evidenceParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: UUID }, responseId: { type: 'string', pattern: UUID } },
  required: ['id', 'responseId'],
};
/**
 * The case actions that need no signature (signerOf is not asked by their routes): the API route, the body it
 * takes from the form, and the notice on success. Asking for evidence, withdrawing, the ACM notice and the legal
 * hold are the handler's (the hold also compliance's) acts under their own name, not signed decisions.
 */
const PLAIN_ACTS = {
  'evidence-requests': {
    body: (b: CaseBody) => ({ message: b.message ?? '' }),
    done: 'caseAct.request.done',
  },
  withdraw: {
    body: (b: CaseBody) => ({ reason: b.reason ?? '', ...(b.reasonCode ? { reasonCode: b.reasonCode } : {}) }),
    done: 'caseAct.withdraw.done',
  },
  'acm-notifications': {
    body: (b: CaseBody) => ({ message: b.message ?? '' }),
    done: 'caseAct.acm.done',
  },
  'legal-hold': {
    body: (b: CaseBody) => ({ authority: b.authority ?? '', reason: b.reason ?? '' }),
    done: 'caseAct.hold.done',
  },
  'legal-hold/release': {
    body: (b: CaseBody) => ({ reason: b.reason ?? '' }),
    done: 'caseAct.hold.released',
  },
} satisfies Record<string, { body(b: CaseBody): object; done: MessageKey }>;

/** The numbers a notice names ({copies}, {destroyed}) from the API's answer. */
const doneParams = (body: unknown): Record<string, number> => {
  const b = (body ?? {}) as { copiesHeld?: number; evidenceDestroyed?: number };
  return { copies: b.copiesHeld ?? 0, destroyed: b.evidenceDestroyed ?? 0 };
};

/**
 * The copy is always saved, never shown in the console's origin: the API's attachment with its sanitised file
 * name (ASCII, quotes and backslashes replaced), or a bare attachment when it sent anything else.
 */
const SAFE_DISPOSITION = /^attachment; filename="[\x20\x21\x23-\x5b\x5d-\x7e]*"(; filename\*=UTF-8''[\w%!'()*.~-]*)?$/;
function disposition(apiValue: unknown): string {
  return typeof apiValue === 'string' && SAFE_DISPOSITION.test(apiValue) ? apiValue : 'attachment';
}

interface CaseBody {
  idempotencyKey?: string;
  text?: string;
  responseId?: string;
  decision?: string;
  reason?: string;
  method?: string;
  contactedAt?: string;
  contactPerson?: string;
  summary?: string;
  message?: string;
  reasonCode?: string;
  authority?: string;
}

function notFound(kit: ConsoleKit, request: FastifyRequest, reply: FastifyReply, html: Html) {
  const ctx = kit.ctx(request, reply);
  return html(
    reply,
    page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text: t(ctx.lang, 'case.notFound') })),
    404,
  );
}

/** An API refusal in words: its message (the API's, in English) with the field it names. */
const refusal = (a: ApiAnswer): Notice => ({ kind: 'error', text: refusalText(a) });

async function showCase(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  html: Html,
  person: Person,
  id: string,
  notice?: Notice,
  status = 200,
) {
  const res = await kit.api.get<CaseDetailDto>(person, `/cases/${id}`);
  if (res.status === 404) return notFound(kit, request, reply, html);
  if (res.error) throw Object.assign(new Error(res.error.message), { statusCode: res.status });
  const flash = request.session.get('flash');
  if (flash) request.session.set('flash', undefined);
  const ctx = kit.ctx(request, reply);
  return html(reply, page(CasePage({ ctx, c: res.body, now: Date.now(), notice: notice ?? flash })), status);
}

/** After a plain form's POST: back to the case page with what happened (303, so a reload does not post again). */
function backToCase(request: FastifyRequest, reply: FastifyReply, id: string, notice: Notice) {
  request.session.set('flash', notice);
  return reply.redirect(`/console/cases/${id}`, 303);
}

async function judge(kit: ConsoleKit, person: Person, id: string, act: Record<string, string>) {
  const body: Record<string, string> = { responseId: act['responseId'] ?? '', decision: act['decision'] ?? '' };
  if (act['reason']?.trim()) body['reason'] = act['reason'].trim();
  return kit.api.post(person, `/cases/${id}/judgements`, body, act['idempotencyKey'] || undefined);
}

// long: one route per page or action, each a few lines over the API
function register(app: FastifyInstance, kit: ConsoleKit, { html, fragment }: { html: Html; fragment: Fragment }) {
  const csrf = app.csrfProtection;

  app.get<{ Querystring: { q?: string; page?: number } }>(
    '/console/queue',
    {
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: { q: { type: 'string' }, page: { type: 'integer', minimum: 1, maximum: 10_000, default: 1 } },
        },
      },
    },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      // The API orders the queue (domain/work-items.ts compareWorkItems); the console shows it as it comes.
      const pageNo = request.query.page ?? 1;
      const res = await kit.api.get<{ items: WorkItemDto[]; total: number }>(
        person,
        `/work-items?limit=${QUEUE_PAGE}&offset=${(pageNo - 1) * QUEUE_PAGE}`,
      );
      if (res.error) throw Object.assign(new Error(res.error.message), { statusCode: res.status });
      const q = request.query.q?.trim();
      let search: Search | undefined;
      if (q) {
        // The API validates the text (at least 3 characters) and holds the search to what the person may see.
        const found = await kit.api.get<{ items: CaseSummaryDto[]; total: number }>(
          person,
          `/cases?q=${encodeURIComponent(q)}&sort=due&limit=${SEARCH_LIMIT}`,
        );
        search = found.error ? { q, notice: refusal(found) } : { q, items: found.body.items, total: found.body.total };
      }
      const ctx = kit.ctx(request, reply);
      return html(
        reply,
        page(
          QueuePage({
            ctx,
            items: res.body.items,
            now: Date.now(),
            search,
            paging: { page: pageNo, size: QUEUE_PAGE, total: res.body.total },
          }),
        ),
      );
    },
  );

  // The case list as CSV: the API's answer streamed through as it is written, with its Content-Disposition.
  app.get<{ Querystring: { q?: string } }>(
    '/console/cases.csv',
    { schema: { hide: true, querystring: { type: 'object', properties: { q: { type: 'string' } } } } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const q = request.query.q?.trim();
      const url = `/cases?format=csv&sort=due${q ? `&q=${encodeURIComponent(q)}` : ''}`;
      return streamThrough(kit.api, person, reply, url, 'text/csv', {
        pass: ['content-type', 'content-disposition', 'x-content-type-options'],
        refused: (res) => {
          const ctx = kit.ctx(request, reply);
          const text = refusalText(res);
          return html(reply, page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text })), res.status);
        },
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/console/cases/:id',
    { schema: { hide: true, params: caseParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      return showCase(kit, request, reply, html, person, request.params.id);
    },
  );

  app.post<{ Params: { id: string }; Body: CaseBody }>(
    '/console/cases/:id/notes',
    { preHandler: csrf, schema: { hide: true, params: caseParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const { id } = request.params;
      const res = await kit.api.post(
        person,
        `/cases/${id}/notes`,
        { text: request.body?.text ?? '' },
        request.body?.idempotencyKey,
      );
      if (res.status === 404) return notFound(kit, request, reply, html);
      const ctx = kit.ctx(request, reply);
      const notice: Notice = res.error ? refusal(res) : { kind: 'ok', text: t(ctx.lang, 'note.added') };
      if (!request.headers['hx-request']) return backToCase(request, reply, id, notice);
      // htmx: the activity section only, with the note in the timeline (or the refusal above it).
      const c = await kit.api.get<CaseDetailDto>(person, `/cases/${id}`);
      if (c.error) return notFound(kit, request, reply, html);
      return html(reply, fragment(Activity({ ctx, c: c.body, notice })), res.error ? res.status : 200);
    },
  );

  // The evidence viewer: the API's copy streamed through as the person (the API records the opening,
  // case.evidence_opened with the person as actor), in a sandbox: no script, no plugin, no sniffing (GT-3, GT-8).
  app.get<{ Params: { id: string; responseId: string } }>(
    '/console/cases/:id/responses/:responseId/evidence',
    { schema: { hide: true, params: evidenceParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const { id, responseId } = request.params;
      const url = `/cases/${id}/responses/${responseId}/evidence`;
      return streamThrough(kit.api, person, reply, url, '*/*', {
        pass: ['content-type', 'content-length', 'x-evidence-sha256', 'repr-digest'],
        set: (headers) => ({
          'content-security-policy': "sandbox; default-src 'none'; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
          'content-disposition': disposition(headers['content-disposition']),
        }),
        refused: (res) => {
          // Another operator's case is not found, as the API says (404, never 403); a destroyed copy is its refusal.
          if (res.error?.code === 'case_not_found') return notFound(kit, request, reply, html);
          const ctx = kit.ctx(request, reply);
          const text = refusalText(res);
          return html(reply, page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text })), res.status);
        },
      });
    },
  );

  for (const [path, act] of Object.entries(PLAIN_ACTS)) {
    app.post<{ Params: { id: string }; Body: CaseBody }>(
      `/console/cases/:id/${path}`,
      { preHandler: csrf, schema: { hide: true, params: caseParams } },
      async (request, reply) => {
        const person = kit.personOf(request, reply);
        if (!person) return reply;
        const { id } = request.params;
        const b = request.body ?? {};
        const res = await kit.api.post(person, `/cases/${id}/${path}`, act.body(b), b.idempotencyKey || undefined);
        if (res.status === 404) return notFound(kit, request, reply, html);
        const lang = kit.ctx(request, reply).lang;
        const notice: Notice = res.error ? refusal(res) : { kind: 'ok', text: t(lang, act.done, doneParams(res.body)) };
        return backToCase(request, reply, id, notice);
      },
    );
  }

  app.post<{ Params: { id: string }; Body: CaseBody }>(
    '/console/cases/:id/contacts',
    { preHandler: csrf, schema: { hide: true, params: caseParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const { id } = request.params;
      const b = request.body ?? {};
      const contactedAt = b.contactedAt ? fromLocalInput(b.contactedAt) : null;
      const res = await kit.api.post(
        person,
        `/cases/${id}/contacts`,
        {
          method: b.method ?? '',
          contactPerson: b.contactPerson ?? '',
          summary: b.summary ?? '',
          ...(contactedAt ? { contactedAt } : {}),
        },
        b.idempotencyKey,
      );
      if (res.status === 404) return notFound(kit, request, reply, html);
      const lang = kit.ctx(request, reply).lang;
      return backToCase(request, reply, id, res.error ? refusal(res) : { kind: 'ok', text: t(lang, 'contact.done') });
    },
  );

  app.post<{ Params: { id: string }; Body: CaseBody }>(
    '/console/cases/:id/judgements',
    { preHandler: csrf, schema: { hide: true, params: caseParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const { id } = request.params;
      const b = request.body ?? {};
      const act = {
        responseId: b.responseId ?? '',
        decision: b.decision ?? '',
        reason: b.reason ?? '',
        idempotencyKey: b.idempotencyKey ?? '',
      };
      if (act.decision === 'reject') {
        // "Not demonstrated" is signed (GT-4): first a fresh authentication at the person's provider, then the act.
        const visible = await kit.api.get(person, `/cases/${id}`);
        if (visible.status === 404) return notFound(kit, request, reply, html);
        return (
          (await beginStepUp(kit, request, reply, { purpose: REJECT, subjectId: id, act })) ??
          notFound(kit, request, reply, html)
        );
      }
      const res = await judge(kit, person, id, act);
      if (res.status === 404) return notFound(kit, request, reply, html);
      const lang = kit.ctx(request, reply).lang;
      return backToCase(request, reply, id, res.error ? refusal(res) : { kind: 'ok', text: t(lang, 'judge.done') });
    },
  );
}

/** "Not demonstrated" once the step-up came back (GT-4): the judgement as the signer, back on the case page. */
const signedJudgement: SignedAct = {
  page: (id) => `/console/cases/${id}`,
  async perform(kit, signer, stepUp, lang) {
    const res = await judge(kit, signer, stepUp.subjectId, stepUp.act);
    return res.error ? refusal(res) : { kind: 'ok', text: t(lang, 'judge.done') };
  },
};

export const caseRoutes = { register, signed: signedJudgement };
