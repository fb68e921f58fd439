/**
 * Activities factory (STYLE.md): dependencies in, the activity functions out. Workflows import only the
 * TYPE (`proxyActivities<ReturnType<typeof createActivities>>`); the worker and tests call the factory
 * with real or test dependencies of the same shape.
 */
import { allocationActivities } from './allocation.js';
import { archiveActivities } from './archive.js';
import { caseActivities } from './cases.js';
import type { ActivityDeps } from './deps.js';
import { notificationActivities } from './notifications.js';
import { reviewActivities } from './reviews.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...caseActivities(deps),
    ...notificationActivities(deps),
    ...reviewActivities(deps),
    ...archiveActivities(deps),
    ...allocationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
