/**
 * GT-5 repeat offenders: the scan's count of signals per party across ALL grid operators
 * (db/repositories/reviews.ts signalRows) and the proposals it makes from them (domain/review.ts proposes).
 */
import type { Db } from '../../db/client.js';
import { partiesByIds } from '../../db/repositories/parties.js';
import { partiesRefusedSince, signalRows, type SignalRow } from '../../db/repositories/reviews.js';
import { proposes, similarGroups } from '../../domain/review.js';

const DAY_MS = 86_400_000;

export interface RepeatOffenderQuery {
  at: string;
  windowDays: number;
  threshold: number;
}

export interface RepeatOffender {
  partyId: string;
  partyGln: string;
  signals: number;
  groups: Record<string, number>;
}

const byParty = (rows: SignalRow[]) => {
  const m = new Map<string, SignalRow[]>();
  for (const r of rows) m.set(r.partyId, [...(m.get(r.partyId) ?? []), r]);
  return m;
};

/** Parties with a group of similar signals at the threshold, not refused by the operators in this window. */
export async function findRepeatOffenders(db: Db, input: RepeatOffenderQuery): Promise<RepeatOffender[]> {
  const to = new Date(input.at);
  const from = new Date(to.getTime() - input.windowDays * DAY_MS);
  const candidates = [...byParty(await signalRows(db, from, to))].filter(([, s]) => proposes(s, input.threshold));
  if (candidates.length === 0) return [];
  // A proposal the grid operators did not agree on is not put to them again within the same window.
  const refused = await partiesRefusedSince(db, from);
  const parties = await partiesByIds(
    db,
    candidates.map(([partyId]) => partyId),
  );
  return candidates
    .filter(([partyId]) => !refused.has(partyId))
    .map(([partyId, s]) => ({
      partyId,
      partyGln: parties.get(partyId)?.gln ?? '',
      signals: s.length,
      groups: similarGroups(s),
    }))
    .sort((a, b) => b.signals - a.signals || a.partyId.localeCompare(b.partyId));
}

/** The party's signals in [from, to): after the follow-up, the figure put to the grid operators. */
export async function countPartySignals(db: Db, input: { partyId: string; from: string; to: string }): Promise<number> {
  return (await signalRows(db, new Date(input.from), new Date(input.to), input.partyId)).length;
}
