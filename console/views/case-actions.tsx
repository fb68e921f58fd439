/**
 * The case page's remaining actions (issue 19): open a response's evidence, ask the party for more evidence
 * (GT-3), a legal hold and its release (GT-8), inform the ACM (GT-6), withdraw with a reason code (GT-7). Each is a
 * plain POST form with its CSRF token and Idempotency-Key, offered only where the API would take it (the rule's
 * home is domain/case.ts; the API asks it again and its refusal comes back as a notice).
 */
import { randomUUID } from 'node:crypto';
import type { CaseDetailDto } from '../../api/schemas/cases.js';
import {
  checkCaseOpen,
  checkEvidenceRequest,
  LEGAL_HOLD_AUTHORITIES,
  WITHDRAWAL_REASONS,
  type CaseStatus,
} from '../../domain/case.js';
import { t, type Lang } from '../../lib/messages.js';
import { when } from '../format.js';
import { Csrf, type PageContext } from './layout.js';

type Response = CaseDetailDto['responses'][number];

/** Who may open evidence and set a legal hold: the API's requireRole('case-handler', 'compliance'). */
const EVIDENCE_READERS = new Set(['case-handler', 'compliance']);

const facts = (c: CaseDetailDto) => ({ caseId: c.id, reference: c.reference, status: c.status as CaseStatus });

/** What the page offers: the domain's answer for the API's routes (api/routes/cases/actions.ts, evidence.ts). */
export function offers(ctx: PageContext, c: CaseDetailDto, now: number) {
  const handler = ctx.person?.role === 'case-handler';
  const open = checkCaseOpen(facts(c)) === null;
  // GT-3: only while the party's 72 hours run (after contact, before they end); the request does not restart them.
  const requestable =
    checkEvidenceRequest(
      {
        ...facts(c),
        responseDueAt:
          c.deadlines.contact.doneAt && c.deadlines.response.dueAt ? new Date(c.deadlines.response.dueAt) : null,
        responseWindowClosed: c.workflow?.responseWindowClosed ?? false,
      },
      new Date(now),
    ) === null;
  const holder = EVIDENCE_READERS.has(ctx.person?.role ?? '') && c.legalHold !== undefined;
  return {
    evidenceRequest: handler && requestable,
    withdraw: handler && open,
    // GT-6: the ACM may be informed at any time, also after the case closed.
    acm: handler,
    placeHold: holder && c.legalHold === null,
    releaseHold: holder && c.legalHold !== null && c.legalHold !== undefined,
  };
}

/** A response's evidence: a link to open it (streamed from the API, audited there) while the copy is held. */
export function EvidenceCell({ ctx, c, r }: { ctx: PageContext; c: CaseDetailDto; r: Response }) {
  const { lang } = ctx;
  const e = r.evidence;
  if (!e) return <>—</>;
  if (!e.held) return <>{t(lang, 'caseAct.evidence.destroyed', { filename: e.filename, sha256: e.sha256 })}</>;
  const meta = t(lang, 'caseAct.evidence.meta', { type: e.contentType, size: e.size });
  if (!EVIDENCE_READERS.has(ctx.person?.role ?? '')) return <>{`${e.filename} (${meta})`}</>;
  return (
    <>
      <a href={`/console/cases/${c.id}/responses/${r.id}/evidence`} class="evidence">
        {t(lang, 'caseAct.evidence.open', { filename: e.filename })}
      </a>{' '}
      ({meta})
    </>
  );
}

function EvidenceRequestForm({ ctx, c }: { ctx: PageContext; c: CaseDetailDto }) {
  const { lang } = ctx;
  return (
    <form method="post" action={`/console/cases/${c.id}/evidence-requests`} class="card" aria-labelledby="act-request">
      <h3 id="act-request">{t(lang, 'caseAct.request.title')}</h3>
      <Csrf ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      <p>{t(lang, 'caseAct.request.hint', { due: when(c.deadlines.response.dueAt, lang) })}</p>
      <label for="request-message">{t(lang, 'caseAct.request.message')}</label>
      <textarea id="request-message" name="message" rows={3} required maxlength={10000}></textarea>
      <button type="submit">{t(lang, 'caseAct.request.submit')}</button>
    </form>
  );
}

function EvidenceRequests({ lang, c }: { lang: Lang; c: CaseDetailDto }) {
  if (c.evidenceRequests.length === 0) return null;
  return (
    <>
      <h3>{t(lang, 'caseAct.request.list')}</h3>
      <ul class="requests">
        {c.evidenceRequests.map((r) => (
          <li key={r.id}>
            <time dateTime={r.requestedAt}>{when(r.requestedAt, lang)}</time>:{' '}
            {r.mailedAt
              ? t(lang, 'caseAct.request.mailed', { at: when(r.mailedAt, lang) })
              : t(lang, 'caseAct.request.notMailed')}
            <blockquote>{r.message}</blockquote>
          </li>
        ))}
      </ul>
    </>
  );
}

function LegalHold({
  ctx,
  c,
  place,
  release,
}: {
  ctx: PageContext;
  c: CaseDetailDto;
  place: boolean;
  release: boolean;
}) {
  const { lang } = ctx;
  const hold = c.legalHold;
  if (hold === undefined) return null;
  return (
    <section aria-labelledby="act-hold">
      <h3 id="act-hold">{t(lang, 'caseAct.hold.title')}</h3>
      <p class="hold">
        {hold
          ? t(lang, 'caseAct.hold.inForce', {
              since: when(hold.since, lang),
              authority: t(lang, `caseAct.hold.authority.${hold.authority}`),
              reason: hold.reason,
            })
          : t(lang, 'caseAct.hold.none')}
      </p>
      {place && (
        <form method="post" action={`/console/cases/${c.id}/legal-hold`} class="card">
          <Csrf ctx={ctx} />
          <input type="hidden" name="idempotencyKey" value={randomUUID()} />
          <label for="hold-authority">{t(lang, 'caseAct.hold.authority')}</label>
          <select id="hold-authority" name="authority" required>
            {LEGAL_HOLD_AUTHORITIES.map((a) => (
              <option key={a} value={a}>
                {t(lang, `caseAct.hold.authority.${a}`)}
              </option>
            ))}
          </select>
          <label for="hold-reason">{t(lang, 'caseAct.hold.reason')}</label>
          <textarea id="hold-reason" name="reason" rows={2} required maxlength={5000}></textarea>
          <button type="submit">{t(lang, 'caseAct.hold.submit')}</button>
        </form>
      )}
      {release && (
        <form method="post" action={`/console/cases/${c.id}/legal-hold/release`} class="card">
          <Csrf ctx={ctx} />
          <input type="hidden" name="idempotencyKey" value={randomUUID()} />
          <label for="hold-release-reason">{t(lang, 'caseAct.hold.releaseReason')}</label>
          <textarea id="hold-release-reason" name="reason" rows={2} required maxlength={5000}></textarea>
          <button type="submit">{t(lang, 'caseAct.hold.releaseSubmit')}</button>
        </form>
      )}
    </section>
  );
}

function AcmForm({ ctx, c }: { ctx: PageContext; c: CaseDetailDto }) {
  const { lang } = ctx;
  return (
    <form method="post" action={`/console/cases/${c.id}/acm-notifications`} class="card" aria-labelledby="act-acm">
      <h3 id="act-acm">{t(lang, 'caseAct.acm.title')}</h3>
      <Csrf ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      {c.acmNotifiedAt && <p>{t(lang, 'caseAct.acm.before', { at: when(c.acmNotifiedAt, lang) })}</p>}
      <label for="acm-message">{t(lang, 'caseAct.acm.message')}</label>
      <textarea id="acm-message" name="message" rows={3} required maxlength={20000}></textarea>
      <button type="submit">{t(lang, 'caseAct.acm.submit')}</button>
    </form>
  );
}

function WithdrawForm({ ctx, c }: { ctx: PageContext; c: CaseDetailDto }) {
  const { lang } = ctx;
  return (
    <form method="post" action={`/console/cases/${c.id}/withdraw`} class="card" aria-labelledby="act-withdraw">
      <h3 id="act-withdraw">{t(lang, 'caseAct.withdraw.title')}</h3>
      <Csrf ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={randomUUID()} />
      <label for="withdraw-code">{t(lang, 'caseAct.withdraw.code')}</label>
      <select id="withdraw-code" name="reasonCode" required>
        {WITHDRAWAL_REASONS.map((r) => (
          <option key={r} value={r}>
            {t(lang, `caseAct.withdraw.code.${r}`)}
          </option>
        ))}
      </select>
      <label for="withdraw-reason">{t(lang, 'caseAct.withdraw.reason')}</label>
      <textarea id="withdraw-reason" name="reason" rows={2} required maxlength={5000}></textarea>
      <button type="submit">{t(lang, 'caseAct.withdraw.submit')}</button>
    </form>
  );
}

/** The actions section: what the API would take now, for this person. */
export function CaseActions({ ctx, c, now }: { ctx: PageContext; c: CaseDetailDto; now: number }) {
  const { lang } = ctx;
  const o = offers(ctx, c, now);
  const any = o.evidenceRequest || o.withdraw || o.acm || c.legalHold !== undefined || c.evidenceRequests.length > 0;
  if (!any) return null;
  return (
    <section aria-labelledby="actions-title" id="actions">
      <h2 id="actions-title">{t(lang, 'caseAct.title')}</h2>
      {c.withdrawalReason && (
        <p>{t(lang, 'caseAct.withdrawn', { code: t(lang, `caseAct.withdraw.code.${c.withdrawalReason}`) })}</p>
      )}
      {o.evidenceRequest && <EvidenceRequestForm ctx={ctx} c={c} />}
      <EvidenceRequests lang={lang} c={c} />
      <LegalHold ctx={ctx} c={c} place={o.placeHold} release={o.releaseHold} />
      {o.acm && <AcmForm ctx={ctx} c={c} />}
      {o.withdraw && <WithdrawForm ctx={ctx} c={c} />}
    </section>
  );
}
