/**
 * One case action in progress (issue 20, "a 503 tells the truth"): whether its write was sent, whether its
 * request was already answered without it, and the Idempotency-Key it runs under. The route (api/plugins/
 * case-action.ts) opens it; the services mark the moment they send their write (`beforeWrite`: a Temporal
 * Update in services/workflow-client.ts, a transaction in `idempotentTransaction`), so a 503 can say
 * "nothing was done" or "may still complete", and never says the first when the write is sent afterwards.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import { recordOutcome, type KeyClaim } from '../../db/repositories/idempotency.js';

export interface ActionKey extends Pick<KeyClaim, 'principal' | 'key' | 'fingerprint' | 'owner'> {
  /** The answer the route gives for the action's result: what a repeat replays. */
  present: (result: unknown) => { status: number; body: unknown };
}

export interface CaseAction {
  /** The write went out (Update sent, transaction begun): from now on its outcome may be "done". */
  writeSent: boolean;
  /** The request was answered 503 before the write went out: it must not go out any more. */
  gaveUp: boolean;
  /** The first outcome was recorded in the write's own transaction. */
  recorded: boolean;
  key?: ActionKey;
}

/** What a 503 says about the action: nothing was done, or it may still complete (retry with the same key). */
export type ActionOutcome = 'not_done' | 'unknown';

const store = new AsyncLocalStorage<CaseAction>();

export function runCaseAction<R>(action: CaseAction, fn: () => Promise<R>): Promise<R> {
  return store.run(action, fn);
}

export function currentCaseAction(): CaseAction | undefined {
  return store.getStore();
}

/**
 * Answer an action's request without it (a 503): what may be said about its outcome. Not sent yet: it never
 * will be (`beforeWrite` refuses from now on), so "not done" is true.
 */
export function giveUp(action: CaseAction): ActionOutcome {
  if (action.writeSent) return 'unknown';
  action.gaveUp = true;
  return 'not_done';
}

/** The request was answered 503 "not done" before this action sent its write: it stops here. */
export class ActionAbandoned extends Error {
  constructor() {
    super('the request was answered 503 (not done) before the action sent its write; it is not sent');
    this.name = 'ActionAbandoned';
  }
}

/** Call right before the action's write goes out. Synchronous with giveUp, so the two never both pass. */
export function beforeWrite(): void {
  const a = store.getStore();
  if (!a) return;
  if (a.gaveUp) throw new ActionAbandoned();
  a.writeSent = true;
}

/**
 * The Temporal Update id of this action under its Idempotency-Key: the same key and request give the same id,
 * so a repeat sent while the first is in flight (or after it completed) is deduplicated by Temporal itself
 * (one Update per id on a run). Undefined without a key (Temporal picks a random id, as before).
 */
export function actionUpdateId(): string | undefined {
  const k = store.getStore()?.key;
  if (!k) return undefined;
  return `idem:${createHash('sha256').update(`${k.principal}\n${k.key}\n${k.fingerprint}`).digest('hex').slice(0, 40)}`;
}

/**
 * The action's database write: one transaction, marked sent before it begins, with the first outcome
 * recorded in the same transaction under the Idempotency-Key. A 503 after its commit and a repeat with the same
 * key then replays it, never writes it twice; a repeat that took the key over (lease run out) rolls this back.
 */
export async function idempotentTransaction<R>(db: Db, fn: (tx: Tx) => Promise<R>): Promise<R> {
  beforeWrite();
  const a = store.getStore();
  return db.transaction(async (tx) => {
    const result = await fn(tx);
    if (a?.key) {
      const k = a.key;
      if (!(await recordOutcome(tx, k, k.present(result)))) throw new IdempotencyKeyLost();
      a.recorded = true;
    }
    return result;
  });
}

/** The attempt no longer holds its key (a repeat took it over): its transaction is rolled back. */
export class IdempotencyKeyLost extends Error {
  constructor() {
    super('the Idempotency-Key was taken over by a repeat of the request; this attempt rolls back');
    this.name = 'IdempotencyKeyLost';
  }
}
