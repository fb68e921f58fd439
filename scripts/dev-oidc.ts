/**
 * Development OpenID Connect providers (issue 19): one oidc-provider (a dev dependency) per grid operator with demo
 * people, so the console's sign-in, step-up and back-channel logout run on one machine exactly as against an
 * operator's real provider. `npm run up` starts two (scripts/start.ts); the browser tests start their own.
 * Sign in with the login name of a demo person and any password (oidc-provider's development login form).
 *
 * Run alone: `node --import tsx scripts/dev-oidc.ts` prints the CONSOLE_OIDC_PROVIDERS for a console on :3000.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

export interface DevPerson {
  /** The login name typed at the development login form (also the subject). */
  login: string;
  name: string;
  email: string;
  groups: string[];
}

/** The groups the development providers give, and the roles the console maps them to. */
export const DEV_ROLE_MAPPING = {
  'gt-behandelaar': 'case-handler',
  'gt-privacy': 'privacy-officer',
  'gt-compliance': 'compliance',
} as const;

/** Demo people of a grid operator: a handler, a privacy officer, a compliance officer and one without a group. */
export function demoPeople(operator: string): DevPerson[] {
  const domain = `${operator.toLowerCase().replace(/[^a-z0-9]/g, '')}.example`;
  return [
    {
      login: 'behandelaar',
      name: `Behandelaar ${operator}`,
      email: `behandelaar@${domain}`,
      groups: ['gt-behandelaar'],
    },
    { login: 'privacy', name: `Privacy officer ${operator}`, email: `privacy@${domain}`, groups: ['gt-privacy'] },
    { login: 'compliance', name: `Compliance ${operator}`, email: `compliance@${domain}`, groups: ['gt-compliance'] },
    { login: 'zondergroep', name: `Medewerker ${operator}`, email: `medewerker@${domain}`, groups: [] },
  ];
}

export interface DevOidc {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Give the console's redirect and back-channel logout URIs (known once the API listens), then serve. */
  attach(console: { origin: string }): void;
  /** The console's provider entry (CONSOLE_OIDC_PROVIDERS) for this provider. */
  providerEntry(id: string, label: string, gridOperatorGln: string): Record<string, unknown>;
  stop(): Promise<void>;
}

// long: oidc-provider's configuration is one object literal (clients, keys, claims, features, account lookup)
/**
 * `host`: localhost or 127.0.0.1. Two providers on one machine should differ in host: browsers keep cookies per
 * host, not per port, and both providers name their session cookie alike.
 */
export async function startDevOidc(opts: {
  port?: number;
  host?: 'localhost' | '127.0.0.1';
  people: DevPerson[];
  acr?: string;
}): Promise<DevOidc> {
  const host = opts.host ?? 'localhost';
  const server: Server = createServer((_req, res) => {
    res.writeHead(503).end('not attached yet');
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const clientId = 'gerede-twijfel-console';
  const clientSecret = randomBytes(24).toString('base64url');
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const people = new Map(opts.people.map((p) => [p.login, p]));

  function attach(console: { origin: string }): void {
    const configuration: Configuration = {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [`${console.origin}/console/callback`],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_basic',
          backchannel_logout_uri: `${console.origin}/console/backchannel-logout`,
          backchannel_logout_session_required: true,
        },
      ],
      jwks: { keys: [{ ...key, kid: 'dev-1', use: 'sig', alg: 'RS256' }] as never },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      claims: {
        openid: ['sub'],
        profile: ['name'],
        email: ['email'],
        groups: ['groups'],
        acr: null,
        amr: null,
        sid: null,
        auth_time: null,
      },
      scopes: ['openid', 'profile', 'email', 'groups'],
      // The groups in the ID token itself: the console reads no userinfo.
      conformIdTokenClaims: false,
      ...(opts.acr ? { acrValues: [opts.acr] } : {}),
      features: {
        devInteractions: { enabled: true },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: { enabled: true },
      },
      // oidc-provider refuses outgoing requests to loopback addresses (SSRF protection); on one machine the
      // console it tells of a back-channel logout is exactly there.
      fetch: (url, options) => {
        const { dispatcher: _loopbackRefusing, ...rest } = options as RequestInit & { dispatcher?: unknown };
        return fetch(url, rest);
      },
      // First-party client: no consent screen (the person consents to nothing here; their employer signs them in).
      async loadExistingGrant(ctx) {
        const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId!,
        });
        grant.addOIDCScope('openid profile email groups');
        await grant.save();
        return grant;
      },
      async findAccount(_ctx, id) {
        const person = people.get(id);
        if (!person) return undefined;
        return {
          accountId: id,
          claims: async () => ({ sub: id, name: person.name, email: person.email, groups: person.groups }),
        };
      },
    };
    const provider = new Provider(issuer, configuration);
    // A development provider says why a back-channel logout did not reach the console.
    provider.on('backchannel.error', (_ctx: unknown, err: Error) =>
      process.stderr.write(`dev OIDC ${issuer}: back-channel logout failed: ${err.message}\n`),
    );
    server.removeAllListeners('request');
    server.on('request', provider.callback());
  }

  return {
    issuer,
    clientId,
    clientSecret,
    attach,
    providerEntry: (id, label, gridOperatorGln) => ({
      id,
      label,
      issuer,
      clientId,
      clientSecret,
      gridOperatorGln,
      scope: 'openid profile email groups',
      roles: DEV_ROLE_MAPPING,
      ...(opts.acr ? { stepUpAcr: opts.acr } : {}),
    }),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = await startDevOidc({ people: demoPeople('Liander') });
  a.attach({ origin: 'http://localhost:3000' });
  process.stdout.write(`${JSON.stringify([a.providerEntry('liander', 'Liander', '8716000000000')])}\n`);
}
