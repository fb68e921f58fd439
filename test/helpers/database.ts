/**
 * A private database per test file: a copy of the migrated template made by test/global-setup.ts,
 * on the same embedded PostgreSQL server. Files running in parallel never see each other's rows.
 *
 *   const fresh = await freshDatabase('blocks');
 *   const { db, close } = createDb(fresh.url, { max: 4 });
 *   afterAll(async () => { await close(); await fresh.drop(); });
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';

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
