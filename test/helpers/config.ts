/**
 * A Config for tests pointing at the services of test/global-setup.ts; `env` overrides any variable.
 */
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../lib/config.js';

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
    // In-process API tests check what actions do, not their timing on a loaded machine: the 1.5 s deadline
    // (issue 20) is held by test/faults/idempotent-actions.test.ts on the spawned API with its default.
    CASE_ACTION_DEADLINE_MS: '60000',
    ...env,
  });
}
