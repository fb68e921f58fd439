/**
 * The allocation run on small hand-made days (AL-1 … AL-6, GT-4), against real PostgreSQL: every expected
 * aggregate below is written down by hand from the day's facts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, asc, eq } from 'drizzle-orm';
import { createDb, type DbHandle } from '../../db/client.js';
import { allocationAggregates, allocationCells, allocationRuns } from '../../db/schema/index.js';
import { requestRun, storedSegments } from '../../db/repositories/allocation-runs.js';
import { computeAllocationRun, driverOf } from '../../services/allocation/runs.js';
import { allocationDay, quarterHourStart } from '../../domain/allocation.js';
import { freshDatabase, type FreshDatabase } from '../helpers/index.js';
import {
  basis,
  connection,
  loadTestProfiles,
  party,
  profileFrom,
  readingsDay,
  registers,
  rejectRecorded,
  supplierSwitch,
  zeroPeriod,
} from './fixtures.js';

const DAY = '2025-03-12'; // a Wednesday, 96 quarter-hours, CET
const DST_DAY = '2025-03-30'; // 92 quarter-hours
const OPTIONS = { minimumConnections: 10, generatedProfiles: false };
const ADMIN = { actor: 'test', actorRole: 'admin', actorPartyId: null };

let fresh: FreshDatabase;
let h: DbHandle;
beforeAll(async () => {
  fresh = await freshDatabase('allocation_run');
  h = createDb(fresh.url, { max: 4 });
  await loadTestProfiles(h.db, 2025, [DAY, DST_DAY]);
});
afterAll(async () => {
  await h?.close();
  await fresh?.drop();
});

async function run(gridOperatorId: string, day: string, key = `${gridOperatorId}:${day}:${Math.random()}`) {
  const { run } = await requestRun(h.db, ADMIN, {
    gridOperatorId,
    day,
    trigger: 'request',
    requestKey: key,
    reason: 'test',
  });
  return computeAllocationRun(h.db, driverOf(h.db), run.id, OPTIONS);
}

/** The run's aggregates as cell label → direction → qh → {volume, counts}. */
async function aggregates(runId: string, labels: Map<number, string>) {
  const rows = await h.db
    .select()
    .from(allocationAggregates)
    .where(eq(allocationAggregates.runId, runId))
    .orderBy(asc(allocationAggregates.qh));
  const out: Record<
    string,
    Record<
      string,
      Record<number, { wh: string; n: number; measured: number; profile: number; estimated: number; zero: number }>
    >
  > = {};
  for (const r of rows) {
    const cell = labels.get(r.cellId) ?? `cell ${r.cellId}`;
    ((out[cell] ??= {})[r.direction] ??= {})[r.qh] = {
      wh: String(Number(r.volumeWh)),
      n: r.connections,
      measured: r.measured,
      profile: r.profile,
      estimated: r.estimated,
      zero: r.zero,
    };
  }
  return out;
}

async function cellLabels(
  named: Record<string, { brp: string; supplier: string; area: string }>,
): Promise<Map<number, string>> {
  const labels = new Map<number, string>();
  for (const [label, c] of Object.entries(named)) {
    const [row] = await h.db
      .select()
      .from(allocationCells)
      .where(
        and(
          eq(allocationCells.balanceResponsiblePartyId, c.brp),
          eq(allocationCells.supplierId, c.supplier),
          eq(allocationCells.gridArea, c.area),
        ),
      );
    if (row) labels.set(row.id, label);
  }
  return labels;
}

describe('a hand-made day (AL-1 … AL-6, GT-4)', () => {
  it('allocates each connection by the method in force and sums per quarter-hour × BRP × supplier × grid area', async () => {
    const d = allocationDay(DAY);
    const op = await party(h.db, 'grid_operator');
    const [s1, s2] = [await party(h.db, 'supplier'), await party(h.db, 'supplier')];
    const [b1, b2] = [await party(h.db, 'balance_responsible_party'), await party(h.db, 'balance_responsible_party')];
    const base = { gridOperatorId: op.id, supplierId: s1.id, brpId: b1.id };
    const flat = (wh: number) => registers(DAY, 50_000, () => wh);

    // C1 iSMA, measured: 100 Wh per quarter-hour taken, 20 Wh fed in during quarter-hours 41–60 (AL-1).
    const c1 = await connection(h.db, base);
    await readingsDay(
      h.db,
      c1.ean,
      DAY,
      flat(100),
      registers(DAY, 7_000, (qh) => (qh >= 41 && qh <= 60 ? 20 : 0)),
    );
    // C2 on profile allocation (AL-4): 3000 kWh × 0.00001 = 30 Wh per quarter-hour.
    const c2 = await connection(h.db, base);
    await profileFrom(h.db, c2.ean, new Date('2024-01-01T00:00:00Z'));
    // C3 opted out (AL-5): profile, estimated: 2000 kWh → 20 Wh.
    const c3 = await connection(h.db, { ...base, optOut: true, annualKwh: 2000 });
    // C4 registers 10, 11, 12 not read: quarter-hours 10–13 profile, estimated (30 Wh); the rest measured.
    const c4 = await connection(h.db, base);
    const gap = (i: number) => i >= 10 && i <= 12;
    await readingsDay(
      h.db,
      c4.ean,
      DAY,
      registers(DAY, 9_000, () => 100, gap),
      registers(DAY, 1_000, () => 0, gap),
    );
    // C5 an open iSMA doubt case since two days: '0' values all day (AL-6, GT-4).
    const c5 = await connection(h.db, base);
    await readingsDay(h.db, c5.ean, DAY, flat(100), flat(0));
    await zeroPeriod(h.db, c5.ean, new Date(d.start.getTime() - 2 * 86_400_000));
    // C6 '0' values until "mandate not demonstrated" at 10:00, then profile (GT-4): readings are not used.
    const c6 = await connection(h.db, base);
    await readingsDay(h.db, c6.ean, DAY, flat(100), flat(0));
    await zeroPeriod(h.db, c6.ean, new Date(d.start.getTime() - 86_400_000), {
      at: quarterHourStart(d, 41),
      notDemonstrated: true,
    });
    // C7 switches supplier (and BRP) at 12:00: quarter-hours 1–48 to S1/B1, 49–96 to S2/B2.
    const c7 = await connection(h.db, base);
    await readingsDay(h.db, c7.ean, DAY, flat(100), flat(0));
    await supplierSwitch(h.db, c7.ean, quarterHourStart(d, 49), s2.gln, b2.gln);
    // C8 its only reading was rejected on import: profile, estimated as readings_invalid (1000 kWh → 10 Wh).
    const c8 = await connection(h.db, { ...base, annualKwh: 1000 });
    await rejectRecorded(h.db, c8.ean, DAY);
    // C9 no supplier, C10 a supplier without BRP: not allocated (and reported).
    const c9 = await connection(h.db, { ...base, supplierId: null, brpId: null });
    const c10 = await connection(h.db, { ...base, brpId: null });
    await readingsDay(h.db, c9.ean, DAY, flat(100), flat(0));
    await readingsDay(h.db, c10.ean, DAY, flat(100), flat(0));

    const result = await run(op.id, DAY);
    expect(result.status).toBe('completed');
    expect(result.summary!['connections']).toEqual({
      measured: 1,
      mixed: 3, // C4 (registers missing), C6 ('0' ends and the method changes mid-day), C7 (supplier switch)
      'profile:opted_out': 1,
      'profile:profile_method': 1,
      'profile:readings_invalid': 1,
      'unallocated:no_supplier': 1,
      'unallocated:no_balance_responsible_party': 1,
      'zero:doubt_case_open': 1,
    });

    const labels = await cellLabels({
      'B1/S1': { brp: b1.id, supplier: s1.id, area: 'Area-A' },
      'B2/S2': { brp: b2.id, supplier: s2.id, area: 'Area-A' },
    });
    const agg = await aggregates(result.runId, labels);
    expect(Object.keys(agg).sort()).toEqual(['B1/S1', 'B2/S2']);
    for (let qh = 1; qh <= 96; qh++) {
      const offtake =
        100 + 30 + 20 + (qh >= 10 && qh <= 13 ? 30 : 100) + 0 + (qh <= 40 ? 0 : 30) + (qh <= 48 ? 100 : 0) + 10;
      const measured = 1 + (qh >= 10 && qh <= 13 ? 0 : 1) + (qh <= 48 ? 1 : 0);
      const profile = 1 + 1 + (qh >= 10 && qh <= 13 ? 1 : 0) + (qh > 40 ? 1 : 0) + 1;
      const estimated = 1 + (qh >= 10 && qh <= 13 ? 1 : 0) + 1;
      const zero = 1 + (qh <= 40 ? 1 : 0);
      const n = qh <= 48 ? 8 : 7;
      expect(agg['B1/S1']!['offtake']![qh], `offtake qh ${qh}`).toEqual({
        wh: String(offtake),
        n,
        measured,
        profile,
        estimated,
        zero,
      });
      expect(agg['B1/S1']!['feed_in']![qh]!.wh, `feed-in qh ${qh}`).toBe(String(qh >= 41 && qh <= 60 ? 20 : 0));
      if (qh <= 48) expect(agg['B2/S2']?.['offtake']?.[qh]).toBeUndefined();
      else
        expect(agg['B2/S2']!['offtake']![qh]).toEqual({
          wh: '100',
          n: 1,
          measured: 1,
          profile: 0,
          estimated: 0,
          zero: 0,
        });
    }

    // Individual results: C6 '0' until 10:00, then profile; C7 in two cells; C4 estimated where registers lack.
    const segs = async (ean: string) =>
      (await storedSegments(h.db, result.runId, 96, ean)).map((r) => [
        r.qhFrom,
        r.qhTo,
        r.cellId === null ? null : labels.get(r.cellId),
        r.offtakeMethod,
        r.offtakeReason,
      ]);
    expect(await segs(c6.ean)).toEqual([
      [1, 40, 'B1/S1', 'zero', 'doubt_case_open'],
      [41, 96, 'B1/S1', 'profile', 'profile_method'],
    ]);
    expect(await segs(c7.ean)).toEqual([
      [1, 48, 'B1/S1', 'measured', null],
      [49, 96, 'B2/S2', 'measured', null],
    ]);
    expect(await segs(c4.ean)).toEqual([
      [1, 9, 'B1/S1', 'measured', null],
      [10, 13, 'B1/S1', 'profile', 'readings_missing'],
      [14, 96, 'B1/S1', 'measured', null],
    ]);
    expect(await segs(c9.ean)).toEqual([[1, 96, null, 'unallocated', 'no_supplier']]);
    expect(await segs(c10.ean)).toEqual([[1, 96, null, 'unallocated', 'no_balance_responsible_party']]);
    expect(await segs(c2.ean)).toEqual([[1, 96, 'B1/S1', 'profile', 'profile_method']]);
  });
});

describe('the allocation basis (AL-4, DOMAIN.md allocation basis)', () => {
  it('no basis in force is profile; a supplier’s iSMA request holds while that supplier supplies; a basis from mid-day counts from its quarter-hour', async () => {
    const d = allocationDay(DAY);
    const op = await party(h.db, 'grid_operator');
    const [s1, s2] = [await party(h.db, 'supplier'), await party(h.db, 'supplier')];
    const b1 = await party(h.db, 'balance_responsible_party');
    const base = { gridOperatorId: op.id, supplierId: s1.id, brpId: b1.id };
    const flat = () => registers(DAY, 50_000, () => 100);
    // N1 read every quarter-hour, but no basis recorded: profile, not estimated (3000 kWh → 30 Wh).
    const n1 = await connection(h.db, { ...base, basis: null });
    await readingsDay(h.db, n1.ean, DAY, flat(), flat());
    // N2 on S1's iSMA request; S1 hands the connection to S2 at 12:00: the request lapses with S1's supply.
    const n2 = await connection(h.db, { ...base, basis: 'supplier_isma_request' });
    await readingsDay(h.db, n2.ean, DAY, flat(), flat());
    await supplierSwitch(h.db, n2.ean, quarterHourStart(d, 49), s2.gln);
    // N3 no basis until the customer's consent at 06:00 (quarter-hour 25): profile, then measured.
    const n3 = await connection(h.db, { ...base, basis: null });
    await readingsDay(h.db, n3.ean, DAY, flat(), flat());
    await basis(h.db, n3.ean, quarterHourStart(d, 25), 'customer_consent');
    // N4 on a legal provision, opted out of remote reading (AL-5): profile, estimated.
    const n4 = await connection(h.db, { ...base, basis: 'legal_provision', optOut: true });
    // N5 on S1's iSMA request all day: measured.
    const n5 = await connection(h.db, { ...base, basis: 'supplier_isma_request' });
    await readingsDay(h.db, n5.ean, DAY, flat(), flat());

    const result = await run(op.id, DAY);
    expect(result.summary!['connections']).toEqual({
      measured: 1,
      mixed: 2, // N2 (supplier switch), N3 (basis from 06:00)
      'profile:no_allocation_basis': 1,
      'profile:opted_out': 1,
    });
    const segs = async (ean: string) =>
      (await storedSegments(h.db, result.runId, 96, ean)).map((r) => [
        r.qhFrom,
        r.qhTo,
        r.offtakeMethod,
        r.offtakeReason,
        r.feedInMethod,
        r.feedInReason,
      ]);
    expect(await segs(n1.ean)).toEqual([[1, 96, 'profile', 'no_allocation_basis', 'profile', 'no_allocation_basis']]);
    expect(await segs(n2.ean)).toEqual([
      [1, 48, 'measured', null, 'measured', null],
      [49, 96, 'profile', 'no_allocation_basis', 'profile', 'no_allocation_basis'],
    ]);
    expect(await segs(n3.ean)).toEqual([
      [1, 24, 'profile', 'no_allocation_basis', 'profile', 'no_allocation_basis'],
      [25, 96, 'measured', null, 'measured', null],
    ]);
    expect(await segs(n4.ean)).toEqual([[1, 96, 'profile', 'opted_out', 'profile', 'opted_out']]);
    expect(await segs(n5.ean)).toEqual([[1, 96, 'measured', null, 'measured', null]]);

    // B1/S1 offtake: N1 30 Wh (profile), N2 100 (measured) until 12:00, N3 30 then 100, N4 30 (estimated), N5 100.
    const labels = await cellLabels({
      'B1/S1': { brp: b1.id, supplier: s1.id, area: 'Area-A' },
      'B1/S2': { brp: b1.id, supplier: s2.id, area: 'Area-A' },
    });
    const agg = await aggregates(result.runId, labels);
    for (const qh of [1, 24, 25, 48, 49, 96]) {
      const early = qh <= 24;
      const own = qh <= 48;
      expect(agg['B1/S1']!['offtake']![qh], `qh ${qh}`).toEqual({
        wh: String(30 + (own ? 100 : 0) + (early ? 30 : 100) + 30 + 100),
        n: own ? 5 : 4,
        measured: (own ? 1 : 0) + (early ? 0 : 1) + 1,
        profile: 1 + (early ? 1 : 0) + 1,
        estimated: 1,
        zero: 0,
      });
      if (!own)
        expect(agg['B1/S2']!['offtake']![qh]).toEqual({
          wh: '30',
          n: 1,
          measured: 0,
          profile: 1,
          estimated: 0,
          zero: 0,
        });
    }
  });
});

describe('versions', () => {
  it('a re-run after late readings is the next version and reports the difference per aggregate; computing a run again changes nothing', async () => {
    const op = await party(h.db, 'grid_operator');
    const s1 = await party(h.db, 'supplier');
    const b1 = await party(h.db, 'balance_responsible_party');
    const base = { gridOperatorId: op.id, supplierId: s1.id, brpId: b1.id };
    const full = await connection(h.db, base);
    await readingsDay(
      h.db,
      full.ean,
      DAY,
      registers(DAY, 1_000, () => 50),
      registers(DAY, 0, () => 0),
    );
    const late = await connection(h.db, base);
    // Registers 20..29 arrive late: quarter-hours 20..30 are profile (30 Wh) in version 1.
    const gap = (i: number) => i >= 20 && i <= 29;
    await readingsDay(
      h.db,
      late.ean,
      DAY,
      registers(DAY, 5_000, () => 80, gap),
      registers(DAY, 0, () => 0, gap),
    );

    const v1 = await run(op.id, DAY, `late:${op.id}:1`);
    expect(v1).toMatchObject({ version: 1, status: 'completed', difference: { previousRunId: null } });
    const v1Offtake = (
      await h.db
        .select()
        .from(allocationAggregates)
        .where(and(eq(allocationAggregates.runId, v1.runId), eq(allocationAggregates.direction, 'offtake')))
    ).sort((a, b) => a.qh - b.qh);
    expect(v1Offtake.map((a) => Number(a.volumeWh))).toEqual(
      Array.from({ length: 96 }, (_, i) => 50 + (i + 1 >= 20 && i + 1 <= 30 ? 30 : 80)),
    );

    // Computing the same run again returns it as it is (idempotent per version).
    const again = await computeAllocationRun(h.db, driverOf(h.db), v1.runId, OPTIONS);
    expect(again).toEqual(v1);
    expect(await h.db.$count(allocationAggregates, eq(allocationAggregates.runId, v1.runId))).toBe(192);

    // The late registers: 80 Wh per quarter-hour, as the others.
    const regs = registers(DAY, 5_000, () => 80);
    await readingsDay(
      h.db,
      late.ean,
      DAY,
      regs.map((v, i) => (i >= 20 && i <= 29 ? v : null)),
      regs.map((_, i) => (i >= 20 && i <= 29 ? 0 : null)),
    );
    const v2 = await run(op.id, DAY, `late:${op.id}:2`);
    expect(v2).toMatchObject({ version: 2, status: 'completed' });
    expect(v2.difference).toEqual({
      previousRunId: v1.runId,
      previousVersion: 1,
      changed: 11,
      added: 0,
      removed: 0,
      deltaWh: { offtake: String(11 * 50), feed_in: '0' },
    });
    const [row] = await h.db.select().from(allocationRuns).where(eq(allocationRuns.id, v2.runId));
    expect(row!.previousRunId).toBe(v1.runId);
  });

  it('a day with 92 quarter-hours (spring DST switch) has 92 aggregates per direction; profile feed-in (SJI)', async () => {
    const op = await party(h.db, 'grid_operator');
    const s1 = await party(h.db, 'supplier');
    const b1 = await party(h.db, 'balance_responsible_party');
    const measured = await connection(h.db, { gridOperatorId: op.id, supplierId: s1.id, brpId: b1.id });
    await readingsDay(
      h.db,
      measured.ean,
      DST_DAY,
      registers(DST_DAY, 0, () => 10),
      registers(DST_DAY, 0, () => 5),
    );
    // Opted out with solar: offtake 3000 kWh × 0.00001 = 30 Wh, feed-in 2000 kWh × 0.00002 = 40 Wh.
    await connection(h.db, {
      gridOperatorId: op.id,
      supplierId: s1.id,
      brpId: b1.id,
      optOut: true,
      feedInCategory: 'T2',
      annualFeedInKwh: 2000,
    });
    const r = await run(op.id, DST_DAY);
    const rows = await h.db.select().from(allocationAggregates).where(eq(allocationAggregates.runId, r.runId));
    expect(rows).toHaveLength(2 * 92);
    for (const a of rows) {
      expect(Number(a.volumeWh)).toBe(a.direction === 'offtake' ? 40 : 45);
      expect(a).toMatchObject({ connections: 2, measured: 1, profile: 1, estimated: 1 });
    }
    expect(allocationDay(DST_DAY).quarterHours).toBe(92);
  });
});
