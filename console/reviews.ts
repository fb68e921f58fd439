/**
 * The console's GT-5 review pages (issue 19): the list of proposals, one review, and the people's signed acts —
 * the grid operator's vote, the party's commitment, the ACM decision. Each act is signed (the API's signerOf
 * wants a sign-in younger than 5 minutes: 403 step_up_required), so, as the "not demonstrated" judgement in
 * cases.ts, the console first sends the person to their provider for a fresh authentication and performs the act
 * when they come back. What may be done, by whom, and when is the API's (api/routes/reviews.ts); this renders it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { t, type MessageKey } from '../lib/messages.js';
import type { ApiAnswer, Person } from './api.js';
import type { ConsoleKit } from './index.js';
import { beginStepUp, type SignedAct } from './step-up.js';
import type { Notice } from './views/case.js';
import { page } from './views/layout.js';
import { MessagePage } from './views/pages.js';
import { ReviewListPage, ReviewPage, type ReviewDto, type ReviewSummaryDto } from './views/review.js';

type Html = (reply: FastifyReply, body: string, status?: number) => FastifyReply;

const LIST_LIMIT = 100;
const UUID = '^[0-9a-fA-F-]{36}$';
const reviewParams = { type: 'object', properties: { id: { type: 'string', pattern: UUID } }, required: ['id'] };

/** The signed acts: the purpose recorded with the step-up (person.stepped_up), the API call, what it answers. */
const ACTS = {
  votes: { purpose: 'review.vote', done: 'review.voted' },
  commitment: { purpose: 'review.commitment', done: 'review.commitment.done' },
  decision: { purpose: 'review.decision', done: 'review.decision.done' },
} as const satisfies Record<string, { purpose: string; done: MessageKey }>;
type Act = keyof typeof ACTS;
const PURPOSES = new Map<string, Act>(Object.entries(ACTS).map(([act, a]) => [a.purpose, act as Act]));

/** Whether a step-up came back for one of these acts (sign-in.ts sends it here). */
export const isReviewStepUp = (purpose: string): boolean => PURPOSES.has(purpose);

const refusal = (a: ApiAnswer): Notice => ({
  kind: 'error',
  text: `${a.error?.message ?? `HTTP ${a.status}`}${a.error?.field ? ` (${a.error.field})` : ''}`,
});

function notFound(kit: ConsoleKit, request: FastifyRequest, reply: FastifyReply, html: Html) {
  const ctx = kit.ctx(request, reply);
  return html(
    reply,
    page(MessagePage({ ctx, title: t(ctx.lang, 'error.title'), text: t(ctx.lang, 'review.notFound') })),
    404,
  );
}

/** The form's fields as the API's body (the API validates them: a missing reason is its 400, shown as such). */
function perform(kit: ConsoleKit, person: Person, id: string, act: Act, f: Record<string, string>) {
  const key = f['idempotencyKey'] || undefined;
  switch (act) {
    case 'votes':
      return kit.api.post(
        person,
        `/reviews/${id}/votes`,
        // Neither box ticked: no `agree`, so the API refuses it (400, body.agree) rather than the console guessing.
        {
          ...(f['agree'] === 'true' || f['agree'] === 'false' ? { agree: f['agree'] === 'true' } : {}),
          reason: f['reason'] ?? '',
        },
        key,
      );
    case 'commitment':
      return kit.api.put(person, `/reviews/${id}/commitment`, { commitment: f['commitment'] ?? '' }, key);
    case 'decision':
      return kit.api.post(
        person,
        `/reviews/${id}/decision`,
        { decision: f['decision'] ?? '', reason: f['reason'] ?? '' },
        key,
      );
  }
}

// long: one route per page or act, each a few lines over the API
function register(app: FastifyInstance, kit: ConsoleKit, { html }: { html: Html }) {
  app.get('/console/reviews', { schema: { hide: true } }, async (request, reply) => {
    const person = kit.personOf(request, reply);
    if (!person) return reply;
    const res = await kit.api.get<{ items: ReviewSummaryDto[] }>(person, `/reviews?limit=${LIST_LIMIT}`);
    if (res.error) throw Object.assign(new Error(res.error.message), { statusCode: res.status });
    const ctx = kit.ctx(request, reply);
    return html(reply, page(ReviewListPage({ ctx, items: res.body.items })));
  });

  app.get<{ Params: { id: string } }>(
    '/console/reviews/:id',
    { schema: { hide: true, params: reviewParams } },
    async (request, reply) => {
      const person = kit.personOf(request, reply);
      if (!person) return reply;
      const res = await kit.api.get<ReviewDto>(person, `/reviews/${request.params.id}`);
      if (res.status === 404) return notFound(kit, request, reply, html);
      if (res.error) throw Object.assign(new Error(res.error.message), { statusCode: res.status });
      const flash = request.session.get('flash');
      if (flash) request.session.set('flash', undefined);
      const ctx = kit.ctx(request, reply);
      return html(reply, page(ReviewPage({ ctx, r: res.body, gridOperatorId: person.gridOperatorId, notice: flash })));
    },
  );

  for (const act of Object.keys(ACTS) as Act[]) {
    app.post<{ Params: { id: string }; Body: Record<string, string> }>(
      `/console/reviews/:id/${act}`,
      { preHandler: app.csrfProtection, schema: { hide: true, params: reviewParams } },
      async (request, reply) => {
        const person = kit.personOf(request, reply);
        if (!person) return reply;
        const { id } = request.params;
        // Visible first (another grid operator's review: 404, no trip to the provider).
        const visible = await kit.api.get(person, `/reviews/${id}`);
        if (visible.status === 404) return notFound(kit, request, reply, html);
        const b = request.body ?? {};
        const fields: Record<string, string> = {};
        for (const k of ['agree', 'reason', 'commitment', 'decision', 'idempotencyKey'])
          if (typeof b[k] === 'string') fields[k] = b[k];
        // GT-5 acts are signed: a fresh authentication at the person's provider, then the act (completeStepUp).
        return (
          (await beginStepUp(kit, request, reply, { purpose: ACTS[act].purpose, subjectId: id, act: fields })) ??
          notFound(kit, request, reply, html)
        );
      },
    );
  }
}

/** A GT-5 act once the step-up came back: done as the signer (its purpose names which), back on the review. */
const signedReviewAct: SignedAct = {
  page: (id) => `/console/reviews/${id}`,
  async perform(kit, signer, stepUp, lang) {
    const act = PURPOSES.get(stepUp.purpose)!;
    const res = await perform(kit, signer, stepUp.subjectId, act, stepUp.act);
    return res.error ? refusal(res) : { kind: 'ok', text: t(lang, ACTS[act].done) };
  },
};

export const reviewRoutes = { register, signed: signedReviewAct };
