/**
 * API keys from the command line (the admin routes' counterpart, for the first admin key and for operators):
 *
 *   npm run key:create -- --role case-handler --party 8710000000019 --label "Liander desk 1"
 *   npm run key:create -- --role p4-client --party <GLN> --label "…" --expires 2027-06-30T00:00:00Z
 *   npm run key:list   [-- --all]
 *   npm run key:rotate -- --id <uuid> [--overlap-until <ISO time>] [--expires <ISO time>]
 *   npm run key:revoke -- --id <uuid>
 *
 * Every command takes --help. A key is printed once (only its hash is stored); audit entries name the actor `cli`.
 * Uses DATABASE_URL (required: against the embedded development database, start the system first and use the URL
 * it prints). Exit codes: 0 done, 2 bad arguments, 1 refused (unknown party or key, …).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createDb } from '../db/client.js';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../db/repositories/api-keys.js';
import { getPartyByGln } from '../db/repositories/parties.js';
import { ROLES, type ApiKey, type Role } from '../db/schema/index.js';
import { DomainError } from '../lib/errors.js';

const CLI = { actor: 'cli' };

interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, url: string): Promise<void>;
}

const out = (s: string) => process.stdout.write(`${s}\n`);
class UsageError extends Error {}

function time(value: string | boolean | undefined, flag: string): Date | null {
  if (typeof value !== 'string') return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag} must be an ISO date-time, e.g. 2027-06-30T00:00:00Z`);
  return d;
}

function requireString(value: string | boolean | undefined, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

const row = (k: ApiKey) =>
  [
    k.id,
    k.prefix,
    k.role,
    k.revokedAt
      ? `revoked ${k.revokedAt.toISOString()}`
      : k.expiresAt
        ? `expires ${k.expiresAt.toISOString()}`
        : 'no expiry',
    `last used ${k.lastUsedAt?.toISOString() ?? 'never'}`,
    k.label,
  ].join('\t');

async function withDb<T>(url: string, fn: (db: ReturnType<typeof createDb>['db']) => Promise<T>): Promise<T> {
  const { db, close } = createDb(url, { max: 1 });
  try {
    return await fn(db);
  } finally {
    await close();
  }
}

const COMMANDS: Record<string, Command> = {
  create: {
    usage: `npm run key:create -- --role <role> --label <text> [--party <GLN>] [--grid-user <uuid>] [--holder <name>] [--expires <ISO time>]

  --role       one of ${ROLES.join(', ')}
  --label      who or what uses the key
  --party      GLN of the party the key acts for (case-handler, privacy-officer, compliance: a grid operator;
               supplier, p4-client: a supplier or service provider; brp). The branch-wide view (aggregates
               only) is role branch-analyst, without a party.
  --grid-user  id of the grid user the key acts for (grid-user)
  --holder     the person the key is issued to: audit entries name them (default: the label), and signed
               acts (GT-5 votes and decisions, GT-11 decisions, rejections of evidence) need it
  --expires    when the key stops working (default: a year from now)

Prints the key once; only its hash is stored. Running API instances take it into their key index within
about a second of its first use (AUTH_KEY_INDEX_MISS_REFRESH_MS), at once when nothing else was refused just before.`,
    options: {
      role: { type: 'string' },
      party: { type: 'string' },
      'grid-user': { type: 'string' },
      label: { type: 'string' },
      holder: { type: 'string' },
      expires: { type: 'string' },
    },
    async run(v, url) {
      const role = requireString(v.role, '--role') as Role;
      if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const label = requireString(v.label, '--label');
      const expiresAt = time(v.expires, '--expires');
      await withDb(url, async (db) => {
        let partyId: string | null = null;
        if (typeof v.party === 'string') {
          const p = await getPartyByGln(db, v.party);
          if (!p) throw new DomainError('not_found', 'party_not_found', `no party with GLN ${v.party}`);
          partyId = p.id;
        }
        const { apiKey, key } = await createApiKey(db, CLI, {
          role,
          label,
          holderName: typeof v.holder === 'string' ? v.holder : null,
          partyId,
          gridUserId: typeof v['grid-user'] === 'string' ? v['grid-user'] : null,
          expiresAt,
        });
        process.stderr.write(`created ${apiKey.id} (${apiKey.prefix}…, expires ${apiKey.expiresAt?.toISOString()})\n`);
        out(key);
      });
    },
  },
  list: {
    usage: `npm run key:list [-- --all]

  --all  also revoked and expired keys

One line per key, tab-separated: id, prefix, role, state, last use, label. Never the keys themselves.`,
    options: { all: { type: 'boolean' } },
    async run(v, url) {
      await withDb(url, async (db) => {
        for (let offset = 0; ; offset += 500) {
          const { items } = await listApiKeys(db, { includeRevoked: v.all === true, limit: 500, offset });
          for (const k of items) out(row(k));
          if (items.length < 500) break;
        }
      });
    },
  },
  revoke: {
    usage: `npm run key:revoke -- --id <uuid>

Revokes the key (idempotent). API instances refuse it when they next reload their key index:
within AUTH_KEY_INDEX_REFRESH_MS (default 5 s).`,
    options: { id: { type: 'string' } },
    async run(v, url) {
      const id = requireString(v.id, '--id');
      await withDb(url, async (db) => out(row(await revokeApiKey(db, CLI, id))));
    },
  },
  rotate: {
    usage: `npm run key:rotate -- --id <uuid> [--overlap-until <ISO time>] [--expires <ISO time>]

  --overlap-until  the old key stays valid until then (default: 7 days from now; never beyond its own expiry)
  --expires        when the new key stops working (default: a year from now)

Prints the new key once (same role, party, label and holder); the old one keeps working until the overlap ends.`,
    options: { id: { type: 'string' }, 'overlap-until': { type: 'string' }, expires: { type: 'string' } },
    async run(v, url) {
      const id = requireString(v.id, '--id');
      const overlapUntil = time(v['overlap-until'], '--overlap-until');
      const expiresAt = time(v.expires, '--expires');
      await withDb(url, async (db) => {
        const { apiKey, key, previous } = await rotateApiKey(db, CLI, id, { overlapUntil, expiresAt });
        process.stderr.write(
          `created ${apiKey.id} (${apiKey.prefix}…); ${previous.prefix}… stays valid until ${previous.expiresAt?.toISOString()}\n`,
        );
        out(key);
      });
    },
  },
};

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`usage: tsx scripts/api-keys.ts <${Object.keys(COMMANDS).join('|')}> [--help]\n`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${command.usage}\n`);
    return 2;
  }
  if (values.help) {
    out(command.usage);
    return 0;
  }
  try {
    const url = process.env.DATABASE_URL;
    if (!url) throw new UsageError('DATABASE_URL is required');
    await command.run(values, url);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    if (err instanceof DomainError) {
      process.stderr.write(`${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main();
