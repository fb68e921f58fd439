/**
 * Migration 0007 on data written before it (issue 18, item 3): a database migrated up to 0006 holds blocks placed
 * through the side door (PUT /blocks/{caseId} under an id that is no case) next to a case's own block; then 0007
 * runs. A side-door block in force, and one lifted with its period released, are removed (nothing could ever lift
 * the first, the second changes no decision); one lifted without release keeps refusing its period (GT-8), detached
 * as a purged case's block is (case_id null, case_purged_at set); the case's block is untouched. Each orphan gets an
 * audit entry by migration:0007, on the intact hash chain; afterwards the database refuses a block without its case.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { runMigrations } from '../../db/migrate.js';
import { useDatabaseBefore } from '../helpers/index.js';
import { verifyAuditChain } from '../../db/repositories/audit.js';
import { createDb } from '../../db/client.js';

// An empty database migrated up to the migration under test, which the test runs after writing its rows.
const database = useDatabaseBefore('blocks_case_fk');

const gln = () => `87${String(Math.floor(Math.random() * 1e11)).padStart(11, '0')}`;

describe('migration 0007 on blocks written before it', () => {
  it('removes the side-door blocks that change nothing or can never end, detaches the one still closing its period, audits each', async () => {
    const { sql, url } = database;
    const [op] =
      await sql`insert into parties (gln, name, roles) values (${gln()}, 'Op', ${['grid_operator']}) returning id`;
    const [sp] =
      await sql`insert into parties (gln, name, roles) values (${gln()}, 'Sp', ${['service_provider']}) returning id`;
    const ean = `871${String(Math.floor(Math.random() * 1e14)).padStart(15, '0')}`;
    await sql`insert into connections (ean, grid_operator_id, grid_area, capacity_kw)
              values (${ean}, ${op!.id}, 'T', 17.25)`;
    const caseId = randomUUID();
    await sql`insert into doubt_cases (id, reference, grid_operator_id, party_id, connection_ean, channel, received_at,
                reporter_name, description, isma, status, contact_due_at, created_by)
              values (${caseId}, 'GT-2026-000001', ${op!.id}, ${sp!.id}, ${ean}, 'customer', now() - interval '2 days',
                'Klant', 'P4 zonder machtiging', false, 'blocked', now() + interval '1 day', 'api-key:x')`;
    const block = async (o: { caseId: string; endedAt: Date | null; retroactive: boolean; startedAt?: Date }) =>
      (
        await sql`insert into blocks (case_id, party_id, connection_ean, started_at, ended_at, lift_reason, retroactive)
                  values (${o.caseId}, ${sp!.id}, ${ean}, ${o.startedAt ?? new Date(Date.now() - 86_400_000)},
                    ${o.endedAt}, ${o.endedAt ? 'wrongful_block' : null}, ${o.retroactive})
                  returning id`
      )[0]!.id as string;
    const lifted = new Date(Date.now() - 3_600_000);
    const own = await block({
      caseId,
      endedAt: null,
      retroactive: false,
      startedAt: new Date(Date.now() - 2 * 86_400_000),
    });
    const activeOrphan = await block({ caseId: randomUUID(), endedAt: null, retroactive: false });
    const releasedOrphan = await block({ caseId: randomUUID(), endedAt: lifted, retroactive: true });
    const closingOrphanCase = randomUUID();
    const closingOrphan = await block({ caseId: closingOrphanCase, endedAt: lifted, retroactive: false });
    const ownBefore = (await sql`select * from blocks where id = ${own}`)[0]!;
    await sql`insert into audit_log (actor, action, entity_type, entity_id, data)
              values ('api-key:x', 'block.placed', 'block', ${activeOrphan}, '{}'::jsonb)`;

    await runMigrations(url); // every migration: 0007 and whatever follows it

    const rows = await sql`select * from blocks order by started_at`;
    expect(rows.map((r) => r.id).sort()).toEqual([own, closingOrphan].sort());
    const kept = rows.find((r) => r.id === closingOrphan)!;
    expect(kept).toMatchObject({ case_id: null, retroactive: false, lift_reason: 'wrongful_block' });
    expect(kept.ended_at.toISOString()).toBe(lifted.toISOString());
    expect(kept.case_purged_at).toBeInstanceOf(Date);
    const ownAfter = rows.find((r) => r.id === own)!;
    expect({ ...ownAfter, case_purged_at: undefined }).toEqual({ ...ownBefore, case_purged_at: undefined });
    expect(ownAfter.case_purged_at).toBeNull();

    const audit = await sql`select actor, action, entity_type, entity_id, data from audit_log
                             where actor = 'migration:0007' order by entity_id`;
    expect(audit).toHaveLength(3);
    const byBlock = new Map(audit.map((a) => [a.entity_id, a]));
    expect(byBlock.get(activeOrphan)).toMatchObject({
      entity_type: 'block',
      action: 'block.removed_without_case',
      data: { retroactive: false, endedAt: null, partyId: sp!.id, connectionEan: ean },
    });
    expect(byBlock.get(releasedOrphan)).toMatchObject({
      action: 'block.removed_without_case',
      data: { retroactive: true },
    });
    expect(byBlock.get(closingOrphan)).toMatchObject({
      action: 'block.detached_without_case',
      data: { caseId: closingOrphanCase, retroactive: false },
    });
    expect(byBlock.has(own)).toBe(false);

    const db = createDb(url, { max: 1 });
    try {
      expect((await verifyAuditChain(db.db)).firstBroken).toBeNull();
    } finally {
      await db.close();
    }
    // From here a block under an id that is no case is refused, and so is one with neither case nor purge.
    await expect(
      sql`insert into blocks (case_id, party_id, connection_ean, started_at)
          values (${randomUUID()}, ${sp!.id}, ${ean}, now())`,
    ).rejects.toThrow(/blocks_case_id_doubt_cases_id_fk/);
    await expect(
      sql`insert into blocks (case_id, party_id, connection_ean, started_at) values (null, ${sp!.id}, ${ean}, now())`,
    ).rejects.toThrow(/blocks_case_or_purged_ck/);
  });
});
