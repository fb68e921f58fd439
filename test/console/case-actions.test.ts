/**
 * Issue 19, the case page's remaining acts in a real browser: a keyboard-only "find the most urgent case and judge
 * it"; opening the evidence (sandboxed, nosniff, every opening audited); asking for more evidence, a legal hold and
 * its release, informing the ACM (JavaScript on); withdrawing with a reason code and a stale form's refusal
 * (JavaScript off) — each ending in the database and the audit chain naming the person (`user:<id>`).
 */
import { readFile } from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acmNotifications,
  auditLog,
  caseResponses,
  doubtCases,
  evidenceRequests,
  people,
} from '../../db/schema/index.js';
import { checkPage, consoleStack, newContext, signIn, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_case_actions');
});
afterAll(async () => stack?.close());

const audits = (caseId: string, action: string) =>
  stack.ctx.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityId, caseId), eq(auditLog.action, action)))
    .orderBy(auditLog.id);

async function handler() {
  const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, 'Behandelaar Netbeheer Noord'));
  expect(person).toBeDefined();
  return { actor: `user:${person!.id}`, actorName: 'Behandelaar Netbeheer Noord', actorRole: 'case-handler' };
}

const notice = (page: Page) => page.locator('main > p.notice').first().textContent();

/**
 * Tab until the focused element matches `selector` (at most 80 presses), then check the focus is visible
 * (:focus-visible with the console's outline; the provider's page has its own styles). Returns the presses.
 */
async function tabTo(page: Page, selector: string, console = true): Promise<number> {
  for (let presses = 0; presses <= 80; presses++) {
    const focused = await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
    if (focused) {
      if (!console) return presses;
      const focus = await page.evaluate(() => {
        const el = document.activeElement!;
        const style = getComputedStyle(el);
        return { visible: el.matches(':focus-visible'), outline: style.outlineStyle, width: style.outlineWidth };
      });
      expect(focus.visible, `focus visible on ${selector}`).toBe(true);
      expect(focus.outline, `outline on ${selector}`).not.toBe('none');
      expect(parseFloat(focus.width), `outline width on ${selector}`).toBeGreaterThanOrEqual(2);
      return presses;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

describe('the case page’s acts', () => {
  // First in the file: the queue then holds only this journey's cases.
  it('finds the most urgent case and judges it with the keyboard only (Tab, Enter, Space)', async () => {
    const urgent = await stack.openCase(stack.noord, true);
    const later = await stack.openCase(stack.noord, true);
    const { context, page, problems } = await newContext(stack);
    let keys = 0;
    const started = Date.now();

    await page.goto(`${stack.origin}/console`);
    await page.waitForURL('**/console/sign-in**');
    keys += await tabTo(page, 'a[href="/console/login/noord"]');
    await page.keyboard.press('Enter');
    // At the provider's form: typed, not clicked.
    await page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    keys += await tabTo(page, 'input[name=login]', false);
    await page.keyboard.type('behandelaar');
    keys += await tabTo(page, 'input[name=password]', false);
    await page.keyboard.type('demo');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/console/queue');
    await checkPage(page, '30-keyboard-queue');

    // The most urgent is the queue's first row (the API's order): the case whose 72 hours end first.
    keys += await tabTo(page, 'table.queue tbody tr:first-child th a');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(urgent.reference);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/console/cases/${urgent.id}`);
    await checkPage(page, '31-keyboard-case');

    const judge = `form[action="/console/cases/${urgent.id}/judgements"]`;
    keys += await tabTo(page, `${judge} input[value=accept]`);
    await page.keyboard.press('Space');
    expect(await page.locator(`${judge} input[value=accept]`).isChecked()).toBe(true);
    keys += await tabTo(page, `${judge} button[type=submit]`);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/console/cases/${urgent.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toContain('Oordeel vastgelegd.');
    await checkPage(page, '32-keyboard-judged');
    keys += 5; // the three Enters and a Space above, and the sign-in's Enter
    console.info(`keyboard-only find and judge: ${keys} keys, 0 clicks, ${Date.now() - started} ms`);

    const who = await handler();
    const [judged] = await stack.ctx.db.select().from(caseResponses).where(eq(caseResponses.id, urgent.responseId!));
    expect(judged).toMatchObject({
      judgement: 'accepted',
      judgedBy: who.actor,
      judgedByName: who.actorName,
      judgedByRole: 'case-handler',
    });
    const [entry] = await audits(urgent.id, 'case.evidence_judged');
    expect(entry).toMatchObject(who);
    const [untouched] = await stack.ctx.db.select().from(caseResponses).where(eq(caseResponses.id, later.responseId!));
    expect(untouched!.judgement).toBeNull();
    expect(problems).toEqual([]);
    await context.close();
  }, 240_000);

  it('opens the evidence, asks for more, places and releases a legal hold and informs the ACM', async () => {
    const c = await stack.openCase(stack.noord, true);
    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    await page.goto(`${stack.origin}/console/cases/${c.id}`);
    await checkPage(page, '20-case-actions');
    const who = await handler();

    // The evidence: the API's copy through the console, sandboxed and not sniffed; the opening is audited.
    const [download, response] = await Promise.all([
      page.waitForEvent('download'),
      page.waitForResponse((r) => r.url().endsWith(`/responses/${c.responseId}/evidence`)),
      page.getByRole('link', { name: 'Openen: machtiging.pdf' }).click(),
    ]);
    const headers = await response.allHeaders();
    expect(response.status()).toBe(200);
    expect(headers['content-security-policy']).toMatch(/^sandbox;/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['content-type']).toBe('application/pdf');
    expect(headers['content-disposition']).toMatch(/^attachment; filename="machtiging\.pdf"/);
    expect(download.suggestedFilename()).toBe('machtiging.pdf');
    expect((await readFile((await download.path())!)).subarray(0, 5).toString()).toBe('%PDF-');
    const opened = await audits(c.id, 'case.evidence_opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject(who);
    expect(opened[0]!.data).toMatchObject({ responseId: c.responseId, filename: 'machtiging.pdf' });
    // Another grid operator's handler: the same address is a case not found (404, never 403), and no opening.
    const other = await newContext(stack);
    await signIn(stack, other.page, stack.zuid, 'behandelaar');
    const refused = await other.page.goto(`${stack.origin}/console/cases/${c.id}/responses/${c.responseId}/evidence`);
    expect(refused!.status()).toBe(404);
    expect(await other.page.locator('main').textContent()).toContain('Deze zaak bestaat niet');
    expect(await audits(c.id, 'case.evidence_opened')).toHaveLength(1);
    await other.context.close();

    // More evidence, within the party's unchanged 72 hours (GT-3).
    await page.getByLabel('Wat is nog nodig (zo gemaild aan de partij)').fill('Stuur de getekende machtiging mee');
    await page.getByRole('button', { name: 'Om bewijs vragen' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toContain('Verzoek om bewijs vastgelegd');
    expect(await page.locator('ul.requests').textContent()).toContain('Stuur de getekende machtiging mee');
    await checkPage(page, '21-case-evidence-requested');
    const [request] = await stack.ctx.db.select().from(evidenceRequests).where(eq(evidenceRequests.caseId, c.id));
    expect(request).toMatchObject({ requestedBy: who.actor, message: 'Stuur de getekende machtiging mee' });
    const [requested] = await audits(c.id, 'case.evidence_requested');
    expect(requested).toMatchObject(who);

    // A legal hold (the case goes to the AP), then its release.
    await page.getByLabel('Instantie').selectOption('ap');
    await page.getByLabel('Reden van bewaren').fill('Klacht bij de AP ingediend');
    await page.getByRole('button', { name: 'Legal hold plaatsen' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toBe('Legal hold geplaatst; 1 kopie(ën) bewaard.');
    expect(await page.locator('p.hold').textContent()).toContain('Autoriteit Persoonsgegevens');
    expect(await page.getByRole('button', { name: 'Legal hold plaatsen' }).count()).toBe(0);
    await checkPage(page, '22-case-legal-hold');
    const [held] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(held).toMatchObject({ legalHoldBy: who.actor, legalHoldAuthority: 'ap' });
    const [set] = await audits(c.id, 'case.legal_hold_set');
    expect(set).toMatchObject(who);
    expect(set!.data).toMatchObject({ authority: 'ap', reason: 'Klacht bij de AP ingediend' });

    await page.getByLabel('Reden van opheffen').fill('De AP heeft de klacht afgehandeld');
    await page.getByRole('button', { name: 'Legal hold opheffen' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toBe('Legal hold opgeheven; 0 kopie(ën) vernietigd.');
    await checkPage(page, '23-case-legal-hold-released');
    const [released] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(released!.legalHoldSince).toBeNull();
    const [lifted] = await audits(c.id, 'case.legal_hold_released');
    expect(lifted).toMatchObject(who);

    // The ACM, informed (GT-6).
    await page.getByLabel('Bericht aan de ACM').fill('Herhaald signaal over deze leverancier');
    await page.getByRole('button', { name: 'ACM inlichten' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toBe('De ACM is ingelicht.');
    expect(await page.locator('form[action$="/acm-notifications"]').textContent()).toContain('eerder ingelicht');
    await checkPage(page, '24-case-acm');
    const [sent] = await stack.ctx.db.select().from(acmNotifications).where(eq(acmNotifications.caseId, c.id));
    expect(sent!.sentBy).toBe(who.actor);
    expect(sent!.report).toMatchObject({ message: 'Herhaald signaal over deze leverancier' });
    const [notified] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(notified!.acmNotifiedAt).not.toBeNull();
    const [acmEntry] = await audits(c.id, 'case.acm_notified');
    expect(acmEntry).toMatchObject(who);
    expect(problems).toEqual([]);
    await context.close();
  }, 240_000);

  it('withdraws a case with a reason code without JavaScript; a stale form gets the API’s refusal', async () => {
    const c = await stack.openCase(stack.noord, false);
    const { context, page } = await newContext(stack, false);
    await signIn(stack, page, stack.noord, 'behandelaar');
    await page.goto(`${stack.origin}/console/cases/${c.id}`);
    // The same case in a second tab, loaded before the withdrawal: its forms go stale.
    const stale = await context.newPage();
    await stale.goto(`${stack.origin}/console/cases/${c.id}`);
    expect(await stale.getByRole('button', { name: 'Om bewijs vragen' }).count()).toBe(1);
    await checkPage(page, '25-case-withdraw-nojs', false);
    const who = await handler();

    await page.getByLabel('Reden', { exact: true }).selectOption('not_concerning_party');
    await page.locator('form[action$="/withdraw"]').getByLabel('Toelichting').fill('Signaal betrof de buren');
    await page.getByRole('button', { name: 'Zaak intrekken' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    expect(await notice(page)).toBe('Zaak ingetrokken; de blokkade wordt opgeheven.');
    // Closed: no withdrawal or evidence request offered any more; the ACM may still be informed (GT-6).
    expect(await page.getByRole('button', { name: 'Zaak intrekken' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Om bewijs vragen' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'ACM inlichten' }).count()).toBe(1);
    expect(await page.locator('#actions').textContent()).toContain('Ingetrokken: Het signaal betrof deze partij niet');
    await checkPage(page, '26-case-withdrawn-nojs', false);
    const [row] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(row).toMatchObject({ status: 'closed_wrongful_block', withdrawalReason: 'not_concerning_party' });
    const [closed] = await audits(c.id, 'case.closed');
    expect(closed).toMatchObject(who);
    expect(closed!.data).toMatchObject({ reason: 'Signaal betrof de buren' });

    // The stale tab asks for evidence on the closed case: the API refuses, the page says so, nothing is recorded.
    await stale.getByLabel('Wat is nog nodig (zo gemaild aan de partij)').fill('Te laat');
    await stale.getByRole('button', { name: 'Om bewijs vragen' }).click();
    await stale.waitForURL(`**/console/cases/${c.id}`);
    expect(await stale.locator('main > p.notice.error').textContent()).toMatch(/closed/);
    expect(await stack.ctx.db.select().from(evidenceRequests).where(eq(evidenceRequests.caseId, c.id))).toEqual([]);
    await context.close();
  }, 240_000);
});
