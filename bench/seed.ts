/**
 * The case-load seed that bench:cluster and bench:faults share: one grid operator (with a doubt contact group and
 * a case-handler key), `parties` service providers (each with one member in its doubt contact group and a
 * p4-client key) and `connections` connections, each with an active interval-data mandate of party i % parties,
 * so the gate allows their reads until a doubt case blocks one (GT-2).
 */
import postgres from 'postgres';
import { DOUBT_CONTACT_GROUP } from '../db/schema/index.js';
import { generateApiKey } from '../lib/api-keys.js';
import { withCheckDigit } from '../lib/gs1.js';

const DAY = 86_400_000;

export const gln = (kind: number, i: number) => withCheckDigit(`87998${kind}${String(i).padStart(6, '0')}`);
export const eanOf = (i: number) => withCheckDigit(`8719${String(i).padStart(13, '0')}`);
export const partyMail = (p: number) => `gerede-twijfel-${p}@bench-party.example`;

export interface Seeded {
  operatorGln: string;
  /** `Bearer …` of the grid operator's case-handler key. */
  handlerKey: string;
  parties: Array<{ gln: string; p4Key: string }>;
}

export async function seedCaseLoad(url: string, opts: { parties: number; connections: number }): Promise<Seeded> {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  try {
    return await sql.begin(async (tx) => {
      const [op] = await tx<
        Array<{ id: string }>
      >`insert into parties (gln, name, roles) values (${gln(0, 1)}, 'Bench grid operator', ${tx.array(['grid_operator'])}) returning id`;
      const operatorId = op!.id;
      await tx`insert into contact_persons (party_id, contact_group, name, email) values (${operatorId}, ${DOUBT_CONTACT_GROUP}, 'Bench case handlers', 'gerede-twijfel@bench-operator.example')`;
      const partyIds: string[] = [];
      const parties: Seeded['parties'] = [];
      for (let p = 0; p < opts.parties; p++) {
        const [row] = await tx<
          Array<{ id: string }>
        >`insert into parties (gln, name, roles) values (${gln(2, p)}, ${`Bench service provider ${p}`}, ${tx.array(['service_provider'])}) returning id`;
        partyIds.push(row!.id);
        await tx`insert into contact_persons (party_id, contact_group, name, email) values (${row!.id}, ${DOUBT_CONTACT_GROUP}, ${`Doubt desk ${p}`}, ${partyMail(p)})`;
        const k = generateApiKey();
        await tx`insert into api_keys (key_hash, prefix, label, role, party_id) values (${k.hash}, ${k.prefix}, ${`bench p4-client ${p}`}, 'p4-client', ${row!.id})`;
        parties.push({ gln: gln(2, p), p4Key: `Bearer ${k.key}` });
      }
      const k = generateApiKey();
      await tx`insert into api_keys (key_hash, prefix, label, role, party_id) values (${k.hash}, ${k.prefix}, 'bench case handler', 'case-handler', ${operatorId})`;
      const eans = Array.from({ length: opts.connections }, (_, i) => eanOf(i));
      await tx`insert into connections (ean, grid_operator_id, grid_area, capacity_kw) select e, ${operatorId}, 'Bench-Area', 17.25 from unnest(${tx.array(eans)}::varchar[]) as e`;
      const from = new Date(Date.now() - 180 * DAY).toISOString();
      const to = new Date(Date.now() + 365 * DAY).toISOString();
      await tx`
        insert into mandates (party_id, connection_ean, data_kinds, purpose, valid_from, valid_to, history_included, granted_via,
                              granted_by_name, granted_by_is_grid_user, status, confirmed_at, created_by, created_at)
        select (${tx.array(partyIds)}::uuid[])[((x.n - 1) % ${opts.parties}) + 1], x.e, '{interval_data}', 'energy insight', ${from}::timestamptz,
               ${to}::timestamptz, false, 'portal', 'Bench grid user', true, 'active', ${from}::timestamptz, 'bench', ${from}::timestamptz
          from unnest(${tx.array(eans)}::varchar[]) with ordinality as x(e, n)`;
      return { operatorGln: gln(0, 1), handlerKey: `Bearer ${k.key}`, parties };
    });
  } finally {
    await sql.end();
  }
}
