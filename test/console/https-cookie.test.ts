/**
 * Issue 19, the console over HTTPS as in production: the session cookie is `__Host-gt-console` (Secure, HttpOnly,
 * SameSite=Lax, Path=/, no Domain), HSTS is sent, and the sign-in redirect asks for the code with PKCE (S256).
 * (The browser journeys run on http://localhost, where the cookie cannot be `__Host-`: docs/console.md.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPeople, startDevOidc, type DevOidc } from '../../scripts/dev-oidc.js';
import { coreContext, newGln, type CoreContext } from '../core/fixtures.js';

let ctx: CoreContext;
let idp: DevOidc;
let dir: string;
let origin: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gt-console-tls-'));
});

describe('the console over HTTPS', () => {
  beforeAll(async () => {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' }); // prettier-ignore
    idp = await startDevOidc({ people: demoPeople('Netbeheer Noord') });
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, 'localhost', () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => resolve(p));
      });
    });
    origin = `https://localhost:${port}`;
    idp.attach({ origin });
    ctx = await coreContext('console_https', {
      TLS_CERT_FILE: join(dir, 'cert.pem'),
      TLS_KEY_FILE: join(dir, 'key.pem'),
      CONSOLE_PUBLIC_URL: origin,
      CONSOLE_SESSION_SECRET: 'a'.repeat(40),
      CONSOLE_OIDC_PROVIDERS: JSON.stringify([idp.providerEntry('noord', 'Netbeheer Noord', newGln())]),
    });
    await ctx.app.listen({ port, host: 'localhost' });
  });
  afterAll(async () => {
    await ctx?.close();
    await idp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      https
        .get(`${origin}${path}`, { rejectUnauthorized: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
        })
        .on('error', reject);
    });

  it('sets a __Host- cookie with Secure at sign-in and redirects to the provider with PKCE', async () => {
    const res = await get('/console/login/noord');
    expect(res.status).toBe(303);
    const location = new URL(String(res.headers['location']));
    expect(location.origin).toBe(new URL(idp.issuer).origin);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('redirect_uri')).toBe(`${origin}/console/callback`);
    const [cookie] = res.headers['set-cookie'] as string[];
    expect(cookie).toMatch(/^__Host-gt-console=/);
    const attributes = cookie!.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['path=/', 'httponly', 'secure', 'samesite=lax']));
    expect(attributes.some((a) => a.startsWith('domain='))).toBe(false);
    expect(res.headers['strict-transport-security']).toBeDefined();
  });

  it('the sign-in page itself stores no session and sends a CSP without inline script', async () => {
    const res = await get('/console/sign-in');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
