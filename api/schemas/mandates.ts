import { Type, type Static } from '@sinclair/typebox';
import {
  DATA_KINDS,
  MANDATE_CONFIRMED_BY,
  MANDATE_END_REASONS,
  MANDATE_GRANTED_VIA,
  MANDATE_STATUSES,
  type DataKind,
  type Mandate,
} from '../../db/schema/index.js';
import { mandateState } from '../../db/repositories/mandates.js';
import { DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';

/** An `enum` rather than a union of literals: cheaper to validate and serialise on the P4 hot path. */
export const DataKindSchema = Type.Unsafe<DataKind>({
  type: 'string',
  enum: [...DATA_KINDS],
  description: 'monthly_registers (billing), daily_registers, interval_data (quarter-hour)',
});
const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const MandateSchema = Type.Object(
  {
    id: Uuid,
    partyId: Uuid,
    connectionEan: Ean18,
    dataKinds: Type.Array(DataKindSchema),
    purpose: Type.String(),
    validFrom: DateTime,
    validTo: DateTime,
    historyIncluded: Type.Boolean({ description: 'DC-2: data from before validFrom only with explicit consent' }),
    grantedVia: lit(MANDATE_GRANTED_VIA),
    grantedByName: Type.String(),
    grantedByIsGridUser: Type.Boolean(),
    status: lit(MANDATE_STATUSES),
    state: Type.Union(
      ['pending_confirmation', 'active', 'not_yet_valid', 'expired', 'ended'].map((s) => Type.Literal(s)),
      { description: 'status seen through the clock: expiry is not stored' },
    ),
    confirmedAt: Type.Union([DateTime, Type.Null()]),
    confirmedBy: Type.Union([lit(MANDATE_CONFIRMED_BY), Type.Null()], {
      description:
        'DC-3: declaration (the party declared the grid user granted it) or grid_user (the grid user confirmed it with their own key). ' +
        'After the party’s doubt case on the connection closed “mandate not demonstrated”, only grid_user counts (GT-8b): a new mandate is pending until then',
    }),
    endedAt: Type.Union([DateTime, Type.Null()]),
    endReason: Type.Union([lit(MANDATE_END_REASONS), Type.Null()]),
    createdAt: DateTime,
  },
  { title: 'Mandate' },
);
export type MandateDto = Static<typeof MandateSchema>;

const MandateFields = {
  dataKinds: Type.Array(DataKindSchema, { minItems: 1, maxItems: 3, uniqueItems: true }),
  purpose: Type.String({ minLength: 1, maxLength: 500 }),
  validFrom: DateTime,
  validTo: DateTime,
  historyIncluded: Type.Boolean(),
};

export const MandateCreate = Type.Object(
  {
    partyGln: Type.Optional(Gln13),
    connectionEan: Ean18,
    ...MandateFields,
    grantedVia: lit(MANDATE_GRANTED_VIA),
    grantedByName: Type.String({ minLength: 1, maxLength: 200 }),
    grantedByIsGridUser: Type.Boolean({
      description:
        'DC-3: false keeps the mandate pending until the grid user confirms. The party’s word: after its doubt case on the connection closed “mandate not demonstrated”, the mandate is pending until the grid user confirms all the same (GT-8b)',
    }),
  },
  {
    additionalProperties: false,
    title: 'MandateCreate',
    description: 'partyGln only for admin keys; a supplier key registers for its own party',
  },
);

/** A grid user granting a mandate in the portal (DC-2): active at once. */
export const PortalMandateCreate = Type.Object(
  { partyGln: Gln13, ...MandateFields },
  { additionalProperties: false, title: 'PortalMandateCreate' },
);

export const MandateQuery = Type.Intersect([
  Paging,
  Type.Object({
    connectionEan: Type.Optional(Ean18),
    partyGln: Type.Optional(Gln13),
    status: Type.Optional(lit(MANDATE_STATUSES)),
  }),
]);
export const MandateList = Page(MandateSchema);

export function toMandateDto(m: Mandate, now = new Date()): MandateDto {
  return {
    id: m.id,
    partyId: m.partyId,
    connectionEan: m.connectionEan,
    dataKinds: m.dataKinds,
    purpose: m.purpose,
    validFrom: m.validFrom.toISOString(),
    validTo: m.validTo.toISOString(),
    historyIncluded: m.historyIncluded,
    grantedVia: m.grantedVia,
    grantedByName: m.grantedByName,
    grantedByIsGridUser: m.grantedByIsGridUser,
    status: m.status,
    state: mandateState(m, now),
    confirmedAt: m.confirmedAt ? m.confirmedAt.toISOString() : null,
    confirmedBy: m.confirmedBy,
    endedAt: m.endedAt ? m.endedAt.toISOString() : null,
    endReason: m.endReason,
    createdAt: m.createdAt.toISOString(),
  };
}
