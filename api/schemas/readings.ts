import { Type } from '@sinclair/typebox';
import { READING_REJECT_CODES } from '../../db/repositories/readings.js';
import { DateTime, Ean18 } from './common.js';

export const MAX_READINGS_PER_BATCH = 10_000;

export const ReadingsImport = Type.Object(
  {
    readings: Type.Array(
      Type.Object(
        {
          readAt: Type.String({ format: 'date-time', description: 'End of the quarter-hour (AL-1)' }),
          registerWh: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Offtake register in Wh (AL-1)' }),
          feedInRegisterWh: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Feed-in register in Wh (AL-1)' })),
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
    rejected: Type.Array(ReadingReject, { description: 'Per-row rejects: these rows were not stored; all other rows were' }),
  },
  { title: 'ReadingsImportResult' },
);

export const ReadingsQuery = Type.Object({ from: DateTime, to: DateTime }, { additionalProperties: false });

export const DataPointSchema = Type.Object({
  at: DateTime,
  registerWh: Type.Integer(),
  volumeWh: Type.Optional(Type.Integer()),
  feedInRegisterWh: Type.Optional(Type.Integer()),
  feedInVolumeWh: Type.Optional(Type.Integer()),
});

export const ReadingsList = Type.Object({ connectionEan: Ean18, from: DateTime, to: DateTime, readings: Type.Array(DataPointSchema) }, { title: 'Readings' });
