import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('configuration', () => {
  it('has working defaults for a local start', () => {
    const cfg = loadConfig({});
    expect(cfg.port).toBe(3000);
    expect(cfg.database.url).toBeUndefined();
    expect(cfg.temporal.address).toBeUndefined();
    expect(cfg.smtp.url).toBeUndefined();
    expect(cfg.temporal.namespace).toBe('default');
    expect(cfg.seedDemo).toBe(true);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['TEMPORAL_ADDRESS', 'https://my-ns.tmprl.cloud'],
    ['SMTP_URL', 'http://mail.example'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['SEED_DEMO', 'maybe'],
    ['MAIL_FROM', 'not-an-address'],
    ['REPEAT_OFFENDER_SCHEDULE_EVERY', 'hourly'],
    ['REPEAT_OFFENDER_AGREEMENT_RULE', 'most'],
    ['EMBEDDED_PG_PORT', '0'],
    ['WORKER_MAX_CACHED_WORKFLOWS', '1'],
    ['WORKER_MAX_CONCURRENT_ACTIVITIES', '0'],
  ])('rejects %s=%s with a ConfigError naming the variable', (variable, value) => {
    const err = configErrorOf({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
    expect(err.message).toContain('expected');
  });

  it('requires the mTLS certificate and key together', () => {
    expect(configErrorOf({ TEMPORAL_TLS_CERT_PATH: '/x/client.pem' }).variable).toBe('TEMPORAL_TLS_KEY_PATH');
    expect(configErrorOf({ TEMPORAL_TLS_KEY_PATH: '/x/client.key' }).variable).toBe('TEMPORAL_TLS_CERT_PATH');
  });

  it('bounds the worker by default and keeps its workflow task slots within the cache', () => {
    expect(loadConfig({}).worker).toEqual({
      maxCachedWorkflows: 100,
      maxConcurrentWorkflowTasks: 10,
      maxConcurrentActivities: 20,
      workflowHeapMb: 128,
    });
    expect(loadConfig({ WORKER_WORKFLOW_HEAP_MB: '0' }).worker.workflowHeapMb).toBe(0);
    expect(configErrorOf({ WORKER_WORKFLOW_HEAP_MB: '32' }).variable).toBe('WORKER_WORKFLOW_HEAP_MB');
    const err = configErrorOf({ WORKER_MAX_CACHED_WORKFLOWS: '20', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40' });
    expect(err.variable).toBe('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS');
    expect(err.message).toContain('at most WORKER_MAX_CACHED_WORKFLOWS (20)');
    expect(
      loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '20', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '20' }).worker
        .maxConcurrentWorkflowTasks,
    ).toBe(20);
  });

  it('requires PUBLIC_URL and ACM_REPORT_EMAIL in production, so mails never point at a worker host', () => {
    // The payload codec's key is required in production too (test/unit/payload-codec.test.ts).
    const codecKeys = { TEMPORAL_CODEC_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
    const prod = { NODE_ENV: 'production', ACM_REPORT_EMAIL: 'meldingen@acm.example', ...codecKeys };
    expect(configErrorOf(prod).variable).toBe('PUBLIC_URL');
    expect(configErrorOf({ NODE_ENV: 'production', PUBLIC_URL: 'https://x.example', ...codecKeys }).variable).toBe(
      'ACM_REPORT_EMAIL',
    );
    expect(loadConfig({ ...prod, PUBLIC_URL: 'https://twijfel.example' }).publicUrl).toBe('https://twijfel.example');
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
  });

  it('never echoes a database password in the error', () => {
    const err = configErrorOf({ DATABASE_URL: 'mysql://app:s3cret@db.example/x' });
    expect(err.message).not.toContain('s3cret');
  });

  it('loadConfigOrExit prints one line and exits 78 on a bad value', () => {
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./lib/config.ts').then((m) => { m.loadConfigOrExit(); console.log('started'); })",
      ],
      { env: { ...process.env, PORT: 'eighty' }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(res.status).toBe(78);
    expect(res.stdout).not.toContain('started');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('PORT');
  });
});

/** The variables lib/config.ts reads: every `(env, 'NAME'` call, however it is formatted. */
function configVariables(): Set<string> {
  const source = readFileSync(new URL('../../lib/config.ts', import.meta.url), 'utf8');
  return new Set([...source.matchAll(/\(\s*env,\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!));
}

describe('docs/operations.md configuration table', () => {
  it('documents every environment variable lib/config.ts reads, and nothing it does not', () => {
    const read = configVariables();
    expect(read.size).toBeGreaterThan(20);
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const section = doc.split('\n## Configuration\n')[1]?.split('\n## ')[0] ?? '';
    const documented = new Set([...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]!));
    expect(
      [...read].filter((v) => !documented.has(v)),
      'missing from docs/operations.md',
    ).toEqual([]);
    expect(
      [...documented].filter((v) => !read.has(v)),
      'documented but not read',
    ).toEqual([]);
  });
});

describe('.env.example', () => {
  it('lists every environment variable lib/config.ts reads, and nothing it does not', () => {
    const read = configVariables();
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    expect(
      [...read].filter((v) => !listed.has(v)),
      'missing from .env.example',
    ).toEqual([]);
    expect(
      [...listed].filter((v) => !read.has(v)),
      'listed but not read',
    ).toEqual([]);
  });
});
