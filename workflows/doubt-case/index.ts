/** The doubt-case workflow (process.ts) and the figures tests steer its timers by. */
export { doubtCaseWorkflow, JUDGEMENT_REMINDER_INTERVAL_MS } from './process.js';
export { CONTACT_ALERT_LEAD_MS } from './contact.js';
