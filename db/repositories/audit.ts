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

export type ChainBreak = 'hash_mismatch' | 'prev_hash_mismatch' | 'position_gap' | 'erasure_unrecorded';

export interface ChainVerification {
  /** Entries checked (the whole log). */
  entries: number;
  /** Of those, entries whose details (personal part) were erased by the retention purge (DC-9). */
  detailsErased: number;
  /** The last entry: record its hash elsewhere to anchor the chain (a chain alone cannot show a cut tail). */
  head: { chainPosition: number; hash: string; at: string } | null;
  /** The first entry whose link does not hold, or null when the whole chain holds. */
  firstBroken: { chainPosition: number; auditId: number; reason: ChainBreak } | null;
}

/**
 * Recompute the audit chain (custom migrations audit_chain and audit_details_erasable: audit_entry_hash(),
 * audit_details_digest()) in chain order and name its first broken link: an entry whose stored hash is not
 * the hash of its chained columns, whose details (still present) no longer match their digest, or which
 * claims erasure yet still holds details (altered); whose prev_hash is not its predecessor's hash (re-linked);
 * whose position does not follow its predecessor's (entries taken out); or whose details were erased without
 * naming an earlier 'retention.purged' entry (erased outside the purge). DC-9: an erased entry verifies by its
 * kept digest, so a purge leaves the chain intact. One pass on the server; nothing but the answer leaves it.
 */
export async function verifyAuditChain(db: DbOrTx): Promise<ChainVerification> {
  const rows = await db.execute<{
    entries: string;
    erased: string;
    head_position: string | null;
    head_hash: string | null;
    head_at: Date | string | null;
    broken_position: string | null;
    broken_id: string | null;
    broken_reason: ChainBreak | null;
  }>(sql`
    with chain as (
      select a.id, a.chain_position, a.hash, a.at, a.details_erased_at,
             case
               when a.hash <> audit_entry_hash(a.chain_position, a.prev_hash, a.id, a.at, a.actor, a.actor_role,
                                               a.actor_party_id, a.action, a.entity_type, a.entity_id,
                                               a.details_digest, a.legacy_hash)
                 or (a.details_erased_at is null
                     and a.details_digest <> audit_details_digest(a.details_salt, a.actor_name, a.data))
                 or (a.details_erased_at is not null
                     and (a.data <> '{}'::jsonb or a.actor_name is not null or a.details_salt is not null))
                 then 'hash_mismatch'
               when a.chain_position <> coalesce(lag(a.chain_position) over w, 0) + 1 then 'position_gap'
               when a.prev_hash <> coalesce(lag(a.hash) over w, repeat('0', 64)) then 'prev_hash_mismatch'
               when a.details_erased_at is not null
                    and not exists (select 1 from ${auditLog} p
                                     where p.id = a.details_erased_by and p.action = 'retention.purged'
                                       and p.chain_position > a.chain_position)
                 then 'erasure_unrecorded'
             end as broken
        from ${auditLog} a
      window w as (order by a.chain_position)
    )
    select (select count(*) from chain) as entries,
           (select count(*) from chain where details_erased_at is not null) as erased,
           h.chain_position as head_position, h.hash as head_hash, h.at as head_at,
           b.chain_position as broken_position, b.id as broken_id, b.broken as broken_reason
      from (select 1) one
      left join lateral (select * from chain order by chain_position desc limit 1) h on true
      left join lateral (select * from chain where broken is not null order by chain_position limit 1) b on true
  `);
  const r = rows[0]!;
  return {
    entries: Number(r.entries),
    detailsErased: Number(r.erased),
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
