/**
 * Migration 0006 on data written before it (issue 18, items 5 and 8): a database migrated up to 0005 gets rows as
 * the code of then wrote them, then 0006 runs. Who confirmed each mandate (DC-3, GT-8b: the grid user's act, or the
 * party's declaration), the roles of signed rows, the electorate of an existing review (its signal holders, as its
 * running workflow counts), and compliance keys without a grid operator becoming branch analysts, each change audited
 * on the intact hash chain.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { runMigrations } from '../../db/migrate.js';
import { useDatabaseBefore } from '../helpers/index.js';
import { verifyAuditChain } from '../../db/repositories/audit.js';
import { createDb } from '../../db/client.js';

// An empty database migrated up to the migration under test, which the test runs after writing its rows.
const database = useDatabaseBefore('signatures_scopes');

const gln = () => `87${String(Math.floor(Math.random() * 1e11)).padStart(11, '0')}`;

describe('migration 0006 on rows written before it', () => {
  it('fills who confirmed, the signers’ roles, the review electorate, and re-roles compliance keys without an operator', async () => {
    const { sql, url } = database;
    const [op] =
      await sql`insert into parties (gln, name, roles) values (${gln()}, 'Op', ${['grid_operator']}) returning id`;
    const [op2] =
      await sql`insert into parties (gln, name, roles) values (${gln()}, 'Op 2', ${['grid_operator']}) returning id`;
    const [sp] =
      await sql`insert into parties (gln, name, roles) values (${gln()}, 'Sp', ${['service_provider']}) returning id`;
    const [gu] = await sql`insert into grid_users (name) values ('J. de Boer') returning id`;
    const ean = `871${String(Math.floor(Math.random() * 1e14)).padStart(15, '0')}`;
    await sql`insert into connections (ean, grid_operator_id, grid_area, capacity_kw, grid_user_id)
              values (${ean}, ${op!.id}, 'T', 17.25, ${gu!.id})`;
    const key = async (role: string, partyId: string | null, holder: string | null, gridUserId: string | null = null) =>
      (
        await sql`insert into api_keys (key_hash, prefix, label, holder_name, role, party_id, grid_user_id)
                  values (${randomBytes(32).toString('hex')}, 'gt_x', ${`label ${role}`}, ${holder}, ${role}, ${partyId}, ${gridUserId})
                  returning id`
      )[0]!.id as string;
    const handler = await key('case-handler', op!.id, 'Anna de Vries');
    const officer = await key('privacy-officer', op!.id, 'M. Visser');
    const gridUserKey = await key('grid-user', null, null, gu!.id);
    const looseCompliance = await key('compliance', null, null);
    const boundCompliance = await key('compliance', op!.id, 'C. de Jong');

    const mandate = async (o: { byGridUser: boolean; confirmed: boolean; status: string; createdBy: string }) =>
      (
        await sql`insert into mandates (party_id, connection_ean, data_kinds, purpose, valid_from, valid_to, granted_via,
                    granted_by_name, granted_by_is_grid_user, status, confirmed_at, created_by)
                  values (${sp!.id}, ${ean}, ${['interval_data']}, 'p', now() - interval '1 day', now() + interval '1 year', 'portal',
                    'X', ${o.byGridUser}, ${o.status}, ${o.confirmed ? new Date() : null}, ${o.createdBy})
                  returning id`
      )[0]!.id as string;
    const declared = await mandate({ byGridUser: true, confirmed: true, status: 'active', createdBy: 'api-key:x' });
    const confirmedByUser = await mandate({
      byGridUser: false,
      confirmed: true,
      status: 'active',
      createdBy: 'api-key:x',
    });
    const portal = await mandate({
      byGridUser: true,
      confirmed: true,
      status: 'active',
      createdBy: `api-key:${gridUserKey}`,
    });
    const pending = await mandate({
      byGridUser: false,
      confirmed: false,
      status: 'pending_confirmation',
      createdBy: 'x',
    });

    const reviewId = randomUUID();
    await sql`insert into improvement_reviews (id, party_id, opened_at, window_days, signals_at_open, threshold, follow_up_days,
                status, decision, decision_reason, decided_by, decided_by_name, decided_at)
              values (${reviewId}, ${sp!.id}, now(), 30, 2, 2, 30, 'awaiting_decision', 'report', 'r', ${`api-key:${handler}`},
                'Anna de Vries', now())`;
    for (const g of [op!.id, op!.id])
      await sql`insert into review_signals (review_id, kind, signal_id, grid_operator_id, received_at)
                values (${reviewId}, 'case', ${randomUUID()}, ${g}, now())`;
    await sql`insert into review_votes (review_id, grid_operator_id, agree, reason, voted_by, voted_by_name, voted_at)
              values (${reviewId}, ${op!.id}, true, 'r', ${`api-key:${handler}`}, 'label case-handler', now())`;

    await runMigrations(url);

    const confirmedBy = Object.fromEntries(
      (await sql`select id, confirmed_by from mandates`).map((r) => [r.id as string, r.confirmed_by as string | null]),
    );
    expect(confirmedBy).toEqual({
      [declared]: 'declaration',
      [confirmedByUser]: 'grid_user',
      [portal]: 'grid_user',
      [pending]: null,
    });
    const [review] = await sql`select electorate, decided_by_role from improvement_reviews where id = ${reviewId}`;
    // The review was proposed before the electorate was recorded: its signal holders, as its workflow counts.
    expect(review).toEqual({ electorate: [op!.id], decided_by_role: 'case-handler' });
    expect(op2).toBeDefined();
    const [vote] = await sql`select voted_by_role, voted_by_name from review_votes where review_id = ${reviewId}`;
    // The role is filled in; the name stays as it was signed then.
    expect(vote).toEqual({ voted_by_role: 'case-handler', voted_by_name: 'label case-handler' });

    const roles = Object.fromEntries(
      (await sql`select id, role from api_keys`).map((r) => [r.id as string, r.role as string]),
    );
    expect(roles[looseCompliance]).toBe('branch-analyst');
    expect(roles[boundCompliance]).toBe('compliance');
    expect(roles[officer]).toBe('privacy-officer');
    const entries =
      await sql`select actor, action, entity_id, data from audit_log where action = 'api_key.role_changed'`;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'migration:0006',
      entity_id: looseCompliance,
      data: { from: 'compliance', to: 'branch-analyst' },
    });
    const { db, close } = createDb(url, { max: 1 });
    try {
      expect((await verifyAuditChain(db)).firstBroken).toBeNull();
    } finally {
      await close();
    }
  });
});
