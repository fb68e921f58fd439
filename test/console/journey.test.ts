/**
 * Issue 19, the handler's journey in a real browser: sign in at the grid operator's provider, find the most urgent
 * case in the work queue (GET /work-items), search a case, download the case list as CSV, open the case, add a
 * note with htmx and with JavaScript off, judge it "not demonstrated" with a fresh authentication (step-up) — each
 * ending in the database and the audit chain naming the person.
 */
import { readFile } from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, caseResponses, doubtCases, people } from '../../db/schema/index.js';
import { checkPage, consoleStack, newContext, signIn, signInAt, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_journey');
});
afterAll(async () => stack?.close());

const notes = (caseId: string) =>
  stack.ctx.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityType, 'case'), eq(auditLog.entityId, caseId), eq(auditLog.action, 'case.note')))
    .orderBy(auditLog.id); // written in that order

describe('the handler’s journey', () => {
  it('signs in, finds the most urgent case, notes (htmx and without JavaScript) and judges it with step-up', async () => {
    // The most urgent: opened (and contacted) first, so its 72 hours end first; the party has answered both.
    const urgent = await stack.openCase(stack.noord, true);
    const later = await stack.openCase(stack.noord, true);
    const { context, page, problems } = await newContext(stack);

    await page.goto(`${stack.origin}/console`);
    await expect.poll(() => page.url(), { timeout: 20_000 }).toContain('/console/sign-in');
    await checkPage(page, '01-sign-in');
    await signIn(stack, page, stack.noord, 'behandelaar');
    expect(new URL(page.url()).pathname).toBe('/console/queue');
    await checkPage(page, '02-queue');
    // The queue is GET /work-items as the API orders it: evidence to judge, the 72 hours that end first on top.
    const rows = page.locator('table.queue tbody tr');
    const refs = await rows.locator('th a').allTextContents();
    expect(refs.slice(0, 2)).toEqual([urgent.reference, later.reference]);
    const first = await rows.first().locator('td').allTextContents();
    expect(first[0]).toBe('Bewijs beoordelen');
    expect(first[1]).toContain('wacht op uw oordeel');
    expect(first[3]).toMatch(/^nog (2|3) d \d+ u$/); // time left to the 72 hours, Amsterdam clock
    expect(first[4]).toBe('GT-3, GT-8');

    // The search box (a plain GET form): GET /cases?q=…&sort=due, results linking to the case pages.
    await page.getByLabel('Kenmerk, EAN, partij (GLN of naam) of referentie van de melder').fill(later.reference);
    await page.getByRole('button', { name: 'Zoeken' }).click();
    await page.waitForURL((u) => u.pathname === '/console/queue' && u.searchParams.get('q') === later.reference);
    const found = page.locator('table.results tbody th a');
    expect(await found.allTextContents()).toEqual([later.reference]);
    expect(await found.first().getAttribute('href')).toBe(`/console/cases/${later.id}`);
    await checkPage(page, '02b-queue-search');
    // Too short for the API (at least 3 characters): its refusal is shown, the queue stays.
    await page.getByLabel('Kenmerk, EAN, partij (GLN of naam) of referentie van de melder').fill('GT');
    await page.getByRole('button', { name: 'Zoeken' }).click();
    await page.waitForURL((u) => u.searchParams.get('q') === 'GT');
    expect(await page.locator('.search p.notice.error').textContent()).toContain('(querystring.q)');
    expect(await rows.locator('th a').first().textContent()).toBe(urgent.reference);

    // The case list as CSV, downloaded by the browser through the console (the API's CSV, streamed).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Alle zaken downloaden (CSV)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^cases-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = (await readFile((await download.path())!, 'utf8')).replace(/^\uFEFF/, '');
    const lines = csv.split('\r\n').filter((l) => l !== '');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['reference', 'status', 'receivedAt']);
    const urgentLine = lines.findIndex((l) => l.startsWith(`${urgent.reference},awaiting_judgement,`));
    const laterLine = lines.findIndex((l) => l.startsWith(`${later.reference},awaiting_judgement,`));
    // Both answered: sort=due orders them by the end of their 72 hours, when the judgement is due (nextDueAt,
    // docs/rules.md), the urgent one first.
    expect(urgentLine).toBeGreaterThan(0);
    expect(laterLine).toBeGreaterThan(urgentLine);
    expect(lines.some((l) => l.includes(stack.zuid.gln))).toBe(false);

    await page.goto(`${stack.origin}/console/queue`);
    // Open it.
    await rows.first().locator('th a').click();
    await page.waitForURL(`**/console/cases/${urgent.id}`);
    await expect.poll(() => page.locator('h1').textContent(), { timeout: 20_000 }).toContain(urgent.reference);
    await checkPage(page, '03-case');

    // A note with htmx: the activity section is swapped, the page is not reloaded.
    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, 'Behandelaar Netbeheer Noord'));
    expect(person).toMatchObject({ gridOperatorId: stack.noord.id, roles: ['case-handler'] });
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.getByLabel('Notitie (alleen voor de netbeheerder)').fill('Gebeld met de klant (htmx)');
    await page.getByRole('button', { name: 'Notitie toevoegen' }).click();
    await expect
      .poll(() => page.locator('#activity .timeline').textContent(), { timeout: 20_000 })
      .toContain('Gebeld met de klant (htmx)');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await checkPage(page, '04-case-note-htmx');
    const [htmxNote] = await notes(urgent.id);
    expect(htmxNote).toMatchObject({
      actor: `user:${person!.id}`,
      actorName: 'Behandelaar Netbeheer Noord',
      actorRole: 'case-handler',
      actorPartyId: stack.noord.id,
    });
    expect(htmxNote!.data).toMatchObject({ text: 'Gebeld met de klant (htmx)' });

    // Not demonstrated: the provider asks the person to sign in again, then the judgement is recorded.
    const form = page.locator('form[action$="/judgements"]');
    await form.getByLabel(/Niet aangetoond/).check();
    await form.getByLabel('Reden').fill('De machtiging noemt een ander adres');
    await form.getByRole('button', { name: 'Oordeel vastleggen' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    await signInAt(page, 'behandelaar');
    await page.waitForURL(`**/console/cases/${urgent.id}`);
    await expect
      .poll(() => page.locator('p.notice').first().textContent(), { timeout: 20_000 })
      .toContain('Oordeel vastgelegd.');
    await checkPage(page, '05-case-judged');
    const [judged] = await stack.ctx.db.select().from(caseResponses).where(eq(caseResponses.id, urgent.responseId!));
    expect(judged).toMatchObject({
      judgement: 'rejected',
      judgementReason: 'De machtiging noemt een ander adres',
      judgedBy: `user:${person!.id}`,
      judgedByName: 'Behandelaar Netbeheer Noord',
      judgedByRole: 'case-handler',
    });
    const judgedAudit = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, urgent.id), eq(auditLog.action, 'case.evidence_judged')));
    expect(judgedAudit).toHaveLength(1);
    expect(judgedAudit[0]).toMatchObject({ actor: `user:${person!.id}`, actorName: 'Behandelaar Netbeheer Noord' });
    const [stepUp] = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, person!.id), eq(auditLog.action, 'person.stepped_up')));
    expect(stepUp!.data).toMatchObject({ purpose: 'case.judgement.reject', subjectId: urgent.id });
    expect(stepUp!.id).toBeLessThan(judgedAudit[0]!.id);
    // Issue 19: the judgement's own entry carries that authentication (instant, acr, amr).
    const { acr, amr, authenticatedAt } = stepUp!.data as { acr: unknown; amr: unknown; authenticatedAt: string };
    expect(judgedAudit[0]!.data['signedWith']).toEqual({ kind: 'step_up', authenticatedAt, acr, amr });
    expect(Date.now() - Date.parse(authenticatedAt)).toBeLessThan(5 * 60_000);
    expect(problems).toEqual([]);
    await context.close();

    // The same note form without JavaScript: a plain POST, 303 back to the case page.
    const nojs = await newContext(stack, false);
    await signIn(stack, nojs.page, stack.noord, 'behandelaar');
    await nojs.page.goto(`${stack.origin}/console/cases/${urgent.id}`);
    await nojs.page.getByLabel('Notitie (alleen voor de netbeheerder)').fill('Brief verstuurd (zonder JavaScript)');
    await nojs.page.getByRole('button', { name: 'Notitie toevoegen' }).click();
    await nojs.page.waitForURL(`**/console/cases/${urgent.id}`);
    expect(await nojs.page.locator('#activity .timeline').textContent()).toContain(
      'Brief verstuurd (zonder JavaScript)',
    );
    await checkPage(nojs.page, '06-case-note-nojs', false);
    // The search without JavaScript: the same GET form.
    await nojs.page.goto(`${stack.origin}/console/queue`);
    await nojs.page.getByLabel('Kenmerk, EAN, partij (GLN of naam) of referentie van de melder').fill(urgent.reference);
    await nojs.page.getByRole('button', { name: 'Zoeken' }).click();
    await nojs.page.waitForURL((u) => u.searchParams.get('q') === urgent.reference);
    expect(await nojs.page.locator('table.results tbody th a').allTextContents()).toEqual([urgent.reference]);
    const all = await notes(urgent.id);
    expect(all.map((n) => [n.actor, n.actorName, (n.data as { text: string }).text])).toEqual([
      [`user:${person!.id}`, 'Behandelaar Netbeheer Noord', 'Gebeld met de klant (htmx)'],
      [`user:${person!.id}`, 'Behandelaar Netbeheer Noord', 'Brief verstuurd (zonder JavaScript)'],
    ]);
    await nojs.context.close();
  }, 240_000);

  it('records a contact made by telephone when the contact mail cannot go out (GT-1)', async () => {
    const c = await stack.openCase(stack.noord, false, { unreachable: true });
    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    await page.goto(`${stack.origin}/console/cases/${c.id}`);
    const form = page.locator('form[action$="/contacts"]');
    await form.getByLabel('Manier').selectOption('telephone');
    await form.getByLabel('Met wie').fill('P. Jansen, afdeling compliance');
    await form.getByLabel('Toelichting').fill('Telefonisch gemeld; machtiging volgt per mail');
    await form.getByRole('button', { name: 'Contact vastleggen' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect
      .poll(() => page.locator('p.notice').first().textContent(), { timeout: 20_000 })
      .toContain('Contact vastgelegd.');
    await checkPage(page, '07-case-contact');
    const [row] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(row).toMatchObject({ contactMethod: 'telephone', status: 'awaiting_response' });
    expect(row!.contactedAt).not.toBeNull();
    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, 'Behandelaar Netbeheer Noord'));
    const [contacted] = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, c.id), eq(auditLog.action, 'case.contacted')));
    expect(contacted).toMatchObject({ actor: `user:${person!.id}`, actorName: 'Behandelaar Netbeheer Noord' });
    expect(contacted!.data).toMatchObject({ method: 'telephone', contactPerson: 'P. Jansen, afdeling compliance' });
    expect(problems).toEqual([]);
    await context.close();
  }, 180_000);
});
