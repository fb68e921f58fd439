/**
 * API keys (admin): created with a role and the party or grid user they act for; shown once. Each key expires
 * (expires_at; keys made before issue 20 have none until rotated), records its last use (api/plugins/last-used.ts)
 * and is rotated with overlap: the new key works at once, the old one until the overlap ends.
 */
import { and, asc, count, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { pgArray } from '../pg-array.js';
import { apiKeys, gridUsers, parties, type ApiKey, type Role } from '../schema/index.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { invalidState, notFound, validationError } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

export interface ApiKeyInput {
  role: Role;
  label: string;
  /** The person the key is issued to (audit entries name them). */
  holderName?: string | null;
  partyId?: string | null;
  gridUserId?: string | null;
  /** Refused from this instant on; default DEFAULT_KEY_DAYS after creation. */
  expiresAt?: Date | null;
}

/** Lifetime of a new key when none is given: a year, so a forgotten key ends on its own. */
export const DEFAULT_KEY_DAYS = 365;
/** How long the old key stays valid after a rotation when no end is given. */
export const DEFAULT_ROTATION_OVERLAP_DAYS = 7;
const DAY_MS = 86_400_000;

/** Which party roles a key (or client certificate) role may act for. */
export const PARTY_ROLES_FOR: Partial<Record<Role, string[]>> = {
  'case-handler': ['grid_operator'],
  'privacy-officer': ['grid_operator'],
  // A compliance officer belongs to a grid operator: it inspects that operator's case files only.
  compliance: ['grid_operator'],
  supplier: ['supplier', 'service_provider'],
  'p4-client': ['supplier', 'service_provider'],
  brp: ['balance_responsible_party'],
};

/** The expiry to store: the one given (which must lie ahead), else DEFAULT_KEY_DAYS from now. */
function expiryOf(given: Date | null | undefined, now: Date): Date {
  if (given === undefined || given === null) return new Date(now.getTime() + DEFAULT_KEY_DAYS * DAY_MS);
  if (given.getTime() <= now.getTime())
    throw validationError('expiry_in_past', 'A key must expire after it is made', 'expiresAt');
  return given;
}

export async function createApiKey(
  db: DbOrTx,
  actor: Actor,
  input: ApiKeyInput,
  now = new Date(),
): Promise<{ apiKey: ApiKey; key: string }> {
  const expiresAt = expiryOf(input.expiresAt, now);
  const needsParty = PARTY_ROLES_FOR[input.role];
  if (needsParty && !input.partyId)
    throw validationError('party_required', `A ${input.role} key acts for a party: give partyGln`, 'partyId');
  if (!needsParty && input.partyId)
    throw validationError('unexpected_field', `A ${input.role} key acts for no party`, 'partyId');
  if (input.role === 'grid-user' && !input.gridUserId)
    throw validationError('grid_user_required', 'A grid-user key acts for a grid user: give gridUserId', 'gridUserId');
  if (input.role !== 'grid-user' && input.gridUserId)
    throw validationError('unexpected_field', `A ${input.role} key acts for no grid user`, 'gridUserId');
  return db.transaction(async (tx) => {
    if (input.partyId) {
      const [p] = await tx.select().from(parties).where(eq(parties.id, input.partyId));
      if (!p) throw notFound('party_not_found', `No party ${input.partyId}`, 'partyId');
      if (needsParty && !p.roles.some((r) => needsParty.includes(r))) {
        throw validationError(
          'party_role_mismatch',
          `A ${input.role} key needs a party with role ${needsParty.join(' or ')}`,
          'partyId',
        );
      }
    }
    if (input.gridUserId) {
      const [u] = await tx.select({ id: gridUsers.id }).from(gridUsers).where(eq(gridUsers.id, input.gridUserId));
      if (!u) throw notFound('grid_user_not_found', `No grid user ${input.gridUserId}`, 'gridUserId');
    }
    const k = generateApiKey();
    const [row] = await tx
      .insert(apiKeys)
      .values({
        keyHash: k.hash,
        prefix: k.prefix,
        label: input.label,
        holderName: input.holderName ?? null,
        role: input.role,
        partyId: input.partyId ?? null,
        gridUserId: input.gridUserId ?? null,
        expiresAt,
      })
      .returning();
    if (!row) throw new Error('api key insert returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'api_key.created',
      entityType: 'api_key',
      entityId: row.id,
      data: {
        role: row.role,
        label: row.label,
        holderName: row.holderName,
        prefix: row.prefix,
        partyId: row.partyId,
        gridUserId: row.gridUserId,
        expiresAt: row.expiresAt?.toISOString() ?? null,
      },
    });
    return { apiKey: row, key: k.key };
  });
}

/**
 * Overlapping rotation: a new key for the same holder (role, party or grid user, label, holder) that works at
 * once, while the old key stays valid until `overlapUntil` (default DEFAULT_ROTATION_OVERLAP_DAYS; never later
 * than its own expiry), so the client can switch without an outage. A revoked or expired key is not rotated:
 * create a new one.
 */
export async function rotateApiKey(
  db: DbOrTx,
  actor: Actor,
  id: string,
  opts: { overlapUntil?: Date | null; expiresAt?: Date | null } = {},
  now = new Date(),
): Promise<{ apiKey: ApiKey; key: string; previous: ApiKey }> {
  const expiresAt = expiryOf(opts.expiresAt, now);
  const overlapUntil = opts.overlapUntil ?? new Date(now.getTime() + DEFAULT_ROTATION_OVERLAP_DAYS * DAY_MS);
  if (overlapUntil.getTime() < now.getTime())
    throw validationError('overlap_in_past', 'The old key cannot stop before now: revoke it instead', 'overlapUntil');
  return db.transaction(async (tx) => {
    const [old] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    if (!old) throw notFound('api_key_not_found', `No API key ${id}`, 'apiKeyId');
    if (old.revokedAt) throw invalidState('api_key_revoked', 'A revoked key is not rotated: create a new one');
    if (old.expiresAt && old.expiresAt.getTime() <= now.getTime())
      throw invalidState('api_key_expired', 'An expired key is not rotated: create a new one');
    const oldUntil = old.expiresAt && old.expiresAt < overlapUntil ? old.expiresAt : overlapUntil;
    const k = generateApiKey();
    const [created] = await tx
      .insert(apiKeys)
      .values({
        keyHash: k.hash,
        prefix: k.prefix,
        label: old.label,
        holderName: old.holderName,
        role: old.role,
        partyId: old.partyId,
        gridUserId: old.gridUserId,
        expiresAt,
        rotatedFromId: old.id,
      })
      .returning();
    const [previous] = await tx.update(apiKeys).set({ expiresAt: oldUntil }).where(eq(apiKeys.id, id)).returning();
    if (!created || !previous) throw new Error('api key rotation wrote nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'api_key.rotated',
      entityType: 'api_key',
      entityId: created.id,
      data: {
        rotatedFromId: old.id,
        prefix: created.prefix,
        previousPrefix: old.prefix,
        previousExpiresAt: oldUntil.toISOString(),
        expiresAt: expiresAt.toISOString(),
      },
    });
    return { apiKey: created, key: k.key, previous };
  });
}

/**
 * Last-used times gathered in memory (api/plugins/last-used.ts), written in one statement: at most one write per
 * key per flush interval, off the request path. A time never moves backwards.
 */
export async function recordKeysLastUsed(db: DbOrTx, uses: ReadonlyArray<{ id: string; at: Date }>): Promise<void> {
  if (uses.length === 0) return;
  await db.execute(sql`
    update api_keys k set last_used_at = u.at
      from unnest(${pgArray(uses.map((u) => u.id))}::uuid[], ${pgArray(uses.map((u) => u.at.toISOString()))}::timestamptz[]) as u(id, at)
     where k.id = u.id and (k.last_used_at is null or k.last_used_at < u.at)`);
}

export async function listApiKeys(
  db: DbOrTx,
  f: { includeRevoked: boolean; limit: number; offset: number },
  now = new Date(),
): Promise<{ items: ApiKey[]; total: number }> {
  // Without includeRevoked: the keys that work now (neither revoked nor expired).
  const cond = f.includeRevoked
    ? undefined
    : and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));
  const items = await db
    .select()
    .from(apiKeys)
    .where(cond)
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db.select({ n: count() }).from(apiKeys).where(cond);
  return { items, total: total?.n ?? 0 };
}

/** Revoke a key (idempotent). The API stops accepting it within the principal cache's TTL. */
export async function revokeApiKey(db: DbOrTx, actor: Actor, id: string, now = new Date()): Promise<ApiKey> {
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    if (!existing) throw notFound('api_key_not_found', `No API key ${id}`, 'apiKeyId');
    if (existing.revokedAt) return existing;
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) throw new Error('api key update returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'api_key.revoked',
      entityType: 'api_key',
      entityId: id,
      data: { prefix: existing.prefix },
    });
    return row;
  });
}
