/**
 * The promise made to callers when an intake's workflow start fails (services/recovery/sweep.ts sweeps every
 * RECOVERY_EVERY_MS for rows older than INTAKE_GRACE_MS). Its own module so the intake services can name
 * it without importing the sweep that imports them.
 */
export const INTAKE_GRACE_MS = 10_000;
export const RECOVERY_EVERY_MS = 10_000;
/** Grace + one interval + time for the sweep itself. */
export const INTAKE_WORKFLOW_BOUND_MS = INTAKE_GRACE_MS + RECOVERY_EVERY_MS + 10_000;
export const INTAKE_WORKFLOW_BOUND_S = INTAKE_WORKFLOW_BOUND_MS / 1000;
