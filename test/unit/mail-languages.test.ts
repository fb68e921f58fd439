/**
 * Every mail says the same facts in Dutch and in English (issue 19, lib/messages.ts `mail.*`): each template is
 * rendered, its Dutch and English halves (or, for the art. 34 letter, its Dutch and English renderings) are taken
 * apart, and every fact of the data — references, EANs, GLNs, names, ids, addresses, counts, and every date as
 * that language writes it (Europe/Amsterdam) — is in both or in neither; and each template's own facts are in
 * both. The subject is one line for both languages ("nl / en", the reference once, in front), so it is left out.
 */
import { describe, expect, it } from 'vitest';
import { OUTCOMES } from '../../domain/case.js';
import type { Lang } from '../../lib/messages.js';
import { breachReminderMail, gridUserLetter, type BreachTextData } from '../../notifications/breach-templates.js';
import {
  gridUserBlockMail,
  gridUserLiftMail,
  reporterAcknowledgementMail,
  reporterOutcomeMail,
} from '../../notifications/case-notices.js';
import {
  acmCaseReportMail,
  contactAlertMail,
  contactGroupEmptyMail,
  contactRequestMail,
  evidenceRequestMail,
  judgementReminderMail,
  outcomeMail,
  reviewAcmReportMail,
  reviewContactMail,
  supplierReportMail,
  timeIn,
  type CaseMailData,
  type OutcomeMailKind,
} from '../../notifications/templates.js';

const at = (iso: string) => new Date(iso);
const c: CaseMailData = {
  caseId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  reference: 'GT-2026-004217',
  connectionEan: '871687120000012345',
  partyName: 'Energie Inzicht B.V.',
  partyGln: '8712345000017',
  gridOperatorName: 'Netbeheer Noord',
  gridOperatorGln: '8716874000009',
  channel: 'consuwijzer',
  receivedAt: at('2026-03-28T23:15:00Z'),
  isma: true,
  publicUrl: 'https://api.netbeheer-noord.example',
};
const reporter = { reporterName: 'M. de Vries', reporterReference: 'CW-88123' };
const gridUser = { gridUserName: 'J. Jansen', blockedFrom: at('2026-03-29T08:00:00Z') };
const breach: BreachTextData = {
  reference: c.reference,
  assessmentId: '0190a1b2-0000-7000-8000-00000000abcd',
  connectionEan: c.connectionEan,
  partyName: c.partyName,
  gridOperatorName: c.gridOperatorName,
  awareAt: at('2026-04-02T10:30:00Z'),
  dueAt: at('2026-04-05T10:30:00Z'),
  deliveries: 17,
  firstDeliveredAt: '2026-02-11T06:45:00Z',
  periods: [{ dataKind: 'interval_data', from: '2026-02-01T00:00:00Z', to: '2026-02-08T00:00:00Z' }],
  publicUrl: c.publicUrl,
};
const review = {
  reviewId: '0190a1b2-1111-7000-8000-00000000beef',
  partyName: c.partyName,
  partyGln: c.partyGln,
  signalsAtOpen: 23,
  windowDays: 90,
  followUpDays: 180,
  openedAt: at('2026-01-15T09:00:00Z'),
};

/** Facts written alike in both languages (ids, names, numbers) and dates, written as each language writes them. */
interface Facts {
  same: string[];
  dates: Date[];
}
const caseFacts = (extra: Partial<Facts> = {}): Facts => ({
  same: [c.reference, c.connectionEan, c.partyName, c.gridOperatorName, ...(extra.same ?? [])],
  dates: extra.dates ?? [],
});

/** The Dutch and the English half of a bilingual mail's text. */
function halves(text: string): Record<Lang, string> {
  const parts = text.split(/=+ English version =+/);
  expect(parts, 'one Dutch and one English half').toHaveLength(2);
  return { nl: parts[0]!, en: parts[1]! };
}

/**
 * The facts missing in one language: each as "<lang> lacks <fact>" (a fact in neither is not one of this
 * template's; `required` must be in both).
 */
function missing(text: Record<Lang, string>, facts: Facts, required: Facts): string[] {
  const out: string[] = [];
  const check = (fact: (lang: Lang) => string, must: boolean) => {
    const has = { nl: text.nl.includes(fact('nl')), en: text.en.includes(fact('en')) };
    for (const lang of ['nl', 'en'] as const)
      if (!has[lang] && (must || has[lang === 'nl' ? 'en' : 'nl'])) out.push(`${lang} lacks ${fact(lang)}`);
  };
  for (const s of facts.same) check(() => s, false);
  for (const d of facts.dates) check((lang) => timeIn(lang, d), false);
  for (const s of required.same) check(() => s, true);
  for (const d of required.dates) check((lang) => timeIn(lang, d), true);
  return out;
}

/** Every fact any template might state: each template is held to all of them (in both or in neither). */
const ALL: Facts = {
  same: [
    c.reference,
    c.connectionEan,
    c.partyName,
    c.partyGln,
    c.gridOperatorName,
    c.gridOperatorGln,
    c.caseId,
    c.publicUrl,
    reporter.reporterName,
    reporter.reporterReference,
    gridUser.gridUserName,
    breach.assessmentId,
    String(breach.deliveries),
    review.reviewId,
    String(review.signalsAtOpen),
    String(review.windowDays),
    String(review.followUpDays),
    'RPT-0042',
    'Twee klanten meldden',
    'Klantcontact verbeterd',
    'Reden X-17',
    'Toezegging Y-3',
    'A. Compliance',
  ],
  dates: [
    c.receivedAt,
    gridUser.blockedFrom,
    breach.awareAt,
    breach.dueAt,
    at(breach.firstDeliveredAt!),
    review.openedAt,
    at('2026-04-01T10:00:00Z'),
    at('2026-04-03T12:00:00Z'),
    at('2026-04-20T00:00:00Z'),
    at('2026-05-01T00:00:00Z'),
    at('2026-06-30T00:00:00Z'),
    at('2026-07-01T09:30:00Z'),
  ],
};

const due = at('2026-04-01T10:00:00Z');
const closedAt = at('2026-04-03T12:00:00Z');
const profileFrom = at('2026-04-20T00:00:00Z');

const bilingualMails: Array<[string, string, Facts]> = [
  [
    'contact request',
    contactRequestMail(c, { responseDueAt: due, evidenceMaxBytes: 10_485_760 }).text,
    caseFacts({ dates: [due, c.receivedAt] }),
  ],
  [
    'evidence request',
    evidenceRequestMail(c, { message: 'Twee klanten meldden', responseDueAt: due }).text,
    caseFacts({ same: ['Twee klanten meldden'], dates: [due] }),
  ],
  ['contact alert', contactAlertMail(c, { contactDueAt: due }).text, caseFacts({ dates: [due] })],
  [
    'judgement reminder',
    judgementReminderMail(c, { responseDueAt: due, pending: 2 }).text,
    caseFacts({ dates: [due] }),
  ],
  ...(['accepted', 'not_demonstrated', 'wrongful_block', 'withdrawn'] as OutcomeMailKind[]).map(
    (outcome): [string, string, Facts] => [
      `outcome ${outcome}`,
      outcomeMail(c, { outcome, closedAt, reason: 'Reden X-17', profileEffectiveFrom: profileFrom }).text,
      caseFacts(),
    ],
  ),
  [
    'ACM case report',
    acmCaseReportMail(c, {
      message: 'Twee klanten meldden',
      status: 'closed',
      timeline: [['2026-04-01 12:00', 'case.opened']],
    }).text,
    caseFacts({ same: ['Twee klanten meldden'] }),
  ],
  [
    'supplier report',
    supplierReportMail({
      reportId: 'RPT-0042',
      partyName: c.partyName,
      partyGln: c.partyGln,
      gridOperatorName: c.gridOperatorName,
      connectionEan: c.connectionEan,
      signalReceivedAt: at('2026-04-01T10:00:00Z'),
      reportedAt: at('2026-04-03T12:00:00Z'),
      reportedWithinOneWorkingDay: false,
      customerSatisfaction: 'dissatisfied',
      findings: 'Twee klanten meldden',
      actions: 'Klantcontact verbeterd',
      publicUrl: c.publicUrl,
    }).text,
    {
      same: ['RPT-0042', c.connectionEan, c.partyName, 'Twee klanten meldden', 'Klantcontact verbeterd'],
      dates: [due, closedAt],
    },
  ],
  [
    'GT-5 review contact',
    reviewContactMail(review).text,
    { same: [review.reviewId, c.partyName], dates: [review.openedAt] },
  ],
  [
    'GT-5 ACM report',
    reviewAcmReportMail({
      ...review,
      signalsAfterFollowUp: 31,
      followUpFrom: at('2026-05-01T00:00:00Z'),
      followUpUntil: at('2026-06-30T00:00:00Z'),
      signedBy: 'A. Compliance',
      signedAt: at('2026-07-01T09:30:00Z'),
      reason: 'Reden X-17',
      commitment: 'Toezegging Y-3',
    }).text,
    {
      same: [c.partyName, c.partyGln, 'A. Compliance', 'Reden X-17', 'Toezegging Y-3'],
      dates: [at('2026-05-01T00:00:00Z'), at('2026-06-30T00:00:00Z'), at('2026-07-01T09:30:00Z')],
    },
  ],
  ['contact group empty', contactGroupEmptyMail(c, { contactDueAt: due }).text, caseFacts({ dates: [due] })],
  [
    'reporter acknowledgement',
    reporterAcknowledgementMail(c, reporter).text,
    caseFacts({ same: [reporter.reporterReference] }),
  ],
  ...OUTCOMES.flatMap((outcome) =>
    [true, false].map((blockLifted): [string, string, Facts] => [
      `reporter outcome ${outcome}${blockLifted ? '' : ', block kept'}`,
      reporterOutcomeMail(c, reporter, { outcome, closedAt, blockLifted, reason: 'Reden X-17' }).text,
      caseFacts({ same: [reporter.reporterReference], dates: [closedAt] }),
    ]),
  ),
  [
    'grid user block',
    gridUserBlockMail(c, gridUser).text,
    { same: [c.connectionEan, c.partyName], dates: [gridUser.blockedFrom] },
  ],
  ...[true, false].map((retroactive): [string, string, Facts] => [
    `grid user lift${retroactive ? ', released' : ''}`,
    gridUserLiftMail(c, { ...gridUser, liftedAt: closedAt, retroactive }).text,
    { same: [c.connectionEan, c.partyName], dates: [gridUser.blockedFrom, closedAt] },
  ]),
  [
    'GT-11 reminder',
    breachReminderMail(breach, { hoursLeft: 20 }).text,
    {
      same: [c.reference, c.partyName, c.connectionEan, String(breach.deliveries), breach.assessmentId],
      dates: [breach.dueAt, at(breach.firstDeliveredAt!)],
    },
  ],
];

describe('every mail states the same facts in Dutch and in English', () => {
  it.each(bilingualMails)('%s', (_name, text, required) => {
    expect(missing(halves(text), ALL, required)).toEqual([]);
  });

  it('the GT-11 reminder without deliveries names no first delivery in either language', () => {
    const text = halves(
      breachReminderMail({ ...breach, deliveries: 0, firstDeliveredAt: null }, { hoursLeft: 20 }).text,
    );
    for (const lang of ['nl', 'en'] as const)
      expect(text[lang]).not.toContain(timeIn(lang, at(breach.firstDeliveredAt!)));
  });

  it.each([
    ['with the grid user named and deliveries', 'J. Jansen', breach],
    ['to an unknown grid user, nothing delivered', null, { ...breach, deliveries: 0, firstDeliveredAt: null }],
  ] as const)('the art. 34 letter %s', (_name, gridUserName, b) => {
    const o = { gridUserName, privacyOfficerName: 'P. Privacy', measures: 'Klantcontact verbeterd' };
    const text = { nl: gridUserLetter(b, o, 'nl').text, en: gridUserLetter(b, o, 'en').text };
    const required: Facts = {
      same: [b.reference, b.connectionEan, b.partyName, b.gridOperatorName, 'P. Privacy', 'Klantcontact verbeterd'],
      dates: [b.awareAt, ...(b.firstDeliveredAt ? [at(b.firstDeliveredAt)] : [])],
    };
    expect(missing(text, { ...ALL, same: [...ALL.same, 'P. Privacy', '1-2-2026', '8-2-2026'] }, required)).toEqual([]);
  });
});
