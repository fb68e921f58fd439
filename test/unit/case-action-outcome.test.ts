/**
 * Issue 20: what a 503 may say about a case action (services/idempotency/action.ts). Answered before its write
 * went out: "not done", and the write never goes out afterwards; answered after: "unknown" (may still complete).
 */
import { describe, expect, it } from 'vitest';
import {
  ActionAbandoned,
  actionUpdateId,
  beforeWrite,
  giveUp,
  runCaseAction,
  type CaseAction,
} from '../../services/idempotency/action.js';

const fresh = (): CaseAction => ({ writeSent: false, gaveUp: false, recorded: false });

describe('a case action answered 503', () => {
  it('before its write: not_done, and the write is refused from then on', async () => {
    const a = fresh();
    let wrote = false;
    const running = runCaseAction(a, async () => {
      await new Promise((r) => setTimeout(r, 20)); // still reading when the 503 goes out
      beforeWrite();
      wrote = true;
    });
    expect(giveUp(a)).toBe('not_done');
    await expect(running).rejects.toBeInstanceOf(ActionAbandoned);
    expect(wrote).toBe(false);
  });

  it('after its write went out: unknown, and the action goes on', async () => {
    const a = fresh();
    let sent!: () => void;
    const wroteOut = new Promise<void>((r) => (sent = r));
    const running = runCaseAction(a, async () => {
      beforeWrite();
      sent();
      await new Promise((r) => setTimeout(r, 20));
      return 'done';
    });
    await wroteOut;
    expect(giveUp(a)).toBe('unknown');
    await expect(running).resolves.toBe('done');
  });

  it('outside a case action beforeWrite does nothing; the Update id follows the key, principal and request', async () => {
    expect(() => beforeWrite()).not.toThrow();
    expect(actionUpdateId()).toBeUndefined();
    const key = (principal: string, k: string, fingerprint: string) => ({
      ...fresh(),
      key: { principal, key: k, fingerprint, owner: 'o', present: (r: unknown) => ({ status: 200, body: r }) },
    });
    const id = (a: CaseAction) => runCaseAction(a, async () => actionUpdateId());
    const one = await id(key('p1', 'k', 'f'));
    expect(one).toMatch(/^idem:[0-9a-f]{40}$/);
    expect(await id(key('p1', 'k', 'f'))).toBe(one);
    expect(await id(key('p2', 'k', 'f'))).not.toBe(one);
    expect(await id(key('p1', 'k2', 'f'))).not.toBe(one);
    expect(await id(key('p1', 'k', 'g'))).not.toBe(one);
  });
});
