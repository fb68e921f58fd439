/** Sign-in, signed-out and error pages (issue 19). */
import { t } from '../../lib/messages.js';
import { Layout, type PageContext } from './layout.js';

export function SignInPage({
  ctx,
  providers,
  notice,
}: {
  ctx: PageContext;
  providers: Array<{ id: string; label: string }>;
  notice?: string | undefined;
}) {
  return (
    <Layout ctx={ctx} title={t(ctx.lang, 'signIn.title')}>
      <h1>{t(ctx.lang, 'signIn.title')}</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <p>{t(ctx.lang, 'signIn.intro')}</p>
      <ul class="providers">
        {providers.map((p) => (
          <li key={p.id}>
            <a class="button" href={`/console/login/${p.id}`}>
              {t(ctx.lang, 'signIn.with', { label: p.label })}
            </a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}

export function MessagePage({
  ctx,
  title,
  text,
  back = true,
}: {
  ctx: PageContext;
  title: string;
  text: string;
  back?: boolean;
}) {
  return (
    <Layout ctx={ctx} title={title}>
      <h1>{title}</h1>
      <p role="alert">{text}</p>
      {back && ctx.person && (
        <p>
          <a href="/console/queue">{t(ctx.lang, 'error.back')}</a>
        </p>
      )}
    </Layout>
  );
}
