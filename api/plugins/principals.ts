/**
 * Who a credential speaks for: API keys by their SHA-256, client certificates by their fingerprint, looked up in
 * PostgreSQL and cached, so the P4 gate (the hot path) pays no database round trip for a known client.
 *
 * Two bounded LRU caches, apart: `known` holds credentials that work, `misses` those that do not (unknown,
 * expired, revoked). A flood of guessed keys fills `misses` only, so it cannot evict the known clients (before
 * issue 20 one map emptied itself after 10,000 unknown keys). Both expire after ttlMs: a revocation made on
 * another API instance holds here within it; one made on this instance holds at once (forget()). A key's or
 * certificate's own expiry is checked on every hit, so it holds to the millisecond.
 *
 * API keys pass the in-memory key index first (api/plugins/key-index.ts), when there is one: a key it does not hold
 * is refused at once, without PostgreSQL and without a place in `misses` (a flood of fresh guesses would only churn
 * it); one revoked on another instance is refused as soon as the index is reloaded without it.
 *
 * Issue 21: a keep-alive connection presents the same key (or, from a gateway, a few keys) on request after request,
 * so byKey, given the connection, keeps what each key resolved to with it (a WeakMap: gone with the connection; at
 * most MEMO_MAX keys a connection) and answers the next requests with that key without the SHA-256 (2–5 µs in the
 * running API, bench:p4 profile), the index and the cache. A memo never outlives what the cache entry it came from
 * would: it ends with that entry's ttl, at the key's own expiry, and at any revocation, rotation or index reload that
 * dropped a key (`generation`, counted by every path that forgets a credential), so it admits nothing the path without
 * it would refuse. Refusals are never memoised: a flood of guessed keys cannot fill it.
 */
import { eq, inArray } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../db/client.js';
import { apiKeys, clientCertificates, type Role } from '../../db/schema/index.js';
import { hashApiKey } from '../../lib/api-keys.js';
import type { KeyIndex } from './key-index.js';

/** Who is calling: resolved from a client certificate or the bearer key on every request but health and docs. */
export interface Principal {
  /** The credential's id: an API key's or a client certificate's, or a person's (see `via`). */
  keyId: string;
  /** `person`: someone signed in to the console (issue 19), handed to the API in-process only (person-bridge.ts). */
  via: 'api-key' | 'client-certificate' | 'person';
  role: Role;
  label: string;
  /**
   * The person the credential is issued to (signed acts name them: domain/visibility.ts signatureOf); null: none
   * recorded. A client certificate is a system's, never a person's: it cannot sign.
   */
  holderName: string | null;
  /** Grid operator (case-handler) or party (supplier, p4-client) the credential acts for. */
  partyId: string | null;
  gridUserId: string | null;
  /**
   * A person's fresh authentication for a signed act (issue 19: max_age=0/prompt=login at their provider), ms since
   * the epoch with the provider's acr/amr; signerOf (core-access.ts) requires it of a person. Never on a key.
   */
  stepUp?: { at: number; acr: string | null; amr: string[] };
}

/** Why a credential is refused (each is a 401 with its own code: api/plugins/auth.ts). */
export type Refusal = 'unknown' | 'expired' | 'revoked';

export type Resolution = { principal: Principal; refusal?: undefined } | { principal?: undefined; refusal: Refusal };

interface Known {
  principal: Principal;
  /** ms since the epoch; null: no expiry. */
  expiresAt: number | null;
  /** When it entered the cache (Date.now()): it is stale ttlMs later. */
  at: number;
}

/** What a key resolved to on a connection (byKey with a connection): see the header. */
interface KeyMemo {
  hash: string;
  /** The cache entry it came from: the memo ends with it (ttl, expiry). */
  known: Known;
  resolution: Resolution;
  generation: number;
}

/** Keys remembered per connection; one more clears them (a connection presents one key, a gateway a few). */
const MEMO_MAX = 64;

export interface ResolverOptions {
  ttlMs: number;
  max: number;
  missMax: number;
  /** Refuses keys it does not hold before any cache or lookup; absent: every key is looked up. */
  index?: KeyIndex;
}

export interface PrincipalResolver {
  /**
   * `connection`: the socket the key came on; its next requests with the same key reuse this resolution while
   * nothing was revoked or forgotten meanwhile (see the header).
   */
  byKey(key: string, now?: number, connection?: object): Promise<Resolution>;
  /** `fingerprint`: 64 lower-case hex digits (lib/client-certificates.ts). */
  byCertificate(fingerprint: string, now?: number): Promise<Resolution>;
  /** Drop a credential from both caches (after a rotation on this instance: the old key's expiry changed). */
  forgetKeyHash(hash: string): void;
  /** A key created (or rotated to) on this instance: admitted by the key index at once. */
  keyCreated(hash: string): void;
  /** A key revoked on this instance: refused at once (index and caches). */
  keyRevoked(hash: string): void;
  forgetCertificate(fingerprint: string): void;
  /** Sizes, for tests and the benchmark's report. */
  sizes(): { known: number; misses: number; index: number | undefined };
}

const KEY = 'k:';
const UNKNOWN: Resolution = Object.freeze({ refusal: 'unknown' as const });
const CERT = 'c:';
/** Most hashes looked up in one statement. */
const MAX_LOOKUP_BATCH = 500;

/**
 * Lookups of keys not in either cache, batched as the P4 gate batches its decisions: one statement in flight at a
 * time, and the hashes that arrive meanwhile form the next one. A flood of guessed keys thus costs PostgreSQL a few
 * statements a second with many hashes each, not one statement per key on every pooled connection, and leaves the
 * pool to the gate. An idle API looks a lone key up at once.
 */
function batchedLookup<Row>(load: (hashes: string[]) => Promise<Map<string, Row>>) {
  let queue: Array<{ hash: string; resolve(r: Row | undefined): void; reject(e: unknown): void }> = [];
  let running = false;
  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_LOOKUP_BATCH);
      queue = queue.slice(batch.length);
      try {
        const rows = await load([...new Set(batch.map((b) => b.hash))]);
        for (const b of batch) b.resolve(rows.get(b.hash));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    running = false;
  }
  return (hash: string) =>
    new Promise<Row | undefined>((resolve, reject) => {
      queue.push({ hash, resolve, reject });
      if (!running) {
        running = true;
        // Let every request parsed in this turn of the event loop join the statement.
        setImmediate(() => void run());
      }
    });
}

// long: one closure over both caches and the batched lookup: the two credential kinds share every step
export function createPrincipalResolver(db: Db, opts: ResolverOptions): PrincipalResolver {
  const ttl = opts.ttlMs > 0 ? opts.ttlMs : 1;
  const known = new LRUCache<string, Known>({ max: opts.max, ttl, ttlAutopurge: false });
  const misses = new LRUCache<string, Refusal>({ max: opts.missMax, ttl, ttlAutopurge: false });
  // One query per credential however many requests wait for it (a cold start under load).
  const pending = new Map<string, Promise<Resolution>>();
  /** Counts every forgetting (revocation, rotation, index reload that dropped a key): older memos are void. */
  let generation = 0;
  const memos = new WeakMap<object, Map<string, KeyMemo>>();

  function fromCache(id: string, now: number): Resolution | undefined {
    const hit = known.get(id);
    if (hit) {
      if (hit.expiresAt === null || hit.expiresAt > now) return { principal: hit.principal };
      known.delete(id);
      misses.set(id, 'expired');
      return { refusal: 'expired' };
    }
    const miss = misses.get(id);
    return miss ? { refusal: miss } : undefined;
  }

  function settle(
    id: string,
    row: (Omit<Known, 'at'> & { revokedAt: Date | null }) | undefined,
    now: number,
  ): Resolution {
    let refusal: Refusal | undefined;
    if (!row) refusal = 'unknown';
    else if (row.revokedAt) refusal = 'revoked';
    else if (row.expiresAt !== null && row.expiresAt <= now) refusal = 'expired';
    if (refusal || !row) {
      misses.set(id, refusal ?? 'unknown');
      return { refusal: refusal ?? 'unknown' };
    }
    known.set(id, { principal: row.principal, expiresAt: row.expiresAt, at: now });
    return { principal: row.principal };
  }

  const lookupKey = batchedLookup(async (hashes) => {
    const rows = await db
      .select({
        id: apiKeys.id,
        keyHash: apiKeys.keyHash,
        role: apiKeys.role,
        label: apiKeys.label,
        holderName: apiKeys.holderName,
        partyId: apiKeys.partyId,
        gridUserId: apiKeys.gridUserId,
        revokedAt: apiKeys.revokedAt,
        expiresAt: apiKeys.expiresAt,
      })
      .from(apiKeys)
      .where(inArray(apiKeys.keyHash, hashes));
    return new Map(rows.map((r) => [r.keyHash, r]));
  });

  function once(id: string, load: () => Promise<Resolution>): Promise<Resolution> {
    const inFlight = pending.get(id);
    if (inFlight) return inFlight;
    const p = load().finally(() => pending.delete(id));
    pending.set(id, p);
    return p;
  }

  /** `indexed`: the key index holds it, so a cached 'unknown' predates its creation and is not believed. */
  function resolveKey(hash: string, now: number, indexed: boolean): Promise<Resolution> {
    const id = KEY + hash;
    const cached = fromCache(id, now);
    if (cached && !(indexed && cached.refusal === 'unknown')) return Promise.resolve(cached);
    return once(id, async () => {
      const row = await lookupKey(hash);
      return settle(
        id,
        row && {
          principal: {
            keyId: row.id,
            via: 'api-key',
            role: row.role,
            label: row.label,
            holderName: row.holderName,
            partyId: row.partyId,
            gridUserId: row.gridUserId,
          },
          expiresAt: row.expiresAt?.getTime() ?? null,
          revokedAt: row.revokedAt,
        },
        now,
      );
    });
  }

  return {
    byKey(key, now = Date.now(), connection) {
      const memo = connection ? memos.get(connection)?.get(key) : undefined;
      if (
        memo !== undefined &&
        memo.generation === generation &&
        now - memo.known.at < ttl &&
        (memo.known.expiresAt === null || memo.known.expiresAt > now)
      )
        return Promise.resolve(memo.resolution);
      const hash = memo?.hash ?? hashApiKey(key);
      const admit = opts.index?.check(hash, now);
      if (admit === false) return Promise.resolve(UNKNOWN);
      const resolved =
        admit === undefined || admit === true
          ? resolveKey(hash, now, admit === true)
          : admit.then((held) => (held ? resolveKey(hash, now, true) : UNKNOWN));
      if (!connection) return resolved;
      const seen = generation;
      return resolved.then((r) => {
        // The cache entry this came from (none for a refusal); a forgetting meanwhile leaves the memo void.
        const k = r.principal ? known.peek(KEY + hash) : undefined;
        let onConnection = memos.get(connection);
        if (k === undefined || k.principal !== r.principal) {
          onConnection?.delete(key);
          return r;
        }
        if (onConnection === undefined) memos.set(connection, (onConnection = new Map()));
        else if (onConnection.size >= MEMO_MAX && !onConnection.has(key)) onConnection.clear();
        onConnection.set(key, { hash, known: k, resolution: r, generation: seen });
        return r;
      });
    },

    byCertificate(fingerprint, now = Date.now()) {
      const id = CERT + fingerprint;
      const cached = fromCache(id, now);
      if (cached) return Promise.resolve(cached);
      return once(id, async () => {
        const [row] = await db
          .select({
            id: clientCertificates.id,
            role: clientCertificates.role,
            label: clientCertificates.label,
            partyId: clientCertificates.partyId,
            revokedAt: clientCertificates.revokedAt,
            notAfter: clientCertificates.notAfter,
          })
          .from(clientCertificates)
          .where(eq(clientCertificates.fingerprint, fingerprint));
        return settle(
          id,
          row && {
            principal: {
              keyId: row.id,
              via: 'client-certificate',
              role: row.role,
              label: row.label,
              holderName: null,
              partyId: row.partyId,
              gridUserId: null,
            },
            expiresAt: row.notAfter.getTime(),
            revokedAt: row.revokedAt,
          },
          now,
        );
      });
    },

    forgetKeyHash(hash) {
      generation += 1;
      known.delete(KEY + hash);
      misses.delete(KEY + hash);
    },
    keyCreated(hash) {
      opts.index?.noteCreated(hash);
      misses.delete(KEY + hash);
    },
    keyRevoked(hash) {
      generation += 1;
      opts.index?.noteRevoked(hash);
      known.delete(KEY + hash);
      misses.delete(KEY + hash);
    },
    forgetCertificate(fingerprint) {
      generation += 1;
      known.delete(CERT + fingerprint);
      misses.delete(CERT + fingerprint);
    },
    sizes: () => ({ known: known.size, misses: misses.size, index: opts.index?.size() }),
  };
}
