/**
 * GT-11 texts: the reminder to the privacy officer while the art. 33 clock runs, and the letter that
 * informs the grid user (GDPR art. 34), in Dutch. Pure functions of their data; Amsterdam clock.
 */
import { formatAmsterdam } from '../domain/working-days.js';
import type { OutgoingMail } from './mailer.js';

export type MailContent = Pick<OutgoingMail, 'subject' | 'text' | 'html'>;

/** Meter-data kinds as the letter names them (the register's data_kind values). */
const DATA_KINDS_NL: Record<string, string> = {
  interval_data: 'kwartierwaarden (verbruik en teruglevering per kwartier)',
  daily_registers: 'dagstanden van de meter',
  monthly_registers: 'maandstanden van de meter',
};
const kindNl = (k: string) => DATA_KINDS_NL[k] ?? `meetgegevens (${k})`;
const nl = (d: Date) => formatAmsterdam(d, 'nl');
const en = (d: Date) => formatAmsterdam(d, 'en');
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
  const text = [
    `Herinnering: de 72-uurstermijn van artikel 33 AVG voor de beoordeling van een mogelijk datalek loopt af op ${nl(b.dueAt)} (nog ongeveer ${o.hoursLeft} uur).`,
    `Zaak ${b.reference}: ${b.partyName} kon het klantmandaat voor aansluiting ${b.connectionEan} niet aantonen. Volgens het toegangsregister ontving deze partij ${b.deliveries} levering(en) van meetgegevens${b.firstDeliveredAt ? `, de eerste op ${nl(new Date(b.firstDeliveredAt))}` : ''}.`,
    `Leg uw besluit vast (melding aan de AP, informeren van de aangeslotene) via POST ${b.publicUrl}/breach-assessments/${b.assessmentId}/decision.`,
    '',
    '==================== English version ====================',
    '',
    `Reminder: the 72 hours of GDPR art. 33 for assessing a possible personal-data breach end at ${en(b.dueAt)} (about ${o.hoursLeft} hours left).`,
    `Case ${b.reference}: ${b.partyName} did not demonstrate the customer mandate for connection ${b.connectionEan}. The access register shows ${b.deliveries} delivery(ies) of meter data to this party.`,
    `Record your decision (notify the AP, inform the grid user) through POST ${b.publicUrl}/breach-assessments/${b.assessmentId}/decision.`,
  ].join('\n');
  return {
    subject: `[${b.reference}] Herinnering: datalekbeoordeling, termijn AVG art. 33 / Reminder: breach assessment, GDPR art. 33 deadline`,
    text: text + '\n',
    html: html(text),
  };
}

/**
 * Art. 34 letter to the grid user: what happened, which data, likely consequences, measures, and whom
 * to contact. `gridUserName` null: the connection's grid user is not known to the system.
 */
export function gridUserLetter(
  b: BreachTextData,
  o: { gridUserName: string | null; privacyOfficerName: string | null; measures: string },
): { subject: string; text: string } {
  const kinds = [...new Set(b.periods.map((p) => kindNl(p.dataKind)))];
  const periods = b.periods.map((p) => `- ${kindNl(p.dataKind)}: ${day(p.from)} tot ${day(p.to)}`);
  const text = [
    `${b.gridOperatorName}`,
    '',
    `Betreft: uw meetgegevens zijn mogelijk onrechtmatig verstrekt (aansluiting ${b.connectionEan}, ons kenmerk ${b.reference})`,
    '',
    o.gridUserName ? `Geachte ${o.gridUserName},` : 'Geachte heer/mevrouw,',
    '',
    `Wij informeren u op grond van artikel 34 van de Algemene verordening gegevensbescherming (AVG) over een inbreuk in verband met persoonsgegevens die u betreft.`,
    '',
    'Wat is er gebeurd?',
    `${b.partyName} heeft via ons meetdataportaal (P4) meetgegevens van uw aansluiting opgevraagd en ontvangen. Na een melding hebben wij deze partij gevraagd aan te tonen dat u daarvoor toestemming (een klantmandaat) had gegeven. Dat heeft zij niet kunnen aantonen. Wij hebben dit vastgesteld op ${nl(b.awareAt)}.`,
    '',
    'Om welke gegevens gaat het?',
    ...(b.deliveries > 0
      ? [
          `Volgens ons toegangsregister zijn ${b.deliveries} keer gegevens geleverd${b.firstDeliveredAt ? `, voor het eerst op ${nl(new Date(b.firstDeliveredAt))}` : ''}: ${kinds.join(', ')}, over de perioden:`,
          ...periods,
        ]
      : [
          'Volgens ons toegangsregister zijn geen meetgegevens daadwerkelijk geleverd; de opvragingen zijn wel geregistreerd.',
        ]),
    '',
    'Wat kunnen de gevolgen zijn?',
    'Uit meetgegevens kan iets worden afgeleid over uw leefpatroon, bijvoorbeeld wanneer u thuis bent of welke apparaten u gebruikt. Ook kunnen de gegevens worden gebruikt voor ongevraagde aanbiedingen.',
    '',
    'Wat hebben wij gedaan?',
    o.measures,
    '',
    'Wat kunt u doen?',
    `Via ons inzageoverzicht ziet u welke partijen toegang tot uw meetgegevens hebben (gehad). U kunt ${b.partyName} vragen welke gegevens zij van u heeft en verzoeken die te verwijderen (artikelen 15 en 17 AVG). U kunt ook een klacht indienen bij de Autoriteit Persoonsgegevens.`,
    '',
    `Heeft u vragen? Neem contact op met onze functionaris gegevensbescherming${o.privacyOfficerName ? ` (${o.privacyOfficerName})` : ''} en vermeld kenmerk ${b.reference}.`,
    '',
    'Met vriendelijke groet,',
    '',
    `${b.gridOperatorName}`,
    o.privacyOfficerName
      ? `${o.privacyOfficerName}, functionaris gegevensbescherming`
      : 'Functionaris gegevensbescherming',
  ].join('\n');
  return { subject: `Uw meetgegevens zijn mogelijk onrechtmatig verstrekt (${b.reference})`, text: text + '\n' };
}
