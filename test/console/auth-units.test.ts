/**
 * Issue 19, the console's sign-in pieces without a browser: configuration, the role mapping, the back-channel
 * logout token check, the person's signature needing a fresh authentication, and the ticket the console hands the
 * API (which nothing from outside can present).
 */
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signerOf, STEP_UP_MAX_AGE_MS } from '../../api/plugins/core-access.js';
import { createPersonBridge, PERSON_TICKET_HEADER } from '../../api/plugins/person-bridge.js';
import type { Principal } from '../../api/plugins/principals.js';
import { createProvider, rolesOf, SignInRefused, verifyLogoutToken, type Provider } from '../../console/oidc.js';
import { loadConfig, type ConsoleProviderConfig } from '../../lib/config.js';
import { coreContext, type CoreContext } from '../core/fixtures.js';

const entry = (over: Record<string, unknown> = {}) => ({
  id: 'noord',
  label: 'Netbeheer Noord',
  issuer: 'https://login.noord.example',
  clientId: 'gt-console',
  clientSecret: 's3cret',
  gridOperatorGln: '8712345000017',
  roles: { 'gt-behandelaar': 'case-handler', 'gt-compliance': 'compliance' },
  ...over,
});
const consoleOf = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'development', ...env }).console;

describe('console configuration', () => {
  it('is off without providers, and reads one with its defaults', () => {
    expect(consoleOf({}).enabled).toBe(false);
    const c = consoleOf({ CONSOLE_OIDC_PROVIDERS: JSON.stringify([entry()]) });
    expect(c).toMatchObject({ enabled: true, origin: 'http://127.0.0.1:3000', secureCookie: false, idleMs: 1_800_000 });
    expect(c.providers[0]).toMatchObject({ roleClaim: 'groups', scope: 'openid profile email', requiredAcr: [] });
    expect(c.sessionSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses http outside localhost and in production, and production without a session secret', () => {
    const providers = JSON.stringify([entry()]);
    expect(() =>
      consoleOf({ CONSOLE_OIDC_PROVIDERS: providers, CONSOLE_PUBLIC_URL: 'http://console.example' }),
    ).toThrow(/CONSOLE_PUBLIC_URL/);
    const prod = {
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://api.example',
      ACM_REPORT_EMAIL: 'acm@acm.example',
      TEMPORAL_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      TEMPORAL_CODEC_KEY_ID: 'k1',
    };
    expect(
      loadConfig({ ...prod, CONSOLE_OIDC_PROVIDERS: providers, CONSOLE_SESSION_SECRET: 'x'.repeat(32) }).console,
    ).toMatchObject({ enabled: true, origin: 'https://api.example', secureCookie: true });
    expect(() =>
      loadConfig({ ...prod, CONSOLE_OIDC_PROVIDERS: providers, CONSOLE_PUBLIC_URL: 'http://localhost:3000' }),
    ).toThrow(/CONSOLE_PUBLIC_URL/);
    expect(() => loadConfig({ ...prod, CONSOLE_OIDC_PROVIDERS: providers })).toThrow(/CONSOLE_SESSION_SECRET/);
    expect(() =>
      consoleOf({ CONSOLE_OIDC_PROVIDERS: JSON.stringify([entry({ gridOperatorGln: 'liander' })]) }),
    ).toThrow(/gridOperatorGln/);
  });

  it('maps only configured groups to grid operator roles, and refuses a mapping to another role', () => {
    const [p] = consoleOf({ CONSOLE_OIDC_PROVIDERS: JSON.stringify([entry()]) }).providers as [ConsoleProviderConfig];
    expect(rolesOf(p, ['gt-compliance', 'admins', 'gt-behandelaar', 'gt-compliance'])).toEqual([
      'compliance',
      'case-handler',
    ]);
    expect(rolesOf(p, 'gt-behandelaar other')).toEqual(['case-handler']);
    expect(rolesOf(p, undefined)).toEqual([]);
    expect(() => createProvider({ ...p, roles: { admins: 'admin' } })).toThrow(/not one of/);
  });
});

describe('a person’s signature', () => {
  const person: Principal = {
    keyId: '7d1c6f2e-2a43-4a43-9d6c-2f0b7d5e9c11',
    via: 'person',
    role: 'case-handler',
    label: 'person A',
    holderName: 'A. de Vries',
    partyId: null,
    gridUserId: null,
  };
  it('needs a fresh authentication (step-up) no older than 5 minutes', () => {
    const now = Date.now();
    expect(() => signerOf(person, now)).toThrow(expect.objectContaining({ code: 'step_up_required' }));
    const stale = { ...person, stepUp: { at: now - STEP_UP_MAX_AGE_MS - 1, acr: null, amr: ['pwd'] } };
    expect(() => signerOf(stale, now)).toThrow(expect.objectContaining({ code: 'step_up_required' }));
    const fresh = { ...person, stepUp: { at: now - 1_000, acr: 'mfa', amr: ['pwd', 'otp'] } };
    // The act's audit entry records what it was signed with: this authentication's instant (ISO), acr and amr.
    expect(signerOf(fresh, now)).toEqual({
      name: 'A. de Vries',
      role: 'case-handler',
      keyId: person.keyId,
      signedWith: {
        kind: 'step_up',
        authenticatedAt: new Date(now - 1_000).toISOString(),
        acr: 'mfa',
        amr: ['pwd', 'otp'],
      },
    });
  });

  it('a key signs by its recorded holder, without a step-up', () => {
    const key: Principal = { ...person, via: 'api-key', holderName: ' J. Jansen ' };
    expect(signerOf(key).signedWith).toEqual({ kind: 'key_holder', keyId: person.keyId, holderName: 'J. Jansen' });
    expect(() => signerOf({ ...key, holderName: null })).toThrow(
      expect.objectContaining({ code: 'key_holder_required' }),
    );
  });

  it('a console ticket is for a person, works once, and is dropped when unused', () => {
    const bridge = createPersonBridge();
    expect(() => bridge.issue({ ...person, via: 'api-key' })).toThrow();
    const ticket = bridge.issue(person);
    expect(bridge.take(ticket)).toBe(person);
    expect(bridge.take(ticket)).toBeUndefined();
    const unused = bridge.issue(person);
    bridge.drop(unused);
    expect(bridge.take(unused)).toBeUndefined();
  });
});

describe('the API and a console ticket from outside', () => {
  let ctx: CoreContext;
  beforeAll(async () => {
    ctx = await coreContext('console_ticket');
  });
  afterAll(async () => ctx?.close());

  it('a made-up ticket is no credential (401), and neither is one issued for another request once used', async () => {
    const guess = await ctx.app.inject({
      url: '/cases',
      headers: { [PERSON_TICKET_HEADER]: randomBytes(32).toString('base64url') },
    });
    expect(guess.statusCode).toBe(401);
    const ticket = ctx.app.auth.people.issue({
      keyId: '7d1c6f2e-2a43-4a43-9d6c-2f0b7d5e9c11',
      via: 'person',
      role: 'compliance',
      label: 'person',
      holderName: 'C. de Jong',
      partyId: null,
      gridUserId: null,
    });
    const first = await ctx.app.inject({ url: '/parties', headers: { [PERSON_TICKET_HEADER]: ticket } });
    expect(first.statusCode).not.toBe(401);
    const again = await ctx.app.inject({ url: '/parties', headers: { [PERSON_TICKET_HEADER]: ticket } });
    expect(again.statusCode).toBe(401);
  });
});

describe('OIDC back-channel logout tokens', () => {
  const issuer = 'https://login.noord.example';
  const clientId = 'gt-console';
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let server: Server;
  let provider: Provider;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    // The discovered configuration as far as the check reads it: the issuer's JWKS address.
    provider = {
      config: { issuer, clientId } as ConsoleProviderConfig,
      configuration: async () => ({ serverMetadata: () => ({ jwks_uri: jwksUri }) }) as never,
    };
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  function token(
    claims: Record<string, unknown>,
    signer = key.privateKey,
    header: object = { alg: 'RS256', kid: 'k1' },
  ) {
    const input = `${b64(header)}.${b64(claims)}`;
    const sig = createSign('sha256').update(input).sign(signer).toString('base64url');
    return `${input}.${sig}`;
  }
  const good = () => ({
    iss: issuer,
    aud: clientId,
    iat: Math.floor(Date.now() / 1000),
    jti: randomBytes(8).toString('hex'),
    sid: 'op-session-1',
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  });

  it('accepts the issuer’s signed token for this client and names the provider session', async () => {
    await expect(verifyLogoutToken([provider], token(good()))).resolves.toEqual({
      issuer,
      sid: 'op-session-1',
      subject: undefined,
    });
  });

  it.each([
    ['another key', () => token(good(), otherKey.privateKey), /signature/],
    ['another client', () => token({ ...good(), aud: 'someone-else' }), /another client/],
    ['another issuer', () => token({ ...good(), iss: 'https://evil.example' }), /unknown issuer/],
    ['an old token', () => token({ ...good(), iat: Math.floor(Date.now() / 1000) - 3600 }), /not recent/],
    ['a nonce', () => token({ ...good(), nonce: 'n' }), /nonce/],
    ['no logout event', () => token({ ...good(), events: {} }), /event/],
    ['neither sid nor sub', () => token({ ...good(), sid: undefined }), /neither/],
    ['alg none', () => `${b64({ alg: 'none' })}.${b64(good())}.`, /signature/],
  ])('refuses a token signed with %s', async (_name, make, reason) => {
    await expect(verifyLogoutToken([provider], make())).rejects.toThrow(reason);
    await expect(verifyLogoutToken([provider], make())).rejects.toBeInstanceOf(SignInRefused);
  });
});
