import { Type, type Static } from '@sinclair/typebox';
import {
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
      Type.Object({ method: AllocationMethodSchema, effectiveFrom: DateTime }, { additionalProperties: false }),
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
    caseId: Nullable(Uuid),
    reason: Type.String(),
    recordedAt: DateTime,
  },
  { title: 'AllocationMethodRow' },
);
export const ZeroAllocationSchema = Type.Object(
  { id: Uuid, caseId: Uuid, startedAt: DateTime, endedAt: Nullable(DateTime), endReason: Nullable(Type.String()) },
  { title: 'ZeroAllocation' },
);
export const AllocationStateSchema = Type.Object(
  {
    connectionEan: Ean18,
    current: Type.Union([AllocationMethodSchema, Type.Null()]),
    allocatedWithZeroValues: Type.Boolean({
      description: "GT-4 / AL-6: an iSMA doubt case is open; allocated with '0' values",
    }),
    history: Type.Array(AllocationMethodRowSchema),
    zeroAllocations: Type.Array(ZeroAllocationSchema),
  },
  { title: 'AllocationState' },
);
export const AllocationMethodCreate = Type.Object(
  { method: AllocationMethodSchema, effectiveFrom: DateTime, reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false, title: 'AllocationMethodCreate' },
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

const toMethodDto = (m: AllocationMethodRow): Static<typeof AllocationMethodRowSchema> => ({
  id: m.id,
  method: m.method,
  effectiveFrom: m.effectiveFrom.toISOString(),
  caseId: m.caseId,
  reason: m.reason,
  recordedAt: m.recordedAt.toISOString(),
});
const toZeroDto = (z: ZeroAllocation): Static<typeof ZeroAllocationSchema> => ({
  id: z.id,
  caseId: z.caseId,
  startedAt: z.startedAt.toISOString(),
  endedAt: z.endedAt ? z.endedAt.toISOString() : null,
  endReason: z.endReason,
});

export function toAllocationDto(ean: string, s: AllocationState): Static<typeof AllocationStateSchema> {
  return {
    connectionEan: ean,
    current: s.current,
    allocatedWithZeroValues: s.zeroAllocation !== null,
    history: s.history.map(toMethodDto),
    zeroAllocations: s.zeroAllocations.map(toZeroDto),
  };
}
