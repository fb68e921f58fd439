import { and, eq } from 'drizzle-orm';
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

/**
 * Record a state change that happens once per entity (a workflow step retried, or repeated after a worker
 * restart): written only when the entity has no entry with this action yet. Returns whether it wrote one.
 * Call it in the transaction of the change; the steps that use it run one at a time per entity (their workflow).
 */
export async function recordAuditOnce(db: DbOrTx, entry: AuditInput): Promise<boolean> {
  const [seen] = await db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.entityType, entry.entityType),
        eq(auditLog.entityId, entry.entityId),
        eq(auditLog.action, entry.action),
      ),
    )
    .limit(1);
  if (seen) return false;
  await recordAudit(db, entry);
  return true;
}
