import { Type, type Static } from '@sinclair/typebox';
import { ROLES, type ApiKey } from '../../db/schema/index.js';
import { DateTime, Gln13, Page, Paging, Uuid } from './common.js';

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const ApiKeySchema = Type.Object(
  {
    id: Uuid,
    prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
    label: Type.String(),
    holderName: Type.Union([Type.String(), Type.Null()], { description: 'The person the key is issued to' }),
    role: RoleSchema,
    partyId: Type.Union([Uuid, Type.Null()]),
    gridUserId: Type.Union([Uuid, Type.Null()]),
    createdAt: DateTime,
    revokedAt: Type.Union([DateTime, Type.Null()]),
    expiresAt: Type.Union([DateTime, Type.Null()], { description: 'Refused from this instant on; null: no expiry' }),
    lastUsedAt: Type.Union([DateTime, Type.Null()], {
      description: 'Last authenticated use, at most AUTH_LAST_USED_FLUSH_MS (default 1 min) behind',
    }),
    rotatedFromId: Type.Union([Uuid, Type.Null()], { description: 'The key this one replaced' }),
  },
  { title: 'ApiKey' },
);
export const ApiKeyCreated = Type.Object(
  {
    apiKey: ApiKeySchema,
    key: Type.String({ description: 'The key itself: shown only in this response, store it now' }),
  },
  { title: 'ApiKeyCreated' },
);
export const ApiKeyCreate = Type.Object(
  {
    role: RoleSchema,
    label: Type.String({ minLength: 1, maxLength: 200 }),
    holderName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'The person the key is issued to; audit entries name them',
      }),
    ),
    partyGln: Type.Optional(Gln13),
    gridUserId: Type.Optional(Uuid),
    expiresAt: Type.Optional(Type.String({ ...DateTime, description: 'Default: a year from now' })),
  },
  { additionalProperties: false, title: 'ApiKeyCreate' },
);
export const ApiKeyRotate = Type.Object(
  {
    overlapUntil: Type.Optional(
      Type.String({
        ...DateTime,
        description: 'The old key stays valid until then (default: 7 days from now; never beyond its own expiry)',
      }),
    ),
    expiresAt: Type.Optional(
      Type.String({ ...DateTime, description: 'Expiry of the new key (default: a year from now)' }),
    ),
  },
  { additionalProperties: false, title: 'ApiKeyRotate' },
);
export const ApiKeyRotated = Type.Object(
  {
    apiKey: ApiKeySchema,
    key: Type.String({ description: 'The new key: shown only in this response, store it now' }),
    previous: ApiKeySchema,
  },
  { title: 'ApiKeyRotated' },
);
export const ApiKeyQuery = Type.Intersect([Paging, Type.Object({ includeRevoked: Type.Boolean({ default: false }) })]);
export const ApiKeyList = Page(ApiKeySchema);

export function toApiKeyDto(k: ApiKey): Static<typeof ApiKeySchema> {
  return {
    id: k.id,
    prefix: k.prefix,
    label: k.label,
    holderName: k.holderName,
    role: k.role,
    partyId: k.partyId,
    gridUserId: k.gridUserId,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt ? k.revokedAt.toISOString() : null,
    expiresAt: k.expiresAt ? k.expiresAt.toISOString() : null,
    lastUsedAt: k.lastUsedAt ? k.lastUsedAt.toISOString() : null,
    rotatedFromId: k.rotatedFromId,
  };
}
