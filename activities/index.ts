/**
 * Activities factory (STYLE.md): dependencies in, the activity functions out. Workflows import only the
 * TYPE (`proxyActivities<ReturnType<typeof createActivities>>`); the worker and tests call the factory
 * with real or test dependencies of the same shape.
 */
import { allocationActivities } from './allocation.js';
import { archiveActivities } from './archive.js';
import { breachActivities } from './breach.js';
import { caseActivities } from './cases.js';
import { caseNoticeActivities } from './case-notices.js';
import type { ActivityDeps } from './deps.js';
import { withActivityFailures } from './failures.js';
import { notificationActivities } from './notifications.js';
import { registerActivities } from './register.js';
import { retentionActivities } from './retention.js';
import { reviewActivities } from './reviews.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  // Failures retrying cannot mend are non-retryable and keep their domain code (activities/failures.ts).
  return withActivityFailures({
    ...caseActivities(deps),
    ...caseNoticeActivities(deps),
    ...notificationActivities(deps),
    ...reviewActivities(deps),
    ...archiveActivities(deps),
    ...breachActivities(deps),
    ...allocationActivities(deps),
    ...retentionActivities(deps),
    ...registerActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
