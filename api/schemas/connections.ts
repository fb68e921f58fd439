import { Type, type Static } from '@sinclair/typebox';
import {
  ALLOCATION_BASIS_KINDS,
  ALLOCATION_METHODS,
  CONNECTION_EVENT_KINDS,
  type AllocationMethodRow,
  type Connection,
  type ConnectionEvent,
  type GridUser,
  type ZeroAllocation,
} from '../../db/schema/index.js';
import type { AllocationState } from '../../db/repositories/allocation.js';
import { DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const GridUserSchema = Type.Object(
  { id: Uuid, name: Type.String(), email: Type.Union([Type.String(), Type.Null()]), createdAt: DateTime },
  { title: 'GridUser' },
);
export const GridUserCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    email: Type.Optional(Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()])),
  },
  { additionalProperties: false, title: 'GridUserCreate' },
);
export const IdParams = Type.Object({ id: Uuid });

export const AllocationMethodSchema = Type.Union(
  ALLOCATION_METHODS.map((m) => Type.Literal(m)),
  { description: 'iSMA or profile allocation' },
);
export const AllocationBasisKindSchema = Type.Union(
  ALLOCATION_BASIS_KINDS.map((k) => Type.Literal(k)),
  {
    description:
      "What the iSMA reading rests on: the supplier's iSMA request under its mandate, the customer's explicit consent, or a legal provision (DOMAIN.md, allocation basis)",
  },
);

/** The basis fields a new basis period takes (POST /connections/{ean}/allocation-basis, and at registration). */
const basisFields = {
  method: AllocationMethodSchema,
  effectiveFrom: DateTime,
  basis: Type.Optional(
    Type.Union([AllocationBasisKindSchema, Type.Null()], { description: 'Required for iSMA; none for profile' }),
  ),
  supplierGln: Type.Optional({
    ...Gln13,
    description:
      "supplier_isma_request: the supplier whose request it is (default: the connection's supplier at effectiveFrom; another is refused)",
  }),
  reference: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'legal_provision: the provision (required); customer_consent: where the consent is kept',
    }),
  ),
};

/** AL-2 technical capacity as stored (numeric(10,3)): whole thousandths of a kW, at least one (issue 8). */
const CapacityKw = {
  minimum: 0.001,
  maximum: 9_999_999.999,
  multipleOf: 0.001,
  description: 'AL-2: technical capacity in kW, to 0.001 kW (the resolution stored)',
} as const;

export const ConnectionSchema = Type.Object(
  {
    ean: Ean18,
    gridOperatorId: Uuid,
    gridArea: Type.String(),
    supplierId: Nullable(Uuid),
    balanceResponsiblePartyId: Nullable(Uuid),
    gridUserId: Nullable(Uuid),
    capacityKw: Type.Number({ description: 'AL-2: technical capacity' }),
    remoteReadingOptOut: Type.Boolean({ description: 'AL-5' }),
    profileCategory: Type.String(),
    annualStandardVolumeKwh: Type.Integer(),
    feedInProfileCategory: Type.String({ description: 'AL-4: profile of feed-in' }),
    annualStandardFeedInKwh: Type.Integer({ description: 'AL-4: annual standard feed-in (SJI)' }),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { title: 'Connection' },
);

export const ConnectionCreate = Type.Object(
  {
    ean: Ean18,
    gridOperatorGln: Gln13,
    gridArea: Type.String({ minLength: 1, maxLength: 100 }),
    supplierGln: Type.Optional(Type.Union([Gln13, Type.Null()])),
    balanceResponsiblePartyGln: Type.Optional(Type.Union([Gln13, Type.Null()])),
    gridUserId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    capacityKw: Type.Number(CapacityKw),
    remoteReadingOptOut: Type.Optional(Type.Boolean()),
    profileCategory: Type.Optional(Type.String({ minLength: 1, maxLength: 10 })),
    annualStandardVolumeKwh: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    feedInProfileCategory: Type.Optional(Type.String({ minLength: 1, maxLength: 10 })),
    annualStandardFeedInKwh: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    allocationMethod: Type.Optional(
      Type.Object(basisFields, {
        additionalProperties: false,
        description: 'The initial allocation basis (none: allocated by profile, AL-4)',
      }),
    ),
  },
  { additionalProperties: false, title: 'ConnectionCreate' },
);

export const ConnectionPatch = Type.Object(
  {
    gridArea: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    balanceResponsiblePartyGln: Type.Optional(Type.Union([Gln13, Type.Null()])),
    capacityKw: Type.Optional(Type.Number(CapacityKw)),
    remoteReadingOptOut: Type.Optional(Type.Boolean()),
    profileCategory: Type.Optional(Type.String({ minLength: 1, maxLength: 10 })),
    annualStandardVolumeKwh: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    feedInProfileCategory: Type.Optional(Type.String({ minLength: 1, maxLength: 10 })),
    annualStandardFeedInKwh: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
  },
  { additionalProperties: false, minProperties: 1, title: 'ConnectionPatch' },
);

export const ConnectionQuery = Type.Intersect([
  Paging,
  Type.Object({ gridOperatorGln: Type.Optional(Gln13), supplierGln: Type.Optional(Gln13) }),
]);
export const ConnectionList = Page(ConnectionSchema);
export const EanParams = Type.Object({ ean: Ean18 });

export const ConnectionEventKindSchema = Type.Union(CONNECTION_EVENT_KINDS.map((k) => Type.Literal(k)));
export const ConnectionEventSchema = Type.Object(
  {
    id: Uuid,
    connectionEan: Ean18,
    kind: ConnectionEventKindSchema,
    effectiveAt: DateTime,
    previousSupplierId: Nullable(Uuid),
    newSupplierId: Nullable(Uuid),
    previousGridUserId: Nullable(Uuid),
    newGridUserId: Nullable(Uuid),
    recordedAt: DateTime,
  },
  { title: 'ConnectionEvent' },
);
export const ConnectionEventCreate = Type.Object(
  {
    kind: ConnectionEventKindSchema,
    effectiveAt: DateTime,
    newSupplierGln: Type.Optional(Gln13),
    newBalanceResponsiblePartyGln: Type.Optional({
      ...Gln13,
      description: "Supplier switch: the new supplier's BRP (default: the connection keeps its BRP)",
    }),
    newGridUserId: Type.Optional(Uuid),
  },
  { additionalProperties: false, title: 'ConnectionEventCreate' },
);
export const ConnectionEventResult = Type.Object(
  {
    event: ConnectionEventSchema,
    connection: ConnectionSchema,
    mandatesEnded: Type.Integer({ description: 'DC-4: mandates ended by a customer switch' }),
  },
  { title: 'ConnectionEventResult' },
);

export const AllocationMethodRowSchema = Type.Object(
  {
    id: Uuid,
    method: AllocationMethodSchema,
    effectiveFrom: DateTime,
    basis: Type.Union([AllocationBasisKindSchema, Type.Null()], {
      description: 'null: profile, or an iSMA period recorded before bases were whose supplier was unknown (none)',
    }),
    basisPartyId: Type.Union([Uuid, Type.Null()], { description: 'supplier_isma_request: the supplier' }),
    basisReference: Nullable(Type.String()),
    caseId: Type.Union([Uuid, Type.Null()], { description: 'GT-4: the case that switched the connection to profile' }),
    reason: Type.String(),
    recordedBy: Type.String({ description: 'The actor who recorded it' }),
    recordedAt: DateTime,
  },
  { title: 'AllocationBasisRow' },
);
export const ZeroAllocationSchema = Type.Object(
  { id: Uuid, caseId: Uuid, startedAt: DateTime, endedAt: Nullable(DateTime), endReason: Nullable(Type.String()) },
  { title: 'ZeroAllocation' },
);
const Outcome = {
  current: Type.Union([Type.Literal('isma'), Type.Literal('profile')], {
    description: 'How the connection is allocated now: iSMA only on a basis in force (AL-4)',
  }),
  profileReason: Type.Union([Type.Literal('profile_method'), Type.Literal('no_allocation_basis'), Type.Null()], {
    description:
      'Why profile: the recorded method (also after GT-4), or no basis in force (none recorded, or the supplier whose iSMA request it was no longer supplies the connection); null: iSMA',
  }),
};
export const AllocationStateSchema = Type.Object(
  {
    connectionEan: Ean18,
    ...Outcome,
    allocatedWithZeroValues: Type.Boolean({
      description: "GT-4 / AL-6: an iSMA doubt case is open; allocated with '0' values",
    }),
    history: Type.Array(AllocationMethodRowSchema),
    zeroAllocations: Type.Array(ZeroAllocationSchema),
  },
  { title: 'AllocationState' },
);
export const AllocationBasisSchema = Type.Object(
  {
    connectionEan: Ean18,
    ...Outcome,
    inForce: Type.Union([AllocationMethodRowSchema, Type.Null()], {
      description: 'The basis period in force now (null: none recorded, so profile)',
    }),
    history: Type.Array(AllocationMethodRowSchema, { description: 'Every period, oldest first; none is overwritten' }),
  },
  { title: 'AllocationBasis' },
);
export const AllocationBasisCreate = Type.Object(
  { ...basisFields, reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false, title: 'AllocationBasisCreate' },
);

export function toGridUserDto(u: GridUser): Static<typeof GridUserSchema> {
  return { id: u.id, name: u.name, email: u.email, createdAt: u.createdAt.toISOString() };
}

export function toConnectionDto(c: Connection): Static<typeof ConnectionSchema> {
  return {
    ean: c.ean,
    gridOperatorId: c.gridOperatorId,
    gridArea: c.gridArea,
    supplierId: c.supplierId,
    balanceResponsiblePartyId: c.balanceResponsiblePartyId,
    gridUserId: c.gridUserId,
    capacityKw: c.capacityKw,
    remoteReadingOptOut: c.remoteReadingOptOut,
    profileCategory: c.profileCategory,
    annualStandardVolumeKwh: c.annualStandardVolumeKwh,
    feedInProfileCategory: c.feedInProfileCategory,
    annualStandardFeedInKwh: c.annualStandardFeedInKwh,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function toEventDto(e: ConnectionEvent): Static<typeof ConnectionEventSchema> {
  return {
    id: e.id,
    connectionEan: e.connectionEan,
    kind: e.kind,
    effectiveAt: e.effectiveAt.toISOString(),
    previousSupplierId: e.previousSupplierId,
    newSupplierId: e.newSupplierId,
    previousGridUserId: e.previousGridUserId,
    newGridUserId: e.newGridUserId,
    recordedAt: e.recordedAt.toISOString(),
  };
}

export const toMethodDto = (m: AllocationMethodRow): Static<typeof AllocationMethodRowSchema> => ({
  id: m.id,
  method: m.method,
  effectiveFrom: m.effectiveFrom.toISOString(),
  basis: m.basis,
  basisPartyId: m.basisPartyId,
  basisReference: m.basisReference,
  caseId: m.caseId,
  reason: m.reason,
  recordedBy: m.recordedBy,
  recordedAt: m.recordedAt.toISOString(),
});
const toZeroDto = (z: ZeroAllocation): Static<typeof ZeroAllocationSchema> => ({
  id: z.id,
  caseId: z.caseId,
  startedAt: z.startedAt.toISOString(),
  endedAt: z.endedAt ? z.endedAt.toISOString() : null,
  endReason: z.endReason,
});
const outcomeDto = (s: AllocationState) => ({
  current: s.outcome === 'isma' ? ('isma' as const) : ('profile' as const),
  profileReason: s.outcome === 'isma' ? null : s.outcome,
});

export function toAllocationDto(ean: string, s: AllocationState): Static<typeof AllocationStateSchema> {
  return {
    connectionEan: ean,
    ...outcomeDto(s),
    allocatedWithZeroValues: s.zeroAllocation !== null,
    history: s.history.map(toMethodDto),
    zeroAllocations: s.zeroAllocations.map(toZeroDto),
  };
}

export function toAllocationBasisDto(ean: string, s: AllocationState): Static<typeof AllocationBasisSchema> {
  return {
    connectionEan: ean,
    ...outcomeDto(s),
    inForce: s.inForce ? toMethodDto(s.inForce) : null,
    history: s.history.map(toMethodDto),
  };
}
