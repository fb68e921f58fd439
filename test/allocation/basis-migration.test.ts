/**
 * The allocation_basis migration on a database that has allocation methods from before it (AL-4, DOMAIN.md
 * allocation basis): an empty database migrated up to the migration before it, legacy rows written as the code
 * of then wrote them, then the rest applied. Each recorded iSMA period becomes the iSMA request of the
 * connection's supplier of record at the period's start (none known: no basis, so profile); profile periods get
 * none; who recorded a row comes from its audit entry; the connection row carries its latest row's basis.
 * Found by the migration's name, not its number (the lead renumbers migrations at merge).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { migrationsFolder } from '../../db/migrate.js';
import { withCheckDigit } from '../../lib/gs1.js';

const name = `t_basis_migration_${randomBytes(4).toString('hex')}`;
let url: string;
let before: string;
let sql: postgres.Sql;

beforeAll(async () => {
  const adminUrl = inject('adminDatabaseUrl');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  url = u.toString();
  // The migrations folder as it was before this one: the same files, the journal cut before it.
  before = await mkdtemp(join(tmpdir(), 'gt-migrations-'));
  await cp(migrationsFolder(), before, { recursive: true });
  const journalFile = join(before, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((e) => e.tag.endsWith('_allocation_basis'));
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  await writeFile(journalFile, JSON.stringify(journal));
  sql = postgres(url, { max: 1, onnotice: () => undefined });
  await migrate(drizzle(sql), { migrationsFolder: before });
}, 120_000);
afterAll(async () => {
  await sql?.end({ timeout: 5 });
  if (before) await rm(before, { recursive: true, force: true });
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
});

let seq = 0;
const gln = () => withCheckDigit(`8700000${String(++seq).padStart(5, '0')}`);
const ean = () => withCheckDigit(`87100000000${String(++seq).padStart(6, '0')}`);

async function party(role: string): Promise<string> {
  const [p] = await sql<Array<{ id: string }>>`
    insert into parties (gln, name, roles) values (${gln()}, ${role}, ${sql.array([role])}) returning id`;
  return p!.id;
}

async function connection(op: string, supplier: string | null, brp: string | null): Promise<string> {
  const e = ean();
  await sql`insert into connections (ean, grid_operator_id, grid_area, supplier_id, balance_responsible_party_id, capacity_kw)
            values (${e}, ${op}, 'A', ${supplier}, ${brp}, 17.25)`;
  return e;
}

/** An allocation_methods row as the code before the migration wrote it, kept on the connection row as it did. */
async function method(
  e: string,
  m: 'isma' | 'profile',
  from: string,
  o: { reason?: string; caseId?: string; auditedBy?: string } = {},
) {
  await sql`insert into allocation_methods (connection_ean, method, effective_from, reason, case_id)
            values (${e}, ${m}, ${from}::timestamptz, ${o.reason ?? 'test'}, ${o.caseId ?? null})`;
  await sql`update connections set allocation_method = ${m} where ean = ${e}`;
  if (o.auditedBy)
    await sql`insert into audit_log (actor, action, entity_type, entity_id, data)
              values (${o.auditedBy}, 'allocation.method_set', 'connection', ${e},
                      ${JSON.stringify({ method: m, effectiveFrom: new Date(from).toISOString(), reason: 'test' })}::jsonb)`;
}

describe('the allocation_basis migration (AL-4)', () => {
  it('gives existing iSMA periods the supplier of record’s request, profile none, and names who recorded them', async () => {
    const op = await party('grid_operator');
    const [s1, s2] = [await party('supplier'), await party('supplier')];
    const brp = await party('balance_responsible_party');
    // A: supplied by S1 since ever (no party history); iSMA recorded at registration.
    const a = await connection(op, s1, brp);
    await sql`insert into audit_log (actor, action, entity_type, entity_id, data)
              values ('api-key:registrar', 'connection.created', 'connection', ${a}, '{}'::jsonb)`;
    await method(a, 'isma', '2024-01-01T00:00:00Z', { reason: 'initial' });
    // B: S1 until 2025-01-01, then S2 (party history); iSMA periods in both, the second recorded by a handler.
    const b = await connection(op, s2, brp);
    await sql`insert into connection_party_history (connection_ean, effective_from, supplier_id, balance_responsible_party_id, grid_area, reason)
              values (${b}, 'epoch', ${s1}, ${brp}, 'A', 'registered'),
                     (${b}, '2025-01-01T00:00:00Z', ${s2}, ${brp}, 'A', 'connection.supplier_switch')`;
    await method(b, 'isma', '2024-06-01T00:00:00Z');
    await method(b, 'isma', '2025-06-01T00:00:00Z', { auditedBy: 'api-key:handler' });
    // C: no supplier: its iSMA period has no supplier whose request it could be.
    const c = await connection(op, null, null);
    await method(c, 'isma', '2024-01-01T00:00:00Z');
    // D: profile since long, then a GT-4 switch.
    const d = await connection(op, s1, brp);
    const caseId = randomUUID();
    await method(d, 'profile', '2020-01-01T00:00:00Z', { auditedBy: 'api-key:admin' });
    await method(d, 'profile', '2025-03-01T10:15:00Z', { caseId, reason: 'GT-4: mandate not demonstrated' });
    // E: never a method recorded (iSMA by default before the migration).
    const e = await connection(op, s1, brp);

    await migrate(drizzle(sql), { migrationsFolder: migrationsFolder() });

    const rows = await sql<
      Array<{ ean: string; method: string; basis: string | null; party: string | null; by: string; from: Date }>
    >`select connection_ean as ean, method, basis, basis_party_id as party, recorded_by as by, effective_from as from
        from allocation_methods order by connection_ean, effective_from`;
    const of = (x: string) => rows.filter((r) => r.ean === x).map((r) => [r.method, r.basis, r.party, r.by]);
    const unknown = 'unknown: recorded before the allocation basis (migration allocation_basis)';
    expect(of(a)).toEqual([['isma', 'supplier_isma_request', s1, 'api-key:registrar']]);
    expect(of(b)).toEqual([
      ['isma', 'supplier_isma_request', s1, unknown],
      ['isma', 'supplier_isma_request', s2, 'api-key:handler'],
    ]);
    expect(of(c)).toEqual([['isma', null, null, unknown]]);
    expect(of(d)).toEqual([
      ['profile', null, null, 'api-key:admin'],
      ['profile', null, null, `workflow:${caseId}`],
    ]);
    expect(of(e)).toEqual([]);

    const conns = await sql<Array<{ ean: string; method: string | null; basis: string | null; party: string | null }>>`
      select ean, allocation_method as method, allocation_basis as basis, allocation_basis_party_id as party from connections`;
    const conn = (x: string) => conns.find((r) => r.ean === x);
    expect(conn(a)).toMatchObject({ method: 'isma', basis: 'supplier_isma_request', party: s1 });
    expect(conn(b)).toMatchObject({ method: 'isma', basis: 'supplier_isma_request', party: s2 });
    expect(conn(c)).toMatchObject({ method: 'isma', basis: null, party: null });
    expect(conn(d)).toMatchObject({ method: 'profile', basis: null, party: null });
    expect(conn(e)).toMatchObject({ method: null, basis: null, party: null });

    // From now on the database holds a row to what its basis needs.
    await expect(
      sql`insert into allocation_methods (connection_ean, method, effective_from, basis, reason, recorded_by)
          values (${a}, 'profile', now(), 'customer_consent', 'x', 'test')`,
    ).rejects.toMatchObject({ constraint_name: 'allocation_methods_basis_ck' });
    await expect(
      sql`insert into allocation_methods (connection_ean, method, effective_from, basis, reason, recorded_by)
          values (${a}, 'isma', now(), 'legal_provision', 'x', 'test')`,
    ).rejects.toMatchObject({ constraint_name: 'allocation_methods_basis_ck' });
    await expect(
      sql`insert into allocation_methods (connection_ean, method, effective_from, reason) values (${a}, 'isma', now(), 'x')`,
    ).rejects.toMatchObject({ column_name: 'recorded_by' });
  });
});
