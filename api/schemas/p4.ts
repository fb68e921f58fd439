import { Type, type Static } from '@sinclair/typebox';
import {
  GATE_REASONS,
  REGISTER_ENTRY_KINDS,
  REGISTER_REASONS,
  type GateDecision,
  type RegisterReason,
} from '../../domain/gate.js';
import type { AccessRegisterEntry } from '../../db/schema/index.js';
import { isoString } from '../../lib/iso-time.js';
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
const NullableString = (options: { format?: string; description?: string } = {}) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });

const describe = (codes: RegisterReason[]) =>
  codes
    .map(
      (c) =>
        `${c} (${REGISTER_REASONS[c].rule}, ${REGISTER_REASONS[c].allowed ? 'allowed' : 'denied'}): ${REGISTER_REASONS[c].text}`,
    )
    .join('; ');
const reasonCodes = Object.keys(GATE_REASONS) as Array<keyof typeof GATE_REASONS>;
export const ReasonCodeSchema = StringEnum(reasonCodes, { description: describe(reasonCodes) });
const registerReasonCodes = Object.keys(REGISTER_REASONS) as RegisterReason[];
export const RegisterReasonCodeSchema = StringEnum(registerReasonCodes, { description: describe(registerReasonCodes) });

export const P4Request = Type.Object(
  {
    connectionEan: Ean18,
    dataKind: DataKindSchema,
    from: Type.String({
      ...DateTime,
      description:
        'Start of the requested period (inclusive); not in the future. Off a quarter-hour boundary it is rounded up to the next one (DC-7)',
    }),
    to: Type.String({
      ...DateTime,
      description:
        'End of the requested period (exclusive); cut at the decision instant when later; off a quarter-hour boundary it is rounded down (DC-7)',
    }),
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
    from: Type.String({ ...DateTime, description: 'Start of the period decided: on a quarter-hour boundary (DC-7)' }),
    to: Type.String({
      ...DateTime,
      description:
        'End of the period decided: the requested end, or the last quarter-hour boundary before the decision instant when that lay later (DC-7)',
    }),
    periodCut: Type.Boolean({
      description:
        'The period decided differs from the one asked: its end lay after the decision instant (data that does not exist yet is never promised), or an end lay off a quarter-hour boundary and was rounded inward (DC-7)',
    }),
    mandateId: NullableString({ format: 'uuid' }),
    blockId: NullableString({ format: 'uuid' }),
    dataUrl: NullableString({
      description:
        'Allowed requests: where to fetch the data. Every fetch is decided again under the rules in force at that moment, and registered (DC-1, DC-4)',
    }),
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
    reasonCode: RegisterReasonCodeSchema,
    rule: Type.String(),
    mandateId: Type.Union([Uuid, Type.Null()]),
    blockId: Type.Union([Uuid, Type.Null()]),
    kind: StringEnum(REGISTER_ENTRY_KINDS, {
      description:
        'request: a P4 request; delivery: a delivery of its data, decided again; internal: a read by the grid operator’s people (DC-8)',
    }),
    deliveryOf: Type.Union([Uuid, Type.Null()], { description: 'A delivery: the P4 request whose data it delivered' }),
    purpose: Type.Union([Type.String(), Type.Null()], { description: 'Internal access (DC-8): the purpose stated' }),
    actor: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description: 'Internal access (DC-8): who read (compliance, admin and case handlers only)',
      }),
    ),
  },
  { title: 'AccessRegisterEntry' },
);
export const RegisterList = Page(RegisterEntrySchema);
export const RegisterQuery = Type.Intersect([
  Paging,
  Type.Object({
    connectionEan: Type.Optional(Ean18),
    partyGln: Type.Optional(Gln13),
    since: Type.Optional(DateTime),
    until: Type.Optional(DateTime),
  }),
]);

export const P4Data = Type.Object(
  {
    id: Uuid,
    deliveryId: Type.String({
      format: 'uuid',
      description: 'Access-register id of this delivery: decided at delivery, under the rules in force then',
    }),
    decidedAt: DateTime,
    reasonCode: ReasonCodeSchema,
    rule: Type.String(),
    mandateId: Type.Union([Uuid, Type.Null()]),
    connectionEan: Ean18,
    dataKind: DataKindSchema,
    from: DateTime,
    to: DateTime,
    readings: Type.Array(DataPointSchema),
  },
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
    // Issue 21: lib/iso-time.ts, toISOString's text at a third of its cost (five instants a decision).
    decidedAt: isoString(d.decidedAt),
    from: isoString(d.from),
    to: isoString(d.to),
    periodCut: d.periodCut,
    mandateId: d.mandateId,
    blockId: d.blockId,
    dataUrl: d.allowed ? `/p4/requests/${d.id}/data` : null,
  };
}

/** `withActor`: only for the grid operator's own readers of the register (the actor names a key of its people). */
export function toRegisterDto(e: AccessRegisterEntry, withActor = false): Static<typeof RegisterEntrySchema> {
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
    reasonCode: e.reasonCode as RegisterReason,
    rule: e.rule,
    mandateId: e.mandateId,
    blockId: e.blockId,
    kind: e.kind,
    deliveryOf: e.deliveryOf,
    purpose: e.purpose,
    ...(withActor ? { actor: e.actor } : {}),
  };
}
