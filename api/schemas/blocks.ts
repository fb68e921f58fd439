import { Type, type Static } from '@sinclair/typebox';
import type { Block } from '../../db/schema/index.js';
import type { BlockCorrectionResult } from '../../db/repositories/block-corrections.js';
import { BLOCK_CORRECTION_KINDS, BLOCK_CORRECTION_REASONS } from '../../domain/block-corrections.js';
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

// ---------------------------------------------------------------- an admin's correction (issue 18, item 3)

const lit = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

export const BlockCorrectionCreate = Type.Object(
  {
    kind: lit(
      BLOCK_CORRECTION_KINDS,
      'lift: end a block still in force, its period stays closed (GT-7, GT-8); release_period: the blocked period becomes available again (GT-8 retroactive), a block still in force ends with it',
    ),
    reasonCode: lit(BLOCK_CORRECTION_REASONS, 'What the correction rests on'),
    reason: Type.String({ minLength: 1, maxLength: 5000, description: 'The reason in words' }),
    reference: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'The decision’s or ticket’s reference' }),
    ),
  },
  { additionalProperties: false, title: 'BlockCorrectionCreate' },
);

export const BlockCorrectionSchema = Type.Object(
  {
    caseId: Uuid,
    kind: lit(BLOCK_CORRECTION_KINDS, 'The correction made'),
    reasonCode: lit(BLOCK_CORRECTION_REASONS, 'What it rests on'),
    correctedAt: { ...DateTime, description: 'When it was made (the server’s clock): also the lifted block’s end' },
    rule: Type.Union([Type.Literal('GT-7'), Type.Literal('GT-8')]),
    block: BlockSchema,
  },
  { title: 'BlockCorrection' },
);

export function toBlockCorrectionDto(r: BlockCorrectionResult): Static<typeof BlockCorrectionSchema> {
  return {
    caseId: r.caseId,
    kind: r.kind,
    reasonCode: r.reasonCode,
    correctedAt: r.correctedAt.toISOString(),
    rule: r.rule,
    block: toBlockDto(r.block),
  };
}
