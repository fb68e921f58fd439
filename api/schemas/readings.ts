import { Type } from '@sinclair/typebox';
import { READING_REJECT_CODES } from '../../db/repositories/readings.js';
import { DateTime, Ean18 } from './common.js';

export const MAX_READINGS_PER_BATCH = 10_000;

export const ReadingsImport = Type.Object(
  {
    readings: Type.Array(
      Type.Object(
        {
          readAt: Type.String({ ...DateTime, description: 'End of the quarter-hour (AL-1)' }),
          registerWh: Type.Integer({
            minimum: 0,
            maximum: Number.MAX_SAFE_INTEGER,
            description: 'Offtake register in Wh (AL-1)',
          }),
          feedInRegisterWh: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'Feed-in register in Wh (AL-1)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_READINGS_PER_BATCH },
    ),
  },
  { additionalProperties: false, title: 'ReadingsImport' },
);

export const ReadingReject = Type.Object({
  index: Type.Integer({ description: 'Position of the row in the request' }),
  readAt: DateTime,
  code: Type.Union(READING_REJECT_CODES.map((c) => Type.Literal(c))),
  rule: Type.Union([Type.Literal('AL-1'), Type.Literal('AL-2')]),
  message: Type.String(),
});

export const ImportResultSchema = Type.Object(
  {
    received: Type.Integer(),
    accepted: Type.Integer(),
    unchanged: Type.Integer({ description: 'Rows identical to stored readings (re-imports are safe)' }),
    rejected: Type.Array(ReadingReject, {
      description: 'Per-row rejects: these rows were not stored; all other rows were',
    }),
  },
  { title: 'ReadingsImportResult' },
);

export const ReadingsQuery = Type.Object({ from: DateTime, to: DateTime }, { additionalProperties: false });

/** DC-8: the grid operator's people state why they read quarter-hour data; it is registered. */
export const InternalReadingsQuery = Type.Object(
  {
    from: DateTime,
    to: DateTime,
    purpose: Type.String({
      minLength: 3,
      maxLength: 500,
      description: 'Why the data is read (DC-8); registered in the access register and shown to the grid user',
    }),
  },
  { additionalProperties: false },
);

/**
 * One point of delivered data (DC-7, AL-1): a register value labelled with the end of the quarter-hour it
 * closes; a period [from, to) holds the points labelled in (from, to].
 */
export const DataPointSchema = Type.Object({
  at: Type.String({ ...DateTime, description: 'End of the quarter-hour this register value closes (AL-1)' }),
  registerWh: Type.Integer({ description: 'Offtake register (Wh) at `at`' }),
  volumeWh: Type.Optional(
    Type.Integer({
      description: 'Interval data: offtake in the quarter-hour ending at `at`, when both readings exist',
    }),
  ),
  feedInRegisterWh: Type.Optional(Type.Integer({ description: 'Feed-in register (Wh) at `at`, when read' })),
  feedInVolumeWh: Type.Optional(
    Type.Integer({
      description: 'Interval data: feed-in in the quarter-hour ending at `at`, when both readings exist',
    }),
  ),
});

export const ReadingsList = Type.Object(
  {
    connectionEan: Ean18,
    from: Type.String({ ...DateTime, description: 'Start of the period delivered' }),
    to: Type.String({
      ...DateTime,
      description: 'End of the period delivered (never after the moment of the answer)',
    }),
    periodCut: Type.Boolean({
      description:
        'The period asked for was cut (to the moment of the answer; for the grid user also to their own period, DC-7)',
    }),
    /** DC-8: the register entry of an internal read. */
    accessId: Type.Optional(
      Type.String({ format: 'uuid', description: 'Internal reads: the access-register entry of this read (DC-8)' }),
    ),
    readings: Type.Array(DataPointSchema),
  },
  { title: 'Readings' },
);
