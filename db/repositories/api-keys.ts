/** API keys (admin): created with a role and the party or grid user they act for; shown once. */
import { and, asc, count, eq, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { apiKeys, gridUsers, parties, type ApiKey, type Role } from '../schema/index.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { notFound, validationError } from '../../lib/errors.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';

export interface ApiKeyInput {
  role: Role;
  label: string;
  /** The person the key is issued to (audit entries name them). */
  holderName?: string | null;
  partyId?: string | null;
  gridUserId?: string | null;
}

/** Which party roles a key role may act for. */
const PARTY_ROLES_FOR: Partial<Record<Role, string[]>> = {
  'case-handler': ['grid_operator'],
  'privacy-officer': ['grid_operator'],
  // A compliance officer belongs to a grid operator: it inspects that operator's case files only.
  compliance: ['grid_operator'],
  supplier: ['supplier', 'service_provider'],
  'p4-client': ['supplier', 'service_provider'],
  brp: ['balance_responsible_party'],
};

export async function createApiKey(
  db: DbOrTx,
  actor: Actor,
  input: ApiKeyInput,
): Promise<{ apiKey: ApiKey; key: string }> {
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
      },
    });
    return { apiKey: row, key: k.key };
  });
}

export async function listApiKeys(
  db: DbOrTx,
  f: { includeRevoked: boolean; limit: number; offset: number },
): Promise<{ items: ApiKey[]; total: number }> {
  const cond = f.includeRevoked ? undefined : isNull(apiKeys.revokedAt);
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
