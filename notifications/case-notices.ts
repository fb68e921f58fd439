/**
 * Mail to the people around a case besides the party (domain/case-notices.ts): the reporter's acknowledgement
 * and closing message, the grid user's block and lift notices. Dutch first, English below, like every case
 * mail (templates.ts). The grid user's notices name the party and the period, never the reporter.
 */
import type { OutcomeKind } from '../domain/case.js';
import {
  channelEn,
  channelNl,
  enTime,
  nlTime,
  render,
  type Block,
  type CaseMailData,
  type MailContent,
} from './templates.js';

export interface ReporterMailData {
  reporterName: string;
  /** The reporter's own reference for the complaint, echoed back. */
  reporterReference: string | null;
}

function reporterFacts(c: CaseMailData, r: ReporterMailData, lang: 'nl' | 'en'): Block {
  const facts: [string, string][] =
    lang === 'nl'
      ? [
          ['Zaaknummer', c.reference],
          ...(r.reporterReference ? [['Uw kenmerk', r.reporterReference] as [string, string]] : []),
          ['Aansluiting (EAN)', c.connectionEan],
          ['Betreft', `${c.partyName} (${c.partyGln})`],
          ['Melding ontvangen', `${nlTime(c.receivedAt)} via ${channelNl(c.channel)}`],
        ]
      : [
          ['Case reference', c.reference],
          ...(r.reporterReference ? [['Your reference', r.reporterReference] as [string, string]] : []),
          ['Connection (EAN)', c.connectionEan],
          ['Concerning', `${c.partyName} (${c.partyGln})`],
          ['Signal received', `${enTime(c.receivedAt)} via ${channelEn(c.channel)}`],
        ];
  return { facts };
}

const yourRef = (r: ReporterMailData, lang: 'nl' | 'en') =>
  r.reporterReference
    ? lang === 'nl'
      ? ` (uw kenmerk ${r.reporterReference})`
      : ` (your reference ${r.reporterReference})`
    : '';

/** At intake: the signal is in hand, the block is in force (GT-2), what happens next (GT-1, GT-3). */
export function reporterAcknowledgementMail(c: CaseMailData, r: ReporterMailData): MailContent {
  return render({
    subjectNl: `[${c.reference}] Ontvangstbevestiging melding gerede twijfel klantmandaat${yourRef(r, 'nl')}`,
    subjectEn: `Acknowledgement of your report about a customer mandate${yourRef(r, 'en')}`,
    nl: [
      `Geachte ${r.reporterName},`,
      `${c.gridOperatorName} heeft uw melding ontvangen over het (vermeend onrechtmatig) opvragen van meetdata uit de slimme meter via P4 door ${c.partyName}, en behandelt die onder zaaknummer ${c.reference}.`,
      `De aansluiting is direct geblokkeerd voor P4-opvragingen door ${c.partyName} waarvoor een aanvullend mandaat nodig is. ` +
        `Wij nemen binnen 1 werkdag contact op met ${c.partyName}; die heeft daarna 72 uur om zijn bevindingen te melden en aan te tonen dat hij toestemming (een mandaat) van de klant heeft.`,
      'Zodra de zaak is afgerond, ontvangt u bericht van de uitkomst. Vermeld bij vragen altijd het zaaknummer.',
      reporterFacts(c, r, 'nl'),
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear ${r.reporterName},`,
      `${c.gridOperatorName} has received your report about (allegedly unlawful) requests for smart-meter data through P4 by ${c.partyName}, and handles it under case reference ${c.reference}.`,
      `The connection has been blocked at once for P4 requests by ${c.partyName} that need an additional mandate. ` +
        `We contact ${c.partyName} within 1 working day; it then has 72 hours to report its findings and to demonstrate that it has the customer's consent (a mandate).`,
      'You will hear the outcome once the case is closed. Please quote the case reference with any question.',
      reporterFacts(c, r, 'en'),
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}

/** At closing: the outcome in the reporter's terms. A handler's reason is given for a wrongful block or a withdrawal. */
export function reporterOutcomeMail(
  c: CaseMailData,
  r: ReporterMailData,
  o: { outcome: OutcomeKind; closedAt: Date; blockLifted: boolean; reason: string | null },
): MailContent {
  const why = (lang: 'nl' | 'en') =>
    o.reason && (o.outcome === 'wrongful_block' || o.outcome === 'withdrawn')
      ? lang === 'nl'
        ? ` Toelichting: ${o.reason}.`
        : ` Explanation: ${o.reason}.`
      : '';
  const lifted = (lang: 'nl' | 'en') =>
    o.blockLifted
      ? lang === 'nl'
        ? ` De blokkade is op ${nlTime(o.closedAt)} opgeheven.`
        : ` The block was lifted at ${enTime(o.closedAt)}.`
      : lang === 'nl'
        ? ' De blokkade blijft van kracht.'
        : ' The block stays in force.';
  const texts: Record<OutcomeKind, { sNl: string; sEn: string; nl: string; en: string }> = {
    accepted: {
      sNl: 'mandaat aangetoond, blokkade opgeheven',
      sEn: 'mandate demonstrated, block lifted',
      nl: `${c.partyName} heeft aannemelijk gemaakt dat hij toestemming (een mandaat) van de klant had voor deze opvragingen.${lifted('nl')}`,
      en: `${c.partyName} has demonstrated that it had the customer's consent (a mandate) for these requests.${lifted('en')}`,
    },
    not_demonstrated: {
      sNl: 'mandaat niet aangetoond, blokkade blijft',
      sEn: 'mandate not demonstrated, block stays',
      nl: `${c.partyName} heeft niet binnen 72 uur aannemelijk gemaakt dat hij toestemming van de klant had.${lifted('nl')} ${c.partyName} kan alleen via de reguliere processen opnieuw meetdata opvragen.`,
      en: `${c.partyName} did not demonstrate within 72 hours that it had the customer's consent.${lifted('en')} ${c.partyName} can only request meter data again through the regular processes.`,
    },
    wrongful_block: {
      sNl: 'blokkade onterecht, opgeheven',
      sEn: 'block was wrongful, lifted',
      nl: `De blokkade van ${c.partyName} bleek onterecht.${why('nl')}${lifted('nl')}`,
      en: `The block of ${c.partyName} turned out to be wrongful.${why('en')}${lifted('en')}`,
    },
    withdrawn: {
      sNl: 'zaak ingetrokken',
      sEn: 'case withdrawn',
      nl: `De zaak is ingetrokken.${why('nl')}${lifted('nl')}`,
      en: `The case was withdrawn.${why('en')}${lifted('en')}`,
    },
  };
  const t = texts[o.outcome];
  return render({
    subjectNl: `[${c.reference}] Uitkomst van uw melding: ${t.sNl}${yourRef(r, 'nl')}`,
    subjectEn: `Outcome of your report: ${t.sEn}${yourRef(r, 'en')}`,
    nl: [
      `Geachte ${r.reporterName},`,
      `De zaak over uw melding is op ${nlTime(o.closedAt)} gesloten.`,
      t.nl,
      reporterFacts(c, r, 'nl'),
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear ${r.reporterName},`,
      `The case about your report was closed at ${enTime(o.closedAt)}.`,
      t.en,
      reporterFacts(c, r, 'en'),
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}

export interface GridUserMailData {
  gridUserName: string;
  blockedFrom: Date;
}

function gridUserFacts(c: CaseMailData, g: GridUserMailData, lang: 'nl' | 'en', until?: Date): Block {
  return lang === 'nl'
    ? {
        facts: [
          ['Aansluiting (EAN)', c.connectionEan],
          ['Partij', `${c.partyName} (${c.partyGln})`],
          ['Geblokkeerd', until ? `${nlTime(g.blockedFrom)} – ${nlTime(until)}` : `sinds ${nlTime(g.blockedFrom)}`],
          ['Zaaknummer', c.reference],
        ],
      }
    : {
        facts: [
          ['Connection (EAN)', c.connectionEan],
          ['Party', `${c.partyName} (${c.partyGln})`],
          ['Blocked', until ? `${enTime(g.blockedFrom)} – ${enTime(until)}` : `since ${enTime(g.blockedFrom)}`],
          ['Case reference', c.reference],
        ],
      };
}

/** GT-2, to the grid user: a block for the party on their connection, since when; nothing is asked of them. */
export function gridUserBlockMail(c: CaseMailData, g: GridUserMailData): MailContent {
  return render({
    subjectNl: `Uw aansluiting ${c.connectionEan}: P4-opvragingen door ${c.partyName} geblokkeerd`,
    subjectEn: `Your connection ${c.connectionEan}: P4 requests by ${c.partyName} blocked`,
    nl: [
      `Geachte ${g.gridUserName},`,
      `Naar aanleiding van een signaal dat meetdata van uw slimme meter mogelijk zonder uw toestemming via P4 zijn opgevraagd, heeft ${c.gridOperatorName} uw aansluiting sinds ${nlTime(g.blockedFrom)} geblokkeerd voor opvragingen door ${c.partyName} waarvoor een aanvullend mandaat nodig is.`,
      `Wij vragen ${c.partyName} aan te tonen dat het uw toestemming heeft. U hoeft niets te doen; u ontvangt bericht wanneer de blokkade wordt opgeheven.`,
      gridUserFacts(c, g, 'nl'),
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear ${g.gridUserName},`,
      `Following a signal that data of your smart meter may have been requested through P4 without your consent, ${c.gridOperatorName} has blocked your connection since ${enTime(g.blockedFrom)} for requests by ${c.partyName} that need an additional mandate.`,
      `We ask ${c.partyName} to demonstrate that it has your consent. You need not do anything; you will be told when the block is lifted.`,
      gridUserFacts(c, g, 'en'),
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}

/** GT-7 / GT-8 / a withdrawal, to the grid user: the block for the party is lifted, the period it ran. */
export function gridUserLiftMail(
  c: CaseMailData,
  g: GridUserMailData & { liftedAt: Date; retroactive: boolean },
): MailContent {
  return render({
    subjectNl: `Uw aansluiting ${c.connectionEan}: blokkade voor ${c.partyName} opgeheven`,
    subjectEn: `Your connection ${c.connectionEan}: block for ${c.partyName} lifted`,
    nl: [
      `Geachte ${g.gridUserName},`,
      `De blokkade van uw aansluiting voor P4-opvragingen door ${c.partyName}, van ${nlTime(g.blockedFrom)} tot ${nlTime(g.liftedAt)}, is opgeheven.` +
        (g.retroactive
          ? ` ${c.partyName} mag de meetdata ook over de periode van de blokkade opvragen, binnen de toestemming die u heeft gegeven.`
          : ''),
      gridUserFacts(c, g, 'nl', g.liftedAt),
      `Met vriendelijke groet,\n${c.gridOperatorName}`,
    ],
    en: [
      `Dear ${g.gridUserName},`,
      `The block of your connection for P4 requests by ${c.partyName}, from ${enTime(g.blockedFrom)} to ${enTime(g.liftedAt)}, has been lifted.` +
        (g.retroactive
          ? ` ${c.partyName} may also request the meter data of the blocked period, within the consent you gave.`
          : ''),
      gridUserFacts(c, g, 'en', g.liftedAt),
      `Kind regards,\n${c.gridOperatorName}`,
    ],
  });
}
