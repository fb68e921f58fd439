/**
 * GET /access-register?format=csv (issue 19): the access register (DC-1) as a CSV download for the grid operator's
 * people — the console's "access register" download beside the signal report. The same filter and scope as the
 * JSON list (api/routes/p4.ts), every matching entry rather than a page, newest first, each with the party's GLN
 * and name; the file's format is api/plugins/csv.ts's. Read in one read-only REPEATABLE READ snapshot (as the case
 * list's CSV), so no entry is repeated or lost while the register grows during the download; `until` is held to
 * the request's instant. Pages are keyset pages (accessRegisterPage: after the last entry's (decided_at, id), no
 * count), so a page deep in a year of a large register costs what the first one does.
 */
import type { FastifyReply } from 'fastify';
import type { Db } from '../../db/client.js';
import { accessRegisterPage, type RegisterCursor, type RegisterFilter } from '../../db/repositories/access-register.js';
import { partiesByIds } from '../../db/repositories/parties.js';
import { csvFilename, sendCsv } from '../plugins/csv.js';

export const ACCESS_REGISTER_CSV_COLUMNS = [
  'decidedAt',
  'kind',
  'connectionEan',
  'partyGln',
  'partyName',
  'dataKind',
  'periodFrom',
  'periodTo',
  'allowed',
  'reasonCode',
  'rule',
  'purpose',
  'actor',
  'requestId',
  'deliveryOf',
  'mandateId',
  'blockId',
  'id',
] as const;

/** Entries per keyset page. */
export const ACCESS_REGISTER_CSV_PAGE = 1000;

export function sendAccessRegisterCsv(
  reply: FastifyReply,
  db: Db,
  filter: Omit<RegisterFilter, 'limit' | 'offset'>,
  now: Date,
): FastifyReply {
  const until = filter.until && filter.until < now ? filter.until : now;
  const name = csvFilename(`access-register-${now.toISOString().slice(0, 10)}`);
  return sendCsv(reply, name, ACCESS_REGISTER_CSV_COLUMNS, (write) =>
    db.transaction(
      async (tx) => {
        for (let after: RegisterCursor | null = null; ;) {
          const items = await accessRegisterPage(tx, { ...filter, until }, after, ACCESS_REGISTER_CSV_PAGE);
          const party = await partiesByIds(
            tx,
            items.map((e) => e.partyId),
          );
          for (const e of items)
            await write({
              decidedAt: e.decidedAt.toISOString(),
              kind: e.kind,
              connectionEan: e.connectionEan,
              partyGln: party.get(e.partyId)?.gln ?? null,
              partyName: party.get(e.partyId)?.name ?? null,
              dataKind: e.dataKind,
              periodFrom: e.periodFrom.toISOString(),
              periodTo: e.periodTo.toISOString(),
              allowed: e.allowed,
              reasonCode: e.reasonCode,
              rule: e.rule,
              purpose: e.purpose,
              actor: e.actor,
              requestId: e.requestId,
              deliveryOf: e.deliveryOf,
              mandateId: e.mandateId,
              blockId: e.blockId,
              id: e.id,
            });
          if (items.length < ACCESS_REGISTER_CSV_PAGE) return;
          const last = items[items.length - 1]!;
          after = { decidedAt: last.decidedAt, id: last.id };
        }
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    ),
  );
}
