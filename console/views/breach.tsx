/**
 * GT-11 breach assessments for privacy officers (issue 19): the list with each art. 33 clock, and one assessment
 * with its clock, the facts the API prefilled from the access register (DC-1), the decision form (a plain POST;
 * signed, so it asks for a fresh sign-in first) or the decision taken, and the letter/report downloads.
 */
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { BreachAssessmentSchema } from '../../api/routes/breach.js';
import { t, type Lang, type MessageKey } from '../../lib/messages.js';
import { timeLeft, when } from '../format.js';
import { Csrf, Layout, type PageContext } from './layout.js';
import type { Notice } from './case.js';

export type BreachDto = Static<typeof BreachAssessmentSchema>;

/** What the AP report adds to the page (GET …/ap-report): the case reference, the recipient, the summary. */
export interface BreachReport {
  caseReference: string;
  summary: string;
  recipient: { name: string; gln: string };
}

/** The decision form's values, kept when a refusal shows the form again. */
export type BreachDraft = Partial<
  Record<'notifyAp' | 'informGridUser' | 'apReason' | 'gridUserReason' | 'assessment' | 'delayReason', string>
>;

/** Whether a role may download the letter and the report (the API's roles for those two routes). */
export const mayDownload = (role: string | null | undefined) =>
  role === 'privacy-officer' || role === 'compliance' || role === 'admin';

const NoticeLine = ({ notice }: { notice?: Notice | undefined }) =>
  notice ? (
    <p class={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      {notice.text}
    </p>
  ) : null;

/** The clock as the API states it (running, met, missed) and, while running, the time left in Amsterdam. */
function clockText(a: BreachDto, now: number, lang: Lang): string {
  const state = t(lang, `breach.clock.${a.clock}` as MessageKey);
  return a.decidedAt === null ? `${state}, ${timeLeft(a.dueAt, now, lang)}` : state;
}

export function BreachListPage({ ctx, items, now }: { ctx: PageContext; items: BreachDto[]; now: number }) {
  const { lang } = ctx;
  return (
    <Layout ctx={ctx} title={t(lang, 'breach.listTitle')}>
      <h1 id="breach-title">{t(lang, 'breach.listTitle')}</h1>
      <p>{t(lang, 'breach.listIntro')}</p>
      {items.length === 0 ? (
        <p>{t(lang, 'breach.listEmpty')}</p>
      ) : (
        <table class="breaches" aria-labelledby="breach-title">
          <thead>
            <tr>
              <th scope="col">{t(lang, 'breach.connection')}</th>
              <th scope="col">{t(lang, 'breach.trigger')}</th>
              <th scope="col">{t(lang, 'breach.awareAt')}</th>
              <th scope="col">{t(lang, 'breach.dueAt')}</th>
              <th scope="col">{t(lang, 'breach.clock')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.id} class={a.clock === 'missed' ? 'overdue' : undefined}>
                <th scope="row">
                  <a href={`/console/breach/${a.id}`}>{a.connectionEan}</a>
                </th>
                <td>{t(lang, `breach.trigger.${a.trigger}` as MessageKey)}</td>
                <td>{when(a.awareAt, lang)}</td>
                <td>{when(a.dueAt, lang)}</td>
                <td>{clockText(a, now, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

function Facts({ ctx, a, report }: { ctx: PageContext; a: BreachDto; report?: BreachReport | undefined }) {
  const { lang } = ctx;
  const p = a.prefill;
  return (
    <section aria-labelledby="facts">
      <h2 id="facts">{t(lang, 'breach.facts')}</h2>
      <dl class="facts">
        {report && (
          <>
            <dt>{t(lang, 'breach.recipient')}</dt>
            <dd>{`${report.recipient.name} (GLN ${report.recipient.gln})`}</dd>
            <dt>{t(lang, 'breach.summary')}</dt>
            <dd>{report.summary}</dd>
          </>
        )}
        <dt>{t(lang, 'breach.connection')}</dt>
        <dd>{a.connectionEan}</dd>
        <dt>{t(lang, 'breach.deliveries')}</dt>
        <dd>{p.deliveries}</dd>
        <dt>{t(lang, 'breach.firstDelivered')}</dt>
        <dd>{when(p.firstDeliveredAt, lang)}</dd>
        <dt>{t(lang, 'breach.lastDelivered')}</dt>
        <dd>{when(p.lastDeliveredAt, lang)}</dd>
        <dt>{t(lang, 'breach.dataKinds')}</dt>
        <dd>{p.dataKinds.length ? p.dataKinds.join(', ') : '—'}</dd>
      </dl>
      {p.periods.length > 0 && (
        <table>
          <caption>{t(lang, 'breach.periods')}</caption>
          <thead>
            <tr>
              <th scope="col">{t(lang, 'breach.period.kind')}</th>
              <th scope="col">{t(lang, 'breach.period.from')}</th>
              <th scope="col">{t(lang, 'breach.period.to')}</th>
              <th scope="col">{t(lang, 'breach.deliveries')}</th>
            </tr>
          </thead>
          <tbody>
            {p.periods.map((r, i) => (
              <tr key={i}>
                <th scope="row">{r.dataKind}</th>
                <td>{when(r.from, lang)}</td>
                <td>{when(r.to, lang)}</td>
                <td>{r.deliveries}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function YesNo({ ctx, name, legend, value }: { ctx: PageContext; name: string; legend: string; value?: string }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      <label>
        <input type="radio" name={name} value="true" required checked={value === 'true'} /> {t(ctx.lang, 'breach.yes')}
      </label>
      <label>
        <input type="radio" name={name} value="false" required checked={value === 'false'} /> {t(ctx.lang, 'breach.no')}
      </label>
    </fieldset>
  );
}

function DecisionForm({ ctx, a, now, draft }: { ctx: PageContext; a: BreachDto; now: number; draft: BreachDraft }) {
  const { lang } = ctx;
  // After the 72 hours the API requires the reasons for the delay (GT-11, art. 33(1)).
  const late = a.clock === 'missed' || Date.parse(a.dueAt) < now;
  return (
    <form method="post" action={`/console/breach/${a.id}/decision`} class="card" aria-labelledby="decide">
      <h2 id="decide">{t(lang, 'breach.decision')}</h2>
      <p class="hint">{t(lang, 'breach.stepUp')}</p>
      <Csrf ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      <YesNo ctx={ctx} name="notifyAp" legend={t(lang, 'breach.notifyAp')} value={draft.notifyAp} />
      <label for="ap-reason">{t(lang, 'breach.apReason')}</label>
      <textarea id="ap-reason" name="apReason" rows={2} maxlength={4000}>
        {draft.apReason ?? ''}
      </textarea>
      <YesNo ctx={ctx} name="informGridUser" legend={t(lang, 'breach.informGridUser')} value={draft.informGridUser} />
      <label for="grid-user-reason">{t(lang, 'breach.gridUserReason')}</label>
      <textarea id="grid-user-reason" name="gridUserReason" rows={2} maxlength={4000}>
        {draft.gridUserReason ?? ''}
      </textarea>
      <label for="assessment">{t(lang, 'breach.assessment')}</label>
      <textarea id="assessment" name="assessment" rows={5} required maxlength={20000}>
        {draft.assessment ?? ''}
      </textarea>
      {late && (
        <>
          <label for="delay-reason">{t(lang, 'breach.delayReason')}</label>
          <textarea id="delay-reason" name="delayReason" rows={2} required maxlength={4000}>
            {draft.delayReason ?? ''}
          </textarea>
        </>
      )}
      <button type="submit">{t(lang, 'breach.submit')}</button>
    </form>
  );
}

function Decided({ ctx, a }: { ctx: PageContext; a: BreachDto }) {
  const { lang } = ctx;
  const yesNo = (v: boolean | null) => (v === null ? '—' : t(lang, v ? 'breach.yes' : 'breach.no'));
  const role = a.decidedByRole ? t(lang, `role.${a.decidedByRole}` as MessageKey) : '—';
  return (
    <section aria-labelledby="decided">
      <h2 id="decided">{t(lang, 'breach.decision')}</h2>
      <p>{t(lang, 'breach.decidedBy', { name: a.decidedByName ?? '—', role, at: when(a.decidedAt, lang) })}</p>
      <dl class="facts">
        <dt>{t(lang, 'breach.notifyAp')}</dt>
        <dd>{a.apReason ? `${yesNo(a.notifyAp)}: ${a.apReason}` : yesNo(a.notifyAp)}</dd>
        <dt>{t(lang, 'breach.informGridUser')}</dt>
        <dd>{a.gridUserReason ? `${yesNo(a.informGridUser)}: ${a.gridUserReason}` : yesNo(a.informGridUser)}</dd>
        <dt>{t(lang, 'breach.assessment')}</dt>
        <dd>{a.assessment}</dd>
        {a.delayReason && (
          <>
            <dt>{t(lang, 'breach.delayReason')}</dt>
            <dd>{a.delayReason}</dd>
          </>
        )}
      </dl>
    </section>
  );
}

export function BreachPage({
  ctx,
  a,
  report,
  now,
  notice,
  draft = {},
}: {
  ctx: PageContext;
  a: BreachDto;
  report?: BreachReport | undefined;
  now: number;
  notice?: Notice | undefined;
  draft?: BreachDraft;
}) {
  const { lang } = ctx;
  const title = t(lang, 'breach.title', { reference: report?.caseReference ?? a.connectionEan });
  return (
    <Layout ctx={ctx} title={title}>
      <h1>{title}</h1>
      <NoticeLine notice={notice} />
      <dl class="facts clock">
        <dt>{t(lang, 'breach.trigger')}</dt>
        <dd>{t(lang, `breach.trigger.${a.trigger}` as MessageKey)}</dd>
        <dt>{t(lang, 'breach.awareAt')}</dt>
        <dd>{when(a.awareAt, lang)}</dd>
        <dt>{t(lang, 'breach.dueAt')}</dt>
        <dd>{when(a.dueAt, lang)}</dd>
        <dt>{t(lang, 'breach.clock')}</dt>
        <dd>{clockText(a, now, lang)}</dd>
      </dl>
      <Facts ctx={ctx} a={a} report={report} />
      {a.decidedAt !== null ? (
        <Decided ctx={ctx} a={a} />
      ) : (
        ctx.person?.role === 'privacy-officer' && <DecisionForm ctx={ctx} a={a} now={now} draft={draft} />
      )}
      {mayDownload(ctx.person?.role) && (
        <section aria-labelledby="downloads">
          <h2 id="downloads">{t(lang, 'breach.downloads')}</h2>
          <ul>
            <li>
              <a href={`/console/breach/${a.id}/grid-user-letter`} download>
                {t(lang, 'breach.letter')}
              </a>
            </li>
            <li>
              <a href={`/console/breach/${a.id}/ap-report`} download>
                {t(lang, 'breach.apReport')}
              </a>
            </li>
          </ul>
        </section>
      )}
    </Layout>
  );
}
