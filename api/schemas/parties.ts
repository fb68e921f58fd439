import { Type, type Static } from '@sinclair/typebox';
import { PARTY_ROLES, type ContactPerson, type Party } from '../../db/schema/index.js';
import { DateTime, Gln13, Page, Uuid } from './common.js';

export const PartyRoleSchema = Type.Union(
  PARTY_ROLES.map((r) => Type.Literal(r)),
  { description: 'Market role' },
);

export const PartySchema = Type.Object(
  {
    id: Uuid,
    gln: Gln13,
    name: Type.String(),
    roles: Type.Array(PartyRoleSchema),
    admitted: Type.Boolean({ description: 'DC-4: false when the party no longer meets the access conditions' }),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'Party' },
);
export type PartyDto = Static<typeof PartySchema>;

export const PartyCreate = Type.Object(
  {
    gln: Gln13,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    roles: Type.Array(PartyRoleSchema, { minItems: 1, maxItems: 4, uniqueItems: true }),
  },
  { additionalProperties: false, title: 'PartyCreate' },
);

export const PartyPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    roles: Type.Optional(Type.Array(PartyRoleSchema, { minItems: 1, maxItems: 4, uniqueItems: true })),
    admitted: Type.Optional(Type.Boolean({ description: 'DC-4: false ends every mandate of the party' })),
  },
  { additionalProperties: false, minProperties: 1, title: 'PartyPatch' },
);

export const PartyUpdated = Type.Object(
  { party: PartySchema, mandatesEnded: Type.Integer() },
  { title: 'PartyUpdated' },
);

export const PartyList = Page(PartySchema);

export const GlnParams = Type.Object({ gln: Gln13 });

export const ContactSchema = Type.Object(
  {
    id: Uuid,
    partyId: Uuid,
    contactGroup: Type.String(),
    name: Type.String(),
    email: Type.String(),
    phone: Type.Union([Type.String(), Type.Null()]),
    createdAt: DateTime,
    removedAt: Type.Union([DateTime, Type.Null()]),
  },
  { title: 'ContactPerson' },
);

const Email = Type.String({ format: 'email', maxLength: 254 });
export const ContactCreate = Type.Object(
  {
    contactGroup: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'CPR group, e.g. gerede-twijfel-klantmandaat (GT-10)',
    }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    email: Email,
    phone: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
  },
  { additionalProperties: false, title: 'ContactCreate' },
);
export const ContactPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    email: Type.Optional(Email),
    phone: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1, title: 'ContactPatch' },
);
export const ContactList = Type.Object({ items: Type.Array(ContactSchema) });
export const ContactParams = Type.Object({ gln: Gln13, id: Uuid });

export function toPartyDto(p: Party): PartyDto {
  return {
    id: p.id,
    gln: p.gln,
    name: p.name,
    roles: p.roles,
    admitted: p.admitted,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function toContactDto(c: ContactPerson): Static<typeof ContactSchema> {
  return {
    id: c.id,
    partyId: c.partyId,
    contactGroup: c.contactGroup,
    name: c.name,
    email: c.email,
    phone: c.phone,
    createdAt: c.createdAt.toISOString(),
    removedAt: c.removedAt ? c.removedAt.toISOString() : null,
  };
}
