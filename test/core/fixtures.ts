/**
 * Shared set-up for the consent-core tests: a private database per file (platform harness), the real
 * app on it, and small builders that insert rows directly (keys via generateApiKey()).
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type App } from '../../api/app.js';
import { createDb, type Db } from '../../db/client.js';
import type postgres from 'postgres';
import {
  apiKeys,
  connections,
  doubtCases,
  gridUsers,
  mandates,
  parties,
  type DataKind,
  type PartyRole,
  type Role,
} from '../../db/schema/index.js';
import type { CaseStatus } from '../../domain/case.js';
import { generateApiKey } from '../../lib/api-keys.js';
import { withCheckDigit } from '../../lib/gs1.js';
import { freshDatabase, testConfig } from '../helpers/index.js';

let seq = 0;
const runTag = String(process.pid % 10000).padStart(4, '0');
/** A valid, unique 13-digit GLN. */
export const newGln = () => withCheckDigit(`87${runTag}${String(++seq).padStart(6, '0')}`);
/** A valid, unique 18-digit EAN (871…). */
export const newEan = () => withCheckDigit(`871${runTag}${String(++seq).padStart(10, '0')}`);
/** Same body, wrong check digit. */
export const badCheckDigit = (code: string) => code.slice(0, -1) + String((Number(code.slice(-1)) + 1) % 10);

export interface CoreContext {
  app: App;
  db: Db;
  sql: postgres.Sql;
  /** The private database's URL (for commands run as child processes). */
  url: string;
  close(): Promise<void>;
}

/** `env`: configuration beside the defaults (the fair share, TLS, the auth cache: test/core/machine-auth.test.ts). */
export async function coreContext(label: string, env: Record<string, string> = {}): Promise<CoreContext> {
  const fresh = await freshDatabase(label);
  const handle = createDb(fresh.url, { max: 8 });
  const app = await buildApp({
    config: testConfig({ BODY_LIMIT_BYTES: '65536', ...env }),
    db: handle.db,
    sql: handle.sql,
    logger: false,
  });
  await app.ready();
  return {
    app,
    db: handle.db,
    sql: handle.sql,
    url: fresh.url,
    async close() {
      await app.close();
      await handle.close();
      await fresh.drop();
    },
  };
}

export async function makeParty(db: Db, roles: PartyRole[], name = `Party ${seq + 1}`) {
  const [p] = await db.insert(parties).values({ gln: newGln(), name, roles }).returning();
  return p!;
}

export async function makeGridUser(db: Db, name = 'Grid User') {
  const [u] = await db.insert(gridUsers).values({ name }).returning();
  return u!;
}

export async function makeConnection(
  db: Db,
  o: {
    gridOperatorId: string;
    supplierId?: string | null;
    gridUserId?: string | null;
    capacityKw?: number;
    remoteReadingOptOut?: boolean;
  },
) {
  const [c] = await db
    .insert(connections)
    .values({
      ean: newEan(),
      gridOperatorId: o.gridOperatorId,
      gridArea: 'Test-Area',
      supplierId: o.supplierId ?? null,
      gridUserId: o.gridUserId ?? null,
      capacityKw: o.capacityKw ?? 17.25,
      remoteReadingOptOut: o.remoteReadingOptOut ?? false,
    })
    .returning();
  return c!;
}

export async function makeMandate(
  db: Db,
  o: {
    partyId: string;
    connectionEan: string;
    dataKinds?: DataKind[];
    validFrom?: Date;
    validTo?: Date;
    historyIncluded?: boolean;
    status?: 'active' | 'pending_confirmation' | 'ended';
    endReason?: 'revoked_by_grid_user' | 'customer_switch' | 'party_not_admitted' | 'withdrawn_by_party';
    /** Registration instant (DC-2: the past before it is history). Default: at its validFrom, or now when that lies ahead. */
    registeredAt?: Date;
  },
) {
  const validFrom = o.validFrom ?? new Date(Date.now() - 30 * 86_400_000);
  const [m] = await db
    .insert(mandates)
    .values({
      partyId: o.partyId,
      connectionEan: o.connectionEan,
      dataKinds: o.dataKinds ?? ['interval_data', 'daily_registers', 'monthly_registers'],
      purpose: 'test',
      validFrom,
      validTo: o.validTo ?? new Date(Date.now() + 365 * 86_400_000),
      historyIncluded: o.historyIncluded ?? false,
      grantedVia: 'portal',
      grantedByName: 'Grid User',
      grantedByIsGridUser: o.status !== 'pending_confirmation',
      status: o.status ?? 'active',
      // DC-3: active on the declaration that the grid user granted it (GT-8b asks the grid user's own).
      confirmedBy: o.status === 'pending_confirmation' ? null : 'declaration',
      endedAt: o.status === 'ended' ? new Date() : null,
      endReason: o.status === 'ended' ? (o.endReason ?? 'revoked_by_grid_user') : null,
      createdAt: o.registeredAt ?? new Date(Math.min(validFrom.getTime(), Date.now())),
    })
    .returning();
  return m!;
}

/**
 * A doubt-case row (no workflow): blocks belong to a case (GT-2, blocks.case_id references doubt_cases), so a
 * test that places a block through the repository gives it a case first.
 */
export async function makeCase(
  db: Db,
  o: { partyId: string; connectionEan: string; gridOperatorId: string; status?: CaseStatus; receivedAt?: Date },
) {
  const receivedAt = o.receivedAt ?? new Date();
  const [c] = await db
    .insert(doubtCases)
    .values({
      id: randomUUID(),
      reference: `T-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`,
      gridOperatorId: o.gridOperatorId,
      partyId: o.partyId,
      connectionEan: o.connectionEan,
      channel: 'customer',
      receivedAt,
      reporterName: 'test',
      description: 'test',
      isma: false,
      status: o.status ?? 'awaiting_response',
      contactDueAt: receivedAt,
      closedAt: o.status?.startsWith('closed_') ? new Date() : null,
      createdBy: 'test',
    })
    .returning();
  return c!;
}

/** An API key row for `role`; returns the Authorization header value. */
export async function makeKey(
  db: Db,
  role: Role,
  o: { partyId?: string; gridUserId?: string; holderName?: string; expiresAt?: Date } = {},
): Promise<string> {
  const k = generateApiKey();
  await db.insert(apiKeys).values({
    keyHash: k.hash,
    prefix: k.prefix,
    label: `test ${role}`,
    holderName: o.holderName ?? null,
    role,
    partyId: o.partyId ?? null,
    gridUserId: o.gridUserId ?? null,
    expiresAt: o.expiresAt ?? null,
  });
  return `Bearer ${k.key}`;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** app.inject with a key and a JSON body. */
export async function call(
  app: App,
  auth: string | null,
  method: Method,
  url: string,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: {
      ...(auth ? { authorization: auth } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

export const days = (n: number) => n * 86_400_000;
export const iso = (ms: number) => new Date(ms).toISOString();
