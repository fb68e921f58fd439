/**
 * The contact mails of a bench's cases in the SMTP capture folder (bench:cases, bench:cluster): when each arrived,
 * whether each went to its party's doubt contact group only (GT-10), repeats, and repeats that stated another
 * reply-by instant or Message-ID (issue 8: exactly once in effect).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CapturedMail } from '../lib/infra/smtp-capture.js';
import { partyMail } from './seed.js';

/** Poll the capture folder until every case's contact request (X-Response-Due) arrived, or the deadline. */
export async function waitForContactMails(
  dir: string,
  cases: Map<string, { at: number; party: number }>,
  deadline: number,
  progress: (seen: number, total: number) => void,
  parsed = new Set<string>(),
): Promise<{
  seen: Map<string, number>;
  delays: number[];
  lastAt: number;
  recipientsOk: boolean;
  /** Cases whose mails stated more than one reply-by instant or carried more than one Message-ID (issue 8). */
  secondDeadline: number;
}> {
  const seen = new Map<string, number>();
  const firstOf = new Map<string, string>(); // case id → reply-by instant and Message-ID of its first mail
  const differing = new Set<string>();
  const delays: number[] = [];
  let lastAt = 0;
  let recipientsOk = true;
  let nextProgress = Date.now() + 30_000;
  for (;;) {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !parsed.has(n));
    for (const name of names) {
      parsed.add(name);
      const mail = JSON.parse(await readFile(join(dir, name), 'utf8')) as CapturedMail;
      const caseId = mail.headers['x-case-id'];
      if (!caseId || !cases.has(caseId) || !mail.headers['x-response-due']) continue;
      const c = cases.get(caseId)!;
      // GT-10: to the doubt contact group of the party the case is about, and to nobody else.
      if (mail.to.length !== 1 || mail.to[0] !== partyMail(c.party)) recipientsOk = false;
      seen.set(caseId, (seen.get(caseId) ?? 0) + 1);
      const stated = `${mail.headers['x-response-due']} ${mail.messageId ?? ''}`;
      if (!firstOf.has(caseId)) firstOf.set(caseId, stated);
      else if (firstOf.get(caseId) !== stated) differing.add(caseId);
      if (seen.get(caseId)! > 1) continue;
      const at = Date.parse(mail.receivedAt);
      lastAt = Math.max(lastAt, at);
      delays.push(at - c.at);
    }
    if (seen.size >= cases.size || Date.now() > deadline)
      return { seen, delays, lastAt, recipientsOk, secondDeadline: differing.size };
    if (Date.now() >= nextProgress) {
      progress(seen.size, cases.size);
      nextProgress = Date.now() + 30_000;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
