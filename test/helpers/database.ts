/**
 * A private database per test file: a copy of the migrated template made by test/global-setup.ts,
 * on the same embedded PostgreSQL server. Files running in parallel never see each other's rows.
 *
 *   const fresh = await freshDatabase('blocks');
 *   const { db, close } = createDb(fresh.url, { max: 4 });
 *   afterAll(async () => { await close(); await fresh.drop(); });
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, inject } from 'vitest';
import { migrationsFolder, runMigrations } from '../../db/migrate.js';

export interface FreshDatabase {
  name: string;
  url: string;
  /** Drop it (closes other sessions on it first). Optional: the whole server goes at the end of the run. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function freshDatabase(label = 'test'): Promise<FreshDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const template = inject('templateDatabase');
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 40);
  const name = `t_${slug}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } catch (cause) {
    throw new Error(`could not create test database ${name} from ${template}`, { cause });
  } finally {
    await admin.end({ timeout: 5 });
  }
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

/**
 * An empty database (not the template) migrated up to, and not including, the migration tagged `<nnnn>_<name>`:
 * for a test that writes rows as the code before that migration did, then runs it (runMigrations(url)).
 * The migrations folder is copied with its journal cut there; the copy is gone when this returns.
 */
export async function databaseBefore(name: string, label = name): Promise<FreshDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const db = `t_before_${label.replace(/[^a-z0-9]+/gi, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${db}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const fresh: FreshDatabase = {
    name: db,
    url: withDatabase(adminUrl, db),
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
  const dir = await mkdtemp(join(tmpdir(), `migrations-before-${name}-`));
  try {
    await cp(migrationsFolder(), dir, { recursive: true });
    const journalFile = join(dir, 'meta', '_journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag.endsWith(`_${name}`));
    if (at < 1) throw new Error(`no migration tagged _${name} after the first in db/migrations`);
    await writeFile(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
    await runMigrations(fresh.url, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return fresh;
}

/**
 * For a migration test file: the database before the migration tagged `<nnnn>_<name>` (databaseBefore), made in the
 * file's beforeAll with a `postgres` client on it, both dropped in its afterAll. Read `url` and `sql` inside tests.
 */
export function useDatabaseBefore(name: string): { readonly url: string; readonly sql: postgres.Sql } {
  let fresh: FreshDatabase | undefined;
  let sql: postgres.Sql | undefined;
  beforeAll(async () => {
    fresh = await databaseBefore(name);
    sql = postgres(fresh.url, { max: 2, onnotice: () => undefined });
  }, 120_000);
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await fresh?.drop();
  });
  return {
    get url() {
      if (!fresh) throw new Error(`the database before ${name} is made in beforeAll`);
      return fresh.url;
    },
    get sql() {
      if (!sql) throw new Error(`the database before ${name} is made in beforeAll`);
      return sql;
    },
  };
}
