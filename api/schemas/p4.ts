import { Type, type Static } from '@sinclair/typebox';
import { GATE_REASONS, type GateDecision } from '../../domain/gate.js';
import type { AccessRegisterEntry } from '../../db/schema/index.js';
import { DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';
import { DataKindSchema } from './mandates.js';
import { DataPointSchema } from './readings.js';

/*
 * The decision is serialised on the hot path. fast-json-stringify checks every anyOf branch with
 * ajv at run time, so enums and nullable fields are written as `enum` and type arrays (plain JSON
 * Schema, valid OpenAPI 3.1) instead of TypeBox unions of literals.
 */
const StringEnum = <T extends string>(values: readonly T[], options: { description?: string } = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
const NullableString = (options: { format?: string; description?: string } = {}) => Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });

const reasonCodes = Object.keys(GATE_REASONS) as Array<keyof typeof GATE_REASONS>;
export const ReasonCodeSchema = StringEnum(reasonCodes, {
  description: reasonCodes.map((c) => `${c} (${GATE_REASONS[c].rule}, ${GATE_REASONS[c].allowed ? 'allowed' : 'denied'}): ${GATE_REASONS[c].text}`).join('; '),
});

export const P4Request = Type.Object(
  {
    connectionEan: Ean18,
    dataKind: DataKindSchema,
    from: Type.String({ format: 'date-time', description: 'Start of the requested period (inclusive)' }),
    to: Type.String({ format: 'date-time', description: 'End of the requested period (exclusive)' }),
  },
  { additionalProperties: false, title: 'P4Request' },
);

export const P4Decision = Type.Object(
  {
    id: Uuid,
    decision: StringEnum(['allowed', 'denied'] as const),
    allowed: Type.Boolean(),
    reasonCode: ReasonCodeSchema,
    rule: Type.String({ description: 'DOMAIN.md rule behind the decision' }),
    message: Type.String(),
    decidedAt: DateTime,
    mandateId: NullableString({ format: 'uuid' }),
    blockId: NullableString({ format: 'uuid' }),
    dataUrl: NullableString({ description: 'Allowed requests: where to fetch the data (the decision id is the handle)' }),
  },
  { title: 'P4Decision' },
);

export const RegisterEntrySchema = Type.Object(
  {
    id: Uuid,
    decidedAt: DateTime,
    requestId: Type.String(),
    partyId: Uuid,
    connectionEan: Ean18,
    dataKind: DataKindSchema,
    periodFrom: DateTime,
    periodTo: DateTime,
    allowed: Type.Boolean(),
    reasonCode: ReasonCodeSchema,
    rule: Type.String(),
    mandateId: Type.Union([Uuid, Type.Null()]),
    blockId: Type.Union([Uuid, Type.Null()]),
  },
  { title: 'AccessRegisterEntry' },
);
export const RegisterList = Page(RegisterEntrySchema);
export const RegisterQuery = Type.Intersect([
  Paging,
  Type.Object({ connectionEan: Type.Optional(Ean18), partyGln: Type.Optional(Gln13), since: Type.Optional(DateTime), until: Type.Optional(DateTime) }),
]);

export const P4Data = Type.Object(
  { id: Uuid, connectionEan: Ean18, dataKind: DataKindSchema, from: DateTime, to: DateTime, readings: Type.Array(DataPointSchema) },
  { title: 'P4Data' },
);

export function toDecisionDto(d: GateDecision): Static<typeof P4Decision> {
  return {
    id: d.id,
    decision: d.allowed ? 'allowed' : 'denied',
    allowed: d.allowed,
    reasonCode: d.reasonCode,
    rule: d.rule,
    message: GATE_REASONS[d.reasonCode].text,
    decidedAt: d.decidedAt.toISOString(),
    mandateId: d.mandateId,
    blockId: d.blockId,
    dataUrl: d.allowed ? `/p4/requests/${d.id}/data` : null,
  };
}

export function toRegisterDto(e: AccessRegisterEntry): Static<typeof RegisterEntrySchema> {
  return {
    id: e.id,
    decidedAt: e.decidedAt.toISOString(),
    requestId: e.requestId,
    partyId: e.partyId,
    connectionEan: e.connectionEan,
    dataKind: e.dataKind as Static<typeof DataKindSchema>,
    periodFrom: e.periodFrom.toISOString(),
    periodTo: e.periodTo.toISOString(),
    allowed: e.allowed,
    reasonCode: e.reasonCode as keyof typeof GATE_REASONS,
    rule: e.rule,
    mandateId: e.mandateId,
    blockId: e.blockId,
  };
}
