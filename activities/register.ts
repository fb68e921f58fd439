/** DC-1: the register-partitions activity, a one-line adapter over services/register/partitions.ts. */
import {
  ensureRegisterPartitions,
  PARTITIONS_SCHEDULE_ACTOR,
  vacuumClosedRegisterMonths,
  type EnsureResult,
} from '../services/register/partitions.js';
import type { ActivityDeps } from './deps.js';

export function registerActivities({ db }: ActivityDeps) {
  return {
    // Then the closed months' last rows vacuumed (issue 21: index-only DC-5 statistics); both idempotent, so a
    // retried activity repeats only what is left.
    ensureRegisterPartitions: async (input: { asOf: string }): Promise<EnsureResult & { vacuumed: string[] }> => {
      const asOf = new Date(input.asOf);
      const r = await ensureRegisterPartitions(db, asOf, PARTITIONS_SCHEDULE_ACTOR);
      return { ...r, vacuumed: await vacuumClosedRegisterMonths(db, asOf) };
    },
  };
}
