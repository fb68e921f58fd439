/**
 * The work queue (issue 19): what waits for the person, as GET /work-items orders it (the instant that expires
 * first on top, overdue first; domain/work-items.ts is the rule's one home, the console does not re-sort). Above
 * it the case search (GET /cases?q=…&sort=due), a plain GET form, and the case list as a CSV download.
 */
import type { CaseSummaryDto } from '../../api/schemas/cases.js';
import type { WorkItemSchema } from '../../api/schemas/work-items.js';
import type { Static } from '@sinclair/typebox';
import { t, type MessageKey } from '../../lib/messages.js';
import { count, timeLeft, when } from '../format.js';
import { Layout, type PageContext } from './layout.js';
import type { Notice } from './case.js';

export type WorkItemDto = Static<typeof WorkItemSchema>;

/** The search asked for: its text, and the API's answer (the cases, or its refusal as a notice). */
export interface Search {
  q: string;
  items?: CaseSummaryDto[];
  total?: number;
  notice?: Notice;
}

const csvHref = (q?: string) => `/console/cases.csv${q ? `?q=${encodeURIComponent(q)}` : ''}`;

function SearchForm({ ctx, search }: { ctx: PageContext; search?: Search | undefined }) {
  const { lang } = ctx;
  return (
    <section aria-labelledby="search-title" class="search">
      <h2 id="search-title">{t(lang, 'search.title')}</h2>
      {/* A plain GET: the results are a page of their own (a link, the back button), with or without JavaScript. */}
      <form method="get" action="/console/queue" role="search">
        <label for="q">{t(lang, 'search.label')}</label>
        <input id="q" name="q" type="search" value={search?.q ?? ''} aria-describedby="q-hint" maxLength={100} />
        <button type="submit">{t(lang, 'search.submit')}</button>
        <p id="q-hint" class="hint">
          {t(lang, 'search.hint')}
        </p>
      </form>
      {search && <SearchResults ctx={ctx} search={search} />}
      <p>
        <a href={csvHref()} download>
          {t(lang, 'csv.cases')}
        </a>
      </p>
    </section>
  );
}

function SearchResults({ ctx, search }: { ctx: PageContext; search: Search }) {
  const { lang } = ctx;
  const now = Date.now();
  if (search.notice)
    return (
      <p class={`notice ${search.notice.kind}`} role="alert">
        {search.notice.text}
      </p>
    );
  const items = search.items ?? [];
  if (items.length === 0)
    return (
      <p class="notice" role="status">
        {t(lang, 'search.none', { q: search.q })}
      </p>
    );
  return (
    <>
      <table class="results">
        <caption>{t(lang, 'search.results', { q: search.q, count: search.total ?? items.length })}</caption>
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
          {items.map((c) => (
            <tr key={c.id}>
              <th scope="row">
                <a href={`/console/cases/${c.id}`}>{c.reference}</a>
              </th>
              <td>{t(lang, `status.${c.status}` as MessageKey)}</td>
              <td>{c.party.name}</td>
              <td>{when(c.nextDueAt, lang)}</td>
              <td>{c.nextDueAt ? timeLeft(c.nextDueAt, now, lang) : t(lang, 'time.none')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a href={csvHref(search.q)} download>
          {t(lang, 'csv.search')}
        </a>
      </p>
    </>
  );
}

/** What the item is about: a link to its case, or to the GT-5 review's page. */
function Subject({ ctx, item }: { ctx: PageContext; item: WorkItemDto }) {
  const label = item.subject.reference ?? t(ctx.lang, 'queue.review');
  // GT-11: the privacy officer decides on the assessment's page (a privacy officer may not read the case).
  if (item.subject.type === 'breach_assessment') return <a href={`/console/breach/${item.subject.id}`}>{label}</a>;
  if (item.subject.type === 'review') return <a href={`/console/reviews/${item.subject.id}`}>{label}</a>;
  return item.caseId ? <a href={`/console/cases/${item.caseId}`}>{label}</a> : <>{label}</>;
}

/** Which page of the queue this is (1-based), its size and the queue's whole length (the API's total). */
export interface Paging {
  page: number;
  size: number;
  total: number;
}

/** Previous and next links under the queue: plain links, so paging works without JavaScript. */
function Pager({ ctx, paging, q }: { ctx: PageContext; paging: Paging; q?: string | undefined }) {
  const { lang } = ctx;
  const { page, size, total } = paging;
  if (total <= size && page === 1) return null;
  const href = (n: number) => `/console/queue?${q ? `q=${encodeURIComponent(q)}&` : ''}page=${n}`;
  const first = Math.min((page - 1) * size + 1, total);
  const last = Math.min(page * size, total);
  return (
    <nav class="pager" aria-label={t(lang, 'queue.pages')}>
      <p>{t(lang, 'queue.range', { first: count(first, lang), last: count(last, lang), total: count(total, lang) })}</p>
      {page > 1 && (
        <a href={href(page - 1)} rel="prev">
          {t(lang, 'queue.previousPage')}
        </a>
      )}{' '}
      {last < total && (
        <a href={href(page + 1)} rel="next">
          {t(lang, 'queue.nextPage')}
        </a>
      )}
    </nav>
  );
}

export function QueuePage({
  ctx,
  items,
  now,
  search,
  paging,
}: {
  ctx: PageContext;
  items: WorkItemDto[];
  now: number;
  search?: Search | undefined;
  paging?: Paging | undefined;
}) {
  const { lang } = ctx;
  return (
    <Layout ctx={ctx} title={t(lang, 'queue.title')}>
      <h1>{t(lang, 'queue.title')}</h1>
      <SearchForm ctx={ctx} search={search} />
      <h2 id="queue-title">{t(lang, 'queue.title')}</h2>
      <p>{t(lang, 'queue.intro')}</p>
      {items.length === 0 ? (
        <p>{t(lang, 'queue.empty')}</p>
      ) : (
        <table class="queue" aria-labelledby="queue-title">
          <thead>
            <tr>
              <th scope="col">{t(lang, 'queue.reference')}</th>
              <th scope="col">{t(lang, 'queue.kind')}</th>
              <th scope="col">{t(lang, 'queue.why')}</th>
              <th scope="col">{t(lang, 'queue.expires')}</th>
              <th scope="col">{t(lang, 'queue.timeLeft')}</th>
              <th scope="col">{t(lang, 'queue.rule')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => {
              const kind = t(lang, `work.kind.${i.kind}` as MessageKey);
              return (
                <tr key={`${i.kind}-${i.subject.id}-${i.deadline ?? ''}`} class={i.overdue ? 'overdue' : undefined}>
                  <th scope="row">
                    <Subject ctx={ctx} item={i} />
                  </th>
                  <td>{i.deadline ? `${kind}: ${t(lang, `deadline.${i.deadline}` as MessageKey)}` : kind}</td>
                  <td>{t(lang, `work.why.${i.kind}` as MessageKey)}</td>
                  <td>{when(i.expiresAt, lang)}</td>
                  {/* overdue is the API's verdict (its clock); the duration is this render's. */}
                  <td>{i.expiresAt ? timeLeft(i.expiresAt, now, lang) : t(lang, 'time.none')}</td>
                  <td>{i.rule}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {paging && <Pager ctx={ctx} paging={paging} q={search?.q} />}
    </Layout>
  );
}
