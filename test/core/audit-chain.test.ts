/**
 * The audit log is append-only and tamper-evident (custom migration audit_chain): one global hash
 * chain kept by the database, UPDATE/DELETE/TRUNCATE refused, GET /audit/verify naming the first
 * broken link, and actors named by the key holder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { recordAudit } from '../../db/repositories/audit.js';
import { auditLog } from '../../db/schema/index.js';
import { call, coreContext, makeKey, makeParty, type CoreContext } from './fixtures.js';

let ctx: CoreContext;
let admin: string;
let compliance: string;
beforeAll(async () => {
  ctx = await coreContext('audit_chain');
  admin = await makeKey(ctx.db, 'admin');
  const operator = await makeParty(ctx.db, ['grid_operator']);
  compliance = await makeKey(ctx.db, 'compliance', { partyId: operator.id });
});
afterAll(async () => {
  await ctx?.close();
});

const verify = async () => {
  const res = await call(ctx.app, compliance, 'GET', '/audit/verify');
  expect(res.statusCode).toBe(200);
  return res.json<{
    intact: boolean;
    entries: number;
    head: { chainPosition: number; hash: string } | null;
    firstBroken: { chainPosition: number; auditId: number; reason: string } | null;
  }>();
};

/** What only a database superuser could do: change the log with its refusal switched off. */
async function asSuperuser(statement: string): Promise<void> {
  await ctx.sql.begin(async (tx) => {
    await tx.unsafe('alter table audit_log disable trigger audit_log_no_update');
    await tx.unsafe(statement);
    await tx.unsafe('alter table audit_log enable trigger audit_log_no_update');
  });
}

describe('tamper-evident audit log', () => {
  it('names the actor by the key holder and chains every entry, also when written concurrently', async () => {
    const res = await call(ctx.app, admin, 'POST', '/api-keys', {
      role: 'branch-analyst',
      label: 'ACM liaison',
      holderName: 'C. de Jong',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().apiKey.holderName).toBe('C. de Jong');
    const [created] = await ctx.db.select().from(auditLog).where(eq(auditLog.entityId, res.json().apiKey.id));
    expect(created!.actorName).toBe('test admin'); // the admin key's holder: its label, no holder name given
    expect(created!.actorRole).toBe('admin');

    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        recordAudit(ctx.db, { actor: 'system', action: 'test.concurrent', entityType: 'test', entityId: String(i) }),
      ),
    );
    const rows = await ctx.db.select().from(auditLog).orderBy(asc(auditLog.chainPosition));
    expect(rows.map((r) => r.chainPosition)).toEqual(rows.map((_, i) => i + 1));
    rows.forEach((r, i) => {
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.prevHash).toBe(i === 0 ? '0'.repeat(64) : rows[i - 1]!.hash);
    });
    const v = await verify();
    expect(v).toMatchObject({ intact: true, entries: rows.length, firstBroken: null });
    expect(v.head).toMatchObject({ chainPosition: rows.length, hash: rows.at(-1)!.hash });
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    await expect(ctx.sql`update audit_log set action = 'x' where chain_position = 1`).rejects.toThrow(/append-only/);
    await expect(ctx.sql`delete from audit_log where chain_position = 1`).rejects.toThrow(/append-only/);
    await expect(ctx.sql`truncate audit_log`).rejects.toThrow(/append-only/);
    expect((await verify()).intact).toBe(true);
  });

  it('GET /audit/verify names the first altered entry, and a gap where entries were taken out', async () => {
    const [third] = await ctx.sql<
      { id: string; data: unknown }[]
    >`select id, data from audit_log where chain_position = 3`;
    await asSuperuser(`update audit_log set data = '{"tampered": true}' where chain_position = 3`);
    await asSuperuser(`update audit_log set actor = 'someone else' where chain_position = 7`);
    expect(await verify()).toMatchObject({
      intact: false,
      firstBroken: { chainPosition: 3, auditId: Number(third!.id), reason: 'hash_mismatch' },
    });

    // Put both back exactly: the chain holds again (the hash covers content, not the row's storage).
    await asSuperuser(`update audit_log set data = '${JSON.stringify(third!.data)}' where chain_position = 3`);
    await asSuperuser(`update audit_log set actor = 'system' where chain_position = 7`);
    expect((await verify()).intact).toBe(true);

    await asSuperuser('delete from audit_log where chain_position = 5');
    expect((await verify()).firstBroken).toMatchObject({ chainPosition: 6, reason: 'position_gap' });
  });

  it('is for compliance and admin only', async () => {
    const handler = await makeKey(ctx.db, 'supplier');
    expect((await call(ctx.app, handler, 'GET', '/audit/verify')).statusCode).toBe(403);
  });
});
