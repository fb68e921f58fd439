/**
 * Compliance: the complete, ordered history of a case. The Temporal workflow events (live from Temporal
 * while the server still retains them, otherwise the copy in case_history_archives that the archive
 * workflow writes when a case closes) merged with the case's audit entries from PostgreSQL.
 * Throws DomainErrors only.
 */
import type { Client } from '@temporalio/client';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { caseAuditTrail } from '../../db/repositories/cases.js';
import { caseHistoryArchives, type AuditEntry } from '../../db/schema/index.js';
import { decodeHistoryJson } from '../../lib/infra/payload-codec.js';
import { isWorkflowNotFound, temporalUnavailable } from '../workflow-client.js';

export type TemporalSource = 'live' | 'archive' | 'none';

export interface HistoryEntry {
  at: string;
  source: 'temporal' | 'database';
  type: string;
  actor: string;
  /** Audit entries: the key holder's name (or the process) and role at the time. */
  actorName?: string | null;
  actorRole?: string | null;
  eventId?: number;
  auditId?: number;
  /** Audit entries: position on the audit hash chain (GET /audit/verify) and the entry's hash. */
  chainPosition?: number;
  hash?: string;
  detail?: string;
  data?: Record<string, unknown>;
}

export interface CaseHistoryDeps {
  db: Db;
  temporal: Client | undefined;
}

type Json = Record<string, unknown>;

async function archived(db: Db, caseId: string): Promise<Json | null> {
  const [row] = await db
    .select({ history: caseHistoryArchives.history })
    .from(caseHistoryArchives)
    .where(eq(caseHistoryArchives.caseId, caseId));
  return row?.history ?? null;
}

/**
 * The case workflow's history as Temporal's proto3 JSON (replayable): live while the server retains it,
 * else the archive. Temporal unreachable and no archive: 503 rather than a history with a silent gap.
 */
export async function temporalHistory(
  deps: CaseHistoryDeps,
  caseId: string,
): Promise<{ source: TemporalSource; history: Json | null }> {
  if (deps.temporal) {
    const client = deps.temporal;
    let history: History;
    try {
      history = await client.withDeadline(Date.now() + 15_000, () => client.workflow.getHandle(caseId).fetchHistory());
    } catch (err) {
      const copy = await archived(deps.db, caseId);
      if (copy) return { source: 'archive', history: copy };
      if (isWorkflowNotFound(err)) return { source: 'none', history: null };
      throw temporalUnavailable(
        'The workflow history cannot be read now and no archived copy exists yet',
        { caseId },
        err,
      );
    }
    // Temporal holds the payloads encrypted (lib/infra/payload-codec.ts): the export shows them as the case had them.
    // A payload under a key no longer configured is a fault of ours (a key retired too early): a 500, logged.
    const json = JSON.parse(historyToJSON(history)) as Json;
    return { source: 'live', history: await decodeHistoryJson(json, client.options.loadedDataConverter.payloadCodecs) };
  }
  const copy = await archived(deps.db, caseId);
  return copy ? { source: 'archive', history: copy } : { source: 'none', history: null };
}

/** Decode a json/plain payload (proto3 JSON: base64 metadata and data); undefined for anything else. */
function decodePayload(p: unknown): unknown {
  const payload = p as { metadata?: { encoding?: string }; data?: string } | undefined;
  if (!payload?.metadata?.encoding || payload.data === undefined) return undefined;
  if (Buffer.from(payload.metadata.encoding, 'base64').toString('utf8') !== 'json/plain') return undefined;
  try {
    return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), o);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** One Temporal event as a history entry: type from its attributes, actor from the Update's input or the identity. */
function fromEvent(caseId: string, e: Json): HistoryEntry {
  const attrsKey = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
  const attrs = attrsKey ? e[attrsKey] : undefined;
  const type = attrsKey
    ? attrsKey[0]!.toUpperCase() + attrsKey.slice(1, -'EventAttributes'.length)
    : String(e['eventType'] ?? 'Unknown');
  const request = get(attrs, 'acceptedRequest') ?? get(attrs, 'request');
  const updateArg = decodePayload(get(request, 'input', 'args', 'payloads', '0'));
  const actor =
    str(get(updateArg, 'actor')) ??
    str(get(updateArg, 'submittedBy')) ??
    str(get(attrs, 'identity')) ??
    str(get(request, 'meta', 'identity')) ??
    `workflow:${caseId}`;
  const detail =
    str(get(attrs, 'activityType', 'name')) ??
    str(get(request, 'input', 'name')) ??
    str(get(attrs, 'workflowType', 'name')) ??
    str(get(attrs, 'timerId')) ??
    str(get(attrs, 'signalName')) ??
    str(get(attrs, 'workflowId'));
  const eventTime = str(e['eventTime']);
  return {
    at: eventTime ? new Date(eventTime).toISOString() : new Date(0).toISOString(),
    source: 'temporal',
    type,
    actor,
    eventId: Number(e['eventId'] ?? 0),
    ...(detail ? { detail } : {}),
  };
}

function fromAudit(a: AuditEntry): HistoryEntry {
  return {
    at: a.at.toISOString(),
    source: 'database',
    type: a.action,
    actor: a.actor,
    actorName: a.actorName,
    actorRole: a.actorRole,
    auditId: a.id,
    chainPosition: a.chainPosition,
    hash: a.hash,
    data: { ...a.data, ...(a.actorRole ? { actorRole: a.actorRole } : {}), entity: `${a.entityType}:${a.entityId}` },
  };
}

/** Merge two lists that are each in their own order (event id; audit time then id) by time; ties keep Temporal first. */
export function mergeHistory(temporal: HistoryEntry[], database: HistoryEntry[]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < temporal.length || j < database.length) {
    const t = temporal[i];
    const d = database[j];
    if (t && (!d || Date.parse(t.at) <= Date.parse(d.at))) {
      out.push(t);
      i++;
    } else if (d) {
      out.push(d);
      j++;
    }
  }
  return out;
}

export async function caseHistory(
  deps: CaseHistoryDeps,
  caseId: string,
): Promise<{ temporalSource: TemporalSource; entries: HistoryEntry[] }> {
  const [t, audit] = await Promise.all([temporalHistory(deps, caseId), caseAuditTrail(deps.db, caseId)]);
  const events = Array.isArray(t.history?.['events']) ? (t.history['events'] as Json[]) : [];
  // Temporal writes an ActivityTaskStarted event when the activity ends, stamped with its start: with activities
  // running aside (notices, alerts) the events are not in time order by id. Stable sort: ties keep event order.
  const temporal = events.map((e) => fromEvent(caseId, e)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return { temporalSource: t.source, entries: mergeHistory(temporal, audit.map(fromAudit)) };
}

/** The raw export: Temporal's history JSON as it is, and the audit rows as stored. */
export async function caseHistoryExport(deps: CaseHistoryDeps, caseId: string) {
  const [t, audit] = await Promise.all([temporalHistory(deps, caseId), caseAuditTrail(deps.db, caseId)]);
  return {
    temporal: t,
    audit: audit.map((a) => ({ ...a, at: a.at.toISOString() })),
  };
}
