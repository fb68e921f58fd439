/**
 * The signal report as one CSV table (issue 19): long form, one number per row — section, key (period, GLN,
 * channel, status, deadline), name, measure, value — so a spreadsheet pivots it however it likes and every
 * section fits one file. Values are the JSON report's (GET /reports/signals), nothing recomputed.
 */
import { DEADLINE_NAMES } from '../../domain/case.js';
import type { SignalReport } from '../../db/repositories/signal-reports.js';

export const SIGNAL_CSV_COLUMNS = ['section', 'key', 'name', 'measure', 'value'] as const;
export interface SignalCsvRow {
  section: string;
  key: string;
  name: string;
  measure: string;
  value: number | null;
}

function counts(section: string, key: string, name: string, c: { signals: number; open: number; closed: number }) {
  return (['signals', 'open', 'closed'] as const).map((m) => ({ section, key, name, measure: m, value: c[m] }));
}

function measures(section: string, key: string, o: Record<string, number | null>): SignalCsvRow[] {
  return Object.entries(o).map(([measure, value]) => ({ section, key, name: '', measure, value }));
}

export function signalReportCsvRows(r: SignalReport): SignalCsvRow[] {
  return [
    ...counts('totals', '', '', r.totals),
    ...r.byPeriod.flatMap((p) => counts('byPeriod', p.period, '', p)),
    ...r.byParty.flatMap((p) => counts('byParty', p.gln, p.name, p)),
    ...r.byChannel.flatMap((c) => counts('byChannel', c.channel, '', c)),
    ...r.byOutcome.map((o) => ({ section: 'byOutcome', key: o.status, name: '', measure: 'count', value: o.count })),
    ...r.byGridOperator.flatMap((p) => counts('byGridOperator', p.gln, p.name, p)),
    ...DEADLINE_NAMES.flatMap((d) => measures('deadlines', d, { ...r.deadlines[d] })),
    ...measures('blockDuration', 'lifted', { ...r.blockDuration.lifted }),
    ...measures('blockDuration', 'inForce', { ...r.blockDuration.inForce }),
    ...measures('supplierReports', '', { ...r.supplierReports }),
    ...measures('breachAssessments', '', { ...r.breachAssessments }),
  ];
}
