/**
 * Issue 19, what the console must refuse, in a real browser: another grid operator's case is not found; a POST
 * without the CSRF token or from another origin is 403 and changes nothing; an expired session and one ended by
 * the provider's back-channel logout go back to sign-in; a person without a mapped group gets no role; an API key
 * (a P4 client's) opens no console page, and the console's cookie opens no API route; a signed act for which
 * someone else signed in at the provider is not done.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, caseResponses, consoleSessions, people } from '../../db/schema/index.js';
import { checkPage, consoleStack, newContext, signIn, signInAt, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_negative');
});
afterAll(async () => stack?.close());

const personNamed = async (name: string) => {
  const [p] = await stack.ctx.db.select().from(people).where(eq(people.name, name));
  return p!;
};
const sessionsOf = (personId: string) =>
  stack.ctx.db.select().from(consoleSessions).where(eq(consoleSessions.personId, personId));

describe('the console refuses', () => {
  it('another grid operator’s case (not found), a POST without CSRF token or from another origin (403)', async () => {
    // Both answered: each waits for its own operator's judgement in the work queue.
    const own = await stack.openCase(stack.noord, true);
    const other = await stack.openCase(stack.zuid, true);
    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    const refs = await page.locator('table.queue tbody th a').allTextContents();
    expect(refs).toContain(own.reference);
    expect(refs).not.toContain(other.reference);
    // Not in the search (the API holds it to the person's grid operator) nor in the CSV download.
    await page.goto(`${stack.origin}/console/queue?q=${encodeURIComponent(other.reference)}`);
    expect(await page.locator('table.results').count()).toBe(0);
    expect(await page.locator('.search p.notice').textContent()).toContain('Geen zaken gevonden');
    const csv = await page.request.get(`${stack.origin}/console/cases.csv`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-disposition']).toMatch(/^attachment; filename="cases-[\d-]+\.csv"$/);
    expect(await csv.text()).toContain(own.reference);
    expect(await csv.text()).not.toContain(other.reference);

    const res = await page.goto(`${stack.origin}/console/cases/${other.id}`);
    expect(res!.status()).toBe(404);
    expect(await page.locator('main').textContent()).toContain('bestaat niet');
    expect(await page.locator('main').textContent()).not.toContain(other.reference);
    await checkPage(page, '11-other-operators-case');
    // The browser reports the 404 it was just given on purpose; anything after it still counts.
    problems.length = 0;

    await page.goto(`${stack.origin}/console/cases/${own.id}`);
    const token = await page.locator('#activity input[name=_csrf]').getAttribute('value');
    const url = `${stack.origin}/console/cases/${own.id}/notes`;
    const post = (form: Record<string, string>, origin: string) =>
      page.request.post(url, { form, headers: { origin }, maxRedirects: 0 });
    expect((await post({ text: 'zonder token' }, stack.origin)).status()).toBe(403);
    expect((await post({ text: 'vals token', _csrf: 'x'.repeat(token!.length) }, stack.origin)).status()).toBe(403);
    expect((await post({ text: 'van elders', _csrf: token! }, 'http://evil.example')).status()).toBe(403);
    const noted = () =>
      stack.ctx.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.entityId, own.id), eq(auditLog.action, 'case.note')));
    expect(await noted()).toEqual([]);
    // The same request with the token and this origin is taken: the refusals above were for what they lacked.
    expect((await post({ text: 'met token', _csrf: token! }, stack.origin)).status()).toBe(303);
    expect((await noted()).map((n) => (n.data as { text: string }).text)).toEqual(['met token']);
    expect(problems).toEqual([]);
    await context.close();
  }, 180_000);

  it('a signed act when another person signs in at the provider for it: nothing done, back with the notice', async () => {
    const own = await stack.openCase(stack.noord, true);
    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    await page.goto(`${stack.origin}/console/cases/${own.id}`);
    const form = page.locator('form[action$="/judgements"]');
    await form.getByLabel(/Niet aangetoond/).check();
    await form.getByLabel('Reden').fill('Ondertekend door een ander');
    // The handler's session at the provider has ended there (it expired: no back-channel logout): only the console's
    // cookie stays. Otherwise the colleague's sign-in below would end it, and the console's session with it.
    const consoleCookie = (await context.cookies()).filter((c) => c.name === 'gt-console');
    await context.clearCookies();
    await context.addCookies(consoleCookie);
    await form.getByRole('button', { name: 'Oordeel vastleggen' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    // At the provider's fresh sign-in, a colleague signs in instead of the handler (console/step-up.ts).
    await signInAt(page, 'compliance');
    await page.waitForURL(`**/console/cases/${own.id}`);
    expect(await page.locator('p.notice.error').first().textContent()).toBe(
      'Aanmelden is niet gelukt: another person signed in',
    );
    const [response] = await stack.ctx.db.select().from(caseResponses).where(eq(caseResponses.id, own.responseId!));
    expect(response!.judgement).toBeNull();
    // No step-up recorded for the case, for either person.
    const recorded = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'person.stepped_up'), sql`${auditLog.data}->>'subjectId' = ${own.id}`));
    expect(recorded).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 180_000);

  it('sessions that expired (idle or absolute) or that the provider ended go back to sign-in', async () => {
    const { context, page } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'compliance');
    const person = await personNamed('Compliance Netbeheer Noord');
    expect(person.roles).toEqual(['compliance']);
    expect(await sessionsOf(person.id)).toHaveLength(1);

    await stack.ctx.db
      .update(consoleSessions)
      .set({ idleExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(consoleSessions.personId, person.id));
    await page.goto(`${stack.origin}/console/queue`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    expect(await page.locator('main').textContent()).toContain('Uw sessie is verlopen');
    await checkPage(page, '12-session-expired');

    await signIn(stack, page, stack.noord, 'compliance');
    expect(new URL(page.url()).pathname).toBe('/console/queue');
    await stack.ctx.db
      .update(consoleSessions)
      .set({ absoluteExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(consoleSessions.personId, person.id));
    await page.goto(`${stack.origin}/console/queue`);
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await context.close();

    // Back-channel logout: the person signs out at the provider, which tells the console; the session is gone.
    const b = await newContext(stack);
    await signIn(stack, b.page, stack.zuid, 'behandelaar');
    expect(new URL(b.page.url()).pathname).toBe('/console/queue');
    const zuidHandler = await personNamed('Behandelaar Netbeheer Zuid');
    expect(await sessionsOf(zuidHandler.id)).toHaveLength(1);
    await b.page.goto(`${stack.zuid.idp.issuer}/session/end`);
    await b.page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await expect.poll(async () => (await sessionsOf(zuidHandler.id)).length, { timeout: 20_000 }).toBe(0);
    await b.page.goto(`${stack.origin}/console/queue`);
    expect(new URL(b.page.url()).pathname).toBe('/console/sign-in');
    await b.context.close();
  }, 180_000);

  it('a person without a mapped group gets no role and sees nothing', async () => {
    const { context, page } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'zondergroep');
    const person = await personNamed('Medewerker Netbeheer Noord');
    expect(person).toMatchObject({ roles: [], gridOperatorId: stack.noord.id });
    const res = await page.goto(`${stack.origin}/console/queue`);
    expect(res!.status()).toBe(403);
    expect(await page.locator('main').textContent()).toContain('geen rol');
    expect(await page.locator('table').count()).toBe(0);
    await checkPage(page, '13-no-role');
    await context.close();
  }, 120_000);

  it('an API key opens no console page; the console’s cookie opens no API route', async () => {
    const own = await stack.openCase(stack.noord, false);
    for (const path of ['/console/queue', `/console/cases/${own.id}`]) {
      const res = await fetch(`${stack.origin}${path}`, {
        headers: { authorization: stack.p4Key },
        redirect: 'manual',
      });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe('/console/sign-in');
      expect(await res.text()).not.toContain(own.reference);
    }
    const { context, page } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    for (const path of ['/cases', `/cases/${own.id}`, '/p4/requests']) {
      const res = path.startsWith('/p4')
        ? await page.request.post(`${stack.origin}${path}`, { data: {}, headers: { origin: stack.origin } })
        : await page.request.get(`${stack.origin}${path}`);
      expect(res.status(), path).toBe(401);
    }
    await context.close();
  }, 120_000);
});
