/**
 * `npm run bench:gate-statement` — PostgreSQL's CPU per gate decision, load-independently (issue 21).
 *
 * bench:p4 measures the PostgreSQL CPU of a decision as the cluster's CPU over the gate's rounds, beside an API and a
 * load generator on the same cores, so its figure moves with the batches the load makes and with the machine's
 * load. This bench measures the statement alone: bench:p4's embedded cluster (same durable settings:
 * fsync and synchronous_commit on, one commit per batch) and dataset (BENCH_CONNECTIONS, default 200,000 here), then
 * `decideAndRegister` over one connection in batches of 40, 8 and 1 (BENCH_GATE_SIZES) made of bench:p4's own gate
 * requests (requestPool: random connections, parties and kinds, allowed and denied mixed), BENCH_GATE_DECISIONS
 * decisions a batch size per round (default 12,000), BENCH_GATE_ROUNDS rounds (default 5). Per decision it reports:
 *
 * - the backend's CPU time (its scheduler run time, /proc/<pg_backend_pid()>/schedstat, before and after: CPU, not
 *   wall time, so it holds under the shared machine's load; nanoseconds, where /proc/<pid>/stat's utime + stime
 *   count 10 ms ticks);
 * - pg_stat_statements' planning and execution time (wall time inside the backend), plans per call;
 * - shared buffers (hit + read) and WAL bytes (the statement's, and the LSN's advance, which adds the commit records).
 *
 * A/B: BENCH_GATE_B=<module>[,<module>…] (paths; each exports decideAndRegister with the same signature) runs those
 * variants (B, C, …) in the same rounds as the repository's statement (A), in an order rotated every round, so all see
 * the same machine; the figures are given per variant as the median of the rounds with their spread (min–max), and
 * each variant's difference to A paired by round.
 *
 * BENCH_GATE_EXPLAIN=1: also EXPLAIN (ANALYZE, BUFFERS, WAL) of one batch of 40 on the generic plan (the plan the gate
 * runs after a connection's first executions: the statement prepared, plan_cache_mode = force_generic_plan), per
 * variant.
 *
 * The load average is printed beside the figures; the temp cluster is removed at the end (unless BENCH_KEEP_DATA=1).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import postgres from 'postgres';
import { runMigrations } from '../db/migrate.js';
import * as repo from '../db/repositories/access-register.js';
import type { GateRequest } from '../domain/gate.js';
import type { DataKind } from '../db/schema/index.js';
import { startBenchDatabase } from './database.js';
import { intEnv } from './env.js';
import { N, one, readCpuModel, requestPool, seed, type Seeded } from './p4.js';

type Decide = typeof repo.decideAndRegister;

/**
 * CPU time (µs) a process has used: the scheduler's run time in /proc/<pid>/schedstat (nanoseconds; user and system
 * alike), which /proc/<pid>/stat's utime + stime count in 10 ms ticks only.
 */
function cpuUs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

const env = process.env;
const DECISIONS = intEnv('BENCH_GATE_DECISIONS', 12_000);
const ROUNDS = intEnv('BENCH_GATE_ROUNDS', 5);
const SIZES = (env.BENCH_GATE_SIZES ?? '40,8,1').split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_GATE_SIZES: ${s} is not a batch size`);
  return n;
});
const log = (msg: string) => process.stdout.write(`[bench:gate-statement] ${msg}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Stats {
  calls: number;
  plans: number;
  planMs: number;
  execMs: number;
  blocks: number;
  walBytes: number;
  walFpi: number;
}

/** pg_stat_statements' counters of the gate's statement (every variant's text holds these two words). */
async function statementStats(admin: postgres.Sql): Promise<Stats> {
  return one(
    await admin<Stats[]>`
      select coalesce(sum(calls), 0)::float8 as calls, coalesce(sum(plans), 0)::float8 as plans,
             coalesce(sum(total_plan_time), 0)::float8 as "planMs", coalesce(sum(total_exec_time), 0)::float8 as "execMs",
             coalesce(sum(shared_blks_hit + shared_blks_read), 0)::float8 as blocks,
             coalesce(sum(wal_bytes), 0)::float8 as "walBytes", coalesce(sum(wal_fpi), 0)::float8 as "walFpi"
        from pg_stat_statements where query like '%insert into access_register%' and query like '%unnest%'`,
  );
}

const lsn = async (admin: postgres.Sql) =>
  Number(one(await admin<Array<{ b: string }>>`select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as b`).b);

/** bench:p4's gate requests as the gate's batcher hands them to the statement. */
function gateRequests(seeded: Seeded, size: number): GateRequest[] {
  const partyOf = new Map([...seeded.providers, ...seeded.suppliers].map((p) => [p.key, p.id]));
  return requestPool(seeded, size).map((s, k) => {
    const b = JSON.parse(s.body) as { connectionEan: string; dataKind: DataKind; from: string; to: string };
    return {
      partyId: partyOf.get(s.authorization)!,
      connectionEan: b.connectionEan,
      dataKind: b.dataKind,
      from: new Date(b.from),
      to: new Date(b.to),
      requestId: `gs-${k}`,
    };
  });
}

interface Point {
  cpuUs: number;
  planUs: number;
  execUs: number;
  plansPerCall: number;
  blocks: number;
  walBytes: number;
  lsnBytes: number;
  walFpi: number;
  wallUs: number;
}

async function measure(
  decide: Decide,
  sql: postgres.Sql,
  admin: postgres.Sql,
  backendPid: number,
  pool: GateRequest[],
  size: number,
  decisions: number,
): Promise<Point> {
  const batches = Math.max(1, Math.round(decisions / size));
  let at = Math.floor(Math.random() * pool.length);
  const batchesOf: GateRequest[][] = [];
  for (let b = 0; b < batches; b++) {
    const batch: GateRequest[] = [];
    for (let k = 0; k < size; k++) batch.push(pool[at++ % pool.length]!);
    batchesOf.push(batch);
  }
  const s0 = await statementStats(admin);
  const l0 = await lsn(admin);
  const c0 = cpuUs(backendPid);
  const t0 = performance.now();
  for (const batch of batchesOf) await decide(sql, batch, Date.now());
  const wall = performance.now() - t0;
  const c1 = cpuUs(backendPid);
  const l1 = await lsn(admin);
  const s1 = await statementStats(admin);
  const n = size * batches;
  const calls = Math.max(1, s1.calls - s0.calls);
  return {
    cpuUs: (c1 - c0) / n,
    planUs: ((s1.planMs - s0.planMs) * 1000) / n,
    execUs: ((s1.execMs - s0.execMs) * 1000) / n,
    plansPerCall: (s1.plans - s0.plans) / calls,
    blocks: (s1.blocks - s0.blocks) / n,
    walBytes: (s1.walBytes - s0.walBytes) / n,
    lsnBytes: (l1 - l0) / n,
    walFpi: (s1.walFpi - s0.walFpi) / n,
    wallUs: (wall * 1000) / n,
  };
}

/** EXPLAIN (ANALYZE, BUFFERS, WAL) of one batch on the generic plan: the statement captured, prepared, executed. */
async function explain(url: string, decide: Decide, batch: GateRequest[]): Promise<string> {
  let captured: { query: string; params: unknown[] } | undefined;
  const capture = postgres(url, {
    max: 1,
    types: { bigint: postgres.BigInt },
    onnotice: () => undefined,
    debug: (_c, query, params) => {
      if (query.includes('insert into access_register')) captured = { query, params };
    },
  });
  const session = await capture.reserve();
  try {
    // Run once in a transaction rolled back, to capture the statement's text and values.
    await session`begin`;
    await decide(session, batch, Date.now());
    await session`rollback`;
    if (!captured) throw new Error('the gate statement was not captured');
    const { query, params } = captured;
    const quote = (v: unknown) => (v === null ? 'null' : `'${String(v).replace(/'/g, "''")}'`);
    await session.unsafe(`prepare gate_explain as ${query}`);
    await session`set plan_cache_mode = force_generic_plan`;
    // Warm (the first executions of a session fill its catalog caches): five runs, each rolled back, the last shown.
    let rows: Array<{ 'QUERY PLAN': string }> = [];
    for (let k = 0; k < 5; k++) {
      await session`begin`;
      rows = await session.unsafe<Array<{ 'QUERY PLAN': string }>>(
        `explain (analyze, buffers, wal, timing on) execute gate_explain(${params.map(quote).join(', ')})`,
      );
      await session`rollback`;
    }
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    session.release();
    await capture.end();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (xs: number[], digits = 1) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

async function main(): Promise<void> {
  const variants: Array<{ name: string; decide: Decide }> = [
    { name: 'A (repository)', decide: repo.decideAndRegister },
  ];
  // Several variants, comma-separated: each is paired with A by round (B, C, D, … in the report).
  for (const [k, path] of (env.BENCH_GATE_B ?? '').split(',').filter(Boolean).entries()) {
    const mod = (await import(resolve(path))) as { decideAndRegister: Decide };
    variants.push({ name: `${String.fromCharCode(66 + k)} (${path})`, decide: mod.decideAndRegister });
  }
  log(`${readCpuModel()}; load average ${load()}`);
  // bench:p4's cluster settings, with pg_stat_statements.
  const db = await startBenchDatabase(
    'gt-bench-gs-',
    {
      shared_buffers: '2GB',
      max_wal_size: '8GB',
      checkpoint_timeout: '15min',
      work_mem: '32MB',
      maintenance_work_mem: '1GB',
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track_planning': 'on',
    },
    log,
  );
  try {
    await runMigrations(db.url);
    const seeded = await seed(db.url);
    const pool = gateRequests(seeded, 100_000);
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    await admin`create extension if not exists pg_stat_statements`;
    // The gate's own connection options (db/client.ts createDb), one connection: every batch on one backend.
    const sql = postgres(db.url, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => undefined });
    try {
      const { pid } = one(await sql<Array<{ pid: number }>>`select pg_backend_pid() as pid`);
      log(
        `${N.toLocaleString('en')} connections; backend pid ${pid}; ${ROUNDS} rounds × ${DECISIONS} decisions per batch size ${SIZES.join(', ')}; variants: ${variants.map((v) => v.name).join(', ')}`,
      );
      // Warm-up: the connections, mandates and blocks into shared buffers, the statements planned (generic).
      for (const v of variants) for (const size of SIZES) await measure(v.decide, sql, admin, pid, pool, size, 2000);
      const results = new Map<string, Point[]>();
      for (let round = 1; round <= ROUNDS; round++) {
        for (const size of SIZES) {
          // Rotate which variant goes first, so that none always follows another.
          const shift = (round - 1) % variants.length;
          const order = [...variants.slice(shift), ...variants.slice(0, shift)];
          for (const v of order) {
            const p = await measure(v.decide, sql, admin, pid, pool, size, DECISIONS);
            const key = `${v.name}|${size}`;
            results.set(key, [...(results.get(key) ?? []), p]);
            log(
              `round ${round} batch ${size} ${v.name}: CPU ${p.cpuUs.toFixed(1)} µs/decision, exec ${p.execUs.toFixed(1)}, plan ${p.planUs.toFixed(1)}, wall ${p.wallUs.toFixed(1)}; load ${load()}`,
            );
          }
        }
      }
      const { rows } = one(await admin<Array<{ rows: number }>>`select count(*)::int as rows from access_register`);
      log(`register rows at the end: ${rows.toLocaleString('en')}; load average ${load()}`);
      log('per decision: median of the rounds (min–max)');
      for (const size of SIZES)
        for (const v of variants) {
          const ps = results.get(`${v.name}|${size}`)!;
          const f = (k: keyof Point, d = 1) =>
            spread(
              ps.map((p) => p[k]),
              d,
            );
          log(
            `batch ${String(size).padStart(2)} ${v.name}: backend CPU ${f('cpuUs')} µs; exec ${f('execUs')} µs, plan ${f('planUs')} µs (${f('plansPerCall', 3)} plans/call); ` +
              `shared buffers ${f('blocks')}; WAL ${f('walBytes', 0)} B (LSN ${f('lsnBytes', 0)} B, FPI ${f('walFpi', 3)}); wall ${f('wallUs')} µs`,
          );
        }
      for (const v of variants.slice(1))
        for (const size of SIZES) {
          // Paired by round (the variants ran back to back): B − A, so the machine's drift between rounds cancels.
          const a = results.get(`${variants[0]!.name}|${size}`)!;
          const b = results.get(`${v.name}|${size}`)!;
          const d = b.map((p, k) => p.cpuUs - a[k]!.cpuUs);
          const rel = b.map((p, k) => (p.cpuUs / a[k]!.cpuUs - 1) * 100);
          const lower = d.filter((x) => x < 0).length;
          log(
            `batch ${String(size).padStart(2)} ${v.name.slice(0, 1)} − A backend CPU per decision, paired by round: ${spread(d)} µs, ${spread(rel)} % (lower in ${lower} of ${d.length} rounds)`,
          );
        }
      if (env.BENCH_GATE_EXPLAIN === '1')
        for (const v of variants) {
          const batch = pool.slice(0, 40);
          log(
            `EXPLAIN (ANALYZE, BUFFERS, WAL), generic plan, one batch of 40, ${v.name}:\n${await explain(db.url, v.decide, batch)}`,
          );
        }
    } finally {
      await sql.end();
      await admin.end();
    }
  } finally {
    await db.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:gate-statement failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
