/**
 * Last-used times of API keys and client certificates, cheaply: a request only notes the time in memory (one Map
 * set); a timer writes what was noted every flushMs in one statement per kind, so a credential costs at most one
 * write per interval whatever its request rate, and none on the request path. A failed write keeps the times for
 * the next flush; closing the app flushes once more. The stored time is therefore at most flushMs behind.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.js';
import { recordKeysLastUsed } from '../../db/repositories/api-keys.js';
import { recordCertificatesLastUsed } from '../../db/repositories/client-certificates.js';
import type { Principal } from './principals.js';

export interface LastUsedRecorder {
  note(p: Principal, now?: number): void;
  /** Write what was noted (the timer calls it; tests and close too). */
  flush(): Promise<void>;
  start(): void;
  /** Stop the timer and flush. */
  stop(): Promise<void>;
}

export function createLastUsedRecorder(db: Db, flushMs: number, log: FastifyBaseLogger): LastUsedRecorder {
  let keys = new Map<string, number>();
  let certs = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const asUses = (m: Map<string, number>) => [...m].map(([id, at]) => ({ id, at: new Date(at) }));
  /** Put back what could not be written, unless a newer time was noted meanwhile. */
  const restore = (into: Map<string, number>, from: Map<string, number>) => {
    for (const [id, at] of from) if ((into.get(id) ?? 0) < at) into.set(id, at);
  };

  async function write(): Promise<void> {
    const k = keys;
    const c = certs;
    keys = new Map();
    certs = new Map();
    try {
      await recordKeysLastUsed(db, asUses(k));
      await recordCertificatesLastUsed(db, asUses(c));
    } catch (err) {
      restore(keys, k);
      restore(certs, c);
      log.warn({ err }, 'last-used times not written; retried at the next flush');
    }
  }

  return {
    note(p, now = Date.now()) {
      (p.via === 'api-key' ? keys : certs).set(p.keyId, now);
    },
    flush() {
      // One write at a time, in order.
      running = running.then(write);
      return running;
    },
    start() {
      timer ??= setInterval(() => void this.flush(), flushMs).unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await this.flush();
    },
  };
}
