/** AL-4 profile sets: one per load of a year's fractions; the latest loaded set of a year is used by runs. */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { profileFractions, profileSets, type ProfileSetRow } from '../schema/index.js';
import { FRACTION_DECIMALS, FRACTION_SCALE, type DayFractions } from '../../domain/allocation.js';
import type { ProfileSet } from '../../domain/allocation-profiles.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

/** An exact fraction (integer of 1e-15) as a decimal literal. */
export const fractionLiteral = (f: bigint): string =>
  `${f / FRACTION_SCALE}.${(f % FRACTION_SCALE).toString().padStart(FRACTION_DECIMALS, '0')}`;

/** A numeric fraction from PostgreSQL back to an integer of 1e-15. */
export function fractionFromNumeric(s: string): bigint {
  const [whole, frac = ''] = s.split('.');
  return (
    BigInt(whole!) * FRACTION_SCALE + BigInt(frac.padEnd(FRACTION_DECIMALS, '0').slice(0, FRACTION_DECIMALS) || '0')
  );
}

export async function storeProfileSet(
  db: DbOrTx,
  actor: Actor,
  set: ProfileSet,
  source: string,
): Promise<ProfileSetRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(profileSets)
      .values({ year: set.year, source, categories: set.categories, loadedBy: actor.actor })
      .returning();
    if (!row) throw new Error('profile set insert returned nothing');
    const rows = set.days.flatMap((d) =>
      set.categories.map((c) => ({
        profileSetId: row.id,
        category: c,
        day: d.day,
        fractions: d.fractions.get(c)!.map(fractionLiteral),
      })),
    );
    for (let i = 0; i < rows.length; i += 500) await tx.insert(profileFractions).values(rows.slice(i, i + 500));
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'allocation.profile_set_loaded',
      entityType: 'profile_set',
      entityId: row.id,
      data: { year: set.year, source, categories: set.categories, rule: 'AL-4' },
    });
    return row;
  });
}

/** The set runs use for a year: the latest loaded. */
export async function profileSetFor(db: DbOrTx, year: number): Promise<ProfileSetRow | null> {
  const [row] = await db
    .select()
    .from(profileSets)
    .where(eq(profileSets.year, year))
    .orderBy(desc(profileSets.loadedAt))
    .limit(1);
  return row ?? null;
}

export async function getProfileSet(db: DbOrTx, id: string): Promise<ProfileSetRow | null> {
  const [row] = await db.select().from(profileSets).where(eq(profileSets.id, id));
  return row ?? null;
}

export async function listProfileSets(db: DbOrTx): Promise<ProfileSetRow[]> {
  return db.select().from(profileSets).orderBy(desc(profileSets.year), desc(profileSets.loadedAt));
}

/** The day's fractions per category of a set. */
export async function dayFractions(db: DbOrTx, profileSetId: string, day: string): Promise<DayFractions> {
  const rows = await db
    .select({ category: profileFractions.category, fractions: sql<string[]>`${profileFractions.fractions}::text[]` })
    .from(profileFractions)
    .where(and(eq(profileFractions.profileSetId, profileSetId), eq(profileFractions.day, day)));
  return new Map(rows.map((r) => [r.category, r.fractions.map(fractionFromNumeric)]));
}
