/**
 * Issue 19, a compliance officer in a real browser: signs in at their grid operator's provider (the group
 * `gt-compliance` → role compliance), finds a case by its reference, opens its evidence (sandboxed, nosniff, an
 * attachment; the opening audited) and places and releases a legal hold from the case page — each ending in the
 * database and the audit chain naming the person (`user:<id>`, role compliance). The handler's acts (judging, more
 * evidence, withdrawal, the ACM) are not offered to them. axe on every page: 0 serious or critical findings.
 */
import { readFile } from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, doubtCases, people } from '../../db/schema/index.js';
import { checkPage, consoleStack, newContext, signIn, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_compliance');
});
afterAll(async () => stack?.close());

const audits = (caseId: string, action: string) =>
  stack.ctx.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.entityId, caseId), eq(auditLog.action, action)))
    .orderBy(auditLog.id);

const notice = (page: Page) => page.locator('main > p.notice').first().textContent();

describe('a compliance officer in the console', () => {
  it('finds a case, opens its evidence, places and releases a legal hold; all named after the person', async () => {
    const c = await stack.openCase(stack.noord, true);
    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'compliance');
    expect(new URL(page.url()).pathname).toBe('/console/queue');
    await checkPage(page, '40-compliance-queue');
    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, 'Compliance Netbeheer Noord'));
    expect(person).toMatchObject({ gridOperatorId: stack.noord.id, roles: ['compliance'] });
    const who = {
      actor: `user:${person!.id}`,
      actorName: 'Compliance Netbeheer Noord',
      actorRole: 'compliance',
      actorPartyId: stack.noord.id,
    };

    // The case by its reference (GET /cases?q=…, held to the person's grid operator), then its page.
    await page.getByLabel('Kenmerk, EAN, partij (GLN of naam) of referentie van de melder').fill(c.reference);
    await page.getByRole('button', { name: 'Zoeken' }).click();
    await page.waitForURL((u) => u.pathname === '/console/queue' && u.searchParams.get('q') === c.reference);
    const found = page.locator('table.results tbody th a');
    expect(await found.allTextContents()).toEqual([c.reference]);
    await checkPage(page, '41-compliance-search');
    await found.first().click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await checkPage(page, '42-compliance-case');
    // The handler's acts are not theirs: no judgement, evidence request, withdrawal or ACM notice offered.
    for (const name of ['Om bewijs vragen', 'Zaak intrekken', 'ACM inlichten'])
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    expect(await page.locator('form[action$="/judgements"]').count()).toBe(0);

    // The evidence: the API's copy, streamed as an attachment, sandboxed and not sniffed; the opening is audited.
    const [download, response] = await Promise.all([
      page.waitForEvent('download'),
      page.waitForResponse((r) => r.url().endsWith(`/responses/${c.responseId}/evidence`)),
      page.getByRole('link', { name: 'Openen: machtiging.pdf' }).click(),
    ]);
    const headers = await response.allHeaders();
    expect(response.status()).toBe(200);
    expect(headers['content-security-policy']).toMatch(/^sandbox;/);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['content-disposition']).toMatch(/^attachment; filename="machtiging\.pdf"/);
    expect((await readFile((await download.path())!)).subarray(0, 5).toString()).toBe('%PDF-');
    const opened = await audits(c.id, 'case.evidence_opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject(who);
    expect(opened[0]!.data).toMatchObject({ responseId: c.responseId, filename: 'machtiging.pdf' });

    // A legal hold for the disputes committee, then its release.
    await page.getByLabel('Instantie').selectOption('disputes_committee');
    await page.getByLabel('Reden van bewaren').fill('Geschil aanhangig bij de Geschillencommissie');
    await page.getByRole('button', { name: 'Legal hold plaatsen' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toBe('Legal hold geplaatst; 1 kopie(ën) bewaard.');
    expect(await page.getByRole('button', { name: 'Legal hold plaatsen' }).count()).toBe(0);
    await checkPage(page, '43-compliance-legal-hold');
    const [held] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(held).toMatchObject({ legalHoldBy: who.actor, legalHoldAuthority: 'disputes_committee' });
    expect(held!.legalHoldSince).not.toBeNull();
    const [set, ...moreSet] = await audits(c.id, 'case.legal_hold_set');
    expect(moreSet).toEqual([]);
    expect(set).toMatchObject(who);
    expect(set!.data).toMatchObject({
      authority: 'disputes_committee',
      reason: 'Geschil aanhangig bij de Geschillencommissie',
    });

    await page.getByLabel('Reden van opheffen').fill('Uitspraak van de Geschillencommissie ontvangen');
    await page.getByRole('button', { name: 'Legal hold opheffen' }).click();
    await page.waitForURL(`**/console/cases/${c.id}`);
    await expect.poll(() => notice(page), { timeout: 20_000 }).toMatch(/^Legal hold opgeheven;/);
    expect(await page.getByRole('button', { name: 'Legal hold plaatsen' }).count()).toBe(1);
    await checkPage(page, '44-compliance-legal-hold-released');
    const [released] = await stack.ctx.db.select().from(doubtCases).where(eq(doubtCases.id, c.id));
    expect(released!.legalHoldSince).toBeNull();
    const [lifted, ...moreLifted] = await audits(c.id, 'case.legal_hold_released');
    expect(moreLifted).toEqual([]);
    expect(lifted).toMatchObject(who);
    expect(lifted!.data).toMatchObject({ reason: 'Uitspraak van de Geschillencommissie ontvangen' });
    expect(problems).toEqual([]);
    await context.close();
  }, 240_000);
});
