/**
 * How the console (issue 19) calls the API in-process as the person signed in: it issues a one-time ticket for
 * the person's principal and sends it in a header with app.inject; the auth hook takes it (once) and the request
 * runs as that person through the same routes, visibility, validation, idempotency and audit as any caller.
 * A ticket is 256 random bits held only in this process's memory for the duration of one call: nothing outside
 * the process can present one, and a session cookie is never accepted by the API itself.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from './principals.js';

export const PERSON_TICKET_HEADER = 'x-console-person-ticket';

export interface PersonBridge {
  /** A ticket for one in-process request as `person` (a principal with via 'person'). */
  issue(person: Principal): string;
  /** The principal of a ticket, once; undefined for an unknown or used ticket. */
  take(ticket: string): Principal | undefined;
  /** Forget a ticket that was not used (the call failed before authentication). */
  drop(ticket: string): void;
}

export function createPersonBridge(): PersonBridge {
  const tickets = new Map<string, Principal>();
  return {
    issue(person) {
      if (person.via !== 'person') throw new Error('a console ticket is for a person only');
      const ticket = randomBytes(32).toString('base64url');
      tickets.set(ticket, person);
      return ticket;
    },
    take(ticket) {
      const p = tickets.get(ticket);
      if (p) tickets.delete(ticket);
      return p;
    },
    drop(ticket) {
      tickets.delete(ticket);
    },
  };
}
