/**
 * Applies the drizzle-kit migrations on one dedicated connection. As a script it exits non-zero
 * on failure, so a deploy never starts against a half-migrated database.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';

/** db/migrations next to this file (tsx) or, from dist/db/, the source tree's db/migrations. */
export function migrationsFolder(): string {
  for (const rel of ['./migrations', '../../db/migrations']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('db/migrations not found next to db/migrate');
}

/** `folder`: another migrations folder (a test migrating up to an earlier migration); default db/migrations. */
export async function runMigrations(databaseUrl: string, folder = migrationsFolder()): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    // Several API/worker instances may start at once: one migrates, the others wait (max: 1 keeps
    // the lock and the migration on the same session).
    await sql`select pg_advisory_lock(hashtext('gerede-twijfel-migrations'))`;
    await migrate(drizzle(sql), { migrationsFolder: folder });
  } catch (err) {
    throw new Error('database migration failed', { cause: err });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is required to run migrations\n');
    process.exit(78);
  }
  runMigrations(url).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(
        `${err instanceof Error ? `${err.message}: ${String((err.cause as Error | undefined)?.message ?? '')}` : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
