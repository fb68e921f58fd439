/** The doubt case's activities, by retry semantics (workflows/activity-options.ts). Types only: no I/O here. */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities/index.js';
import { DB_ACTIVITY, MAIL_ACTIVITY, NOTICE_ACTIVITY } from '../activity-options.js';

type Activities = ReturnType<typeof createActivities>;

export const db = proxyActivities<Activities>(DB_ACTIVITY);
/** Retried without an attempt limit: the GT-1 alert (contact.ts) tells the handler in time when contact is not achieved. */
export const mail = proxyActivities<Activities>(MAIL_ACTIVITY);
/** Notices to the reporter and the grid user: bounded retries, then the failure is recorded (never holds up the case). */
export const notices = proxyActivities<Activities>(NOTICE_ACTIVITY);
