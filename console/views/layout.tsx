/** The page frame (issue 19): language, navigation, who is signed in; no inline script or style (strict CSP). */
import type { ComponentChildren, VNode } from 'preact';
import { render } from 'preact-render-to-string';
import { t, type Lang, type MessageKey } from '../../lib/messages.js';

export interface PageContext {
  lang: Lang;
  /** The CSRF token for this page's forms. */
  csrf: string;
  /** The URL of this page (the language switch comes back to it). */
  path: string;
  person?: { name: string; role: string | null; operatorName: string } | undefined;
}

const REVIEW_READERS = new Set(['case-handler', 'compliance', 'admin']);
/** The signal report: the roles GET /reports/signals answers (api/routes/reports.ts READERS). */
const REPORT_READERS = new Set(['case-handler', 'compliance', 'admin']);

/** The CSRF token every form posts (@fastify/csrf-protection reads `_csrf`). */
export const Csrf = ({ ctx }: { ctx: PageContext }) => <input type="hidden" name="_csrf" value={ctx.csrf} />;

export function Layout({ ctx, title, children }: { ctx: PageContext; title: string; children: ComponentChildren }) {
  const other: Lang = ctx.lang === 'nl' ? 'en' : 'nl';
  const role = ctx.person?.role ? t(ctx.lang, `role.${ctx.person.role}` as MessageKey) : '—';
  return (
    <html lang={ctx.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"includeIndicatorCSS":false}' />
        <title>{`${title} — ${t(ctx.lang, 'app.title')}`}</title>
        <link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/htmx.min.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          {t(ctx.lang, 'nav.skip')}
        </a>
        <header class="top">
          <span class="brand">{t(ctx.lang, 'app.title')}</span>
          <nav aria-label={t(ctx.lang, 'app.title')}>
            <ul>
              {ctx.person && (
                <li>
                  <a href="/console/queue">{t(ctx.lang, 'nav.queue')}</a>
                </li>
              )}
              {ctx.person && ctx.person.role !== null && (
                <li>
                  <a href="/console/breach">{t(ctx.lang, 'nav.breach')}</a>
                </li>
              )}
              {/* GT-5 reviews: the roles GET /reviews answers (api/routes/reviews.ts). */}
              {REVIEW_READERS.has(ctx.person?.role ?? '') && (
                <li>
                  <a href="/console/reviews">{t(ctx.lang, 'nav.reviews')}</a>
                </li>
              )}
              {REPORT_READERS.has(ctx.person?.role ?? '') && (
                <li>
                  <a href="/console/reports">{t(ctx.lang, 'nav.report')}</a>
                </li>
              )}
              {ctx.person && (
                <li>
                  <a href="/console/sessions">{t(ctx.lang, 'nav.sessions')}</a>
                </li>
              )}
              <li>
                <a
                  href={`/console/language?to=${other}&back=${encodeURIComponent(ctx.path)}`}
                  lang={other}
                  hreflang={other}
                >
                  {t(ctx.lang, 'nav.language')}
                </a>
              </li>
              {ctx.person && (
                <li>
                  <form method="post" action="/console/sign-out" class="inline">
                    <Csrf ctx={ctx} />
                    <button type="submit" class="link">
                      {t(ctx.lang, 'nav.signOut')}
                    </button>
                  </form>
                </li>
              )}
            </ul>
          </nav>
          {ctx.person && (
            <p class="who">
              {t(ctx.lang, 'nav.signedInAs', {
                name: ctx.person.name,
                role,
                operator: ctx.person.operatorName,
              })}
            </p>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {children}
        </main>
      </body>
    </html>
  );
}

/** A whole page as HTML. */
export const page = (node: VNode): string => `<!doctype html>${render(node)}`;
/** A fragment for htmx to swap in. */
export const fragment = (node: VNode): string => render(node);
