/**
 * The gate's rules exist twice: decide() in TypeScript (the readable specification) and the SQL that
 * the hot path runs (decideAndRegister). This test generates many random situations — mandates in
 * every status, scope and period, open and lifted blocks with and without release, opt-outs,
 * unadmitted parties, suppliers of record — and requires both to reach the same decision, naming the
 * same mandate and block. Ties are generated on purpose (mandates of one party on one connection with the
 * same stage and the same validTo, or the same validFrom too; blocks starting at the same instant), so
 * the specified tie order (domain/gate.ts: stage, latest validTo, latest validFrom, smallest id; blocks:
 * earliest start, smallest id) is what both must follow, and decide() is given the facts shuffled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocks, connections, mandates, parties, type DataKind, type MandateEndReason } from '../../db/schema/index.js';
import { decide, evaluateMandate, type GateFacts, type GateRequest } from '../../domain/gate.js';
import { decideAndRegister, fetchGateFacts } from '../../db/repositories/access-register.js';
import { coreContext, makeParty, newEan, type CoreContext } from './fixtures.js';
import { randomUUID } from 'node:crypto';

let ctx: CoreContext;
beforeAll(async () => {
  ctx = await coreContext('gate_equivalence');
});
afterAll(async () => ctx?.close());

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** decide() must not depend on the order the facts come in. */
function shuffled(f: GateFacts, rand: () => number): GateFacts {
  const mix = <T>(xs: T[]) => xs.map((x) => ({ x, k: rand() })).sort((a, b) => a.k - b.k).map((e) => e.x);
  return { ...f, mandates: mix(f.mandates), blocks: mix(f.blocks) };
}

describe('decide() and the SQL gate agree', () => {
  it('on 400 random situations with 3 requests each', async () => {
    const rand = rng(20_261_122);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const DAY = 86_400_000;
    const now = Date.now();
    const at = (days: number) => new Date(now + Math.round(days * DAY));
    const operator = await makeParty(ctx.db, ['grid_operator']);
    const supplier = await makeParty(ctx.db, ['supplier']);
    const provider = await makeParty(ctx.db, ['service_provider']);
    const [outcast] = await ctx.db.insert(parties).values({ gln: '8712345678904', name: 'Not admitted', roles: ['service_provider'], admitted: false }).returning();
    const kinds: DataKind[] = ['monthly_registers', 'daily_registers', 'interval_data'];
    const endReasons: MandateEndReason[] = ['revoked_by_grid_user', 'customer_switch', 'party_not_admitted', 'withdrawn_by_party'];
    const requests: GateRequest[] = [];

    for (let s = 0; s < 400; s++) {
      const ean = newEan();
      await ctx.db.insert(connections).values({ ean, gridOperatorId: operator.id, gridArea: 'eq', supplierId: rand() < 0.8 ? supplier.id : null, capacityKw: 10, remoteReadingOptOut: rand() < 0.08 });
      const party = pick([provider, provider, supplier, outcast!]);
      const nMandates = pick([0, 1, 1, 2, 3]);
      let prev: { from: Date; to: Date; kinds: DataKind[]; status: 'active' | 'pending_confirmation' | 'ended' } | undefined;
      for (let k = 0; k < nMandates; k++) {
        // Ties on purpose: a twin of the previous mandate (same period, scope and status: only the id
        // differs), or one that ends at the same instant but started later.
        const tie = prev && rand() < 0.45 ? pick(['twin', 'twin', 'same_end'] as const) : undefined;
        const from = tie === 'twin' ? prev!.from : tie === 'same_end' ? new Date(prev!.from.getTime() + Math.round((1 + rand() * 3) * DAY)) : at(-60 + rand() * 90);
        const to = tie ? prev!.to : new Date(from.getTime() + Math.round((5 + rand() * 200) * DAY));
        const status = tie ? prev!.status : pick(['active', 'active', 'active', 'pending_confirmation', 'ended'] as const);
        const kindsOf = tie ? prev!.kinds : kinds.filter(() => rand() < 0.6).concat(rand() < 0.3 ? [] : [pick(kinds)]).filter((v, i, a) => a.indexOf(v) === i);
        if (to <= from) continue;
        prev = { from, to, kinds: kindsOf, status };
        await ctx.db.insert(mandates).values({
          partyId: party.id,
          connectionEan: ean,
          dataKinds: kindsOf,
          purpose: 'eq',
          validFrom: from,
          validTo: to,
          historyIncluded: rand() < 0.5,
          grantedVia: 'portal',
          grantedByName: 'x',
          grantedByIsGridUser: status !== 'pending_confirmation',
          status,
          endedAt: status === 'ended' ? at(-1) : null,
          endReason: status === 'ended' ? pick(endReasons) : null,
        });
      }
      const nBlocks = pick([0, 0, 0, 1, 2]);
      let prevStart: Date | undefined;
      for (let k = 0; k < nBlocks; k++) {
        // Blocks starting at the same instant (ties) now and then.
        const started = prevStart && rand() < 0.4 ? prevStart : at(-40 + k * 15 + rand() * 10);
        prevStart = started;
        const state = pick(['open', 'lifted', 'released'] as const);
        await ctx.db.insert(blocks).values({
          partyId: party.id,
          connectionEan: ean,
          caseId: randomUUID(),
          startedAt: started,
          endedAt: state === 'open' ? null : new Date(started.getTime() + Math.round((1 + rand() * 10) * DAY)),
          liftReason: state === 'open' ? null : 'case_withdrawn',
          retroactive: state === 'released',
        });
      }
      for (let r = 0; r < 3; r++) {
        const start = -90 + rand() * 100;
        requests.push({ partyId: party.id, connectionEan: ean, dataKind: pick(kinds), from: at(start), to: at(start + 1 + rand() * 60), requestId: `eq-${s}-${r}` });
      }
    }
    // An unknown connection is no decision in either.
    requests.push({ partyId: provider.id, connectionEan: newEan(), dataKind: 'interval_data', from: at(-2), to: at(-1), requestId: 'eq-unknown' });

    const decidedAt = Date.now();
    const facts = await fetchGateFacts(ctx.sql, requests);
    const sqlOutcomes = await decideAndRegister(ctx.sql, requests, decidedAt);
    const seen = new Set<string>();
    const ties = { validTo: 0, validFromToo: 0 };
    requests.forEach((req, k) => {
      const o = sqlOutcomes[k]!;
      if (!facts[k]!.connection) {
        expect(o.kind).toBe('connection_not_found');
        return;
      }
      expect(o.kind).toBe('decided');
      if (o.kind !== 'decided') return;
      const ts = decide(req, shuffled(facts[k]!, rand), decidedAt);
      // Count the decisions in which the tie order mattered: several mandates at the best stage.
      const stages = facts[k]!.mandates.map((m) => ({ m, stage: evaluateMandate(m, req, decidedAt).stage }));
      const top = Math.max(...stages.map((x) => x.stage));
      const atTop = stages.filter((x) => x.stage === top);
      const latestEnd = Math.max(...atTop.map((x) => x.m.validTo));
      const sameEnd = atTop.filter((x) => x.m.validTo === latestEnd);
      if (ts.mandateId && sameEnd.length > 1) {
        ties.validTo += 1;
        const latestStart = Math.max(...sameEnd.map((x) => x.m.validFrom));
        if (sameEnd.filter((x) => x.m.validFrom === latestStart).length > 1) ties.validFromToo += 1;
      }
      expect({ request: req.requestId, reasonCode: o.decision.reasonCode, mandateId: o.decision.mandateId, blockId: o.decision.blockId, allowed: o.decision.allowed }).toEqual({
        request: req.requestId,
        reasonCode: ts.reasonCode,
        mandateId: ts.mandateId,
        blockId: ts.blockId,
        allowed: ts.allowed,
      });
      seen.add(ts.reasonCode);
    });
    // Ties must actually occur, down to the id.
    expect(ties.validTo).toBeGreaterThanOrEqual(20);
    expect(ties.validFromToo).toBeGreaterThanOrEqual(10);
    // The situations must actually exercise the rules.
    expect([...seen].sort()).toEqual(
      [
        'blocked_by_doubt_case', 'blocked_period_not_released', 'data_kind_out_of_scope', 'history_not_consented', 'mandate_ended_customer_switch',
        'mandate_ended_party_not_admitted', 'mandate_expired', 'mandate_not_yet_valid', 'mandate_pending_confirmation', 'mandate_revoked', 'mandate_valid',
        'mandate_valid_block_released', 'no_mandate', 'party_not_admitted', 'period_out_of_scope', 'remote_reading_opted_out', 'supplier_of_record',
      ].sort(),
    );
  });
});
