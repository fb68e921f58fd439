/**
 * Sign-in through each grid operator's OpenID Connect provider (issue 19) with openid-client: authorization code
 * with PKCE as a confidential client (client_secret_basic). Tokens stay in this process and are not kept: the
 * console needs who the person is, not the provider's APIs. The grid operator is the one the configuration says
 * this issuer speaks for; roles are mapped from one claim; required acr/amr are checked on every ID token.
 */
import { createPublicKey, verify as verifySignature, constants, type JsonWebKey } from 'node:crypto';
import * as client from 'openid-client';
import type { ConsoleProviderConfig } from '../lib/config.js';
import { GRID_OPERATOR_ROLES, type Role } from '../domain/visibility.js';

export interface Provider {
  config: ConsoleProviderConfig;
  /** Discovered on first use (a provider that is down does not stop the API from starting). */
  configuration(): Promise<client.Configuration>;
}

export class ProviderUnavailable extends Error {
  constructor(
    readonly providerId: string,
    cause: unknown,
  ) {
    super(`OpenID Connect provider ${providerId} is unreachable`, { cause });
    this.name = 'ProviderUnavailable';
  }
}

/** The configured role mapping, checked once: a console role is a grid operator's (domain/visibility.ts). */
export function checkRoleMapping(p: ConsoleProviderConfig): void {
  for (const [group, role] of Object.entries(p.roles))
    if (!(GRID_OPERATOR_ROLES as readonly string[]).includes(role))
      throw new Error(
        `CONSOLE_OIDC_PROVIDERS ${p.id}: group "${group}" maps to "${role}", not one of ${GRID_OPERATOR_ROLES.join(', ')}`,
      );
}

export function createProvider(config: ConsoleProviderConfig): Provider {
  checkRoleMapping(config);
  let discovered: Promise<client.Configuration> | undefined;
  return {
    config,
    configuration() {
      discovered ??= client
        .discovery(
          new URL(config.issuer),
          config.clientId,
          undefined,
          client.ClientSecretBasic(config.clientSecret),
          // A development provider on http://localhost only; configuration refuses http elsewhere in production.
          config.issuer.startsWith('http:') ? { execute: [client.allowInsecureRequests] } : undefined,
        )
        .catch((err: unknown) => {
          discovered = undefined; // try again at the next sign-in
          throw new ProviderUnavailable(config.id, err);
        });
      return discovered;
    },
  };
}

/** What the console keeps between the redirect to the provider and the callback (in the server-side session). */
export interface PendingSignIn {
  providerId: string;
  state: string;
  nonce: string;
  verifier: string;
  /** A fresh authentication for a signed act (step-up), with the act to perform after it. */
  stepUp?: { purpose: string; subjectId: string; act: Record<string, string> } | undefined;
  startedAt: number;
}

export async function authorizationUrl(
  provider: Provider,
  redirectUri: string,
  stepUp: PendingSignIn['stepUp'],
): Promise<{ url: URL; pending: PendingSignIn }> {
  const configuration = await provider.configuration();
  const verifier = client.randomPKCECodeVerifier();
  const pending: PendingSignIn = {
    providerId: provider.config.id,
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier,
    stepUp,
    startedAt: Date.now(),
  };
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: provider.config.scope,
    response_type: 'code',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  if (stepUp) {
    // A signature needs the person now, not a remembered login: ask the provider to authenticate again.
    params['prompt'] = 'login';
    params['max_age'] = '0';
    if (provider.config.stepUpAcr) params['acr_values'] = provider.config.stepUpAcr;
  }
  return { url: client.buildAuthorizationUrl(configuration, params), pending };
}

export interface Identity {
  issuer: string;
  subject: string;
  name: string;
  email: string | null;
  roles: Role[];
  acr: string | null;
  amr: string[];
  /** The provider's session id (back-channel logout), if it sends one. */
  sid: string | null;
  /** When the person authenticated at the provider (auth_time), ms since the epoch. */
  authTime: number;
}

export class SignInRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SignInRefused';
  }
}

/** Exchange the code (PKCE, state, nonce checked by openid-client) and read the person from the ID token. */
export async function completeSignIn(provider: Provider, currentUrl: URL, pending: PendingSignIn): Promise<Identity> {
  const configuration = await provider.configuration();
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
      ...(pending.stepUp ? { maxAge: 0 } : {}),
    });
  } catch (err) {
    if (err instanceof client.ClientError || err instanceof client.AuthorizationResponseError)
      throw new SignInRefused(err.message);
    if (err instanceof client.ResponseBodyError) throw new SignInRefused(err.error);
    throw new ProviderUnavailable(provider.config.id, err);
  }
  const claims = tokens.claims();
  if (!claims) throw new SignInRefused('no ID token');
  const acr = typeof claims.acr === 'string' ? claims.acr : null;
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [];
  const { requiredAcr, requiredAmr } = provider.config;
  if (requiredAcr.length > 0 && (acr === null || !requiredAcr.includes(acr)))
    throw new SignInRefused(`authentication level ${acr ?? 'none'} is not one of ${requiredAcr.join(', ')}`);
  if (requiredAmr.length > 0 && !amr.some((a) => requiredAmr.includes(a)))
    throw new SignInRefused(
      `authentication method ${amr.join(', ') || 'none'} is not one of ${requiredAmr.join(', ')}`,
    );
  const authTime = typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : claims.iat * 1000;
  if (pending.stepUp && (typeof claims.auth_time !== 'number' || authTime < pending.startedAt - 1_000))
    throw new SignInRefused('the provider did not authenticate you again');
  const name = [claims['name'], claims['preferred_username'], claims.sub].find((v) => typeof v === 'string');
  return {
    issuer: claims.iss,
    subject: claims.sub,
    name: String(name),
    email: typeof claims['email'] === 'string' ? claims['email'] : null,
    roles: rolesOf(provider.config, claims[provider.config.roleClaim]),
    acr,
    amr,
    sid: typeof claims['sid'] === 'string' ? claims['sid'] : null,
    authTime,
  };
}

/** The roles the claim's values map to, in the configured order; values not in the mapping give none. */
export function rolesOf(config: ConsoleProviderConfig, claim: unknown): Role[] {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/[\s,]+/) : [];
  const roles: Role[] = [];
  for (const v of values) {
    const role = typeof v === 'string' ? (config.roles[v] as Role | undefined) : undefined;
    if (role && !roles.includes(role)) roles.push(role);
  }
  return roles;
}

// ---------------------------------------------------------------- back-channel logout

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutToken {
  issuer: string;
  sid: string | undefined;
  subject: string | undefined;
}

function b64json(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * Verify an OIDC back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6): signed by the issuer's
 * key (JWKS from its discovery document), for this client, recent, with the logout event, no nonce, and a sid or
 * sub. Node's crypto verifies the signature (RS256, PS256, ES256), so no JWT library is added for this one use.
 */
export async function verifyLogoutToken(providers: Provider[], token: string, now = Date.now()): Promise<LogoutToken> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new SignInRefused('logout_token is not a JWS');
  const [h, p, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = b64json(h);
    payload = b64json(p);
  } catch {
    throw new SignInRefused('logout_token is not JSON');
  }
  const provider = providers.find((x) => x.config.issuer === payload['iss']);
  if (!provider) throw new SignInRefused('logout_token from an unknown issuer');
  const configuration = await provider.configuration();
  const jwksUri = configuration.serverMetadata().jwks_uri;
  if (!jwksUri) throw new SignInRefused('the issuer publishes no keys');
  const response = await fetch(jwksUri);
  if (!response.ok) throw new ProviderUnavailable(provider.config.id, new Error(`JWKS ${response.status}`));
  const { keys } = (await response.json()) as { keys: Array<JsonWebKey & { kid?: string; use?: string }> };
  const alg = header['alg'];
  const candidates = keys.filter((k) => (header['kid'] === undefined || k.kid === header['kid']) && k.use !== 'enc');
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const valid = candidates.some((jwk) => {
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      if (alg === 'RS256') return verifySignature('sha256', data, key, signature);
      if (alg === 'PS256')
        return verifySignature(
          'sha256',
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          signature,
        );
      if (alg === 'ES256') return verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      return false;
    } catch {
      return false;
    }
  });
  if (!valid) throw new SignInRefused('logout_token signature does not verify');
  const aud = payload['aud'];
  if (!(aud === provider.config.clientId || (Array.isArray(aud) && aud.includes(provider.config.clientId))))
    throw new SignInRefused('logout_token is for another client');
  const iat = payload['iat'];
  if (typeof iat !== 'number' || Math.abs(now / 1000 - iat) > 300)
    throw new SignInRefused('logout_token is not recent');
  const events = payload['events'] as Record<string, unknown> | undefined;
  if (!events || typeof events !== 'object' || !(BACKCHANNEL_EVENT in events))
    throw new SignInRefused('logout_token without the back-channel logout event');
  if ('nonce' in payload) throw new SignInRefused('logout_token must not hold a nonce');
  const sid = typeof payload['sid'] === 'string' ? payload['sid'] : undefined;
  const subject = typeof payload['sub'] === 'string' ? payload['sub'] : undefined;
  if (!sid && !subject) throw new SignInRefused('logout_token names neither sid nor sub');
  return { issuer: provider.config.issuer, sid, subject };
}
