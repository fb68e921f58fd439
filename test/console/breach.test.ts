/**
 * Issue 19, the privacy officer's GT-11 journey in a real browser: from the work queue to the breach assessment
 * (its art. 33 clock and the prefilled facts), the decision signed after a fresh sign-in (step-up), and the
 * grid-user letter downloaded through the console — ending in the database and the audit chain naming the person.
 */
import { readFile } from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, breachAssessments, people } from '../../db/schema/index.js';
import { call } from '../core/fixtures.js';
import { checkPage, consoleStack, newContext, signIn, signInAt, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_breach');
});
afterAll(async () => stack?.close());

/** A case of `op` with a breach assessment asked for by its handler (GT-11: the 72 hours start now). */
async function assessment(op: ConsoleStack['noord']) {
  const c = await stack.openCase(op, false);
  const opened = await call(stack.ctx.app, op.handlerKey, 'POST', `/cases/${c.id}/breach-assessment`);
  expect(opened.statusCode, opened.body).toBe(201);
  return { caseId: c.id, reference: c.reference, id: opened.json<{ id: string }>().id };
}

describe('the privacy officer’s GT-11 journey', () => {
  it('opens the assessment from the queue, decides it with step-up and downloads the letter', async () => {
    const mine = await assessment(stack.noord);
    const theirs = await assessment(stack.zuid);
    const { context, page, problems } = await newContext(stack);

    await signIn(stack, page, stack.noord, 'privacy');
    expect(new URL(page.url()).pathname).toBe('/console/queue');
    await checkPage(page, 'b01-queue-privacy');
    // The queue's GT-11 item links to the assessment's page (a privacy officer cannot read the case itself).
    const item = page.locator(`table.queue tbody a[href="/console/breach/${mine.id}"]`);
    expect(await item.textContent()).toBe(mine.reference);
    expect(await page.locator(`a[href="/console/breach/${theirs.id}"]`).count()).toBe(0);

    // The list: the own operator's assessments only, each with its clock (time left, Amsterdam).
    await page.getByRole('link', { name: 'Datalekken' }).click();
    await page.waitForURL('**/console/breach');
    await checkPage(page, 'b02-breach-list');
    const row = page.locator('table.breaches tbody tr', { has: page.locator(`a[href="/console/breach/${mine.id}"]`) });
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('gevraagd door een behandelaar');
    expect(cells[3]).toMatch(/^loopt, nog (2 d 23|3 d 0) u$/);
    expect(await page.locator(`a[href="/console/breach/${theirs.id}"]`).count()).toBe(0);
    // Another operator's assessment is not found, as in the API.
    const other = await page.goto(`${stack.origin}/console/breach/${theirs.id}`);
    expect(other!.status()).toBe(404);

    await page.goto(`${stack.origin}/console/queue`);
    await item.click();
    await page.waitForURL(`**/console/breach/${mine.id}`);
    expect(await page.locator('h1').textContent()).toBe(`Datalekbeoordeling ${mine.reference}`);
    expect(await page.locator('dl.clock').textContent()).toMatch(/loopt, nog (2 d 23|3 d 0) u/);
    // The prefill (the AP report's draft and the access register's counts).
    const facts = await page.locator('section[aria-labelledby=facts]').textContent();
    expect(facts).toContain('die bij navraag (gerede twijfel klantmandaat) het klantmandaat niet kon aantonen');
    expect(facts).toContain('Leveringen0');
    await checkPage(page, 'b03-breach');

    // Incomplete (no reason for not notifying the AP): refused before any sign-in, the text kept.
    const form = page.locator(`form[action="/console/breach/${mine.id}/decision"]`);
    await form
      .getByRole('group', { name: /Melden aan de Autoriteit/ })
      .getByLabel('Nee')
      .check();
    await form
      .getByRole('group', { name: /netgebruiker inlichten/ })
      .getByLabel('Ja')
      .check();
    await form.getByLabel(/Beoordeling/).fill('Kwartierwaarden verstrekt zonder aangetoonde machtiging');
    await form.getByRole('button', { name: 'Besluit ondertekenen' }).click();
    await page.waitForURL(`**/console/breach/${mine.id}/decision`);
    expect(await page.locator('p.notice.error').textContent()).toContain('(body.apReason)');
    expect(await form.getByLabel(/Beoordeling/).inputValue()).toBe(
      'Kwartierwaarden verstrekt zonder aangetoonde machtiging',
    );
    await checkPage(page, 'b04-breach-incomplete');

    // Complete: the provider asks the person to sign in again, then the decision is recorded, signed.
    await form.getByLabel(/Reden om niet te melden/).fill('Eén aansluiting, geen bijzondere gegevens: laag risico');
    await form.getByRole('button', { name: 'Besluit ondertekenen' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    await signInAt(page, 'privacy');
    await page.waitForURL(`**/console/breach/${mine.id}`);
    expect(await page.locator('p.notice').first().textContent()).toContain('Besluit vastgelegd.');
    expect(await page.locator('section[aria-labelledby=decided]').textContent()).toContain(
      'Besloten door Privacy officer Netbeheer Noord (privacy officer)',
    );
    await checkPage(page, 'b05-breach-decided');

    // The grid-user letter, streamed through the console as a download, signed by the officer.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Brief aan de netgebruiker (tekst)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`brief-netgebruiker-${mine.id}.txt`);
    const letter = await readFile((await download.path())!, 'utf8');
    expect(letter).toContain(`kenmerk ${mine.reference}`);
    expect(letter).toContain('Privacy officer Netbeheer Noord, functionaris gegevensbescherming');

    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, 'Privacy officer Netbeheer Noord'));
    expect(person).toMatchObject({ gridOperatorId: stack.noord.id, roles: ['privacy-officer'] });
    const [row2] = await stack.ctx.db.select().from(breachAssessments).where(eq(breachAssessments.id, mine.id));
    expect(row2).toMatchObject({
      clock: 'met',
      notifyAp: false,
      apReason: 'Eén aansluiting, geen bijzondere gegevens: laag risico',
      informGridUser: true,
      assessment: 'Kwartierwaarden verstrekt zonder aangetoonde machtiging',
      decidedBy: `user:${person!.id}`,
      decidedByName: 'Privacy officer Netbeheer Noord',
      decidedByRole: 'privacy-officer',
    });
    const decided = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, mine.caseId), eq(auditLog.action, 'breach.decided')));
    expect(decided).toHaveLength(1);
    expect(decided[0]).toMatchObject({
      actor: `user:${person!.id}`,
      actorName: 'Privacy officer Netbeheer Noord',
      actorRole: 'privacy-officer',
      actorPartyId: stack.noord.id,
    });
    expect(decided[0]!.data).toMatchObject({ assessmentId: mine.id, notifyAp: false, informGridUser: true });
    const [stepUp] = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, person!.id), eq(auditLog.action, 'person.stepped_up')));
    expect(stepUp!.data).toMatchObject({ purpose: 'breach.decision', subjectId: mine.id });
    expect(stepUp!.id).toBeLessThan(decided[0]!.id);
    // Issue 19: the decision's own entry carries the authentication it was signed with (instant, acr, amr).
    const { acr, amr, authenticatedAt } = stepUp!.data as { acr: unknown; amr: unknown; authenticatedAt: string };
    expect(decided[0]!.data['signedWith']).toEqual({ kind: 'step_up', authenticatedAt, acr, amr });
    // The other operator's assessment is untouched.
    const [untouched] = await stack.ctx.db.select().from(breachAssessments).where(eq(breachAssessments.id, theirs.id));
    expect(untouched!.decidedAt).toBeNull();
    // The browser reports the two refusals above (their status), and nothing else: no CSP violation, no error.
    expect(problems.map((m) => m.replace(stack.origin, ''))).toEqual([
      `page /console/breach/${theirs.id}: Failed to load resource: the server responded with a status of 404 (Not Found)`,
      `page /console/breach/${mine.id}/decision: Failed to load resource: the server responded with a status of 400 (Bad Request)`,
    ]);
    await context.close();
  }, 240_000);

  it('decides without JavaScript (plain POST, CSRF required) and downloads the AP report', async () => {
    const a = await assessment(stack.zuid);
    const { context, page } = await newContext(stack, false);
    await signIn(stack, page, stack.zuid, 'privacy');
    await page.goto(`${stack.origin}/console/breach/${a.id}`);
    await checkPage(page, 'b06-breach-nojs', false);

    // A POST without the form's CSRF token is refused, and nothing is decided (nor is a sign-in asked for).
    const forged = await context.request.post(`${stack.origin}/console/breach/${a.id}/decision`, {
      headers: { origin: stack.origin },
      form: { notifyAp: 'true', informGridUser: 'true', assessment: 'Zonder token' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);

    const form = page.locator(`form[action="/console/breach/${a.id}/decision"]`);
    await form
      .getByRole('group', { name: /Melden aan de Autoriteit/ })
      .getByLabel('Ja')
      .check();
    await form
      .getByRole('group', { name: /netgebruiker inlichten/ })
      .getByLabel('Nee')
      .check();
    await form.getByLabel(/Reden om niet in te lichten/).fill('Adres onbekend; de AP wordt gemeld');
    await form.getByLabel(/Beoordeling/).fill('Verbruiksgegevens van één aansluiting verstrekt');
    await form.getByRole('button', { name: 'Besluit ondertekenen' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.zuid.idp.issuer));
    await signInAt(page, 'privacy');
    await page.waitForURL(`**/console/breach/${a.id}`);
    expect(await page.locator('p.notice').first().textContent()).toContain('Besluit vastgelegd.');
    await checkPage(page, 'b07-breach-decided-nojs', false);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Inhoud van de melding aan de AP (JSON)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`ap-melding-${a.reference}.json`);
    const report = JSON.parse(await readFile((await download.path())!, 'utf8')) as Record<string, unknown>;
    expect(report).toMatchObject({
      status: 'to_be_notified',
      caseReference: a.reference,
      decidedBy: 'Privacy officer Netbeheer Zuid',
      dataSubjectsInformed: false,
      dataSubjectsNotInformedReason: 'Adres onbekend; de AP wordt gemeld',
    });

    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, 'Privacy officer Netbeheer Zuid'));
    const [row] = await stack.ctx.db.select().from(breachAssessments).where(eq(breachAssessments.id, a.id));
    expect(row).toMatchObject({ notifyAp: true, informGridUser: false, decidedBy: `user:${person!.id}` });
    const decided = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, a.caseId), eq(auditLog.action, 'breach.decided')));
    expect(decided.map((d) => [d.actor, d.actorName, d.actorPartyId])).toEqual([
      [`user:${person!.id}`, 'Privacy officer Netbeheer Zuid', stack.zuid.id],
    ]);
    await context.close();
  }, 240_000);
});
