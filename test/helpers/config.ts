/**
 * A Config for tests pointing at the services of test/global-setup.ts; `env` overrides any variable.
 */
import { createHash } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../lib/config.js';

/**
 * The payload codec key of the tests: explicit (not the development default), so a test that rotates or removes it
 * says so in its own overrides. Derived from a label: the same in every test process of a run.
 */
export const TEST_CODEC_KEY_ID = 'test-1';
export const testCodecKey = (label: string): string =>
  createHash('sha256').update(`gerede-twijfel test payload key ${label}`).digest('base64');

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    PORT: '0',
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    SMTP_URL: inject('smtpUrl'),
    SEED_DEMO: 'false',
    TEMPORAL_CODEC_KEYS: `${TEST_CODEC_KEY_ID}:${testCodecKey(TEST_CODEC_KEY_ID)}`,
    TEMPORAL_CODEC_KEY_ID: TEST_CODEC_KEY_ID,
    // In-process API tests check what actions do, not their timing on a loaded machine: the 1.5 s deadline
    // (issue 20) is held by test/faults/idempotent-actions.test.ts on the spawned API with its default.
    CASE_ACTION_DEADLINE_MS: '60000',
    // Tests insert keys straight into PostgreSQL and use them at once: every key index miss reloads the index
    // (coalesced). The 1 s bound of production is held by test/core/machine-auth.test.ts.
    AUTH_KEY_INDEX_MISS_REFRESH_MS: '0',
    ...env,
  });
}
