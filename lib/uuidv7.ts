/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, 74 random bits. Time-ordered, so a primary key
 * of them grows at its right edge like a sequence, and a time window is also a key range (uuidv7Floor).
 * Random bytes come from a pooled buffer: one getrandom call per 409 ids instead of one per id.
 */
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function uuidv7(ms = Date.now()): string {
  if (poolOffset + 10 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 10;
  const t = ms.toString(16).padStart(12, '0');
  const b6 = 0x70 | (POOL[r]! & 0x0f);
  const b8 = 0x80 | (POOL[r + 2]! & 0x3f);
  return (
    `${t.slice(0, 8)}-${t.slice(8, 12)}-${HEX[b6]}${HEX[POOL[r + 1]!]}-${HEX[b8]}${HEX[POOL[r + 3]!]}-` +
    `${HEX[POOL[r + 4]!]}${HEX[POOL[r + 5]!]}${HEX[POOL[r + 6]!]}${HEX[POOL[r + 7]!]}${HEX[POOL[r + 8]!]}${HEX[POOL[r + 9]!]}`
  );
}

/** The smallest UUIDv7 of millisecond `ms`: ids taken at or after ms compare ≥ it. */
export function uuidv7Floor(ms: number): string {
  const t = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7000-8000-000000000000`;
}

/** The millisecond a UUIDv7 was taken at, or null for a uuid of another version. */
export function uuidv7Time(id: string): number | null {
  if (id.length !== 36 || id[14] !== '7') return null;
  const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return Number.isFinite(ms) ? ms : null;
}
