/**
 * Email texts of the doubt-case process (GT-1, GT-3, GT-5..GT-10): Dutch first, English below, each as
 * plain text and HTML. The words are the one message catalogue's (lib/messages.ts, `mail.*`, issue 19), shared
 * with the console; the mails here arrange them. Pure functions of their data: times are rendered on the Amsterdam
 * clock with domain/working-days formatAmsterdam, never with the host zone.
 */
import { formatAmsterdam } from '../domain/working-days.js';
import { isMessageKey, t, type Lang } from '../lib/messages.js';
import type { OutgoingMail } from './mailer.js';

export type Block = string | { list: string[] } | { facts: [string, string][] } | { heading: string };

export interface Bilingual {
  subjectNl: string;
  subjectEn: string;
  nl: Block[];
  en: Block[];
}

export type MailContent = Pick<OutgoingMail, 'subject' | 'text' | 'html'>;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function textOf(blocks: Block[]): string {
  return blocks
    .map((b) => {
      if (typeof b === 'string') return b;
      if ('list' in b) return b.list.map((l) => `- ${l}`).join('\n');
      if ('facts' in b) return b.facts.map(([k, v]) => `${k}: ${v}`).join('\n');
      return `${b.heading}\n${'-'.repeat(b.heading.length)}`;
    })
    .join('\n\n');
}

function htmlOf(blocks: Block[]): string {
  return blocks
    .map((b) => {
      if (typeof b === 'string') return `<p>${esc(b).replace(/\n/g, '<br>')}</p>`;
      if ('list' in b) return `<ul>${b.list.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`;
      if ('facts' in b)
        return `<table>${b.facts.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
      return `<h3>${esc(b.heading)}</h3>`;
    })
    .join('\n');
}

export function render(m: Bilingual): MailContent {
  const subject = `${m.subjectNl} / ${m.subjectEn}`;
  const english = t('en', 'mail.englishVersion');
  const text = `${textOf(m.nl)}\n\n==================== ${english} ====================\n\n${textOf(m.en)}\n`;
  const html =
    `<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>${esc(subject)}</title></head><body>` +
    `<div lang="nl">${htmlOf(m.nl)}</div><hr><div lang="en"><h2>${esc(english)}</h2>${htmlOf(m.en)}</div></body></html>`;
  return { subject, text, html };
}

/** One mail in both languages: its subject and body written once, per language, from the catalogue. */
export function bilingual(subject: (lang: Lang) => string, body: (lang: Lang) => Block[]): MailContent {
  return render({ subjectNl: subject('nl'), subjectEn: subject('en'), nl: body('nl'), en: body('en') });
}

/** How a signal reached the grid operator, as a mail names it; a channel the catalogue does not know as it is. */
export const channelName = (lang: Lang, c: string) => {
  const key = `mail.channel.${c}`;
  return isMessageKey(key) ? t(lang, key) : c;
};
export const channelNl = (c: string) => channelName('nl', c);
export const channelEn = (c: string) => channelName('en', c);

/** A time on the Amsterdam clock, in the mail's language. */
export const timeIn = (lang: Lang, d: Date) => formatAmsterdam(d, lang);
export const nlTime = (d: Date) => timeIn('nl', d);
export const enTime = (d: Date) => timeIn('en', d);

export interface CaseMailData {
  caseId: string;
  reference: string;
  connectionEan: string;
  partyName: string;
  partyGln: string;
  gridOperatorName: string;
  gridOperatorGln: string;
  channel: string;
  receivedAt: Date;
  isma: boolean;
  publicUrl: string;
}

/** The case's names every case mail may use: {reference}, {ean}, {party}, {operator}. */
export const caseParams = (c: CaseMailData) => ({
  reference: c.reference,
  ean: c.connectionEan,
  party: c.partyName,
  operator: c.gridOperatorName,
});

function caseFacts(c: CaseMailData, lang: Lang): Block {
  return {
    facts: [
      [t(lang, 'mail.fact.reference'), c.reference],
      [t(lang, 'mail.fact.ean'), c.connectionEan],
      [t(lang, 'mail.fact.party'), `${c.partyName} (${c.partyGln})`],
      [t(lang, 'mail.fact.operator'), `${c.gridOperatorName} (${c.gridOperatorGln})`],
      [
        t(lang, 'mail.fact.received'),
        t(lang, 'mail.fact.receivedVia', { at: timeIn(lang, c.receivedAt), channel: channelName(lang, c.channel) }),
      ],
      [t(lang, 'mail.fact.isma'), t(lang, c.isma ? 'mail.yes' : 'mail.no')],
    ],
  };
}

const greeting = (lang: Lang, c: { partyName: string }) => t(lang, 'mail.greeting.party', { party: c.partyName });
const closing = (lang: Lang, c: { gridOperatorName: string }) =>
  t(lang, 'mail.closing', { operator: c.gridOperatorName });

/** GT-1 / GT-3 / GT-10: the request to the party's doubt contact group. */
export function contactRequestMail(c: CaseMailData, o: { responseDueAt: Date; evidenceMaxBytes: number }): MailContent {
  const url = `${c.publicUrl}/cases/${c.caseId}/responses`;
  const mb = (o.evidenceMaxBytes / 1_048_576).toFixed(0);
  const p = (lang: Lang) => ({ ...caseParams(c), url, mb, due: timeIn(lang, o.responseDueAt) });
  return bilingual(
    (lang) => t(lang, 'mail.contactRequest.subject', p(lang)),
    (lang) => [
      greeting(lang, c),
      t(lang, 'mail.contactRequest.intro', {
        ...p(lang),
        isma: c.isma ? t(lang, 'mail.contactRequest.intro.isma') : '',
      }),
      caseFacts(c, lang),
      { heading: t(lang, 'mail.contactRequest.askHeading') },
      {
        list: [
          t(lang, 'mail.contactRequest.ask.findings'),
          t(lang, 'mail.contactRequest.ask.complaints'),
          t(lang, 'mail.contactRequest.ask.evidence', p(lang)),
        ],
      },
      { heading: t(lang, 'mail.contactRequest.deadlineHeading') },
      t(lang, 'mail.contactRequest.deadline', p(lang)),
      { heading: t(lang, 'mail.heading.how') },
      t(lang, 'mail.contactRequest.how', p(lang)),
      t(lang, 'mail.contactRequest.next', { isma: c.isma ? t(lang, 'mail.contactRequest.next.isma') : '' }),
      closing(lang, c),
    ],
  );
}

/**
 * GT-3: the handler asks for more or other evidence within the 72 hours. States what is asked (the handler's
 * text, as recorded), the response endpoint and the unchanged reply-by instant: the 72 hours do not restart.
 */
export function evidenceRequestMail(c: CaseMailData, o: { message: string; responseDueAt: Date }): MailContent {
  const url = `${c.publicUrl}/cases/${c.caseId}/responses`;
  const p = (lang: Lang) => ({ ...caseParams(c), url, due: timeIn(lang, o.responseDueAt) });
  return bilingual(
    (lang) => t(lang, 'mail.evidenceRequest.subject', p(lang)),
    (lang) => [
      greeting(lang, c),
      t(lang, 'mail.evidenceRequest.intro', p(lang)),
      { heading: t(lang, 'mail.evidenceRequest.needHeading') },
      o.message,
      { heading: t(lang, 'mail.evidenceRequest.deadlineHeading') },
      t(lang, 'mail.evidenceRequest.deadline', p(lang)),
      { heading: t(lang, 'mail.heading.how') },
      t(lang, 'mail.evidenceRequest.how', p(lang)),
      caseFacts(c, lang),
      closing(lang, c),
    ],
  );
}

/** GT-1: contact not achieved while the deadline nears: alert the grid operator's case handlers. */
export function contactAlertMail(c: CaseMailData, o: { contactDueAt: Date }): MailContent {
  const p = (lang: Lang) => ({ ...caseParams(c), due: timeIn(lang, o.contactDueAt) });
  return bilingual(
    (lang) => t(lang, 'mail.contactAlert.subject', p(lang)),
    (lang) => [
      t(lang, 'mail.contactAlert.undelivered', p(lang)),
      t(lang, 'mail.contactAlert.deadline', p(lang)),
      caseFacts(c, lang),
    ],
  );
}

/** Evidence arrived in time but is not judged yet after the 72 hours. */
export function judgementReminderMail(
  c: CaseMailData,
  o: { responseDueAt: Date | null; pending: number },
): MailContent {
  const due = o.responseDueAt;
  const url = `${c.publicUrl}/cases/${c.caseId}/judgements`;
  return bilingual(
    (lang) => t(lang, 'mail.judgementReminder.subject', caseParams(c)),
    (lang) => [
      t(lang, 'mail.judgementReminder.supplied', {
        ...caseParams(c),
        pending: o.pending,
        until: due ? t(lang, 'mail.judgementReminder.until', { due: timeIn(lang, due) }) : '',
      }),
      t(lang, 'mail.judgementReminder.judge', { url }),
      caseFacts(c, lang),
    ],
  );
}

export type OutcomeMailKind = 'accepted' | 'not_demonstrated' | 'wrongful_block' | 'withdrawn';

/** GT-4 / GT-7 / GT-8: the outcome, to the party's doubt contact group. */
export function outcomeMail(
  c: CaseMailData,
  o: { outcome: OutcomeMailKind; closedAt: Date; reason: string | null; profileEffectiveFrom: Date | null },
): MailContent {
  const texts = (lang: Lang): string[] => {
    const p = {
      closedAt: timeIn(lang, o.closedAt),
      reason: o.reason ? t(lang, 'mail.outcome.reason', { reason: o.reason }) : '',
      isma: c.isma ? t(lang, 'mail.outcome.ismaEnded') : '',
    };
    switch (o.outcome) {
      case 'accepted':
        return [t(lang, 'mail.outcome.accepted.lifted', p), t(lang, 'mail.outcome.accepted.destroyed')];
      case 'not_demonstrated': {
        const profile =
          c.isma && o.profileEffectiveFrom
            ? t(lang, 'mail.outcome.not_demonstrated.profile', { from: timeIn(lang, o.profileEffectiveFrom) })
            : '';
        return [
          t(lang, 'mail.outcome.not_demonstrated.stays', { ...p, profile }),
          t(lang, 'mail.outcome.not_demonstrated.closed'),
        ];
      }
      case 'wrongful_block':
        return [t(lang, 'mail.outcome.wrongful_block.lifted', p)];
      case 'withdrawn':
        return [t(lang, 'mail.outcome.withdrawn.lifted', p)];
    }
  };
  return bilingual(
    (lang) =>
      t(lang, 'mail.outcome.subject', { ...caseParams(c), outcome: t(lang, `mail.outcome.${o.outcome}.subject`) }),
    (lang) => [greeting(lang, c), ...texts(lang), caseFacts(c, lang), closing(lang, c)],
  );
}

/** GT-6: a case report to the ACM. */
export function acmCaseReportMail(
  c: CaseMailData,
  o: { message: string; status: string; timeline: [string, string][] },
): MailContent {
  return bilingual(
    (lang) => t(lang, 'mail.acmCaseReport.subject', caseParams(c)),
    (lang) => [
      t(lang, 'mail.acmCaseReport.intro', caseParams(c)),
      caseFacts(c, lang),
      { heading: t(lang, 'mail.heading.findings') },
      o.message,
      { facts: [[t(lang, 'mail.fact.status'), o.status]] },
      { heading: t(lang, 'mail.acmCaseReport.timelineHeading') },
      { facts: o.timeline },
    ],
  );
}

export interface SupplierReportMailData {
  reportId: string;
  partyName: string;
  partyGln: string;
  gridOperatorName: string;
  connectionEan: string;
  signalReceivedAt: Date;
  reportedAt: Date;
  reportedWithinOneWorkingDay: boolean;
  customerSatisfaction: 'unknown' | 'dissatisfied';
  findings: string;
  actions: string;
  publicUrl: string;
}

/** GT-9 / GT-10: a supplier-side signal, to the grid operator's doubt contact group. */
export function supplierReportMail(r: SupplierReportMailData): MailContent {
  const facts = (lang: Lang): Block => ({
    facts: [
      [t(lang, 'mail.supplierReport.fact.report'), r.reportId],
      [t(lang, 'mail.fact.party'), `${r.partyName} (${r.partyGln})`],
      [t(lang, 'mail.fact.ean'), r.connectionEan],
      [t(lang, 'mail.supplierReport.fact.signalReceived'), timeIn(lang, r.signalReceivedAt)],
      [
        t(lang, 'mail.supplierReport.fact.reported'),
        t(
          lang,
          r.reportedWithinOneWorkingDay ? 'mail.supplierReport.reportedInTime' : 'mail.supplierReport.reportedLate',
          {
            at: timeIn(lang, r.reportedAt),
          },
        ),
      ],
      [
        t(lang, 'mail.supplierReport.fact.customer'),
        t(
          lang,
          r.customerSatisfaction === 'dissatisfied'
            ? 'mail.supplierReport.dissatisfied'
            : 'mail.supplierReport.satisfactionUnknown',
        ),
      ],
    ],
  });
  const p = { party: r.partyName, ean: r.connectionEan, url: `${r.publicUrl}/supplier-reports/${r.reportId}/cases` };
  return bilingual(
    (lang) => t(lang, 'mail.supplierReport.subject', p),
    (lang) => [
      t(lang, 'mail.supplierReport.intro', p),
      facts(lang),
      { heading: t(lang, 'mail.heading.findings') },
      r.findings,
      { heading: t(lang, 'mail.supplierReport.actionsHeading') },
      r.actions,
      t(lang, 'mail.supplierReport.openCase', p),
    ],
  );
}

export interface ReviewMailData {
  reviewId: string;
  partyName: string;
  partyGln: string;
  signalsAtOpen: number;
  windowDays: number;
  followUpDays: number;
  openedAt: Date;
}

/** GT-5: contact on behalf of all grid operators. */
export function reviewContactMail(r: ReviewMailData): MailContent {
  const p = { party: r.partyName, windowDays: r.windowDays, signals: r.signalsAtOpen, followUpDays: r.followUpDays };
  return bilingual(
    (lang) => t(lang, 'mail.reviewContact.subject', p),
    (lang) => [
      greeting(lang, r),
      t(lang, 'mail.reviewContact.signals', p),
      t(lang, 'mail.reviewContact.ask', p),
      {
        facts: [
          [t(lang, 'mail.reviewContact.fact.review'), r.reviewId],
          [t(lang, 'mail.reviewContact.fact.opened'), timeIn(lang, r.openedAt)],
        ],
      },
    ],
  );
}

/** GT-5: insufficient improvement, reported to the ACM. */
export function reviewAcmReportMail(
  r: ReviewMailData & {
    signalsAfterFollowUp: number;
    followUpFrom: Date;
    followUpUntil: Date;
    /** The named person who signed the decision to report, and the reason given. */
    signedBy: string;
    signedAt: Date;
    reason: string;
    commitment: string | null;
  },
): MailContent {
  const facts = (lang: Lang): Block => ({
    facts: [
      [t(lang, 'mail.fact.party'), `${r.partyName} (${r.partyGln})`],
      [
        t(lang, 'mail.reviewAcmReport.fact.atOpening'),
        t(lang, 'mail.reviewAcmReport.signalsInDays', { signals: r.signalsAtOpen, days: r.windowDays }),
      ],
      [
        t(lang, 'mail.reviewAcmReport.fact.followUp'),
        `${t(lang, 'mail.reviewAcmReport.signalsInDays', { signals: r.signalsAfterFollowUp, days: r.followUpDays })} (${timeIn(lang, r.followUpFrom)} – ${timeIn(lang, r.followUpUntil)})`,
      ],
      [t(lang, 'mail.reviewAcmReport.fact.commitment'), r.commitment ?? t(lang, 'mail.reviewAcmReport.noCommitment')],
      [t(lang, 'mail.reviewAcmReport.fact.decision'), r.reason],
      [t(lang, 'mail.reviewAcmReport.fact.signedBy'), `${r.signedBy} (${timeIn(lang, r.signedAt)})`],
    ],
  });
  const p = { party: r.partyName };
  return bilingual(
    (lang) => t(lang, 'mail.reviewAcmReport.subject', p),
    (lang) => [t(lang, 'mail.reviewAcmReport.intro', p), facts(lang)],
  );
}

/** GT-10: the party has nobody in its doubt contact group: the contact mail cannot go out; the handler is told at once. */
export function contactGroupEmptyMail(c: CaseMailData, o: { contactDueAt: Date }): MailContent {
  const url = `${c.publicUrl}/cases/${c.caseId}/contacts`;
  const p = (lang: Lang) => ({ ...caseParams(c), url, due: timeIn(lang, o.contactDueAt) });
  return bilingual(
    (lang) => t(lang, 'mail.contactGroupEmpty.subject', p(lang)),
    (lang) => [
      t(lang, 'mail.contactGroupEmpty.empty', p(lang)),
      t(lang, 'mail.contactGroupEmpty.otherWay', p(lang)),
      caseFacts(c, lang),
    ],
  );
}
