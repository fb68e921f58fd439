/** The work queue (issue 19): open cases, the deadline that expires first on top (Camunda Tasklist's default). */
import type { CaseSummaryDto } from '../../api/schemas/cases.js';
import { t, type MessageKey } from '../../lib/messages.js';
import { timeLeft, when } from '../format.js';
import { Layout, type PageContext } from './layout.js';

/** The case's first pending deadline (contact, response or unblock), or for evidence to judge its 72 hours; or null. */
export function nextDeadline(c: CaseSummaryDto): { key: MessageKey; dueAt: string } | null {
  const pending = (['contact', 'response', 'unblock'] as const)
    .map((k) => ({ key: `deadline.${k}` as MessageKey, d: c.deadlines[k] }))
    .filter((x) => x.d.state === 'pending' && x.d.dueAt !== null)
    .sort((a, b) => Date.parse(a.d.dueAt!) - Date.parse(b.d.dueAt!));
  const first = pending[0];
  if (first) return { key: first.key, dueAt: first.d.dueAt! };
  // Evidence to judge: the 72 hours the party answers within are what the judgement races (GT-3, GT-4).
  if (c.status === 'awaiting_judgement' && c.deadlines.response.dueAt)
    return { key: 'deadline.response', dueAt: c.deadlines.response.dueAt };
  return null;
}

/** Due-soonest first; cases without a pending deadline after them, newest signal first. */
export function byDueSoonest(items: CaseSummaryDto[]): CaseSummaryDto[] {
  const due = (c: CaseSummaryDto) => {
    const n = nextDeadline(c);
    return n ? Date.parse(n.dueAt) : Number.POSITIVE_INFINITY;
  };
  return [...items].sort((a, b) => due(a) - due(b) || Date.parse(b.receivedAt) - Date.parse(a.receivedAt));
}

export function QueuePage({ ctx, items, now }: { ctx: PageContext; items: CaseSummaryDto[]; now: number }) {
  const { lang } = ctx;
  return (
    <Layout ctx={ctx} title={t(lang, 'queue.title')}>
      <h1>{t(lang, 'queue.title')}</h1>
      <p>{t(lang, 'queue.intro')}</p>
      {items.length === 0 ? (
        <p>{t(lang, 'queue.empty')}</p>
      ) : (
        <table class="queue">
          <caption class="visually-hidden">{t(lang, 'queue.intro')}</caption>
          <thead>
            <tr>
              <th scope="col">{t(lang, 'queue.reference')}</th>
              <th scope="col">{t(lang, 'queue.status')}</th>
              <th scope="col">{t(lang, 'queue.party')}</th>
              <th scope="col">{t(lang, 'queue.next')}</th>
              <th scope="col">{t(lang, 'queue.timeLeft')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => {
              const next = nextDeadline(c);
              const overdue = next !== null && Date.parse(next.dueAt) < now;
              return (
                <tr key={c.id} class={overdue ? 'overdue' : undefined}>
                  <th scope="row">
                    <a href={`/console/cases/${c.id}`}>{c.reference}</a>
                  </th>
                  <td>{t(lang, `status.${c.status}` as MessageKey)}</td>
                  <td>{c.party.name}</td>
                  <td>{next ? `${t(lang, next.key)}: ${when(next.dueAt, lang)}` : t(lang, 'time.none')}</td>
                  <td>{next ? timeLeft(next.dueAt, now, lang) : t(lang, 'time.none')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
