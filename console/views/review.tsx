/**
 * GT-5 review pages (issue 19): the list of proposals and one review — the signal cases it cites, the electorate
 * and its votes, the party's commitment, the signed ACM decision, the history. Every form is a plain POST that
 * works without JavaScript; each signs (api/plugins/core-access.ts signerOf), so the console first asks for a fresh
 * authentication (console/reviews.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { ReviewSchema, ReviewSummarySchema } from '../../api/schemas/reviews.js';
import { isMessageKey, t, type Lang, type MessageKey } from '../../lib/messages.js';
import { when } from '../format.js';
import type { Notice } from './case.js';
import { Csrf, Layout, type PageContext } from './layout.js';

export type ReviewSummaryDto = Static<typeof ReviewSummarySchema>;
export type ReviewDto = Static<typeof ReviewSchema>;

const statusText = (lang: Lang, status: string) => {
  const key = `reviewStatus.${status}`;
  return isMessageKey(key) ? t(lang, key) : status;
};

/** A signer's role in the reader's language (role.<role>), or as recorded. */
const roleText = (lang: Lang, role: string | null) => {
  const key = `role.${role ?? ''}`;
  return isMessageKey(key) ? t(lang, key) : (role ?? '');
};

const NoticeLine = ({ notice }: { notice?: Notice | undefined }) =>
  notice ? (
    <p class={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      {notice.text}
    </p>
  ) : null;

export function ReviewListPage({ ctx, items }: { ctx: PageContext; items: ReviewSummaryDto[] }) {
  const { lang } = ctx;
  return (
    <Layout ctx={ctx} title={t(lang, 'reviews.title')}>
      <h1>{t(lang, 'reviews.title')}</h1>
      <p>{t(lang, 'reviews.intro')}</p>
      {items.length === 0 ? (
        <p>{t(lang, 'reviews.empty')}</p>
      ) : (
        <table class="reviews">
          <thead>
            <tr>
              <th scope="col">{t(lang, 'review.party')}</th>
              <th scope="col">{t(lang, 'review.status')}</th>
              <th scope="col">{t(lang, 'review.opened')}</th>
              <th scope="col">{t(lang, 'review.signalsAtOpen')}</th>
              <th scope="col">{t(lang, 'review.votingUntil')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  <a href={`/console/reviews/${r.id}`}>{`${r.party.name} (${r.party.gln})`}</a>
                </th>
                <td>{statusText(lang, r.status)}</td>
                <td>{when(r.openedAt, lang)}</td>
                <td>{r.signalsAtOpen}</td>
                <td>{r.status === 'proposed' ? when(r.votingUntil, lang) : t(lang, 'time.none')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

function Facts({ r, lang }: { r: ReviewDto; lang: Lang }) {
  return (
    <dl class="facts">
      <dt>{t(lang, 'review.status')}</dt>
      <dd>{statusText(lang, r.status)}</dd>
      <dt>{t(lang, 'review.party')}</dt>
      <dd>{`${r.party.name} (${r.party.gln})`}</dd>
      <dt>{t(lang, 'review.opened')}</dt>
      <dd>{when(r.openedAt, lang)}</dd>
      <dt>{t(lang, 'review.signalsAtOpen')}</dt>
      <dd>{`${r.signalsAtOpen} (${t(lang, 'review.window')}: ${t(lang, 'review.days', { days: r.windowDays })})`}</dd>
      <dt>{t(lang, 'review.rule')}</dt>
      <dd>{t(lang, `review.rule.${r.agreementRule}`)}</dd>
      {r.status === 'proposed' && (
        <>
          <dt>{t(lang, 'review.votingUntil')}</dt>
          <dd>{when(r.votingUntil, lang)}</dd>
        </>
      )}
      {r.followUpFrom && (
        <>
          <dt>{t(lang, 'review.followUp')}</dt>
          <dd>{`${when(r.followUpFrom, lang)} – ${when(r.followUpUntil, lang)}`}</dd>
        </>
      )}
      {r.signalsAfterFollowUp !== null && (
        <>
          <dt>{t(lang, 'review.signalsAfter')}</dt>
          <dd>{r.signalsAfterFollowUp}</dd>
        </>
      )}
    </dl>
  );
}

/** The signals the proposal cites; a case of the person's own grid operator links to its page (others: 404). */
function Signals({ r, lang, gridOperatorId }: { r: ReviewDto; lang: Lang; gridOperatorId: string }) {
  return (
    <section aria-labelledby="signals">
      <h2 id="signals">{t(lang, 'review.signals')}</h2>
      <table class="signals">
        <thead>
          <tr>
            <th scope="col">{t(lang, 'review.signal.reference')}</th>
            <th scope="col">{t(lang, 'review.signal.operator')}</th>
            <th scope="col">{t(lang, 'review.signal.received')}</th>
            <th scope="col">{t(lang, 'review.signal.class')}</th>
            <th scope="col">{t(lang, 'review.signal.status')}</th>
          </tr>
        </thead>
        <tbody>
          {r.signals.map((s) => {
            const label = s.kind === 'case' ? (s.reference ?? s.id) : t(lang, 'review.signal.report');
            const status =
              s.status && isMessageKey(`status.${s.status}`) ? t(lang, `status.${s.status}` as MessageKey) : s.status;
            return (
              <tr key={s.id}>
                <th scope="row">
                  {s.kind === 'case' && s.gridOperator.id === gridOperatorId ? (
                    <a href={`/console/cases/${s.id}`}>{label}</a>
                  ) : (
                    label
                  )}
                </th>
                <td>{s.gridOperator.name}</td>
                <td>{when(s.receivedAt, lang)}</td>
                <td>{s.signalClass ?? t(lang, 'time.none')}</td>
                <td>{status ?? t(lang, 'time.none')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h3>{t(lang, 'review.similar')}</h3>
      <ul>
        {Object.entries(r.similarSignals).map(([k, n]) => (
          <li key={k}>{`${k}: ${n}`}</li>
        ))}
      </ul>
    </section>
  );
}

function Votes({ r, lang }: { r: ReviewDto; lang: Lang }) {
  return (
    <section aria-labelledby="electorate">
      <h2 id="electorate">{t(lang, 'review.electorate')}</h2>
      <table class="votes">
        <thead>
          <tr>
            <th scope="col">{t(lang, 'review.signal.operator')}</th>
            <th scope="col">{t(lang, 'review.vote')}</th>
            <th scope="col">{t(lang, 'review.vote.reason')}</th>
            <th scope="col">{t(lang, 'review.vote.by')}</th>
            <th scope="col">{t(lang, 'review.vote.at')}</th>
          </tr>
        </thead>
        <tbody>
          {r.electorate.map((o) => {
            const v = r.votes.find((x) => x.gridOperator.id === o.id);
            return (
              <tr key={o.id}>
                <th scope="row">{o.name}</th>
                <td>{t(lang, v ? (v.agree ? 'review.vote.agree' : 'review.vote.disagree') : 'review.vote.none')}</td>
                <td>{v?.reason ?? ''}</td>
                <td>{v ? `${v.votedByName}${v.votedByRole ? ` (${roleText(lang, v.votedByRole)})` : ''}` : ''}</td>
                <td>{v ? when(v.votedAt, lang) : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function VoteForm({ ctx, r, operator }: { ctx: PageContext; r: ReviewDto; operator: string }) {
  const { lang } = ctx;
  return (
    <form method="post" action={`/console/reviews/${r.id}/votes`} class="card" aria-labelledby="vote-title">
      <h3 id="vote-title">{t(lang, 'review.voteForm', { operator })}</h3>
      <Csrf ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      <fieldset>
        <legend>{t(lang, 'review.vote')}</legend>
        <label>
          <input type="radio" name="agree" value="true" required /> {t(lang, 'review.voteForm.agree')}
        </label>
        <label>
          <input type="radio" name="agree" value="false" required /> {t(lang, 'review.voteForm.disagree')}
        </label>
      </fieldset>
      <label for="vote-reason">{t(lang, 'review.vote.reason')}</label>
      <textarea id="vote-reason" name="reason" rows={3} required maxlength={2000}></textarea>
      <p class="hint">{t(lang, 'review.stepUp')}</p>
      <button type="submit">{t(lang, 'review.voteForm.submit')}</button>
    </form>
  );
}

function Commitment({ ctx, r, mayAct }: { ctx: PageContext; r: ReviewDto; mayAct: boolean }) {
  const { lang } = ctx;
  const open = r.commitment === null && (r.status === 'contacting' || r.status === 'follow_up');
  return (
    <section aria-labelledby="commitment">
      <h2 id="commitment">{t(lang, 'review.commitment')}</h2>
      {r.commitment === null ? (
        <p>{t(lang, 'review.commitment.none')}</p>
      ) : (
        <>
          <blockquote>{r.commitment}</blockquote>
          <p>
            {t(lang, 'review.commitment.recorded', {
              at: when(r.commitmentRecordedAt, lang),
              by: r.commitmentRecordedBy ?? '',
            })}
          </p>
        </>
      )}
      {mayAct && open && (
        <form method="post" action={`/console/reviews/${r.id}/commitment`} class="card">
          <Csrf ctx={ctx} />
          <input type="hidden" name="idempotencyKey" value={randomUUID()} />
          <label for="commitment-text">{t(lang, 'review.commitment.label')}</label>
          <textarea id="commitment-text" name="commitment" rows={3} required maxlength={5000}></textarea>
          <p class="hint">{t(lang, 'review.stepUp')}</p>
          <button type="submit">{t(lang, 'review.commitment.submit')}</button>
        </form>
      )}
    </section>
  );
}

function Decision({ ctx, r, mayAct }: { ctx: PageContext; r: ReviewDto; mayAct: boolean }) {
  const { lang } = ctx;
  return (
    <section aria-labelledby="decision">
      <h2 id="decision">{t(lang, 'review.decision')}</h2>
      {r.decision === null ? (
        <p>{t(lang, 'review.decision.none')}</p>
      ) : (
        <>
          <p class="decision">{`${t(lang, `review.decision.${r.decision}`)}: ${r.decisionReason ?? ''}`}</p>
          <p>
            {t(lang, 'review.decision.signed', {
              name: r.decidedByName ?? '',
              role: roleText(lang, r.decidedByRole),
              at: when(r.decidedAt, lang),
            })}
          </p>
        </>
      )}
      {mayAct && r.decision === null && r.status === 'awaiting_decision' && (
        <form method="post" action={`/console/reviews/${r.id}/decision`} class="card">
          <Csrf ctx={ctx} />
          <input type="hidden" name="idempotencyKey" value={randomUUID()} />
          <fieldset>
            <legend>{t(lang, 'review.decision.label')}</legend>
            <label>
              <input type="radio" name="decision" value="report" required /> {t(lang, 'review.decision.report')}
            </label>
            <label>
              <input type="radio" name="decision" value="do_not_report" required />{' '}
              {t(lang, 'review.decision.do_not_report')}
            </label>
          </fieldset>
          <label for="decision-reason">{t(lang, 'review.decision.reason')}</label>
          <textarea id="decision-reason" name="reason" rows={3} required maxlength={5000}></textarea>
          <p class="hint">{t(lang, 'review.stepUp')}</p>
          <button type="submit">{t(lang, 'review.decision.submit')}</button>
        </form>
      )}
    </section>
  );
}

export function ReviewPage({
  ctx,
  r,
  gridOperatorId,
  notice,
}: {
  ctx: PageContext;
  r: ReviewDto;
  gridOperatorId: string;
  notice?: Notice | undefined;
}) {
  const { lang } = ctx;
  // GT-5: the case handlers of the electorate's grid operators sign; compliance and admin read.
  const mayAct = ctx.person?.role === 'case-handler' && r.electorate.some((o) => o.id === gridOperatorId);
  const mine = r.electorate.find((o) => o.id === gridOperatorId);
  const voted = r.votes.some((v) => v.gridOperator.id === gridOperatorId);
  const title = t(lang, 'review.title', { party: r.party.name });
  return (
    <Layout ctx={ctx} title={title}>
      <h1>{title}</h1>
      <NoticeLine notice={notice} />
      <Facts r={r} lang={lang} />
      <Signals r={r} lang={lang} gridOperatorId={gridOperatorId} />
      <Votes r={r} lang={lang} />
      {mayAct && mine && !voted && r.status === 'proposed' && <VoteForm ctx={ctx} r={r} operator={mine.name} />}
      <Commitment ctx={ctx} r={r} mayAct={mayAct} />
      <Decision ctx={ctx} r={r} mayAct={mayAct} />
      <section aria-labelledby="history">
        <h2 id="history">{t(lang, 'review.history')}</h2>
        <ol class="timeline">
          {[...r.history].reverse().map((e, i) => (
            <li key={i}>
              <time dateTime={e.at}>{when(e.at, lang)}</time> <code>{e.action}</code>
              {e.actorRole ? ` (${e.actorRole})` : ''}
            </li>
          ))}
        </ol>
      </section>
    </Layout>
  );
}
