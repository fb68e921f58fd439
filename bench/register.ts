/**
 * `npm run bench:register` — the P4 gate and the access register at a year's volume (issue 21).
 *
 * Reuses bench:p4's pieces (bench/p4.ts): its embedded PostgreSQL (durable settings), its dataset (BENCH_CONNECTIONS
 * connections with mandates, blocks and 20 parties), its API process and its load generator with the same varied
 * gate requests and the bare constant route as the ceiling. Then:
 *
 * 1. The empty register: gate and bare route in alternating rounds; single-row insert latency.
 * 2. 1 % of the target (at least 1 M rows) spread over the data months as below: the DC-5 query for one connection
 *    over 13 months (accessOverview's per-party statistics as it reads them, registerStatistics: the month counts
 *    of the counted months plus the register's uncounted rest, decisions/0020, and its 50 most recent rows; the
 *    raw statistics statement over the register alone is timed beside it) and a party's decisions for one day
 *    (listAccessRegister: a page and its total), p50/p99 over random connections and (party, day) pairs. Removed.
 * 3. The register filled to 25 %, 50 % and 100 % of BENCH_REGISTER_ROWS (default 100,000,000), newest month first,
 *    BENCH_REGISTER_MONTHS months (default 8: 12.5 M a month, ~410,000 decisions a day at 100 M) ending with the
 *    current month, so the month the gate writes to is full from the first step (the end of a month: the worst
 *    case). Rows by set-based SQL (generate_series), spread over all connections (multiplicative hash) and over
 *    the 20 parties as the gate's requests are (55 % a connection's own service provider, 25 % its supplier, 20 %
 *    another), allowed and denied mixed, every 50th a delivery. Each month is written as a plain table and then
 *    ATTACHed, which builds its indexes in one pass: indexes so built are denser than ones grown by random inserts,
 *    so the sizes printed are a lower bound for the connection index (said in docs/benchmarks.md). After each step:
 *    gate and bare route (throughput, p99) and single-row insert latency — the cost curve.
 * 4. At the full size: the two queries again (p99 against step 2), and once more after the current month (heap and
 *    indexes) is read into the OS page cache as a running register holds it (warmCurrentMonth: the bench's own order
 *    of filling leaves it the least recently touched month); table and index bytes per million rows, the
 *    database and WAL bytes on disk; the monthly drop of the oldest month (the retention purge's own function,
 *    services/register/partitions.ts dropExpiredRegisterMonths: detach concurrently, count, drop) while the gate is
 *    under load (its throughput, p99 and errors during the drop against the same load just before); and a
 *    partition roll-over under load — the next months attached (ensureRegisterPartitions) and the oldest dropped
 *    while the gate answers — after which the register holds exactly one row for every answered decision.
 *    After every fill, before its measurements: the daily register maintenance as the Schedule runs it
 *    (maintainRegisterMonths: closed months vacuumed and compacted by connection, decisions/0019), repeated until no
 *    closed month is left to compact, each compaction's seconds printed (and scaled to a full month); at the full
 *    size one month's swap runs under gate load (its throughput, p99 and answers not 2xx). Each query measurement
 *    also prints its buffers (EXPLAIN (ANALYZE, BUFFERS), hit and read, mean of BENCH_PLAN_SAMPLES), the
 *    load-independent figure.
 * 5. Removes the data: the temp cluster is deleted at the end (unless BENCH_KEEP_DATA=1).
 *
 * Environment: BENCH_REGISTER_ROWS, BENCH_REGISTER_MONTHS, BENCH_REGISTER_SAMPLES (queries per measurement, 200),
 * BENCH_REGISTER_COMPACT (1; 0 leaves closed months as filled: the register before compaction), BENCH_PLAN_SAMPLES (20),
 * BENCH_INSERT_SAMPLES (single-row inserts per point, 500), REGISTER_PARTY_DAY_INDEX_MONTHS (the app's, lib/config.ts: passed
 * to the maintenance the bench runs), and bench:p4's BENCH_CONNECTIONS, BENCH_DURATION (s per
 * route per point, default 30), BENCH_ROUNDS, BENCH_WARMUP, BENCH_HTTP_CONNECTIONS, BENCH_POOL_MAX, BENCH_DATABASE_URL
 * (an empty database), BENCH_KEEP_DATA, BENCH_MAX_WAL_SIZE (default 8GB).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { sql as drizzleSql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { createDb } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { listAccessRegister } from '../db/repositories/access-register.js';
import { registerStatistics, registerStatisticsSql } from '../db/repositories/transparency.js';
import {
  countedRegisterMonths,
  countMonthKey,
  compactionWorkName,
  compactMonthCopy,
  compactMonthIndexes,
  countRegisterMonth,
  compactMonthVerify,
  createRegisterMonth,
  partyDayIndexes,
  REGISTER_MONTH_STORAGE,
  registerMonths,
} from '../db/repositories/register-partitions.js';
import {
  registerCountsSplit,
  registerMonth,
  registerMonthCompactable,
  registerMonthsBetween,
  registerPartyDayIndexKept,
  type RegisterMonth,
} from '../domain/register-partitions.js';
import { DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS } from '../lib/config.js';
import { uuidv7 } from '../lib/uuidv7.js';
import {
  type CompactedMonth,
  dropExpiredRegisterMonths,
  ensureRegisterPartitions,
  maintainRegisterMonths,
  PARTITIONS_SCHEDULE_ACTOR,
} from '../services/register/partitions.js';
import { startBenchDatabase } from './database.js';
import { intEnv } from './env.js';
import {
  drive,
  eanOf,
  HTTP_CONNECTIONS,
  merge,
  SATURATION_CONNECTIONS,
  N,
  one,
  percentile,
  readCpuModel,
  requestPool,
  seed,
  startApi,
  type RunResult,
  type Seeded,
  type Spec,
} from './p4.js';

const ROWS = intEnv('BENCH_REGISTER_ROWS', 100_000_000, 1000);
const MONTHS = intEnv('BENCH_REGISTER_MONTHS', 8, 1);
const SAMPLES = intEnv('BENCH_REGISTER_SAMPLES', 200);
const INSERT_SAMPLES = intEnv('BENCH_INSERT_SAMPLES', 500);
const FILL_PARALLEL = intEnv('BENCH_FILL_PARALLEL', 2, 1);
const COMPACT = intEnv('BENCH_REGISTER_COMPACT', 1, 0) > 0;
const PLAN_SAMPLES = intEnv('BENCH_PLAN_SAMPLES', 20);
const DURATION = intEnv('BENCH_DURATION', 30);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const WARMUP = intEnv('BENCH_WARMUP', 5, 0);
const SMALL = Math.max(1_000_000, Math.round(ROWS / 100));
/** The app's REGISTER_PARTY_DAY_INDEX_MONTHS (lib/config.ts), passed to the maintenance the bench runs. */
const PARTY_DAY_INDEX_MONTHS = intEnv('REGISTER_PARTY_DAY_INDEX_MONTHS', DEFAULT_REGISTER_PARTY_DAY_INDEX_MONTHS, 0);
const DAY = 86_400_000;
const log = (msg: string) => process.stdout.write(`[bench:register] ${msg}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

interface Point {
  rows: number;
  bare: RunResult;
  gate: RunResult;
  /** The same rounds at SATURATION_CONNECTIONS (bench:p4's capacity rounds), when run. */
  satBare?: RunResult;
  satGate?: RunResult;
  insertP50: number;
  insertP99: number;
}

interface QueryTimes {
  rows: number;
  dc5P50: number;
  dc5P99: number;
  dc5Rows: number;
  /** The two statements of the DC-5 query timed apart, and the recent rows read by a bitmap heap scan. */
  statsP50: number;
  statsP99: number;
  /** The raw statistics statement (every month from the register), as accessOverview read it before decisions/0020. */
  rawStatsP50: number;
  rawStatsP99: number;
  recentP50: number;
  recentP99: number;
  bitmapP50: number;
  bitmapP99: number;
  partyP50: number;
  /**
   * The page's p50/p99 apart for days of the current month (time order, as written), of closed months with their own
   * covering party-day index (REGISTER_PARTY_DAY_INDEX_MONTHS, decisions/0019) and of closed months without it.
   */
  partyCurrent: { n: number; p50: number; p99: number };
  partyClosed: { n: number; p50: number; p99: number };
  partyIndexed: { n: number; p50: number; p99: number };
  partyUnindexed: { n: number; p50: number; p99: number };
  partyP99: number;
  partyTotal: number;
  totalP50: number;
  totalP99: number;
  /** Shared buffers per query (EXPLAIN (ANALYZE, BUFFERS), mean over PLAN_SAMPLES): load-independent. */
  buffers: { stats: Buffers; rawStats: Buffers; recent: Buffers; party: Buffers };
}

interface Buffers {
  hit: number;
  read: number;
}

// ---------------------------------------------------------------------------------------------
// Filling the register (set-based SQL, a month at a time, attached with its indexes built in one pass)

/**
 * Write `n` rows for `month` into a plain table and attach it as the month (the month must not be attached: see
 * fill). Rows are spread evenly over the month (capped at `until`), ids UUIDv7 of their instant, in id order.
 * One transaction: the table is created, filled and attached (ATTACH builds its indexes) in it, so that with the
 * bench cluster's wal_level=minimal neither the rows nor the index builds are written to the WAL (the files are
 * synced at commit instead), which fills about twice as fast.
 */
async function fillMonth(
  sql: postgres.Sql,
  seeded: Seeded,
  month: RegisterMonth,
  n: number,
  offset: number,
  until: Date,
): Promise<void> {
  const name = month.name;
  const from = month.from.getTime();
  const to = Math.min(month.to.getTime(), until.getTime());
  const providers = seeded.providers.map((p) => p.id);
  const suppliers = seeded.suppliers.map((p) => p.id);
  await sql.begin(async (session) => {
    await session.unsafe(
      `create table ${name} (like access_register including defaults) with (${REGISTER_MONTH_STORAGE})`,
    );
    // i: the connection, by a multiplicative hash of the row number (all connections, no runs of one);
    // r: a second hash for the party and the outcome.
    await session`
      insert into ${session(name)} (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from,
                                    period_to, allowed, reason_code, rule, mandate_id, kind, delivery_of)
      select (lpad(to_hex((extract(epoch from t.at) * 1000)::bigint), 12, '0') || '7' || substr(h.m, 1, 3) || '8' || substr(h.m, 4, 15))::uuid,
             t.at, h.m::uuid::text, p.party, e.ean,
             (array['interval_data','daily_registers','monthly_registers'])[(h.r % 3) + 1],
             date_trunc('day', t.at) - interval '8 days', date_trunc('day', t.at) - interval '1 day',
             o.allowed, o.reason, o.rule, case when o.allowed then p.party end,
             case when g % 50 = 0 then 'delivery' else 'request' end,
             case when g % 50 = 0 then (lpad(to_hex((extract(epoch from t.at) * 1000)::bigint - 60000), 12, '0') || '7000' || '8' || substr(h.m, 4, 15))::uuid end
        from generate_series(${offset}::bigint, ${offset + n - 1}::bigint) g
        cross join lateral (select to_timestamp((${from}::float8 + (g - ${offset})::float8 * ${(to - from) / n}::float8) / 1000) as at) t
        cross join lateral (select md5(g::text) as m, (g * 40503) % 1000 as r, ((g % 1000000007) * 2654435761) % ${N} as i) h
        join bench_eans e on e.i = h.i
        cross join lateral (select case when h.r < 550 then (${session.array(providers)}::uuid[])[(h.i % 10) + 1]
                                        when h.r < 800 then (${session.array(suppliers)}::uuid[])[(h.i % 10) + 1]
                                        else (${session.array(providers)}::uuid[])[((h.i + 1) % 10) + 1] end as party) p
        cross join lateral (select case when h.r < 550 then true when h.r < 800 then true else false end as allowed,
                                   case when h.r < 550 then 'mandate_valid' when h.r < 800 then 'supplier_of_record' else 'no_mandate' end as reason,
                                   case when h.r < 550 then 'DC-2' when h.r < 800 then 'GT-2' else 'DC-2' end as rule) o`;
    await session.unsafe(
      `alter table ${name} add constraint ${name}_month_ck check (decided_at >= '${month.from.toISOString()}' and decided_at < '${month.to.toISOString()}')`,
    );
    // Two months filled at once serialise here (ATTACH's SHARE UPDATE EXCLUSIVE on the register, held to commit).
    await session.unsafe(
      `alter table access_register attach partition ${name} for values from ('${month.from.toISOString()}') to ('${month.to.toISOString()}')`,
    );
    await session.unsafe(`alter table ${name} drop constraint ${name}_month_ck`);
  });
}

/** The data months, newest (the current one) first. */
function dataMonths(now: Date): RegisterMonth[] {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (MONTHS - 1), 1));
  return registerMonthsBetween(first, now).reverse();
}

/**
 * Fill `months` with `perMonth` rows each, FILL_PARALLEL months at a time. The empty months already attached are
 * detached and dropped first (a plain DETACH, ACCESS EXCLUSIVE on the register: nothing else runs during a fill,
 * and it must not wait behind another month's open fill transaction).
 */
async function fill(sql: postgres.Sql, seeded: Seeded, months: RegisterMonth[], perMonth: number, now: Date) {
  const attached = new Set(
    (
      await sql<Array<{ name: string }>>`
        select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = 'access_register'::regclass`
    ).map((r) => r.name),
  );
  for (const m of months) {
    if (attached.has(m.name)) {
      await sql.unsafe(`alter table access_register detach partition ${m.name}`);
      await sql.unsafe(`drop table ${m.name}`);
    }
  }
  const queue = [...months];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const t0 = Date.now();
      // Row numbers: months since 2000 × 10^9 + k, unique per month (a month holds fewer than 10^9 rows).
      const offset = ((m.from.getUTCFullYear() - 2000) * 12 + m.from.getUTCMonth()) * 1_000_000_000;
      await fillMonth(sql, seeded, m, perMonth, offset, now);
      log(`  ${m.name}: ${fmt(perMonth)} rows in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILL_PARALLEL, months.length) }, worker));
  // The visibility map set (index-only scans), as the month's autovacuum and the partitions activity leave a
  // closed month (REGISTER_MONTH_STORAGE, vacuumClosedRegisterMonths); statistics for the planner. After all the
  // fills: while another month's fill transaction is open, VACUUM may not mark these rows visible to all.
  for (const m of months) {
    const t0 = Date.now();
    await sql.unsafe(`vacuum analyze ${m.name}`);
    log(`  ${m.name}: vacuumed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

async function registerRows(sql: postgres.Sql): Promise<number> {
  // Exact counts of 100 M rows take minutes; the planner's estimates after VACUUM ANALYZE are exact enough here.
  const [r] = await sql<Array<{ n: string }>>`
    select coalesce(sum(c.reltuples), 0)::bigint::text as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'access_register'::regclass and c.reltuples > 0`;
  return Number(r!.n);
}

// ---------------------------------------------------------------------------------------------
// The daily maintenance, as production runs it

/**
 * The Schedule's daily run (services/register/partitions.ts maintainRegisterMonths: months ahead, closed months
 * vacuumed, a closed month compacted by connection) repeated until no closed month is left to compact: production
 * compacts each month once, the day after it closes; the bench's data months arrive all at once. Skipped with
 * BENCH_REGISTER_COMPACT=0 (the register as it was before compaction, for comparison).
 */
async function maintain(db: ReturnType<typeof createDb>['db'], now: Date): Promise<CompactedMonth[]> {
  if (!COMPACT) return [];
  const done: CompactedMonth[] = [];
  for (;;) {
    const r = await maintainRegisterMonths(db, now, PARTITIONS_SCHEDULE_ACTOR, {
      partyDayIndexMonths: PARTY_DAY_INDEX_MONTHS,
    });
    if (r.deferred.length > 0) throw new Error(`compaction deferred: ${r.deferred.join(', ')}`);
    if (r.compacted.length === 0) return done;
    for (const c of r.compacted) {
      // The empty months before the data (the 13 months DC-5 reads) are compacted too, in milliseconds: not printed.
      if (c.rows === 0) continue;
      log(
        `  compacted ${c.name}: ${fmt(c.rows)} rows in ${c.seconds.toFixed(1)} s (${compactPerMonth(c).toFixed(0)} s per ${fmt(ROWS / MONTHS)} rows), swap ${c.swapMs.toFixed(0)} ms; month counts ${fmt(c.counts.groups)} (connection, party) rows in ${c.counts.seconds.toFixed(1)} s`,
      );
      done.push(c);
    }
  }
}

/** A compaction's seconds scaled to the bench's full month (ROWS / MONTHS rows). */
const compactPerMonth = (c: CompactedMonth) => (c.seconds * (ROWS / MONTHS)) / Math.max(1, c.rows);

// ---------------------------------------------------------------------------------------------
// Measurements

/** Single-row register inserts (own statement, own commit), as a decision's row alone would cost. */
async function insertLatency(sql: postgres.Sql, seeded: Seeded): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let k = 0; k < INSERT_SAMPLES; k++) {
    const now = Date.now();
    const i = Math.floor(Math.random() * N);
    const t0 = performance.now();
    await sql`
      insert into access_register (id, decided_at, request_id, party_id, connection_ean, data_kind, period_from, period_to,
                                   allowed, reason_code, rule, kind)
      values (${uuidv7(now)}, ${new Date(now).toISOString()}::timestamptz, ${`insert-probe-${randomUUID()}`}, ${seeded.providers[i % 10]!.id},
              ${eanOf(i)}, 'interval_data', ${new Date(now - 8 * DAY).toISOString()}::timestamptz, ${new Date(now - DAY).toISOString()}::timestamptz,
              false, 'no_mandate', 'DC-2', 'request')`;
    times.push(performance.now() - t0);
  }
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** Gate and bare route in alternating rounds (bench:p4's way), with the insert latency after. */
async function measurePoint(
  port: number,
  pool: Spec[],
  sql: postgres.Sql,
  seeded: Seeded,
  rows: number,
): Promise<Point> {
  const tag = `r${randomBytes(3).toString('hex')}`;
  if (WARMUP > 0) {
    await drive(port, '/bench/bare', pool, WARMUP, `${tag}w`, false);
    await drive(port, '/p4/requests', pool, WARMUP, `${tag}w`, false);
  }
  const slice = Math.max(1, Math.round(DURATION / ROUNDS));
  const bare: RunResult[] = [];
  const gate: RunResult[] = [];
  const satBare: RunResult[] = [];
  const satGate: RunResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    bare.push(await drive(port, '/bench/bare', pool, slice, `${tag}x`, false));
    gate.push(await drive(port, '/p4/requests', pool, slice, `${tag}g`, false));
    if (SATURATION_CONNECTIONS > 0) {
      satBare.push(await drive(port, '/bench/bare', pool, slice, `${tag}y`, false, SATURATION_CONNECTIONS));
      satGate.push(await drive(port, '/p4/requests', pool, slice, `${tag}s`, false, SATURATION_CONNECTIONS));
    }
  }
  const ins = await insertLatency(sql, seeded);
  const p: Point = {
    rows,
    bare: merge(bare),
    gate: merge(gate),
    ...(satBare.length ? { satBare: merge(satBare), satGate: merge(satGate) } : {}),
    insertP50: ins.p50,
    insertP99: ins.p99,
  };
  log(
    `  at ${fmt(rows)} rows: bare ${fmt(p.bare.rps)} req/s, gate ${fmt(p.gate.rps)} req/s (${((100 * p.gate.rps) / p.bare.rps).toFixed(0)} %), ` +
      `gate p99 ${p.gate.p99.toFixed(1)} ms (bare ${p.bare.p99.toFixed(1)}), insert p50/p99 ${p.insertP50.toFixed(2)}/${p.insertP99.toFixed(2)} ms` +
      (p.satBare && p.satGate
        ? `; at ${SATURATION_CONNECTIONS} HTTP connections bare ${fmt(p.satBare.rps)}, gate ${fmt(p.satGate.rps)} req/s (${((100 * p.satGate.rps) / p.satBare.rps).toFixed(0)} %), gate p99 ${p.satGate.p99.toFixed(1)} ms (bare ${p.satBare.p99.toFixed(1)})`
        : ''),
  );
  return p;
}

/**
 * DC-5 for one connection over 13 months: accessOverview's statistics per party as it reads them (db/repositories/
 * transparency.ts registerStatistics: the month markers, then one statement over the month counts and the register's
 * uncounted rest, decisions/0020) and its 50 most recent rows; the raw statistics statement over the register alone
 * beside it (what accessOverview read before); and a party's decisions for one day: listAccessRegister's page of 100
 * and its total. Random connections and (party, day) pairs within the data.
 */
async function measureQueries(
  sql: postgres.Sql,
  db: ReturnType<typeof createDb>['db'],
  seeded: Seeded,
  rows: number,
  now: Date,
): Promise<QueryTimes> {
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 12, now.getUTCDate()));
  // Right after a fill the buffer pool is full of dirty pages, and every page a query reads first writes one out
  // (seen at 40 M rows: "written=42" per DC-5 query). A running register's checkpoints keep up; measure that.
  await sql`checkpoint`;
  const dc5: number[] = [];
  const statsTimes: number[] = [];
  const rawStatsTimes: number[] = [];
  // accessOverview reads the attached months once for the answer's reach and passes them on (not timed here).
  const held = (await registerMonths(db)).filter((m) => m.state === 'attached');
  const recentTimes: number[] = [];
  let dc5Rows = 0;
  const recent = (q: postgres.Sql | postgres.ReservedSql, ean: string) => q`
      select * from access_register where connection_ean = ${ean} and decided_at >= ${since.toISOString()}::timestamptz
       order by decided_at desc, id desc limit 50`;
  // The answer as accessOverview reads it: its statistics and its most recent rows at once, so it waits for the
  // slower of the two (accessOverview reads the mandates beside them too; they are not the register's, not timed).
  for (let k = 0; k < SAMPLES; k++) {
    const ean = eanOf(Math.floor(Math.random() * N));
    const t0 = performance.now();
    const [stats] = await Promise.all([registerStatistics(db, ean, since, now, held), recent(sql, ean)]);
    dc5.push(performance.now() - t0);
    dc5Rows += stats.reduce((t, s) => t + s.total, 0);
  }
  // The two apart, one after the other, for other random grid connections.
  for (let k = 0; k < SAMPLES; k++) {
    const ean = eanOf(Math.floor(Math.random() * N));
    const t0 = performance.now();
    await registerStatistics(db, ean, since, now, held);
    const t1 = performance.now();
    await recent(sql, ean);
    const t2 = performance.now();
    statsTimes.push(t1 - t0);
    recentTimes.push(t2 - t1);
  }
  for (let k = 0; k < SAMPLES; k++) {
    const ean = eanOf(Math.floor(Math.random() * N));
    const t0 = performance.now();
    // Through drizzle as accessOverview ran it (not a prepared statement, like registerStatistics's).
    await db.execute(drizzleSql`
      select party_id, count(*)::int as total, (count(*) filter (where allowed))::int as allowed,
             min(decided_at) as first_at, max(decided_at) as last_at
        from access_register where connection_ean = ${ean} and decided_at >= ${since.toISOString()}::timestamptz
       group by party_id`);
    rawStatsTimes.push(performance.now() - t0);
  }
  // The statistics statement as registerStatistics builds it (its months split by registerCountsSplit), as text.
  const counted = await countedRegisterMonths(db);
  const split = registerCountsSplit(
    held.filter((m) => counted.has(countMonthKey(m))),
    since,
    now,
  );
  const dialect = new PgDialect();
  const statsStatement = (ean: string) => dialect.sqlToQuery(registerStatisticsSql(ean, split));
  log(
    `  DC-5 statistics: ${split.counted.length} months from the month counts, ${split.rest.length} register spans (${split.rest.map((r) => `${r.from.toISOString().slice(0, 10)}..${r.to?.toISOString().slice(0, 10) ?? ''}`).join(', ')})`,
  );
  // Diagnostic, not the answer's plan: the 50 most recent rows by a bitmap heap scan (index scans off in one
  // session), which reads all of the connection's heap pages but through PostgreSQL 18's read stream, several at
  // once, where the ordered index scan reads its ~50 pages one after another.
  const bitmapTimes: number[] = [];
  const session = await sql.reserve();
  try {
    await session`set enable_indexscan = off`;
    for (let k = 0; k < SAMPLES; k++) {
      const ean = eanOf(Math.floor(Math.random() * N));
      const t0 = performance.now();
      await recent(session, ean);
      bitmapTimes.push(performance.now() - t0);
    }
    await session`reset enable_indexscan`;
  } finally {
    session.release();
  }
  // listAccessRegister's page (its WHERE, order and limit, as SQL) and its total, timed apart: the page is what a
  // case handler reads; the total counts every row of the party-day, so it grows with the day's volume.
  const party: number[] = [];
  const partyCurrent: number[] = [];
  const partyClosed: number[] = [];
  const partyIndexed: number[] = [];
  const partyUnindexed: number[] = [];
  // The months with their own covering party-day index (a compacted month's, decisions/0019), by month name.
  const indexedMonths = await partyDayIndexes(db);
  const monthNameOf = (d: Date) => held.find((m) => m.from <= d && d < m.to)?.name;
  const currentFrom = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const totals: number[] = [];
  let partyTotal = 0;
  const parties = [...seeded.providers, ...seeded.suppliers].map((p) => p.id);
  const span = Math.max(2, Math.floor((now.getTime() - dataMonths(now).at(-1)!.from.getTime()) / DAY));
  const partyDay = (k: number) => {
    const day = new Date(now.getTime() - (1 + Math.floor(Math.random() * (span - 1))) * DAY);
    const start = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
    return { partyId: parties[k % parties.length]!, since: start, until: new Date(start.getTime() + DAY) };
  };
  const page = (w: { partyId: string; since: Date; until: Date }) => sql`
    select * from access_register
     where party_id = ${w.partyId}
       and decided_at >= ${w.since.toISOString()}::timestamptz and decided_at < ${w.until.toISOString()}::timestamptz
     order by decided_at desc, id desc limit 100`;
  for (let k = 0; k < SAMPLES; k++) {
    const w = partyDay(k);
    const t0 = performance.now();
    await page(w);
    party.push(performance.now() - t0);
    if (w.since.getTime() >= currentFrom) partyCurrent.push(party.at(-1)!);
    else {
      partyClosed.push(party.at(-1)!);
      (indexedMonths.has(monthNameOf(w.since) ?? '') ? partyIndexed : partyUnindexed).push(party.at(-1)!);
    }
    const t1 = performance.now();
    const r = await listAccessRegister(db, { ...w, limit: 1, offset: 0 });
    totals.push(performance.now() - t1);
    partyTotal += r.total;
  }
  const w0 = partyDay(0);
  const explained = await sql<Array<{ 'QUERY PLAN': string }>>`
    explain (analyze, buffers, costs off, summary off)
    select * from access_register
     where party_id = ${w0.partyId}
       and decided_at >= ${w0.since.toISOString()}::timestamptz and decided_at < ${w0.until.toISOString()}::timestamptz
     order by decided_at desc, id desc limit 100`;
  const ean0 = eanOf(Math.floor(Math.random() * N));
  const q0 = statsStatement(ean0);
  const explainedDc5 = await sql.unsafe<Array<{ 'QUERY PLAN': string }>>(
    `explain (analyze, buffers, costs off, summary off) ${q0.sql}`,
    q0.params as string[],
  );
  const explainedRecent = await sql<Array<{ 'QUERY PLAN': string }>>`
    explain (analyze, buffers, costs off, summary off)
    select * from access_register where connection_ean = ${ean0} and decided_at >= ${since.toISOString()}::timestamptz
     order by decided_at desc, id desc limit 50`;
  log(`  plan of the DC-5 recent requests:\n${explainedRecent.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
  log(`  plan of the party-day page:\n${explained.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
  log(`  plan of the DC-5 statistics:\n${explainedDc5.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
  // Buffers per query, the load-independent figure: a fresh sample of connections and party-days, each query's
  // shared buffers hit and read (the top plan node counts its children's).
  const buffersOf = async (text: string, params: Array<string | number>): Promise<Buffers> => {
    const [r] = await sql.unsafe<Array<{ 'QUERY PLAN': Array<{ Plan: Record<string, number> }> }>>(
      `explain (analyze, buffers, format json) ${text}`,
      params,
    );
    const plan = r!['QUERY PLAN'][0]!.Plan;
    return { hit: plan['Shared Hit Blocks'] ?? 0, read: plan['Shared Read Blocks'] ?? 0 };
  };
  const mean = (bs: Buffers[]): Buffers => ({
    hit: bs.reduce((t, b) => t + b.hit, 0) / bs.length,
    read: bs.reduce((t, b) => t + b.read, 0) / bs.length,
  });
  const bStats: Buffers[] = [];
  const bRawStats: Buffers[] = [];
  const bRecent: Buffers[] = [];
  const bParty: Buffers[] = [];
  for (let k = 0; k < PLAN_SAMPLES; k++) {
    const ean = eanOf(Math.floor(Math.random() * N));
    const q = statsStatement(ean);
    bStats.push(await buffersOf(q.sql, q.params as string[]));
    bRawStats.push(
      await buffersOf(
        `select party_id, count(*)::int, (count(*) filter (where allowed))::int, min(decided_at), max(decided_at)
           from access_register where connection_ean = $1 and decided_at >= $2::timestamptz group by party_id`,
        [eanOf(Math.floor(Math.random() * N)), since.toISOString()],
      ),
    );
    bRecent.push(
      await buffersOf(
        `select * from access_register where connection_ean = $1 and decided_at >= $2::timestamptz
          order by decided_at desc, id desc limit 50`,
        [ean, since.toISOString()],
      ),
    );
    const w = partyDay(k);
    bParty.push(
      await buffersOf(
        `select * from access_register where party_id = $1 and decided_at >= $2::timestamptz and decided_at < $3::timestamptz
          order by decided_at desc, id desc limit 100`,
        [w.partyId, w.since.toISOString(), w.until.toISOString()],
      ),
    );
  }
  const buffers = { stats: mean(bStats), rawStats: mean(bRawStats), recent: mean(bRecent), party: mean(bParty) };
  const showB = (b: Buffers) => `${(b.hit + b.read).toFixed(1)} (hit ${b.hit.toFixed(1)}, read ${b.read.toFixed(1)})`;
  log(
    `  buffers per query (mean of ${PLAN_SAMPLES}): DC-5 statistics ${showB(buffers.stats)} (raw over the register ${showB(buffers.rawStats)}), DC-5 recent 50 ${showB(buffers.recent)}, party-day page ${showB(buffers.party)}`,
  );
  const q: QueryTimes = {
    buffers,
    rows,
    dc5P50: percentile(dc5, 0.5),
    dc5P99: percentile(dc5, 0.99),
    dc5Rows: dc5Rows / SAMPLES,
    statsP50: percentile(statsTimes, 0.5),
    statsP99: percentile(statsTimes, 0.99),
    rawStatsP50: percentile(rawStatsTimes, 0.5),
    rawStatsP99: percentile(rawStatsTimes, 0.99),
    recentP50: percentile(recentTimes, 0.5),
    recentP99: percentile(recentTimes, 0.99),
    bitmapP50: percentile(bitmapTimes, 0.5),
    bitmapP99: percentile(bitmapTimes, 0.99),
    partyP50: percentile(party, 0.5),
    partyP99: percentile(party, 0.99),
    partyCurrent: { n: partyCurrent.length, p50: percentile(partyCurrent, 0.5), p99: percentile(partyCurrent, 0.99) },
    partyClosed: { n: partyClosed.length, p50: percentile(partyClosed, 0.5), p99: percentile(partyClosed, 0.99) },
    partyIndexed: { n: partyIndexed.length, p50: percentile(partyIndexed, 0.5), p99: percentile(partyIndexed, 0.99) },
    partyUnindexed: {
      n: partyUnindexed.length,
      p50: percentile(partyUnindexed, 0.5),
      p99: percentile(partyUnindexed, 0.99),
    },
    partyTotal: partyTotal / SAMPLES,
    totalP50: percentile(totals, 0.5),
    totalP99: percentile(totals, 0.99),
  };
  log(
    `  queries at ${fmt(rows)} rows: DC-5 13 months p50/p99 ${q.dc5P50.toFixed(2)}/${q.dc5P99.toFixed(2)} ms (${q.dc5Rows.toFixed(1)} rows a connection; ` +
      `statistics ${q.statsP50.toFixed(2)}/${q.statsP99.toFixed(2)} (raw over the register ${q.rawStatsP50.toFixed(2)}/${q.rawStatsP99.toFixed(2)}), recent 50 ${q.recentP50.toFixed(2)}/${q.recentP99.toFixed(2)}, by bitmap ${q.bitmapP50.toFixed(2)}/${q.bitmapP99.toFixed(2)}); ` +
      `party-day page p50/p99 ${q.partyP50.toFixed(2)}/${q.partyP99.toFixed(2)} ms (closed months ${q.partyClosed.p50.toFixed(2)}/${q.partyClosed.p99.toFixed(2)}: with the covering index ${q.partyIndexed.p50.toFixed(2)}/${q.partyIndexed.p99.toFixed(2)} (${q.partyIndexed.n}), without ${q.partyUnindexed.p50.toFixed(2)}/${q.partyUnindexed.p99.toFixed(2)} (${q.partyUnindexed.n}); current month ${q.partyCurrent.p50.toFixed(2)}/${q.partyCurrent.p99.toFixed(2)}), its total ${q.totalP50.toFixed(2)}/${q.totalP99.toFixed(2)} ms (${fmt(q.partyTotal)} rows a party-day)`,
  );
  return q;
}

/**
 * The month the gate writes, read once into the OS page cache (pg_prewarm 'read': its heap and its indexes), as a
 * running register holds it: there it is the most recently written month (each page written by the gate within the
 * month, the previous month's compaction done on its 2nd day, before the pages it holds were written). The bench
 * fills it first (the cost curve wants a full month from the first point) and then fills and compacts seven older
 * months after it, so at the measurement it is the least recently touched and mostly evicted. Closed months stay as
 * the bench leaves them. docs/operations.md "Memory for the people's pages" sizes the memory this takes.
 */
async function warmCurrentMonth(
  sql: postgres.Sql,
  now: Date,
): Promise<{ name: string; bytes: number; seconds: number }> {
  const { name } = registerMonth(now);
  await sql`create extension if not exists pg_prewarm`;
  const t0 = performance.now();
  const [r] = await sql<Array<{ blocks: string }>>`
    select sum(pg_prewarm(c.oid, 'read'))::bigint::text as blocks
      from pg_class c
     where c.oid = ${name}::regclass
        or c.oid in (select indexrelid from pg_index where indrelid = ${name}::regclass)`;
  const seconds = (performance.now() - t0) / 1000;
  const bytes = Number(r!.blocks) * 8192;
  log(
    `  ${name} (the current month, heap and indexes) read into the OS page cache: ${gib(bytes)} in ${seconds.toFixed(1)} s`,
  );
  return { name, bytes, seconds };
}

interface Sizes {
  heap: number;
  indexes: Record<string, number>;
  /** The months' own indexes, not the register's: a compacted month's covering party-day index (decisions/0019). */
  own: number;
  database: number;
  wal: number;
}

async function sizes(sql: postgres.Sql): Promise<Sizes> {
  const [heap] = await sql<Array<{ b: string }>>`
    select coalesce(sum(pg_table_size(i.inhrelid)), 0)::bigint::text as b from pg_inherits i where i.inhparent = 'access_register'::regclass`;
  const idx = await sql<Array<{ name: string; b: string }>>`
    select pi.relname as name, coalesce(sum(pg_relation_size(ci.inhrelid)), 0)::bigint::text as b
      from pg_class pi join pg_index x on x.indexrelid = pi.oid and x.indrelid = 'access_register'::regclass
      left join pg_inherits ci on ci.inhparent = pi.oid
     group by pi.relname order by pi.relname`;
  const [dbs] = await sql<Array<{ b: string }>>`select pg_database_size(current_database())::text as b`;
  const [wal] = await sql<Array<{ b: string }>>`select coalesce(sum(size), 0)::bigint::text as b from pg_ls_waldir()`;
  const [own] = await sql<Array<{ b: string }>>`
    select coalesce(sum(pg_relation_size(x.indexrelid)), 0)::bigint::text as b
      from pg_inherits m join pg_index x on x.indrelid = m.inhrelid
     where m.inhparent = 'access_register'::regclass
       and not exists (select 1 from pg_inherits ii where ii.inhrelid = x.indexrelid)`;
  return {
    heap: Number(heap!.b),
    indexes: Object.fromEntries(idx.map((r) => [r.name, Number(r.b)])),
    own: Number(own!.b),
    database: Number(dbs!.b),
    wal: Number(wal!.b),
  };
}

const fmtB = (b: Buffers) => `${(b.hit + b.read).toFixed(1)} (${b.read.toFixed(1)} read)`;

interface SwapUnderLoad {
  name: string;
  swapMs: number;
  before: RunResult;
  during: RunResult;
}

/**
 * The swap's lock under load: the newest closed month not yet compacted is copied, indexed, vacuumed and verified
 * first (the repository's steps, as compactClosedRegisterMonths runs them), then the gate is driven while the daily
 * maintenance finds the verified copy and swaps it in (DETACH, ATTACH: ACCESS EXCLUSIVE on the register for its
 * catalog updates). The gate's throughput, p99 and answers not 2xx during it, against the same load just before.
 */
async function swapUnderLoad(
  port: number,
  pool: Spec[],
  db: ReturnType<typeof createDb>['db'],
  now: Date,
): Promise<SwapUnderLoad | undefined> {
  const m = (await registerMonths(db))
    .filter((h) => h.state === 'attached' && !h.compacted && registerMonthCompactable(h, now))
    .sort((a, b) => b.from.getTime() - a.from.getTime())[0];
  if (!m) return undefined;
  const t0 = performance.now();
  const digest = await compactMonthCopy(db, m);
  await compactMonthIndexes(db, m, registerPartyDayIndexKept(m, now, PARTY_DAY_INDEX_MONTHS));
  if (!(await compactMonthVerify(db, m, digest))) throw new Error(`${m.name}: the copy does not verify`);
  // Its month counts too (decisions/0020), as compactMonth writes them before the swap: the swap below finds them.
  const counts = await countRegisterMonth(db, m, compactionWorkName(m), digest.rows);
  log(
    `  ${m.name}: ${fmt(digest.rows)} rows copied, indexed, vacuumed, verified and counted (${fmt(counts.groups)} month counts) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const slice = Math.max(5, Math.round(DURATION / ROUNDS));
  const tag = `s${randomBytes(3).toString('hex')}`;
  const before = await drive(port, '/p4/requests', pool, slice, `${tag}b`, false);
  let done: CompactedMonth | undefined;
  const [during] = await Promise.all([
    drive(port, '/p4/requests', pool, slice, `${tag}d`, false),
    (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      done = (
        await maintainRegisterMonths(db, now, PARTITIONS_SCHEDULE_ACTOR, {
          partyDayIndexMonths: PARTY_DAY_INDEX_MONTHS,
        })
      ).compacted.find((c) => c.name === m.name);
    })(),
  ]);
  if (!done) throw new Error(`${m.name}: not swapped in under load`);
  log(
    `  ${m.name} swapped in under gate load in ${done.swapMs.toFixed(0)} ms: gate ${fmt(before.rps)} → ${fmt(during!.rps)} req/s, p99 ${before.p99.toFixed(1)} → ${during!.p99.toFixed(1)} ms, ${during!.non2xx + during!.errors} not 2xx`,
  );
  return { name: m.name, swapMs: done.swapMs, before, during: during! };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  // bench:p4's cluster (bench/p4.ts startDatabase: durable, fsync and synchronous_commit on) with wal_level=minimal
  // (no replica: max_wal_senders 0), so a month filled in the transaction that creates its table skips the WAL.
  // The gate's single-row inserts and commits write the same WAL records at either level.
  const pg = await startBenchDatabase(
    'gt-bench-pg-',
    {
      shared_buffers: '2GB',
      // BENCH_MAX_WAL_SIZE: less WAL kept on a disk the 100 M-row run nearly fills (more frequent checkpoints).
      max_wal_size: process.env.BENCH_MAX_WAL_SIZE ?? '8GB',
      checkpoint_timeout: '15min',
      work_mem: '32MB',
      maintenance_work_mem: '1GB',
      wal_level: 'minimal',
      max_wal_senders: '0',
    },
    log,
  );
  let api: { child: ChildProcess; port: number } | undefined;
  let exitCode = 0;
  const dbh = createDb(pg.url, { max: 4 });
  const sql = postgres(pg.url, { max: 4, onnotice: () => undefined });
  try {
    await runMigrations(pg.url);
    const seeded = await seed(pg.url);
    await sql`drop table if exists bench_eans`;
    await sql`create table bench_eans as select substr(ean, 4, 14)::bigint as i, ean from connections where grid_operator_id = ${seeded.operatorId}`;
    await sql`alter table bench_eans add primary key (i)`;
    await sql`analyze bench_eans`;
    const now = new Date();
    const months = dataMonths(now);
    // Thirteen months back exist, as in a register a year old (the DC-5 query reads them all).
    for (let k = 0; k <= 13; k++)
      await ensureRegisterPartitions(
        dbh.db,
        new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 1)),
        PARTITIONS_SCHEDULE_ACTOR,
        0,
      );
    await ensureRegisterPartitions(dbh.db, now, PARTITIONS_SCHEDULE_ACTOR);
    api = await startApi(pg.url);
    const pool = requestPool(seeded, 200_000);
    log(
      `${fmt(ROWS)} rows target over ${MONTHS} months (${fmt(ROWS / MONTHS)} a month); ${fmt(N)} connections; API pid ${api.child.pid}`,
    );

    // 1. The empty register.
    log('empty register:');
    await sql`truncate access_register`;
    const points: Point[] = [await measurePoint(api.port, pool, sql, seeded, 0)];

    // 2. Queries at 1 % (≥ 1 M rows), same spread.
    log(`${fmt(SMALL)} rows over ${MONTHS} months for the query baseline…`);
    await fill(sql, seeded, months, Math.round(SMALL / MONTHS), now);
    await maintain(dbh.db, now);
    const small = await measureQueries(sql, dbh.db, seeded, await registerRows(sql), now);
    for (const m of months) {
      await sql.unsafe(`drop table ${m.name}`);
      await createRegisterMonth(dbh.db, m);
    }

    // 3. The cost curve: newest months first, to 25 %, 50 %, 100 %.
    const perMonth = Math.round(ROWS / MONTHS);
    const steps = [0.25, 0.5, 1].map((f) => Math.max(1, Math.round(f * MONTHS)));
    let filled = 0;
    const compacted: CompactedMonth[] = [];
    let swap: SwapUnderLoad | undefined;
    for (const upto of [...new Set(steps)]) {
      log(`filling to ${upto} of ${MONTHS} months…`);
      await fill(sql, seeded, months.slice(filled, upto), perMonth, now);
      filled = upto;
      // The daily maintenance on the closed months, as production would have run it; at the full size one month's
      // swap (its copy made beforehand) under gate load.
      if (COMPACT && upto === MONTHS) swap = await swapUnderLoad(api.port, pool, dbh.db, now);
      compacted.push(...(await maintain(dbh.db, now)).filter((c) => c.rows > 0));
      points.push(await measurePoint(api.port, pool, sql, seeded, await registerRows(sql)));
    }
    const full = points.at(-1)!;

    // 4. At the full size.
    const big = await measureQueries(sql, dbh.db, seeded, full.rows, now);
    log('the same queries with the current month as a running register holds it (in memory):');
    const warmed = await warmCurrentMonth(sql, now);
    const warm = await measureQueries(sql, dbh.db, seeded, full.rows, now);
    const size = await sizes(sql);
    const indexTotal = Object.values(size.indexes).reduce((a, b) => a + b, 0);
    const perMillion = (b: number) => b / (full.rows / 1e6);
    log(`bytes used: database ${gib(size.database)}, WAL ${gib(size.wal)}`);

    // The monthly drop under load: the oldest data month, with the purge's own function. The empty months before
    // it (the 13 months the DC-5 query reads) go first, untimed: the purge drops oldest first.
    const oldest = months.at(-1)!;
    const emptyDays = Math.floor((now.getTime() - oldest.from.getTime()) / DAY);
    await dropExpiredRegisterMonths(dbh.db, {
      runId: 'bench-empty-months',
      asOf: now,
      days: emptyDays,
      cutoff: new Date(now.getTime() - emptyDays * DAY).toISOString(),
      maxMonths: 100,
    });
    const days = Math.floor((now.getTime() - oldest.to.getTime()) / DAY);
    const slice = Math.max(5, Math.round(DURATION / ROUNDS));
    const tag = `d${randomBytes(3).toString('hex')}`;
    const before = await drive(api.port, '/p4/requests', pool, slice, `${tag}b`, false);
    let dropSeconds = 0;
    let dropped: Array<{ name: string; rows: number }> = [];
    const [during] = await Promise.all([
      drive(api.port, '/p4/requests', pool, slice, `${tag}d`, false),
      (async () => {
        await new Promise((r) => setTimeout(r, 1000));
        const t0 = Date.now();
        const r = await dropExpiredRegisterMonths(dbh.db, {
          runId: `bench-${tag}`,
          asOf: now,
          days,
          cutoff: new Date(now.getTime() - days * DAY).toISOString(),
          maxMonths: 1,
        });
        dropSeconds = (Date.now() - t0) / 1000;
        dropped = r.dropped;
      })(),
    ]);
    log(
      `monthly drop of ${dropped.map((d) => `${d.name} (${fmt(d.rows)} rows)`).join(', ')} in ${dropSeconds.toFixed(1)} s; gate ${fmt(before.rps)} req/s before, ${fmt(during!.rps)} during (p99 ${before.p99.toFixed(1)} → ${during!.p99.toFixed(1)} ms, ${during!.non2xx + during!.errors} not 2xx)`,
    );

    // Roll-over under load: the months ahead attached and the next oldest dropped while the gate answers; then
    // exactly one register row for every answered decision.
    const rtag = `o${randomBytes(3).toString('hex')}`;
    const next = months.at(-2);
    const [roll] = await Promise.all([
      drive(api.port, '/p4/requests', pool, slice, `${rtag}g`, true),
      (async () => {
        await new Promise((r) => setTimeout(r, 500));
        await ensureRegisterPartitions(
          dbh.db,
          new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
          PARTITIONS_SCHEDULE_ACTOR,
          3,
        );
        if (next && months.length > 2)
          await dropExpiredRegisterMonths(dbh.db, {
            runId: `bench-${rtag}`,
            asOf: now,
            days: Math.floor((now.getTime() - next.to.getTime()) / DAY),
            cutoff: next.to.toISOString(),
            maxMonths: 1,
          });
      })(),
    ]);
    await new Promise((r) => setTimeout(r, 500));
    const [reg] = await sql<Array<{ rows: number; distinct_ids: number; answered_rows: number }>>`
      select count(*)::int as rows, count(distinct request_id)::int as distinct_ids,
             count(*) filter (where request_id = any(${roll!.answeredIds}::text[]))::int as answered_rows
        from access_register where decided_at >= ${new Date(now.getTime() - DAY).toISOString()}::timestamptz
         and request_id like ${`${rtag}g-%`}`;
    const rollPass =
      reg!.answered_rows === roll!.ok &&
      reg!.distinct_ids === reg!.rows &&
      reg!.rows - roll!.ok <= HTTP_CONNECTIONS &&
      roll!.errors === 0 &&
      roll!.non2xx === 0;
    const attachedAfter = (await registerMonths(dbh.db)).filter((m) => m.state === 'attached').map((m) => m.name);

    // The report.
    const empty = points[0]!;
    const ratio = (p: Point) => p.gate.rps / p.bare.rps;
    // bench:p4's capacity: each route's best of the two connection counts; the p99 held at each count.
    const capGate = (p: Point) => Math.max(p.gate.rps, p.satGate?.rps ?? 0);
    const capacity = (p: Point) => capGate(p) / Math.max(p.bare.rps, p.satBare?.rps ?? 0);
    const p99Ok = (p: Point) =>
      p.gate.p99 <= 2 * p.bare.p99 && (!p.satGate || !p.satBare || p.satGate.p99 <= 2 * p.satBare.p99);
    const lines = [
      '',
      `Access register benchmark — ${fmt(full.rows)} rows (target BENCH_REGISTER_ROWS ${fmt(ROWS)}) over ${MONTHS} months; ${fmt(N)} connections; ` +
        `${HTTP_CONNECTIONS} HTTP connections; ${ROUNDS} alternating rounds of ${Math.round(DURATION / ROUNDS)} s per route per point; node ${process.version}; ${readCpuModel()}`,
      '',
      'cost curve (gate + register against the bare route, same rounds; single-row insert with its commit):',
      '| register rows | bare req/s | gate req/s | gate/bare | gate p99 ms | bare p99 ms | p99 ratio | insert p50 ms | insert p99 ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...points.map(
        (p) =>
          `| ${fmt(p.rows)} | ${fmt(p.bare.rps)} | ${fmt(p.gate.rps)} | ${(100 * ratio(p)).toFixed(0)} % | ${p.gate.p99.toFixed(1)} | ${p.bare.p99.toFixed(1)} | ${(p.gate.p99 / p.bare.p99).toFixed(2)}× | ${p.insertP50.toFixed(2)} | ${p.insertP99.toFixed(2)} |`,
      ),
      ...(SATURATION_CONNECTIONS > 0
        ? [
            '',
            `the same at ${SATURATION_CONNECTIONS} HTTP connections (bench:p4's capacity rounds: at ${HTTP_CONNECTIONS} the gate is latency-bound), and each route's capacity (its best of the two):`,
            '| register rows | bare req/s | gate req/s | gate/bare | gate p99 ms | bare p99 ms | p99 ratio | capacity gate/bare |',
            '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
            ...points.map(
              (p) =>
                `| ${fmt(p.rows)} | ${fmt(p.satBare!.rps)} | ${fmt(p.satGate!.rps)} | ${(100 * (p.satGate!.rps / p.satBare!.rps)).toFixed(0)} % | ${p.satGate!.p99.toFixed(1)} | ${p.satBare!.p99.toFixed(1)} | ${(p.satGate!.p99 / p.satBare!.p99).toFixed(2)}× | ${(100 * capacity(p)).toFixed(0)} % |`,
            ),
          ]
        : []),
      '',
      `full against empty register: gate ${(100 * (full.gate.rps / empty.gate.rps)).toFixed(0)} % of the empty-register throughput at ${HTTP_CONNECTIONS} HTTP connections, ` +
        `capacity ${(100 * (capGate(full) / capGate(empty))).toFixed(0)} % (target ≥ 90 %) ${capGate(full) >= 0.9 * capGate(empty) ? 'PASS' : 'FAIL'}; ` +
        `ratio to bare ${(100 * ratio(full)).toFixed(0)} % at ${HTTP_CONNECTIONS}, capacity ${(100 * capacity(full)).toFixed(0)} % (target ≥ 55 %) ${capacity(full) >= 0.55 ? 'PASS' : 'FAIL'}; ` +
        `p99 ${(full.gate.p99 / full.bare.p99).toFixed(2)}× bare` +
        (full.satGate && full.satBare
          ? ` (${(full.satGate.p99 / full.satBare.p99).toFixed(2)}× at ${SATURATION_CONNECTIONS})`
          : '') +
        ` (target ≤ 2× at each) ${p99Ok(full) ? 'PASS' : 'FAIL'}`,
      '',
      `queries (${SAMPLES} each, one connection at a time; the DC-5 answer's statistics and recent rows read at once, as accessOverview reads them, and each also timed alone; REGISTER_PARTY_DAY_INDEX_MONTHS ${PARTY_DAY_INDEX_MONTHS}):`,
      `| query | at ${fmt(small.rows)} rows p50 / p99 ms | at ${fmt(big.rows)} rows p50 / p99 ms | p99 ratio (target ≤ 2×) |`,
      '| --- | ---: | ---: | ---: |',
      `| DC-5: one connection over 13 months (${small.dc5Rows.toFixed(1)} → ${big.dc5Rows.toFixed(1)} rows) | ${small.dc5P50.toFixed(2)} / ${small.dc5P99.toFixed(2)} | ${big.dc5P50.toFixed(2)} / ${big.dc5P99.toFixed(2)} | ${(big.dc5P99 / small.dc5P99).toFixed(2)}× ${big.dc5P99 <= 2 * small.dc5P99 ? 'PASS' : 'FAIL'} |`,
      `| — its statistics per party (month counts + uncounted rest, decisions/0020) | ${small.statsP50.toFixed(2)} / ${small.statsP99.toFixed(2)} | ${big.statsP50.toFixed(2)} / ${big.statsP99.toFixed(2)} | ${(big.statsP99 / small.statsP99).toFixed(2)}× ${big.statsP99 <= 2 * small.statsP99 ? 'PASS' : 'FAIL'} |`,
      `| — the raw statistics statement over the register (before 0020) | ${small.rawStatsP50.toFixed(2)} / ${small.rawStatsP99.toFixed(2)} | ${big.rawStatsP50.toFixed(2)} / ${big.rawStatsP99.toFixed(2)} | ${(big.rawStatsP99 / small.rawStatsP99).toFixed(2)}× |`,
      `| — its 50 most recent rows (ordered index scan, a heap page a row) | ${small.recentP50.toFixed(2)} / ${small.recentP99.toFixed(2)} | ${big.recentP50.toFixed(2)} / ${big.recentP99.toFixed(2)} | ${(big.recentP99 / small.recentP99).toFixed(2)}× |`,
      `| — diagnostic: the same 50 by a bitmap heap scan (enable_indexscan off) | ${small.bitmapP50.toFixed(2)} / ${small.bitmapP99.toFixed(2)} | ${big.bitmapP50.toFixed(2)} / ${big.bitmapP99.toFixed(2)} | ${(big.bitmapP99 / small.bitmapP99).toFixed(2)}× |`,
      `| a party's decisions for one day: listAccessRegister's page of 100 | ${small.partyP50.toFixed(2)} / ${small.partyP99.toFixed(2)} | ${big.partyP50.toFixed(2)} / ${big.partyP99.toFixed(2)} | ${(big.partyP99 / small.partyP99).toFixed(2)}× ${big.partyP99 <= 2 * small.partyP99 ? 'PASS' : 'FAIL'} |`,
      `| — its days in closed months (${small.partyClosed.n} → ${big.partyClosed.n} samples) | ${small.partyClosed.p50.toFixed(2)} / ${small.partyClosed.p99.toFixed(2)} | ${big.partyClosed.p50.toFixed(2)} / ${big.partyClosed.p99.toFixed(2)} | ${(big.partyClosed.p99 / small.partyClosed.p99).toFixed(2)}× |`,
      `| — its days in the current month (${small.partyCurrent.n} → ${big.partyCurrent.n} samples) | ${small.partyCurrent.p50.toFixed(2)} / ${small.partyCurrent.p99.toFixed(2)} | ${big.partyCurrent.p50.toFixed(2)} / ${big.partyCurrent.p99.toFixed(2)} | ${(big.partyCurrent.p99 / small.partyCurrent.p99).toFixed(2)}× |`,
      `| — its days in closed months with the covering party-day index (${small.partyIndexed.n} → ${big.partyIndexed.n} samples) | ${small.partyIndexed.p50.toFixed(2)} / ${small.partyIndexed.p99.toFixed(2)} | ${big.partyIndexed.p50.toFixed(2)} / ${big.partyIndexed.p99.toFixed(2)} | ${(big.partyIndexed.p99 / small.partyIndexed.p99).toFixed(2)}× |`,
      `| — its days in closed months without it (${small.partyUnindexed.n} → ${big.partyUnindexed.n} samples) | ${small.partyUnindexed.p50.toFixed(2)} / ${small.partyUnindexed.p99.toFixed(2)} | ${big.partyUnindexed.p50.toFixed(2)} / ${big.partyUnindexed.p99.toFixed(2)} | ${(big.partyUnindexed.p99 / small.partyUnindexed.p99).toFixed(2)}× |`,
      `| the same party-day's total (listAccessRegister, count of ${fmt(small.partyTotal)} → ${fmt(big.partyTotal)} rows) | ${small.totalP50.toFixed(2)} / ${small.totalP99.toFixed(2)} | ${big.totalP50.toFixed(2)} / ${big.totalP99.toFixed(2)} | ${(big.totalP99 / small.totalP99).toFixed(2)}× (grows with the rows it counts) |`,
      `| buffers per query, hit + read (mean of ${PLAN_SAMPLES}): DC-5 statistics | ${fmtB(small.buffers.stats)} | ${fmtB(big.buffers.stats)} | |`,
      `| — the raw statistics statement over the register | ${fmtB(small.buffers.rawStats)} | ${fmtB(big.buffers.rawStats)} | |`,
      `| — DC-5 50 most recent rows | ${fmtB(small.buffers.recent)} | ${fmtB(big.buffers.recent)} | |`,
      `| — party-day page of 100 | ${fmtB(small.buffers.party)} | ${fmtB(big.buffers.party)} | |`,
      '',
      `the same at ${fmt(warm.rows)} rows after ${warmed.name} (the current month: heap and indexes, ${gib(warmed.bytes)}) was read once into the OS page cache, as a running register holds the month the gate writes (bench/register.ts warmCurrentMonth); closed months as the bench left them:`,
      `| query | at ${fmt(small.rows)} rows p50 / p99 ms | at ${fmt(warm.rows)} rows, current month in memory, p50 / p99 ms | p99 ratio (target ≤ 2×) |`,
      '| --- | ---: | ---: | ---: |',
      `| DC-5: one connection over 13 months | ${small.dc5P50.toFixed(2)} / ${small.dc5P99.toFixed(2)} | ${warm.dc5P50.toFixed(2)} / ${warm.dc5P99.toFixed(2)} | ${(warm.dc5P99 / small.dc5P99).toFixed(2)}× ${warm.dc5P99 <= 2 * small.dc5P99 ? 'PASS' : 'FAIL'} |`,
      `| — its statistics per party | ${small.statsP50.toFixed(2)} / ${small.statsP99.toFixed(2)} | ${warm.statsP50.toFixed(2)} / ${warm.statsP99.toFixed(2)} | ${(warm.statsP99 / small.statsP99).toFixed(2)}× |`,
      `| — its 50 most recent rows | ${small.recentP50.toFixed(2)} / ${small.recentP99.toFixed(2)} | ${warm.recentP50.toFixed(2)} / ${warm.recentP99.toFixed(2)} | ${(warm.recentP99 / small.recentP99).toFixed(2)}× |`,
      `| a party's decisions for one day: the page of 100 | ${small.partyP50.toFixed(2)} / ${small.partyP99.toFixed(2)} | ${warm.partyP50.toFixed(2)} / ${warm.partyP99.toFixed(2)} | ${(warm.partyP99 / small.partyP99).toFixed(2)}× ${warm.partyP99 <= 2 * small.partyP99 ? 'PASS' : 'FAIL'} |`,
      `| — days in closed months with the covering index (${warm.partyIndexed.n} samples) | ${small.partyIndexed.p50.toFixed(2)} / ${small.partyIndexed.p99.toFixed(2)} | ${warm.partyIndexed.p50.toFixed(2)} / ${warm.partyIndexed.p99.toFixed(2)} | ${(warm.partyIndexed.p99 / small.partyIndexed.p99).toFixed(2)}× |`,
      `| — days in closed months without it (${warm.partyUnindexed.n} samples) | ${small.partyUnindexed.p50.toFixed(2)} / ${small.partyUnindexed.p99.toFixed(2)} | ${warm.partyUnindexed.p50.toFixed(2)} / ${warm.partyUnindexed.p99.toFixed(2)} | ${(warm.partyUnindexed.p99 / small.partyUnindexed.p99).toFixed(2)}× |`,
      `| — days in the current month (${warm.partyCurrent.n} samples) | ${small.partyCurrent.p50.toFixed(2)} / ${small.partyCurrent.p99.toFixed(2)} | ${warm.partyCurrent.p50.toFixed(2)} / ${warm.partyCurrent.p99.toFixed(2)} | ${(warm.partyCurrent.p99 / small.partyCurrent.p99).toFixed(2)}× |`,
      `| buffers per query, hit + read: DC-5 statistics / recent 50 / party-day page | ${fmtB(small.buffers.stats)} / ${fmtB(small.buffers.recent)} / ${fmtB(small.buffers.party)} | ${fmtB(warm.buffers.stats)} / ${fmtB(warm.buffers.recent)} / ${fmtB(warm.buffers.party)} | |`,
      '',
      COMPACT
        ? `closed months compacted by connection (maintainRegisterMonths): ${compacted.length} months, ${fmt(compacted.reduce((t, c) => t + c.rows, 0))} rows in ${compacted.reduce((t, c) => t + c.seconds, 0).toFixed(0)} s; ` +
          `per ${fmt(ROWS / MONTHS)}-row month ${compacted.map((c) => compactPerMonth(c).toFixed(0)).join(', ')} s; swaps ${compacted.map((c) => c.swapMs.toFixed(0)).join(', ')} ms` +
          (swap
            ? `; ${swap.name}'s swap under gate load: ${swap.swapMs.toFixed(0)} ms, gate ${fmt(swap.during.rps)} req/s, p99 ${swap.during.p99.toFixed(1)} ms, ${swap.during.non2xx + swap.during.errors} not 2xx (just before: ${fmt(swap.before.rps)} req/s, p99 ${swap.before.p99.toFixed(1)} ms)`
            : '')
        : 'closed months not compacted (BENCH_REGISTER_COMPACT=0)',
      '',
      `size at ${fmt(full.rows)} rows: table ${gib(size.heap)} (${mib(perMillion(size.heap))} per million rows), indexes ${gib(indexTotal)} (${mib(perMillion(indexTotal))} per million rows: ` +
        Object.entries(size.indexes)
          .map(([k, v]) => `${k} ${mib(perMillion(v))}`)
          .join(', ') +
        `); the compacted months' own party-day indexes ${gib(size.own)} (${mib(perMillion(size.own))} per million rows of the register); database ${gib(size.database)}, WAL ${gib(size.wal)} on disk`,
      `monthly drop: ${dropped.map((d) => `${d.name}, ${fmt(d.rows)} rows`).join('; ')} detached concurrently, counted and dropped in ${dropSeconds.toFixed(1)} s; ` +
        `gate during it ${fmt(during!.rps)} req/s, p99 ${during!.p99.toFixed(1)} ms, ${during!.non2xx + during!.errors} not 2xx (just before: ${fmt(before.rps)} req/s, p99 ${before.p99.toFixed(1)} ms)`,
      `roll-over under load (next 3 months attached, the next oldest month dropped): ${fmt(roll!.ok)} decisions answered, ${fmt(reg!.answered_rows)} of them registered, ` +
        `${reg!.rows - reg!.distinct_ids} duplicates, ${reg!.rows - reg!.answered_rows} more still in flight, ${roll!.errors + roll!.non2xx} not 2xx  ${rollPass ? 'PASS' : 'FAIL'}`,
      `months attached after: ${attachedAfter.join(', ')}`,
      `total time: ${((Date.now() - started) / 1000).toFixed(0)} s (the data is removed with the temp cluster at exit)`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (!rollPass || during!.errors > 0 || during!.non2xx > 0) exitCode = 1;
    if (swap && swap.during.errors + swap.during.non2xx > 0) exitCode = 1;
  } finally {
    if (api) {
      api.child.kill('SIGTERM');
      await new Promise((r) => api!.child.once('exit', r));
    }
    await sql.end({ timeout: 5 });
    await dbh.close();
    await pg.stop();
  }
  process.exit(exitCode);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:register failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
