/**
 * domain/case.ts, the doubt case's rules as tables: due times (GT-1, GT-3, GT-7/GT-8) across daylight-saving
 * switches and Dutch holidays, deadline states, the closing effects of each outcome (GT-4, GT-7, GT-8) and
 * the judgement checks. Pure functions, no services.
 */
import { describe, expect, it } from 'vitest';
import {
  CASE_STATUSES,
  CLOSED_STATUSES,
  OPEN_STATUSES,
  caseDeadlines,
  checkCaseOpen,
  checkJudgement,
  closingEffects,
  closingStatus,
  contactDeadline,
  deadlineState,
  isBreached,
  isClosedStatus,
  manualContactResponseDeadline,
  liftRule,
  openingEffects,
  quarterHourFloor,
  responseDeadline,
  unblockDeadline,
  type CaseDeadlineFacts,
  type CaseStatus,
  type JudgedResponse,
  type OutcomeKind,
} from '../../domain/case.js';

const t = (iso: string) => new Date(iso);

describe('statuses', () => {
  it('open and closed partition the statuses', () => {
    expect([...OPEN_STATUSES, ...CLOSED_STATUSES].sort()).toEqual([...CASE_STATUSES].sort());
    for (const s of CASE_STATUSES) expect(isClosedStatus(s), s).toBe(s.startsWith('closed_'));
  });
});

describe('GT-1 contactDeadline and GT-8/GT-7 unblockDeadline: end (24:00 Amsterdam) of the next working day', () => {
  it.each([
    ['Tuesday morning → end of Wednesday (CET)', '2026-02-10T09:00:00Z', '2026-02-11T23:00:00.000Z'],
    ['Friday before the spring switch → end of Monday, now CEST', '2026-03-27T10:00:00Z', '2026-03-30T22:00:00.000Z'],
    [
      'Sunday 23:30 UTC is Monday 01:30 in Amsterdam → end of Tuesday',
      '2026-03-29T23:30:00Z',
      '2026-03-31T22:00:00.000Z',
    ],
    ['Friday before the autumn switch → end of Monday, now CET', '2026-10-23T10:00:00Z', '2026-10-26T23:00:00.000Z'],
    ['in the repeated autumn hour (Sunday) → end of Monday', '2026-10-25T01:30:00Z', '2026-10-26T23:00:00.000Z'],
    ['Friday before King’s Day (Monday 27 April) → end of Tuesday', '2026-04-24T12:00:00Z', '2026-04-28T22:00:00.000Z'],
    [
      'Wednesday before Ascension Day (Thursday 14 May) → end of Friday',
      '2026-05-13T12:00:00Z',
      '2026-05-15T22:00:00.000Z',
    ],
    [
      'Christmas Eve (Thursday) → Christmas, Boxing Day, Sunday → end of Monday 28th',
      '2026-12-24T12:00:00Z',
      '2026-12-28T23:00:00.000Z',
    ],
    [
      'the day itself never counts, however early (00:00 Tuesday in Amsterdam)',
      '2026-02-09T23:00:00Z',
      '2026-02-11T23:00:00.000Z',
    ],
  ])('%s', (_name, moment, due) => {
    expect(contactDeadline(t(moment)).toISOString()).toBe(due);
    expect(unblockDeadline(t(moment)).toISOString()).toBe(due);
  });
});

describe('GT-3 responseDeadline: 72 clock hours from contact, never before the stated deadline', () => {
  it.each([
    ['plain 72 hours', '2026-02-10T09:00:00Z', null, '2026-02-13T09:00:00.000Z'],
    [
      'across the spring switch: clock hours, not wall-clock days',
      '2026-03-27T10:00:00Z',
      null,
      '2026-03-30T10:00:00.000Z',
    ],
    ['across the autumn switch', '2026-10-23T10:00:00Z', null, '2026-10-26T10:00:00.000Z'],
    [
      'the mail stated a later deadline: that one holds',
      '2026-02-10T09:00:00Z',
      '2026-02-13T09:00:05Z',
      '2026-02-13T09:00:05.000Z',
    ],
    [
      'the mail stated an earlier deadline: the 72 hours hold',
      '2026-02-10T09:00:00Z',
      '2026-02-13T08:59:59Z',
      '2026-02-13T09:00:00.000Z',
    ],
  ])('%s', (_name, contactedAt, stated, due) => {
    expect(responseDeadline(t(contactedAt), stated ? t(stated) : null).toISOString()).toBe(due);
  });
});

describe('GT-3 manualContactResponseDeadline: recording a contact later never shortens the 72 hours', () => {
  it.each([
    [
      'recorded at the call: 72 hours from the call',
      '2026-02-10T09:00:00Z',
      '2026-02-10T09:00:00Z',
      null,
      '2026-02-13T09:00:00.000Z',
    ],
    [
      'recorded 5 minutes late: from the recording',
      '2026-02-10T09:00:00Z',
      '2026-02-10T09:05:00Z',
      null,
      '2026-02-13T09:05:00.000Z',
    ],
    [
      'recorded 73 hours late: still 72 hours from the recording',
      '2026-02-10T09:00:00Z',
      '2026-02-13T10:00:00Z',
      null,
      '2026-02-16T10:00:00.000Z',
    ],
    [
      'a stated call after its recording (clock skew): from the call',
      '2026-02-10T09:00:10Z',
      '2026-02-10T09:00:00Z',
      null,
      '2026-02-13T09:00:10.000Z',
    ],
    [
      'the mail stated a later deadline: that one holds',
      '2026-02-10T09:00:00Z',
      '2026-02-10T10:00:00Z',
      '2026-02-13T12:00:00Z',
      '2026-02-13T12:00:00.000Z',
    ],
    [
      'across the spring switch: clock hours',
      '2026-03-27T10:00:00Z',
      '2026-03-27T11:00:00Z',
      null,
      '2026-03-30T11:00:00.000Z',
    ],
  ])('%s', (_name, contactedAt, recordedAt, stated, due) => {
    const d = manualContactResponseDeadline(t(contactedAt), t(recordedAt), stated ? t(stated) : null);
    expect(d.toISOString()).toBe(due);
    expect(d.getTime()).toBeGreaterThanOrEqual(t(recordedAt).getTime() + 72 * 3_600_000);
  });
});

describe('deadlineState', () => {
  const due = t('2026-03-30T22:00:00Z');
  it.each([
    ['not applicable wins', due, null, '2026-04-10T00:00:00Z', false, 'not_applicable'],
    ['no due time yet', null, null, '2026-04-10T00:00:00Z', true, 'pending'],
    ['done before the due instant', due, '2026-03-30T21:59:59.999Z', '2026-04-10T00:00:00Z', true, 'met'],
    [
      'done exactly at the due instant (24:00 is exclusive)',
      due,
      '2026-03-30T22:00:00Z',
      '2026-04-10T00:00:00Z',
      true,
      'missed',
    ],
    ['done after it', due, '2026-03-31T08:00:00Z', '2026-04-10T00:00:00Z', true, 'missed'],
    ['not done, not yet due', due, null, '2026-03-30T21:59:59.999Z', true, 'pending'],
    ['not done, due exactly now', due, null, '2026-03-30T22:00:00Z', true, 'missed'],
  ] as const)('%s', (_name, dueAt, doneAt, now, applicable, state) => {
    expect(deadlineState(dueAt, doneAt ? t(doneAt) : null, t(now), applicable)).toBe(state);
  });
});

describe('caseDeadlines', () => {
  const received = t('2026-03-27T10:00:00Z'); // Friday; contact due end of Monday (CEST)
  const contactDueAt = contactDeadline(received);
  const base: CaseDeadlineFacts = {
    status: 'blocked',
    closedAt: null,
    contactDueAt,
    contactedAt: null,
    responseDueAt: null,
    respondedAt: null,
    unblockDueAt: null,
    unblockedAt: null,
  };
  const contacted = t('2026-03-30T09:00:00Z');
  const responseDueAt = responseDeadline(contacted);
  const states = (f: Partial<CaseDeadlineFacts>, now: string) => {
    const d = caseDeadlines({ ...base, ...f }, t(now));
    return [d.contact.state, d.response.state, d.unblock.state];
  };

  it.each([
    ['open, before contact is due', {}, '2026-03-30T21:00:00Z', ['pending', 'pending', 'pending']],
    ['open, contact due exactly now', {}, contactDueAt.toISOString(), ['missed', 'pending', 'pending']],
    [
      'contacted in time, 72 hours running',
      { status: 'awaiting_response', contactedAt: contacted, responseDueAt },
      '2026-03-31T09:00:00Z',
      ['met', 'pending', 'pending'],
    ],
    [
      'contacted late',
      { status: 'awaiting_response', contactedAt: contactDueAt, responseDueAt: responseDeadline(contactDueAt) },
      '2026-04-01T09:00:00Z',
      ['missed', 'pending', 'pending'],
    ],
    [
      'answered exactly at the due instant',
      { status: 'awaiting_judgement', contactedAt: contacted, responseDueAt, respondedAt: responseDueAt },
      '2026-04-10T00:00:00Z',
      ['met', 'missed', 'pending'],
    ],
    [
      'no answer when the 72 hours ran out',
      { status: 'awaiting_response', contactedAt: contacted, responseDueAt },
      responseDueAt.toISOString(),
      ['met', 'missed', 'pending'],
    ],
    [
      'withdrawn before contact was due, never contacted',
      { status: 'closed_withdrawn', closedAt: t('2026-03-28T10:00:00Z') },
      '2026-04-10T00:00:00Z',
      ['not_applicable', 'not_applicable', 'not_applicable'],
    ],
    [
      'withdrawn exactly at the contact due instant, never contacted',
      { status: 'closed_withdrawn', closedAt: contactDueAt },
      '2026-04-10T00:00:00Z',
      ['missed', 'not_applicable', 'not_applicable'],
    ],
    [
      'closed without contact, close time unknown',
      { status: 'closed_withdrawn' },
      '2026-04-10T00:00:00Z',
      ['not_applicable', 'not_applicable', 'not_applicable'],
    ],
    [
      'wrongful block lifted within the 72 hours, no answer',
      {
        status: 'closed_wrongful_block',
        contactedAt: contacted,
        responseDueAt,
        closedAt: t('2026-03-31T10:00:00Z'),
        unblockDueAt: unblockDeadline(t('2026-03-31T10:00:00Z')),
        unblockedAt: t('2026-03-31T10:00:01Z'),
      },
      '2026-04-10T00:00:00Z',
      ['met', 'not_applicable', 'met'],
    ],
    [
      'closed after the 72 hours without an answer',
      { status: 'closed_mandate_not_demonstrated', contactedAt: contacted, responseDueAt, closedAt: responseDueAt },
      '2026-04-10T00:00:00Z',
      ['met', 'missed', 'not_applicable'],
    ],
    [
      'accepted, unblocked late',
      {
        status: 'closed_mandate_accepted',
        contactedAt: contacted,
        responseDueAt,
        respondedAt: t('2026-03-31T09:00:00Z'),
        closedAt: t('2026-03-31T12:00:00Z'),
        unblockDueAt: t('2026-04-01T22:00:00Z'),
        unblockedAt: t('2026-04-01T22:00:00Z'),
      },
      '2026-04-10T00:00:00Z',
      ['met', 'met', 'missed'],
    ],
    [
      'accepted, unblock not yet done and due',
      {
        status: 'closed_mandate_accepted',
        contactedAt: contacted,
        responseDueAt,
        respondedAt: t('2026-03-31T09:00:00Z'),
        closedAt: t('2026-03-31T12:00:00Z'),
        unblockDueAt: t('2026-04-01T22:00:00Z'),
      },
      '2026-04-01T22:00:00Z',
      ['met', 'met', 'missed'],
    ],
  ] as const)('%s', (_name, f, now, expected) => {
    expect(states(f as Partial<CaseDeadlineFacts>, now)).toEqual(expected);
  });

  it('names the rule of each deadline: the unblock of a wrongful block is GT-7', () => {
    const open = caseDeadlines(base, t('2026-03-28T00:00:00Z'));
    expect([open.contact.rule, open.response.rule, open.unblock.rule]).toEqual(['GT-1', 'GT-3', 'GT-8']);
    expect(caseDeadlines({ ...base, status: 'closed_wrongful_block' }, t('2026-03-28T00:00:00Z')).unblock.rule).toBe(
      'GT-7',
    );
  });

  it('breached when any deadline is missed', () => {
    expect(isBreached(caseDeadlines(base, t('2026-03-28T00:00:00Z')))).toBe(false);
    expect(isBreached(caseDeadlines(base, contactDueAt))).toBe(true);
    expect(
      isBreached(
        caseDeadlines(
          { ...base, status: 'closed_withdrawn', closedAt: t('2026-03-28T00:00:00Z') },
          t('2027-01-01T00:00:00Z'),
        ),
      ),
    ).toBe(false);
  });
});

describe('closingEffects', () => {
  const decidedAt = t('2026-03-26T22:59:00Z'); // Thursday 23:59 Amsterdam (CET)
  const closedAt = t('2026-03-26T23:07:30Z'); // Friday 00:07:30: another day, another quarter-hour
  type Row = [OutcomeKind, boolean, CaseStatus, string | null, boolean | null, string | null, string | null, string];
  it.each<Row>([
    // outcome, isma, status, lift reason, retroactive, profile from, unblock due, rule
    ['accepted', true, 'closed_mandate_accepted', 'mandate_accepted', true, null, '2026-03-27T23:00:00.000Z', 'GT-8'],
    ['accepted', false, 'closed_mandate_accepted', 'mandate_accepted', true, null, '2026-03-27T23:00:00.000Z', 'GT-8'],
    [
      'not_demonstrated',
      true,
      'closed_mandate_not_demonstrated',
      null,
      null,
      '2026-03-26T23:00:00.000Z',
      null,
      'GT-4, GT-8',
    ],
    ['not_demonstrated', false, 'closed_mandate_not_demonstrated', null, null, null, null, 'GT-8'],
    ['wrongful_block', true, 'closed_wrongful_block', 'wrongful_block', true, null, '2026-03-27T23:00:00.000Z', 'GT-7'],
    [
      'wrongful_block',
      false,
      'closed_wrongful_block',
      'wrongful_block',
      true,
      null,
      '2026-03-27T23:00:00.000Z',
      'GT-7',
    ],
    ['withdrawn', true, 'closed_withdrawn', 'case_withdrawn', false, null, null, 'GT-7'],
    ['withdrawn', false, 'closed_withdrawn', 'case_withdrawn', false, null, null, 'GT-7'],
  ])('%s (iSMA %s)', (outcome, isma, status, liftReason, retroactive, profileFrom, unblockDue, rule) => {
    const e = closingEffects(outcome, { isma, decidedAt, closedAt });
    expect(e.status).toBe(status);
    expect(closingStatus(outcome)).toBe(status);
    expect(e.lift?.reason ?? null).toBe(liftReason);
    expect(e.lift?.retroactive ?? null).toBe(retroactive);
    expect(e.profileEffectiveFrom?.toISOString() ?? null).toBe(profileFrom);
    // The unblock deadline runs from the decision (Thursday: end of Friday), not from the close (Friday: end of Monday).
    expect(e.unblockDueAt?.toISOString() ?? null).toBe(unblockDue);
    expect(e.rule).toBe(rule);
  });

  it('a lift cites GT-8 after an acceptance and GT-7 otherwise, also for a handler lifting the block by hand', () => {
    expect([liftRule('mandate_accepted'), liftRule('wrongful_block'), liftRule('case_withdrawn')]).toEqual([
      'GT-8',
      'GT-7',
      'GT-7',
    ]);
  });

  it("opening: an iSMA case allocates '0' values while open (GT-4, AL-6)", () => {
    expect(openingEffects({ isma: true })).toEqual({ zeroAllocation: true, rule: 'GT-2, GT-4' });
    expect(openingEffects({ isma: false })).toEqual({ zeroAllocation: false, rule: 'GT-2' });
  });

  it('GT-4 switches from the start of the quarter-hour of closing, also in the repeated autumn hour', () => {
    expect(quarterHourFloor(t('2026-02-10T10:14:59.999Z')).toISOString()).toBe('2026-02-10T10:00:00.000Z');
    expect(quarterHourFloor(t('2026-02-10T10:15:00Z')).toISOString()).toBe('2026-02-10T10:15:00.000Z');
    expect(quarterHourFloor(t('2026-10-25T01:29:00Z')).toISOString()).toBe('2026-10-25T01:15:00.000Z');
  });
});

describe('checkJudgement and checkCaseOpen', () => {
  const facts = (responses: JudgedResponse[], status: CaseStatus = 'awaiting_judgement', decided = false) => ({
    caseId: 'c1',
    reference: 'GT-2026-000001',
    status,
    decided,
    responses,
  });
  const evidence: JudgedResponse = { responseId: 'r1', status: 'received', hasEvidence: true, judgement: null };
  const findings: JudgedResponse = { responseId: 'r2', status: 'received', hasEvidence: false, judgement: null };
  const judged: JudgedResponse = { responseId: 'r3', status: 'received', hasEvidence: true, judgement: 'rejected' };
  const refused: JudgedResponse = { responseId: 'r4', status: 'refused', hasEvidence: true, judgement: null };
  const staged: JudgedResponse = { responseId: 'r5', status: 'staged', hasEvidence: true, judgement: null };

  it.each([
    [
      'accept evidence',
      [evidence],
      'awaiting_judgement',
      false,
      { responseId: 'r1', decision: 'accept' },
      null,
      undefined,
    ],
    [
      'reject findings with a reason',
      [findings],
      'awaiting_response',
      false,
      { responseId: 'r2', decision: 'reject', reason: 'geen bewijs' },
      null,
      undefined,
    ],
    [
      'reject without a reason (checked first, even on a closed case)',
      [],
      'closed_withdrawn',
      false,
      { responseId: 'x', decision: 'reject', reason: '  ' },
      'reason_required',
      'reason',
    ],
    [
      'closed case',
      [evidence],
      'closed_mandate_accepted',
      false,
      { responseId: 'r1', decision: 'accept' },
      'case_closed',
      undefined,
    ],
    [
      'decided, still closing',
      [evidence],
      'awaiting_judgement',
      true,
      { responseId: 'r1', decision: 'accept' },
      'case_closed',
      undefined,
    ],
    [
      'no counted response awaits a judgement',
      [judged, refused],
      'awaiting_response',
      false,
      { responseId: 'r3', decision: 'accept' },
      'nothing_to_judge',
      undefined,
    ],
    [
      'unknown response',
      [evidence],
      'awaiting_judgement',
      false,
      { responseId: 'nope', decision: 'accept' },
      'response_not_found',
      'responseId',
    ],
    [
      'judged already',
      [evidence, judged],
      'awaiting_judgement',
      false,
      { responseId: 'r3', decision: 'accept' },
      'already_judged',
      undefined,
    ],
    [
      'refused (late) response',
      [evidence, refused],
      'awaiting_judgement',
      false,
      { responseId: 'r4', decision: 'accept' },
      'response_refused',
      undefined,
    ],
    [
      'response not yet counted',
      [evidence, staged],
      'awaiting_judgement',
      false,
      { responseId: 'r5', decision: 'accept' },
      'response_refused',
      undefined,
    ],
    [
      'accept a response without evidence',
      [findings],
      'awaiting_response',
      false,
      { responseId: 'r2', decision: 'accept' },
      'response_without_evidence',
      undefined,
    ],
  ] as const)('%s', (_name, responses, status, decided, request, code, field) => {
    const refusal = checkJudgement(facts([...responses], status, decided), request);
    expect(refusal?.code ?? null).toBe(code);
    if (refusal) expect(refusal.field).toBe(field);
  });

  it('refusal kinds: 400 for a missing reason, 404 for an unknown response, 409 for the state', () => {
    expect(checkJudgement(facts([evidence]), { responseId: 'r1', decision: 'reject' })?.kind).toBe('validation');
    expect(checkJudgement(facts([evidence]), { responseId: 'nope', decision: 'accept' })?.kind).toBe('not_found');
    expect(checkJudgement(facts([findings]), { responseId: 'r2', decision: 'accept' })?.kind).toBe('state');
    expect(checkCaseOpen({ caseId: 'c1', reference: 'R', status: 'blocked' })).toBeNull();
    expect(checkCaseOpen({ caseId: 'c1', reference: 'R', status: 'closed_withdrawn' })).toMatchObject({
      kind: 'state',
      code: 'case_closed',
      details: { caseId: 'c1', status: 'closed_withdrawn' },
    });
  });
});
