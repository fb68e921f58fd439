/**
 * The SHA-256 hashes of every API key that may still authenticate (not revoked), held in memory so that a key whose
 * hash is not here is refused without PostgreSQL (issue 20: a flood of guessed keys costs a Set lookup each, not a
 * database statement). The index can only refuse, never admit: a hash found here is still resolved by
 * api/plugins/principals.ts (cache, then PostgreSQL), with its expiry and revocation checked as before.
 *
 * Loaded at start and reloaded (one statement: every unrevoked key's hash)
 * - every `refreshMs` (default 5 s): a key revoked on another instance or by `npm run key:revoke` is refused here
 *   within it;
 * - on a miss, at most once per `missRefreshMs` (default 1 s): a key created on another instance (or by
 *   `npm run key:create`) works on its first request when no miss reloaded the index within that second (the request
 *   waits for the reload, milliseconds), otherwise within `missRefreshMs` plus one reload (a reload is then due and
 *   scheduled). However many unknown keys arrive, PostgreSQL sees at most one reload per `missRefreshMs`;
 * - at once on this instance: a key created or rotated here is added, one revoked here removed (noteCreated,
 *   noteRevoked), and such changes survive a reload that began before them.
 * Until the first load succeeds, and when `enabled` is off, every key is looked up as before (index absent).
 * A reload that fails keeps the last index (a warning at most once a minute); a request waiting on it gets the
 * error (503 database_unavailable, as a lookup that failed).
 */
import { isNull } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.js';
import { apiKeys } from '../../db/schema/index.js';

export interface KeyIndexOptions {
  /** Periodic reload, ms. */
  refreshMs: number;
  /** Reloads caused by misses: at most one per this many ms (0: one per miss, coalesced; tests). */
  missRefreshMs: number;
}

/**
 * `true`: the key may authenticate, resolve it; `false`: refuse it now; a promise: the index is reloading for this
 * miss, ask again when it settles (then `true` or `false`); `undefined`: no index (not loaded yet), resolve it.
 */
export type IndexAnswer = boolean | Promise<boolean> | undefined;

export interface KeyIndex {
  check(hash: string, now?: number): IndexAnswer;
  /** A key created or rotated on this instance: admitted at once. */
  noteCreated(hash: string): void;
  /** A key revoked on this instance: refused at once. */
  noteRevoked(hash: string): void;
  /** Reload now (the periodic timer; tests). */
  reload(): Promise<void>;
  start(): void;
  stop(): void;
  size(): number | undefined;
}

/** Local changes are kept this long, to be replayed onto a reload that started before them. */
const EDIT_KEEP_MS = 60_000;
const WARN_EVERY_MS = 60_000;

// long: one closure over the set, the reload in flight and the rate limit of miss reloads
export function createKeyIndex(
  db: Db,
  opts: KeyIndexOptions,
  log: FastifyBaseLogger,
  onRemoved: (hash: string) => void,
): KeyIndex {
  let hashes: Set<string> | undefined;
  /** The reload in flight and when it began; the one queued behind it (for misses that arrived after it began). */
  let running: { startedAt: number; done: Promise<void> } | undefined;
  let queued: Promise<void> | undefined;
  let lastMissReload = -Infinity;
  let deferred: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastWarn = -Infinity;
  let stopped = false;
  const edits: Array<{ at: number; hash: string; add: boolean }> = [];

  async function load(startedAt: number): Promise<void> {
    const rows = await db.select({ hash: apiKeys.keyHash }).from(apiKeys).where(isNull(apiKeys.revokedAt));
    const next = new Set<string>();
    for (const r of rows) next.add(r.hash);
    // Changes made here after this statement began may be missing from its snapshot: replay them.
    while (edits.length > 0 && edits[0]!.at < Date.now() - EDIT_KEEP_MS) edits.shift();
    for (const e of edits) {
      if (e.at < startedAt) continue;
      if (e.add) next.add(e.hash);
      else next.delete(e.hash);
    }
    const before = hashes;
    hashes = next;
    // Revoked elsewhere: drop what the resolver cached for it (the index refuses it from now on anyway).
    if (before) for (const h of before) if (!next.has(h)) onRemoved(h);
  }

  /** One reload at a time; a reload asked for while one runs starts right after it (one for all who ask). */
  function reloadAfterNow(): Promise<void> {
    if (!running) {
      const startedAt = Date.now();
      const done = load(startedAt).finally(() => {
        running = undefined;
      });
      running = { startedAt, done };
      return done;
    }
    queued ??= running.done
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return reloadAfterNow();
      });
    return queued;
  }

  function warn(err: unknown) {
    const now = Date.now();
    if (stopped || now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    log.warn({ err }, 'API key index not reloaded; the last one stays in use');
  }

  function missReload(now: number): Promise<void> {
    lastMissReload = now;
    return reloadAfterNow();
  }

  return {
    check(hash, now = Date.now()) {
      if (!hashes) return undefined;
      if (hashes.has(hash)) return true;
      if (now - lastMissReload >= opts.missRefreshMs) {
        return missReload(now).then(() => hashes!.has(hash));
      }
      // Refused now; a reload is due at the end of this interval, so that a key created meanwhile on another
      // instance works from then on, with or without further misses.
      deferred ??= setTimeout(
        () => {
          deferred = undefined;
          missReload(Date.now()).catch(warn);
        },
        Math.max(0, lastMissReload + opts.missRefreshMs - now),
      ).unref();
      return false;
    },
    noteCreated(hash) {
      edits.push({ at: Date.now(), hash, add: true });
      hashes?.add(hash);
    },
    noteRevoked(hash) {
      edits.push({ at: Date.now(), hash, add: false });
      hashes?.delete(hash);
    },
    reload: () => reloadAfterNow(),
    start() {
      stopped = false;
      reloadAfterNow().catch(warn);
      timer ??= setInterval(() => reloadAfterNow().catch(warn), opts.refreshMs).unref();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(deferred);
      timer = undefined;
      deferred = undefined;
    },
    size: () => hashes?.size,
  };
}
