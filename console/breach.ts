/**
 * The console's GT-11 pages (issue 19): the breach assessments of the person's grid operator, one assessment with
 * its art. 33 clock, prefill and decision form, the decision (signed: a fresh sign-in first, as the judgement "not
 * demonstrated" in ./cases.ts), and the grid-user letter and AP report streamed through from the API. Every read
 * and write is an API route called as the person (api/routes/breach.ts); the API decides visibility, validity and
 * the signature (signerOf: 403 step_up_required without a fresh authentication).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decisionProblems } from '../domain/breach.js';
import { t } from '../lib/messages.js';
import { refusalText, streamThrough, type ApiAnswer, type Person } from './api.js';
import type { ConsoleKit } from './index.js';
import { beginStepUp, type SignedAct } from './step-up.js';
import {
  BreachListPage,
  BreachPage,
  mayDownload,
  type BreachDraft,
  type BreachDto,
  type BreachReport,
} from './views/breach.js';
import type { Notice } from './views/case.js';
import { page } from './views/layout.js';
import { MessagePage } from './views/pages.js';

type Html = (reply: FastifyReply, body: string, status?: number) => FastifyReply;

/** The step-up's purpose, recorded with it (person.stepped_up) and naming the act to do after the callback. */
export const BREACH_DECIDE = 'breach.decision';
/** The API's maximum page: the list shows the newest 500. */
const LIST_LIMIT = 500;
const UUID = '^[0-9a-fA-F-]{36}$';
const idParams = { type: 'object', properties: { id: { type: 'string', pattern: UUID } }, required: ['id'] };
const DRAFT_FIELDS = ['notifyAp', 'informGridUser', 'apReason', 'gridUserReason', 'assessment', 'delayReason'] as const;

type DecisionBody = BreachDraft & { idempotencyKey?: string };

const refusal = (a: { status: number; error?: ApiAnswer['error'] | undefined }): Notice => ({
  kind: 'error',
  text: refusalText(a),
});

function notFound(kit: ConsoleKit, request: FastifyRequest, reply: FastifyReply, html: Html) {
  const ctx = kit.ctx(request, reply);
  return html(
    reply,
    page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text: t(ctx.lang, 'breach.notFound') })),
    404,
  );
}

/** The form's strings as the API's body: yes/no as booleans, empty reasons left out. */
function decisionBody(d: BreachDraft) {
  const text = (v: string | undefined) => (v?.trim() ? { value: v.trim() } : undefined);
  const yes = (v: string | undefined) => (v === 'true' ? true : v === 'false' ? false : undefined);
  const body: Record<string, string | boolean | undefined> = {
    notifyAp: yes(d.notifyAp),
    informGridUser: yes(d.informGridUser),
    assessment: d.assessment?.trim() ?? '',
    apReason: text(d.apReason)?.value,
    gridUserReason: text(d.gridUserReason)?.value,
    delayReason: text(d.delayReason)?.value,
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

async function showAssessment(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  html: Html,
  person: Person,
  id: string,
  opts: { notice?: Notice; draft?: BreachDraft; status?: number } = {},
) {
  const res = await kit.api.get<BreachDto>(person, `/breach-assessments/${id}`);
  if (res.status === 404) return notFound(kit, request, reply, html);
  if (res.error) throw Object.assign(new Error(res.error.message), { statusCode: res.status });
  // The AP report's draft names the case and the recipient (only for the roles that may read it).
  let report: BreachReport | undefined;
  if (mayDownload(person.role)) {
    const r = await kit.api.get<BreachReport>(person, `/breach-assessments/${id}/ap-report`);
    if (!r.error) report = r.body;
  }
  const flash = request.session.get('flash');
  if (flash) request.session.set('flash', undefined);
  const ctx = kit.ctx(request, reply);
  const notice = opts.notice ?? flash;
  return html(
    reply,
    page(
      BreachPage({ ctx, a: res.body, report, now: Date.now(), notice, ...(opts.draft ? { draft: opts.draft } : {}) }),
    ),
    opts.status ?? 200,
  );
}

/** An API answer streamed on to the browser with its type and disposition (the letter gets one: it has none). */
function streamDownload(
  kit: ConsoleKit,
  request: FastifyRequest,
  reply: FastifyReply,
  html: Html,
  person: Person,
  url: string,
  accept: string,
  filename?: string,
) {
  return streamThrough(kit.api, person, reply, url, accept, {
    pass: ['content-type', 'content-disposition'],
    set: {
      'x-content-type-options': 'nosniff',
      ...(filename ? { 'content-disposition': `attachment; filename="${filename}"` } : {}),
    },
    refused: (res) => {
      if (res.status === 404) return notFound(kit, request, reply, html);
      const ctx = kit.ctx(request, reply);
      return html(
        reply,
        page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text: refusal(res).text })),
        res.status,
      );
    },
  });
}

// long: one route per page or action, each a few lines over the API
function register(app: FastifyInstance, kit: ConsoleKit, { html }: { html: Html }) {
  app.get('/console/breach', { schema: { hide: true } }, async (request, reply) => {
    const person = kit.personOf(request, reply);
    if (!person) return reply;
    const res = await kit.api.get<{ items: BreachDto[] }>(person, `/breach-assessments?limit=${LIST_LIMIT}`);
    if (res.error) throw Object.assign(new Error(res.error.message), { statusCode: res.status });
    const ctx = kit.ctx(request, reply);
    return html(reply, page(BreachListPage({ ctx, items: res.body.items, now: Date.now() })));
  });

  app.get<{ Params: { id: string } }>(
    '/console/breach/:id',
    { schema: { hide: true, params: idParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      return showAssessment(kit, request, reply, html, person, request.params.id);
    },
  );

  app.post<{ Params: { id: string }; Body: DecisionBody }>(
    '/console/breach/:id/decision',
    { preHandler: app.csrfProtection, schema: { hide: true, params: idParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const { id } = request.params;
      const b = request.body ?? {};
      const draft: BreachDraft = Object.fromEntries(DRAFT_FIELDS.flatMap((k) => (b[k] ? [[k, b[k]]] : [])));
      const a = await kit.api.get<BreachDto>(person, `/breach-assessments/${id}`);
      if (a.status === 404) return notFound(kit, request, reply, html);
      if (a.error) throw Object.assign(new Error(a.error.message), { statusCode: a.status });
      // Before asking the person to sign in again: the decision's completeness (domain/breach.ts, the API's own
      // rule), so an incomplete form comes back with its text rather than after a needless sign-in.
      const body = decisionBody(draft);
      const late = a.body.clock === 'missed' || Date.parse(a.body.dueAt) < Date.now();
      const problems =
        typeof body['notifyAp'] !== 'boolean' || typeof body['informGridUser'] !== 'boolean'
          ? [{ field: 'notifyAp', message: 'Choose yes or no for both questions' }]
          : decisionProblems(body as unknown as Parameters<typeof decisionProblems>[0], late);
      if (problems.length > 0) {
        const notice = refusal({
          status: 400,
          error: { code: 'invalid', message: problems[0]!.message, field: `body.${problems[0]!.field}` },
        });
        return showAssessment(kit, request, reply, html, person, id, { notice, draft, status: 400 });
      }
      // GT-11's decision is signed (signerOf): a fresh authentication at the person's provider, then the act.
      const act = { ...draft, idempotencyKey: b.idempotencyKey ?? '' };
      return (
        (await beginStepUp(kit, request, reply, { purpose: BREACH_DECIDE, subjectId: id, act })) ??
        notFound(kit, request, reply, html)
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/console/breach/:id/grid-user-letter',
    { schema: { hide: true, params: idParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const { id } = request.params;
      const url = `/breach-assessments/${id}/grid-user-letter`;
      return streamDownload(kit, request, reply, html, person, url, 'text/plain', `brief-netgebruiker-${id}.txt`);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/console/breach/:id/ap-report',
    { schema: { hide: true, params: idParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const url = `/breach-assessments/${request.params.id}/ap-report`;
      return streamDownload(kit, request, reply, html, person, url, 'application/json');
    },
  );
}

/** The GT-11 decision once the step-up came back: posted as the signer, back on the assessment's page. */
const signedDecision: SignedAct = {
  page: (id) => `/console/breach/${id}`,
  async perform(kit, signer, stepUp, lang) {
    const { idempotencyKey, ...draft } = stepUp.act;
    const res = await kit.api.post(
      signer,
      `/breach-assessments/${stepUp.subjectId}/decision`,
      decisionBody(draft),
      idempotencyKey || undefined,
    );
    return res.status === 404 || res.error ? refusal(res) : { kind: 'ok', text: t(lang, 'breach.done') };
  },
};

export const breachRoutes = { register, signed: signedDecision };
