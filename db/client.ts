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
  /**
   * Does PostgreSQL answer `select 1` within `timeoutMs`, on a connection of its own (a busy pool does not
   * make it look down)? A server that hangs without closing its sockets (frozen, or cut off by a network
   * partition) fails this, where the pool's queries would wait for TCP to give up.
   */
  probe: DatabaseProbe;
  close(): Promise<void>;
}

/** db/client.ts `probe`; `warm` opens its connection ahead of the first probe. */
export interface DatabaseProbe {
  (timeoutMs: number): Promise<boolean>;
  /**
   * Open the probe's connection now, outside any probe's time budget: on a loaded machine a fresh connection
   * (a backend forked, authenticated) can take longer than the probe may, and a probe that paid for it made a
   * healthy database look frozen (issue 20: a false 503 at load average 17 on 2 cores).
   */
  warm?(): void;
}

/** Upper bound of the wait before the next connection attempt after failed ones (seconds). */
export const RECONNECT_BACKOFF_MAX_S = 0.02;

/** Seconds before the next connection attempt after `retries` failed ones: 2.5 ms doubling, capped. */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.00125 * 2 ** retries, RECONNECT_BACKOFF_MAX_S);
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
    // Between failed connection attempts: at most RECONNECT_BACKOFF_MAX_S. Each attempt fails one queued query, so
    // the pool fails at most max / backoff queries a second; the driver's default backoff grows to 20 s, and with
    // PostgreSQL down (refused at once) requests queued for up to 26 s instead of a fast 503 (bench:faults,
    // postgres row; issue 8). Attempts follow queries, so a short backoff cannot spin without traffic.
    backoff: reconnectBackoff,
    // Connections broken while the server was away are dropped rather than kept for the next request.
    idle_timeout: 60,
  });
  const db = drizzle(sql, { schema });
  let probeSql: postgres.Sql | undefined;
  let inFlight: Promise<boolean> | undefined;
  // No idle timeout: the connection stays open between probes, so a probe on a healthy database never pays
  // for opening one (see DatabaseProbe.warm).
  const probeConnection = (timeoutMs: number) =>
    (probeSql ??= postgres(url, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'gerede-twijfel-probe' },
      connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    }));
  async function probeOnce(timeoutMs: number): Promise<boolean> {
    const conn = probeConnection(timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      conn`select 1`.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ok && probeSql === conn) {
      // A connection that hung may never come back (a partition): the next probe opens a fresh one.
      probeSql = undefined;
      void conn.end({ timeout: 0 }).catch(() => {});
    }
    return ok;
  }
  // One probe at a time, however many slow requests ask.
  const probe: DatabaseProbe = (timeoutMs: number): Promise<boolean> =>
    (inFlight ??= probeOnce(timeoutMs).finally(() => {
      inFlight = undefined;
    }));
  probe.warm = () => {
    if (probeSql || inFlight) return;
    probeConnection(10_000)`select 1`.catch(() => {}); // a failure: the first probe opens a fresh one
  };
  return {
    db,
    sql,
    probe,
    close: async () => {
      await probeSql?.end({ timeout: 1 }).catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}

export { schema };
