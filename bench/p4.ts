/**
 * `npm run bench:p4` — the P4 gate under load, against the ceiling of HTTP on this machine.
 *
 * 1. PostgreSQL: its own embedded cluster in a temp dir (durable settings: fsync and synchronous
 *    commit on, so group commit is measured honestly; shared_buffers raised for a 1M-row dataset), or
 *    BENCH_DATABASE_URL (an empty database, or one this bench seeded before with the same size).
 * 2. Seeds BENCH_CONNECTIONS connections (default 1,000,000) with COPY, and their mandates, blocks and
 *    parties with set-based SQL.
 * 3. Starts the API as a child process (bench/p4-server.ts) and drives it over loopback with
 *    autocannon: first a bare constant route (the HTTP ceiling), then the gate with varied requests
 *    (random connections, parties and data kinds; allowed and denied mixed). Same load generator, same
 *    request shape, same connections and duration for both. Then the delivery path: each HTTP
 *    connection asks the gate for a 1-day interval-data period (POST /p4/requests, allowed) and fetches
 *    its data (GET /p4/requests/{id}/data, decided again and registered as a delivery), in turn.
 * 4. Prints requests/s, p50/p99 latency, the API's peak RSS, the ratios against the bare route and
 *    PASS/FAIL against the target, the delivery rate and p99, and checks the access register: exactly
 *    one row for every 2xx decision and for every delivered answer the load generator received (plus,
 *    reported separately, those still in flight when it stopped, registered but not read).
 *
 * The machine may be shared: to compare both routes under the same background load, the measurement
 * alternates between them in BENCH_ROUNDS rounds (bare, gate, bare, gate, …) of BENCH_DURATION / rounds
 * seconds each; throughput is total answers over total time, p50/p99 the request-weighted mean of the
 * rounds.
 *
 * Environment: BENCH_CONNECTIONS (dataset size), BENCH_DURATION (s, per route, default 30), BENCH_ROUNDS (3),
 * BENCH_WARMUP (s, default 5), BENCH_HTTP_CONNECTIONS (default 100), BENCH_SATURATION_CONNECTIONS (default twice that;
 * the capacity rounds, below; 0: none), BENCH_POOL_MAX (API pool, default 10),
 * BENCH_DATABASE_URL, BENCH_KEEP_DATA=1 (keep the temp cluster), BENCH_API_NODE_ARGS (extra node flags for
 * the API process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 *
 * BENCH_PG_STATEMENTS=1 (issue 21): the embedded cluster loads pg_stat_statements (with planning times), and the
 * gate's statement is reported over the gate's rounds: calls, rows per call (the batch), planning and execution time,
 * shared buffers and WAL per decision.
 *
 * BENCH_AUTH_FLOOD=<n> (issue 20): each round also measures the gate with its known keys while a second load
 * generator floods it with requests under n unknown keys in all (random keys made before the measurement, each used
 * once while fewer than n are sent, spread evenly over the rounds: BENCH_AUTH_FLOOD_RATE per second, default n / the
 * gate's seconds, on BENCH_AUTH_FLOOD_CONNECTIONS, default 10). The gate's throughput for the known keys during the
 * flood is held to ≥ 90 % of the same round's run without it; every flood request must be answered 401 and every
 * known-key request 2xx (those that are not are listed by status and code). It also prints the CPU a flood request
 * costs the API, PostgreSQL and the load generators, and how many refusals closed their connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { runMigrations } from '../db/migrate.js';
import { allocationDay, amsterdamDayOf } from '../domain/allocation.js';
import { generateApiKey } from '../lib/api-keys.js';
import { withCheckDigit } from '../lib/gs1.js';

import { startBenchDatabase } from './database.js';
import { BENCH_CODEC_ENV, intEnv } from './env.js';

const env = process.env;
export const N = intEnv('BENCH_CONNECTIONS', 1_000_000, 100);
const DURATION = intEnv('BENCH_DURATION', 30);
const WARMUP = intEnv('BENCH_WARMUP', 5, 0);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
export const HTTP_CONNECTIONS = intEnv('BENCH_HTTP_CONNECTIONS', 100);
/**
 * Issue 21: the routes' capacity. At 100 HTTP connections the bare route keeps both cores busy but the gate does not
 * (each request waits on its batch's statement: ~1.6 of 2 cores on an idle machine), so that ratio measures the gate's
 * latency rather than its throughput. The same alternating rounds are run again at this many connections (0: not run),
 * where both routes are CPU-bound; the throughput target is held to each route's best of the two.
 */
export const SATURATION_CONNECTIONS = intEnv('BENCH_SATURATION_CONNECTIONS', 2 * HTTP_CONNECTIONS, 0);
const POOL_MAX = intEnv('BENCH_POOL_MAX', 10);
const FLOOD = intEnv('BENCH_AUTH_FLOOD', 0, 0);
const FLOOD_CONNECTIONS = intEnv('BENCH_AUTH_FLOOD_CONNECTIONS', 10);
const PG_STATEMENTS = env.BENCH_PG_STATEMENTS === '1';
/** Issue 21's targets, in one run: throughput and CPU of the gate against the bare route. */
const TARGET = { throughput: 0.55, p99: 2, apiCpu: 1.25, pgCpu: 1.0 } as const;
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const log = (msg: string) => process.stdout.write(`[bench:p4] ${msg}\n`);
const DAY = 86_400_000;

const SUPPLIERS = 10;
const PROVIDERS = 10;
/** Delivery connections: i % 200 = 7 (service-provider mandate active, interval data, no block, not opted out). */
const DELIVERY_EVERY = 200;
const DELIVERY_REST = 7;
const gln = (kind: number, i: number) => withCheckDigit(`87999${kind}${String(i).padStart(6, '0')}`);
/** Connection i ↔ EAN: 871 + i in 14 digits + check digit (so SQL can recover i from the EAN). */
export const eanOf = (i: number) => withCheckDigit(`871${String(i).padStart(14, '0')}`);

export interface Seeded {
  operatorId: string;
  suppliers: Array<{ id: string; key: string }>;
  providers: Array<{ id: string; key: string }>;
  /** The day of readings on the delivery connections. */
  deliveryDay: { from: Date; to: Date };
}

/** The single row of a one-row query. */
export function one<T>(rows: readonly T[]): T {
  const r = rows[0];
  if (r === undefined) throw new Error('expected one row');
  return r;
}

// ---------------------------------------------------------------------------------------------

export const startDatabase = () =>
  startBenchDatabase(
    'gt-bench-pg-',
    {
      shared_buffers: '2GB',
      max_wal_size: '8GB',
      checkpoint_timeout: '15min',
      work_mem: '32MB',
      maintenance_work_mem: '1GB',
      ...(PG_STATEMENTS
        ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_planning': 'on' }
        : {}),
    },
    log,
  );

export async function seed(url: string): Promise<Seeded> {
  const sql = postgres(url, { max: 4, onnotice: () => undefined });
  try {
    const marker = gln(0, 1);
    const [existing] = await sql<Array<{ id: string }>>`select id from parties where gln = ${marker}`;
    if (existing) {
      const { n } = one(
        await sql<
          Array<{ n: number }>
        >`select count(*)::int as n from connections where grid_operator_id = ${existing.id}`,
      );
      if (n !== N)
        throw new Error(`the database holds a bench dataset of ${n} connections, not ${N}: use an empty database`);
      log(`reusing the seeded dataset (${n} connections)`);
    } else {
      const { n } = one(await sql<Array<{ n: number }>>`select count(*)::int as n from connections`);
      if (n > 0) throw new Error('BENCH_DATABASE_URL must point at an empty (migrated or new) database');
      // One reserved connection, so that the session setting below holds for every seeding statement.
      const session = await sql.reserve();
      try {
        // The generated rows are consistent by construction: skip the per-row foreign-key triggers
        // (needs superuser, which the embedded cluster has; elsewhere the seed just runs slower).
        await session`set session_replication_role = replica`.catch(() =>
          log('  (foreign-key checks stay on: not a superuser)'),
        );
        await seedFresh(session, marker);
      } finally {
        session.release();
      }
    }
    // Fresh keys for this run (only hashes are stored).
    const parties = await sql<
      Array<{ id: string; gln: string }>
    >`select id, gln from parties where gln like '87999%' order by gln`;
    const byGln = new Map(parties.map((p) => [p.gln, p.id]));
    const keyFor = async (partyId: string) => {
      const k = generateApiKey();
      await sql`insert into api_keys (key_hash, prefix, label, role, party_id) values (${k.hash}, ${k.prefix}, 'bench p4-client', 'p4-client', ${partyId})`;
      return `Bearer ${k.key}`;
    };
    const suppliers = [];
    for (let i = 0; i < SUPPLIERS; i++) {
      const id = byGln.get(gln(1, i))!;
      suppliers.push({ id, key: await keyFor(id) });
    }
    const providers = [];
    for (let i = 0; i < PROVIDERS; i++) {
      const id = byGln.get(gln(2, i))!;
      providers.push({ id, key: await keyFor(id) });
    }
    const { first } = one(await sql<Array<{ first: string }>>`select min(day)::text as first from meter_reading_days`);
    const day = allocationDay(first);
    return {
      operatorId: byGln.get(marker)!,
      suppliers,
      providers,
      deliveryDay: { from: day.start, to: day.end },
    };
  } finally {
    await sql.end();
  }
}

async function seedFresh(sql: postgres.ReservedSql, marker: string): Promise<void> {
  const t0 = Date.now();
  const [op] = await sql<
    Array<{ id: string }>
  >`insert into parties (gln, name, roles) values (${marker}, 'Bench grid operator', ${sql.array(['grid_operator'])}) returning id`;
  const supplierIds: string[] = [];
  for (let i = 0; i < SUPPLIERS; i++) {
    const [p] = await sql<
      Array<{ id: string }>
    >`insert into parties (gln, name, roles) values (${gln(1, i)}, ${`Bench supplier ${i}`}, ${sql.array(['supplier'])}) returning id`;
    supplierIds.push(p!.id);
  }
  const providerIds: string[] = [];
  for (let i = 0; i < PROVIDERS; i++) {
    const [p] = await sql<
      Array<{ id: string }>
    >`insert into parties (gln, name, roles) values (${gln(2, i)}, ${`Bench service provider ${i}`}, ${sql.array(['service_provider'])}) returning id`;
    providerIds.push(p!.id);
  }
  // Provider 9 is not admitted (DC-4): its requests exercise party_not_admitted.
  await sql`update parties set admitted = false where id = ${providerIds[PROVIDERS - 1]!}`;

  // Connections by COPY: supplier i % 10, 2 % opted out of remote reading (AL-5).
  log(`seeding ${N.toLocaleString('en')} connections (COPY)…`);
  const operatorId = op!.id;
  const chunk = 20_000;
  let next = 0;
  const source = Readable.from(
    (function* () {
      while (next < N) {
        const end = Math.min(N, next + chunk);
        let s = '';
        for (let i = next; i < end; i++) {
          s += `${eanOf(i)}\t${operatorId}\tBench-${i % 7}\t${supplierIds[i % SUPPLIERS]}\t${i % 50 === 0 ? 't' : 'f'}\t17.25\n`;
        }
        next = end;
        yield s;
      }
    })(),
  );
  const copy =
    await sql`copy connections (ean, grid_operator_id, grid_area, supplier_id, remote_reading_opt_out, capacity_kw) from stdin`.writable();
  await pipeline(source, copy);
  log(`  connections done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Mandates, set-based. i is recovered from the EAN. Per connection:
  //  - its service provider (i % 10) holds an interval+daily mandate, history for i % 3 = 0;
  //    every 20th is pending confirmation (DC-3), every 25th ended (revoked, DC-4);
  //  - every 4th connection's supplier of record holds an interval-data mandate.
  const now = Date.now();
  const from = new Date(now - 180 * DAY).toISOString();
  const to = new Date(now + 365 * DAY).toISOString();
  await sql`
    insert into mandates (party_id, connection_ean, data_kinds, purpose, valid_from, valid_to, history_included, granted_via, granted_by_name,
                          granted_by_is_grid_user, status, confirmed_at, ended_at, end_reason, created_by, created_at)
    select (${sql.array(providerIds)}::uuid[])[(x.i % ${PROVIDERS}) + 1], c.ean, '{interval_data,daily_registers}', 'energy insight',
           ${from}::timestamptz, ${to}::timestamptz, x.i % 3 = 0, 'portal', 'Bench grid user',
           x.i % 20 <> 1,
           case when x.i % 25 = 2 then 'ended' when x.i % 20 = 1 then 'pending_confirmation' else 'active' end,
           case when x.i % 20 <> 1 then ${from}::timestamptz end,
           case when x.i % 25 = 2 then now() end,
           case when x.i % 25 = 2 then 'revoked_by_grid_user' end,
           'bench', ${from}::timestamptz
      from connections c, lateral (select substr(c.ean, 4, 14)::bigint as i) x
     where c.grid_operator_id = ${operatorId}`;
  await sql`
    insert into mandates (party_id, connection_ean, data_kinds, purpose, valid_from, valid_to, history_included, granted_via, granted_by_name,
                          granted_by_is_grid_user, status, confirmed_at, created_by, created_at)
    select c.supplier_id, c.ean, '{interval_data}', 'dynamic tariff', ${from}::timestamptz, ${to}::timestamptz, false, 'signed_document',
           'Bench grid user', true, 'active', ${from}::timestamptz, 'bench', ${from}::timestamptz
      from connections c, lateral (select substr(c.ean, 4, 14)::bigint as i) x
     where c.grid_operator_id = ${operatorId} and x.i % 4 = 0`;
  // Doubt-case blocks (GT-2) on 0.5 % of the connections, against their service provider; each the block of
  // its (running) case, as intake places it (blocks.case_id references doubt_cases).
  await sql`
    with opened as (
      insert into doubt_cases (id, reference, grid_operator_id, party_id, connection_ean, channel, received_at,
                               reporter_name, description, isma, status, contact_due_at, created_by)
      select gen_random_uuid(), 'BENCH-' || c.ean, ${operatorId},
             (${sql.array(providerIds)}::uuid[])[(x.i % ${PROVIDERS}) + 1], c.ean, 'customer', now() - interval '1 day',
             'bench', 'bench', false, 'awaiting_response', now(), 'bench'
        from connections c, lateral (select substr(c.ean, 4, 14)::bigint as i) x
       where c.grid_operator_id = ${operatorId} and x.i % 200 = 3
      returning id, party_id, connection_ean, received_at)
    insert into blocks (party_id, connection_ean, case_id, started_at)
    select party_id, connection_ean, id, received_at from opened`;
  const { m } = one(await sql<Array<{ m: number }>>`select count(*)::int as m from mandates`);
  log(`  ${m.toLocaleString('en')} mandates and blocks done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Quarter-hour registers of one Amsterdam day (AL-1: one row per connection-day, n+1 values from the day's
  // start) on the delivery connections: their service provider's mandate allows interval data, nothing blocks them.
  const day = allocationDay(amsterdamDayOf(new Date(now - 2 * DAY)));
  const offtake = Array.from({ length: day.quarterHours + 1 }, (_, k) => 100000 + 37 * k);
  const feedIn = offtake.map(() => 0);
  await sql`
    insert into meter_reading_days (day, connection_ean, offtake_wh, feed_in_wh, missing)
    select ${day.day}::date, c.ean, ${sql.array(offtake)}::bigint[], ${sql.array(feedIn)}::bigint[], 0
      from connections c, lateral (select substr(c.ean, 4, 14)::bigint as i) x
     where c.grid_operator_id = ${operatorId} and x.i % ${DELIVERY_EVERY} = ${DELIVERY_REST}`;
  log(
    `  readings of one day on ${Math.ceil(N / DELIVERY_EVERY).toLocaleString('en')} connections done in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  await sql`set session_replication_role = origin`;
  await sql`vacuum analyze`;
  log(`  seeded and analysed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------

export async function startApi(url: string): Promise<{ child: ChildProcess; port: number }> {
  const extraArgs = (env.BENCH_API_NODE_ARGS ?? '').split(/\s+/).filter(Boolean); // e.g. --cpu-prof
  const child = spawn(process.execPath, [...extraArgs, '--import', 'tsx', join(root, 'bench/p4-server.ts')], {
    cwd: root,
    env: {
      ...env,
      NODE_ENV: 'production',
      ...BENCH_CODEC_ENV,
      ACM_REPORT_EMAIL: env.ACM_REPORT_EMAIL ?? 'meldingen@acm.example',
      PUBLIC_URL: env.PUBLIC_URL ?? 'https://gerede-twijfel.example',
      LOG_LEVEL: 'warn',
      DATABASE_URL: url,
      DATABASE_POOL_MAX: String(POOL_MAX),
      SEED_DEMO: 'false',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`API exited with ${code} before listening: ${out}`)));
    setTimeout(() => reject(new Error('API did not start within 60 s')), 60_000).unref();
  });
  child.stdout!.resume();
  return { child, port };
}

/** CPU time (ms) a process has used: utime + stime from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100
  } catch {
    return 0;
  }
}

/** The postmaster and its children (backends, WAL writer, …), found from one backend's pid. */
export function postgresPids(backendPid: number): number[] {
  const parentOf = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  };
  const postmaster = parentOf(backendPid);
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentOf(Number(entry)) === postmaster) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export const sumCpu = (pids: number[]) => pids.reduce((t, p) => t + cpuMs(p), 0);

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface Spec {
  body: string;
  authorization: string;
}

/** A pool of varied gate requests: allowed and denied mixed, random connections, parties and kinds. */
export function requestPool(seeded: Seeded, size: number): Spec[] {
  const kinds = ['monthly_registers', 'daily_registers', 'interval_data'] as const;
  const now = Date.now();
  const periods = [
    { from: new Date(now - 8 * DAY), to: new Date(now - DAY) }, // recent week
    { from: new Date(now - 400 * DAY), to: new Date(now - 300 * DAY) }, // before the mandates: history (DC-2)
    { from: new Date(now - 2 * DAY), to: new Date(now + 30 * DAY) }, // reaching into the future: cut at the decision
  ];
  const out: Spec[] = [];
  const rnd = (n: number) => Math.floor(Math.random() * n);
  for (let k = 0; k < size; k++) {
    const i = rnd(N);
    const r = Math.random();
    // 55 % its own service provider, 25 % its supplier of record, 20 % an unrelated party.
    const party =
      r < 0.55
        ? seeded.providers[i % PROVIDERS]!
        : r < 0.8
          ? seeded.suppliers[i % SUPPLIERS]!
          : rnd(2)
            ? seeded.providers[(i + 1 + rnd(PROVIDERS - 1)) % PROVIDERS]!
            : seeded.suppliers[(i + 1) % SUPPLIERS]!;
    const p = Math.random() < 0.8 ? periods[0]! : periods[1 + rnd(2)]!;
    out.push({
      authorization: party.key,
      body: JSON.stringify({
        connectionEan: eanOf(i),
        dataKind: kinds[rnd(3)],
        from: p.from.toISOString(),
        to: p.to.toISOString(),
      }),
    });
  }
  return out;
}

/** Delivery path: a 1-day interval-data request on a delivery connection by its service provider (allowed). */
function deliveryPool(seeded: Seeded, size: number): Spec[] {
  const out: Spec[] = [];
  const slots = Math.ceil((N - DELIVERY_REST) / DELIVERY_EVERY);
  const body = (i: number) =>
    JSON.stringify({
      connectionEan: eanOf(i),
      dataKind: 'interval_data',
      from: seeded.deliveryDay.from.toISOString(),
      to: seeded.deliveryDay.to.toISOString(),
    });
  for (let k = 0; k < size; k++) {
    const i = Math.floor(Math.random() * slots) * DELIVERY_EVERY + DELIVERY_REST;
    out.push({ authorization: seeded.providers[i % PROVIDERS]!.key, body: body(i) });
  }
  return out;
}

interface DeliveryResult {
  seconds: number;
  /** Delivered answers (GET …/data 200) per second; each one followed its own decision. */
  rate: number;
  pairP50: number;
  pairP99: number;
  fetchP50: number;
  fetchP99: number;
  delivered: number;
  readings: number;
  decisionsNotAllowed: number;
  deliveriesNot200: number;
  errors: number;
  deliveredIds: string[];
}

export const percentile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Each HTTP connection asks (POST) and then fetches the data of its answer (GET), in turn. */
async function driveDeliveries(port: number, pool: Spec[], duration: number, runTag: string): Promise<DeliveryResult> {
  const pairMs: number[] = [];
  const fetchMs: number[] = [];
  const deliveredIds: string[] = [];
  let readings = 0;
  let decisionsNotAllowed = 0;
  let deliveriesNot200 = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: HTTP_CONNECTIONS,
    pipelining: 1,
    duration,
    requests: [
      {
        method: 'POST',
        path: '/p4/requests',
        setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
          const spec = pool[seq % pool.length]!;
          context.t0 = performance.now();
          context.auth = spec.authorization;
          context.dataUrl = undefined;
          req.body = spec.body;
          req.headers = {
            'content-type': 'application/json',
            authorization: spec.authorization,
            'x-request-id': `${runTag}q-${seq++}`,
          };
          return req;
        },
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          const d = status === 200 ? (JSON.parse(body) as { allowed: boolean; dataUrl: string | null }) : undefined;
          if (d?.allowed && d.dataUrl) context.dataUrl = d.dataUrl;
          else decisionsNotAllowed += 1;
        },
      },
      {
        method: 'GET',
        setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
          if (!context.dataUrl) return null; // start over with a new question
          const id = `${runTag}d-${seq++}`;
          context.id = id;
          context.t1 = performance.now();
          req.path = context.dataUrl;
          req.method = 'GET';
          delete req.body;
          req.headers = { authorization: context.auth, 'x-request-id': id };
          return req;
        },
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          const t = performance.now();
          if (status !== 200) {
            deliveriesNot200 += 1;
            return;
          }
          readings += (JSON.parse(body) as { readings: unknown[] }).readings.length;
          deliveredIds.push(context.id as string);
          pairMs.push(t - (context.t0 as number));
          fetchMs.push(t - (context.t1 as number));
        },
      },
    ],
  } as autocannon.Options);
  return {
    seconds: result.duration,
    rate: deliveredIds.length / result.duration,
    pairP50: percentile(pairMs, 0.5),
    pairP99: percentile(pairMs, 0.99),
    fetchP50: percentile(fetchMs, 0.5),
    fetchP99: percentile(fetchMs, 0.99),
    delivered: deliveredIds.length,
    readings,
    decisionsNotAllowed,
    deliveriesNot200,
    errors: result.errors + result.timeouts,
    deliveredIds,
  };
}

function mergeDeliveries(runs: DeliveryResult[]): DeliveryResult {
  const seconds = runs.reduce((t, r) => t + r.seconds, 0);
  const delivered = runs.reduce((t, r) => t + r.delivered, 0);
  const weighted = (f: (r: DeliveryResult) => number) =>
    runs.reduce((t, r) => t + f(r) * r.delivered, 0) / Math.max(delivered, 1);
  return {
    seconds,
    rate: delivered / seconds,
    pairP50: weighted((r) => r.pairP50),
    pairP99: weighted((r) => r.pairP99),
    fetchP50: weighted((r) => r.fetchP50),
    fetchP99: weighted((r) => r.fetchP99),
    delivered,
    readings: runs.reduce((t, r) => t + r.readings, 0),
    decisionsNotAllowed: runs.reduce((t, r) => t + r.decisionsNotAllowed, 0),
    deliveriesNot200: runs.reduce((t, r) => t + r.deliveriesNot200, 0),
    errors: runs.reduce((t, r) => t + r.errors, 0),
    deliveredIds: runs.flatMap((r) => r.deliveredIds),
  };
}

export interface RunResult {
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  answeredIds: string[];
  /** Answers not 2xx by status and error code (e.g. `503 database_unavailable`). */
  notOk: Record<string, number>;
}

let seq = 0; // request ids are unique across all runs of this process

export async function drive(
  port: number,
  path: string,
  pool: Spec[],
  duration: number,
  runTag: string,
  collect: boolean,
  connections = HTTP_CONNECTIONS,
): Promise<RunResult> {
  const answeredIds: string[] = [];
  const notOk: Record<string, number> = {};
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    pipelining: 1,
    duration,
    requests: [
      {
        method: 'POST',
        path,
        setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
          const spec = pool[seq % pool.length]!;
          const id = `${runTag}-${seq++}`;
          context.id = id;
          req.body = spec.body;
          req.headers = { 'content-type': 'application/json', authorization: spec.authorization, 'x-request-id': id };
          return req;
        },
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          if (status >= 200 && status < 300) {
            if (collect) answeredIds.push(context.id as string);
            return;
          }
          const what = `${status} ${errorCodeOf(body)}`;
          notOk[what] = (notOk[what] ?? 0) + 1;
        },
      },
    ],
  } as autocannon.Options);
  return {
    seconds: result.duration,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    answeredIds,
    notOk,
  };
}

/** The `code` of an error body, or what the body starts with. */
function errorCodeOf(body: string): string {
  try {
    return String((JSON.parse(body) as { code?: unknown }).code ?? body.slice(0, 40));
  } catch {
    return body.slice(0, 40) || '(no body)';
  }
}

/** `503 database_unavailable × 3, socket errors × 2`: what answers were not 2xx, or `none`. */
function describeNotOk(r: RunResult): string {
  const parts = Object.entries(r.notOk).map(([what, n]) => `${what} × ${n}`);
  if (r.errors > 0) parts.push(`socket errors × ${r.errors}`);
  if (r.timeouts > 0) parts.push(`timeouts × ${r.timeouts}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

interface FloodResult {
  sent: number;
  refused401: number;
  other: number;
  /** Answers that closed their connection. */
  closed: number;
  seconds: number;
}

/**
 * The flood's keys, made before any measurement: the load generator shares the API's two cores, and a key made per
 * request (random bytes, and the hash generateApiKey adds) was CPU taken from the gate that an attacker on another
 * host would spend on its own. BENCH_AUTH_FLOOD keys in all, each used once unless the flood sends more.
 */
const floodKeys: string[] = Array.from({ length: FLOOD }, () => `Bearer gt_${randomBytes(32).toString('base64url')}`);
let floodNext = 0;
let floodRateAsked = 0;

/** Requests to the gate under unknown keys (a fresh random one each), at a fixed rate: a key-guessing flood. */
async function flood(port: number, rate: number, duration: number, body: string): Promise<FloodResult> {
  let refused401 = 0;
  let other = 0;
  let closed = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: FLOOD_CONNECTIONS,
    overallRate: rate,
    pipelining: 1,
    duration,
    requests: [
      {
        method: 'POST',
        path: '/p4/requests',
        setupRequest: (req: Record<string, unknown>) => {
          req.body = body;
          req.headers = {
            'content-type': 'application/json',
            authorization: floodKeys[floodNext++ % floodKeys.length],
          };
          return req;
        },
        onResponse: (status: number, _body: string, _context: unknown, headers: Record<string, string>) => {
          if (status === 401) refused401 += 1;
          else other += 1;
          // A refusal that closes its connection makes the flood reconnect: TCP set-up on both sides each time.
          if (headers.connection === 'close') closed += 1;
        },
      },
    ],
  } as autocannon.Options);
  return {
    sent: refused401 + other + result.errors + result.timeouts,
    refused401,
    other,
    closed,
    seconds: result.duration,
  };
}

/** Rounds of one route as one result: throughput over the total time, latencies weighted by requests. */
export function merge(runs: RunResult[]): RunResult {
  const total = runs.reduce((t, r) => t + r.total, 0);
  const seconds = runs.reduce((t, r) => t + r.seconds, 0);
  const weighted = (f: (r: RunResult) => number) => runs.reduce((t, r) => t + f(r) * r.total, 0) / Math.max(total, 1);
  return {
    seconds,
    rps: total / seconds,
    p50: weighted((r) => r.p50),
    p99: weighted((r) => r.p99),
    total,
    ok: runs.reduce((t, r) => t + r.ok, 0),
    non2xx: runs.reduce((t, r) => t + r.non2xx, 0),
    errors: runs.reduce((t, r) => t + r.errors, 0),
    timeouts: runs.reduce((t, r) => t + r.timeouts, 0),
    answeredIds: runs.flatMap((r) => r.answeredIds),
    notOk: runs.reduce<Record<string, number>>((t, r) => {
      for (const [what, n] of Object.entries(r.notOk)) t[what] = (t[what] ?? 0) + n;
      return t;
    }, {}),
  };
}

const loadgenMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

/** The gate's batches so far (bench/p4-server.ts /bench/stats: gateStats of api/p4-gate.ts). */
async function gateCounts(port: number): Promise<{ batches: number; requests: number }> {
  const s = (await (await fetch(`http://127.0.0.1:${port}/bench/stats`)).json()) as {
    batches: number;
    requests: number;
  };
  return { batches: s.batches, requests: s.requests };
}

interface StatementStats {
  calls: number;
  rows: number;
  plans: number;
  planMs: number;
  execMs: number;
  hit: number;
  read: number;
  walBytes: number;
}
const NO_STATS: StatementStats = { calls: 0, rows: 0, plans: 0, planMs: 0, execMs: 0, hit: 0, read: 0, walBytes: 0 };

/** pg_stat_statements' counters of the gate's statement (decideAndRegister), or zeros without the extension. */
async function gateStatement(sql: postgres.Sql): Promise<StatementStats> {
  if (!PG_STATEMENTS) return NO_STATS;
  const [r] = await sql<StatementStats[]>`
    select coalesce(sum(calls), 0)::float8 as calls, coalesce(sum(rows), 0)::float8 as rows, coalesce(sum(plans), 0)::float8 as plans,
           coalesce(sum(total_plan_time), 0)::float8 as "planMs", coalesce(sum(total_exec_time), 0)::float8 as "execMs",
           coalesce(sum(shared_blks_hit), 0)::float8 as hit, coalesce(sum(shared_blks_read), 0)::float8 as read,
           coalesce(sum(wal_bytes), 0)::float8 as "walBytes"
      from pg_stat_statements where query like '%insert into access_register%' and query like '%unnest%'`;
  return r ?? NO_STATS;
}
const addStats = (into: StatementStats, a: StatementStats, b: StatementStats) => {
  for (const k of Object.keys(into) as Array<keyof StatementStats>) into[k] += b[k] - a[k];
};

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const db = await startDatabase();
  let api: { child: ChildProcess; port: number } | undefined;
  let exitCode = 0;
  try {
    await runMigrations(db.url);
    const seeded = await seed(db.url);
    api = await startApi(db.url);
    log(
      `API pid ${api.child.pid} on port ${api.port}; ${HTTP_CONNECTIONS} HTTP connections, ${WARMUP} s warm-up per route, then ${ROUNDS} rounds of ${Math.round(DURATION / ROUNDS)} s per route`,
    );
    const pool = requestPool(seeded, 200_000);
    const dpool = deliveryPool(seeded, 50_000);
    const runTag = `b${randomBytes(4).toString('hex')}`;

    if (WARMUP > 0) {
      await drive(api.port, '/bench/bare', pool, WARMUP, `${runTag}w`, false);
      await drive(api.port, '/p4/requests', pool, WARMUP, `${runTag}w`, false);
      await driveDeliveries(api.port, dpool, WARMUP, `${runTag}w`);
    }
    // Let the warm-up's last decisions commit, so that they are not counted as this run's.
    await new Promise((r) => setTimeout(r, 1000));
    const sqlCheck = postgres(db.url, { max: 1, onnotice: () => undefined });
    const { before } = one(
      await sqlCheck<Array<{ before: number }>>`select count(*)::int as before from access_register`,
    );
    const { pid: backendPid } = one(await sqlCheck<Array<{ pid: number }>>`select pg_backend_pid() as pid`);
    if (PG_STATEMENTS) await sqlCheck`create extension if not exists pg_stat_statements`;
    const batches = { batches: 0, requests: 0 };
    const statement = { ...NO_STATS };
    const pgPids = postgresPids(backendPid);
    const bareRuns: RunResult[] = [];
    const gateRuns: RunResult[] = [];
    const deliveryRuns: DeliveryResult[] = [];
    const bareCpu = { api: 0, loadgen: 0 };
    const cpu = { api: 0, pg: 0, loadgen: 0 };
    const deliveryCpu = { api: 0, pg: 0, loadgen: 0 };
    const slice = Math.max(1, Math.round(DURATION / ROUNDS));
    const floodRate = intEnv('BENCH_AUTH_FLOOD_RATE', Math.max(1, Math.ceil(FLOOD / (slice * ROUNDS))));
    floodRateAsked = floodRate;
    const floodBody = pool[0]!.body;
    const quietRuns: RunResult[] = [];
    const floodedRuns: RunResult[] = [];
    const floods: FloodResult[] = [];
    const quietCpu: FloodCpu = { api: 0, pg: 0, loadgen: 0 };
    const floodedCpu: FloodCpu = { api: 0, pg: 0, loadgen: 0 };
    const floodAlone = { api: 0, pg: 0, loadgen: 0, sent: 0, seconds: 0 };
    /** One gate run, its CPU (API, PostgreSQL, load generator) and its batches added to the given totals. */
    const measuredGate = async (
      tag: string,
      connections: number,
      into: { api: number; pg: number; loadgen: number },
      counted: { batches: number; requests: number },
    ): Promise<RunResult> => {
      const port = api!.port;
      const pid = api!.child.pid!;
      const api0 = cpuMs(pid);
      const b0 = await gateCounts(port);
      const pg0 = sumCpu(pgPids);
      const lg0 = process.cpuUsage();
      const r = await drive(port, '/p4/requests', pool, slice, tag, true, connections);
      into.api += cpuMs(pid) - api0;
      into.pg += sumCpu(pgPids) - pg0;
      into.loadgen += loadgenMs(lg0);
      const b1 = await gateCounts(port);
      counted.batches += b1.batches - b0.batches;
      counted.requests += b1.requests - b0.requests;
      return r;
    };
    for (let round = 1; round <= ROUNDS; round++) {
      let api0 = cpuMs(api.child.pid!);
      let lg0 = process.cpuUsage();
      bareRuns.push(await drive(api.port, '/bench/bare', pool, slice, `${runTag}x`, false));
      bareCpu.api += cpuMs(api.child.pid!) - api0;
      bareCpu.loadgen += loadgenMs(lg0);
      const s0 = await gateStatement(sqlCheck);
      gateRuns.push(await measuredGate(`${runTag}g`, HTTP_CONNECTIONS, cpu, batches));
      addStats(statement, s0, await gateStatement(sqlCheck));
      api0 = cpuMs(api.child.pid!);
      const pgD0 = sumCpu(pgPids);
      lg0 = process.cpuUsage();
      deliveryRuns.push(await driveDeliveries(api.port, dpool, slice, runTag));
      deliveryCpu.api += cpuMs(api.child.pid!) - api0;
      deliveryCpu.pg += sumCpu(pgPids) - pgD0;
      deliveryCpu.loadgen += loadgenMs(lg0);
      log(
        `round ${round}/${ROUNDS}: bare ${Math.round(bareRuns.at(-1)!.rps)} req/s, gate ${Math.round(gateRuns.at(-1)!.rps)} req/s, deliveries ${Math.round(deliveryRuns.at(-1)!.rate)}/s`,
      );
      if (FLOOD > 0) {
        // The same gate load without and with the flood, back to back (order alternating by round), so that both
        // see the same background load of a shared machine.
        // CPU of the API, PostgreSQL and both load generators in each: what the flood's requests cost, and where.
        const measured = async (into: FloodCpu, run: () => Promise<RunResult>) => {
          const a0 = cpuMs(api!.child.pid!);
          const p0 = sumCpu(pgPids);
          const l0 = process.cpuUsage();
          const r = await run();
          into.api += cpuMs(api!.child.pid!) - a0;
          into.pg += sumCpu(pgPids) - p0;
          into.loadgen += loadgenMs(l0);
          return r;
        };
        const quiet = () =>
          measured(quietCpu, () => drive(api!.port, '/p4/requests', pool, slice, `${runTag}n`, false));
        const flooded = () =>
          measured(floodedCpu, async () => {
            const [g, f] = await Promise.all([
              drive(api!.port, '/p4/requests', pool, slice, `${runTag}f`, false),
              flood(api!.port, floodRate, slice, floodBody),
            ]);
            floods.push(f);
            return g;
          });
        if (round % 2) {
          quietRuns.push(await quiet());
          floodedRuns.push(await flooded());
        } else {
          floodedRuns.push(await flooded());
          quietRuns.push(await quiet());
        }
        // The flood alone (no gate load), at the same rate: its CPU per request on each side, which moves far less
        // with a shared machine's load than the throughput ratio does.
        const a0 = cpuMs(api.child.pid!);
        const p0 = sumCpu(pgPids);
        const l0 = process.cpuUsage();
        const alone = await flood(api.port, floodRate, Math.max(1, Math.round(slice / 2)), floodBody);
        floodAlone.api += cpuMs(api.child.pid!) - a0;
        floodAlone.pg += sumCpu(pgPids) - p0;
        floodAlone.loadgen += loadgenMs(l0);
        floodAlone.sent += alone.sent;
        floodAlone.seconds += alone.seconds;
        log(
          `round ${round}/${ROUNDS}: gate ${Math.round(quietRuns.at(-1)!.rps)} req/s without, ${Math.round(floodedRuns.at(-1)!.rps)} req/s during a flood of ${floods.at(-1)!.sent} unknown keys`,
        );
      }
    }
    // Capacity rounds (issue 21): bare and gate again, alternating, at SATURATION_CONNECTIONS; their CPU per request and
    // the cores the API, PostgreSQL and the load generator kept busy show whether each route was CPU-bound.
    const satBareRuns: RunResult[] = [];
    const satGateRuns: RunResult[] = [];
    const satBareCpu = { api: 0, loadgen: 0 };
    const satCpu = { api: 0, pg: 0, loadgen: 0 };
    const satBatches = { batches: 0, requests: 0 };
    for (let round = 1; SATURATION_CONNECTIONS > 0 && round <= ROUNDS; round++) {
      let api0 = cpuMs(api.child.pid!);
      let lg0 = process.cpuUsage();
      satBareRuns.push(await drive(api.port, '/bench/bare', pool, slice, `${runTag}y`, false, SATURATION_CONNECTIONS));
      satBareCpu.api += cpuMs(api.child.pid!) - api0;
      satBareCpu.loadgen += loadgenMs(lg0);
      satGateRuns.push(await measuredGate(`${runTag}s`, SATURATION_CONNECTIONS, satCpu, satBatches));
      log(
        `capacity round ${round}/${ROUNDS} (${SATURATION_CONNECTIONS} HTTP connections): bare ${Math.round(satBareRuns.at(-1)!.rps)} req/s, gate ${Math.round(satGateRuns.at(-1)!.rps)} req/s`,
      );
    }
    const bare = merge(bareRuns);
    const gate = merge(gateRuns);
    const satBare = satBareRuns.length ? merge(satBareRuns) : undefined;
    const satGate = satGateRuns.length ? merge(satGateRuns) : undefined;
    const delivery = mergeDeliveries(deliveryRuns);
    const peak = peakRssMiB(api.child.pid!);
    const authCache = FLOOD > 0 ? await (await fetch(`http://127.0.0.1:${api.port}/bench/stats`)).json() : undefined;
    // Let in-flight batches commit before counting.
    await new Promise((r) => setTimeout(r, 500));

    const like = `${runTag}g-%`;
    const [reg] = await sqlCheck<Array<{ rows: number; distinct_ids: number; answered_rows: number; allowed: number }>>`
      select count(*)::int as rows,
             count(distinct request_id)::int as distinct_ids,
             count(*) filter (where request_id = any(${gate.answeredIds}::text[]))::int as answered_rows,
             count(*) filter (where allowed)::int as allowed
        from access_register where request_id like ${like}`;
    const reasons = await sqlCheck<Array<{ reason_code: string; n: number }>>`
      select reason_code, count(*)::int as n from access_register where request_id like ${like} group by 1 order by 2 desc`;
    // Deliveries: exactly one delivery row for every delivered answer, none missing, no duplicates.
    const dlike = `${runTag}d-%`;
    const [dreg] = await sqlCheck<
      Array<{ rows: number; distinct_ids: number; answered_rows: number; allowed: number; not_delivery: number }>
    >`
      select count(*)::int as rows,
             count(distinct request_id)::int as distinct_ids,
             count(*) filter (where request_id = any(${delivery.deliveredIds}::text[]))::int as answered_rows,
             count(*) filter (where allowed)::int as allowed,
             count(*) filter (where kind <> 'delivery' or delivery_of is null)::int as not_delivery
        from access_register where request_id like ${dlike}`;
    const { qrows } = one(
      await sqlCheck<
        Array<{ qrows: number }>
      >`select count(*)::int as qrows from access_register where request_id like ${`${runTag}q-%`}`,
    );
    // The flood variant's gate runs (without and during the flood) register too.
    const { frows } = one(
      await sqlCheck<
        Array<{ frows: number }>
      >`select count(*)::int as frows from access_register where request_id like ${`${runTag}n-%`} or request_id like ${`${runTag}f-%`}`,
    );
    // The capacity rounds' gate decisions: one row each, as the main rounds'.
    const [sreg] = await sqlCheck<Array<{ rows: number; distinct_ids: number; answered_rows: number }>>`
      select count(*)::int as rows, count(distinct request_id)::int as distinct_ids,
             count(*) filter (where request_id = any(${satGate?.answeredIds ?? []}::text[]))::int as answered_rows
        from access_register where request_id like ${`${runTag}s-%`}`;
    const { after } = one(await sqlCheck<Array<{ after: number }>>`select count(*)::int as after from access_register`);
    await sqlCheck.end();

    const throughputRatio = gate.rps / bare.rps;
    const p99Ratio = gate.p99 / Math.max(bare.p99, 1e-9);
    const satRatio = satGate && satBare ? satGate.rps / satBare.rps : undefined;
    const satP99Ratio = satGate && satBare ? satGate.p99 / Math.max(satBare.p99, 1e-9) : undefined;
    // Each route's capacity: its best throughput at either connection count.
    const capacityRatio = Math.max(gate.rps, satGate?.rps ?? 0) / Math.max(bare.rps, satBare?.rps ?? 0);
    const throughputPass = capacityRatio >= TARGET.throughput;
    const p99Pass = gate.p99 <= TARGET.p99 * bare.p99 && (satP99Ratio === undefined || satP99Ratio <= TARGET.p99);
    const cores = (ms: number, r: RunResult) => ms / 1000 / r.seconds;
    // The CPU ratios at the capacity count too: larger batches share each statement's fixed cost among more decisions.
    const satBareApiUs = satBare ? (satBareCpu.api * 1000) / satBare.total : undefined;
    const satApiCpuRatio = satGate && satBareApiUs ? (satCpu.api * 1000) / satGate.total / satBareApiUs : undefined;
    const satPgCpuRatio = satGate && satBareApiUs ? (satCpu.pg * 1000) / satGate.total / satBareApiUs : undefined;
    const bareApiUs = (bareCpu.api * 1000) / bare.total;
    const gateApiUs = (cpu.api * 1000) / gate.total;
    const gatePgUs = (cpu.pg * 1000) / gate.total;
    const apiCpuRatio = gateApiUs / bareApiUs;
    const pgCpuRatio = gatePgUs / bareApiUs;
    const registerPass =
      reg!.answered_rows === gate.ok &&
      reg!.distinct_ids === reg!.rows &&
      after - before === reg!.rows + dreg!.rows + qrows + frows + sreg!.rows &&
      reg!.rows - gate.ok <= HTTP_CONNECTIONS * ROUNDS &&
      sreg!.answered_rows === (satGate?.ok ?? 0) &&
      sreg!.distinct_ids === sreg!.rows &&
      sreg!.rows - (satGate?.ok ?? 0) <= SATURATION_CONNECTIONS * ROUNDS;
    const deliveryRegisterPass =
      dreg!.answered_rows === delivery.delivered &&
      dreg!.distinct_ids === dreg!.rows &&
      dreg!.not_delivery === 0 &&
      dreg!.rows - delivery.delivered <= HTTP_CONNECTIONS * ROUNDS;

    const pad = (s: string, n: number) => s.padEnd(n);
    const row = (cells: string[]) =>
      `| ${cells.map((c, i) => pad(c, [22, 12, 10, 10, 14, 10].at(i) ?? 10)).join(' | ')} |`;
    const routeRow = (label: string, r: RunResult, rss = '') =>
      row([label, r.rps.toFixed(0), r.p50.toFixed(1), r.p99.toFixed(1), rss, String(r.non2xx + r.errors)]);
    const lines = [
      '',
      `P4 gate benchmark — ${N.toLocaleString('en')} connections; ${HTTP_CONNECTIONS} HTTP connections; ${ROUNDS} alternating rounds, ${bare.seconds.toFixed(0)} s per route; node ${process.version}; ${readCpuModel()}`,
      row(['route', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS MiB', 'non-2xx']),
      row(['-'.repeat(22), '-'.repeat(12), '-'.repeat(10), '-'.repeat(10), '-'.repeat(14), '-'.repeat(10)]),
      routeRow('bare constant route', bare),
      routeRow('P4 gate + register', gate, peak.toFixed(0)),
      '',
      ...(satBare && satGate
        ? [
            routeRow(`bare, ${SATURATION_CONNECTIONS} connections`, satBare),
            routeRow(`gate, ${SATURATION_CONNECTIONS} connections`, satGate),
            '',
            `cores busy (API + PostgreSQL + load generator): ${HTTP_CONNECTIONS} connections bare ${cores(bareCpu.api + bareCpu.loadgen, bare).toFixed(2)}, gate ${cores(cpu.api + cpu.pg + cpu.loadgen, gate).toFixed(2)}; ` +
              `${SATURATION_CONNECTIONS} connections bare ${cores(satBareCpu.api + satBareCpu.loadgen, satBare).toFixed(2)}, gate ${cores(satCpu.api + satCpu.pg + satCpu.loadgen, satGate).toFixed(2)}`,
            `CPU per request at ${SATURATION_CONNECTIONS}: bare API ${((satBareCpu.api * 1000) / satBare.total).toFixed(0)} µs; gate API ${((satCpu.api * 1000) / satGate.total).toFixed(0)} µs, PostgreSQL ${((satCpu.pg * 1000) / satGate.total).toFixed(0)} µs, ` +
              `${(satBatches.requests / Math.max(satBatches.batches, 1)).toFixed(1)} requests a batch`,
          ]
        : ['']),
      `throughput gate/bare: ${(throughputRatio * 100).toFixed(0)} % at ${HTTP_CONNECTIONS} HTTP connections` +
        (satRatio === undefined ? '' : `, ${(satRatio * 100).toFixed(0)} % at ${SATURATION_CONNECTIONS}`) +
        `; capacity (each route's best) ${(capacityRatio * 100).toFixed(0)} % (target ≥ ${Math.round(TARGET.throughput * 100)} %)  ${throughputPass ? 'PASS' : 'FAIL'}`,
      `p99 gate/bare:        ${p99Ratio.toFixed(2)}× at ${HTTP_CONNECTIONS}` +
        (satP99Ratio === undefined ? '' : `, ${satP99Ratio.toFixed(2)}× at ${SATURATION_CONNECTIONS}`) +
        ` (target ≤ ${TARGET.p99}× at each)       ${p99Pass ? 'PASS' : 'FAIL'}`,
      `API CPU gate/bare:    ${apiCpuRatio.toFixed(2)}× at ${HTTP_CONNECTIONS} (target ≤ ${TARGET.apiCpu}×)    ${apiCpuRatio <= TARGET.apiCpu ? 'PASS' : 'FAIL'}` +
        (satApiCpuRatio === undefined
          ? ''
          : `; ${satApiCpuRatio.toFixed(2)}× at ${SATURATION_CONNECTIONS}  ${satApiCpuRatio <= TARGET.apiCpu ? 'PASS' : 'FAIL'}`),
      `PostgreSQL CPU per decision / bare API CPU per request: ${pgCpuRatio.toFixed(2)}× at ${HTTP_CONNECTIONS} (target ≤ ${TARGET.pgCpu.toFixed(1)}×)  ${pgCpuRatio <= TARGET.pgCpu ? 'PASS' : 'FAIL'}` +
        (satPgCpuRatio === undefined
          ? ''
          : `; ${satPgCpuRatio.toFixed(2)}× at ${SATURATION_CONNECTIONS}  ${satPgCpuRatio <= TARGET.pgCpu ? 'PASS' : 'FAIL'}`),
      `gate batches:         ${batches.batches.toLocaleString('en')} statements for ${batches.requests.toLocaleString('en')} requests in the gate's rounds: ${(batches.requests / Math.max(batches.batches, 1)).toFixed(1)} per batch`,
      ...(PG_STATEMENTS
        ? [
            `gate statement:       ${statement.calls} calls, ${(statement.rows / Math.max(statement.calls, 1)).toFixed(1)} rows each; planned ${statement.plans} times (${(statement.planMs / Math.max(statement.plans, 1)).toFixed(2)} ms each); ` +
              `execution ${(statement.execMs / Math.max(statement.calls, 1)).toFixed(2)} ms per call, ${((statement.execMs * 1000) / Math.max(statement.rows, 1)).toFixed(1)} µs per decision; ` +
              `${(statement.hit / Math.max(statement.rows, 1)).toFixed(1)} shared buffers hit, ${(statement.read / Math.max(statement.rows, 1)).toFixed(2)} read, ${(statement.walBytes / Math.max(statement.rows, 1)).toFixed(0)} WAL bytes per decision`,
          ]
        : []),
      `decisions:            ${gate.ok.toLocaleString('en')} answered 2xx (${(gate.ok / gate.seconds).toFixed(0)}/s), ${reg!.allowed.toLocaleString('en')} of ${reg!.rows.toLocaleString('en')} registered allowed`,
      `access register:      ${reg!.answered_rows.toLocaleString('en')} rows for the ${gate.ok.toLocaleString('en')} answered decisions, ${reg!.rows - reg!.distinct_ids} duplicates, ` +
        `${reg!.rows - reg!.answered_rows} more for requests still in flight when the load generator stopped` +
        (satGate
          ? `; capacity rounds ${sreg!.answered_rows.toLocaleString('en')} rows for ${satGate.ok.toLocaleString('en')} answered, ${sreg!.rows - sreg!.distinct_ids} duplicates, ${sreg!.rows - sreg!.answered_rows} in flight`
          : '') +
        `; ${after - before - (reg!.rows + dreg!.rows + qrows + frows + sreg!.rows)} rows of no measured request (e.g. warm-up decisions committed late)  ${registerPass ? 'PASS' : 'FAIL'}`,
      `CPU per request:      bare: API ${bareApiUs.toFixed(0)} µs, load generator ${((bareCpu.loadgen * 1000) / bare.total).toFixed(0)} µs; ` +
        `gate: API ${gateApiUs.toFixed(0)} µs, PostgreSQL ${gatePgUs.toFixed(0)} µs, load generator ${((cpu.loadgen * 1000) / gate.total).toFixed(0)} µs` +
        ` (machine load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
      `reasons:              ${reasons.map((r) => `${r.reason_code} ${r.n}`).join(', ')}`,
      '',
      `delivery path (decision + data of a 1-day interval-data period, ${HTTP_CONNECTIONS} HTTP connections, in the same rounds):`,
      `  delivered:          ${delivery.delivered.toLocaleString('en')} answers, ${delivery.rate.toFixed(0)}/s (each after its own decision: ${(2 * delivery.rate).toFixed(0)} HTTP requests/s), ` +
        `${delivery.delivered ? (delivery.readings / delivery.delivered).toFixed(0) : 0} readings each`,
      `  latency:            decision + delivery p50 ${delivery.pairP50.toFixed(1)} / p99 ${delivery.pairP99.toFixed(1)} ms; the data fetch alone p50 ${delivery.fetchP50.toFixed(1)} / p99 ${delivery.fetchP99.toFixed(1)} ms`,
      `  CPU per delivered answer (its decision included): API ${((deliveryCpu.api * 1000) / Math.max(delivery.delivered, 1)).toFixed(0)} µs, ` +
        `PostgreSQL ${((deliveryCpu.pg * 1000) / Math.max(delivery.delivered, 1)).toFixed(0)} µs, load generator ${((deliveryCpu.loadgen * 1000) / Math.max(delivery.delivered, 1)).toFixed(0)} µs`,
      `  not allowed:        ${delivery.decisionsNotAllowed} decisions, ${delivery.deliveriesNot200} deliveries, ${delivery.errors} errors (all expected 0)`,
      `  access register:    ${dreg!.answered_rows.toLocaleString('en')} delivery rows for the ${delivery.delivered.toLocaleString('en')} delivered answers, ${dreg!.rows - dreg!.distinct_ids} duplicates, ` +
        `${dreg!.not_delivery} not marked as deliveries, ${dreg!.rows - dreg!.answered_rows} more still in flight  ${deliveryRegisterPass ? 'PASS' : 'FAIL'}`,
      ...(gate.non2xx + gate.errors + gate.timeouts > 0 ? [`gate answers not 2xx:  ${describeNotOk(gate)}`] : []),
      ...floodLines(
        quietRuns,
        floodedRuns,
        floods,
        authCache as FloodStats | undefined,
        quietCpu,
        floodedCpu,
        floodAlone,
      ),
      `total time:           ${((Date.now() - started) / 1000).toFixed(0)} s`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (
      (FLOOD > 0 && !floodPass(quietRuns, floodedRuns, floods)) ||
      !registerPass ||
      !deliveryRegisterPass ||
      gate.errors > 0 ||
      gate.non2xx > 0 ||
      (satGate?.errors ?? 0) + (satGate?.non2xx ?? 0) > 0 ||
      delivery.errors > 0 ||
      delivery.deliveriesNot200 > 0 ||
      delivery.decisionsNotAllowed > 0
    )
      exitCode = 1;
  } finally {
    if (api) {
      api.child.kill('SIGTERM');
      await new Promise((r) => api!.child.once('exit', r));
    }
    await db.stop();
  }
  process.exit(exitCode);
}

const floodRatio = (quiet: RunResult[], flooded: RunResult[]) => merge(flooded).rps / merge(quiet).rps;
const floodPass = (quiet: RunResult[], flooded: RunResult[], floods: FloodResult[]) =>
  floodRatio(quiet, flooded) >= 0.9 &&
  floods.every((f) => f.other === 0) &&
  merge(flooded).non2xx + merge(flooded).errors + merge(flooded).timeouts === 0;

/** CPU ms used in the gate runs without or during the flood. */
interface FloodCpu {
  api: number;
  pg: number;
  loadgen: number;
}

interface FloodStats {
  auth?: { known: number; misses: number; index?: number };
  authRefusals?: Record<string, number>;
}

function floodLines(
  quiet: RunResult[],
  flooded: RunResult[],
  floods: FloodResult[],
  stats: FloodStats | undefined,
  quietCpu: FloodCpu,
  floodedCpu: FloodCpu,
  alone: FloodCpu & { sent: number; seconds: number },
): string[] {
  if (floods.length === 0) return [];
  const q = merge(quiet);
  const f = merge(flooded);
  const sent = floods.reduce((t, x) => t + x.sent, 0);
  // A flood request's CPU: what the flooded runs used beyond their gate requests at the quiet runs' cost each.
  const perFlood = (k: keyof FloodCpu) =>
    (((floodedCpu[k] - (quietCpu[k] / Math.max(q.total, 1)) * f.total) * 1000) / Math.max(sent, 1)).toFixed(0);
  const perGate = (k: keyof FloodCpu) => ((quietCpu[k] * 1000) / Math.max(q.total, 1)).toFixed(0);
  const seconds = floods.reduce((t, x) => t + x.seconds, 0);
  const refused = floods.reduce((t, x) => t + x.refused401, 0);
  return [
    '',
    `authentication flood (BENCH_AUTH_FLOOD, ${FLOOD_CONNECTIONS} flood connections, in the same rounds):`,
    `  gate, known keys:   ${q.rps.toFixed(0)} req/s without (p99 ${q.p99.toFixed(1)} ms), ${f.rps.toFixed(0)} req/s during the flood (p99 ${f.p99.toFixed(1)} ms): ` +
      `${(floodRatio(quiet, flooded) * 100).toFixed(0)} % (target ≥ 90 %)  ${floodPass(quiet, flooded, floods) ? 'PASS' : 'FAIL'}`,
    `  flood:              ${sent.toLocaleString('en')} requests under ${Math.min(sent, FLOOD).toLocaleString('en')} unknown keys (${(sent / seconds).toFixed(0)}/s; asked for ${floodRateAsked}/s), ${refused.toLocaleString('en')} answered 401, ` +
      `${floods.reduce((t, x) => t + x.other, 0)} otherwise; ${floods.reduce((t, x) => t + x.closed, 0)} closed their connection`,
    `  CPU per request:    gate (without the flood): API ${perGate('api')} µs, PostgreSQL ${perGate('pg')} µs, load generator ${perGate('loadgen')} µs; ` +
      `flood (the flooded runs' CPU beyond their gate requests): API ${perFlood('api')} µs, PostgreSQL ${perFlood('pg')} µs, load generators ${perFlood('loadgen')} µs`,
    `  the flood alone:    ${alone.sent.toLocaleString('en')} requests (${(alone.sent / Math.max(alone.seconds, 1)).toFixed(0)}/s), CPU per request: ` +
      `API ${((alone.api * 1000) / Math.max(alone.sent, 1)).toFixed(0)} µs, PostgreSQL ${((alone.pg * 1000) / Math.max(alone.sent, 1)).toFixed(0)} µs, ` +
      `load generator ${((alone.loadgen * 1000) / Math.max(alone.sent, 1)).toFixed(0)} µs`,
    `  known keys not 2xx: during the flood ${describeNotOk(f)}; without it ${describeNotOk(q)}`,
    `  per round:          ${quiet.map((r, i) => `${((flooded[i]!.rps / r.rps) * 100).toFixed(0)} %`).join(', ')}`,
    `  auth cache after:   ${stats?.auth?.known ?? '?'} known, ${stats?.auth?.misses ?? '?'} misses; key index ${stats?.auth?.index ?? 'off'}; ` +
      `401s counted by the API: ${Object.entries(stats?.authRefusals ?? {})
        .map(([code, n]) => `${code} ${n.toLocaleString('en')}`)
        .join(', ')}`,
  ];
}

export function readCpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? 'unknown CPU';
    const cpus = (info.match(/^processor\s*:/gm) ?? []).length;
    return `${cpus} × ${model}`;
  } catch {
    return 'unknown CPU';
  }
}

// Run as a script; bench/register.ts imports the pieces above (dataset, API, load generator) without running it.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main().catch((err: unknown) => {
    process.stderr.write(`bench:p4 failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
