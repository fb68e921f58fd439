/**
 * The console's browser tests (issue 19): the real API on a real socket (test/api/case-context.ts: app, worker,
 * Temporal, PostgreSQL, SMTP), two development OpenID Connect providers (scripts/dev-oidc.ts) for two grid
 * operators, and Debian's Chromium driven by playwright-core. axe-core runs on every console page visited;
 * screenshots go to test/console/screenshots/ (gitignored).
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { parties } from '../../db/schema/index.js';
import { demoPeople, startDevOidc, type DevOidc } from '../../scripts/dev-oidc.js';
import { caseApiContext, smallPdf, tag, type CaseApiContext } from '../api/case-context.js';
import { call, makeConnection, makeKey, makeMandate, newGln } from '../core/fixtures.js';

export const SCREENSHOTS = join(import.meta.dirname, 'screenshots');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, 'localhost', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Operator {
  id: string;
  gln: string;
  name: string;
  idp: DevOidc;
  providerId: string;
  handlerKey: string;
}

export interface ConsoleStack {
  ctx: CaseApiContext;
  origin: string;
  browser: Browser;
  noord: Operator;
  zuid: Operator;
  /** Open a case for `op` through the API (workflow, block, contact mail); with `respond`, the party answers with a PDF. */
  /**
   * With `unreachable`, the case is about a party whose doubt contact group is empty: the contact mail cannot go
   * out, and the handler records a contact made otherwise (GT-1).
   */
  openCase(
    op: Operator,
    respond: boolean,
    opts?: { unreachable?: boolean },
  ): Promise<{ id: string; reference: string; responseId?: string }>;
  p4Key: string;
  close(): Promise<void>;
}

export async function consoleStack(label: string): Promise<ConsoleStack> {
  const [noordIdp, zuidIdp] = await Promise.all([
    startDevOidc({ people: demoPeople('Netbeheer Noord'), host: 'localhost' }),
    startDevOidc({ people: demoPeople('Netbeheer Zuid'), host: '127.0.0.1' }),
  ]);
  const glns = { noord: newGln(), zuid: newGln() };
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const ctx = await caseApiContext(label, {
    CONSOLE_PUBLIC_URL: origin,
    CONSOLE_SESSION_SECRET: `test-${tag()}-${tag()}-${tag()}-${tag()}-${tag()}`,
    CONSOLE_OIDC_PROVIDERS: JSON.stringify([
      noordIdp.providerEntry('noord', 'Netbeheer Noord', glns.noord),
      zuidIdp.providerEntry('zuid', 'Netbeheer Zuid', glns.zuid),
    ]),
  });
  await ctx.app.listen({ port, host: 'localhost' });
  noordIdp.attach({ origin });
  zuidIdp.attach({ origin });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
  await mkdir(SCREENSHOTS, { recursive: true });

  async function operator(key: 'noord' | 'zuid', name: string, idp: DevOidc): Promise<Operator> {
    const p = await ctx.party(['grid_operator']);
    await ctx.db.update(parties).set({ gln: glns[key], name }).where(eq(parties.id, p.id));
    const handlerKey = await makeKey(ctx.db, 'case-handler', { partyId: p.id, holderName: `key ${name}` });
    return { id: p.id, gln: glns[key], name, idp, providerId: key, handlerKey };
  }
  const noord = await operator('noord', 'Netbeheer Noord', noordIdp);
  const zuid = await operator('zuid', 'Netbeheer Zuid', zuidIdp);
  const supplier = await ctx.party(['supplier']);
  const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: supplier.id });
  const p4Key = await makeKey(ctx.db, 'p4-client', { partyId: supplier.id });

  return {
    ctx,
    origin,
    browser,
    noord,
    zuid,
    p4Key,
    async openCase(op, respond, opts = {}) {
      const party = opts.unreachable ? await ctx.party(['supplier'], 0) : supplier;
      const conn = await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: party.id });
      await makeMandate(ctx.db, { partyId: party.id, connectionEan: conn.ean });
      const opened = await ctx.app.inject({
        method: 'POST',
        url: '/cases',
        headers: { authorization: op.handlerKey, 'content-type': 'application/json', 'idempotency-key': `c-${tag()}` },
        payload: {
          connectionEan: conn.ean,
          partyGln: party.gln,
          channel: 'customer',
          receivedAt: new Date(Date.now() - 60_000).toISOString(),
          reporterName: 'J. de Vries',
          description: 'Klant ziet kwartierwaarden opgevraagd zonder machtiging',
          isma: false,
        },
      });
      expect(opened.statusCode, opened.body).toBe(201);
      const c = opened.json<{ id: string; reference: string }>();
      if (opts.unreachable) return c;
      await ctx.waitForCase(c.id, (r) => r.contactedAt !== null);
      if (!respond) return c;
      const answered = await call(ctx.app, supplierKey, 'POST', `/cases/${c.id}/responses`, {
        findings: 'Machtiging via de website',
        complaintHandling: 'Klant gebeld',
        evidence: {
          filename: 'machtiging.pdf',
          contentType: 'application/pdf',
          contentBase64: smallPdf(c.reference).toString('base64'),
        },
      });
      expect(answered.statusCode, answered.body).toBe(201);
      return { ...c, responseId: answered.json<{ response: { id: string } }>().response.id };
    },
    async close() {
      await browser.close().catch(() => undefined);
      await ctx.close();
      await Promise.all([noordIdp.stop(), zuidIdp.stop()]);
    },
  };
}

/** A new browser context (own cookies) whose pages report CSP violations and console errors. */
export async function newContext(
  stack: ConsoleStack,
  javaScriptEnabled = true,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await stack.browser.newContext({ javaScriptEnabled, locale: 'nl-NL' });
  // playwright-core has no default action timeout outside its own runner: a missing element would wait forever.
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && page.url().startsWith(stack.origin))
      problems.push(`${phase} ${page.url()}: ${m.text()}`);
  });
  return { context, page, problems };
}

/** axe-core on the page: no serious or critical finding; and a screenshot. */
let phase = 'page';
export async function checkPage(page: Page, name: string, javaScriptEnabled = true): Promise<void> {
  if (!javaScriptEnabled) {
    // axe is script: without JavaScript only the screenshot (the journeys check the same pages with it on).
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    return;
  }
  phase = 'axe';
  // evaluate() is not page script: the console's CSP (no inline script) stays in force for the page itself.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await (
      window as unknown as {
        axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
      }
    ).axe.run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  expect(
    result.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
    `axe on ${name}`,
  ).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  await page.waitForTimeout(300); // console messages arrive after the call that caused them
  phase = 'page';
}

/** Through the development provider's login form (any password). */
export async function signInAt(page: Page, login: string): Promise<void> {
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('demo');
  await page.locator('button[type=submit]').click();
}

/** From the console's sign-in page, with `op`'s provider, as `login`; lands on the queue (or the no-role page). */
export async function signIn(stack: ConsoleStack, page: Page, op: Operator, login: string): Promise<void> {
  await page.goto(`${stack.origin}/console`);
  await page.getByRole('link', { name: `Aanmelden bij ${op.name}` }).click();
  const back = (u: URL) =>
    u.href.startsWith(`${stack.origin}/console/`) &&
    !u.pathname.includes('callback') &&
    !u.pathname.includes('sign-in');
  // A provider that still knows the person (its own session) sends them straight back without its form.
  const form = page.locator('input[name=login]');
  await Promise.race([page.waitForURL(back), form.waitFor()]);
  if (!back(new URL(page.url()))) {
    await signInAt(page, login);
    await page.waitForURL(back);
  }
}
