import { Type, type Static } from '@sinclair/typebox';
import type { Block } from '../../db/schema/index.js';
import { DateTime, Ean18, Gln13, Page, Paging, Uuid } from './common.js';

export const BlockSchema = Type.Object(
  {
    id: Uuid,
    caseId: Type.Union([Uuid, Type.Null()], {
      description:
        'Null only once the case was purged (DC-9) while the block, lifted without release, still counts (GT-8)',
    }),
    partyId: Uuid,
    connectionEan: Ean18,
    startedAt: DateTime,
    endedAt: Type.Union([DateTime, Type.Null()]),
    active: Type.Boolean(),
    liftReason: Type.Union([Type.String(), Type.Null()]),
    retroactive: Type.Boolean({ description: 'GT-8: the blocked period was released when the block was lifted' }),
  },
  { title: 'Block' },
);
export const CaseParams = Type.Object({ caseId: Uuid });
export const BlockQuery = Type.Intersect([
  Paging,
  Type.Object({
    connectionEan: Type.Optional(Ean18),
    partyGln: Type.Optional(Gln13),
    active: Type.Optional(Type.Boolean()),
  }),
]);
export const BlockList = Page(BlockSchema);

export function toBlockDto(b: Block): Static<typeof BlockSchema> {
  return {
    id: b.id,
    caseId: b.caseId,
    partyId: b.partyId,
    connectionEan: b.connectionEan,
    startedAt: b.startedAt.toISOString(),
    endedAt: b.endedAt ? b.endedAt.toISOString() : null,
    active: b.endedAt === null,
    liftReason: b.liftReason,
    retroactive: b.retroactive,
  };
}
