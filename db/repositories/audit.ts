import { auditLog } from '../schema/index.js';
import type { DbOrTx } from '../client.js';

export interface AuditInput {
  /** 'api-key:<id>', 'workflow:<caseId>', 'system', 'cli' */
  actor: string;
  actorRole?: string | null;
  actorPartyId?: string | null;
  action: string;
  entityType: string;
  entityId: string;
  data?: Record<string, unknown>;
  at?: Date;
}

/** Record a state change. Call it with the same transaction as the change itself. */
export async function recordAudit(db: DbOrTx, entry: AuditInput): Promise<void> {
  await db.insert(auditLog).values({
    actor: entry.actor,
    actorRole: entry.actorRole ?? null,
    actorPartyId: entry.actorPartyId ?? null,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    data: entry.data ?? {},
    ...(entry.at ? { at: entry.at } : {}),
  });
}
