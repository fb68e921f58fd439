/**
 * GT-11 texts: the reminder to the privacy officer while the art. 33 clock runs (Dutch, then English), and the
 * letter that informs the grid user (GDPR art. 34), in Dutch. The words are the message catalogue's
 * (lib/messages.ts `mail.*`, issue 19). Pure functions of their data; Amsterdam clock.
 */
import { formatAmsterdam } from '../domain/working-days.js';
import { isMessageKey, t, type Lang } from '../lib/messages.js';
import type { OutgoingMail } from './mailer.js';

export type MailContent = Pick<OutgoingMail, 'subject' | 'text' | 'html'>;

/** Meter-data kinds as the letter names them (the register's data_kind values). */
const kindIn = (lang: Lang, k: string) => {
  const key = `mail.dataKind.${k}`;
  return isMessageKey(key) ? t(lang, key) : t(lang, 'mail.dataKindUnknown', { kind: k });
};
const time = (lang: Lang, d: Date) => formatAmsterdam(d, lang);
const day = (iso: string) => new Date(iso).toLocaleDateString('nl-NL', { timeZone: 'Europe/Amsterdam' });
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const html = (text: string) =>
  `<!doctype html><html lang="nl"><head><meta charset="utf-8"></head><body><pre style="font-family:inherit;white-space:pre-wrap">${esc(text)}</pre></body></html>`;

export interface BreachTextData {
  reference: string;
  assessmentId: string;
  connectionEan: string;
  partyName: string;
  gridOperatorName: string;
  awareAt: Date;
  dueAt: Date;
  deliveries: number;
  firstDeliveredAt: string | null;
  periods: { dataKind: string; from: string; to: string }[];
  publicUrl: string;
}

/** Reminder n (of the art. 33 clock) to the grid operator's privacy officer. */
export function breachReminderMail(b: BreachTextData, o: { hoursLeft: number }): MailContent {
  const lines = (lang: Lang) => {
    const p = {
      reference: b.reference,
      party: b.partyName,
      ean: b.connectionEan,
      deliveries: b.deliveries,
      hours: o.hoursLeft,
      due: time(lang, b.dueAt),
      url: `${b.publicUrl}/breach-assessments/${b.assessmentId}/decision`,
      first: b.firstDeliveredAt
        ? t(lang, 'mail.breachReminder.first', { at: time(lang, new Date(b.firstDeliveredAt)) })
        : '',
    };
    return [
      t(lang, 'mail.breachReminder.clock', p),
      t(lang, 'mail.breachReminder.facts', p),
      t(lang, 'mail.breachReminder.decide', p),
    ];
  };
  const text = [
    ...lines('nl'),
    '',
    `==================== ${t('en', 'mail.englishVersion')} ====================`,
    '',
    ...lines('en'),
  ].join('\n');
  const subject = (lang: Lang) => t(lang, 'mail.breachReminder.subject', { reference: b.reference });
  return { subject: `${subject('nl')} / ${subject('en')}`, text: text + '\n', html: html(text) };
}

/**
 * Art. 34 letter to the grid user: what happened, which data, likely consequences, measures, and whom
 * to contact. `gridUserName` null: the connection's grid user is not known to the system. Dutch (the catalogue
 * holds it in English too).
 */
export function gridUserLetter(
  b: BreachTextData,
  o: { gridUserName: string | null; privacyOfficerName: string | null; measures: string },
  lang: Lang = 'nl',
): { subject: string; text: string } {
  const kinds = [...new Set(b.periods.map((p) => kindIn(lang, p.dataKind)))];
  const periods = b.periods.map((p) =>
    t(lang, 'mail.breachLetter.period', { kind: kindIn(lang, p.dataKind), from: day(p.from), to: day(p.to) }),
  );
  const p = { reference: b.reference, ean: b.connectionEan, party: b.partyName };
  const text = [
    `${b.gridOperatorName}`,
    '',
    t(lang, 'mail.breachLetter.about', p),
    '',
    o.gridUserName ? t(lang, 'mail.dear', { name: o.gridUserName }) : t(lang, 'mail.breachLetter.dearUnknown'),
    '',
    t(lang, 'mail.breachLetter.why'),
    '',
    t(lang, 'mail.breachLetter.whatHeading'),
    t(lang, 'mail.breachLetter.what', { ...p, awareAt: time(lang, b.awareAt) }),
    '',
    t(lang, 'mail.breachLetter.dataHeading'),
    ...(b.deliveries > 0
      ? [
          t(lang, 'mail.breachLetter.delivered', {
            deliveries: b.deliveries,
            kinds: kinds.join(', '),
            first: b.firstDeliveredAt
              ? t(lang, 'mail.breachLetter.first', { at: time(lang, new Date(b.firstDeliveredAt)) })
              : '',
          }),
          ...periods,
        ]
      : [t(lang, 'mail.breachLetter.notDelivered')]),
    '',
    t(lang, 'mail.breachLetter.consequencesHeading'),
    t(lang, 'mail.breachLetter.consequences'),
    '',
    t(lang, 'mail.breachLetter.measuresHeading'),
    o.measures,
    '',
    t(lang, 'mail.breachLetter.youHeading'),
    t(lang, 'mail.breachLetter.you', p),
    '',
    t(lang, 'mail.breachLetter.questions', {
      ...p,
      officer: o.privacyOfficerName ? ` (${o.privacyOfficerName})` : '',
    }),
    '',
    t(lang, 'mail.breachLetter.closing'),
    '',
    `${b.gridOperatorName}`,
    o.privacyOfficerName
      ? t(lang, 'mail.breachLetter.officerSigns', { name: o.privacyOfficerName })
      : t(lang, 'mail.breachLetter.officer'),
  ].join('\n');
  return { subject: t(lang, 'mail.breachLetter.subject', p), text: text + '\n' };
}
