/**
 * Reading what the SMTP capture received, from any test process.
 *
 *   const mail = await readMail(inject('mailDir'), (m) => m.to.includes('doubt@supplier.example'), 15_000);
 *
 * The shared capture serves every test file: match on something unique to your test (a case id in the
 * subject, a recipient address made for the test), never on "the latest mail".
 */
import { readCapturedMail, waitForCapturedMail, type CapturedMail } from '../../lib/infra/smtp-capture.js';

export type { CapturedMail };

export function readMail(
  dir: string,
  predicate: (mail: CapturedMail) => boolean,
  timeoutMs = 10_000,
): Promise<CapturedMail> {
  return waitForCapturedMail(dir, predicate, timeoutMs);
}

/** Every matching mail now present (no waiting). */
export async function listMail(
  dir: string,
  predicate: (mail: CapturedMail) => boolean = () => true,
): Promise<CapturedMail[]> {
  return (await readCapturedMail(dir)).filter(predicate);
}
