import type { AuditInput } from './audit.js';

/**
 * Who performs a state change, for the audit entry written in the same transaction:
 * 'api-key:<id>' from the API, 'workflow:<caseId>' from the doubt-case activities, 'system', ...
 */
export interface Actor {
  actor: string;
  actorRole?: string | null;
  actorPartyId?: string | null;
}

export function auditActor(a: Actor): Pick<AuditInput, 'actor' | 'actorRole' | 'actorPartyId'> {
  return { actor: a.actor, actorRole: a.actorRole ?? null, actorPartyId: a.actorPartyId ?? null };
}
