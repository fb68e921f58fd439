/** DC-1, issue 21: the register-partitions activity, a one-line adapter over services/register/partitions.ts. */
import {
  maintainRegisterMonths,
  PARTITIONS_SCHEDULE_ACTOR,
  type MaintainResult,
} from '../services/register/partitions.js';
import type { ActivityDeps } from './deps.js';

export function registerActivities({ db, config }: ActivityDeps) {
  return {
    ensureRegisterPartitions: (input: { asOf: string }): Promise<MaintainResult> =>
      maintainRegisterMonths(db, new Date(input.asOf), PARTITIONS_SCHEDULE_ACTOR, {
        partyDayIndexMonths: config.register?.partyDayIndexMonths,
      }),
  };
}
