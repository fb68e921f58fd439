/**
 * Builders for allocation tests: parties, connections with effective-dated history written through the
 * repositories (as the API does), register days, and a profile file whose fractions on the test days
 * are round numbers, so expected volumes can be written down by hand.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import {
  allocationMethods,
  connections,
  meterReadingRejects,
  parties,
  readingImports,
  zeroAllocations,
  type Connection,
  type PartyRole,
} from '../../db/schema/index.js';
import { recordConnectionEvent } from '../../db/repositories/connections.js';
import {
  recordAllocationBasis,
  startZeroAllocation,
  endZeroAllocation,
  switchToProfileAllocation,
} from '../../db/repositories/allocation.js';
import type { AllocationBasisKind } from '../../domain/allocation.js';
import { writeRegisters } from '../../db/repositories/reading-days.js';
import { loadProfileFile } from '../../services/allocation/runs.js';
import { allocationDay, QUARTER_HOUR_MS } from '../../domain/allocation.js';
import { yearDays } from '../../domain/allocation-profiles.js';
import { withCheckDigit } from '../../lib/gs1.js';

const ADMIN = { actor: 'test', actorRole: 'admin', actorPartyId: null };
let seq = 0;
const tag = String(process.pid % 10000).padStart(4, '0');
export const gln = () => withCheckDigit(`86${tag}${String(++seq).padStart(6, '0')}`);
export const ean = () => withCheckDigit(`871${tag}${String(++seq).padStart(10, '0')}`);

export async function party(db: Db, role: PartyRole, name = `${role} ${seq + 1}`) {
  const [p] = await db
    .insert(parties)
    .values({ gln: gln(), name, roles: [role] })
    .returning();
  return p!;
}

export async function connection(
  db: Db,
  o: {
    gridOperatorId: string;
    supplierId: string | null;
    brpId: string | null;
    gridArea?: string;
    optOut?: boolean;
    category?: string;
    annualKwh?: number;
    feedInCategory?: string;
    annualFeedInKwh?: number;
    capacityKw?: number;
    /**
     * The allocation basis since ever (AL-4; null: none, so profile). Default the customer's consent, which a
     * supplier switch leaves in force; a supplier_isma_request is the initial supplier's.
     */
    basis?: AllocationBasisKind | null;
  },
): Promise<Connection> {
  const [c] = await db
    .insert(connections)
    .values({
      ean: ean(),
      gridOperatorId: o.gridOperatorId,
      gridArea: o.gridArea ?? 'Area-A',
      supplierId: o.supplierId,
      balanceResponsiblePartyId: o.brpId,
      capacityKw: o.capacityKw ?? 17.25,
      remoteReadingOptOut: o.optOut ?? false,
      profileCategory: o.category ?? 'T1',
      annualStandardVolumeKwh: o.annualKwh ?? 3000,
      feedInProfileCategory: o.feedInCategory ?? 'T1',
      annualStandardFeedInKwh: o.annualFeedInKwh ?? 0,
    })
    .returning();
  const kind = o.basis === undefined ? 'customer_consent' : o.basis;
  if (kind !== null) await basis(db, c!.ean, new Date(0), kind);
  return c!;
}

/** Record an iSMA basis from `effectiveFrom` (a supplier_isma_request: the supplier of record's then). */
export async function basis(
  db: Db,
  connectionEan: string,
  effectiveFrom: Date,
  kind: AllocationBasisKind,
): Promise<void> {
  await recordAllocationBasis(db, {
    ...ADMIN,
    connectionEan,
    method: 'isma',
    effectiveFrom,
    basis: kind,
    supplierId: null,
    reference: kind === 'legal_provision' ? 'Energiewet (test)' : null,
    reason: 'test',
  });
}

/** Registers of one day: start value + per-quarter-hour increments; positions for which `unread` holds are null. */
export function registers(
  day: string,
  start: number,
  step: (qh: number) => number,
  unread: (position: number) => boolean = () => false,
): Array<number | null> {
  const n = allocationDay(day).quarterHours;
  const out: Array<number | null> = [start];
  let v = start;
  for (let qh = 1; qh <= n; qh++) {
    v += step(qh);
    out.push(v);
  }
  return out.map((x, i) => (unread(i) ? null : x));
}

/** Write a day's registers (both directions) as the importers do after validation. */
export async function readingsDay(
  db: Db,
  connectionEan: string,
  day: string,
  offtake: Array<number | null>,
  feedIn: Array<number | null>,
): Promise<void> {
  const d = allocationDay(day);
  const rows = offtake.map((v, i) => ({
    readAt: new Date(d.start.getTime() + i * QUARTER_HOUR_MS),
    registerWh: v,
    feedInRegisterWh: feedIn[i] ?? null,
  }));
  await writeRegisters(
    db,
    connectionEan,
    rows.filter((r) => r.registerWh !== null || r.feedInRegisterWh !== null),
  );
}

export async function rejectRecorded(db: Db, connectionEan: string, day: string): Promise<void> {
  const [imp] = await db
    .insert(readingImports)
    .values({ source: 'bulk', actor: 'test', startedAt: new Date(), finishedAt: new Date(), summary: {} })
    .returning();
  await db.insert(meterReadingRejects).values({
    importId: imp!.id,
    day,
    connectionEan,
    register: 'offtake',
    code: 'register_decreased',
    message: 'test',
  });
}

/** Profile allocation from `effectiveFrom` (AL-4; iSMA: `basis`). */
export async function profileFrom(db: Db, connectionEan: string, effectiveFrom: Date): Promise<void> {
  await recordAllocationBasis(db, {
    ...ADMIN,
    connectionEan,
    method: 'profile',
    effectiveFrom,
    basis: null,
    supplierId: null,
    reference: null,
    reason: 'test',
  });
}

export async function supplierSwitch(
  db: Db,
  connectionEan: string,
  at: Date,
  newSupplierGln: string,
  newBrpGln?: string,
): Promise<void> {
  await recordConnectionEvent(
    db,
    ADMIN,
    connectionEan,
    {
      kind: 'supplier_switch',
      effectiveAt: at,
      newSupplierGln,
      ...(newBrpGln ? { newBalanceResponsiblePartyGln: newBrpGln } : {}),
    },
    new Date(at.getTime() + 1000),
  );
}

/** An iSMA doubt case's '0' values (GT-4/AL-6), optionally ended ("not demonstrated": profile from `end`). */
export async function zeroPeriod(
  db: Db,
  connectionEan: string,
  start: Date,
  end?: { at: Date; notDemonstrated: boolean },
): Promise<string> {
  const caseId = crypto.randomUUID();
  await startZeroAllocation(db, { ...ADMIN, caseId, connectionEan, at: start });
  if (end?.notDemonstrated) {
    await switchToProfileAllocation(db, { ...ADMIN, caseId, connectionEan, effectiveFrom: end.at });
    await endZeroAllocation(db, { ...ADMIN, caseId, at: end.at, reason: 'profile_allocation' });
  } else if (end) await endZeroAllocation(db, { ...ADMIN, caseId, at: end.at, reason: 'mandate_accepted' });
  return caseId;
}

export async function clearZero(db: Db, caseId: string): Promise<void> {
  await db.delete(zeroAllocations).where(eq(zeroAllocations.caseId, caseId));
  await db.delete(allocationMethods).where(eq(allocationMethods.caseId, caseId));
}

/**
 * A profile file for `year` in the sector's layout: on `days` every quarter-hour of each category has the
 * given fraction (e.g. 0.00001: 3000 kWh → 30 Wh per quarter-hour); the rest of the year shares what is left.
 */
export function profileFile(year: number, days: string[], perQuarterHour: Record<string, string>): string {
  const categories = Object.keys(perQuarterHour);
  const all = yearDays(year);
  const special = all.filter((d) => days.includes(d.day)).reduce((s, d) => s + d.quarterHours, 0);
  const other = all.reduce((s, d) => s + d.quarterHours, 0) - special;
  const rest = categories.map((c) => ((1 - Number(perQuarterHour[c]) * special) / other).toFixed(15));
  const lines = [`Datum;${categories.join(';')}`];
  for (const d of all) {
    for (let q = 0; q < d.quarterHours; q++) {
      const values = days.includes(d.day) ? categories.map((c) => perQuarterHour[c]!) : rest;
      lines.push(`${d.day} q${q + 1};${values.map((v) => v.replace('.', ',')).join(';')}`);
    }
  }
  return lines.join('\n');
}

export async function loadTestProfiles(
  db: Db,
  year: number,
  days: string[],
  perQuarterHour: Record<string, string> = { T1: '0.00001', T2: '0.00002' },
): Promise<string> {
  const set = await loadProfileFile(db, ADMIN, year, profileFile(year, days, perQuarterHour), `test-${year}`);
  return set.id;
}
