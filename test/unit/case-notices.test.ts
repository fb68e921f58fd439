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
  reporterMailAddress,
} from '../../domain/case-notices.js';
import { partySeesCaseAction } from '../../domain/visibility.js';

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
