import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { Config } from '../lib/config.js';
import type { Mailer } from '../notifications/mailer.js';

/** What the activities need; tests hand in the real ones (test database, SMTP capture, test client). */
export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'publicUrl' | 'evidenceMaxBytes' | 'smtp' | 'acmReportEmail' | 'allocation'>;
  /** For archiving workflow histories (compliance); without it, archiving fails non-retryably. */
  temporalClient?: Client;
}
