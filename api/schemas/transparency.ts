import { Type, type Static } from '@sinclair/typebox';
import type { AccessOverview } from '../../db/repositories/transparency.js';
import { DateTime, Ean18 } from './common.js';
import { ConnectionSchema, toConnectionDto } from './connections.js';
import { MandateSchema, toMandateDto } from './mandates.js';
import { PartySchema, toPartyDto } from './parties.js';
import { RegisterEntrySchema, toRegisterDto } from './p4.js';

export const PartyAccessSchema = Type.Object({
  party: PartySchema,
  supplierOfRecord: Type.Boolean({
    description: 'Reads monthly/billing registers on the supply contract (no mandate needed)',
  }),
  hasAccessNow: Type.Boolean(),
  mandates: Type.Array(MandateSchema),
  requests: Type.Object({
    total: Type.Integer(),
    allowed: Type.Integer(),
    firstAt: Type.Union([DateTime, Type.Null()]),
    lastAt: Type.Union([DateTime, Type.Null()]),
  }),
});

export const AccessOverviewSchema = Type.Object(
  {
    connection: ConnectionSchema,
    since: Type.String({
      ...DateTime,
      description: 'Shown from when the caller became grid user of the connection',
    }),
    parties: Type.Array(PartyAccessSchema),
    recentRequests: Type.Array(RegisterEntrySchema),
    register: Type.Object(
      {
        reachesBack: Type.String({
          ...DateTime,
          description:
            'The access register holds every request since this instant; older ones were removed after retentionDays (DC-9)',
        }),
        retentionDays: Type.Integer({
          description: 'How long the register keeps a request (RETENTION_ACCESS_REGISTER_DAYS)',
        }),
      },
      { description: 'DC-5 within DC-9: how far back the requests above reach' },
    ),
  },
  { title: 'AccessOverview', description: 'DC-5: who has, or had, access and when data was requested' },
);

export const StopResult = Type.Object(
  { connectionEan: Ean18, partyId: Type.String(), mandatesEnded: Type.Array(MandateSchema) },
  { title: 'StopAccessResult', description: 'DC-4: every open mandate of the party on the connection ended' },
);

export const AccessQuery = Type.Object(
  { recent: Type.Integer({ minimum: 0, maximum: 500, default: 50 }) },
  { additionalProperties: false },
);

export function toOverviewDto(o: AccessOverview, now = new Date()): Static<typeof AccessOverviewSchema> {
  return {
    connection: toConnectionDto(o.connection),
    since: o.since.toISOString(),
    parties: o.parties.map((p) => ({
      party: toPartyDto(p.party),
      supplierOfRecord: p.supplierOfRecord,
      hasAccessNow: p.hasAccessNow,
      mandates: p.mandates.map((m) => toMandateDto(m, now)),
      requests: {
        total: p.requests.total,
        allowed: p.requests.allowed,
        firstAt: p.requests.firstAt ? p.requests.firstAt.toISOString() : null,
        lastAt: p.requests.lastAt ? p.requests.lastAt.toISOString() : null,
      },
    })),
    recentRequests: o.recentRequests.map((e) => toRegisterDto(e)),
    register: { reachesBack: o.register.reachesBack.toISOString(), retentionDays: o.register.retentionDays },
  };
}
