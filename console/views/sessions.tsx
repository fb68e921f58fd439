/**
 * The sessions page (issue 19): the person's own live sessions (this one marked) with a form to end each other
 * one or all others; for compliance, the colleagues' sessions of the same grid operator with a form to end one
 * session or all of a person's. Plain POST forms with the CSRF token; no script needed.
 */
import { isMessageKey, t, type Lang } from '../../lib/messages.js';
import type { SessionListing } from '../../services/people/sessions.js';
import { when } from '../format.js';
import type { Notice } from './case.js';
import { Csrf, Layout, type PageContext } from './layout.js';

/** "Chrome 131, Linux": the browser and the system from a User-Agent, enough to recognise a session by. */
export function browserSummary(ua: string | null, lang: Lang): string {
  if (!ua) return t(lang, 'sessions.unknownBrowser');
  const browsers: Array<[RegExp, string]> = [
    [/Edg\/(\d+)/, 'Edge'],
    [/Firefox\/(\d+)/, 'Firefox'],
    [/HeadlessChrome\/(\d+)/, 'Chrome (headless)'],
    [/Chrome\/(\d+)/, 'Chrome'],
    [/Version\/(\d+)[^ ]* (Mobile\/\S+ )?Safari/, 'Safari'],
  ];
  const systems: Array<[RegExp, string]> = [
    [/Android/, 'Android'],
    [/iPhone|iPad/, 'iOS'],
    [/Windows/, 'Windows'],
    [/Mac OS X/, 'macOS'],
    [/CrOS/, 'ChromeOS'],
    [/Linux/, 'Linux'],
  ];
  const b = browsers.map(([re, name]) => [ua.match(re), name] as const).find(([m]) => m);
  const system = systems.find(([re]) => re.test(ua))?.[1];
  const browser = b ? `${b[1]} ${b[0]![1]}` : ua.slice(0, 40);
  return system ? `${browser}, ${system}` : browser;
}

function EndForm({ ctx, s }: { ctx: PageContext; s: SessionListing }) {
  const label = t(ctx.lang, 'sessions.endLabel', {
    browser: browserSummary(s.userAgent, ctx.lang),
    created: when(s.createdAt.toISOString(), ctx.lang),
  });
  return (
    <form method="post" action="/console/sessions/end" class="inline">
      <Csrf ctx={ctx} />
      <input type="hidden" name="id" value={s.id} />
      <button type="submit" aria-label={label}>
        {t(ctx.lang, 'sessions.end')}
      </button>
    </form>
  );
}

function Row({ ctx, s, withPerson }: { ctx: PageContext; s: SessionListing; withPerson: boolean }) {
  const { lang } = ctx;
  const browser = (
    <>
      {browserSummary(s.userAgent, lang)}
      {s.current && <strong class="tag"> ({t(lang, 'sessions.current')})</strong>}
    </>
  );
  // The row's header: whose session among colleagues, which browser among one's own.
  return (
    <tr data-session={s.id} class={s.current ? 'current' : undefined}>
      {withPerson ? (
        <>
          <th scope="row">{s.personName}</th>
          <td>{browser}</td>
        </>
      ) : (
        <th scope="row">{browser}</th>
      )}
      <td>{when(s.createdAt.toISOString(), lang)}</td>
      <td>{when(s.lastSeenAt.toISOString(), lang)}</td>
      <td>{s.current ? '' : <EndForm ctx={ctx} s={s} />}</td>
    </tr>
  );
}

function Table({
  ctx,
  caption,
  rows,
  withPerson,
  cls,
}: {
  ctx: PageContext;
  caption: string;
  rows: SessionListing[];
  withPerson: boolean;
  cls: string;
}) {
  const { lang } = ctx;
  return (
    <table class={`sessions ${cls}`}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {withPerson && <th scope="col">{t(lang, 'sessions.person')}</th>}
          <th scope="col">{t(lang, 'sessions.browser')}</th>
          <th scope="col">{t(lang, 'sessions.created')}</th>
          <th scope="col">{t(lang, 'sessions.lastSeen')}</th>
          <th scope="col">{t(lang, 'sessions.action')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <Row ctx={ctx} s={s} withPerson={withPerson} key={s.id} />
        ))}
      </tbody>
    </table>
  );
}

export function SessionsPage({
  ctx,
  own,
  colleagues,
  operator,
  notice,
}: {
  ctx: PageContext;
  own: SessionListing[];
  colleagues?: SessionListing[] | undefined;
  operator: string;
  notice?: Notice | undefined;
}) {
  const { lang } = ctx;
  const people = new Map((colleagues ?? []).map((s) => [s.personId, s]));
  return (
    <Layout ctx={ctx} title={t(lang, 'sessions.title')}>
      <h1>{t(lang, 'sessions.title')}</h1>
      {notice && (
        <p class={`notice ${notice.kind}`} role="status">
          {notice.text}
        </p>
      )}
      <p>{t(lang, 'sessions.intro')}</p>
      <Table
        ctx={ctx}
        caption={t(lang, 'sessions.caption', { name: ctx.person?.name ?? '' })}
        rows={own}
        withPerson={false}
        cls="own"
      />
      {own.some((s) => !s.current) && (
        <form method="post" action="/console/sessions/end-others">
          <Csrf ctx={ctx} />
          <button type="submit">{t(lang, 'sessions.endOthers')}</button>
        </form>
      )}
      {colleagues && (
        <section aria-labelledby="colleagues">
          <h2 id="colleagues">{t(lang, 'sessions.colleagues', { operator })}</h2>
          <p>{t(lang, 'sessions.colleaguesIntro')}</p>
          {colleagues.length === 0 ? (
            <p>{t(lang, 'sessions.noColleagues')}</p>
          ) : (
            <>
              <Table
                ctx={ctx}
                caption={t(lang, 'sessions.colleaguesCaption')}
                rows={colleagues}
                withPerson
                cls="colleagues"
              />
              <ul class="end-person">
                {[...people.values()].map((s) => (
                  <li key={s.personId}>
                    <form method="post" action="/console/sessions/end-person">
                      <Csrf ctx={ctx} />
                      <input type="hidden" name="personId" value={s.personId} />
                      <button type="submit">{t(lang, 'sessions.endPerson', { name: s.personName })}</button>
                    </form>{' '}
                    <span class="hint">
                      {s.personRoles
                        .map((r) => `role.${r}`)
                        .map((k) => (isMessageKey(k) ? t(lang, k) : k))
                        .join(', ')}
                    </span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
    </Layout>
  );
}
