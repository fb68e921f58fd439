/** GT-9: customer signals received by a supplier or service provider, reported to the grid operator. */
import { Type, type Static } from '@sinclair/typebox';
import type { Party, SupplierReport } from '../../db/schema/index.js';
import { DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';

const Satisfaction = Type.Union([Type.Literal('unknown'), Type.Literal('dissatisfied')], {
  description:
    'GT-9 applies when it is unknown whether the customer is satisfied after complaint handling, or known that they are still dissatisfied',
});

export const SupplierReportCreate = Type.Object(
  {
    connectionEan: Ean18,
    signalReceivedAt: {
      ...DateTime,
      description: 'When the party received the customer signal; the report is due within 1 working day of it',
    },
    customerSatisfaction: Satisfaction,
    findings: Type.String({ minLength: 1, maxLength: 20_000 }),
    actions: Type.String({ minLength: 1, maxLength: 20_000 }),
  },
  { additionalProperties: false, title: 'SupplierReportCreate' },
);
export type SupplierReportCreateBody = Static<typeof SupplierReportCreate>;

export const SupplierReportSchema = Type.Object(
  {
    id: Uuid,
    party: Type.Object({ id: Uuid, gln: Gln13, name: Type.String() }),
    gridOperator: Type.Object({ id: Uuid, gln: Gln13, name: Type.String() }),
    connectionEan: Ean18,
    signalReceivedAt: DateTime,
    reportedAt: DateTime,
    reportedWithinOneWorkingDay: Type.Boolean({
      description: 'GT-9: before the end (24:00 Amsterdam) of the first working day after the signal',
    }),
    customerSatisfaction: Satisfaction,
    findings: Type.String(),
    actions: Type.String(),
    caseId: Type.Union([Uuid, Type.Null()], { description: 'The doubt case a case handler opened from it' }),
    notifiedAt: Type.Union([DateTime, Type.Null()], {
      description: "When the grid operator's doubt contact group was mailed (GT-10)",
    }),
  },
  { title: 'SupplierReport' },
);
export type SupplierReportDto = Static<typeof SupplierReportSchema>;

export const SupplierReportQuery = Type.Intersect([
  Paging,
  Type.Object({
    connectionEan: Type.Optional(Ean18),
    partyGln: Type.Optional(Gln13),
    withCase: Type.Optional(Type.Boolean({ description: 'true: a case was opened from it; false: not (yet)' })),
  }),
]);
export const SupplierReportList = Page(SupplierReportSchema);
export const ReportParams = Type.Object({ id: Uuid });

const ref = (p: Party | undefined, id: string) => ({ id, gln: p?.gln ?? '', name: p?.name ?? '' });

export function toSupplierReportDto(r: SupplierReport, partiesById: Map<string, Party>): SupplierReportDto {
  return {
    id: r.id,
    party: ref(partiesById.get(r.partyId), r.partyId),
    gridOperator: ref(partiesById.get(r.gridOperatorId), r.gridOperatorId),
    connectionEan: r.connectionEan,
    signalReceivedAt: r.signalReceivedAt.toISOString(),
    reportedAt: r.reportedAt.toISOString(),
    reportedWithinOneWorkingDay: r.reportedWithinOneWorkingDay,
    customerSatisfaction: r.customerSatisfaction,
    findings: r.findings,
    actions: r.actions,
    caseId: r.caseId,
    notifiedAt: r.notifiedAt ? r.notifiedAt.toISOString() : null,
  };
}
