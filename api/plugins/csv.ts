/**
 * CSV downloads (issue 19: the case list, the signal report, the access register), by `?format=csv` or by
 * `Accept: text/csv`. Decided once for all of them (docs/api.md "CSV downloads"):
 * - RFC 4180 (comma, CRLF, double quotes), UTF-8 **with** a byte-order mark: the people who open these are Dutch
 *   handlers in Excel, which reads a BOM-less file as Windows-1252 and garbles every é, ë and ’; tools that
 *   read UTF-8 (csv-parse, pandas with utf-8-sig, LibreOffice) skip the BOM.
 * - Formula injection: a text cell beginning with = + - @ TAB or CR (and their full-width forms) is written
 *   with a leading ' (csv-stringify `escape_formulas`); numbers stay numbers (a negative count is not text).
 * - Streamed: rows are written as they are read, with the socket's back-pressure; a failure after the first
 *   byte ends the response early (the status has gone out), which a reader sees as a truncated download.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringify, type Stringifier } from 'csv-stringify';

export const CSV_TYPE = 'text/csv; charset=utf-8';

/** The media types a client prefers, by q-value (then order), for `Accept: text/csv` negotiation. */
function preferred(accept: string | undefined): string[] {
  if (!accept) return [];
  return accept
    .split(',')
    .map((part, i) => {
      const [type = '', ...params] = part.trim().toLowerCase().split(';');
      const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const q = qp ? Number(qp.slice(2)) : 1;
      return { type: type.trim(), q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((t) => t.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((t) => t.type);
}

/**
 * Whether the request asks for CSV: `format=csv`, or (no format given) an Accept header that prefers text/csv
 * over JSON. `format=json` always answers JSON.
 */
export function wantsCsv(req: FastifyRequest, format: 'csv' | 'json' | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  for (const t of preferred(req.headers.accept)) {
    if (t === 'text/csv') return true;
    if (t === 'application/json' || t === 'application/*' || t === '*/*') return false;
  }
  return false;
}

/** A filename safe in a quoted Content-Disposition parameter (letters, digits, - _ . only). */
export const csvFilename = (base: string) => `${base.replace(/[^A-Za-z0-9._-]+/g, '-')}.csv`;

export type CsvRow = Record<string, string | number | boolean | null | undefined>;

/** A CSV writer with our options (above): header row from `columns`. */
export function csvStringifier(columns: readonly string[]): Stringifier {
  return stringify({
    header: true,
    columns: [...columns],
    bom: true,
    escape_formulas: true,
    record_delimiter: 'windows',
    cast: { boolean: (b) => (b ? 'true' : 'false') },
  });
}

/**
 * Answer with CSV, streamed: `produce` writes the rows (awaiting each `write` honours back-pressure); once the
 * client has gone, `write` throws and `produce` ends (so a database read behind it stops).
 */
export function sendCsv(
  reply: FastifyReply,
  filename: string,
  columns: readonly string[],
  produce: (write: (row: CsvRow) => Promise<void>) => Promise<void>,
): FastifyReply {
  const out = csvStringifier(columns);
  const write = async (row: CsvRow) => {
    if (out.destroyed) throw new Error('CSV download ended by the client');
    if (!out.write(row))
      await new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done);
          out.off('close', done);
          resolve();
        };
        out.on('drain', done);
        out.on('close', done);
      });
  };
  void produce(write).then(
    () => out.end(),
    (err: unknown) => {
      reply.log.warn({ err }, 'CSV download ended early');
      out.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  );
  return reply
    .header('content-type', CSV_TYPE)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('x-content-type-options', 'nosniff')
    .send(out);
}
