/**
 * What every case mail shares, whichever process sends it (the workflow's activities, or the case
 * service for a GT-6 report after the workflow closed): the case's facts for the templates and a
 * stable Message-ID per notification, so a repeated send is recognisable as the same message.
 */
import type { CaseParties } from '../../db/repositories/cases.js';
import type { Mailer } from '../../notifications/mailer.js';
import type { CaseMailData } from '../../notifications/templates.js';

/** `<key@sender-domain>`, with the key reduced to the characters a Message-ID may hold. */
export function messageId(mailer: Pick<Mailer, 'from'>, key: string): string {
  const domain = mailer.from.split('@')[1] ?? 'localhost';
  return `<${key.replace(/[^A-Za-z0-9._-]/g, '.')}@${domain}>`;
}

export function caseMailData({ row, party, gridOperator }: CaseParties, publicUrl: string): CaseMailData {
  return {
    caseId: row.id,
    reference: row.reference,
    connectionEan: row.connectionEan,
    partyName: party.name,
    partyGln: party.gln,
    gridOperatorName: gridOperator.name,
    gridOperatorGln: gridOperator.gln,
    channel: row.channel,
    receivedAt: row.receivedAt,
    isma: row.isma,
    publicUrl,
  };
}
