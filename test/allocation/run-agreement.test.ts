/**
 * Agreement: the run's SQL (uniform connection-days in set-based statements, db/repositories/allocation-
 * runs.ts) and the domain rule (`allocateQuarterHours`, `aggregateDay`) give the same results on random
 * facts — supplier and BRP switches before, during and after the day (also off the quarter-hour), method
 * changes, allocation bases of every kind (and none: AL-4), '0'-values periods, opt-outs, missing registers,
 * rejected readings, connections without supplier or BRP. Doubt cases are opened against the supplier of
 * record, another supplier or a service provider: the intake's GT-4 verdict (read from the database) must be
 * `gt4Applies` on the generator's facts, and only a case it applies to has '0' values. The facts for the domain
 * side are the generator's own record, not read back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createDb, type DbHandle } from '../../db/client.js';
import { allocationAggregates, allocationCells, parties } from '../../db/schema/index.js';
import { requestRun, storedSegments } from '../../db/repositories/allocation-runs.js';
import { updateConnection } from '../../db/repositories/connections.js';
import { dayFractions } from '../../db/repositories/allocation-profiles.js';
import { createCaseWithBlock } from '../../db/repositories/cases.js';
import { computeAllocationRun, driverOf } from '../../services/allocation/runs.js';
import { ismaAtSignal } from '../../services/cases/intake.js';
import { gt4Applies } from '../../domain/case.js';
import {
  ALLOCATION_BASIS_KINDS,
  aggregateDay,
  allocateConnectionDay,
  allocationDay,
  cellKey,
  pwhToWh,
  QUARTER_HOUR_MS,
  type AllocationDay,
  type ConnectionDayFacts,
  type MethodPeriod,
  type PartyPeriod,
  type ZeroPeriod,
} from '../../domain/allocation.js';
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

const DAYS = ['2025-03-12', '2025-10-26']; // an ordinary day and the autumn DST switch (100 quarter-hours)
const CONNECTIONS = 120;
const ADMIN = { actor: 'test', actorRole: 'admin', actorPartyId: null };

let fresh: FreshDatabase;
let h: DbHandle;
let setId: string;
beforeAll(async () => {
  fresh = await freshDatabase('allocation_agreement');
  h = createDb(fresh.url, { max: 4 });
  setId = await loadTestProfiles(h.db, 2025, DAYS, { T1: '0.0000123', T2: '0.000031' });
});
afterAll(async () => {
  await h?.close();
  await fresh?.drop();
});

/** A seeded generator, so a failure can be reproduced (the seed is in the test name). */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

/** An instant relative to the day: before it, inside it (on or off a quarter-hour), or after it. */
function instant(r: ReturnType<typeof rng>, d: AllocationDay): Date {
  // The edges of the day and of its first and last quarter-hour, where off-by-one errors live.
  if (r.chance(0.25)) {
    const [s, e] = [d.start.getTime(), d.end.getTime()];
    return new Date(
      r.pick([
        s,
        s + 1000,
        s + QUARTER_HOUR_MS - 1000,
        s + QUARTER_HOUR_MS,
        e - QUARTER_HOUR_MS,
        e - QUARTER_HOUR_MS + 1000,
        e - 1000,
        e,
      ]),
    );
  }
  const where = r.int(0, 9);
  if (where <= 1) return new Date(d.start.getTime() - r.int(1, 5 * 86_400) * 1000);
  if (where >= 8) return new Date(d.end.getTime() + r.int(0, 3 * 86_400) * 1000);
  const qh = r.int(0, d.quarterHours);
  return new Date(d.start.getTime() + qh * QUARTER_HOUR_MS + (r.chance(0.3) ? r.int(1, 899) * 1000 : 0));
}

async function scenario(seed: number, day: string) {
  const r = rng(seed);
  const d = allocationDay(day);
  const op = await party(h.db, 'grid_operator');
  const suppliers = [await party(h.db, 'supplier'), await party(h.db, 'supplier'), await party(h.db, 'supplier')];
  const brps = [await party(h.db, 'balance_responsible_party'), await party(h.db, 'balance_responsible_party')];
  const serviceProvider = await party(h.db, 'service_provider');
  const areas = ['Noord', 'Zuid'];
  const facts: ConnectionDayFacts[] = [];
  const gt4 = { applied: 0, notApplied: 0 };
  for (let i = 0; i < CONNECTIONS; i++) {
    const supplier = r.chance(0.05) ? null : r.pick(suppliers);
    const brp = supplier && r.chance(0.05) ? null : supplier ? r.pick(brps) : null;
    const profile = {
      offtakeCategory: r.pick(['T1', 'T2']),
      feedInCategory: r.pick(['T1', 'T2']),
      annualOfftakeKwh: r.int(0, 6000),
      annualFeedInKwh: r.chance(0.4) ? r.int(0, 4000) : 0,
    };
    const optOut = r.chance(0.1);
    const area = r.pick(areas);
    const c = await connection(h.db, {
      gridOperatorId: op.id,
      supplierId: supplier?.id ?? null,
      brpId: brp?.id ?? null,
      gridArea: area,
      optOut,
      category: profile.offtakeCategory,
      annualKwh: profile.annualOfftakeKwh,
      feedInCategory: profile.feedInCategory,
      annualFeedInKwh: profile.annualFeedInKwh,
      capacityKw: 1000,
      basis: null,
    });
    const parties: PartyPeriod[] = [
      {
        from: new Date(0),
        supplierId: supplier?.id ?? null,
        balanceResponsiblePartyId: brp?.id ?? null,
        gridArea: area,
      },
    ];
    // Party changes in time order: supplier switches (maybe with a new BRP) and BRP / grid-area changes.
    const changes = Array.from({ length: r.chance(0.35) ? r.int(1, 3) : 0 }, () => instant(r, d)).sort(
      (a, b) => a.getTime() - b.getTime(),
    );
    for (const at of changes) {
      const last = parties[parties.length - 1]!;
      if (r.chance(0.6)) {
        const next = r.pick(suppliers.filter((s) => s.id !== last.supplierId));
        const newBrp = r.chance(0.7) ? r.pick(brps) : null;
        await supplierSwitch(h.db, c.ean, at, next.gln, newBrp?.gln);
        parties.push({
          from: at,
          supplierId: next.id,
          balanceResponsiblePartyId: newBrp ? newBrp.id : last.balanceResponsiblePartyId,
          gridArea: last.gridArea,
        });
      } else {
        const [b] = await h.db
          .select()
          .from(parties_)
          .where(eq(parties_.id, r.pick(brps).id));
        const newArea = r.pick(areas);
        if (last.supplierId === null) continue;
        await updateConnection(h.db, ADMIN, c.ean, { balanceResponsiblePartyGln: b!.gln, gridArea: newArea }, at);
        if (b!.id !== last.balanceResponsiblePartyId || newArea !== last.gridArea)
          parties.push({ from: at, supplierId: last.supplierId, balanceResponsiblePartyId: b!.id, gridArea: newArea });
      }
    }
    const methods: MethodPeriod[] = [];
    const zeroPeriods: ZeroPeriod[] = [];
    const inForceAt = <T extends { from: Date }>(rows: T[], t: Date) =>
      rows.filter((x) => x.from.getTime() <= t.getTime()).at(-1) ?? null;
    // An iSMA basis of a random kind (a supplier's request is its supplier of record's then, if any).
    const isma = async (at: Date) => {
      const supplierThen = inForceAt(parties, at)?.supplierId ?? null;
      let k = r.pick(ALLOCATION_BASIS_KINDS);
      if (k === 'supplier_isma_request' && supplierThen === null) k = 'customer_consent';
      await basis(h.db, c.ean, at, k);
      methods.push({
        from: at,
        method: 'isma',
        basis: k,
        basisPartyId: k === 'supplier_isma_request' ? supplierThen : null,
      });
    };
    const profileAt = async (at: Date) => {
      await profileFrom(h.db, c.ean, at);
      methods.push({ from: at, method: 'profile', basis: null, basisPartyId: null });
    };
    // A fifth have no basis since ever (AL-4: profile until one is recorded).
    if (r.chance(0.8)) await isma(new Date(0));
    const kind = r.int(0, 9);
    if (kind === 1) await profileAt(instant(r, d));
    else if (kind === 2) {
      const [a, b] = [instant(r, d), instant(r, d)].sort((x, y) => x.getTime() - y.getTime());
      await isma(a!);
      await profileAt(b!);
    } else if (kind === 6) await isma(instant(r, d));
    else if (kind >= 3 && kind <= 5) {
      // A doubt case against the supplier of record, another supplier or a service provider (GT-4): '0'
      // values only when GT-4 applies; then open, accepted, or "not demonstrated" (profile from its end).
      const start = instant(r, d);
      const supplierThen = inForceAt(parties, start)?.supplierId ?? null;
      const against = r.pick([
        supplierThen ?? serviceProvider.id,
        r.pick(suppliers.filter((x) => x.id !== supplierThen)).id,
        serviceProvider.id,
      ]);
      const expected = gt4Applies({
        partyId: against,
        supplierOfRecordId: supplierThen,
        basis: inForceAt(methods, start),
        remoteReadingOptOut: optOut,
      });
      const intake = await ismaAtSignal(h.db, op.id, {
        connectionEan: c.ean,
        partyId: against,
        at: start,
        stated: undefined,
      });
      expect(intake.isma, `${c.ean} GT-4 at ${start.toISOString()}`).toBe(expected.applies);
      gt4[expected.applies ? 'applied' : 'notApplied'] += 1;
      await createCaseWithBlock(h.db, {
        ...ADMIN,
        gridOperatorId: op.id,
        partyId: against,
        connectionEan: c.ean,
        channel: 'customer',
        receivedAt: start,
        reporterName: 'Klant',
        description: 'agreement',
        isma: intake.isma,
        at: new Date(),
      });
      if (intake.isma) {
        const outcome = r.pick(['open', 'accepted', 'not_demonstrated'] as const);
        const endAt = new Date(Math.max(start.getTime(), instant(r, d).getTime()));
        await zeroPeriod(
          h.db,
          c.ean,
          start,
          outcome === 'open' ? undefined : { at: endAt, notDemonstrated: outcome === 'not_demonstrated' },
        );
        zeroPeriods.push({ start, end: outcome === 'open' ? null : endAt });
        if (outcome === 'not_demonstrated')
          methods.push({ from: endAt, method: 'profile', basis: null, basisPartyId: null });
      }
    }
    // Readings: none, complete, or with registers missing (either direction); a reject sometimes.
    let offtake: Array<number | null> | null = null;
    let feedIn: Array<number | null> | null = null;
    const readings = r.int(0, 9);
    if (!optOut && readings >= 2) {
      const holes =
        readings >= 7
          ? new Set(Array.from({ length: r.int(1, 6) }, () => r.int(0, d.quarterHours)))
          : new Set<number>();
      const feedHoles = readings === 9 ? new Set([r.int(0, d.quarterHours)]) : new Set<number>();
      offtake = registers(
        day,
        r.int(0, 1e6),
        () => r.int(0, 400),
        (i) => holes.has(i),
      );
      feedIn = registers(
        day,
        r.int(0, 1e5),
        () => (r.chance(0.3) ? r.int(0, 200) : 0),
        (i) => feedHoles.has(i),
      );
      if (offtake.every((v) => v === null) && feedIn.every((v) => v === null)) offtake = feedIn = null;
      else await readingsDay(h.db, c.ean, day, offtake, feedIn);
    }
    const rejected = r.chance(0.15);
    if (rejected) await rejectRecorded(h.db, c.ean, day);
    facts.push({
      connectionEan: c.ean,
      parties,
      methods,
      zeroPeriods,
      remoteReadingOptOut: optOut,
      offtake,
      feedIn,
      readingsRejected: rejected,
      profile,
    });
  }
  return { op, facts, d, gt4 };
}
const parties_ = parties;

describe('run SQL ≡ allocateQuarterHours / aggregateDay on random facts', () => {
  for (const [i, day] of DAYS.entries()) {
    const seed = 1000 + i;
    it(`seed ${seed}, ${day}`, async () => {
      const { op, facts, d, gt4 } = await scenario(seed, day);
      // Cases GT-4 applies to and cases it does not (another party's, or no basis) were both generated.
      expect(gt4.applied).toBeGreaterThan(0);
      expect(gt4.notApplied).toBeGreaterThan(0);
      const { run } = await requestRun(h.db, ADMIN, {
        gridOperatorId: op.id,
        day,
        trigger: 'request',
        requestKey: `agree:${seed}`,
        reason: 'agreement',
      });
      const result = await computeAllocationRun(h.db, driverOf(h.db), run.id, {
        minimumConnections: 10,
        generatedProfiles: false,
      });
      const kinds = result.summary!['connections'] as Record<string, number>;
      // Both paths were exercised, and connections without a basis on the uniform one.
      expect(kinds['mixed']).toBeGreaterThan(10);
      expect(kinds['profile:no_allocation_basis']).toBeGreaterThan(0);
      expect(Object.keys(kinds).filter((k) => k !== 'mixed').length).toBeGreaterThanOrEqual(5);

      const cells = new Map(
        (await h.db.select().from(allocationCells)).map((c) => [
          c.id,
          cellKey({
            balanceResponsiblePartyId: c.balanceResponsiblePartyId,
            supplierId: c.supplierId,
            gridArea: c.gridArea,
          }),
        ]),
      );
      // Per connection: the stored segments are the domain's.
      const stored = await storedSegments(h.db, run.id, d.quarterHours);
      const byEan = new Map<string, unknown[]>();
      for (const s of stored) {
        const list = byEan.get(s.connectionEan) ?? [];
        list.push([
          s.qhFrom,
          s.qhTo,
          s.cellId === null ? '' : cells.get(s.cellId),
          s.offtakeMethod,
          s.offtakeReason,
          s.feedInMethod,
          s.feedInReason,
        ]);
        byEan.set(s.connectionEan, list);
      }
      for (const f of facts) {
        const expected = allocateConnectionDay(d, f).map((s) => [
          s.qhFrom,
          s.qhTo,
          cellKey(s.cell),
          s.offtake.method,
          s.offtake.reason,
          s.feedIn.method,
          s.feedIn.reason,
        ]);
        expect(byEan.get(f.connectionEan), f.connectionEan).toEqual(expected);
      }

      // Aggregates: the same cells, volumes to the last digit, and counts.
      const fractions = await dayFractions(h.db, setId, day);
      const expected = [...aggregateDay(d, facts, fractions).values()]
        .map((a) =>
          [
            cellKey(a.cell),
            a.direction,
            a.qh,
            pwhToWh(a.volumePwh),
            a.connections,
            a.measured,
            a.profile,
            a.estimated,
            a.zero,
          ].join(' '),
        )
        .sort();
      const actual = (await h.db.select().from(allocationAggregates).where(eq(allocationAggregates.runId, run.id)))
        .map((a) =>
          [
            cells.get(a.cellId),
            a.direction,
            a.qh,
            trim(a.volumeWh),
            a.connections,
            a.measured,
            a.profile,
            a.estimated,
            a.zero,
          ].join(' '),
        )
        .sort();
      expect(actual.length).toBeGreaterThan(d.quarterHours * 4);
      expect(actual).toEqual(expected);
    });
  }
});

/** numeric text without trailing zeros (as pwhToWh writes it). */
function trim(v: string): string {
  return v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v;
}
