/**
 * Issue 21: the gate's statement (decideAndRegister) is planned a few times per connection and then runs on its
 * generic plan, whatever the batch size. Its arrays travel as one-row sub-selects, so the planner's row estimate
 * does not depend on their length; with the arrays as plain parameters, every batch of fewer than about ten
 * requests — an idle or lightly loaded gate, most of the day — was planned again (about 2 ms of PostgreSQL CPU,
 * several times the execution).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createDb } from '../../db/client.js';
import { decideAndRegister } from '../../db/repositories/access-register.js';
import { freshDatabase, type FreshDatabase } from '../helpers/index.js';
import { newEan } from './fixtures.js';

let fresh: FreshDatabase;
beforeAll(async () => {
  fresh = await freshDatabase('gate_plan');
});
afterAll(async () => fresh?.drop());

describe('the gate statement (issue 21)', () => {
  it('runs on its generic plan after the first executions, also for batches of one', async () => {
    // One connection, so that every execution and the check below see the same prepared statement.
    const handle = createDb(fresh.url, { max: 1 });
    try {
      const now = Date.now();
      for (let k = 0; k < 12; k++) {
        // Unknown connections: decided as not found, nothing registered, the same statement planned and run.
        const outcome = await decideAndRegister(
          handle.sql,
          [
            {
              partyId: randomUUID(),
              connectionEan: newEan(),
              dataKind: 'interval_data',
              from: new Date(now - 86_400_000),
              to: new Date(now - 3_600_000),
              requestId: `plan-${k}`,
            },
          ],
          now,
        );
        expect(outcome).toEqual([{ kind: 'connection_not_found' }]);
      }
      const plans = await handle.sql<Array<{ generic: number; custom: number }>>`
        select generic_plans::int as generic, custom_plans::int as custom
          from pg_prepared_statements
         where statement like '%insert into access_register%' and statement not like '%pg_prepared_statements%'`;
      expect(plans).toHaveLength(1);
      // PostgreSQL plans custom for the first five executions, then compares; from then on, generic only.
      expect(plans[0]!.custom).toBeLessThanOrEqual(5);
      expect(plans[0]!.generic).toBeGreaterThanOrEqual(7);
    } finally {
      await handle.close();
    }
  });
});
