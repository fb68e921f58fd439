/**
 * Issue 19, GT-5 in a real browser: a grid operator's case handler finds the proposal in the work queue, opens the
 * review (the signal cases it cites, the electorate), votes and — after the other grid operator's vote and the
 * follow-up — signs the ACM decision, each signed act after a fresh authentication at the provider (step-up),
 * ending in the database and the audit chain naming the person (`user:<id>`); and, on another review in its
 * follow-up, records the party's commitment the same way. axe on every page.
 */
import { and, asc, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, improvementReviews, people, reviewVotes } from '../../db/schema/index.js';
import { reviewWorkflowId, type RepeatOffenderScanResult } from '../../workflows/shared.js';
import { call, makeConnection, makeMandate } from '../core/fixtures.js';
import { tag } from '../api/case-context.js';
import { checkPage, consoleStack, newContext, signIn, signInAt, type ConsoleStack } from './harness.js';

let stack: ConsoleStack;
beforeAll(async () => {
  stack = await consoleStack('console_reviews');
});
afterAll(async () => stack?.close());

const NAME = 'Behandelaar Netbeheer Noord';

async function waitForStatus(reviewId: string, status: string) {
  await expect
    .poll(
      async () =>
        (await stack.ctx.db.select().from(improvementReviews).where(eq(improvementReviews.id, reviewId)))[0]?.status,
      { timeout: 30_000, interval: 200 },
    )
    .toBe(status);
}

describe('GT-5 reviews in the console', () => {
  it('a handler votes and signs the ACM decision, each with step-up', async () => {
    // Three signals about one party from both grid operators; the scan proposes a review (electorate: both).
    const signals = [
      await stack.openCase(stack.noord, false),
      await stack.openCase(stack.noord, false),
      await stack.openCase(stack.zuid, false),
    ];
    const scan = (await stack.ctx.temporal.workflow.execute('repeatOffenderScanWorkflow', {
      taskQueue: stack.ctx.taskQueue,
      workflowId: `scan-${stack.ctx.taskQueue}`,
      // No follow-up period: after the agreement the review waits for the decision at once (the dev server's clock).
      args: [{ threshold: 3, windowDays: 30, followUpDays: 0, votingDays: 30 }],
    })) as RepeatOffenderScanResult;
    const reviewId = scan.offenders[0]!.reviewId!;
    expect(scan.offenders).toHaveLength(1);
    await waitForStatus(reviewId, 'proposed');

    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    // The queue's vote item links to the review page.
    const link = page.locator(`table.queue a[href="/console/reviews/${reviewId}"]`);
    await expect.poll(() => link.count()).toBe(1);
    expect(await link.locator('xpath=ancestor::tr').locator('td').first().textContent()).toBe('Stemmen');

    // The list of reviews.
    await page.getByRole('link', { name: 'Herhaalde overtreders' }).click();
    await page.waitForURL('**/console/reviews');
    expect(await page.locator('table.reviews tbody tr').count()).toBe(1);
    expect(await page.locator('table.reviews tbody td').first().textContent()).toBe(
      'voorgesteld: de netbeheerders stemmen',
    );
    await checkPage(page, 'r01-reviews');

    await page.locator(`table.reviews a[href="/console/reviews/${reviewId}"]`).click();
    await page.waitForURL(`**/console/reviews/${reviewId}`);
    await checkPage(page, 'r02-review-proposed');
    // The signal cases it cites: all three; this operator's two link to their case pages, the other's does not.
    const cited = page.locator('table.signals tbody th');
    expect((await cited.allTextContents()).sort()).toEqual(signals.map((s) => s.reference).sort());
    const linked = await page
      .locator('table.signals tbody th a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(linked.sort()).toEqual([`/console/cases/${signals[0]!.id}`, `/console/cases/${signals[1]!.id}`].sort());
    // The electorate: both grid operators, neither has voted.
    expect(await page.locator('table.votes tbody th').allTextContents()).toEqual(
      expect.arrayContaining([stack.noord.name, stack.zuid.name]),
    );
    expect(await page.locator('table.votes tbody td:nth-child(2)').allTextContents()).toEqual([
      'nog niet gestemd',
      'nog niet gestemd',
    ]);
    expect(await page.locator('form[action$="/decision"]').count()).toBe(0);

    // Refused before anything: no CSRF token, another origin (403); a review not shown to the person (404).
    const token = await page.locator('form[action$="/votes"] input[name=_csrf]').getAttribute('value');
    const post = (path: string, form: Record<string, string>, origin = stack.origin) =>
      page.request.post(`${stack.origin}${path}`, { form, headers: { origin }, maxRedirects: 0 });
    const votePath = `/console/reviews/${reviewId}/votes`;
    expect((await post(votePath, { agree: 'true', reason: 'zonder token' })).status()).toBe(403);
    expect(
      (await post(votePath, { agree: 'true', reason: 'elders', _csrf: token! }, 'http://evil.example')).status(),
    ).toBe(403);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await page.request.get(`${stack.origin}/console/reviews/${unknown}`)).status()).toBe(404);
    expect(
      (await post(`/console/reviews/${unknown}/votes`, { agree: 'true', reason: 'x', _csrf: token! })).status(),
    ).toBe(404);
    // With both, the act goes to the provider for the step-up first; nothing is recorded before it.
    const toProvider = await post(votePath, { agree: 'true', reason: 'nog niet', _csrf: token! });
    expect(toProvider.status()).toBe(303);
    expect(toProvider.headers()['location']).toMatch(new RegExp(`^${stack.noord.idp.issuer}.*prompt=login`));
    expect(await stack.ctx.db.select().from(reviewVotes).where(eq(reviewVotes.reviewId, reviewId))).toEqual([]);

    // The vote: signed, so the provider asks the person to sign in again first.
    const vote = page.locator('form[action$="/votes"]');
    expect(await vote.count()).toBe(1);
    await vote.getByLabel(/Eens: dit zijn/).check();
    await vote.getByLabel('Reden').fill('Zelfde patroon bij beide netbeheerders');
    await vote.getByRole('button', { name: 'Stem ondertekenen' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    await signInAt(page, 'behandelaar');
    await page.waitForURL(`**/console/reviews/${reviewId}`);
    expect(await page.locator('p.notice').first().textContent()).toBe('Stem vastgelegd.');
    await checkPage(page, 'r03-review-voted');
    expect(await page.locator('form[action$="/votes"]').count()).toBe(0);

    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, NAME));
    const actor = `user:${person!.id}`;
    const [noordVote] = await stack.ctx.db
      .select()
      .from(reviewVotes)
      .where(and(eq(reviewVotes.reviewId, reviewId), eq(reviewVotes.gridOperatorId, stack.noord.id)));
    expect(noordVote).toMatchObject({
      agree: true,
      reason: 'Zelfde patroon bij beide netbeheerders',
      votedBy: actor,
      votedByName: NAME,
      votedByRole: 'case-handler',
    });

    // The other grid operator votes through the API (its key's holder): agreed; no follow-up, so the decision waits.
    const other = await call(stack.ctx.app, stack.zuid.handlerKey, 'POST', `/reviews/${reviewId}/votes`, {
      agree: true,
      reason: 'Herkenbaar',
    });
    expect(other.statusCode, other.body).toBe(200);
    await waitForStatus(reviewId, 'awaiting_decision');

    await page.goto(`${stack.origin}/console/queue`);
    const decide = page.locator(`table.queue a[href="/console/reviews/${reviewId}"]`);
    expect(await decide.locator('xpath=ancestor::tr').locator('td').first().textContent()).toBe(
      'Besluit over melding aan de ACM',
    );
    await decide.click();
    await page.waitForURL(`**/console/reviews/${reviewId}`);
    await checkPage(page, 'r04-review-awaiting-decision');
    // The decision with JavaScript off: plain POSTs all the way, through the provider's step-up and back.
    const nojs = await newContext(stack, false);
    await signIn(stack, nojs.page, stack.noord, 'behandelaar');
    await nojs.page.goto(`${stack.origin}/console/reviews/${reviewId}`);
    const form = nojs.page.locator('form[action$="/decision"]');
    await form.getByLabel('melden aan de ACM').check();
    await form.getByLabel('Reden').fill('Signalen niet afgenomen na de toezegging');
    await form.getByRole('button', { name: 'Besluit ondertekenen' }).click();
    await nojs.page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    await signInAt(nojs.page, 'behandelaar');
    await nojs.page.waitForURL(`**/console/reviews/${reviewId}`);
    expect(await nojs.page.locator('p.notice').first().textContent()).toBe('Besluit vastgelegd.');
    await checkPage(nojs.page, 'r05-review-decided-nojs', false);
    await nojs.context.close();
    await page.reload();
    expect(await page.locator('p.decision').textContent()).toBe(
      'melden aan de ACM: Signalen niet afgenomen na de toezegging',
    );
    expect(await page.locator('form[action$="/decision"]').count()).toBe(0);
    await checkPage(page, 'r05-review-decided');

    // The database and the audit chain name the person; each signed act follows its own fresh authentication.
    await waitForStatus(reviewId, 'reported_to_acm');
    const [row] = await stack.ctx.db.select().from(improvementReviews).where(eq(improvementReviews.id, reviewId));
    expect(row).toMatchObject({
      decision: 'report',
      decisionReason: 'Signalen niet afgenomen na de toezegging',
      decidedBy: actor,
      decidedByName: NAME,
      decidedByRole: 'case-handler',
      decidedByGridOperatorId: stack.noord.id,
    });
    const trail = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.entityId, reviewId))
      .orderBy(asc(auditLog.id));
    const voted = trail.filter((e) => e.action === 'review.vote_recorded');
    expect(voted.map((e) => [e.actor, e.actorName])).toEqual([
      [actor, NAME],
      [expect.stringMatching(/^api-key:/), expect.anything()],
    ]);
    const signed = trail.find((e) => e.action === 'review.acm_report_signed');
    expect(signed).toMatchObject({ actor, actorName: NAME, actorRole: 'case-handler', actorPartyId: stack.noord.id });
    const stepUps = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, person!.id), eq(auditLog.action, 'person.stepped_up')))
      .orderBy(asc(auditLog.id));
    expect(stepUps.map((s) => s.data)).toEqual([
      expect.objectContaining({ purpose: 'review.vote', subjectId: reviewId }),
      expect.objectContaining({ purpose: 'review.decision', subjectId: reviewId }),
    ]);
    expect(stepUps[0]!.id).toBeLessThan(voted[0]!.id);
    expect(stepUps[1]!.id).toBeLessThan(signed!.id);
    // Issue 19: the vote's and the decision's own entries carry the authentication each was signed with.
    const signedWith = (s: (typeof stepUps)[number]) => ({
      kind: 'step_up',
      authenticatedAt: s.data['authenticatedAt'],
      acr: s.data['acr'],
      amr: s.data['amr'],
    });
    expect(voted[0]!.data['signedWith']).toEqual(signedWith(stepUps[0]!));
    expect(signed!.data['signedWith']).toEqual(signedWith(stepUps[1]!));
    expect(problems).toEqual([]);
    await context.close();
    await stack.ctx.temporal.workflow
      .getHandle(reviewWorkflowId(reviewId))
      .terminate('test done')
      .catch(() => undefined);
  }, 240_000);

  it('a handler records the party’s commitment during the follow-up, with step-up', async () => {
    // Another party, three signals from both grid operators; both agree through the API; a follow-up period runs.
    const party = await stack.ctx.party(['supplier']);
    for (const op of [stack.noord, stack.noord, stack.zuid]) {
      const conn = await makeConnection(stack.ctx.db, { gridOperatorId: op.id, supplierId: party.id });
      await makeMandate(stack.ctx.db, { partyId: party.id, connectionEan: conn.ean });
      const opened = await stack.ctx.app.inject({
        method: 'POST',
        url: '/cases',
        headers: { authorization: op.handlerKey, 'content-type': 'application/json', 'idempotency-key': `c-${tag()}` },
        payload: {
          connectionEan: conn.ean,
          partyGln: party.gln,
          channel: 'customer',
          receivedAt: new Date(Date.now() - 60_000).toISOString(),
          reporterName: 'P. Jansen',
          description: 'Klant ziet kwartierwaarden opgevraagd zonder machtiging',
          isma: false,
        },
      });
      expect(opened.statusCode, opened.body).toBe(201);
    }
    const scan = (await stack.ctx.temporal.workflow.execute('repeatOffenderScanWorkflow', {
      taskQueue: stack.ctx.taskQueue,
      workflowId: `scan-commitment-${stack.ctx.taskQueue}`,
      args: [{ threshold: 3, windowDays: 30, followUpDays: 30, votingDays: 30 }],
    })) as RepeatOffenderScanResult;
    const reviewId = scan.offenders.find((o) => o.partyId === party.id)!.reviewId!;
    await waitForStatus(reviewId, 'proposed');
    for (const op of [stack.noord, stack.zuid]) {
      const voted = await call(stack.ctx.app, op.handlerKey, 'POST', `/reviews/${reviewId}/votes`, {
        agree: true,
        reason: 'Herkenbaar patroon',
      });
      expect(voted.statusCode, voted.body).toBe(200);
    }
    await waitForStatus(reviewId, 'follow_up');

    const { context, page, problems } = await newContext(stack);
    await signIn(stack, page, stack.noord, 'behandelaar');
    await page.goto(`${stack.origin}/console/reviews/${reviewId}`);
    expect(await page.locator('#commitment + p').textContent()).toBe('Nog geen toezegging vastgelegd.');
    await checkPage(page, 'r06-review-follow-up');
    // The commitment is signed: the provider asks the person to sign in again, then it is recorded.
    const text = 'Dubbele controle van elke machtiging vóór de eerste P4-aanvraag, per 1 februari';
    const form = page.locator('form[action$="/commitment"]');
    await form.getByLabel('Toezegging').fill(text);
    await form.getByRole('button', { name: 'Toezegging ondertekenen' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.noord.idp.issuer));
    await signInAt(page, 'behandelaar');
    await page.waitForURL(`**/console/reviews/${reviewId}`);
    expect(await page.locator('p.notice').first().textContent()).toBe('Toezegging vastgelegd.');
    expect(await page.locator('section[aria-labelledby=commitment] blockquote').textContent()).toBe(text);
    expect(await page.locator('form[action$="/commitment"]').count()).toBe(0);
    await checkPage(page, 'r07-review-commitment');

    // The database and the audit chain name the person; the fresh authentication came just before the act.
    const [person] = await stack.ctx.db.select().from(people).where(eq(people.name, NAME));
    const actor = `user:${person!.id}`;
    const [row] = await stack.ctx.db.select().from(improvementReviews).where(eq(improvementReviews.id, reviewId));
    expect(row).toMatchObject({ commitment: text, commitmentRecordedBy: actor });
    expect(row!.commitmentRecordedAt).toBeInstanceOf(Date);
    const [recorded] = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, reviewId), eq(auditLog.action, 'review.commitment_recorded')));
    expect(recorded).toMatchObject({
      actor,
      actorName: NAME,
      actorRole: 'case-handler',
      actorPartyId: stack.noord.id,
      data: expect.objectContaining({ commitment: text }),
    });
    const [stepUp] = await stack.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.entityId, person!.id), eq(auditLog.action, 'person.stepped_up')))
      .orderBy(desc(auditLog.id))
      .limit(1);
    expect(stepUp!.data).toEqual(expect.objectContaining({ purpose: 'review.commitment', subjectId: reviewId }));
    expect(stepUp!.id).toBeLessThan(recorded!.id);
    expect(problems).toEqual([]);
    await context.close();
    for (const o of scan.offenders)
      if (o.reviewId)
        await stack.ctx.temporal.workflow
          .getHandle(reviewWorkflowId(o.reviewId))
          .terminate('test done')
          .catch(() => undefined);
  }, 240_000);
});
