ALTER TABLE "doubt_cases" ADD COLUMN "next_due_at" timestamp with time zone GENERATED ALWAYS AS (least(
        case when status not in ('closed_mandate_accepted', 'closed_mandate_not_demonstrated', 'closed_wrongful_block', 'closed_withdrawn') and contacted_at is null then contact_due_at end,
        case when status not in ('closed_mandate_accepted', 'closed_mandate_not_demonstrated', 'closed_wrongful_block', 'closed_withdrawn') and responded_at is null then response_due_at end,
        case when unblocked_at is null then unblock_due_at end)) STORED;--> statement-breakpoint
CREATE INDEX "doubt_cases_operator_next_due_idx" ON "doubt_cases" USING btree ("grid_operator_id","next_due_at","id");--> statement-breakpoint
CREATE INDEX "doubt_cases_next_due_idx" ON "doubt_cases" USING btree ("next_due_at","id");--> statement-breakpoint
CREATE INDEX "doubt_cases_reference_prefix_idx" ON "doubt_cases" USING btree ("reference" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "doubt_cases_connection_prefix_idx" ON "doubt_cases" USING btree ("connection_ean" varchar_pattern_ops);--> statement-breakpoint
CREATE INDEX "doubt_cases_reporter_reference_prefix_idx" ON "doubt_cases" USING btree ("reporter_reference" text_pattern_ops) WHERE "doubt_cases"."reporter_reference" is not null;