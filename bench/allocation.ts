/**
 * `npm run bench:allocation` — one day's allocation of BENCH_CONNECTIONS connections (default 1,000,000).
 *
 * 1. PostgreSQL: its own embedded cluster in a temp dir (durable settings), or BENCH_DATABASE_URL (empty).
 * 2. Seeds the connections with COPY — a mix of iSMA (on a recorded basis), profile (recorded, or for want
 *    of a basis), opted-out, open iSMA doubt cases ('0'),
 *    "mandate not demonstrated" switched mid-day, supplier switches mid-day, feed-in on a share — and loads
 *    the generated profile set of the year.
 * 3. Writes the day's readings file (CSV, both registers, 96 quarter-hours; some registers unread, some
 *    lines invalid, some connections absent) and, while writing it, the expected allocation per
 *    quarter-hour from what it generated (its own bookkeeping: no SQL, no domain function).
 * 4. Times: the import of the file (the streaming bulk path, as POST /readings/bulk), the allocation run
 *    (the service the workflow's activity calls), and the bare GROUP BY sum over the same day rows — the
 *    floor — before and after the run.
 * 5. Prints each with rows/s, the process's peak memory per phase, PostgreSQL's temp-file use, and checks
 *    that for every quarter-hour and direction the sum of all aggregates equals the expected total.
 *
 * Environment: BENCH_CONNECTIONS, BENCH_DAY (default 2025-06-11), BENCH_DATABASE_URL, BENCH_KEEP_DATA=1,
 * BENCH_COMPARE_LAYOUT=1 (also COPY the day as one row per quarter-hour and time the same GROUP BY on it),
 * BENCH_IMPORT=http (import through POST /readings/bulk over a real socket: the app listens on a port in this
 * process and an HTTP client streams the file to it, chunked, as an upload; default: the service called directly).
 */
import { createReadStream, createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import postgres from 'postgres';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../api/app.js';
import { createDb, type Db } from '../db/client.js';
import { apiKeys } from '../db/schema/index.js';
import { generateApiKey } from '../lib/api-keys.js';
import { loadConfig } from '../lib/config.js';
import type { BulkImportResult } from '../services/allocation/import.js';
import { runMigrations } from '../db/migrate.js';
import { requestRun } from '../db/repositories/allocation-runs.js';
import { dayFractions } from '../db/repositories/allocation-profiles.js';
import { withCheckDigit } from '../lib/gs1.js';
import { importReadingsFile } from '../services/allocation/import.js';
import { computeAllocationRun, driverOf, profileSetForYear } from '../services/allocation/runs.js';
import { allocationDay, PWH_PER_WH, pwhToWh, whToPwh, type AllocationDay } from '../domain/allocation.js';
import { startBenchDatabase } from './database.js';
import { intEnv } from './env.js';

const env = process.env;
const N = intEnv('BENCH_CONNECTIONS', 1_000_000, 1000);
const DAY = env.BENCH_DAY ?? '2025-06-11';
const log = (msg: string) => process.stdout.write(`[bench:allocation] ${msg}\n`);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en')}/s`;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const SUPPLIERS = 10;
const BRPS = 20;
const AREAS = 7;
const ACTOR = { actor: 'bench', actorRole: 'admin', actorPartyId: null };

// ---- the mix (per mille of connections) ----------------------------------------------------------

type Kind = 'measured' | 'profile' | 'opted_out' | 'zero' | 'gt4' | 'switch' | 'partial' | 'absent' | 'invalid';
/** Connection i's kind: by i mod 1000, so every size has the same mix. */
function kindOf(i: number): Kind {
  const m = i % 1000;
  if (m < 150) return 'profile'; // 15 % profile allocation (AL-4)
  if (m < 200) return 'opted_out'; // 5 % opted out (AL-5)
  if (m < 210) return 'zero'; // 1 % open iSMA doubt case, '0' all day (AL-6)
  if (m < 215) return 'gt4'; // 0.5 % "not demonstrated" at 10:00: '0' then profile (GT-4)
  if (m < 225) return 'switch'; // 1 % supplier switch at 12:00
  if (m < 245) return 'partial'; // 2 % some registers not read
  if (m < 255) return 'absent'; // 1 % not in the file at all
  if (m < 260) return 'invalid'; // 0.5 % offtake line rejected (register decreases)
  return 'measured'; // 74 %
}
const eanOf = (i: number) => withCheckDigit(`871${String(i).padStart(14, '0')}`);
/**
 * Connection i's latest allocation basis row as [method, basis, basis party] (COPY text, \N for null): half
 * the profile kind recorded as profile, half without any basis (AL-4: profile all the same); GT-4 switched to
 * profile at 10:00; a switching connection on the customer's consent (a supplier's request would lapse at
 * the switch); every other one on its supplier's iSMA request.
 */
function basisOf(i: number, k: Kind, supplier: string): [string, string, string] {
  if (k === 'profile') return i % 2 === 0 ? ['profile', '\\N', '\\N'] : ['\\N', '\\N', '\\N'];
  if (k === 'gt4') return ['profile', '\\N', '\\N'];
  if (k === 'switch') return ['isma', 'customer_consent', '\\N'];
  return ['isma', 'supplier_isma_request', supplier];
}
const gln = (kind: number, i: number) => withCheckDigit(`87988${kind}${String(i).padStart(6, '0')}`);
const CATEGORIES = ['E1A', 'E1B', 'E2A'] as const;
const categoryOf = (i: number) => CATEGORIES[i % 3]!;
const annualOf = (i: number) => 1500 + ((i * 37) % 4500);
/** 30 % have solar panels: feed-in registers (measured) or an annual standard feed-in (profile). */
const solar = (i: number) => i % 10 < 3;
const annualFeedInOf = (i: number) => (solar(i) ? 1000 + ((i * 13) % 3000) : 0);

/** A small deterministic generator per connection. */
function lcg(seed: number) {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

// ---- infrastructure -----------------------------------------------------------------------------

const startDatabase = () =>
  startBenchDatabase(
    'gt-bench-alloc-pg-',
    {
      shared_buffers: '2GB',
      max_wal_size: '8GB',
      checkpoint_timeout: '15min',
      maintenance_work_mem: '1GB',
    },
    log,
  );

/** CPU seconds used so far by the postmaster's children (the backends and parallel workers), from /proc. */
let postmasterPid: number | null = null;
const TICK = 100; // USER_HZ
function pgCpuSeconds(): number {
  if (postmasterPid === null) return NaN;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // ppid is field 4, utime/stime 14/15, cutime/cstime 16/17 (1-based; fields[] starts at field 3).
      if (Number(fields[1]) === postmasterPid) ticks += Number(fields[11]) + Number(fields[12]);
      // The postmaster itself, with its reaped children (parallel workers that have exited).
      if (Number(entry) === postmasterPid)
        ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / TICK;
}

interface Measured<T> {
  value: T;
  ms: number;
  peakRssMiB: number;
  /** CPU seconds of this process and of PostgreSQL during `fn`: steadier than wall time on a shared machine. */
  nodeCpu: number;
  pgCpu: number;
}

/** Wall time, CPU time and peak RSS of this process while `fn` runs (RSS sampled every 50 ms). */
async function measured<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const cpu0 = process.cpuUsage();
  const pg0 = pgCpuSeconds();
  const t0 = performance.now();
  try {
    const value = await fn();
    const cpu = process.cpuUsage(cpu0);
    return {
      value,
      ms: performance.now() - t0,
      peakRssMiB: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576),
      nodeCpu: (cpu.user + cpu.system) / 1e6,
      pgCpu: pgCpuSeconds() - pg0,
    };
  } finally {
    clearInterval(timer);
  }
}

const cpuOf = (m: Measured<unknown>) => `CPU: node ${m.nodeCpu.toFixed(1)} s + PostgreSQL ${m.pgCpu.toFixed(1)} s`;

async function tempUse(sql: postgres.Sql): Promise<{ files: number; bytes: number }> {
  const [r] = await sql<
    Array<{ files: string; bytes: string }>
  >`select temp_files::text as files, temp_bytes::text as bytes from pg_stat_database where datname = current_database()`;
  return { files: Number(r!.files), bytes: Number(r!.bytes) };
}

const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;

// ---- seed ---------------------------------------------------------------------------------------

async function seed(sql: postgres.Sql, d: AllocationDay): Promise<string> {
  const t0 = performance.now();
  const session = await sql.reserve();
  try {
    // Consistent by construction: skip per-row foreign-key triggers (superuser in the embedded cluster).
    await session`set session_replication_role = replica`.catch(() =>
      log('  (foreign-key checks stay on: not a superuser)'),
    );
    const [op] = await session<
      Array<{ id: string }>
    >`insert into parties (gln, name, roles) values (${gln(0, 1)}, 'Bench grid operator', ${session.array(['grid_operator'])}) returning id`;
    const suppliers: string[] = [];
    for (let i = 0; i < SUPPLIERS; i++)
      suppliers.push(
        (
          await session<
            Array<{ id: string }>
          >`insert into parties (gln, name, roles) values (${gln(1, i)}, ${`Supplier ${i}`}, ${session.array(['supplier'])}) returning id`
        )[0]!.id,
      );
    const brps: string[] = [];
    for (let i = 0; i < BRPS; i++)
      brps.push(
        (
          await session<
            Array<{ id: string }>
          >`insert into parties (gln, name, roles) values (${gln(2, i)}, ${`BRP ${i}`}, ${session.array(['balance_responsible_party'])}) returning id`
        )[0]!.id,
      );
    const supplierOf = (i: number) => suppliers[i % SUPPLIERS]!;
    // A supplier works with a few BRPs.
    const brpOf = (i: number) => brps[((i % SUPPLIERS) * 2 + (Math.floor(i / SUPPLIERS) % 2)) % BRPS]!;
    const areaOf = (i: number) => `Area-${i % AREAS}`;

    let next = 0;
    const source = Readable.from(
      (function* () {
        while (next < N) {
          const end = Math.min(N, next + 20_000);
          let chunk = '';
          for (let i = next; i < end; i++) {
            const k = kindOf(i);
            // Switched connections: the row holds the new supplier (the latest history row).
            const sup = k === 'switch' ? supplierOf(i + 1) : supplierOf(i);
            const brp = k === 'switch' ? brpOf(i + 1) : brpOf(i);
            // The latest allocation basis row, as the connection row carries it (basisOf).
            const [method, basis, basisParty] = basisOf(i, k, sup);
            chunk += `${eanOf(i)}\t${op!.id}\t${areaOf(i)}\t${sup}\t${brp}\t17.25\t${k === 'opted_out' ? 't' : 'f'}\t${categoryOf(i)}\t${annualOf(i)}\tPV\t${annualFeedInOf(i)}\t${method}\t${basis}\t${basisParty}\n`;
          }
          next = end;
          yield chunk;
        }
      })(),
    );
    await pipeline(
      source,
      await session`copy connections (ean, grid_operator_id, grid_area, supplier_id, balance_responsible_party_id, capacity_kw, remote_reading_opt_out, profile_category, annual_standard_volume_kwh, feed_in_profile_category, annual_standard_feed_in_kwh, allocation_method, allocation_basis, allocation_basis_party_id) from stdin`.writable(),
    );
    const ids = (kind: Kind) => Array.from({ length: N }, (_, i) => i).filter((i) => kindOf(i) === kind);
    const at = (qh: number) => new Date(d.start.getTime() + (qh - 1) * 900_000).toISOString();
    // Effective-dated history where it matters: profile methods since long, GT-4 from 10:00, switches at 12:00.
    const profile = ids('profile')
      .filter((i) => basisOf(i, 'profile', '')[0] === 'profile')
      .map(eanOf);
    const gt4 = ids('gt4');
    const switched = ids('switch');
    const zero = ids('zero').map(eanOf);
    // The allocation basis (AL-4): iSMA bases since long (GT-4 connections: their supplier's request until the
    // switch to profile at 10:00), profile methods since long; half the profile kind has no basis at all.
    await session`insert into allocation_methods (connection_ean, method, effective_from, basis, basis_party_id, reason, recorded_by) select ean, 'isma', '2020-01-01T00:00:00Z', allocation_basis, allocation_basis_party_id, 'bench', 'bench' from connections where allocation_basis is not null`;
    await session`insert into allocation_methods (connection_ean, method, effective_from, basis, basis_party_id, reason, recorded_by) select e, 'isma', '2020-01-01T00:00:00Z', 'supplier_isma_request', s, 'bench', 'bench' from unnest(${gt4.map(eanOf)}::varchar[], ${gt4.map(supplierOf)}::uuid[]) x(e, s)`;
    await session`insert into allocation_methods (connection_ean, method, effective_from, reason, recorded_by) select e, 'profile', '2020-01-01T00:00:00Z', 'bench', 'bench' from unnest(${profile}::varchar[]) e`;
    await session`insert into allocation_methods (connection_ean, method, effective_from, reason, case_id, recorded_by) select e, 'profile', ${at(41)}::timestamptz, 'GT-4: mandate not demonstrated', gen_random_uuid(), 'bench' from unnest(${gt4.map(eanOf)}::varchar[]) e`;
    await session`insert into zero_allocations (connection_ean, case_id, started_at) select e, gen_random_uuid(), ${new Date(d.start.getTime() - 2 * 86_400_000).toISOString()}::timestamptz from unnest(${zero}::varchar[]) e`;
    await session`insert into zero_allocations (connection_ean, case_id, started_at, ended_at, end_reason) select e, gen_random_uuid(), ${new Date(d.start.getTime() - 86_400_000).toISOString()}::timestamptz, ${at(41)}::timestamptz, 'profile_allocation' from unnest(${gt4.map(eanOf)}::varchar[]) e`;
    await session`
      insert into connection_party_history (connection_ean, effective_from, supplier_id, balance_responsible_party_id, grid_area, reason)
      select e, 'epoch', s0, b0, a, 'registered' from unnest(${switched.map(eanOf)}::varchar[], ${switched.map(supplierOf)}::uuid[], ${switched.map(brpOf)}::uuid[], ${switched.map(areaOf)}::text[]) x(e, s0, b0, a)
      union all
      select e, ${at(49)}::timestamptz, s1, b1, a, 'connection.supplier_switch' from unnest(${switched.map(eanOf)}::varchar[], ${switched.map((i) => supplierOf(i + 1))}::uuid[], ${switched.map((i) => brpOf(i + 1))}::uuid[], ${switched.map(areaOf)}::text[]) x(e, s1, b1, a)`;
    await session`analyze`;
    log(`  seeded ${N.toLocaleString('en')} connections in ${s(performance.now() - t0)}`);
    return op!.id;
  } finally {
    // Back to normal before the connection returns to the pool: replica mode also skips the audit log's
    // chain trigger, and the pool's later audit entries must be chained.
    await session`reset session_replication_role`.catch(() => undefined);
    session.release();
  }
}

// ---- the day's file and the expected allocation ---------------------------------------------------

interface Expected {
  /** Σ measured Wh per direction and quarter-hour. */
  measured: Record<'offtake' | 'feed_in', Float64Array>;
  /** Σ annual kWh per direction, category and quarter-hour allocated by profile. */
  profile: Record<'offtake' | 'feed_in', Map<string, Float64Array>>;
}

async function writeFile(path: string, d: AllocationDay): Promise<{ lines: number; expected: Expected }> {
  const n = d.quarterHours;
  const expected: Expected = {
    measured: { offtake: new Float64Array(n + 1), feed_in: new Float64Array(n + 1) },
    profile: { offtake: new Map(), feed_in: new Map() },
  };
  const addProfile = (dir: 'offtake' | 'feed_in', category: string, qh: number, annual: number) => {
    let a = expected.profile[dir].get(category);
    if (!a) expected.profile[dir].set(category, (a = new Float64Array(n + 1)));
    a[qh]! += annual;
  };
  const out = createWriteStream(path);
  let lines = 1;
  let buf = `connection_ean,day,register,${Array.from({ length: n + 1 }, (_, i) => `r${i}`).join(',')}\n`;
  const write = async () => {
    if (!out.write(buf)) await once(out, 'drain');
    buf = '';
  };
  const off = new Array<number>(n + 1);
  const fin = new Array<number>(n + 1);
  for (let i = 0; i < N; i++) {
    const k = kindOf(i);
    const rnd = lcg(i + 1);
    const cat = categoryOf(i);
    const annual = annualOf(i);
    const annualFin = annualFeedInOf(i);
    const profileAll = () => {
      for (let qh = 1; qh <= n; qh++) {
        addProfile('offtake', cat, qh, annual);
        addProfile('feed_in', 'PV', qh, annualFin);
      }
    };
    if (k === 'profile' || k === 'opted_out' || k === 'absent') {
      profileAll();
      continue; // not in the file
    }
    off[0] = 1_000_000 + Math.floor(rnd() * 50_000_000);
    fin[0] = solar(i) ? Math.floor(rnd() * 5_000_000) : 0;
    for (let qh = 1; qh <= n; qh++) {
      off[qh] = off[qh - 1]! + Math.floor(rnd() * 400);
      const sun = Math.max(0, Math.sin(((qh - 24) / 56) * Math.PI));
      fin[qh] = fin[qh - 1]! + (solar(i) ? Math.floor(sun * 300 * rnd()) : 0);
    }
    // Registers 30..33 not read: quarter-hours 30..34 are allocated by profile (both directions).
    const unread = (p: number) => k === 'partial' && p >= 30 && p <= 33;
    const values = (r: number[]) => r.map((v, p) => (unread(p) ? '' : String(v))).join(',');
    if (k === 'invalid') {
      const bad = off.slice();
      bad[50] = bad[49]! - 100; // the offtake register decreases: the line is rejected (AL-2)
      buf += `${eanOf(i)},${DAY},offtake,${bad.join(',')}\n${eanOf(i)},${DAY},feed_in,${fin.join(',')}\n`;
    } else buf += `${eanOf(i)},${DAY},offtake,${values(off)}\n${eanOf(i)},${DAY},feed_in,${values(fin)}\n`;
    lines += 2;
    for (let qh = 1; qh <= n; qh++) {
      if (k === 'zero' || (k === 'gt4' && qh <= 40)) continue; // '0' values
      if (k === 'gt4' || (k === 'partial' && qh >= 30 && qh <= 34)) {
        addProfile('offtake', cat, qh, annual);
        addProfile('feed_in', 'PV', qh, annualFin);
        continue;
      }
      if (k === 'invalid') addProfile('offtake', cat, qh, annual);
      else expected.measured.offtake[qh]! += off[qh]! - off[qh - 1]!;
      expected.measured.feed_in[qh]! += fin[qh]! - fin[qh - 1]!;
    }
    if (buf.length > 1 << 20) await write();
  }
  await write();
  out.end();
  await once(out, 'finish');
  return { lines, expected };
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const d = allocationDay(DAY);
  log(
    `${N.toLocaleString('en')} connections, day ${DAY} (${d.quarterHours} quarter-hours); load average at start ${load()}`,
  );
  const db = await startDatabase();
  postmasterPid = db.pid;
  const work = await mkdtemp(join(tmpdir(), 'gt-bench-alloc-'));
  const dbh = createDb(db.url, { max: 4 });
  const sql = driverOf(dbh.db);
  let failed = false;
  try {
    await runMigrations(db.url);
    const operatorId = await seed(sql, d);
    const set = await profileSetForYear(dbh.db, Number(DAY.slice(0, 4)), { generatedProfiles: true });
    const fractions = await dayFractions(dbh.db, set.id, DAY);

    const file = join(work, `readings-${DAY}.csv`);
    const gen = await measured(() => writeFile(file, d));
    const size = (await stat(file)).size;
    log(`  day file: ${gen.value.lines.toLocaleString('en')} lines, ${mib(size)}, written in ${s(gen.ms)}`);

    // Import: the streaming bulk path (called directly, or over HTTP as a client uploads the file).
    const viaHttp = env.BENCH_IMPORT === 'http';
    const upload = viaHttp ? await httpImporter(db.url, dbh.db, dbh.sql) : null;
    let t = await tempUse(sql);
    const imp = await measured(() =>
      upload ? upload.send(file) : importReadingsFile(sql, ACTOR, createReadStream(file, { highWaterMark: 1 << 20 })),
    );
    await upload?.close();
    if (viaHttp) log(`  (imported over HTTP: POST /readings/bulk, text/csv streamed on a real socket)`);
    let t2 = await tempUse(sql);
    const rows = Number((await sql`select count(*) as n from meter_reading_days where day = ${DAY}`)[0]!.n);
    log(
      `import: ${s(imp.ms)} (${rate(imp.value.lines, imp.ms)} lines, ${rate(rows * 2 * (d.quarterHours + 1), imp.ms)} register values), ${rows.toLocaleString('en')} connection-days stored, ` +
        `${imp.value.rejected.toLocaleString('en')} lines rejected ${JSON.stringify(imp.value.rejectedByCode)}; peak RSS ${imp.peakRssMiB} MiB; PostgreSQL temp ${t2.files - t.files} files, ${mib(t2.bytes - t.bytes)}; ${cpuOf(imp)}`,
    );
    await sql`vacuum analyze meter_reading_days`;

    const floorQuery = () => sql`
      select k, sum(d.offtake_wh[k + 1] - d.offtake_wh[k]) as offtake, sum(d.feed_in_wh[k + 1] - d.feed_in_wh[k]) as feed_in
        from meter_reading_days d, generate_series(1, ${d.quarterHours}) k where d.day = ${DAY} group by k`;
    const floor1 = await measured(floorQuery);
    log(
      `floor (bare GROUP BY over the day rows): ${s(floor1.ms)} (${rate(rows * d.quarterHours, floor1.ms)} quarter-hour values); ${cpuOf(floor1)}`,
    );

    const { run } = await requestRun(dbh.db, ACTOR, {
      gridOperatorId: operatorId,
      day: DAY,
      trigger: 'request',
      requestKey: `bench:${Date.now()}`,
      reason: 'bench',
    });
    t = await tempUse(sql);
    const steps: string[] = [];
    const runStart = performance.now();
    const res = await measured(() =>
      computeAllocationRun(dbh.db, sql, run.id, { minimumConnections: 10, generatedProfiles: true }, (step, detail) => {
        // Wall time at each step of the run (the mixed connection-days run on a second connection meanwhile).
        if (step !== 'mixed')
          steps.push(
            `${step} ${s(performance.now() - runStart)}${step === 'mixed allocated' ? ` (${String(detail?.['connections'])} mixed)` : ''}`,
          );
      }),
    );
    t2 = await tempUse(sql);
    log(
      `allocation run: ${s(res.ms)} (${rate(N, res.ms)} connection-days, ${rate(N * d.quarterHours * 2, res.ms)} quarter-hour values); peak RSS ${res.peakRssMiB} MiB; PostgreSQL temp ${t2.files - t.files} files, ${mib(t2.bytes - t.bytes)}; ${cpuOf(res)}`,
    );
    log(`  steps: ${steps.join(', ')}`);
    log(`  ${JSON.stringify(res.value.summary?.['connections'])}`);
    const floor2 = await measured(floorQuery);
    log(`floor again after the run: ${s(floor2.ms)}; ${cpuOf(floor2)}`);
    const floorMs = (floor1.ms + floor2.ms) / 2;

    // Check: Σ aggregates per quarter-hour and direction = the generator's own total.
    const sums = await sql<Array<{ direction: 'offtake' | 'feed_in'; qh: number; volume: string }>>`
      select direction, qh, trim_scale(sum(volume_wh))::text as volume from allocation_aggregates where run_id = ${run.id} group by 1, 2`;
    let mismatches = 0;
    for (const r of sums) {
      const want = expected(gen.value.expected, r.direction, r.qh, fractions);
      if (whToPwh(r.volume) !== want) {
        mismatches += 1;
        if (mismatches <= 5)
          log(`  MISMATCH ${r.direction} qh ${r.qh}: aggregates ${r.volume} Wh, expected ${pwhToWh(want)} Wh`);
      }
    }
    const complete = sums.length === 2 * d.quarterHours;
    log(
      `check: Σ aggregates = expected for ${sums.length - mismatches} of ${2 * d.quarterHours} quarter-hour × direction totals ${mismatches === 0 && complete ? 'PASS' : 'FAIL'}`,
    );
    failed ||= mismatches > 0 || !complete;

    const ratio = res.ms / floorMs;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    const cpuRatio = (res.nodeCpu + res.pgCpu) / ((floor1.nodeCpu + floor1.pgCpu + floor2.nodeCpu + floor2.pgCpu) / 2);
    log(`CPU time: run ${cpuRatio.toFixed(2)}× floor (node + PostgreSQL, independent of the machine's other load)`);
    log(
      `targets: run ${s(res.ms)} = ${ratio.toFixed(2)}× floor (≤ 2×: ${verdict(ratio <= 2)}; < 120 s: ${verdict(res.ms < 120_000)}); import ${s(imp.ms)} (< 180 s: ${verdict(imp.ms < 180_000)})`,
    );
    log(
      `peak RSS: import ${imp.peakRssMiB} MiB, run ${res.peakRssMiB} MiB (file ${mib(size)}); load average at end ${load()}`,
    );

    if (env.BENCH_COMPARE_LAYOUT === '1') await compareLayout(sql, d);
  } catch (err) {
    failed = true;
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  } finally {
    await dbh.close();
    await rm(work, { recursive: true, force: true });
    await db.stop();
  }
  process.exit(failed ? 1 : 0);
}

/**
 * POST /readings/bulk over a real socket: the app (buildApp, as server.ts builds it) listens on a free port in this
 * process, an admin key is made, and the file is streamed to it as chunked text/csv — the path an upload takes.
 */
async function httpImporter(
  url: string,
  db: Db,
  sqlClient: postgres.Sql,
): Promise<{ send: (file: string) => Promise<BulkImportResult>; close: () => Promise<void> }> {
  const config = loadConfig({ ...env, NODE_ENV: 'development', DATABASE_URL: url, LOG_LEVEL: 'warn' });
  const app = await buildApp({ config, db, sql: sqlClient, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const k = generateApiKey();
  await db.insert(apiKeys).values({ keyHash: k.hash, prefix: k.prefix, label: 'bench', role: 'admin' });
  return {
    async send(file) {
      // node:http rather than fetch: Node 20's fetch keeps about what it has sent (its RSS grows with the file, 1 MB
      // per MB), which would be counted here as the server's; this client streams with backpressure and keeps nothing.
      const req = request(`${base}/readings/bulk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.key}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' },
      });
      const answer = new Promise<{ status: number; body: string }>((ok, fail) => {
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
          res.on('error', fail);
        });
        req.on('error', fail);
      });
      await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), req);
      const { status, body } = await answer;
      if (status !== 200) throw new Error(`POST /readings/bulk answered ${status}: ${body}`);
      return JSON.parse(body) as BulkImportResult;
    },
    close: () => app.close(),
  };
}

/** Expected pWh of one quarter-hour and direction: measured Wh + Σ fraction × annual kWh × 1000. */
function expected(
  e: Expected,
  dir: 'offtake' | 'feed_in',
  qh: number,
  fractions: ReadonlyMap<string, readonly bigint[]>,
): bigint {
  let total = BigInt(e.measured[dir][qh]!) * PWH_PER_WH;
  for (const [category, annual] of e.profile[dir]) {
    const a = annual[qh]!;
    if (a === 0) continue;
    total += fractions.get(category)![qh - 1]! * BigInt(a);
  }
  return total;
}

/** The other layout: one row per quarter-hour (96 M rows at 1 M connections). */
async function compareLayout(sql: postgres.Sql, d: AllocationDay): Promise<void> {
  await sql`create unlogged table if not exists bench_qh (connection_ean varchar(18) not null, read_at timestamptz not null, offtake_wh bigint, feed_in_wh bigint, primary key (connection_ean, read_at))`;
  const t0 = performance.now();
  await sql`
    insert into bench_qh select r.connection_ean, ${d.start.toISOString()}::timestamptz + (u.i - 1) * interval '15 minutes', u.o, u.f
      from meter_reading_days r cross join lateral unnest(r.offtake_wh, r.feed_in_wh) with ordinality u(o, f, i) where r.day = ${DAY}`;
  const ms = performance.now() - t0;
  const [size] = await sql<
    Array<{ a: string; q: string }>
  >`select pg_size_pretty(pg_total_relation_size('meter_reading_days')) as a, pg_size_pretty(pg_total_relation_size('bench_qh')) as q`;
  await sql`vacuum analyze bench_qh`;
  const t1 = performance.now();
  await sql`select read_at, sum(offtake_wh), sum(feed_in_wh) from bench_qh group by read_at`;
  log(
    `layout: a row per quarter-hour took ${s(ms)} to write (unlogged, from the day rows), ${size!.q} against ${size!.a} for the day rows; its bare GROUP BY of registers ${s(performance.now() - t1)}`,
  );
}

await main();
