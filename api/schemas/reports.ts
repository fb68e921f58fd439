import { Type, type Static } from '@sinclair/typebox';
import {
  REPORT_GRANULARITIES,
  REPORT_TIME_ZONE,
  type ReportGranularity,
  type SignalReport,
} from '../../db/repositories/signal-reports.js';
import { CASE_STATUSES, SIGNAL_CHANNELS } from '../../db/schema/index.js';
import { DateTime, Gln13 } from './common.js';
import { LANGS } from '../../lib/messages.js';
import { SIGNAL_CHARTS } from '../../services/reports/signal-charts.js';

/** A string enum as plain JSON Schema `enum` (typed as the union; serialised without anyOf checks). */
const Literals = <T extends string>(values: readonly T[], options: { description?: string; default?: T } = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
const NullableNumber = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });

export const SignalReportQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({
        ...DateTime,
        description: 'Start of the window on received_at (inclusive); default `to` − 90 days',
      }),
    ),
    to: Type.Optional(Type.String({ ...DateTime, description: 'End of the window (exclusive); default now' })),
    groupBy: Literals<ReportGranularity>(REPORT_GRANULARITIES, {
      default: 'month',
      description: `Period granularity on the ${REPORT_TIME_ZONE} calendar (weeks start on Monday)`,
    }),
    partyGln: Type.Optional(Gln13),
    gridOperatorGln: Type.Optional(Gln13),
    channel: Type.Optional(Literals(SIGNAL_CHANNELS)),
  },
  { additionalProperties: false },
);
export type SignalReportQueryT = Static<typeof SignalReportQuery>;

/** GET /reports/signals also as CSV (format=csv or Accept: text/csv). */
export const SignalReportCsvQuery = Type.Object(
  {
    ...SignalReportQuery.properties,
    format: Type.Optional(
      Literals(['json', 'csv'] as const, { description: 'csv: the report as one CSV table; also Accept: text/csv' }),
    ),
  },
  { additionalProperties: false },
);

/** The chart routes take the reader's language too (issue 19): the words of the table and picture, never the numbers. */
export const ChartQuery = Type.Object(
  {
    ...SignalReportQuery.properties,
    lang: Type.Optional(
      Literals(LANGS, {
        description: 'Titles, descriptions, headings and the picture’s categories in Dutch or English; none: English',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ChartParams = Type.Object({
  chart: Literals(SIGNAL_CHARTS, {
    description: 'by-period (open and closed signals per period), by-channel, by-outcome (cases per status), deadlines',
  }),
});

export const ChartTableSchema = Type.Object(
  {
    chart: Literals(SIGNAL_CHARTS),
    title: Type.String(),
    description: Type.String(),
    columns: Type.Array(Type.Object({ key: Type.String(), label: Type.String() })),
    rows: Type.Array(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])), {
      description: 'One row per bar group, keyed by the columns',
    }),
  },
  { title: 'SignalChartTable', description: 'The numbers a chart draws, to show as a table under it' },
);

const Counts = {
  signals: Type.Integer({ description: 'Signals (doubt cases) received' }),
  open: Type.Integer({ description: 'Of which still open (blocked, awaiting response or judgement)' }),
  closed: Type.Integer({ description: 'Of which closed (any closed_* outcome)' }),
};
const PartyCountSchema = Type.Object({ gln: Gln13, name: Type.String(), ...Counts });

const DeadlineStatsSchema = (description: string) =>
  Type.Object(
    {
      met: Type.Integer(),
      missed: Type.Integer({
        description: 'Done at or after the due instant, or not done while the due instant passed',
      }),
      pending: Type.Integer({ description: 'Not done, not yet due: excluded from the share' }),
      notApplicable: Type.Integer({
        description: 'The case closed before this deadline applied: excluded from the share',
      }),
      share: NullableNumber('met / (met + missed), 0..1; null when nothing was decided'),
    },
    { description },
  );
const DurationSchema = (description: string) =>
  Type.Object(
    {
      count: Type.Integer(),
      meanSeconds: NullableNumber('Mean duration in seconds'),
      maxSeconds: NullableNumber('Longest duration in seconds'),
    },
    { description },
  );

export const SignalReportSchema = Type.Object(
  {
    window: Type.Object({ from: DateTime, to: DateTime }),
    groupBy: Literals(REPORT_GRANULARITIES),
    timeZone: Type.Literal(REPORT_TIME_ZONE),
    generatedAt: DateTime,
    filters: Type.Object({
      gridOperatorGln: Type.Union([Gln13, Type.Null()], {
        description: 'The grid operator reported on; null: all (case handlers: always their own)',
      }),
      partyGln: Type.Union([Gln13, Type.Null()]),
      channel: Type.Union([Literals(SIGNAL_CHANNELS), Type.Null()]),
    }),
    totals: Type.Object(Counts),
    byPeriod: Type.Array(
      Type.Object({
        period: Type.String({ description: 'First Amsterdam calendar day of the period (YYYY-MM-DD)' }),
        start: DateTime,
        end: DateTime,
        ...Counts,
      }),
      { description: 'Every period the window touches, empty ones included; the first and last may be partial' },
    ),
    byParty: Type.Array(PartyCountSchema, {
      description: 'Supplier / service provider the signal is about, most signals first',
    }),
    byChannel: Type.Array(Type.Object({ channel: Literals(SIGNAL_CHANNELS), ...Counts }), {
      description: 'Every channel, zeros included',
    }),
    byOutcome: Type.Array(
      Type.Object({ status: Literals(CASE_STATUSES), open: Type.Boolean(), count: Type.Integer() }),
      { description: 'Every case status, zeros included: open statuses and closed_* outcomes' },
    ),
    byGridOperator: Type.Array(PartyCountSchema),
    deadlines: Type.Object({
      contact: DeadlineStatsSchema('GT-1: party contacted within 1 working day'),
      response: DeadlineStatsSchema('GT-3: party answered within 72 hours'),
      unblock: DeadlineStatsSchema(
        'GT-7 / GT-8: block lifted within 1 working day of acceptance or a wrongful-block finding',
      ),
    }),
    blockDuration: Type.Object(
      {
        lifted: DurationSchema('Blocks already lifted: ended − started'),
        inForce: DurationSchema('Blocks still in force: now − started'),
      },
      { description: 'GT-2 blocks of the window’s cases' },
    ),
    supplierReports: Type.Object(
      {
        count: Type.Integer(),
        withinOneWorkingDay: Type.Integer(),
        share: NullableNumber('withinOneWorkingDay / count; null without reports'),
        withCase: Type.Integer({ description: 'Reports that led to a doubt case' }),
      },
      { description: 'GT-9: reports by suppliers/service providers received in the window (by reported_at)' },
    ),
    breachAssessments: Type.Object(
      {
        count: Type.Integer(),
        met: Type.Integer({ description: 'Decided within the 72 hours of GDPR art. 33' }),
        missed: Type.Integer({ description: 'Decided after the 72 hours, or undecided past them' }),
        running: Type.Integer({ description: 'Undecided, within the 72 hours' }),
        share: NullableNumber('met / (met + missed); null when no clock has ended'),
        notifiedAp: Type.Integer({ description: 'Decided to notify the Autoriteit Persoonsgegevens' }),
        gridUserInformed: Type.Integer({ description: 'Decided to inform the grid user (art. 34)' }),
      },
      { description: "GT-11: breach assessments of the window's cases and their art. 33 clock" },
    ),
  },
  { title: 'SignalReport' },
);
export type SignalReportDto = Static<typeof SignalReportSchema>;

export function toSignalReportDto(
  r: SignalReport,
  meta: {
    from: Date;
    to: Date;
    groupBy: SignalReportDto['groupBy'];
    generatedAt: Date;
    filters: SignalReportDto['filters'];
  },
): SignalReportDto {
  return {
    window: { from: meta.from.toISOString(), to: meta.to.toISOString() },
    groupBy: meta.groupBy,
    timeZone: REPORT_TIME_ZONE,
    generatedAt: meta.generatedAt.toISOString(),
    filters: meta.filters,
    totals: r.totals,
    byPeriod: r.byPeriod.map((p) => ({ ...p, start: p.start.toISOString(), end: p.end.toISOString() })),
    byParty: r.byParty,
    byChannel: r.byChannel,
    byOutcome: r.byOutcome,
    byGridOperator: r.byGridOperator,
    deadlines: r.deadlines,
    blockDuration: r.blockDuration,
    supplierReports: r.supplierReports,
    breachAssessments: r.breachAssessments,
  };
}
