/**
 * The API process of `npm run bench:p4`, started as a child so that its peak memory (VmHWM) can be
 * read from /proc. It is the real application (buildApp) plus one bare route that answers a constant:
 * the ceiling of HTTP on this machine. The bare route takes the same request as the gate (POST with the
 * same JSON body, parsed by Fastify) but no auth, validation, database or register.
 *
 * Prints `listening <port>` on stdout when ready; exits on SIGTERM.
 */
import { buildApp } from '../api/app.js';
import { createDb } from '../db/client.js';
import { loadConfigOrExit } from '../lib/config.js';
import { gateStats } from '../api/p4-gate.js';
import { authRefusals } from '../lib/observability/metrics.js';

const config = loadConfigOrExit();
if (!config.database.url) {
  process.stderr.write('DATABASE_URL is required\n');
  process.exit(78);
}
const { db, sql, probe, close } = createDb(config.database.url, { max: config.database.poolMax });
// Bench-only tuning knobs for the gate's batching (the defaults are what production runs).
const knob = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const app = await buildApp({
  config,
  db,
  sql,
  databaseProbe: probe, // as server.ts: the hang guard's timer is on the gate's path too
  p4Gate: {
    maxBatch: knob('BENCH_GATE_BATCH'),
    concurrency: knob('BENCH_GATE_CONCURRENCY'),
    lingerMs: knob('BENCH_GATE_LINGER_MS'),
    lingerBatch: knob('BENCH_GATE_LINGER_BATCH'),
  },
});

const CONSTANT = { decision: 'allowed', reasonCode: 'bench_constant' };
app.post('/bench/bare', { config: { public: true }, schema: { hide: true } }, async () => CONSTANT);
app.get('/bench/stats', { config: { public: true }, schema: { hide: true } }, async () => ({
  ...gateStats,
  auth: app.auth.resolver.sizes(),
  authRefusals: authRefusals(),
  memory: process.memoryUsage(),
}));

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void app
    .close()
    .then(close)
    .then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
});
