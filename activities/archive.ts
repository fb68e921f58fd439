/**
 * Compliance archive activities (services/cases/archive.ts): started by the closing case workflow, run by the
 * archive workflow. Archiving is retried while the case run is still closing (StillRunning, an ordinary retry of
 * the archive workflow's policy); without a Temporal client it fails at once (ArchiveUnavailable).
 */
import {
  ARCHIVE_STILL_RUNNING,
  ARCHIVE_UNAVAILABLE,
  archiveCaseHistory,
  scheduleHistoryArchive,
  type ArchiveInput,
} from '../services/cases/archive.js';
import { currentAttempt, recordingDeps, type ActivityDeps } from './deps.js';
import { failingAs } from './failures.js';

export function archiveActivities(activityDeps: ActivityDeps) {
  const deps = recordingDeps(activityDeps);
  return {
    /** Idempotent by the archive workflow's id; on this activity's task queue. */
    scheduleHistoryArchive: (input: ArchiveInput) => scheduleHistoryArchive(deps, input, currentAttempt().taskQueue),
    archiveCaseHistory: failingAs(
      {
        [ARCHIVE_STILL_RUNNING]: { type: 'StillRunning', retryable: true },
        [ARCHIVE_UNAVAILABLE]: { type: 'ArchiveUnavailable', retryable: false },
      },
      (input: ArchiveInput) => archiveCaseHistory(deps, input),
    ),
  };
}
