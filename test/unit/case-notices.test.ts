/**
 * The people around a case (domain/case-notices.ts): which reporter contact is an address to mail, which
 * notices a closing sends, and that none of them is shown to the party (domain/visibility.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  CASE_NOTICES,
  closingNotices,
  NOTICE_ACTIONS,
  noticeRecipient,
  gridUserBlockedFrom,
  reporterMailAddress,
} from '../../domain/case-notices.js';
import { OUTCOMES } from '../../domain/case.js';
import { partySeesCaseAction } from '../../domain/visibility.js';
import { gridUserBlockMail, reporterOutcomeMail } from '../../notifications/case-notices.js';
import type { CaseMailData } from '../../notifications/templates.js';

describe('reporterMailAddress: only a plain address is mailed', () => {
  it.each([
    ['klant@example.nl', 'klant@example.nl'],
    ['  meldingen@autoriteitpersoonsgegevens.nl ', 'meldingen@autoriteitpersoonsgegevens.nl'],
    ['j.de.vries+p4@mail.example.com', 'j.de.vries+p4@mail.example.com'],
  ])('%j is an address', (contact, address) => expect(reporterMailAddress(contact)).toBe(address));

  it.each([
    null,
    undefined,
    '',
    '088 070 70 70',
    'via ConsuWijzer',
    'J. de Vries <j@example.nl>',
    'a@example.nl, b@example.nl',
    'a@example.nl\r\nBcc: x@evil.example',
    'a@localhost',
    'a@-example.nl',
    '@example.nl',
    `${'a'.repeat(250)}@example.nl`,
  ])('%j is not', (contact) => expect(reporterMailAddress(contact)).toBeNull());
});

describe('who is told at closing', () => {
  it('the reporter always; the grid user only when the block was lifted (a kept block is GT-11’s to tell)', () => {
    expect(closingNotices(true)).toEqual(['reporter_outcome', 'grid_user_lift']);
    expect(closingNotices(false)).toEqual(['reporter_outcome']);
    expect(CASE_NOTICES.map(noticeRecipient)).toEqual(['reporter', 'reporter', 'grid_user', 'grid_user']);
  });

  it('the party the case is about sees none of the notices', () => {
    for (const action of NOTICE_ACTIONS) expect(partySeesCaseAction(action)).toBe(false);
    expect(partySeesCaseAction('case.closed')).toBe(true);
  });
});

const mailData: CaseMailData = {
  caseId: '00000000-0000-4000-8000-000000000001',
  reference: 'GT-2026-000042',
  connectionEan: '871687400000000019',
  partyName: 'Leverancier B.V.',
  partyGln: '8712345678906',
  gridOperatorName: 'Netbeheerder',
  gridOperatorGln: '8716874000002',
  channel: 'ap',
  receivedAt: new Date('2026-03-27T23:30:00Z'),
  isma: false,
  publicUrl: 'https://gt.example',
};
const reporter = { reporterName: 'Autoriteit Persoonsgegevens', reporterReference: 'z2026-0042' };

describe('the reporter’s closing message: Dutch first, English below, every outcome', () => {
  it.each(OUTCOMES)('%s', (outcome) => {
    const lifted = outcome !== 'not_demonstrated';
    const m = reporterOutcomeMail(mailData, reporter, {
      outcome,
      closedAt: new Date('2026-03-29T09:00:00Z'), // the day of the DST switch: 11:00 in Amsterdam
      blockLifted: lifted,
      reason: 'melding betrof een andere partij',
    });
    const nl = m.text.indexOf('Geachte Autoriteit Persoonsgegevens');
    const en = m.text.indexOf('Dear Autoriteit Persoonsgegevens');
    expect(nl).toBeGreaterThanOrEqual(0);
    expect(en).toBeGreaterThan(m.text.indexOf('English version'));
    expect(m.text.indexOf('English version')).toBeGreaterThan(nl);
    expect(m.subject).toContain('z2026-0042'); // their own reference, echoed
    expect(m.text).toContain(lifted ? 'De blokkade is op' : 'De blokkade blijft van kracht');
    expect(m.text).toContain(lifted ? 'The block was lifted at' : 'The block stays in force');
    if (lifted) expect(m.text).toContain('11:00');
    // The handler's reason is the reporter's business for a wrongful block or a withdrawal only.
    const withReason = outcome === 'wrongful_block' || outcome === 'withdrawn';
    expect(m.text.includes('melding betrof een andere partij')).toBe(withReason);
  });
});

describe('the grid user’s notice names the party and the period, never the reporter', () => {
  it('block notice; DC-7: a grid user who moved in later hears of their own period only', () => {
    const started = new Date('2026-03-01T10:00:00Z');
    expect(gridUserBlockedFrom(started, null)).toEqual(started);
    expect(gridUserBlockedFrom(started, new Date('2026-02-01T00:00:00Z'))).toEqual(started);
    expect(gridUserBlockedFrom(started, new Date('2026-03-02T00:00:00Z'))).toEqual(new Date('2026-03-02T00:00:00Z'));
    const m = gridUserBlockMail(mailData, { gridUserName: 'J. de Vries', blockedFrom: started });
    expect(m.text).toContain('Leverancier B.V. (8712345678906)');
    expect(m.text).toContain('sinds');
    expect(m.text).not.toContain('Autoriteit Persoonsgegevens');
    expect(m.text).not.toContain('z2026-0042');
  });
});
