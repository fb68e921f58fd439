import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
/** A transaction handle; repository functions accept `Db | Tx` and use it for every statement. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface DbHandle {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function createDb(
  url: string,
  opts: { max?: number; onnotice?: (n: unknown) => void; connectTimeoutS?: number } = {},
): DbHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    // Dates travel as timestamptz; keep bigint ids as JS numbers (they stay far below 2^53).
    types: { bigint: postgres.BigInt },
    onnotice: opts.onnotice ?? (() => {}),
    connection: { application_name: 'gerede-twijfel' },
    // Bounded: an unreachable server fails a request in seconds (503 database_unavailable), never a hang.
    connect_timeout: opts.connectTimeoutS ?? 2,
    // Connections broken while the server was away are dropped rather than kept for the next request.
    idle_timeout: 60,
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    close: () => sql.end({ timeout: 5 }),
  };
}

export { schema };
