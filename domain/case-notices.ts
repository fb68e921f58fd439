/**
 * The people around a case besides the party (issue 10; seed 000 §1, §3): who is told what, and when.
 *
 * - The reporter (the customer, ConsuWijzer, the ACM, the AP, another organisation), when its contact is an
 *   e-mail address: an acknowledgement at intake, and the outcome when the case closes.
 * - The grid user of the connection: that a block was placed for the party (GT-2), and when it is lifted
 *   (GT-7, GT-8, a withdrawal that lifts it), with the period it ran. Not when the block stays (GT-4): what
 *   the grid user is told of a possibly unlawful disclosure is the GT-11 assessment's decision (GDPR art. 34).
 *   The grid user is never told who reported the signal.
 *
 * Both are informing mail: they never hold up the case. Pure: no I/O (the workflow imports it).
 */

export const CASE_NOTICES = [
  'reporter_acknowledgement',
  'reporter_outcome',
  'grid_user_block',
  'grid_user_lift',
] as const;
export type CaseNotice = (typeof CASE_NOTICES)[number];

export type NoticeRecipient = 'reporter' | 'grid_user';
export const noticeRecipient = (n: CaseNotice): NoticeRecipient =>
  n === 'reporter_acknowledgement' || n === 'reporter_outcome' ? 'reporter' : 'grid_user';

/** Audit actions of the notices (entity 'case'): sent (to whom, what), not sent (no address), failed (bounded retries spent). */
export const NOTICE_ACTIONS = ['case.notice_sent', 'case.notice_not_sent', 'case.notice_failed'] as const;
export type NoticeAction = (typeof NOTICE_ACTIONS)[number];

/** The closing notices of an outcome: the reporter always; the grid user only when the block was lifted. */
export function closingNotices(blockLifted: boolean): CaseNotice[] {
  return blockLifted ? ['reporter_outcome', 'grid_user_lift'] : ['reporter_outcome'];
}

/**
 * DC-7: the period of the block a grid user is told about starts no earlier than the day they became the grid
 * user of the connection (a new occupant hears of the block on their connection, not of the time before them).
 */
export function gridUserBlockedFrom(blockStartedAt: Date, gridUserSince: Date | null): Date {
  return gridUserSince && gridUserSince > blockStartedAt ? gridUserSince : blockStartedAt;
}

/**
 * One plain address (local@domain.tld), nothing else: no display name, no list, no whitespace or line breaks,
 * so a free-text contact ("06-12345678", "via ConsuWijzer") is never mistaken for one and never reaches a
 * mail header. The reporter's contact is free text; only an address like this is mailed.
 */
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** The reporter's e-mail address, when its contact (trimmed) is one; otherwise null. */
export function reporterMailAddress(contact: string | null | undefined): string | null {
  const c = contact?.trim() ?? '';
  return c.length <= 254 && ADDRESS.test(c) ? c : null;
}
