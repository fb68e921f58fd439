/**
 * Names and payloads of the register-partitions workflow (workflows/register-partitions.ts), shared with its
 * Schedule (services/register/schedule.ts) and activity. Imported by workflow code: no Node built-ins, no I/O.
 */

/** The daily Schedule that creates the access register's months ahead, per deployment (task queue). */
export const registerPartitionsScheduleId = (taskQueue: string) => `register-partitions:${taskQueue}`;

export interface RegisterPartitionsResult {
  asOf: string;
  /** Months created by this run (partition names). */
  created: string[];
  /** The months that must exist at asOf, all of which do. */
  months: string[];
  /** Closed months vacuumed by this run (their last rows since autovacuum's last visit). */
  vacuumed: string[];
  /**
   * Closed months rewritten in connection order by this run (decisions/0019): rows, seconds of copy, indexes,
   * VACUUM and verification, and milliseconds of the swap (the register's lock).
   */
  compacted: Array<{ name: string; rows: number; seconds: number; swapMs: number }>;
  /** Months copied but not swapped in: the swap could not get its lock in time; the next run swaps them. */
  deferred: string[];
}
