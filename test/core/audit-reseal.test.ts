/**
 * Migration 0004_audit_details_erasable on a log written before it (DC-9): the entries are re-sealed into the
 * form whose chain covers a digest of the personal details instead of the details themselves — the chain stays
 * intact, each entry keeps its old hash (an anchor taken before still matches), a change to an old entry made
 * afterwards is still caught, and its details can be erased without breaking the chain. A log whose old chain
 * does not verify is not re-sealed: the migration fails and changes nothing.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb, type DbHandle } from '../../db/client.js';
import { migrationsFolder, runMigrations } from '../../db/migrate.js';
import { verifyAuditChain } from '../../db/repositories/audit.js';
import { eraseAuditDetails, recordPurgeBatch } from '../../db/repositories/retention.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** An empty database (not the migrated template). */
async function emptyDatabase(): Promise<string> {
  const name = `t_reseal_${randomBytes(4).toString('hex')}`;
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  await admin.end({ timeout: 5 });
  cleanups.push(async () => {
    const a = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => undefined });
    await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await a.end({ timeout: 5 });
  });
  return withDatabase(inject('adminDatabaseUrl'), name);
}

/** Apply the migrations before audit_details_erasable only (a copy of the folder with the journal cut there). */
async function migrateBeforeReseal(url: string): Promise<void> {
  const src = migrationsFolder();
  const dir = await mkdtemp(join(tmpdir(), 'gt-migrations-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'meta'));
  const journal = JSON.parse(await readFile(join(src, 'meta', '_journal.json'), 'utf8')) as {
    entries: Array<{ idx: number; tag: string }>;
  };
  const reseal = journal.entries.findIndex((e) => e.tag.endsWith('_audit_details_erasable'));
  expect(reseal).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, reseal);
  await writeFile(join(dir, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) await copyFile(join(src, `${e.tag}.sql`), join(dir, `${e.tag}.sql`));
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await migrate(drizzle(sql), { migrationsFolder: dir });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A log as the previous release wrote it: an API key holder, personal data in the entries. */
async function writeOldLog(h: DbHandle): Promise<void> {
  const [key] = await h.sql<{ id: string }[]>`
    insert into api_keys (key_hash, prefix, label, holder_name, role)
    values (${randomBytes(32).toString('hex')}, 'gt_test', 'handler key', 'J. de Vries', 'case-handler') returning id`;
  const actor = `api-key:${key!.id}`;
  const entries: Array<[string, string, Record<string, unknown>]> = [
    ['case.opened', 'case-1', { reference: 'GT-2020-000001', channel: 'customer' }],
    ['case.note', 'case-1', { note: 'Mevrouw P. Bakker belde: ze heeft nooit toestemming gegeven' }],
    ['case.notice_sent', 'case-1', { notice: 'reporter_outcome', recipient: 'p.bakker@example.nl' }],
    ['case.evidence_opened', 'case-1', { filename: 'machtiging-bakker.pdf', sha256: 'ab'.repeat(32) }],
    ['case.closed', 'case-1', { outcome: 'accepted' }],
  ];
  for (const [action, entityId, data] of entries)
    await h.sql`insert into audit_log (actor, action, entity_type, entity_id, data)
                values (${actor}, ${action}, 'case', ${entityId}, ${JSON.stringify(data)}::jsonb)`;
}

/** The messages of an error and its causes, one per line. */
function causes(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    out.push(String(e.message ?? e));
  return out.join('\n');
}

/** What only a database superuser could do: change the log with its refusal switched off. */
async function asSuperuser(h: DbHandle, statement: string): Promise<void> {
  await h.sql.begin(async (tx) => {
    await tx.unsafe('alter table audit_log disable trigger audit_log_no_update');
    await tx.unsafe(statement);
    await tx.unsafe('alter table audit_log enable trigger audit_log_no_update');
  });
}

describe('migration audit_details_erasable: the audit details leave the chain (DC-9)', () => {
  it('re-seals an intact log: still intact, old hashes kept, later changes caught, details erasable', async () => {
    const url = await emptyDatabase();
    await migrateBeforeReseal(url);
    const h = createDb(url, { max: 2 });
    cleanups.push(() => h.close());
    await writeOldLog(h);
    const before = await h.sql<{ chain_position: number; hash: string; actor_name: string }[]>`
      select chain_position, hash, actor_name from audit_log order by chain_position`;
    expect(before.map((r) => r.actor_name)).toEqual(Array(5).fill('J. de Vries'));

    await runMigrations(url);

    const v = await verifyAuditChain(h.db);
    expect(v).toMatchObject({ entries: 6, detailsErased: 0, firstBroken: null });
    const after = await h.sql<
      {
        chain_position: number;
        hash: string;
        legacy_hash: string | null;
        details_salt: string | null;
        action: string;
        data: Record<string, unknown>;
      }[]
    >`select chain_position, hash, legacy_hash, details_salt, action, data from audit_log order by chain_position`;
    // Every old entry keeps its old hash (an anchor taken before the migration still matches it) under a new one.
    expect(after.slice(0, 5).map((r) => r.legacy_hash)).toEqual(before.map((r) => r.hash));
    after.slice(0, 5).forEach((r, i) => {
      expect(r.hash).not.toBe(before[i]!.hash);
      expect(r.details_salt).toMatch(/^[0-9a-f]{64}$/);
    });
    // The re-seal is itself on the chain, naming the head it started from.
    expect(after[5]).toMatchObject({
      action: 'audit.chain_resealed',
      legacy_hash: null,
      data: { entries: 5, previousHead: { chainPosition: 5, hash: before[4]!.hash } },
    });

    // A change to an old entry after the re-seal is caught: its details (the note) ...
    const note = after[1]!.data;
    await asSuperuser(h, `update audit_log set data = '{"note": "niets aan de hand"}' where chain_position = 2`);
    expect((await verifyAuditChain(h.db)).firstBroken).toMatchObject({ chainPosition: 2, reason: 'hash_mismatch' });
    await asSuperuser(h, `update audit_log set data = '${JSON.stringify(note)}' where chain_position = 2`);
    expect((await verifyAuditChain(h.db)).firstBroken).toBeNull();
    // ... and its chained columns, here the actor's name taken away.
    await asSuperuser(h, `update audit_log set actor_name = null where chain_position = 4`);
    expect((await verifyAuditChain(h.db)).firstBroken).toMatchObject({ chainPosition: 4, reason: 'hash_mismatch' });
    await asSuperuser(h, `update audit_log set actor_name = 'J. de Vries' where chain_position = 4`);
    expect((await verifyAuditChain(h.db)).firstBroken).toBeNull();

    // The old entries' details can now be erased (by a recorded purge) and the chain still holds.
    const ids = (await h.sql<{ id: number }[]>`select id from audit_log where chain_position between 2 and 4`).map(
      (r) => Number(r.id),
    );
    await h.db.transaction(async (tx) => {
      const entry = await recordPurgeBatch(tx, {
        runId: 'test-run',
        kind: 'cases',
        asOf: new Date(),
        cutoff: new Date().toISOString(),
        batch: 1,
        removed: { doubt_cases: 1 },
        auditDetails: ids.length,
      });
      expect(await eraseAuditDetails(tx, ids, entry, new Date())).toEqual({ erased: 3, altered: [] });
    });
    expect(await verifyAuditChain(h.db)).toMatchObject({ entries: 7, detailsErased: 3, firstBroken: null });
    const [left] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from audit_log
       where data::text ~ '(Bakker|bakker)' or actor_name is not null and chain_position between 2 and 4`;
    expect(left!.n).toBe(0);
    // Erased is not a licence: the erased entry's chained columns are still covered.
    await asSuperuser(h, `update audit_log set action = 'case.nothing' where chain_position = 3`);
    expect((await verifyAuditChain(h.db)).firstBroken).toMatchObject({ chainPosition: 3, reason: 'hash_mismatch' });
  });

  it('refuses to re-seal a log whose old chain does not verify, and changes nothing', async () => {
    const url = await emptyDatabase();
    await migrateBeforeReseal(url);
    const h = createDb(url, { max: 2 });
    cleanups.push(() => h.close());
    await writeOldLog(h);
    await asSuperuser(h, `update audit_log set data = '{"note": "rewritten"}' where chain_position = 2`);

    const err = await runMigrations(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(causes(err)).toMatch(/database migration failed[\s\S]*audit chain broken at position 2 .*hash_mismatch/);
    // Rolled back whole: no new column, the old function still the one in use.
    const [col] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from information_schema.columns where table_name = 'audit_log' and column_name = 'legacy_hash'`;
    expect(col!.n).toBe(0);
    const [fn] = await h.sql<
      { n: number }[]
    >`select count(*)::int as n from pg_proc where proname = 'audit_entry_hash_v1'`;
    expect(fn!.n).toBe(0);
  });
});
