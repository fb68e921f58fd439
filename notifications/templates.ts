/**
 * Email texts of the doubt-case process (GT-1, GT-3, GT-5..GT-10): Dutch first, English below, each as
 * plain text and HTML. Pure functions of their data: times are rendered on the Amsterdam clock with
 * domain/working-days formatAmsterdam, never with the host zone.
 */
import { formatAmsterdam } from '../domain/working-days.js';
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
  const text = `${textOf(m.nl)}\n\n==================== English version ====================\n\n${textOf(m.en)}\n`;
  const html =
    `<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>${esc(subject)}</title></head><body>` +
    `<div lang="nl">${htmlOf(m.nl)}</div><hr><div lang="en"><h2>English version</h2>${htmlOf(m.en)}</div></body></html>`;
  return { subject, text, html };
}

const CHANNELS: Record<string, [string, string]> = {
  customer: ['de klant (aangeslotene)', 'the customer (grid user)'],
  consuwijzer: ['ConsuWijzer', 'ConsuWijzer'],
  acm: ['de ACM', 'the ACM'],
  ap: ['de Autoriteit Persoonsgegevens (AP)', 'the Dutch Data Protection Authority (AP)'],
  consumer_or_government_organisation: [
    'een consumenten- of overheidsorganisatie',
    'a consumer or government organisation',
  ],
  market_party: ['een marktpartij', 'a market party'],
  branch_organisation: ['een brancheorganisatie', 'a branch organisation'],
  supplier_report: [
    'een melding van de leverancier/dienstenaanbieder (GT-9)',
    'a report by the supplier/service provider (GT-9)',
  ],
};
export const channelNl = (c: string) => CHANNELS[c]?.[0] ?? c;
export const channelEn = (c: string) => CHANNELS[c]?.[1] ?? c;

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

export const nlTime = (d: Date) => formatAmsterdam(d, 'nl');
export const enTime = (d: Date) => formatAmsterdam(d, 'en');

function caseFacts(c: CaseMailData, lang: 'nl' | 'en'): Block {
  return lang === 'nl'
    ? {
        facts: [
          ['Zaaknummer', c.reference],
          ['Aansluiting (EAN)', c.connectionEan],
          ['Partij', `${c.partyName} (${c.partyGln})`],
          ['Netbeheerder', `${c.gridOperatorName} (${c.gridOperatorGln})`],
          ['Signaal ontvangen', `${nlTime(c.receivedAt)} via ${channelNl(c.channel)}`],
          ['iSMA', c.isma ? 'ja' : 'nee'],
        ],
      }
    : {
        facts: [
          ['Case reference', c.reference],
          ['Connection (EAN)', c.connectionEan],
          ['Party', `${c.partyName} (${c.partyGln})`],
          ['Grid operator', `${c.gridOperatorName} (${c.gridOperatorGln})`],
          ['Signal received', `${enTime(c.receivedAt)} via ${channelEn(c.channel)}`],
          ['iSMA', c.isma ? 'yes' : 'no'],
        ],
      };
}

/** GT-1 / GT-3 / GT-10: the request to the party's doubt contact group. */
export function contactRequestMail(c: CaseMailData, o: { responseDueAt: Date; evidenceMaxBytes: number }): MailContent {
  const url = `${c.publicUrl}/cases/${c.caseId}/responses`;
  const mb = (o.evidenceMaxBytes / 1_048_576).toFixed(0);
  return render({
    subjectNl: `[${c.reference}] Gerede twijfel klantmandaat: reactie vóór ${nlTime(o.responseDueAt)}`,
    subjectEn: `Reasonable doubt about customer mandate: reply before ${enTime(o.responseDueAt)}`,
    nl: [
      `Beste contactpersoon "Gerede twijfel Klantmandaat" van ${c.partyName},`,
      `${c.gridOperatorName} heeft een klantsignaal ontvangen over het (vermeend onrechtmatig) opvragen van meetdata uit de slimme meter via P4 door uw organisatie. ` +
        'Wij hebben de aansluiting daarom met directe ingang voor uw organisatie geblokkeerd voor P4-opvragingen waarvoor een aanvullend mandaat nodig is.' +
        (c.isma
          ? " Het signaal betreft uitlezing voor iSMA: de aansluiting blijft op iSMA en wordt in de tussentijd met '0'-waarden gealloceerd."
          : ''),
      caseFacts(c, 'nl'),
      { heading: 'Wat wij van u vragen' },
      {
        list: [
          'uw bevindingen over dit signaal;',
          'uw klachtafhandeling richting de klant;',
          'het bewijs dat u het klantmandaat voor deze opvragingen heeft verkregen (PDF, PNG of JPEG, ten hoogste ' +
            mb +
            ' MB).',
        ],
      },
      { heading: 'Uiterste termijn' },
      `Uw reactie moet binnen 72 uur na dit bericht binnen zijn: uiterlijk ${nlTime(o.responseDueAt)}.`,
      { heading: 'Hoe u reageert' },
      `Stuur uw reactie via de API: POST ${url} met uw API-sleutel (rol leverancier), met de velden findings, complaintHandling en evidence (bestandsnaam, type en inhoud in base64). Vermeld altijd zaaknummer ${c.reference}.`,
      'Wordt het mandaat aannemelijk gemaakt, dan heffen wij de blokkade binnen 1 werkdag op en kunt u de data met terugwerkende kracht opvragen; de ontvangen kopie van de machtiging wordt daarna vernietigd. ' +
        'Komt er binnen 72 uur geen reactie of wordt het mandaat niet aannemelijk gemaakt, dan blijft de blokkade staan' +
        (c.isma ? ' en wordt de allocatiemethode teruggezet op profielallocatie' : '') +
        '; een later aangeleverd bewijs heropent de zaak niet en u moet dan de reguliere processen (opvraagproces P4 of iSMA) opnieuw starten.',
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear "Gerede twijfel Klantmandaat" contact of ${c.partyName},`,
      `${c.gridOperatorName} has received a customer signal about (allegedly unlawful) requests for smart-meter data through P4 by your organisation. ` +
        'We have therefore blocked the connection, with immediate effect, for P4 requests by your organisation that need an additional mandate.' +
        (c.isma
          ? " The signal concerns reading for iSMA: the connection stays on iSMA and is allocated with '0' values in the meantime."
          : ''),
      caseFacts(c, 'en'),
      { heading: 'What we ask' },
      {
        list: [
          'your findings about this signal;',
          'your complaint handling towards the customer;',
          `proof that you obtained the customer's mandate for these requests (PDF, PNG or JPEG, at most ${mb} MB).`,
        ],
      },
      { heading: 'Deadline' },
      `Your answer must reach us within 72 hours of this message: by ${enTime(o.responseDueAt)} at the latest.`,
      { heading: 'How to answer' },
      `Send your answer through the API: POST ${url} with your API key (supplier role), with the fields findings, complaintHandling and evidence (file name, type and content in base64). Always quote case reference ${c.reference}.`,
      'If the mandate is made plausible, we lift the block within 1 working day and you may request the data retroactively; the copy of the authorisation we received is destroyed afterwards. ' +
        'Without an answer within 72 hours, or if the mandate is not made plausible, the block stays' +
        (c.isma ? ' and the allocation method is set back to profile allocation' : '') +
        '; evidence supplied later does not reopen the case: you then have to restart the regular processes (P4 request process or iSMA).',
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}

/**
 * GT-3: the handler asks for more or other evidence within the 72 hours. States what is asked (the handler's
 * text, as recorded), the response endpoint and the unchanged reply-by instant: the 72 hours do not restart.
 */
export function evidenceRequestMail(c: CaseMailData, o: { message: string; responseDueAt: Date }): MailContent {
  const url = `${c.publicUrl}/cases/${c.caseId}/responses`;
  return render({
    subjectNl: `[${c.reference}] Verzoek om aanvullend bewijs klantmandaat, vóór ${nlTime(o.responseDueAt)}`,
    subjectEn: `Request for further evidence of the customer mandate, before ${enTime(o.responseDueAt)}`,
    nl: [
      `Beste contactpersoon "Gerede twijfel Klantmandaat" van ${c.partyName},`,
      `In zaak ${c.reference} vraagt ${c.gridOperatorName} u om aanvullend of ander bewijs van het klantmandaat.`,
      { heading: 'Wat wij nodig hebben' },
      o.message,
      { heading: 'Uiterste termijn (ongewijzigd)' },
      `Dit verzoek verlengt de termijn van 72 uur niet: uw reactie moet uiterlijk ${nlTime(o.responseDueAt)} binnen zijn.`,
      { heading: 'Hoe u reageert' },
      `Stuur uw reactie zoals eerder via de API: POST ${url} met uw API-sleutel (rol leverancier), met de velden findings, complaintHandling en evidence. Vermeld altijd zaaknummer ${c.reference}.`,
      caseFacts(c, 'nl'),
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear "Gerede twijfel Klantmandaat" contact of ${c.partyName},`,
      `In case ${c.reference}, ${c.gridOperatorName} asks you for further or other evidence of the customer mandate.`,
      { heading: 'What we need' },
      o.message,
      { heading: 'Deadline (unchanged)' },
      `This request does not extend the 72 hours: your answer must reach us by ${enTime(o.responseDueAt)} at the latest.`,
      { heading: 'How to answer' },
      `Answer as before through the API: POST ${url} with your API key (supplier role), with the fields findings, complaintHandling and evidence. Always quote case reference ${c.reference}.`,
      caseFacts(c, 'en'),
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}

/** GT-1: contact not achieved while the deadline nears: alert the grid operator's case handlers. */
export function contactAlertMail(c: CaseMailData, o: { contactDueAt: Date }): MailContent {
  return render({
    subjectNl: `[${c.reference}] LET OP: contact met ${c.partyName} nog niet gelukt, termijn verloopt ${nlTime(o.contactDueAt)}`,
    subjectEn: `ATTENTION: contact with ${c.partyName} not achieved, deadline ${enTime(o.contactDueAt)}`,
    nl: [
      `Het bericht aan de contactgroep "Gerede twijfel Klantmandaat" van ${c.partyName} kon nog niet worden afgeleverd. Het systeem blijft het proberen.`,
      `De termijn om binnen 1 werkdag contact op te nemen (GT-1) verloopt ${nlTime(o.contactDueAt)}. Neem zo nodig telefonisch contact op via het CPR. Wordt de termijn niet gehaald, dan wordt dat vastgelegd.`,
      caseFacts(c, 'nl'),
    ],
    en: [
      `The message to the "Gerede twijfel Klantmandaat" contact group of ${c.partyName} could not be delivered yet. The system keeps trying.`,
      `The deadline to make contact within 1 working day (GT-1) ends ${enTime(o.contactDueAt)}. Contact the party by phone through the CPR if needed. A missed deadline is recorded.`,
      caseFacts(c, 'en'),
    ],
  });
}

/** Evidence arrived in time but is not judged yet after the 72 hours. */
export function judgementReminderMail(
  c: CaseMailData,
  o: { responseDueAt: Date | null; pending: number },
): MailContent {
  const due = o.responseDueAt;
  return render({
    subjectNl: `[${c.reference}] Herinnering: mandaatbewijs wacht op uw beoordeling`,
    subjectEn: 'Reminder: mandate evidence awaits your judgement',
    nl: [
      `${c.partyName} heeft binnen de termijn van 72 uur${due ? ` (tot ${nlTime(due)})` : ''} bewijs van het klantmandaat aangeleverd (${o.pending} stuk(ken)). Het is nog niet beoordeeld.`,
      `Beoordeel het bewijs via POST ${c.publicUrl}/cases/${c.caseId}/judgements. Tot uw oordeel blijven blokkade en allocatie ongewijzigd.`,
      caseFacts(c, 'nl'),
    ],
    en: [
      `${c.partyName} supplied evidence of the customer mandate within the 72 hours${due ? ` (until ${enTime(due)})` : ''} (${o.pending} item(s)). It has not been judged yet.`,
      `Judge it through POST ${c.publicUrl}/cases/${c.caseId}/judgements. Block and allocation stay unchanged until you do.`,
      caseFacts(c, 'en'),
    ],
  });
}

export type OutcomeMailKind = 'accepted' | 'not_demonstrated' | 'wrongful_block' | 'withdrawn';

/** GT-4 / GT-7 / GT-8: the outcome, to the party's doubt contact group. */
export function outcomeMail(
  c: CaseMailData,
  o: { outcome: OutcomeMailKind; closedAt: Date; reason: string | null; profileEffectiveFrom: Date | null },
): MailContent {
  const reasonNl = o.reason ? ` Toelichting: ${o.reason}.` : '';
  const reasonEn = o.reason ? ` Explanation: ${o.reason}.` : '';
  const texts: Record<OutcomeMailKind, { sNl: string; sEn: string; nl: string[]; en: string[] }> = {
    accepted: {
      sNl: 'mandaat aannemelijk gemaakt, blokkade opgeheven',
      sEn: 'mandate demonstrated, block lifted',
      nl: [
        `Het klantmandaat is aannemelijk gemaakt. De blokkade is op ${nlTime(o.closedAt)} opgeheven; u kunt de data met terugwerkende kracht opvragen, ook over de periode van de blokkade (GT-8).` +
          (c.isma ? " De allocatie met '0'-waarden is beëindigd." : ''),
        'De kopie van de machtiging die wij ontvingen is vernietigd; alleen de metagegevens en de vingerafdruk (SHA-256) blijven bewaard.',
      ],
      en: [
        `The customer mandate has been demonstrated. The block was lifted at ${enTime(o.closedAt)}; you may request the data retroactively, including the blocked period (GT-8).` +
          (c.isma ? " The allocation with '0' values has ended." : ''),
        'The copy of the authorisation we received has been destroyed; only its metadata and digest (SHA-256) are kept.',
      ],
    },
    not_demonstrated: {
      sNl: 'mandaat niet aangetoond, blokkade blijft',
      sEn: 'mandate not demonstrated, block stays',
      nl: [
        `Het klantmandaat is niet binnen 72 uur aannemelijk gemaakt.${reasonNl} De blokkade voor P4-opvragingen waarvoor een aanvullend mandaat nodig is blijft van kracht.` +
          (c.isma && o.profileEffectiveFrom
            ? ` De allocatiemethode van de aansluiting is met ingang van ${nlTime(o.profileEffectiveFrom)} teruggezet op profielallocatie (GT-4).`
            : ''),
        'De zaak is gesloten. Bewijs dat later wordt aangeleverd heropent de zaak niet: alleen via de reguliere processen (het opvraagproces P4 of iSMA) kunt u opnieuw toegang krijgen (GT-8).',
      ],
      en: [
        `The customer mandate was not made plausible within 72 hours.${reasonEn} The block for P4 requests that need an additional mandate stays in force.` +
          (c.isma && o.profileEffectiveFrom
            ? ` The connection's allocation method was set back to profile allocation from ${enTime(o.profileEffectiveFrom)} (GT-4).`
            : ''),
        'The case is closed. Evidence supplied later does not reopen it: only the regular processes (the P4 request process or iSMA) restart access (GT-8).',
      ],
    },
    wrongful_block: {
      sNl: 'blokkade onterecht, opgeheven',
      sEn: 'block was wrongful, lifted',
      nl: [
        `De blokkade bleek onterecht en is op ${nlTime(o.closedAt)} opgeheven (GT-7).${reasonNl} U kunt de data met terugwerkende kracht opvragen, ook over de periode van de blokkade.` +
          (c.isma ? " De allocatie met '0'-waarden is beëindigd." : ''),
      ],
      en: [
        `The block turned out to be wrongful and was lifted at ${enTime(o.closedAt)} (GT-7).${reasonEn} You may request the data retroactively, including the blocked period.` +
          (c.isma ? " The allocation with '0' values has ended." : ''),
      ],
    },
    withdrawn: {
      sNl: 'zaak ingetrokken, blokkade opgeheven',
      sEn: 'case withdrawn, block lifted',
      nl: [
        `De zaak is ingetrokken en de blokkade is op ${nlTime(o.closedAt)} opgeheven.${reasonNl}` +
          (c.isma ? " De allocatie met '0'-waarden is beëindigd." : ''),
      ],
      en: [
        `The case was withdrawn and the block was lifted at ${enTime(o.closedAt)}.${reasonEn}` +
          (c.isma ? " The allocation with '0' values has ended." : ''),
      ],
    },
  };
  const t = texts[o.outcome];
  return render({
    subjectNl: `[${c.reference}] Gerede twijfel klantmandaat: ${t.sNl}`,
    subjectEn: `Reasonable doubt about customer mandate: ${t.sEn}`,
    nl: [
      `Beste contactpersoon "Gerede twijfel Klantmandaat" van ${c.partyName},`,
      ...t.nl,
      caseFacts(c, 'nl'),
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear "Gerede twijfel Klantmandaat" contact of ${c.partyName},`,
      ...t.en,
      caseFacts(c, 'en'),
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}

/** GT-6: a case report to the ACM. */
export function acmCaseReportMail(
  c: CaseMailData,
  o: { message: string; status: string; timeline: [string, string][] },
): MailContent {
  return render({
    subjectNl: `[${c.reference}] Melding gerede twijfel klantmandaat door ${c.gridOperatorName}`,
    subjectEn: `Report of reasonable doubt about a customer mandate by ${c.gridOperatorName}`,
    nl: [
      `${c.gridOperatorName} informeert de ACM over een ontvangen klantsignaal en zijn bevindingen (GT-6).`,
      caseFacts(c, 'nl'),
      { heading: 'Bevindingen' },
      o.message,
      { facts: [['Status', o.status]] },
      { heading: 'Verloop' },
      { facts: o.timeline },
    ],
    en: [
      `${c.gridOperatorName} informs the ACM of a customer signal it received and of its findings (GT-6).`,
      caseFacts(c, 'en'),
      { heading: 'Findings' },
      o.message,
      { facts: [['Status', o.status]] },
      { heading: 'Timeline' },
      { facts: o.timeline },
    ],
  });
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
  const facts = (lang: 'nl' | 'en'): Block => ({
    facts:
      lang === 'nl'
        ? [
            ['Melding', r.reportId],
            ['Partij', `${r.partyName} (${r.partyGln})`],
            ['Aansluiting (EAN)', r.connectionEan],
            ['Signaal ontvangen door partij', nlTime(r.signalReceivedAt)],
            [
              'Gemeld',
              `${nlTime(r.reportedAt)} (${r.reportedWithinOneWorkingDay ? 'binnen' : 'NIET binnen'} 1 werkdag)`,
            ],
            ['Klant', r.customerSatisfaction === 'dissatisfied' ? 'nog ontevreden' : 'tevredenheid onbekend'],
          ]
        : [
            ['Report', r.reportId],
            ['Party', `${r.partyName} (${r.partyGln})`],
            ['Connection (EAN)', r.connectionEan],
            ['Signal received by the party', enTime(r.signalReceivedAt)],
            [
              'Reported',
              `${enTime(r.reportedAt)} (${r.reportedWithinOneWorkingDay ? 'within' : 'NOT within'} 1 working day)`,
            ],
            ['Customer', r.customerSatisfaction === 'dissatisfied' ? 'still dissatisfied' : 'satisfaction unknown'],
          ],
  });
  return render({
    subjectNl: `Melding klantsignaal mandaat door ${r.partyName} (${r.connectionEan})`,
    subjectEn: `Customer mandate signal reported by ${r.partyName}`,
    nl: [
      `${r.partyName} meldt een klantsignaal over de mandaatverlening (GT-9).`,
      facts('nl'),
      { heading: 'Bevindingen' },
      r.findings,
      { heading: 'Acties' },
      r.actions,
      `Een behandelaar kan hiervan een gerede-twijfelzaak openen: POST ${r.publicUrl}/supplier-reports/${r.reportId}/cases.`,
    ],
    en: [
      `${r.partyName} reports a customer signal about the mandate (GT-9).`,
      facts('en'),
      { heading: 'Findings' },
      r.findings,
      { heading: 'Actions' },
      r.actions,
      `A case handler can open a doubt case from it: POST ${r.publicUrl}/supplier-reports/${r.reportId}/cases.`,
    ],
  });
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
  return render({
    subjectNl: `Verbetertraject gerede twijfel klantmandaat: ${r.partyName}`,
    subjectEn: `Improvement review, reasonable doubt about customer mandates: ${r.partyName}`,
    nl: [
      `Beste contactpersoon "Gerede twijfel Klantmandaat" van ${r.partyName},`,
      `Namens de gezamenlijke netbeheerders: uw organisatie was in de afgelopen ${r.windowDays} dagen ${r.signalsAtOpen} keer onderwerp van klantsignalen over het mandaat voor het opvragen van meetdata via P4 (GT-5).`,
      `Wij vragen u aan te geven welke verbeteringen u doorvoert en hoe u die waarborgt. De komende ${r.followUpDays} dagen volgen wij het aantal signalen. Nemen de signalen niet af, dan melden wij dit bij de ACM.`,
      {
        facts: [
          ['Traject', r.reviewId],
          ['Geopend', nlTime(r.openedAt)],
        ],
      },
    ],
    en: [
      `Dear "Gerede twijfel Klantmandaat" contact of ${r.partyName},`,
      `On behalf of all grid operators: in the last ${r.windowDays} days your organisation was the subject of ${r.signalsAtOpen} customer signals about the mandate for requesting meter data through P4 (GT-5).`,
      `Please tell us which improvements you make and how you guarantee them. For the next ${r.followUpDays} days we follow the number of signals. If they do not decrease, we report this to the ACM.`,
      {
        facts: [
          ['Review', r.reviewId],
          ['Opened', enTime(r.openedAt)],
        ],
      },
    ],
  });
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
  const facts = (lang: 'nl' | 'en'): Block => ({
    facts:
      lang === 'nl'
        ? [
            ['Partij', `${r.partyName} (${r.partyGln})`],
            ['Signalen bij opening', `${r.signalsAtOpen} in ${r.windowDays} dagen`],
            [
              'Signalen in de opvolgperiode',
              `${r.signalsAfterFollowUp} in ${r.followUpDays} dagen (${nlTime(r.followUpFrom)} – ${nlTime(r.followUpUntil)})`,
            ],
            ['Toezegging van de partij', r.commitment ?? 'geen vastgelegd'],
            ['Besluit', r.reason],
            ['Ondertekend door', `${r.signedBy} (${nlTime(r.signedAt)})`],
          ]
        : [
            ['Party', `${r.partyName} (${r.partyGln})`],
            ['Signals at opening', `${r.signalsAtOpen} in ${r.windowDays} days`],
            [
              'Signals in the follow-up period',
              `${r.signalsAfterFollowUp} in ${r.followUpDays} days (${enTime(r.followUpFrom)} – ${enTime(r.followUpUntil)})`,
            ],
            ['Party’s commitment', r.commitment ?? 'none recorded'],
            ['Decision', r.reason],
            ['Signed by', `${r.signedBy} (${enTime(r.signedAt)})`],
          ],
  });
  return render({
    subjectNl: `Melding structurele klantsignalen mandaat: ${r.partyName}`,
    subjectEn: `Report of structural customer mandate signals: ${r.partyName}`,
    nl: [
      `Namens de gezamenlijke netbeheerders melden wij dat de klantsignalen over ${r.partyName} na het verbetertraject niet zijn afgenomen (GT-5).`,
      facts('nl'),
    ],
    en: [
      `On behalf of all grid operators we report that the customer signals about ${r.partyName} have not decreased after the improvement review (GT-5).`,
      facts('en'),
    ],
  });
}

/** GT-10: the party has nobody in its doubt contact group: the contact mail cannot go out; the handler is told at once. */
export function contactGroupEmptyMail(c: CaseMailData, o: { contactDueAt: Date }): MailContent {
  return render({
    subjectNl: `[${c.reference}] LET OP: ${c.partyName} heeft geen contactgroep "Gerede twijfel Klantmandaat"`,
    subjectEn: `ATTENTION: ${c.partyName} has no "Gerede twijfel Klantmandaat" contact group`,
    nl: [
      `${c.partyName} heeft niemand in de contactgroep "Gerede twijfel Klantmandaat" (GT-10). Het contactbericht kan niet worden verstuurd; het systeem probeert het opnieuw zodra de groep gevuld is.`,
      `Neem binnen de termijn (GT-1, tot ${nlTime(o.contactDueAt)}) op een andere manier contact op (telefoon, gesprek of brief) en leg dat vast via POST ${c.publicUrl}/cases/${c.caseId}/contacts: vanaf dat moment lopen de 72 uur.`,
      caseFacts(c, 'nl'),
    ],
    en: [
      `${c.partyName} has nobody in its "Gerede twijfel Klantmandaat" contact group (GT-10). The contact mail cannot be sent; the system retries once the group has members.`,
      `Make contact another way (telephone, meeting or letter) within the deadline (GT-1, until ${enTime(o.contactDueAt)}) and record it through POST ${c.publicUrl}/cases/${c.caseId}/contacts: the 72 hours run from that moment.`,
      caseFacts(c, 'en'),
    ],
  });
}
