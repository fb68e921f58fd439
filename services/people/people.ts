/**
 * People of the console (issue 19): recorded at each sign-in from their provider's ID token, under the grid
 * operator the issuer speaks for by configuration. Sign-ins and fresh authentications for a signed act are
 * audited with the person as actor (`user:<id>`).
 */
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { requirePartyByGln } from '../../db/repositories/parties.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { people, type Person } from '../../db/schema/index.js';
import type { Role } from '../../domain/visibility.js';

export interface SignIn {
  issuer: string;
  subject: string;
  name: string;
  email: string | null;
  /** The grid operator the issuer speaks for (configuration), never a claim. */
  gridOperatorGln: string;
  roles: Role[];
  acr: string | null;
  amr: string[];
  at: Date;
}

/** Record (or update) the person behind an ID token and audit the sign-in. */
export async function recordSignIn(db: Db, s: SignIn): Promise<{ person: Person; operatorName: string }> {
  const operator = await requirePartyByGln(db, s.gridOperatorGln, 'gridOperatorGln');
  const person = await db.transaction(async (tx) => {
    const [person] = await tx
      .insert(people)
      .values({
        issuer: s.issuer,
        subject: s.subject,
        name: s.name,
        email: s.email,
        gridOperatorId: operator.id,
        roles: s.roles,
        lastSignInAt: s.at,
      })
      .onConflictDoUpdate({
        target: [people.issuer, people.subject],
        set: { name: s.name, email: s.email, gridOperatorId: operator.id, roles: s.roles, lastSignInAt: s.at },
      })
      .returning();
    await recordAudit(tx, {
      actor: `user:${person!.id}`,
      actorRole: s.roles[0] ?? null,
      actorPartyId: operator.id,
      action: 'person.signed_in',
      entityType: 'person',
      entityId: person!.id,
      data: { issuer: s.issuer, roles: s.roles, acr: s.acr, amr: s.amr },
      at: s.at,
    });
    return person!;
  });
  return { person, operatorName: operator.name };
}

export interface StepUp {
  personId: string;
  role: Role;
  gridOperatorId: string;
  /** What the fresh authentication is for, e.g. `case.judgement.reject`, and the thing it is about. */
  purpose: string;
  subjectId: string | null;
  acr: string | null;
  amr: string[];
  /** The provider's auth_time. */
  authenticatedAt: Date;
}

/**
 * A fresh authentication for a signed act (GT-4 "not demonstrated", GT-5, GT-11): audited before the act, which
 * follows under the same actor; the API refuses a person's signed act without one (api/plugins/core-access.ts).
 */
export async function recordStepUp(db: Db, s: StepUp): Promise<void> {
  await recordAudit(db, {
    actor: `user:${s.personId}`,
    actorRole: s.role,
    actorPartyId: s.gridOperatorId,
    action: 'person.stepped_up',
    entityType: 'person',
    entityId: s.personId,
    data: {
      purpose: s.purpose,
      subjectId: s.subjectId,
      acr: s.acr,
      amr: s.amr,
      authenticatedAt: s.authenticatedAt.toISOString(),
    },
  });
}

export async function findPerson(db: Db, issuer: string, subject: string): Promise<Person | undefined> {
  const [p] = await db
    .select()
    .from(people)
    .where(and(eq(people.issuer, issuer), eq(people.subject, subject)));
  return p;
}
