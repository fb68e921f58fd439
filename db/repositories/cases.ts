/**
 * Doubt cases (GT-1..GT-10): intake with the block in one transaction, the row the workflow mirrors its
 * state into, responses with their evidence (GT-3, GT-8), listings and the case timeline.
 *
 * The workflow is the source of truth while a case runs; these functions record what it decided, each
 * state change with its audit entry in the same transaction (entity 'case', id = case id).
 */
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, gt, inArray, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../client.js';
import {
  auditLog,
  blocks,
  caseResponses,
  connections,
  doubtCases,
  evidenceRequests,
  parties,
  supplierReports,
  type AuditEntry,
  type CaseResponse,
  type CaseStatus,
  type DoubtCase,
  type EvidenceRequest,
  type Party,
  type SignalChannel,
} from '../schema/index.js';
import { conflict, notFound, validationError } from '../../lib/errors.js';
import {
  CLOSED_STATUSES,
  OPEN_STATUSES,
  contactDeadline,
  type ContactMethod,
  type Judgement,
  type WithdrawalReason,
} from '../../domain/case.js';
import type { SignalClass } from '../../domain/review.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { placeBlock } from './blocks.js';
import { breachedSql, doubtCaseDeadlineColumns } from './case-deadlines-sql.js';

// Re-exported for callers that still import them from here; the rules live in domain/case.ts.
export { CLOSED_STATUSES, OPEN_STATUSES };
export { caseDeadlines, type CaseDeadline as DeadlineView, type DeadlineState } from '../../domain/case.js';

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}

/** An audit entry about a case (entity 'case', id = case id). */
export const caseAudit = (caseId: string, actor: Actor, action: string, data: Record<string, unknown>, at?: Date) => ({
  ...auditActor(actor),
  action,
  entityType: 'case',
  entityId: caseId,
  data,
  ...(at ? { at } : {}),
});

// ---------------------------------------------------------------- intake

export interface CaseIntakeInput extends Actor {
  gridOperatorId: string;
  partyId: string;
  connectionEan: string;
  channel: SignalChannel;
  receivedAt: Date;
  reporterName: string;
  reporterContact?: string | null;
  /** The reporter's own reference for the complaint (echoed in the mail to the reporter). */
  reporterReference?: string | null;
  description: string;
  isma: boolean;
  /** GT-4: what the iSMA variant rests on (the connection at the signal), recorded with the opening. */
  ismaBasis?: Record<string, unknown>;
  /** GT-5: what the signal was about (domain/review.ts). */
  signalClass?: SignalClass | null;
  externalReference?: string | null;
  idempotencyKey?: string | null;
  supplierReportId?: string | null;
  /** The intake moment: the block is in force from here (GT-2). */
  at: Date;
}

async function findDuplicate(
  db: DbOrTx,
  input: Pick<CaseIntakeInput, 'gridOperatorId' | 'idempotencyKey' | 'externalReference' | 'supplierReportId'>,
): Promise<DoubtCase | undefined> {
  const keys: SQL[] = [];
  if (input.idempotencyKey) keys.push(eq(doubtCases.idempotencyKey, input.idempotencyKey));
  if (input.externalReference) keys.push(eq(doubtCases.externalReference, input.externalReference));
  if (input.supplierReportId) keys.push(eq(doubtCases.supplierReportId, input.supplierReportId));
  if (keys.length === 0) return undefined;
  const [row] = await db
    .select()
    .from(doubtCases)
    .where(and(eq(doubtCases.gridOperatorId, input.gridOperatorId), or(...keys)))
    .orderBy(asc(doubtCases.createdAt))
    .limit(1);
  return row;
}

function assertSameCase(existing: DoubtCase, input: CaseIntakeInput): DoubtCase {
  if (existing.partyId !== input.partyId || existing.connectionEan !== input.connectionEan) {
    throw conflict(
      'idempotency_key_reused',
      `Idempotency-Key / external reference already belongs to case ${existing.reference} for another party or connection`,
      input.idempotencyKey ? 'idempotencyKey' : 'externalReference',
      { caseId: existing.id, reference: existing.reference },
    );
  }
  return existing;
}

/** The connection (of this grid operator) and the requesting party (a supplier or service provider) of an intake. */
async function requireIntakeSides(
  db: DbOrTx,
  input: Pick<CaseIntakeInput, 'connectionEan' | 'gridOperatorId' | 'partyId'>,
): Promise<void> {
  const [conn] = await db.select().from(connections).where(eq(connections.ean, input.connectionEan));
  // A handler only registers signals for its own grid operator's connections; others do not exist for it.
  if (!conn || conn.gridOperatorId !== input.gridOperatorId) {
    throw notFound(
      'connection_not_found',
      `No connection ${input.connectionEan} of this grid operator`,
      'connectionEan',
    );
  }
  const [party] = await db.select().from(parties).where(eq(parties.id, input.partyId));
  if (!party) throw notFound('party_not_found', 'No such requesting party', 'partyId');
  if (!party.roles.some((r) => r === 'supplier' || r === 'service_provider')) {
    throw validationError('party_not_requester', `${party.name} is no supplier or service provider`, 'partyId');
  }
}

/**
 * GT-1 / GT-2: register a signal. The case row and the block are written in ONE transaction, so when
 * this returns the block is in force (the P4 gate reads blocks uncached). Idempotent on the
 * Idempotency-Key, the external reference and the supplier report (per grid operator): a repeat returns
 * the existing case with `created: false`, never a second one.
 */
export async function createCaseWithBlock(
  db: Db,
  input: CaseIntakeInput,
): Promise<{ row: DoubtCase; created: boolean }> {
  const dup = await findDuplicate(db, input);
  if (dup) return { row: assertSameCase(dup, input), created: false };
  if (input.receivedAt.getTime() > input.at.getTime() + 60_000) {
    throw validationError('received_in_future', 'receivedAt lies in the future', 'receivedAt');
  }
  try {
    const row = await db.transaction(async (tx) => {
      await requireIntakeSides(tx, input);
      const [{ n }] = (await tx.execute(sql`select nextval('doubt_case_reference_seq')::int as n`)) as unknown as [
        { n: number },
      ];
      const year = new Date(input.at).getUTCFullYear();
      const id = randomUUID();
      const [created] = await tx
        .insert(doubtCases)
        .values({
          id,
          reference: `GT-${year}-${String(n).padStart(6, '0')}`,
          gridOperatorId: input.gridOperatorId,
          partyId: input.partyId,
          connectionEan: input.connectionEan,
          channel: input.channel,
          receivedAt: input.receivedAt,
          reporterName: input.reporterName,
          reporterContact: input.reporterContact ?? null,
          reporterReference: input.reporterReference ?? null,
          description: input.description,
          isma: input.isma,
          signalClass: input.signalClass ?? null,
          externalReference: input.externalReference ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
          supplierReportId: input.supplierReportId ?? null,
          status: 'blocked',
          contactDueAt: contactDeadline(input.receivedAt),
          createdAt: input.at,
          createdBy: input.actor,
          updatedAt: input.at,
        })
        .returning();
      if (!created) throw new Error('case insert returned nothing');
      await placeBlock(tx, {
        caseId: id,
        partyId: input.partyId,
        connectionEan: input.connectionEan,
        at: input.at,
        ...auditActor(input),
      }); // GT-2
      if (input.supplierReportId) {
        await tx
          .update(supplierReports)
          .set({ caseId: id })
          .where(and(eq(supplierReports.id, input.supplierReportId), isNull(supplierReports.caseId)));
      }
      await recordAudit(
        tx,
        caseAudit(
          id,
          input,
          'case.opened',
          {
            reference: created.reference,
            partyId: input.partyId,
            connectionEan: input.connectionEan,
            channel: input.channel,
            receivedAt: input.receivedAt.toISOString(),
            isma: input.isma,
            ...(input.ismaBasis ? { ismaBasis: input.ismaBasis } : {}),
            signalClass: input.signalClass ?? null,
            contactDueAt: created.contactDueAt.toISOString(),
            supplierReportId: input.supplierReportId ?? null,
            rule: 'GT-1, GT-2',
          },
          input.at,
        ),
      );
      return created;
    });
    return { row, created: true };
  } catch (err) {
    // A concurrent request with the same key won the race: answer with its case.
    if (isUniqueViolation(err)) {
      const winner = await findDuplicate(db, input);
      if (winner) return { row: assertSameCase(winner, input), created: false };
    }
    throw err;
  }
}

/**
 * GT-1 without contact: the deadline nears (`at_risk`: the handler is alerted) or has passed (`missed`).
 * Each is recorded once, with its audit entry; returns whether this call recorded it.
 */
export async function recordContactAlarm(
  db: Db,
  input: Actor & { caseId: string; at: Date; contactDueAt: string; alarm: 'at_risk' | 'missed' },
): Promise<boolean> {
  const { caseId, at, contactDueAt } = input;
  const [column, set, action, data] =
    input.alarm === 'at_risk'
      ? [
          doubtCases.contactAlertedAt,
          { contactAlertedAt: at, updatedAt: at },
          'case.contact_at_risk',
          { contactDueAt, rule: 'GT-1' },
        ]
      : [
          doubtCases.contactMissRecordedAt,
          { contactMissRecordedAt: at, updatedAt: at },
          'case.deadline_missed',
          { deadline: 'contact', dueAt: contactDueAt, rule: 'GT-1' },
        ];
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(doubtCases)
      .set(set)
      .where(and(eq(doubtCases.id, caseId), isNull(column)))
      .returning({ id: doubtCases.id });
    if (row) await recordAudit(tx, caseAudit(caseId, input, action, data, at));
    return row !== undefined;
  });
}

export async function markWorkflowStarted(db: DbOrTx, caseId: string, at: Date): Promise<void> {
  await db
    .update(doubtCases)
    .set({ workflowStartedAt: at })
    .where(and(eq(doubtCases.id, caseId), isNull(doubtCases.workflowStartedAt)));
}

/**
 * GT-3: fix the reply-by instant the contact mail states, once: the first call stores `candidate`,
 * every later call (a retried send) gets the stored instant back.
 */
export async function fixStatedResponseDue(db: DbOrTx, caseId: string, candidate: Date): Promise<Date> {
  const [row] = await db
    .update(doubtCases)
    .set({
      statedResponseDueAt: sql`coalesce(${doubtCases.statedResponseDueAt}, ${candidate.toISOString()}::timestamptz)`,
    })
    .where(eq(doubtCases.id, caseId))
    .returning({ at: doubtCases.statedResponseDueAt });
  if (!row?.at) throw notFound('case_not_found', `No case ${caseId}`, 'caseId');
  return row.at;
}

/** Release the fixed instant when the send certainly reached no one (the next attempt states a fresh one). */
export async function releaseStatedResponseDue(db: DbOrTx, caseId: string, fixed: Date): Promise<void> {
  await db
    .update(doubtCases)
    .set({ statedResponseDueAt: null })
    .where(and(eq(doubtCases.id, caseId), eq(doubtCases.statedResponseDueAt, fixed), isNull(doubtCases.contactedAt)));
}

/** Open cases whose workflow was never confirmed started (intake crashed between commit and start). */
export async function casesWithoutWorkflow(db: DbOrTx, olderThan: Date, limit = 500): Promise<DoubtCase[]> {
  return db
    .select()
    .from(doubtCases)
    .where(
      and(
        isNull(doubtCases.workflowStartedAt),
        inArray(doubtCases.status, OPEN_STATUSES),
        lt(doubtCases.createdAt, olderThan),
      ),
    )
    .orderBy(asc(doubtCases.createdAt))
    .limit(limit);
}

// ---------------------------------------------------------------- reads

/** Whether any doubt case, open or closed, is between this grid operator and this party (GT-10 lookups). */
export async function hasCaseBetween(db: DbOrTx, sides: { gridOperatorId: string; partyId: string }): Promise<boolean> {
  const [row] = await db
    .select({ id: doubtCases.id })
    .from(doubtCases)
    .where(and(eq(doubtCases.gridOperatorId, sides.gridOperatorId), eq(doubtCases.partyId, sides.partyId)))
    .limit(1);
  return row !== undefined;
}

export async function getCase(db: DbOrTx, id: string): Promise<DoubtCase | undefined> {
  const [row] = await db.select().from(doubtCases).where(eq(doubtCases.id, id));
  return row;
}

export async function requireCase(db: DbOrTx, id: string): Promise<DoubtCase> {
  const row = await getCase(db, id);
  if (!row) throw notFound('case_not_found', `No case ${id}`, 'caseId');
  return row;
}

export interface CaseParties {
  row: DoubtCase;
  party: Party;
  gridOperator: Party;
}

export async function getCaseWithParties(db: DbOrTx, id: string): Promise<CaseParties> {
  const row = await requireCase(db, id);
  const ps = await db
    .select()
    .from(parties)
    .where(inArray(parties.id, [row.partyId, row.gridOperatorId]));
  const party = ps.find((p) => p.id === row.partyId);
  const gridOperator = ps.find((p) => p.id === row.gridOperatorId);
  if (!party || !gridOperator) throw new Error(`parties of case ${id} missing`);
  return { row, party, gridOperator };
}

export interface CaseFilter {
  gridOperatorId?: string;
  partyId?: string;
  status?: CaseStatus[];
  channel?: SignalChannel;
  /** Finding a case from a letter: each matches exactly as recorded. */
  connectionEan?: string;
  reference?: string;
  reporterReference?: string;
  externalReference?: string;
  /** Open cases whose next deadline (contact, then response) falls before this instant. */
  dueBefore?: Date;
  /** Cases with at least one missed deadline (contact GT-1, response GT-3, unblock GT-8). */
  breached?: boolean;
  /**
   * A search box: the beginning of the case reference, the connection EAN, the reporter's reference (unless
   * `searchReporterReference` is false) or the party's GLN or name (any of them).
   */
  q?: string;
  searchReporterReference?: boolean;
  /** received: newest signal first (the default); due: the next deadline first (domain nextDueAt), none last. */
  sort?: CaseSort;
  limit: number;
  offset: number;
  now: Date;
}

export const CASE_SORTS = ['received', 'due'] as const;
export type CaseSort = (typeof CASE_SORTS)[number];

/** `x` as the start of a LIKE pattern: its own %, _ and \ match themselves. */
const prefixPattern = (x: string) => `${x.replace(/[\\%_]/g, '\\$&')}%`;

/** GET /cases?q=: any of the things a handler has on a letter or on the phone, whole or their beginning. */
function searchCondition(q: string, reporterReference: boolean): SQL {
  const pattern = prefixPattern(q);
  const conds: SQL[] = [
    sql`${doubtCases.reference} like ${prefixPattern(q.toUpperCase())}`,
    sql`${doubtCases.connectionEan} like ${pattern}`,
    sql`${doubtCases.partyId} in (select ${parties.id} from ${parties}
      where ${parties.gln} like ${pattern} or lower(${parties.name}) like ${prefixPattern(q.toLowerCase())})`,
  ];
  if (reporterReference) conds.push(sql`${doubtCases.reporterReference} like ${pattern}`);
  return or(...conds)!;
}

/** The list's order; the id breaks every tie, so offset pages neither repeat nor skip a case. */
function caseOrder(sort: CaseSort = 'received') {
  return sort === 'due'
    ? [sql`${doubtCases.nextDueAt} asc nulls last`, asc(doubtCases.id)]
    : [desc(doubtCases.receivedAt), desc(doubtCases.id)];
}

/** The conditions of a case list (every filter must hold). */
function caseListWhere(f: Omit<CaseFilter, 'limit' | 'offset' | 'sort'>): SQL | undefined {
  const where: SQL[] = [];
  if (f.q) where.push(searchCondition(f.q, f.searchReporterReference !== false));
  if (f.gridOperatorId) where.push(eq(doubtCases.gridOperatorId, f.gridOperatorId));
  if (f.partyId) where.push(eq(doubtCases.partyId, f.partyId));
  if (f.status && f.status.length > 0) where.push(inArray(doubtCases.status, f.status));
  if (f.channel) where.push(eq(doubtCases.channel, f.channel));
  if (f.connectionEan) where.push(eq(doubtCases.connectionEan, f.connectionEan));
  if (f.reference) where.push(eq(doubtCases.reference, f.reference));
  if (f.reporterReference) where.push(eq(doubtCases.reporterReference, f.reporterReference));
  if (f.externalReference) where.push(eq(doubtCases.externalReference, f.externalReference));
  if (f.dueBefore) {
    where.push(inArray(doubtCases.status, OPEN_STATUSES));
    where.push(
      or(
        and(isNull(doubtCases.contactedAt), lt(doubtCases.contactDueAt, f.dueBefore)),
        and(
          isNotNull(doubtCases.contactedAt),
          isNull(doubtCases.respondedAt),
          lt(doubtCases.responseDueAt, f.dueBefore),
        ),
      )!,
    );
  }
  // SQL mirror of domain isBreached(caseDeadlines(row, now)): the same answer as each item's `breached`.
  if (f.breached === true) where.push(breachedSql(doubtCaseDeadlineColumns, f.now));
  if (f.breached === false) where.push(sql`not ${breachedSql(doubtCaseDeadlineColumns, f.now)}`);
  return where.length > 0 ? and(...where) : undefined;
}

export async function listCases(db: DbOrTx, f: CaseFilter): Promise<{ items: DoubtCase[]; total: number }> {
  const cond = caseListWhere(f);
  const items = await db
    .select()
    .from(doubtCases)
    .where(cond)
    .orderBy(...caseOrder(f.sort))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db.select({ n: count() }).from(doubtCases).where(cond);
  return { items, total: total?.n ?? 0 };
}

/** The list's sort column. */
const sortColumn = (sort: CaseSort = 'received') => (sort === 'due' ? doubtCases.nextDueAt : doubtCases.receivedAt);

/**
 * The rows after `last` in the list's order (caseOrder): keyset paging, so each page is an index range however
 * deep the download goes (OFFSET would re-read every row before it). `key` is the last row's sort value as
 * PostgreSQL's own text (microseconds kept: a JavaScript Date would round them and skip or repeat a row).
 */
function afterRow(sort: CaseSort = 'received', last: { id: string; key: string | null }): SQL {
  const col = sortColumn(sort);
  const key = sql`${last.key}::timestamptz`;
  if (sort === 'received') return or(sql`${col} < ${key}`, and(sql`${col} = ${key}`, lt(doubtCases.id, last.id)))!;
  // due: next_due_at ascending, nulls last, then id.
  if (last.key === null) return and(isNull(col), gt(doubtCases.id, last.id))!;
  return or(sql`${col} > ${key}`, and(sql`${col} = ${key}`, gt(doubtCases.id, last.id)), isNull(col))!;
}

/**
 * Every case of a list, `pageSize` at a time, in the list's order (a download of any size: memory stays one
 * page). One read-only REPEATABLE READ snapshot, so a case that changes meanwhile is neither repeated nor lost;
 * `onPage` may wait (the reader's back-pressure) and its error ends the read. The snapshot holds one pooled
 * connection for as long as the reader takes.
 */
export async function forEachCasePage(
  db: Db,
  f: Omit<CaseFilter, 'limit' | 'offset'>,
  pageSize: number,
  onPage: (rows: DoubtCase[]) => Promise<void>,
): Promise<number> {
  const cond = caseListWhere(f);
  return db.transaction(
    async (tx) => {
      let n = 0;
      let last: { id: string; key: string | null } | undefined;
      for (;;) {
        const page = await tx
          .select({ c: doubtCases, key: sql<string | null>`${sortColumn(f.sort)}::text` })
          .from(doubtCases)
          .where(last ? and(cond, afterRow(f.sort, last)) : cond)
          .orderBy(...caseOrder(f.sort))
          .limit(pageSize);
        if (page.length > 0) await onPage(page.map((p) => p.c));
        n += page.length;
        const end = page.at(-1);
        if (page.length < pageSize || !end) return n;
        last = { id: end.c.id, key: end.key };
      }
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

const responseMetadataColumns = {
  id: caseResponses.id,
  caseId: caseResponses.caseId,
  partyId: caseResponses.partyId,
  status: caseResponses.status,
  refusedReason: caseResponses.refusedReason,
  findings: caseResponses.findings,
  complaintHandling: caseResponses.complaintHandling,
  submittedAt: caseResponses.submittedAt,
  submittedBy: caseResponses.submittedBy,
  evidenceFilename: caseResponses.evidenceFilename,
  evidenceContentType: caseResponses.evidenceContentType,
  evidenceSize: caseResponses.evidenceSize,
  evidenceSha256: caseResponses.evidenceSha256,
  evidenceDestroyedAt: caseResponses.evidenceDestroyedAt,
  judgement: caseResponses.judgement,
  judgementReason: caseResponses.judgementReason,
  judgedAt: caseResponses.judgedAt,
  judgedBy: caseResponses.judgedBy,
  judgedByName: caseResponses.judgedByName,
  judgedByRole: caseResponses.judgedByRole,
  /** Whether the copy is still held (GT-8: destroyed after the decision). */
  evidenceHeld: sql<boolean>`${caseResponses.evidenceContent} is not null`,
};
export type ResponseMetadata = Omit<CaseResponse, 'evidenceContent'> & { evidenceHeld: boolean };

/** Metadata of a case's responses; the evidence content never leaves the database through here. */
export async function listResponses(db: DbOrTx, caseId: string): Promise<ResponseMetadata[]> {
  return db
    .select(responseMetadataColumns)
    .from(caseResponses)
    .where(eq(caseResponses.caseId, caseId))
    .orderBy(asc(caseResponses.submittedAt), asc(caseResponses.id));
}

/** GT-3: the handler's requests for more or other evidence, oldest first. */
export async function listEvidenceRequests(db: DbOrTx, caseId: string): Promise<EvidenceRequest[]> {
  return db
    .select()
    .from(evidenceRequests)
    .where(eq(evidenceRequests.caseId, caseId))
    .orderBy(asc(evidenceRequests.requestedAt), asc(evidenceRequests.id));
}

/** The case's audit entries in order: the database half of its timeline and history. */
export async function caseAuditTrail(db: DbOrTx, caseId: string): Promise<AuditEntry[]> {
  const [block] = await db.select({ id: blocks.id }).from(blocks).where(eq(blocks.caseId, caseId));
  const row = await getCase(db, caseId);
  const conds: SQL[] = [and(eq(auditLog.entityType, 'case'), eq(auditLog.entityId, caseId))!];
  if (block) conds.push(and(eq(auditLog.entityType, 'block'), eq(auditLog.entityId, block.id))!);
  if (row)
    conds.push(
      and(
        eq(auditLog.entityType, 'connection'),
        eq(auditLog.entityId, row.connectionEan),
        sql`${auditLog.data}->>'caseId' = ${caseId}`,
      )!,
    );
  return db
    .select()
    .from(auditLog)
    .where(or(...conds))
    .orderBy(asc(auditLog.at), asc(auditLog.id));
}

// ---------------------------------------------------------------- responses (GT-3, GT-8)

export interface EvidenceInput {
  filename: string;
  contentType: string;
  content: Buffer;
  sha256: string;
}

export interface StageResponseInput extends Actor {
  caseId: string;
  partyId: string;
  findings: string;
  complaintHandling: string;
  submittedAt: Date;
  evidence: EvidenceInput | null;
}

/** Store a response before the workflow counts it; it becomes 'received' or 'refused'. */
export async function stageResponse(db: DbOrTx, input: StageResponseInput): Promise<CaseResponse> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(caseResponses)
      .values({
        caseId: input.caseId,
        partyId: input.partyId,
        status: 'staged',
        findings: input.findings,
        complaintHandling: input.complaintHandling,
        submittedAt: input.submittedAt,
        submittedBy: input.actor,
        evidenceFilename: input.evidence?.filename ?? null,
        evidenceContentType: input.evidence?.contentType ?? null,
        evidenceSize: input.evidence ? input.evidence.content.length : null,
        evidenceSha256: input.evidence?.sha256 ?? null,
        evidenceContent: input.evidence?.content ?? null,
      })
      .returning();
    if (!row) throw new Error('response insert returned nothing');
    await recordAudit(
      tx,
      caseAudit(
        input.caseId,
        input,
        'case.response_submitted',
        {
          responseId: row.id,
          hasEvidence: input.evidence !== null,
          evidence: input.evidence
            ? {
                filename: input.evidence.filename,
                contentType: input.evidence.contentType,
                size: input.evidence.content.length,
                sha256: input.evidence.sha256,
              }
            : null,
          rule: 'GT-3',
        },
        input.submittedAt,
      ),
    );
    return row;
  });
}

/** GT-8: a response after the window closed is refused and its content dropped at once (digest kept). */
export async function refuseResponse(
  db: DbOrTx,
  input: Actor & { responseId: string; caseId: string; reason: string; at: Date },
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .update(caseResponses)
      .set({
        status: 'refused',
        refusedReason: input.reason,
        evidenceContent: null,
        evidenceDestroyedAt: sql`case when ${caseResponses.evidenceSha256} is not null then ${input.at.toISOString()}::timestamptz end`,
      })
      .where(and(eq(caseResponses.id, input.responseId), eq(caseResponses.status, 'staged')));
    await recordAudit(
      tx,
      caseAudit(
        input.caseId,
        input,
        'case.response_refused',
        { responseId: input.responseId, reason: input.reason, rule: 'GT-8' },
        input.at,
      ),
    );
  });
}

/** The workflow counted the response (within the 72 hours). Idempotent. */
export async function markResponseReceived(
  db: DbOrTx,
  input: Actor & { caseId: string; responseId: string; at: Date; status: CaseStatus },
): Promise<CaseResponse> {
  return db.transaction(async (tx) => {
    const [resp] = await tx
      .select()
      .from(caseResponses)
      .where(and(eq(caseResponses.id, input.responseId), eq(caseResponses.caseId, input.caseId)))
      .for('update');
    if (!resp) throw notFound('response_not_found', `No response ${input.responseId} for case ${input.caseId}`);
    if (resp.status === 'received') return resp;
    if (resp.status !== 'staged') throw conflict('response_refused', `Response ${input.responseId} was refused`);
    const [updated] = await tx
      .update(caseResponses)
      .set({ status: 'received' })
      .where(eq(caseResponses.id, resp.id))
      .returning();
    await tx
      .update(doubtCases)
      .set({
        status: input.status,
        respondedAt: sql`coalesce(${doubtCases.respondedAt}, ${input.at.toISOString()}::timestamptz)`,
        updatedAt: input.at,
      })
      .where(eq(doubtCases.id, input.caseId));
    await recordAudit(
      tx,
      caseAudit(
        input.caseId,
        input,
        'case.response_received',
        { responseId: resp.id, hasEvidence: resp.evidenceSha256 !== null, status: input.status, rule: 'GT-3' },
        input.at,
      ),
    );
    return updated!;
  });
}

// ---------------------------------------------------------------- the workflow's steps (services/cases/steps.ts)
// Single statements; the step's service holds the transaction that joins them to their audit entries.

/** GT-1 / GT-2: the workflow set the case up: its contact deadline, the first start kept. False: no such case. */
export async function markCaseSetUp(
  db: DbOrTx,
  input: { caseId: string; contactDueAt: Date; at: Date },
): Promise<boolean> {
  const [row] = await db
    .update(doubtCases)
    .set({
      contactDueAt: input.contactDueAt,
      workflowStartedAt: sql`coalesce(${doubtCases.workflowStartedAt}, ${input.at.toISOString()}::timestamptz)`,
      updatedAt: input.at,
    })
    .where(eq(doubtCases.id, input.caseId))
    .returning({ id: doubtCases.id });
  return row !== undefined;
}

/**
 * GT-1 / GT-3: the first contact's moment, method and reply-by instant; a case still `blocked` takes `status`.
 * Undefined when contact was recorded before (a retried step).
 */
export async function markContacted(
  db: DbOrTx,
  input: {
    caseId: string;
    contactedAt: Date;
    responseDueAt: Date;
    messageId: string | null;
    method: ContactMethod;
    status: CaseStatus;
  },
): Promise<DoubtCase | undefined> {
  const [row] = await db
    .update(doubtCases)
    .set({
      contactedAt: input.contactedAt,
      responseDueAt: input.responseDueAt,
      contactMessageId: input.messageId,
      contactMethod: input.method,
      status: sql`case when ${doubtCases.status} = 'blocked' then ${input.status} else ${doubtCases.status} end`,
      updatedAt: input.contactedAt,
    })
    .where(and(eq(doubtCases.id, input.caseId), isNull(doubtCases.contactedAt)))
    .returning();
  return row;
}

/** GT-1 / GT-10: the party's doubt contact group was found empty; the first moment is kept. */
export async function markContactGroupEmpty(db: DbOrTx, caseId: string, at: Date): Promise<void> {
  await db
    .update(doubtCases)
    .set({ contactGroupEmptyAt: sql`coalesce(${doubtCases.contactGroupEmptyAt}, ${at.toISOString()}::timestamptz)` })
    .where(eq(doubtCases.id, caseId));
}

/** GT-1: the contact mail's attempts so far, and the last one's error when it failed (no hidden retries). */
export async function recordContactAttempt(
  db: DbOrTx,
  caseId: string,
  attempt: { attempts: number; lastAttemptAt: Date; lastError?: string },
): Promise<void> {
  await db
    .update(doubtCases)
    .set({
      contactAttempts: attempt.attempts,
      contactLastAttemptAt: attempt.lastAttemptAt,
      ...(attempt.lastError !== undefined ? { contactLastError: attempt.lastError } : {}),
    })
    .where(eq(doubtCases.id, caseId));
}

/** GT-3 / GT-8: the response's judgement, once; false when it was judged before (a retried step). */
export async function judgeResponse(
  db: DbOrTx,
  input: {
    caseId: string;
    responseId: string;
    judgement: Judgement;
    reason: string | null;
    at: Date;
    by: string;
    byRole: string | null;
  },
): Promise<boolean> {
  const [row] = await db
    .update(caseResponses)
    .set({
      judgement: input.judgement,
      judgementReason: input.reason,
      judgedAt: input.at,
      judgedBy: input.by,
      // The signature: the key's recorded holder (the route refuses a rejection by a key without one), or the
      // person signed in to the console (issue 19: actor user:<id>).
      judgedByName: sql`coalesce((select k.holder_name from api_keys k where 'api-key:' || k.id::text = ${input.by}),
        (select p.name from people p where 'user:' || p.id::text = ${input.by}))`,
      judgedByRole: input.byRole,
    })
    .where(
      and(
        eq(caseResponses.id, input.responseId),
        eq(caseResponses.caseId, input.caseId),
        isNull(caseResponses.judgement),
      ),
    )
    .returning({ id: caseResponses.id });
  return row !== undefined;
}

/** The case was judged at `at`; with `status`, an open case takes it (a rejection within the 72 hours, GT-3). */
export async function markCaseJudged(
  db: DbOrTx,
  input: { caseId: string; at: Date; status?: CaseStatus },
): Promise<void> {
  await db
    .update(doubtCases)
    .set({
      judgedAt: input.at,
      updatedAt: input.at,
      ...(input.status
        ? { status: sql`case when ${doubtCases.closedAt} is null then ${input.status} else ${doubtCases.status} end` }
        : {}),
    })
    .where(eq(doubtCases.id, input.caseId));
}

/** Responses counted in time and not yet judged. */
export async function countResponsesAwaitingJudgement(db: DbOrTx, caseId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(caseResponses)
    .where(and(eq(caseResponses.caseId, caseId), eq(caseResponses.status, 'received')));
  return row?.n ?? 0;
}

export interface CaseClosing {
  caseId: string;
  status: CaseStatus;
  at: Date;
  closedBy: string;
  closeReason: string | null;
  /** GT-7: set only when the case was withdrawn. */
  withdrawalReason?: WithdrawalReason;
  unblockDueAt: Date | null;
  unblockedAt: Date | null;
  /** GT-4: the switch to profile allocation, from this quarter-hour (the revert recorded at `at`). */
  profileEffectiveFrom: Date | null;
}

/** Steps 5-7: the row closed with what the closing did (call it in the closing's transaction). */
export async function markCaseClosed(db: DbOrTx, c: CaseClosing): Promise<void> {
  await db
    .update(doubtCases)
    .set({
      status: c.status,
      closedAt: c.at,
      closedBy: c.closedBy,
      closeReason: c.closeReason,
      ...(c.withdrawalReason ? { withdrawalReason: c.withdrawalReason } : {}),
      unblockDueAt: c.unblockDueAt,
      unblockedAt: c.unblockedAt,
      ...(c.profileEffectiveFrom ? { allocationRevertedAt: c.at, profileEffectiveFrom: c.profileEffectiveFrom } : {}),
      updatedAt: c.at,
    })
    .where(eq(doubtCases.id, c.caseId));
}

// ---------------------------------------------------------------- supplier reports (GT-9)

export async function getSupplierReport(db: DbOrTx, id: string) {
  const [row] = await db.select().from(supplierReports).where(eq(supplierReports.id, id));
  return row;
}
