/**
 * Mail to the people around a case besides the party (domain/case-notices.ts): the reporter's acknowledgement
 * and closing message, the grid user's block and lift notices. Dutch first, English below, like every case
 * mail (templates.ts), in the words of the message catalogue (lib/messages.ts `mail.*`). The grid user's notices
 * name the party and the period, never the reporter.
 */
import type { OutcomeKind } from '../domain/case.js';
import { t, type Lang } from '../lib/messages.js';
import {
  bilingual,
  caseParams,
  channelName,
  timeIn,
  type Block,
  type CaseMailData,
  type MailContent,
} from './templates.js';

export interface ReporterMailData {
  reporterName: string;
  /** The reporter's own reference for the complaint, echoed back. */
  reporterReference: string | null;
}

function reporterFacts(c: CaseMailData, r: ReporterMailData, lang: Lang): Block {
  const facts: [string, string][] = [
    [t(lang, 'mail.fact.reference'), c.reference],
    ...(r.reporterReference ? [[t(lang, 'mail.fact.yourReference'), r.reporterReference] as [string, string]] : []),
    [t(lang, 'mail.fact.ean'), c.connectionEan],
    [t(lang, 'mail.fact.concerning'), `${c.partyName} (${c.partyGln})`],
    [
      t(lang, 'mail.fact.reportReceived'),
      t(lang, 'mail.fact.receivedVia', { at: timeIn(lang, c.receivedAt), channel: channelName(lang, c.channel) }),
    ],
  ];
  return { facts };
}

const yourRef = (r: ReporterMailData, lang: Lang) =>
  r.reporterReference ? t(lang, 'mail.yourReference', { reference: r.reporterReference }) : '';

const dear = (lang: Lang, name: string) => t(lang, 'mail.dear', { name });
const closing = (lang: Lang, c: CaseMailData) => t(lang, 'mail.closing', { operator: c.gridOperatorName });

/** At intake: the signal is in hand, the block is in force (GT-2), what happens next (GT-1, GT-3). */
export function reporterAcknowledgementMail(c: CaseMailData, r: ReporterMailData): MailContent {
  return bilingual(
    (lang) => t(lang, 'mail.reporterAck.subject', { ...caseParams(c), yourReference: yourRef(r, lang) }),
    (lang) => [
      dear(lang, r.reporterName),
      t(lang, 'mail.reporterAck.received', caseParams(c)),
      t(lang, 'mail.reporterAck.blocked', caseParams(c)),
      t(lang, 'mail.reporterAck.next'),
      reporterFacts(c, r, lang),
      closing(lang, c),
    ],
  );
}

/** At closing: the outcome in the reporter's terms. A handler's reason is given for a wrongful block or a withdrawal. */
export function reporterOutcomeMail(
  c: CaseMailData,
  r: ReporterMailData,
  o: { outcome: OutcomeKind; closedAt: Date; blockLifted: boolean; reason: string | null },
): MailContent {
  const p = (lang: Lang) => ({
    ...caseParams(c),
    closedAt: timeIn(lang, o.closedAt),
    reason:
      o.reason && (o.outcome === 'wrongful_block' || o.outcome === 'withdrawn')
        ? t(lang, 'mail.outcome.reason', { reason: o.reason })
        : '',
    block: o.blockLifted
      ? t(lang, 'mail.reporterOutcome.lifted', { closedAt: timeIn(lang, o.closedAt) })
      : t(lang, 'mail.reporterOutcome.stays'),
    yourReference: yourRef(r, lang),
  });
  return bilingual(
    (lang) =>
      t(lang, 'mail.reporterOutcome.subject', {
        ...p(lang),
        outcome: t(lang, `mail.reporterOutcome.${o.outcome}.subject`),
      }),
    (lang) => [
      dear(lang, r.reporterName),
      t(lang, 'mail.reporterOutcome.closed', p(lang)),
      t(lang, `mail.reporterOutcome.${o.outcome}`, p(lang)),
      reporterFacts(c, r, lang),
      closing(lang, c),
    ],
  );
}

export interface GridUserMailData {
  gridUserName: string;
  blockedFrom: Date;
}

function gridUserFacts(c: CaseMailData, g: GridUserMailData, lang: Lang, until?: Date): Block {
  return {
    facts: [
      [t(lang, 'mail.fact.ean'), c.connectionEan],
      [t(lang, 'mail.fact.party'), `${c.partyName} (${c.partyGln})`],
      [
        t(lang, 'mail.fact.blocked'),
        until
          ? `${timeIn(lang, g.blockedFrom)} – ${timeIn(lang, until)}`
          : t(lang, 'mail.blockedSince', { from: timeIn(lang, g.blockedFrom) }),
      ],
      [t(lang, 'mail.fact.reference'), c.reference],
    ],
  };
}

/** GT-2, to the grid user: a block for the party on their connection, since when; nothing is asked of them. */
export function gridUserBlockMail(c: CaseMailData, g: GridUserMailData): MailContent {
  const p = (lang: Lang) => ({ ...caseParams(c), from: timeIn(lang, g.blockedFrom) });
  return bilingual(
    (lang) => t(lang, 'mail.gridUserBlock.subject', p(lang)),
    (lang) => [
      dear(lang, g.gridUserName),
      t(lang, 'mail.gridUserBlock.blocked', p(lang)),
      t(lang, 'mail.gridUserBlock.next', p(lang)),
      gridUserFacts(c, g, lang),
      closing(lang, c),
    ],
  );
}

/** GT-7 / GT-8 / a withdrawal, to the grid user: the block for the party is lifted, the period it ran. */
export function gridUserLiftMail(
  c: CaseMailData,
  g: GridUserMailData & { liftedAt: Date; retroactive: boolean },
): MailContent {
  return bilingual(
    (lang) => t(lang, 'mail.gridUserLift.subject', caseParams(c)),
    (lang) => [
      dear(lang, g.gridUserName),
      t(lang, 'mail.gridUserLift.lifted', {
        ...caseParams(c),
        from: timeIn(lang, g.blockedFrom),
        until: timeIn(lang, g.liftedAt),
        retroactive: g.retroactive ? t(lang, 'mail.gridUserLift.retroactive', caseParams(c)) : '',
      }),
      gridUserFacts(c, g, lang, g.liftedAt),
      closing(lang, c),
    ],
  );
}
