/**
 * The case page (issue 19): status, deadlines with time left, block, the party's responses with their evidence to
 * open and the judgement form, recording a contact, the other actions (case-actions.tsx), notes and the timeline.
 * Every form is a plain POST that works without JavaScript; the note form also posts with htmx and swaps the
 * activity section only.
 */
import { randomUUID } from 'node:crypto';
import type { CaseDetailDto } from '../../api/schemas/cases.js';
import { t, type Lang, type MessageKey } from '../../lib/messages.js';
import { timeLeft, when } from '../format.js';
import { CaseActions, EvidenceCell } from './case-actions.js';
import { Csrf, Layout, type PageContext } from './layout.js';

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

const NoticeLine = ({ notice }: { notice?: Notice | undefined }) =>
  notice ? (
    <p class={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      {notice.text}
    </p>
  ) : null;

function Deadlines({ c, lang, now }: { c: CaseDetailDto; lang: Lang; now: number }) {
  return (
    <section aria-labelledby="deadlines">
      <h2 id="deadlines">{t(lang, 'case.deadlines')}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t(lang, 'case.deadline')}</th>
            <th scope="col">{t(lang, 'case.due')}</th>
            <th scope="col">{t(lang, 'case.state')}</th>
            <th scope="col">{t(lang, 'queue.timeLeft')}</th>
          </tr>
        </thead>
        <tbody>
          {(['contact', 'response', 'unblock'] as const).map((k) => {
            const d = c.deadlines[k];
            return (
              <tr key={k}>
                <th scope="row">{t(lang, `deadline.${k}`)}</th>
                <td>{when(d.dueAt, lang)}</td>
                <td>{t(lang, `deadline.state.${d.state}` as MessageKey)}</td>
                <td>{d.state === 'pending' ? timeLeft(d.dueAt, now, lang) : when(d.doneAt, lang)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function JudgeForm({ ctx, c, responseId }: { ctx: PageContext; c: CaseDetailDto; responseId: string }) {
  const { lang } = ctx;
  const id = `judge-${responseId}`;
  return (
    <form method="post" action={`/console/cases/${c.id}/judgements`} class="card" aria-labelledby={id}>
      <h4 id={id}>{t(lang, 'judge.title')}</h4>
      <Csrf ctx={ctx} />
      <input type="hidden" name="responseId" value={responseId} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      <fieldset>
        <legend>{t(lang, 'judge.decision')}</legend>
        <label>
          <input type="radio" name="decision" value="accept" required /> {t(lang, 'judge.accept')}
        </label>
        <label>
          <input type="radio" name="decision" value="reject" required /> {t(lang, 'judge.reject')}
        </label>
      </fieldset>
      <label for={`${id}-reason`}>{t(lang, 'judge.reason')}</label>
      <textarea id={`${id}-reason`} name="reason" rows={3} maxlength={5000}></textarea>
      <button type="submit">{t(lang, 'judge.submit')}</button>
    </form>
  );
}

function Responses({ ctx, c }: { ctx: PageContext; c: CaseDetailDto }) {
  const { lang } = ctx;
  const mayJudge = ctx.person?.role === 'case-handler';
  return (
    <section aria-labelledby="responses">
      <h2 id="responses">{t(lang, 'case.responses')}</h2>
      {c.responses.length === 0 && <p>{t(lang, 'case.noResponses')}</p>}
      {c.responses.map((r) => (
        <article key={r.id} class="response">
          <h3>{when(r.submittedAt, lang)}</h3>
          <dl>
            <dt>{t(lang, 'case.findings')}</dt>
            <dd>{r.findings}</dd>
            <dt>{t(lang, 'case.evidence')}</dt>
            <dd>
              <EvidenceCell ctx={ctx} c={c} r={r} />
            </dd>
            <dt>{t(lang, 'case.judgement')}</dt>
            <dd>
              {r.judgement
                ? `${r.judgement} — ${r.judgedByName ?? ''} ${when(r.judgedAt, lang)}${r.judgementReason ? `: ${r.judgementReason}` : ''}`
                : '—'}
            </dd>
          </dl>
          {mayJudge && r.status === 'received' && r.judgement === null && (
            <JudgeForm ctx={ctx} c={c} responseId={r.id} />
          )}
        </article>
      ))}
    </section>
  );
}

function ContactForm({ ctx, c }: { ctx: PageContext; c: CaseDetailDto }) {
  const { lang } = ctx;
  return (
    <section aria-labelledby="contact">
      <h2 id="contact">{t(lang, 'contact.title')}</h2>
      <form method="post" action={`/console/cases/${c.id}/contacts`} class="card">
        <Csrf ctx={ctx} />
        <input type="hidden" name="idempotencyKey" value={randomUUID()} />
        <label for="contact-method">{t(lang, 'contact.method')}</label>
        <select id="contact-method" name="method" required>
          {(['telephone', 'meeting', 'letter'] as const).map((m) => (
            <option key={m} value={m}>
              {t(lang, `contact.method.${m}`)}
            </option>
          ))}
        </select>
        <label for="contact-at">{t(lang, 'contact.at')}</label>
        <input id="contact-at" name="contactedAt" type="datetime-local" />
        <label for="contact-person">{t(lang, 'contact.with')}</label>
        <input id="contact-person" name="contactPerson" required maxlength={500} />
        <label for="contact-summary">{t(lang, 'contact.notes')}</label>
        <textarea id="contact-summary" name="summary" rows={3} required maxlength={5000}></textarea>
        <button type="submit">{t(lang, 'contact.submit')}</button>
      </form>
    </section>
  );
}

/** Note form and timeline: the part the note's htmx post swaps. */
export function Activity({ ctx, c, notice }: { ctx: PageContext; c: CaseDetailDto; notice?: Notice | undefined }) {
  const { lang } = ctx;
  const timeline = [...c.timeline].reverse();
  return (
    <section id="activity" aria-labelledby="timeline">
      {ctx.person?.role === 'case-handler' && (
        <form
          method="post"
          action={`/console/cases/${c.id}/notes`}
          hx-post={`/console/cases/${c.id}/notes`}
          hx-target="#activity"
          hx-swap="outerHTML"
          class="card"
        >
          <Csrf ctx={ctx} />
          <input type="hidden" name="idempotencyKey" value={randomUUID()} />
          <label for="note-text">{t(lang, 'note.label')}</label>
          <textarea id="note-text" name="text" rows={3} required maxlength={10000}></textarea>
          <button type="submit">{t(lang, 'note.submit')}</button>
        </form>
      )}
      <NoticeLine notice={notice} />
      <h2 id="timeline">{t(lang, 'case.timeline')}</h2>
      <ol class="timeline">
        {timeline.map((e, i) => (
          <li key={i}>
            <time dateTime={e.at}>{when(e.at, lang)}</time> <code>{e.action}</code>
            {e.actorRole ? ` (${e.actorRole})` : ''}
            {typeof e.data?.['text'] === 'string' && <blockquote>{e.data['text']}</blockquote>}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function CasePage({
  ctx,
  c,
  now,
  notice,
}: {
  ctx: PageContext;
  c: CaseDetailDto;
  now: number;
  notice?: Notice | undefined;
}) {
  const { lang } = ctx;
  const blockInForce = c.deadlines.unblock.doneAt === null;
  return (
    <Layout ctx={ctx} title={t(lang, 'case.title', { reference: c.reference })}>
      <h1>{t(lang, 'case.title', { reference: c.reference })}</h1>
      <NoticeLine notice={notice} />
      <dl class="facts">
        <dt>{t(lang, 'case.status')}</dt>
        <dd>{t(lang, `status.${c.status}` as MessageKey)}</dd>
        <dt>{t(lang, 'case.party')}</dt>
        <dd>{c.party.name}</dd>
        <dt>{t(lang, 'case.connection')}</dt>
        <dd>{c.connectionEan}</dd>
        <dt>{t(lang, 'case.received')}</dt>
        <dd>{when(c.receivedAt, lang)}</dd>
        <dt>{t(lang, 'case.channel')}</dt>
        <dd>{c.channel}</dd>
        <dt>{t(lang, 'case.block')}</dt>
        <dd>{t(lang, blockInForce ? 'case.blockInForce' : 'case.blockLifted')}</dd>
        {c.description !== undefined && (
          <>
            <dt>{t(lang, 'case.description')}</dt>
            <dd>{c.description}</dd>
          </>
        )}
      </dl>
      <Deadlines c={c} lang={lang} now={now} />
      <Responses ctx={ctx} c={c} />
      {ctx.person?.role === 'case-handler' && c.deadlines.contact.doneAt === null && c.closedAt === null && (
        <ContactForm ctx={ctx} c={c} />
      )}
      <CaseActions ctx={ctx} c={c} now={now} />
      <Activity ctx={ctx} c={c} />
    </Layout>
  );
}
