/**
 * The allocation routes that take files (text/csv) over a real HTTP socket, as a client sends them: the app
 * listens on a port and fetch streams the body (issue 18: `app.inject` hands the route a stream that carries no
 * socket, so it never showed that every upload answered 500). The sector's profile file at its real size (a
 * year of quarter-hours), a day's readings file, bad files answered 400 naming the line, and a key without the
 * role refused before the body is read.
 */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { connections, meterReadingDays } from '../../db/schema/index.js';
import { generateProfileFile, yearDays } from '../../domain/allocation-profiles.js';
import { coreContext, makeConnection, makeKey, makeParty, type CoreContext } from '../core/fixtures.js';
import { registers } from './fixtures.js';

const DAY = '2025-03-12';
let ctx: CoreContext;
let base: string;
let adminKey: string;

beforeAll(async () => {
  ctx = await coreContext('allocation_http_files');
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

/** Send `chunks` as a streamed request body (chunked transfer encoding, as a client uploading a file does). */
function upload(method: 'POST' | 'PUT', path: string, auth: string, chunks: AsyncIterable<string> | Iterable<string>) {
  const body = Readable.toWeb(Readable.from(chunks)) as ReadableStream<Uint8Array>;
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'text/csv' },
    body,
    duplex: 'half',
  } as RequestInit);
}

/** The text in pieces of about 64 KiB, as a file is read. */
function* pieces(text: string, size = 64 * 1024): Generator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

/**
 * A profile file shaped like the sector's publication: Datum;Van;Tot, then twelve categories with decimal commas,
 * one row per quarter-hour of the year (35,040 rows in 2025; about 8 MB).
 */
function sectorProfileFile(year: number): string {
  const generated = generateProfileFile(year).trimEnd().split('\n');
  const [, ...rows] = generated;
  const names = ['E1A', 'E1B', 'E1C', 'E2A', 'E2B', 'PV', 'E3A', 'E3B', 'E3C', 'E3D', 'E4A', 'G1A'];
  const out = [`Datum;Van;Tot;${names.join(';')}`];
  for (const row of rows) {
    const [from, ...values] = row.split(';');
    const local = from!.slice(0, 16).replace('T', ';');
    const fractions = values.map((v) => v.replace('.', ','));
    out.push(`${local};${local.slice(11)};${[...fractions, ...fractions].join(';')}`);
  }
  return out.join('\r\n') + '\r\n';
}

describe('text/csv over a real socket', () => {
  it('the sector profile file of a whole year (35,040 quarter-hours) loads: 201', async () => {
    const file = sectorProfileFile(2025);
    expect(file.split('\r\n').length - 2).toBe(yearDays(2025).reduce((s, d) => s + d.quarterHours, 0));
    expect(file.length).toBeGreaterThan(5_000_000);
    const res = await upload('PUT', '/allocation/profiles/2025?source=sector-2025', adminKey, pieces(file));
    const body = (await res.json()) as { categories: string[]; code?: string };
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body.categories).toHaveLength(12);
  });

  it('a bad profile file is 400 naming the line', async () => {
    const file = sectorProfileFile(2025).split('\r\n');
    file[1001] = file[1001]!.replace(/;[^;]*$/, ';0,00x1');
    const res = await upload('PUT', '/allocation/profiles/2025', adminKey, pieces(file.join('\r\n')));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: 'profile_value_invalid',
      field: 'body',
      details: { line: 1002 },
    });
    // A row too many: the first line that is not a quarter-hour of the year.
    const long = [...sectorProfileFile(2025).trimEnd().split('\r\n'), file[5]!].join('\n');
    const res2 = await upload('PUT', '/allocation/profiles/2025', adminKey, pieces(long));
    expect(await res2.json()).toMatchObject({ code: 'profile_rows_mismatch', details: { line: 35_042 } });
    expect(res2.status).toBe(400);
  });

  it('a profile file beyond 64 MiB is 413 payload_too_large, answered once the limit is passed', async () => {
    let produced = 0;
    const row = `x;${'0,0000285388127854;'.repeat(50)}0\n`;
    async function* endless() {
      yield `Datum;${Array.from({ length: 51 }, (_, i) => `C${i}`).join(';')}\n`;
      while (produced < 1024 ** 3) {
        produced += row.length;
        yield row;
      }
    }
    const res = await upload('PUT', '/allocation/profiles/2025', adminKey, endless());
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'payload_too_large', field: 'body' });
    expect(produced).toBeLessThan(128 * 1024 ** 2);
  });

  it("a day's readings file streams in: stored, rejects with their line; a bad header is 400 naming line 1", async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const supplier = await makeParty(ctx.db, ['supplier']);
    const eans: string[] = [];
    for (let i = 0; i < 200; i++)
      eans.push((await makeConnection(ctx.db, { gridOperatorId: op.id, supplierId: supplier.id })).ean);
    const header = `connection_ean,day,register,${Array.from({ length: 97 }, (_, i) => `r${i}`).join(',')}`;
    const offtake = registers(DAY, 1000, () => 100).join(',');
    const feedIn = registers(DAY, 0, () => 0).join(',');
    async function* lines() {
      yield header + '\n';
      for (const ean of eans) yield `${ean},${DAY},offtake,${offtake}\n${ean},${DAY},feed_in,${feedIn}\n`;
      // A NUL or a carriage return where the register name belongs: malformed lines like any other, named by
      // their number (their message once went into COPY as it was, and the import never answered).
      yield `${eans[0]},${DAY},off\u0000take,${offtake}\n`;
      yield `${eans[1]},${DAY},off\rtake,${offtake}\n`;
      // A year PostgreSQL has no date for (it once failed the lookup: 500).
      yield `${eans[2]},0000-01-01,offtake,${offtake}\n`;
    }
    const res = await upload('POST', '/readings/bulk', adminKey, lines());
    const result = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(result)).toBe(200);
    expect(result).toMatchObject({ lines: 404, stored: 200, rejected: 3 });
    expect(result.rejects).toEqual([
      expect.objectContaining({ line: 402, code: 'malformed_line', connectionEan: eans[0] }),
      expect.objectContaining({ line: 403, code: 'malformed_line', connectionEan: eans[1] }),
      expect.objectContaining({ line: 404, code: 'malformed_line', connectionEan: eans[2], day: null }),
    ]);
    expect(await ctx.db.$count(meterReadingDays, eq(meterReadingDays.day, DAY))).toBe(200);

    const bad = await upload('POST', '/readings/bulk', adminKey, [`ean;datum\n${eans[1]},${DAY},offtake,1\n`]);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'malformed_file', field: 'body', details: { line: 1 } });
    expect(await ctx.db.$count(connections)).toBe(200);
  });

  it('a key without the role, or none, is refused before the body is read (403, 401), however large the body', async () => {
    const op = await makeParty(ctx.db, ['grid_operator']);
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: op.id });
    for (const [auth, status, code] of [
      [handler, 403, 'forbidden_role'],
      ['Bearer gt_unknown', 401, 'invalid_api_key'],
    ] as const) {
      for (const [method, path] of [
        ['POST', '/readings/bulk'],
        ['PUT', '/allocation/profiles/2025'],
      ] as const) {
        // 4 GiB offered, produced only as the server reads it.
        let produced = 0;
        const chunk = `871000000000000000,${DAY},offtake,${'1,'.repeat(32_000)}1\n`;
        async function* endless() {
          while (produced < 4 * 1024 ** 3) {
            produced += chunk.length;
            yield chunk;
          }
        }
        const started = Date.now();
        const res = await upload(method, path, auth, endless());
        expect(res.status, `${method} ${path}`).toBe(status);
        expect(await res.json()).toMatchObject({ code });
        expect(Date.now() - started).toBeLessThan(5_000);
        // What the socket buffers took before the answer came, not the body.
        expect(produced).toBeLessThan(64 * 1024 ** 2);
      }
    }
  });
});
