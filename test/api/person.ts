/**
 * A person of the console (issue 19) for the API tests: a `people` row (the audit chain names `user:<id>` by it)
 * and calls as that person the way the console makes them (a one-time ticket, in-process), with or without a
 * fresh authentication (step-up) to sign with.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../api/app.js';
import type { Db } from '../../db/client.js';
import { people } from '../../db/schema/index.js';
import type { Role } from '../../domain/visibility.js';
import { principalOf, type Person } from '../../console/api.js';
import { PERSON_TICKET_HEADER } from '../../api/plugins/person-bridge.js';

export async function makePerson(db: Db, name: string, role: Role, gridOperatorId: string): Promise<Person> {
  const [row] = await db
    .insert(people)
    .values({ issuer: 'https://login.test.example', subject: randomUUID(), name, gridOperatorId, roles: [role] })
    .returning();
  return { id: row!.id, name, role, gridOperatorId };
}

/** A fresh authentication at the provider `agoMs` ago, as the console hands it to the API (ms since the epoch). */
export const steppedUp = (p: Person, agoMs = 5_000, acr: string | null = 'urn:test:mfa', amr = ['pwd', 'otp']) => ({
  ...p,
  stepUp: { at: Date.now() - agoMs, acr, amr },
});

/** What the act's audit entry must carry for that step-up (data.signedWith). */
export const stepUpRecord = (p: Person) => ({
  kind: 'step_up',
  authenticatedAt: new Date(p.stepUp!.at).toISOString(),
  acr: p.stepUp!.acr,
  amr: p.stepUp!.amr,
});

export function callAs(
  app: App,
  person: Person,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  const ticket = app.auth.people.issue(principalOf(person));
  return app.inject({
    method,
    url,
    headers: {
      [PERSON_TICKET_HEADER]: ticket,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}
