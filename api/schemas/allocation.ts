import { Type, type Static } from '@sinclair/typebox';
import {
  ALLOCATION_RUN_STATUSES,
  ALLOCATION_RUN_TRIGGERS,
  type AllocationRun,
  type ConnectionPartyHistoryRow,
  type ProfileSetRow,
} from '../../db/schema/index.js';
import { ALLOCATION_REASONS, DIRECTIONS, QUARTER_HOUR_METHODS } from '../../domain/allocation.js';
import { BULK_REJECT_CODES } from '../../services/allocation/import.js';
import { CalendarDay, DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const literals = <T extends readonly string[]>(values: T, description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  );

/** The allocation day: the API's one calendar-day schema. */
export const Day = CalendarDay;
export const RunParams = Type.Object({ id: Uuid });
export const RunConnectionParams = Type.Object({ id: Uuid, ean: Ean18 });
export const YearParams = Type.Object({ year: Type.Integer({ minimum: 2000, maximum: 2100 }) });
export const Direction = literals(
  DIRECTIONS,
  'offtake (taken from the grid) or feed_in (fed into it), allocated apart (AL-3)',
);
const Method = literals(QUARTER_HOUR_METHODS);
const Reason = Type.Union([literals(ALLOCATION_REASONS), Type.Null()], {
  description: 'Why not measured (estimated: opted_out, readings_missing, readings_invalid)',
});
const DecimalWh = Type.String({ pattern: '^-?[0-9]+(\\.[0-9]+)?$', description: 'Exact volume in Wh (decimal)' });

// ---- readings (bulk) ----

export const BulkReject = Type.Object({
  line: Type.Integer(),
  connectionEan: Nullable(Type.String()),
  day: Nullable(Type.String()),
  register: Type.Union([Direction, Type.Null()]),
  code: literals(BULK_REJECT_CODES),
  message: Type.String(),
});
export const BulkImportResultSchema = Type.Object(
  {
    importId: Uuid,
    lines: Type.Integer(),
    stored: Type.Integer({ description: 'Connection-days written (new, or with registers filled in)' }),
    unchanged: Type.Integer({ description: 'Connection-days identical to what was stored' }),
    rejected: Type.Integer({ description: 'Lines rejected (AL-1, AL-2); all other lines were stored' }),
    rejectedByCode: Type.Record(Type.String(), Type.Integer()),
    rejects: Type.Array(BulkReject, { description: 'The first 100 rejected lines' }),
    durationMs: Type.Integer(),
  },
  { title: 'BulkReadingsImportResult' },
);

// ---- master data ----

export const PartyChangeCreate = Type.Object(
  {
    effectiveFrom: DateTime,
    balanceResponsiblePartyGln: Type.Optional(Type.Union([Gln13, Type.Null()])),
    gridArea: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false, minProperties: 3, title: 'PartyChangeCreate' },
);
export const PartyHistoryRowSchema = Type.Object(
  {
    id: Uuid,
    effectiveFrom: DateTime,
    supplierId: Nullable(Uuid),
    balanceResponsiblePartyId: Nullable(Uuid),
    gridArea: Type.String(),
    reason: Type.String(),
    recordedAt: DateTime,
  },
  { title: 'ConnectionPartyHistoryRow' },
);
export const PartyHistory = Type.Object(
  { connectionEan: Ean18, items: Type.Array(PartyHistoryRowSchema) },
  { title: 'ConnectionPartyHistory' },
);

export function toPartyHistoryDto(r: ConnectionPartyHistoryRow): Static<typeof PartyHistoryRowSchema> {
  return {
    id: r.id,
    effectiveFrom: r.effectiveFrom.toISOString(),
    supplierId: r.supplierId,
    balanceResponsiblePartyId: r.balanceResponsiblePartyId,
    gridArea: r.gridArea,
    reason: r.reason,
    recordedAt: r.recordedAt.toISOString(),
  };
}

// ---- profiles ----

export const ProfileSetSchema = Type.Object(
  {
    id: Uuid,
    year: Type.Integer(),
    source: Type.String(),
    categories: Type.Array(Type.String()),
    loadedBy: Type.String(),
    loadedAt: DateTime,
  },
  { title: 'ProfileSet' },
);
export const ProfileSetList = Type.Object({ items: Type.Array(ProfileSetSchema) }, { title: 'ProfileSets' });
export const ProfileUploadQuery = Type.Object(
  {
    source: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Name of the publication (default: the upload)' }),
    ),
  },
  { additionalProperties: false },
);

export function toProfileSetDto(p: ProfileSetRow): Static<typeof ProfileSetSchema> {
  return {
    id: p.id,
    year: p.year,
    source: p.source,
    categories: p.categories,
    loadedBy: p.loadedBy,
    loadedAt: p.loadedAt.toISOString(),
  };
}

// ---- runs ----

export const RunCreate = Type.Object(
  {
    gridOperatorGln: Gln13,
    day: Day,
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'Why (again): late readings, a case decided afterwards, …',
    }),
  },
  { additionalProperties: false, title: 'AllocationRunCreate' },
);
export const RunHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Repeat the request with the same key to get the same run instead of another version',
    }),
  ),
});
export const RunQuery = Type.Intersect([
  Paging,
  Type.Object({ gridOperatorGln: Type.Optional(Gln13), day: Type.Optional(Day) }),
]);

export const RunSchema = Type.Object(
  {
    id: Uuid,
    gridOperatorId: Uuid,
    day: Day,
    version: Type.Integer(),
    status: literals(ALLOCATION_RUN_STATUSES),
    trigger: literals(ALLOCATION_RUN_TRIGGERS),
    reason: Type.String(),
    requestedAt: DateTime,
    finishedAt: Nullable(DateTime),
    previousRunId: Nullable(Uuid),
    /** The grid operator's own view only. */
    summary: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    difference: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    failure: Type.Optional(Nullable(Type.String())),
  },
  { title: 'AllocationRun' },
);
export const RunCreated = Type.Object({ run: RunSchema, created: Type.Boolean() }, { title: 'AllocationRunRequested' });
export const RunList = Page(RunSchema);

export function toRunDto(r: AllocationRun, internal: boolean): Static<typeof RunSchema> {
  return {
    id: r.id,
    gridOperatorId: r.gridOperatorId,
    day: r.day,
    version: r.version,
    status: r.status,
    trigger: r.trigger,
    reason: r.reason,
    requestedAt: r.requestedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    previousRunId: r.previousRunId,
    ...(internal ? { summary: r.summary ?? null, difference: r.difference ?? null, failure: r.failure } : {}),
  };
}

export const AggregatesQuery = Type.Intersect([
  Paging,
  Type.Object({
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv')], {
        description: 'csv streams every row (or send Accept: text/csv)',
      }),
    ),
  }),
]);
export const AggregateRowSchema = Type.Object(
  {
    qh: Type.Integer({ description: 'Quarter-hour of the day, 1-based' }),
    quarterHourStart: DateTime,
    quarterHourEnd: DateTime,
    balanceResponsiblePartyGln: Gln13,
    supplierGln: Gln13,
    gridArea: Type.String(),
    direction: Direction,
    volumeWh: DecimalWh,
    volumeKwh: Type.Number({ description: 'Rounded to whole Wh' }),
    estimated: Type.Boolean({ description: 'Includes profile estimates for missing quarter-hour data' }),
    belowMinimumConnections: Type.Boolean({
      description: 'AL-3: fewer connections than ALLOCATION_MIN_CONNECTIONS; close to an individual customer',
    }),
    connections: Type.Optional(Type.Integer({ description: 'The grid operator’s own view only' })),
  },
  { title: 'AllocationAggregate' },
);
export const AggregateList = Page(AggregateRowSchema);

export const DifferenceRowSchema = Type.Object(
  {
    qh: Type.Integer(),
    quarterHourStart: DateTime,
    balanceResponsiblePartyGln: Gln13,
    supplierGln: Gln13,
    gridArea: Type.String(),
    direction: Direction,
    previousWh: Type.Union([DecimalWh, Type.Null()]),
    currentWh: Type.Union([DecimalWh, Type.Null()]),
    deltaWh: DecimalWh,
  },
  { title: 'AllocationDifference' },
);
export const DifferenceList = Type.Object(
  {
    previousRunId: Nullable(Uuid),
    items: Type.Array(DifferenceRowSchema),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  },
  { title: 'AllocationDifferences' },
);

export const ConnectionResultQuery = Type.Object(
  {
    purpose: Type.String({
      minLength: 3,
      maxLength: 300,
      description: 'DC-8: why individual data is read (registered with the read)',
    }),
  },
  { additionalProperties: false },
);
const DirectionResult = Type.Object({ method: Method, reason: Reason, estimated: Type.Boolean(), volumeWh: DecimalWh });
export const ConnectionResultSchema = Type.Object(
  {
    runId: Uuid,
    connectionEan: Ean18,
    day: Day,
    version: Type.Integer(),
    accessId: Type.String({ format: 'uuid', description: 'The access-register entry of this read (DC-8)' }),
    quarterHours: Type.Array(
      Type.Object({
        qh: Type.Integer(),
        quarterHourStart: DateTime,
        balanceResponsiblePartyGln: Nullable(Type.String()),
        supplierGln: Nullable(Type.String()),
        gridArea: Nullable(Type.String()),
        offtake: DirectionResult,
        feedIn: DirectionResult,
      }),
    ),
  },
  { title: 'AllocationConnectionResult' },
);
