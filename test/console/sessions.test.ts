/**
 * Issue 19, sessions are revocable, in a real browser: a person signed in twice sees both sessions (this one
 * marked) and ends the other, whose browser goes back to sign-in; a compliance officer ends a colleague's sessions
 * (the own grid operator's only); each revocation is audited naming the person who did it. The idle expiry rolls
 * with a slack (services/people/sessions.ts): a page view within it writes nothing, one after it moves the expiry.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, consoleSessions, people } from '../../db/schema/index.js';
import { idleSlackMs } from '../../services/people/sessions.js';
import { checkPage, consoleStack, newContext, signIn, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_sessions');
});
afterAll(async () => stack?.close());

const personNamed = async (name: string) => {
  const [p] = await stack.ctx.db.select().from(people).where(eq(people.name, name));
  return p!;
};
const sessionsOf = (personId: string) =>
  stack.ctx.db.select().from(consoleSessions).where(eq(consoleSessions.personId, personId));
const endedAudit = (personId: string) =>
  stack.ctx.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityId, personId), eq(auditLog.action, 'person.sessions_ended')))
    .orderBy(asc(auditLog.id));

/** Whether the browser's session still admits it: the queue, or back to sign-in ("expired"). */
async function stillSignedIn(page: import('playwright-core').Page): Promise<boolean> {
  await page.goto(`${stack.origin}/console/queue`);
  const u = new URL(page.url());
  if (u.pathname === '/console/sign-in') {
    expect(u.searchParams.get('expired')).toBe('1');
    return false;
  }
  expect(u.pathname).toBe('/console/queue');
  return true;
}

describe('the sessions page', () => {
  it('lists the person’s sessions and ends the other one; that browser goes back to sign-in', async () => {
    const a = await newContext(stack);
    const b = await newContext(stack);
    await signIn(stack, a.page, stack.noord, 'behandelaar');
    await signIn(stack, b.page, stack.noord, 'behandelaar');
    const handler = await personNamed('Behandelaar Netbeheer Noord');
    const rows = await sessionsOf(handler.id);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.userAgent?.includes('HeadlessChrome'))).toBe(true);

    await a.page.getByRole('link', { name: 'Sessies' }).click();
    await a.page.waitForURL('**/console/sessions');
    await checkPage(a.page, 's01-sessions-two');
    const listed = a.page.locator('table.sessions.own tbody tr');
    expect(await listed.count()).toBe(2);
    // This session is marked and has no "end" button; the other has one.
    const current = a.page.locator('table.sessions.own tbody tr.current');
    expect(await current.count()).toBe(1);
    expect(await current.locator('th').textContent()).toMatch(/^Chrome \(headless\) \d+, Linux \(deze sessie\)$/);
    expect(await current.locator('button').count()).toBe(0);
    const other = a.page.locator('table.sessions.own tbody tr:not(.current)');
    const otherId = await other.getAttribute('data-session');
    expect(rows.map((r) => r.id)).toContain(otherId);
    // No sid in the page: it is the cookie's secret; the handle is the row's id.
    const html = await a.page.content();
    for (const r of rows) expect(html).not.toContain(r.sid);

    await other.getByRole('button', { name: /^Sessie in Chrome \(headless\)/ }).click();
    await a.page.waitForURL('**/console/sessions');
    expect(await a.page.locator('p.notice.ok').textContent()).toBe('1 sessie(s) beëindigd.');
    expect(await listed.count()).toBe(1);
    await checkPage(a.page, 's02-sessions-one');

    expect(await stillSignedIn(b.page)).toBe(false);
    await checkPage(b.page, 's03-signed-out-by-other');
    expect(await stillSignedIn(a.page)).toBe(true);
    const [ended] = await endedAudit(handler.id);
    expect(ended).toMatchObject({
      actor: `user:${handler.id}`,
      actorName: 'Behandelaar Netbeheer Noord',
      actorRole: 'case-handler',
      actorPartyId: stack.noord.id,
      entityType: 'person',
    });
    expect(ended!.data).toEqual({ by: 'self', scope: 'one', sessions: [otherId] });

    // "All other sessions": sign in again in b, end it from a; a stays.
    await signIn(stack, b.page, stack.noord, 'behandelaar');
    await a.page.goto(`${stack.origin}/console/sessions`);
    await a.page.getByRole('button', { name: 'Alle andere sessies beëindigen' }).click();
    await a.page.waitForURL('**/console/sessions');
    expect(await a.page.locator('p.notice.ok').textContent()).toBe('1 sessie(s) beëindigd.');
    expect(await stillSignedIn(b.page)).toBe(false);
    expect(await stillSignedIn(a.page)).toBe(true);
    expect((await endedAudit(handler.id)).map((e) => (e.data as { scope: string }).scope)).toEqual(['one', 'others']);

    expect(a.problems).toEqual([]);
    await a.context.close();
    await b.context.close();
  }, 240_000);

  it('lets compliance end a colleague’s sessions of the own grid operator only, audited with its name', async () => {
    const colleague = await newContext(stack);
    const stranger = await newContext(stack);
    const officer = await newContext(stack);
    await signIn(stack, colleague.page, stack.noord, 'behandelaar');
    await signIn(stack, stranger.page, stack.zuid, 'behandelaar');
    await signIn(stack, officer.page, stack.noord, 'compliance');
    const handler = await personNamed('Behandelaar Netbeheer Noord');
    const zuidHandler = await personNamed('Behandelaar Netbeheer Zuid');
    const compliance = await personNamed('Compliance Netbeheer Noord');

    await officer.page.goto(`${stack.origin}/console/sessions`);
    await checkPage(officer.page, 's04-sessions-compliance');
    const table = officer.page.locator('table.sessions.colleagues');
    const names = await table.locator('tbody th[scope=row]').allTextContents();
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names)).toEqual(new Set(['Behandelaar Netbeheer Noord']));
    // The other grid operator's people are not listed, and their sessions cannot be ended from here.
    const [zuidSession] = await sessionsOf(zuidHandler.id);
    const refused = await officer.page.evaluate(
      async ({ id, csrf }) =>
        (await fetch('/console/sessions/end', { method: 'POST', body: new URLSearchParams({ id, _csrf: csrf }) }))
          .status,
      { id: zuidSession!.id, csrf: await officer.page.locator('input[name=_csrf]').first().inputValue() },
    );
    expect(refused).toBe(404);
    expect(await sessionsOf(zuidHandler.id)).toHaveLength(1);

    // A case handler cannot end a colleague's session either (compliance only).
    await colleague.page.goto(`${stack.origin}/console/sessions`);
    expect(await colleague.page.locator('table.sessions.colleagues').count()).toBe(0);
    const [officerSession] = await sessionsOf(compliance.id);
    const notAllowed = await colleague.page.evaluate(
      async ({ id, csrf }) =>
        (await fetch('/console/sessions/end', { method: 'POST', body: new URLSearchParams({ id, _csrf: csrf }) }))
          .status,
      { id: officerSession!.id, csrf: await colleague.page.locator('input[name=_csrf]').first().inputValue() },
    );
    expect(notAllowed).toBe(404);
    expect(await sessionsOf(compliance.id)).toHaveLength(1);

    const before = (await sessionsOf(handler.id)).map((s) => s.id).sort();
    expect(before.length).toBeGreaterThan(0);
    await officer.page.getByRole('button', { name: 'Alle sessies van Behandelaar Netbeheer Noord beëindigen' }).click();
    await officer.page.waitForURL('**/console/sessions');
    expect(await officer.page.locator('p.notice.ok').textContent()).toBe(`${before.length} sessie(s) beëindigd.`);
    expect(await officer.page.locator('table.sessions.colleagues').count()).toBe(0);
    await checkPage(officer.page, 's05-sessions-compliance-ended');

    expect(await stillSignedIn(colleague.page)).toBe(false);
    expect(await stillSignedIn(stranger.page)).toBe(true);
    expect(await stillSignedIn(officer.page)).toBe(true);
    const audits = await endedAudit(handler.id);
    expect(audits.at(-1)).toMatchObject({
      actor: `user:${compliance.id}`,
      actorName: 'Compliance Netbeheer Noord',
      actorRole: 'compliance',
      actorPartyId: stack.noord.id,
    });
    expect(audits.at(-1)!.data).toEqual({ by: 'compliance', scope: 'all', sessions: before });

    // One session of a colleague by its own button.
    await signIn(stack, colleague.page, stack.noord, 'behandelaar');
    await officer.page.goto(`${stack.origin}/console/sessions`);
    const [again] = await sessionsOf(handler.id);
    await officer.page.locator(`table.sessions.colleagues tr[data-session="${again!.id}"] button`).click();
    await officer.page.waitForURL('**/console/sessions');
    expect(await stillSignedIn(colleague.page)).toBe(false);
    expect((await endedAudit(handler.id)).at(-1)!.data).toEqual({
      by: 'compliance',
      scope: 'one',
      sessions: [again!.id],
    });

    // The browser reports the refused POST above (its status), and nothing else: no CSP violation, no error.
    expect(officer.problems.map((m) => m.replace(stack.origin, ''))).toEqual([
      'page /console/sessions: Failed to load resource: the server responded with a status of 404 (Not Found)',
    ]);
    for (const c of [colleague, stranger, officer]) await c.context.close();
  }, 240_000);
});

describe('the idle expiry', () => {
  it('rolls with a slack: a view within it writes nothing, one after it moves the expiry; idle past it signs out', async () => {
    const IDLE = 1_800_000; // the harness keeps the default 30 minutes
    const slack = idleSlackMs(IDLE);
    expect(slack).toBe(18_000);
    const { context, page } = await newContext(stack);
    await signIn(stack, page, stack.zuid, 'behandelaar');
    // This browser's row: the cookie is the session id, signed.
    const signed = decodeURIComponent((await context.cookies()).find((c) => c.name === 'gt-console')!.value);
    const thisSession = eq(consoleSessions.sid, signed.slice(0, signed.lastIndexOf('.')));
    const row = async () => {
      const [r] = await stack.ctx.db
        .select({
          version: sql<string>`xmin::text`,
          lastSeenAt: consoleSessions.lastSeenAt,
          idleExpiresAt: consoleSessions.idleExpiresAt,
        })
        .from(consoleSessions)
        .where(thisSession);
      return r!;
    };
    /** As if the store last wrote the session `ago` ms before now. */
    const writtenAgo = (ago: number) =>
      stack.ctx.db
        .update(consoleSessions)
        .set({
          lastSeenAt: sql`now() - ${ago} * interval '1 millisecond'`,
          idleExpiresAt: sql`now() - ${ago} * interval '1 millisecond' + ${IDLE} * interval '1 millisecond'`,
        })
        .where(thisSession);

    // Within the slack: the view (page and assets) reads the session and writes nothing, not even a row version.
    await writtenAgo(slack - 5_000);
    const within = await row();
    expect(await stillSignedIn(page)).toBe(true);
    expect(await row()).toEqual(within);

    // Last written the slack ago and more: the view writes it, the idle expiry moves to that view + 30 minutes.
    await writtenAgo(slack + 1_000);
    const stale = await row();
    const viewedFrom = Date.now();
    expect(await stillSignedIn(page)).toBe(true);
    const viewedTo = Date.now();
    const moved = await row();
    expect(moved.version).not.toBe(stale.version);
    expect(moved.idleExpiresAt.getTime() - moved.lastSeenAt.getTime()).toBe(IDLE);
    expect(moved.idleExpiresAt.getTime()).toBeGreaterThanOrEqual(viewedFrom + IDLE);
    expect(moved.idleExpiresAt.getTime()).toBeLessThanOrEqual(viewedTo + IDLE);
    expect(moved.idleExpiresAt.getTime()).toBeGreaterThan(stale.idleExpiresAt.getTime() + slack);

    // Idle past the timeout: signed out.
    await writtenAgo(IDLE + 1_000);
    expect(await stillSignedIn(page)).toBe(false);
    await context.close();
  }, 120_000);
});
