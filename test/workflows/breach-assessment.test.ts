/**
 * GT-11 on the real stack (time-skipping test server, PostgreSQL, SMTP capture): a case that closes
 * "mandate not demonstrated" opens a breach assessment prefilled from the access register; the privacy
 * officer's decision within the 72 hours of GDPR art. 33 meets the clock, none within them misses it
 * (after two reminders); the AP report content and the art. 34 letter; chain positions in the export.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { accessRegister, breachAssessments, type BreachAssessment } from '../../db/schema/index.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { signalReport } from '../../db/repositories/signal-reports.js';
import { apReport, breachLetter, decideBreach, type BreachServiceDeps } from '../../services/breach/assessments.js';
import { caseHistoryExport } from '../../services/cases/history.js';
import { DomainError } from '../../lib/errors.js';
import { breachWorkflowId } from '../../workflows/breach-shared.js';
import { caseHarness, TASK_QUEUE, type CaseHarness, type Fixture } from './harness.js';

const HOUR = 3_600_000;
let h: CaseHarness;
let stopWorker: () => Promise<void>;
let plain: Client;
let deps: BreachServiceDeps;
beforeAll(async () => {
  h = await caseHarness('breach');
  stopWorker = await h.runWorker();
  plain = new Client({ connection: h.env.connection, namespace: 'default', dataConverter: h.dataConverter });
  deps = { db: h.db, temporal: h.env.client, taskQueue: TASK_QUEUE, publicUrl: h.deps.config.publicUrl };
});
afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

/** GET /reports/signals' GT-11 section for the fixture's grid operator. */
async function breachFigures(f: Fixture) {
  const now = await h.now();
  const r = await signalReport(h.db, {
    from: new Date(now.getTime() - 30 * 24 * HOUR),
    to: new Date(now.getTime() + HOUR),
    groupBy: 'month',
    gridOperatorId: f.gridOperatorId,
    now,
  });
  return r.breachAssessments;
}

const officer = {
  actor: { actor: 'api-key:00000000-0000-4000-8000-000000000001', actorRole: 'privacy-officer', actorPartyId: null },
  actorName: 'M. Visser',
};

/** Two deliveries of touching periods and one of another kind, plus a denied request that delivered nothing. */
async function registerDeliveries(f: Fixture, at: Date): Promise<void> {
  const row = (
    dataKind: string,
    from: string,
    to: string,
    allowed = true,
    kind: 'delivery' | 'request' = 'delivery',
  ) => ({
    id: randomUUID(),
    decidedAt: at,
    requestId: randomUUID(),
    partyId: f.partyId,
    connectionEan: f.connectionEan,
    dataKind,
    periodFrom: new Date(from),
    periodTo: new Date(to),
    allowed,
    reasonCode: allowed ? 'mandate_valid' : 'blocked',
    rule: 'DC-1',
    kind,
  });
  await h.db
    .insert(accessRegister)
    .values([
      row('interval_data', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),
      row('interval_data', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z'),
      row('monthly_registers', '2025-10-01T00:00:00Z', '2026-01-01T00:00:00Z'),
      row('interval_data', '2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z', false),
      row('interval_data', '2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z', true, 'request'),
    ]);
}

/** Run a case without an answer to its close ("mandate not demonstrated"); time skips only to just past the 72 hours. */
async function closeNotDemonstrated(): Promise<{ caseId: string; reference: string; fixture: Fixture }> {
  const { row, fixture } = await h.openCase({ isma: false });
  await registerDeliveries(fixture, await h.now());
  await h.startWorkflow(row.id);
  const s = await h.waitFor(row.id, (x) => x.contactedAt !== null, 60_000);
  await h.skipTo(new Date(Date.parse(s.contactedAt!) + 72 * HOUR + 60_000));
  // The case's run ends without skipping further (plain client: waiting lets only real time pass).
  await plain.workflow.getHandle(row.id).result();
  return { caseId: row.id, reference: row.reference, fixture };
}

async function assessmentOf(caseId: string, until: (a: BreachAssessment) => boolean = () => true) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [a] = await h.db.select().from(breachAssessments).where(eq(breachAssessments.caseId, caseId));
    if (a && until(a)) return a;
    if (Date.now() > deadline)
      throw new Error(`breach assessment of ${caseId}: not reached; last ${JSON.stringify(a)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('GT-11 breach hand-off', () => {
  it('opens on a "not demonstrated" close, prefilled from the access register; a decision within 72 hours meets the clock', async () => {
    const { caseId, reference, fixture } = await closeNotDemonstrated();
    const a = await assessmentOf(caseId);
    const trail = await caseAuditTrail(h.db, caseId);
    const closedAt = trail.find((e) => e.action === 'case.closed')!.at;
    expect(a.trigger).toBe('case_closed_not_demonstrated');
    expect(a.awareAt.getTime()).toBe(closedAt.getTime()); // the clock runs from the close
    expect(a.dueAt.getTime() - a.awareAt.getTime()).toBe(72 * HOUR);
    expect(a.clock).toBe('running');
    expect(a.prefill).toMatchObject({
      deliveries: 3, // denied and request-only entries delivered nothing
      dataKinds: ['interval_data', 'monthly_registers'],
      periods: [
        { dataKind: 'interval_data', from: '2026-01-01T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z', deliveries: 2 },
        { dataKind: 'monthly_registers', from: '2025-10-01T00:00:00.000Z', to: '2026-01-01T00:00:00.000Z' },
      ],
    });
    expect(a.prefill.firstDeliveredAt).not.toBeNull();

    // A decision not to inform the grid user needs its reason: refused, nothing recorded.
    await expect(
      decideBreach(deps, a.id, { ...officer, notifyAp: true, informGridUser: false, assessment: 'Meetdata verstrekt' }),
    ).rejects.toMatchObject({ code: 'breach_decision_incomplete', field: 'gridUserReason' }); // api/: body.gridUserReason

    const decided = await decideBreach(deps, a.id, {
      ...officer,
      notifyAp: true,
      informGridUser: true,
      assessment: 'Kwartierwaarden en maandstanden verstrekt zonder aangetoond mandaat; risico voor de aangeslotene.',
    });
    expect(decided).toMatchObject({ clock: 'met', notifyAp: true, informGridUser: true, decidedByName: 'M. Visser' });
    await expect(
      decideBreach(deps, a.id, { ...officer, notifyAp: false, apReason: 'x', informGridUser: true, assessment: 'x' }),
    ).rejects.toBeInstanceOf(DomainError);
    const final = await plain.workflow.getHandle(breachWorkflowId(caseId)).result();
    expect(final).toMatchObject({ clock: 'met', decided: true, remindersSent: 0 });
    await h.recordHistory(breachWorkflowId(caseId), 'breach-decided-in-time');
    expect(await breachFigures(fixture)).toEqual({
      count: 1,
      met: 1,
      missed: 0,
      running: 0,
      share: 1,
      notifiedAp: 1,
      gridUserInformed: 1,
    });

    const report = await apReport(h.db, decided, deps.publicUrl);
    expect(report).toMatchObject({
      status: 'to_be_notified',
      caseReference: reference,
      clock: 'met',
      becameAwareAt: a.awareAt.toISOString(),
      notificationDueAt: a.dueAt.toISOString(),
      dataSubjects: { approximateNumber: 1 },
      personalData: { categories: ['interval_data', 'monthly_registers'], deliveries: 3 },
      recipient: { gln: fixture.partyGln },
      dataSubjectsInformed: true,
      decidedBy: 'M. Visser',
    });
    const letter = await breachLetter(h.db, decided, deps.publicUrl);
    expect(letter.subject).toContain(reference);
    expect(letter.text).toContain('artikel 34');
    expect(letter.text).toContain(fixture.connectionEan);
    expect(letter.text).toContain('kwartierwaarden');
    expect(letter.text).toContain('1-1-2026 tot 3-1-2026');
    expect(letter.text).toContain('Autoriteit Persoonsgegevens');
    expect(letter.text).toContain('M. Visser');

    // The case's history shows the assessment; the export carries each entry's chain position and hashes.
    const actions = (await caseAuditTrail(h.db, caseId)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['case.closed', 'breach.opened', 'breach.decided']));
    const x = await caseHistoryExport({ db: h.db, temporal: h.env.client }, caseId);
    for (const e of x.audit) {
      expect(e.chainPosition).toBeGreaterThan(0);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(e.prevHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('misses the clock when 72 hours pass undecided, after two reminders; a late decision needs the reasons for the delay', async () => {
    const { caseId, reference, fixture } = await closeNotDemonstrated();
    const a = await assessmentOf(caseId);
    expect(await breachFigures(fixture)).toMatchObject({ count: 1, running: 1, missed: 0, share: null });
    await h.skipTo(new Date(a.dueAt.getTime() + 60_000));
    const missed = await assessmentOf(caseId, (x) => x.clock === 'missed');
    expect(missed.remindersSent).toBe(2);
    const reminders = await Promise.all(
      [1, 2].map(() =>
        h.mail(
          (m) =>
            m.to.includes(fixture.handlerMail) && (m.subject ?? '').includes(`[${reference}] Herinnering: datalek`),
        ),
      ),
    );
    expect(reminders[0]!.text).toContain('artikel 33');
    const actions = (await caseAuditTrail(h.db, caseId)).map((e) => e.action);
    expect(actions.filter((x) => x === 'breach.reminder_sent')).toHaveLength(2);
    expect(actions).toContain('breach.clock_missed');

    const late = {
      ...officer,
      notifyAp: false,
      apReason: 'Geen meetgegevens van betekenis verstrekt',
      informGridUser: false,
      gridUserReason: 'Geen hoog risico (art. 34 lid 1)',
      assessment: 'Laag risico',
    };
    await expect(decideBreach(deps, a.id, late)).rejects.toMatchObject({ field: 'delayReason' }); // api/: body.delayReason
    const decided = await decideBreach(deps, a.id, { ...late, delayReason: 'Functionaris afwezig in het weekend' });
    expect(decided).toMatchObject({
      clock: 'missed',
      notifyAp: false,
      delayReason: 'Functionaris afwezig in het weekend',
    });
    expect(await plain.workflow.getHandle(breachWorkflowId(caseId)).result()).toMatchObject({
      clock: 'missed',
      decided: true,
      remindersSent: 2,
    });
    await h.recordHistory(breachWorkflowId(caseId), 'breach-missed-after-reminders');
    const report = await apReport(h.db, decided, deps.publicUrl);
    expect(report).toMatchObject({ status: 'not_notified', clock: 'missed', notAPReason: late.apReason });
    expect(await breachFigures(fixture)).toEqual({
      count: 1,
      met: 0,
      missed: 1,
      running: 0,
      share: 0,
      notifiedAp: 0,
      gridUserInformed: 0,
    });
  });
});
