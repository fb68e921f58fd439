-- domain/case.ts nextDueAt: an answered open case keeps the end of its 72 hours (GT-3) as its next instant.
-- Drop and add (not SET EXPRESSION, which needs PostgreSQL 17); the column's two indexes go with it and are made again.
ALTER TABLE "doubt_cases" DROP COLUMN "next_due_at";--> statement-breakpoint
ALTER TABLE "doubt_cases" ADD COLUMN "next_due_at" timestamp with time zone GENERATED ALWAYS AS (least(
        case when status not in ('closed_mandate_accepted', 'closed_mandate_not_demonstrated', 'closed_wrongful_block', 'closed_withdrawn') and contacted_at is null then contact_due_at end,
        case when status not in ('closed_mandate_accepted', 'closed_mandate_not_demonstrated', 'closed_wrongful_block', 'closed_withdrawn') then response_due_at end,
        case when unblocked_at is null then unblock_due_at end)) STORED;--> statement-breakpoint
CREATE INDEX "doubt_cases_operator_next_due_idx" ON "doubt_cases" USING btree ("grid_operator_id","next_due_at","id");--> statement-breakpoint
CREATE INDEX "doubt_cases_next_due_idx" ON "doubt_cases" USING btree ("next_due_at","id");
--> statement-breakpoint
-- The unjudged responses the work queue asks for (db/repositories/work-items.ts), without reading the judged ones.
CREATE INDEX "case_responses_awaiting_idx" ON "case_responses" USING btree ("case_id") WHERE "case_responses"."status" = 'received' and "case_responses"."judgement" is null;