/**
 * What the activities get (the worker's database, mailer, configuration and Temporal client) and what they hand
 * the services' steps: the activity's log, a heartbeating mailer, the running attempt.
 */
import { Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { Config } from '../lib/config.js';
import type { Mailer } from '../notifications/mailer.js';
import type { StepAttempt, StepDeps } from '../services/step-deps.js';

/** What the activities need; tests hand in the real ones (test database, SMTP capture, test client). */
export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'publicUrl' | 'evidenceMaxBytes' | 'smtp' | 'acmReportEmail' | 'allocation'> &
    Partial<Pick<Config, 'register'>>;
  /** For archiving workflow histories (compliance); without it, archiving fails non-retryably. */
  temporalClient?: Client;
}

/** For the steps that only record: the database, the Temporal client and the activity's log. */
export function recordingDeps({ db, temporalClient }: Pick<ActivityDeps, 'db' | 'temporalClient'>) {
  return { db, temporalClient, log } satisfies Partial<StepDeps>;
}

/**
 * The services' step dependencies from the activities': the activity's own log (its context, its logger) and a
 * mailer that heartbeats while it sends.
 */
export function stepDeps({ db, mailer, config, temporalClient }: ActivityDeps): StepDeps {
  return { db, mailer: heartbeatingMailer(mailer), config, temporalClient, log };
}

/** How often a mail activity heartbeats while its SMTP send is pending (MAIL_ACTIVITY's heartbeatTimeout is 10 s). */
const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Sends that heartbeat while they wait on SMTP: a worker that dies mid-send is noticed by Temporal within
 * the heartbeat timeout and the send retried elsewhere, instead of after the whole start-to-close timeout.
 */
export function heartbeatingMailer(mailer: Mailer): Mailer {
  return {
    from: mailer.from,
    close: () => mailer.close(),
    async send(mail) {
      let ctx: Context | undefined;
      try {
        ctx = Context.current();
      } catch {
        ctx = undefined; // not inside an activity
      }
      if (!ctx) return mailer.send(mail);
      const activity = ctx;
      activity.heartbeat();
      const timer = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        return await mailer.send(mail);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

/** The running activity's attempt (Temporal's activity info), for the steps that count or place their attempts. */
export function currentAttempt(): StepAttempt {
  const { attempt, currentAttemptScheduledTimestampMs, taskQueue } = Context.current().info;
  return { attempt, scheduledAt: new Date(currentAttemptScheduledTimestampMs), taskQueue };
}
