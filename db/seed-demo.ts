/**
 * Demonstration data for a fresh development start: grid operators, market parties with their CPR
 * doubt contact group (GT-10), grid users, connections with allocation history, mandates, and one
 * API key per role. Runs only on an empty database; the keys are returned (and printed once by the
 * caller) because only their hashes are stored.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client.js';
import {
  allocationMethods,
  apiKeys,
  connections,
  contactPersons,
  DOUBT_CONTACT_GROUP,
  gridUsers,
  mandates,
  parties,
  type Role,
} from './schema/index.js';
import { withCheckDigit } from '../lib/gs1.js';
import { generateApiKey } from '../lib/api-keys.js';
import { recordAudit } from './repositories/audit.js';

export interface DemoKey {
  role: Role;
  label: string;
  key: string;
}

/** The demo parties' GLNs (the development OIDC providers of scripts/start.ts speak for gln(1) and gln(2)). */
export const gln = (n: number) => withCheckDigit(`871000000${String(n).padStart(3, '0')}`);
const ean = (n: number) => withCheckDigit(`8716871200000${String(n).padStart(4, '0')}`);

// long: demo data written out row by row in one transaction
export async function seedDemo(db: Db): Promise<{ keys: DemoKey[] } | null> {
  return db.transaction(
    // long: demo data written out row by row in one transaction
    async (tx) => {
      // Serialise concurrent starts against one database (API and worker starting together).
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('seed-demo'))`);
      const existing = await tx.select({ id: parties.id }).from(parties).limit(1);
      if (existing.length > 0) return null;

      const inserted = await tx
        .insert(parties)
        .values([
          { gln: gln(1), name: 'Liander N.V.', roles: ['grid_operator'] },
          { gln: gln(2), name: 'Enexis Netbeheer B.V.', roles: ['grid_operator'] },
          { gln: gln(3), name: 'Stedin Netbeheer B.V.', roles: ['grid_operator'] },
          { gln: gln(10), name: 'Groene Stroom Leverancier B.V.', roles: ['supplier'] },
          { gln: gln(11), name: 'Polder Energie B.V.', roles: ['supplier'] },
          { gln: gln(20), name: 'WattInzicht (energie-app)', roles: ['service_provider'] },
          { gln: gln(30), name: 'Balans Programma B.V.', roles: ['balance_responsible_party'] },
        ])
        .returning();
      const byGln = (n: number) => inserted.find((p) => p.gln === gln(n))!;
      const [liander, enexis, stedin, groen, polder, wattinzicht, brp] = [1, 2, 3, 10, 11, 20, 30].map(byGln) as [
        (typeof inserted)[number],
        (typeof inserted)[number],
        (typeof inserted)[number],
        (typeof inserted)[number],
        (typeof inserted)[number],
        (typeof inserted)[number],
        (typeof inserted)[number],
      ];

      await tx.insert(contactPersons).values([
        {
          partyId: groen.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Anna de Vries',
          email: 'gerede-twijfel@groenestroom.example',
        },
        {
          partyId: groen.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Bram Jansen',
          email: 'privacy@groenestroom.example',
        },
        {
          partyId: polder.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Chantal Bakker',
          email: 'klantmandaat@polderenergie.example',
        },
        {
          partyId: wattinzicht.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Daan Visser',
          email: 'compliance@wattinzicht.example',
        },
        {
          partyId: liander.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Team Gerede Twijfel Liander',
          email: 'gerede-twijfel@liander.example',
        },
        {
          partyId: enexis.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Team Gerede Twijfel Enexis',
          email: 'gerede-twijfel@enexis.example',
        },
        {
          partyId: stedin.id,
          contactGroup: DOUBT_CONTACT_GROUP,
          name: 'Team Gerede Twijfel Stedin',
          email: 'gerede-twijfel@stedin.example',
        },
      ]);

      const users = await tx
        .insert(gridUsers)
        .values([
          { name: 'J. de Boer', email: 'j.deboer@example.org' },
          { name: 'M. Smit', email: 'm.smit@example.org' },
          { name: 'P. Mulder', email: 'p.mulder@example.org' },
        ])
        .returning();
      const [deBoer, smit, mulder] = users as [(typeof users)[number], (typeof users)[number], (typeof users)[number]];

      const conns = [
        {
          ean: ean(1),
          gridOperatorId: liander.id,
          gridArea: 'Liander-Gelderland',
          supplierId: groen.id,
          gridUserId: deBoer.id,
        },
        {
          ean: ean(2),
          gridOperatorId: liander.id,
          gridArea: 'Liander-Noord-Holland',
          supplierId: polder.id,
          gridUserId: smit.id,
        },
        {
          ean: ean(3),
          gridOperatorId: enexis.id,
          gridArea: 'Enexis-Brabant',
          supplierId: groen.id,
          gridUserId: mulder.id,
        },
        {
          ean: ean(4),
          gridOperatorId: stedin.id,
          gridArea: 'Stedin-Utrecht',
          supplierId: polder.id,
          gridUserId: deBoer.id,
          remoteReadingOptOut: true,
        },
      ];
      // iSMA on the supplier's request (DOMAIN.md, allocation basis), kept on the connection row as the run reads it.
      await tx.insert(connections).values(
        conns.map((c) => ({
          ...c,
          balanceResponsiblePartyId: brp.id,
          capacityKw: 17.25,
          allocationMethod: 'isma' as const,
          allocationBasis: 'supplier_isma_request' as const,
          allocationBasisPartyId: c.supplierId,
        })),
      );
      const since = new Date('2025-01-01T00:00:00Z');
      await tx.insert(allocationMethods).values(
        conns.map((c) => ({
          connectionEan: c.ean,
          method: 'isma' as const,
          effectiveFrom: since,
          basis: 'supplier_isma_request' as const,
          basisPartyId: c.supplierId,
          reason: 'demo: smart meter read remotely at the supplier’s request',
          recordedBy: 'seed-demo',
        })),
      );

      const validTo = new Date('2027-12-31T23:00:00Z');
      // Registered when they start: the demo's questions about the past are then not history (DC-2).
      await tx.insert(mandates).values([
        {
          partyId: wattinzicht.id,
          connectionEan: ean(1),
          dataKinds: ['interval_data', 'daily_registers'],
          purpose: 'energy insight app',
          validFrom: since,
          validTo,
          historyIncluded: false,
          grantedVia: 'portal',
          grantedByName: 'J. de Boer',
          grantedByIsGridUser: true,
          status: 'active',
          confirmedBy: 'declaration',
          createdAt: since,
        },
        {
          partyId: groen.id,
          connectionEan: ean(1),
          dataKinds: ['interval_data'],
          purpose: 'dynamic tariff',
          validFrom: since,
          validTo,
          historyIncluded: true,
          grantedVia: 'signed_document',
          grantedByName: 'J. de Boer',
          grantedByIsGridUser: true,
          status: 'active',
          confirmedBy: 'declaration',
          createdAt: since,
        },
        {
          partyId: wattinzicht.id,
          connectionEan: ean(3),
          dataKinds: ['interval_data'],
          purpose: 'energy insight app',
          validFrom: since,
          validTo,
          historyIncluded: false,
          grantedVia: 'portal',
          grantedByName: 'K. Mulder (household member)',
          grantedByIsGridUser: false,
          status: 'pending_confirmation',
          createdAt: since,
        },
      ]);

      // Signed acts (GT-5 votes and decisions, GT-11 decisions, rejections) name the key's holder: the people's
      // keys record one (fictional names).
      const keySpecs: Array<{
        role: Role;
        label: string;
        holderName?: string;
        partyId?: string;
        gridUserId?: string;
      }> = [
        { role: 'admin', label: 'demo admin' },
        { role: 'case-handler', label: 'demo case handler Liander', holderName: 'A. de Vries', partyId: liander.id },
        { role: 'case-handler', label: 'demo case handler Enexis', holderName: 'B. Bakker', partyId: enexis.id },
        { role: 'supplier', label: 'demo supplier Groene Stroom', partyId: groen.id },
        { role: 'supplier', label: 'demo service provider WattInzicht', partyId: wattinzicht.id },
        { role: 'p4-client', label: 'demo P4 client WattInzicht', partyId: wattinzicht.id },
        // A compliance officer belongs to a grid operator and sees its cases only; the branch-wide view is aggregates.
        {
          role: 'compliance',
          label: 'demo compliance officer Liander',
          holderName: 'C. de Jong',
          partyId: liander.id,
        },
        { role: 'branch-analyst', label: 'demo branch analyst' },
        { role: 'grid-user', label: 'demo grid user J. de Boer', gridUserId: deBoer.id },
      ];
      const keys: DemoKey[] = [];
      for (const spec of keySpecs) {
        const k = generateApiKey();
        await tx.insert(apiKeys).values({
          keyHash: k.hash,
          prefix: k.prefix,
          label: spec.label,
          holderName: spec.holderName ?? null,
          role: spec.role,
          partyId: spec.partyId ?? null,
          gridUserId: spec.gridUserId ?? null,
        });
        keys.push({ role: spec.role, label: spec.label, key: k.key });
      }
      await recordAudit(tx, {
        actor: 'system',
        action: 'demo_data_seeded',
        entityType: 'system',
        entityId: 'seed-demo',
        data: { parties: inserted.length, connections: conns.length, keys: keys.length },
      });
      return { keys };
    },
  );
}
