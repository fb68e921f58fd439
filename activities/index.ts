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
import { withContactAttempts } from './contact-attempts.js';
import type { ActivityDeps } from './deps.js';
import { withActivityFailures } from './failures.js';
import { notificationActivities } from './notifications.js';
import { reviewActivities } from './reviews.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  const notifications = notificationActivities(deps);
  // Failures retrying cannot mend are non-retryable and keep their domain code (activities/failures.ts).
  return withActivityFailures({
    ...caseActivities(deps),
    ...caseNoticeActivities(deps),
    ...notifications,
    // GT-1: every contact attempt and its last error on the case; an empty doubt contact group alerts at once.
    sendContactEmail: withContactAttempts(deps, notifications.sendContactEmail),
    ...reviewActivities(deps),
    ...archiveActivities(deps),
    ...breachActivities(deps),
    ...allocationActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
