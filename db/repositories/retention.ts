/**
 * DC-9 storage limitation: the statements of the retention purge (services/retention/purge.ts). Each function
 * works on one bounded batch inside the caller's transaction; the caller records the batch on the audit chain
 * (recordPurgeBatch) and erases the audit details of what it removed (eraseAuditDetails) in that transaction.
 *
 * The selections repeat rules of domain/retention.ts in SQL for speed; each names the function it mirrors, and
 * test/core/retention-agreement.test.ts holds both to the same answers on random facts.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { pgArray } from '../pg-array.js';
import {
  accessRegister,
  acmNotifications,
  auditLog,
  blocks,
  breachAssessments,
  caseHistoryArchives,
  caseResponses,
  doubtCases,
  evidenceRequests,
  improvementReviews,
  mandates,
  meterReadingDays,
  meterReadingRejects,
  readingImports,
  reviewSignals,
  supplierReports,
} from '../schema/index.js';
import type { CaseRetentionVerdict, RetentionKind, SupplierReportRetentionVerdict } from '../../domain/retention.js';
import type { CaseStatus } from '../../domain/case.js';
import type { Actor } from './actor.js';

/** The purge's audit actor (named, as every state change's). */
export const RETENTION_ACTOR: Actor = { actor: 'workflow:retention-purge', actorRole: 'system', actorPartyId: null };

/** The audit action of a purge batch; audit_erase_details() accepts only such an entry as the eraser. */
export const PURGE_ACTION = 'retention.purged';

const NOT_DEMONSTRATED: CaseStatus = 'closed_mandate_not_demonstrated';
const UUID_RE = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** `expr` as a uuid, or null when it is not one (audit entity ids are text). */
const asUuid = (expr: SQL): SQL => sql`(case when ${expr} ~ ${UUID_RE} then (${expr})::uuid end)`;

type Rows<T> = T[];
const rows = <T>(r: unknown): Rows<T> => r as Rows<T>;

/** Run `del` (a DELETE, after the CTEs in `before`) and return how many rows it removed, counted on the server. */
async function deleted(tx: DbOrTx, del: SQL, before: SQL = sql``): Promise<number> {
  const [r] = rows<{ n: number | string }>(
    await tx.execute(sql`with ${before} gone as (${del} returning 1) select count(*)::int as n from gone`),
  );
  return Number(r!.n);
}

/** Rows an UPDATE changed, counted as deleted() counts. */
const updated = deleted;

// ---------------------------------------------------------------- the audit side

export interface PurgeBatchRecord {
  runId: string;
  kind: RetentionKind;
  asOf: Date;
  cutoff: string;
  batch: number;
  /** Rows removed per table (or per record kind). */
  removed: Record<string, number>;
  /** Audit entries whose details this batch erases. */
  auditDetails: number;
  /** Anything else worth keeping with the batch (what was kept past its period, and why). */
  extra?: Record<string, unknown>;
}

/** Record one purge batch on the chain (DC-9: the purge is audited, with counts); returns the entry's id. */
export async function recordPurgeBatch(tx: DbOrTx, r: PurgeBatchRecord): Promise<number> {
  const [row] = await tx
    .insert(auditLog)
    .values({
      actor: RETENTION_ACTOR.actor,
      actorRole: RETENTION_ACTOR.actorRole ?? null,
      actorPartyId: null,
      action: PURGE_ACTION,
      entityType: 'retention',
      entityId: r.kind,
      data: {
        runId: r.runId,
        asOf: r.asOf.toISOString(),
        cutoff: r.cutoff,
        batch: r.batch,
        removed: r.removed,
        auditDetails: r.auditDetails,
        ...r.extra,
        rule: 'DC-9',
      },
    })
    .returning({ id: auditLog.id });
  return row!.id;
}

/**
 * Erase the details (data, actor_name, salt) of these audit entries through audit_erase_details(), naming the
 * purge entry. Entries whose details were altered are left as they are and returned: erasing them would destroy
 * the evidence (GET /audit/verify names them).
 */
export async function eraseAuditDetails(
  tx: DbOrTx,
  ids: readonly number[],
  purgeEntryId: number,
  at: Date,
): Promise<{ erased: number; altered: number[] }> {
  if (ids.length === 0) return { erased: 0, altered: [] };
  const [r] = rows<{ erased: number; altered: Array<string | number> }>(
    await tx.execute(sql`
      select erased, altered from audit_erase_details(${pgArray(ids.map(String))}::bigint[], ${purgeEntryId}::bigint,
                                                      ${at.toISOString()}::timestamptz)`),
  );
  return { erased: Number(r!.erased), altered: (r!.altered ?? []).map(Number) };
}

/** Altered entries the purge refused to erase: on the chain too, so the refusal is not lost with the batch. */
export async function recordErasureRefused(
  tx: DbOrTx,
  r: { runId: string; kind: RetentionKind; purgeEntryId: number; auditIds: number[] },
): Promise<void> {
  await tx.insert(auditLog).values({
    actor: RETENTION_ACTOR.actor,
    actorRole: RETENTION_ACTOR.actorRole ?? null,
    action: 'retention.erasure_refused',
    entityType: 'retention',
    entityId: r.kind,
    data: {
      runId: r.runId,
      purgeEntryId: r.purgeEntryId,
      auditIds: r.auditIds,
      reason: 'details no longer match their digest (altered): kept as evidence',
      rule: 'DC-9',
    },
  });
}

/** The unerased audit entries that belong to these cases' records: the case, its block, its connection steps. */
async function caseAuditIds(tx: DbOrTx, caseIds: readonly string[]): Promise<number[]> {
  const r = rows<{ id: string | number }>(
    await tx.execute(sql`
      with c as (
        select dc.id, dc.connection_ean, b.id as block_id
          from ${doubtCases} dc left join ${blocks} b on b.case_id = dc.id
         where dc.id = any(${pgArray(caseIds)}::uuid[])
      )
      select a.id from ${auditLog} a join c on a.entity_type = 'case' and a.entity_id = c.id::text
       where a.details_erased_at is null
      union
      select a.id from ${auditLog} a join c on a.entity_type = 'block' and a.entity_id = c.block_id::text
       where a.details_erased_at is null
      union
      select a.id from ${auditLog} a
        join c on a.entity_type = 'connection' and a.entity_id = c.connection_ean and a.data->>'caseId' = c.id::text
       where a.details_erased_at is null`),
  );
  return r.map((x) => Number(x.id));
}

// ---------------------------------------------------------------- cases (GT-1 … GT-11)

/**
 * caseRetention() of domain/retention.ts in SQL, for the case row `c` — same checks, same order. `asOf` and
 * `cutoff` are ISO instants (cutoff = retentionCutoff(asOf, caseDays)).
 */
export function caseVerdictSql(asOf: string, cutoff: string): SQL {
  return sql`(case
    when c.closed_at is null then 'open'
    when greatest(c.closed_at,
                  (select max(n.sent_at) from ${acmNotifications} n where n.case_id = c.id),
                  (select ba.decided_at from ${breachAssessments} ba where ba.case_id = c.id))
         >= ${cutoff}::timestamptz then 'within_period'
    when c.legal_hold_since is not null then 'legal_hold'
    when exists (select 1 from ${breachAssessments} ba where ba.case_id = c.id and ba.decided_at is null)
      then 'open_breach_assessment'
    when exists (select 1 from ${reviewSignals} s join ${improvementReviews} r on r.id = s.review_id
                  where s.kind = 'case' and s.signal_id = c.id and r.closed_at is null) then 'open_review'
    when exists (select 1 from ${blocks} b
                  where b.case_id = c.id and b.ended_at is null
                    and (c.status <> ${NOT_DEMONSTRATED}
                         or exists (select 1 from ${mandates} m
                                     where m.party_id = b.party_id and m.connection_ean = b.connection_ean
                                       and m.created_at <= c.closed_at and m.status <> 'ended'
                                       and m.valid_to > ${asOf}::timestamptz))) then 'block_in_force'
    else 'purge' end)`;
}

/** caseRetention() for the given cases (the agreement test; operators' questions). */
export async function caseVerdicts(
  db: DbOrTx,
  caseIds: readonly string[],
  asOf: string,
  cutoff: string,
): Promise<Map<string, CaseRetentionVerdict>> {
  const r = rows<{ id: string; verdict: CaseRetentionVerdict }>(
    await db.execute(sql`
      select c.id, ${caseVerdictSql(asOf, cutoff)} as verdict
        from ${doubtCases} c where c.id = any(${pgArray(caseIds)}::uuid[])`),
  );
  return new Map(r.map((x) => [x.id, x.verdict]));
}

/** Closed cases past their period that something still keeps, by verdict (reported with the purge). */
export async function keptCaseCounts(db: DbOrTx, asOf: string, cutoff: string): Promise<Record<string, number>> {
  const r = rows<{ verdict: string; n: string | number }>(
    await db.execute(sql`
      select v.verdict, count(*) as n
        from (select ${caseVerdictSql(asOf, cutoff)} as verdict from ${doubtCases} c
               where c.closed_at < ${cutoff}::timestamptz) v
       where v.verdict not in ('purge', 'within_period')
       group by v.verdict`),
  );
  return Object.fromEntries(r.map((x) => [x.verdict, Number(x.n)]));
}

export interface CaseBatch {
  caseIds: string[];
  removed: Record<string, number>;
  auditIds: number[];
}

/**
 * One batch of cases past their period (caseVerdictSql = 'purge'), oldest close first, locked (a concurrent
 * purge skips them): their evidence requests, responses (evidence metadata and digests), history archive,
 * decided breach assessment, ACM reports, and their block where blockGoesWithCase(); then the case rows.
 * Returns what went and the audit entries to erase (computed before the rows they join on go).
 */
export async function purgeCaseBatch(tx: DbOrTx, asOf: string, cutoff: string, limit: number): Promise<CaseBatch> {
  const picked = rows<{ id: string }>(
    await tx.execute(sql`
      select c.id from ${doubtCases} c
       where c.closed_at < ${cutoff}::timestamptz and ${caseVerdictSql(asOf, cutoff)} = 'purge'
       order by c.closed_at, c.id
       limit ${limit}
       for update of c skip locked`),
  );
  const caseIds = picked.map((r) => r.id);
  if (caseIds.length === 0) return { caseIds, removed: {}, auditIds: [] };
  const auditIds = await caseAuditIds(tx, caseIds);
  const ids = sql`${pgArray(caseIds)}::uuid[]`;
  const removed: Record<string, number> = {
    evidence_requests: await deleted(tx, sql`delete from ${evidenceRequests} where case_id = any(${ids})`),
    case_responses: await deleted(tx, sql`delete from ${caseResponses} where case_id = any(${ids})`),
    case_history_archives: await deleted(tx, sql`delete from ${caseHistoryArchives} where case_id = any(${ids})`),
    breach_assessments: await deleted(tx, sql`delete from ${breachAssessments} where case_id = any(${ids})`),
    acm_notifications: await deleted(tx, sql`delete from ${acmNotifications} where case_id = any(${ids})`),
    // blockGoesWithCase(): kept without force, or lifted with its period released. The others stay for the
    // readings purge (orphanBlockGone), detached from the case they no longer have (blocks_case_or_purged_ck).
    blocks: await deleted(
      tx,
      sql`delete from ${blocks} where case_id = any(${ids}) and (ended_at is null or retroactive)`,
    ),
    blocks_detached: await updated(
      tx,
      sql`update ${blocks} set case_id = null, case_purged_at = ${asOf}::timestamptz where case_id = any(${ids})`,
    ),
    doubt_cases: await deleted(tx, sql`delete from ${doubtCases} where id = any(${ids})`),
  };
  return { caseIds, removed, auditIds };
}

// ---------------------------------------------------------------- supplier reports (GT-9)

/** supplierReportRetention() of domain/retention.ts in SQL, for the report row `s`. */
export function supplierReportVerdictSql(cutoff: string): SQL {
  return sql`(case
    when s.reported_at >= ${cutoff}::timestamptz then 'within_period'
    when exists (select 1 from ${doubtCases} dc where dc.id = s.case_id or dc.supplier_report_id = s.id) then 'case_kept'
    when exists (select 1 from ${reviewSignals} rs join ${improvementReviews} r on r.id = rs.review_id
                  where rs.kind = 'supplier_report' and rs.signal_id = s.id and r.closed_at is null) then 'open_review'
    else 'purge' end)`;
}

export async function supplierReportVerdicts(
  db: DbOrTx,
  ids: readonly string[],
  cutoff: string,
): Promise<Map<string, SupplierReportRetentionVerdict>> {
  const r = rows<{ id: string; verdict: SupplierReportRetentionVerdict }>(
    await db.execute(sql`
      select s.id, ${supplierReportVerdictSql(cutoff)} as verdict
        from ${supplierReports} s where s.id = any(${pgArray(ids)}::uuid[])`),
  );
  return new Map(r.map((x) => [x.id, x.verdict]));
}

/** One batch of supplier reports past their period, with the audit entries to erase. */
export async function purgeSupplierReportBatch(
  tx: DbOrTx,
  cutoff: string,
  limit: number,
): Promise<{ ids: string[]; auditIds: number[] }> {
  const picked = rows<{ id: string }>(
    await tx.execute(sql`
      select s.id from ${supplierReports} s
       where s.reported_at < ${cutoff}::timestamptz and ${supplierReportVerdictSql(cutoff)} = 'purge'
       order by s.reported_at, s.id
       limit ${limit}
       for update of s skip locked`),
  );
  const ids = picked.map((r) => r.id);
  if (ids.length === 0) return { ids, auditIds: [] };
  const audit = rows<{ id: string | number }>(
    await tx.execute(sql`
      select a.id from ${auditLog} a
       where a.entity_type = 'supplier_report' and a.entity_id = any(${pgArray(ids)}::text[])
         and a.details_erased_at is null`),
  );
  await tx.execute(sql`delete from ${supplierReports} where id = any(${pgArray(ids)}::uuid[])`);
  return { ids, auditIds: audit.map((x) => Number(x.id)) };
}

// ---------------------------------------------------------------- access register (DC-1)
// The register is not deleted by row: its months are dropped whole (services/register/partitions.ts).

// ---------------------------------------------------------------- readings (AL-1)

/**
 * One batch of reading rows before the first kept day (readingCutoff): day rows by the primary key's leading
 * day, rejects by their (day, connection) index, imports that have no reject left and finished before the kept
 * day began, and the lifted, unreleased blocks of purged cases whose blocked period has no readings left
 * (orphanBlockGone).
 */
export async function purgeReadingBatch(
  tx: DbOrTx,
  firstKeptDay: string,
  firstKeptStart: Date,
  limit: number,
): Promise<Record<string, number>> {
  const start = firstKeptStart.toISOString();
  return {
    meter_reading_days: await deleted(
      tx,
      sql`delete from ${meterReadingDays} t using doomed d where t.day = d.day and t.connection_ean = d.connection_ean`,
      sql`doomed as (
        select day, connection_ean from ${meterReadingDays} where day < ${firstKeptDay}::date
         order by day, connection_ean limit ${limit}
      ),`,
    ),
    meter_reading_rejects: await deleted(
      tx,
      sql`delete from ${meterReadingRejects} t using doomed d where t.id = d.id`,
      sql`doomed as (select id from ${meterReadingRejects} where day < ${firstKeptDay}::date limit ${limit}),`,
    ),
    reading_imports: await deleted(
      tx,
      sql`delete from ${readingImports} t using doomed d where t.id = d.id`,
      sql`doomed as (
        select i.id from ${readingImports} i
         where i.finished_at < ${start}::timestamptz
           and not exists (select 1 from ${meterReadingRejects} x where x.import_id = i.id)
         limit ${limit}
      ),`,
    ),
    blocks: await deleted(
      tx,
      sql`delete from ${blocks} t using doomed d where t.id = d.id`,
      sql`doomed as (
        select b.id from ${blocks} b
         where b.case_id is null and b.ended_at is not null and not b.retroactive
           and b.ended_at <= ${start}::timestamptz
         limit ${limit}
      ),`,
    ),
  };
}

// ---------------------------------------------------------------- audit details of records without a period

export interface AuditCursor {
  at: string;
  id: number;
}

/**
 * One batch of audit entries older than `cutoff` whose details are still there, after `cursor` (entries the
 * purge refuses to erase — altered ones — are passed, not picked again and again). Left alone: the purge's own
 * entries and the chain's (no personal data; they say what was erased), and entries that belong to a record
 * still kept — a case or supplier report (they go with it), a block of a kept case, a connection step of a kept
 * case, an open GT-5 review.
 */
export async function expiredAuditDetails(
  tx: DbOrTx,
  cutoff: Date,
  cursor: AuditCursor | null,
  limit: number,
): Promise<{ ids: number[]; last: AuditCursor | null }> {
  const after = cursor ? sql`and (a.at, a.id) > (${cursor.at}::timestamptz, ${cursor.id}::bigint)` : sql``;
  const r = rows<{ id: string | number; at: string }>(
    await tx.execute(sql`
      select a.id, to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
        from ${auditLog} a
       where a.details_erased_at is null and a.at < ${cutoff.toISOString()}::timestamptz ${after}
         and a.action not like 'retention.%' and a.action not like 'audit.%'
         and (case a.entity_type
                when 'case' then not exists (select 1 from ${doubtCases} c where c.id = ${asUuid(sql`a.entity_id`)})
                when 'supplier_report' then
                  not exists (select 1 from ${supplierReports} s where s.id = ${asUuid(sql`a.entity_id`)})
                when 'block' then
                  not exists (select 1 from ${blocks} b join ${doubtCases} c on c.id = b.case_id
                               where b.id = ${asUuid(sql`a.entity_id`)})
                when 'improvement_review' then
                  not exists (select 1 from ${improvementReviews} r
                               where r.id = ${asUuid(sql`a.entity_id`)} and r.closed_at is null)
                when 'connection' then
                  not exists (select 1 from ${doubtCases} c where c.id = ${asUuid(sql`a.data->>'caseId'`)})
                else true end)
       order by a.at, a.id
       limit ${limit}`),
  );
  const last = r.at(-1);
  return { ids: r.map((x) => Number(x.id)), last: last ? { at: last.at, id: Number(last.id) } : cursor };
}
