import { and, eq, sql } from 'drizzle-orm';
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

export type ChainBreak = 'hash_mismatch' | 'prev_hash_mismatch' | 'position_gap';

export interface ChainVerification {
  /** Entries checked (the whole log). */
  entries: number;
  /** The last entry: record its hash elsewhere to anchor the chain (a chain alone cannot show a cut tail). */
  head: { chainPosition: number; hash: string; at: string } | null;
  /** The first entry whose link does not hold, or null when the whole chain holds. */
  firstBroken: { chainPosition: number; auditId: number; reason: ChainBreak } | null;
}

/**
 * Recompute the audit chain (custom migration audit_chain, audit_entry_hash()) in chain order and name
 * its first broken link: an entry whose stored hash is not the hash of its content (altered), whose
 * prev_hash is not its predecessor's hash (re-linked), or whose position does not follow its
 * predecessor's (entries taken out). One pass on the server; nothing but the answer leaves it.
 */
export async function verifyAuditChain(db: DbOrTx): Promise<ChainVerification> {
  const rows = await db.execute<{
    entries: string;
    head_position: string | null;
    head_hash: string | null;
    head_at: Date | string | null;
    broken_position: string | null;
    broken_id: string | null;
    broken_reason: ChainBreak | null;
  }>(sql`
    with chain as (
      select id, chain_position, hash, at,
             case
               when hash <> audit_entry_hash(chain_position, prev_hash, id, at, actor, actor_name, actor_role,
                                             actor_party_id, action, entity_type, entity_id, data)
                 then 'hash_mismatch'
               when chain_position <> coalesce(lag(chain_position) over w, 0) + 1 then 'position_gap'
               when prev_hash <> coalesce(lag(hash) over w, repeat('0', 64)) then 'prev_hash_mismatch'
             end as broken
        from ${auditLog}
      window w as (order by chain_position)
    )
    select (select count(*) from chain) as entries,
           h.chain_position as head_position, h.hash as head_hash, h.at as head_at,
           b.chain_position as broken_position, b.id as broken_id, b.broken as broken_reason
      from (select 1) one
      left join lateral (select * from chain order by chain_position desc limit 1) h on true
      left join lateral (select * from chain where broken is not null order by chain_position limit 1) b on true
  `);
  const r = rows[0]!;
  return {
    entries: Number(r.entries),
    head:
      r.head_position === null
        ? null
        : {
            chainPosition: Number(r.head_position),
            hash: r.head_hash!,
            at: new Date(r.head_at!).toISOString(),
          },
    firstBroken:
      r.broken_position === null
        ? null
        : { chainPosition: Number(r.broken_position), auditId: Number(r.broken_id), reason: r.broken_reason! },
  };
}
