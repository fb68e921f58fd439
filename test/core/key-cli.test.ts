/**
 * The key commands as an operator runs them (`npm run key:create|key:list|key:rotate|key:revoke`, issue 20):
 * each answers --help, refuses unknown options with its usage (exit 2), and does its work on a real database.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { apiKeys, auditLog } from '../../db/schema/index.js';
import { hashApiKey } from '../../lib/api-keys.js';
import { call, coreContext, makeParty, type CoreContext } from './fixtures.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

let ctx: CoreContext;

/** `npm run <script> -- <args>`; resolves with the exit code and output instead of throwing on a non-zero exit. */
async function npm(script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run('npm', ['run', '--silent', script, '--', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  ctx = await coreContext('key_cli');
});
afterAll(async () => ctx?.close());

describe('npm run key:*', () => {
  it.each(['key:create', 'key:list', 'key:rotate', 'key:revoke'])(
    '%s --help prints its usage and exits 0',
    async (s) => {
      const r = await npm(s, ['--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`npm run ${s}`);
    },
  );

  it('an unknown option is exit 2 with the usage, not a stack trace', async () => {
    const r = await npm('key:create', ['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--bogus'");
    expect(r.stderr).toContain('npm run key:create');
    expect(r.stderr).not.toContain('ERR_PARSE_ARGS');
  });

  it('create, list, rotate and revoke on a real database', async () => {
    const url = ctx.url;
    const sp = await makeParty(ctx.db, ['service_provider']);
    const created = await npm('key:create', ['--role', 'p4-client', '--party', sp.gln, '--label', 'CLI P4'], {
      DATABASE_URL: url,
    });
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^gt_/);
    const [row] = await ctx.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashApiKey(key)));
    expect(row).toMatchObject({ role: 'p4-client', partyId: sp.id, label: 'CLI P4' });
    expect(row!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    expect((await call(ctx.app, `Bearer ${key}`, 'GET', '/parties')).statusCode).toBe(200);

    const listed = await npm('key:list', [], { DATABASE_URL: url });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(row!.id);
    expect(listed.stdout).not.toContain(key);

    const rotated = await npm('key:rotate', ['--id', row!.id], { DATABASE_URL: url });
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKey = rotated.stdout.trim();
    expect(newKey).toMatch(/^gt_/);
    expect(newKey).not.toBe(key);
    expect((await call(ctx.app, `Bearer ${newKey}`, 'GET', '/parties')).statusCode).toBe(200);
    expect((await call(ctx.app, `Bearer ${key}`, 'GET', '/parties')).statusCode).toBe(200); // overlap

    const revoked = await npm('key:revoke', ['--id', row!.id], { DATABASE_URL: url });
    expect(revoked.code, revoked.stderr).toBe(0);
    const [after] = await ctx.db.select().from(apiKeys).where(eq(apiKeys.id, row!.id));
    expect(after!.revokedAt).not.toBeNull();
    const actions = await ctx.db.select().from(auditLog).where(eq(auditLog.actor, 'cli'));
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['api_key.created', 'api_key.rotated', 'api_key.revoked']),
    );
    const all = await npm('key:list', ['--all'], { DATABASE_URL: url });
    expect(all.stdout).toMatch(new RegExp(`${row!.id}\\t[^\\n]*revoked`));

    const unknownParty = await npm('key:create', ['--role', 'p4-client', '--party', '8712345678901', '--label', 'x'], {
      DATABASE_URL: url,
    });
    expect(unknownParty.code).toBe(1);
    expect(unknownParty.stderr).toContain('party_not_found');
  });
});
