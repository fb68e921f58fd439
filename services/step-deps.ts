/**
 * What the workflows' process steps (services/<subject>/steps.ts, the mails) need from the process that runs
 * them. The worker hands in its own (activities/: the activity's log, a heartbeating mailer, the attempt from
 * Temporal's activity info); tests hand in theirs of the same shape.
 */
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { Config } from '../lib/config.js';
import type { Mailer } from '../notifications/mailer.js';

/** A log that takes a message and its fields (the activity's `log` on the worker). */
export interface StepLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface StepDeps {
  db: Db;
  mailer: Mailer;
  config: Pick<Config, 'publicUrl' | 'evidenceMaxBytes' | 'acmReportEmail'>;
  log: StepLog;
  /** For the workflows a step starts or reads (GT-11 breach assessment, the history archive). */
  temporalClient?: Client | undefined;
}

/** The attempt that runs a step (Temporal retries steps): its number, when it was scheduled, its task queue. */
export interface StepAttempt {
  attempt: number;
  scheduledAt: Date;
  taskQueue: string;
}
