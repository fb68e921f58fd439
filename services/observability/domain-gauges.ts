/**
 * Issue 20: the domain gauges (open cases by status, deadlines at risk and missed, GT-11 clocks), read from
 * PostgreSQL when /metrics is scraped (db/repositories/operational-state.ts).
 *
 * One read at a time: a scrape while the previous read still waits (PostgreSQL frozen) joins it instead of
 * taking another pooled connection; the metrics listener answers after COLLECT_TIMEOUT_MS regardless, with
 * gt_domain_metrics_up 0 and the gauges emptied (no stale numbers presented as current).
 */
import { BREACH_CLOCKS } from '../../domain/breach.js';
import { CASE_STATUSES, CLOSED_STATUSES } from '../../domain/case.js';
import type { Db } from '../../db/client.js';
import { operationalState } from '../../db/repositories/operational-state.js';
import { domainGauges } from '../../lib/observability/metrics.js';
import { COLLECT_TIMEOUT_MS } from '../../lib/observability/metrics-server.js';

const OPEN_STATUSES = CASE_STATUSES.filter((s) => !CLOSED_STATUSES.includes(s));

/** The `collect` of a metrics listener (lib/observability/metrics-server.ts) for this database. */
export function domainGaugeCollector(db: Db, now: () => Date = () => new Date()): () => Promise<void> {
  const g = domainGauges();
  let inFlight: Promise<void> | undefined;
  const down = (): void => {
    g.up.set(0);
    g.casesOpen.reset();
    g.caseDeadlines.reset();
    g.breachClocks.reset();
    g.breachNextDueSeconds.reset();
  };
  const read = async (): Promise<void> => {
    const at = now();
    const s = await operationalState(db, at);
    // Every open status and every clock is listed, 0 included: a series that disappears cannot be alerted on.
    for (const status of OPEN_STATUSES) g.casesOpen.set({ status }, 0);
    for (const r of s.openByStatus) g.casesOpen.set({ status: r.status }, r.n);
    for (const [deadline, v] of Object.entries(s.deadlines)) {
      g.caseDeadlines.set({ deadline, state: 'at_risk' }, v.atRisk);
      g.caseDeadlines.set({ deadline, state: 'missed' }, v.missed);
    }
    for (const clock of BREACH_CLOCKS) g.breachClocks.set({ clock }, 0);
    for (const c of s.breachClocks) g.breachClocks.set({ clock: c.clock }, c.n);
    g.breachClocks.set({ clock: 'overdue' }, s.breachOverdue);
    g.breachNextDueSeconds.reset();
    if (s.breachNextDueAt) g.breachNextDueSeconds.set((s.breachNextDueAt.getTime() - at.getTime()) / 1000);
    g.up.set(1);
  };
  return async () => {
    inFlight ??= read()
      .catch(down)
      .finally(() => (inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), COLLECT_TIMEOUT_MS - 100)));
    const outcome = await Promise.race([inFlight.then(() => 'read' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') down();
  };
}
