/**
 * The few parts of oidc-provider (a dev dependency without its own types) that scripts/dev-oidc.ts uses.
 * @types/oidc-provider would replace this.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Grant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }
  interface GrantConstructor {
    new (init: { clientId: string; accountId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }
  interface Context {
    oidc: {
      result?: { consent?: { grantId?: string } };
      session?: { grantIdFor(clientId: string): string | undefined; accountId?: string };
      client?: { clientId: string };
      provider: { Grant: GrantConstructor };
    };
  }
  interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>>;
  }
  export interface Configuration {
    clients?: Array<Record<string, unknown>>;
    jwks?: { keys: unknown[] };
    cookies?: { keys: string[] };
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    conformIdTokenClaims?: boolean;
    acrValues?: string[];
    fetch?(url: string | URL, options: RequestInit): Promise<Response>;
    features?: Record<string, { enabled: boolean }>;
    loadExistingGrant?(ctx: Context): Promise<Grant | undefined>;
    findAccount?(ctx: Context, id: string): Promise<Account | undefined>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
  }
}
