CREATE SEQUENCE "public"."doubt_case_reference_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "contact_persons" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"party_id" uuid NOT NULL,
	"contact_group" text NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"phone" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"removed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "parties" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"gln" varchar(13) NOT NULL,
	"name" text NOT NULL,
	"roles" text[] NOT NULL,
	"admitted" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key_hash" varchar(64) NOT NULL,
	"prefix" varchar(12) NOT NULL,
	"label" text NOT NULL,
	"holder_name" text,
	"role" text NOT NULL,
	"party_id" uuid,
	"grid_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"actor_role" text,
	"actor_party_id" uuid,
	"action" text NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"actor_name" text,
	"chain_position" bigint DEFAULT 0 NOT NULL,
	"prev_hash" text DEFAULT '' NOT NULL,
	"hash" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "allocation_methods" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"method" text NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"case_id" uuid,
	"reason" text NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connection_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"kind" text NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"previous_supplier_id" uuid,
	"new_supplier_id" uuid,
	"previous_grid_user_id" uuid,
	"new_grid_user_id" uuid,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"ean" varchar(18) PRIMARY KEY NOT NULL,
	"grid_operator_id" uuid NOT NULL,
	"grid_area" text NOT NULL,
	"supplier_id" uuid,
	"balance_responsible_party_id" uuid,
	"grid_user_id" uuid,
	"grid_user_since" timestamp (3) with time zone,
	"capacity_kw" numeric(10, 3) NOT NULL,
	"remote_reading_opt_out" boolean DEFAULT false NOT NULL,
	"profile_category" text DEFAULT 'E1A' NOT NULL,
	"annual_standard_volume_kwh" integer DEFAULT 3000 NOT NULL,
	"feed_in_profile_category" text DEFAULT 'PV' NOT NULL,
	"annual_standard_feed_in_kwh" integer DEFAULT 0 NOT NULL,
	"allocation_method" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "grid_users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zero_allocations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"case_id" uuid NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text
);
--> statement-breakpoint
CREATE TABLE "mandates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"party_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"data_kinds" text[] NOT NULL,
	"purpose" text NOT NULL,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_to" timestamp with time zone NOT NULL,
	"history_included" boolean DEFAULT false NOT NULL,
	"granted_via" text NOT NULL,
	"granted_by_name" text NOT NULL,
	"granted_by_is_grid_user" boolean NOT NULL,
	"status" text NOT NULL,
	"confirmed_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"created_by" text DEFAULT 'system' NOT NULL,
	CONSTRAINT "mandates_period_ck" CHECK ("mandates"."valid_to" > "mandates"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "access_register" (
	"id" uuid PRIMARY KEY NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	"request_id" text NOT NULL,
	"party_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"data_kind" text NOT NULL,
	"period_from" timestamp with time zone NOT NULL,
	"period_to" timestamp with time zone NOT NULL,
	"allowed" boolean NOT NULL,
	"reason_code" text NOT NULL,
	"rule" text NOT NULL,
	"mandate_id" uuid,
	"block_id" uuid,
	"kind" text DEFAULT 'request' NOT NULL,
	"delivery_of" uuid,
	"actor" text,
	"purpose" text
);
--> statement-breakpoint
CREATE TABLE "blocks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"party_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"case_id" uuid NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"lift_reason" text,
	"retroactive" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acm_notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid,
	"review_id" uuid,
	"sent_at" timestamp with time zone NOT NULL,
	"sent_by" text NOT NULL,
	"report" jsonb NOT NULL,
	"message_id" text,
	"dedupe_key" text NOT NULL,
	"signal_count" bigint
);
--> statement-breakpoint
CREATE TABLE "case_history_archives" (
	"case_id" uuid PRIMARY KEY NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"event_count" integer NOT NULL,
	"history" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "case_responses" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"party_id" uuid NOT NULL,
	"status" text DEFAULT 'staged' NOT NULL,
	"refused_reason" text,
	"findings" text NOT NULL,
	"complaint_handling" text NOT NULL,
	"submitted_at" timestamp with time zone NOT NULL,
	"submitted_by" text NOT NULL,
	"evidence_filename" text,
	"evidence_content_type" text,
	"evidence_size" integer,
	"evidence_sha256" varchar(64),
	"evidence_content" "bytea",
	"evidence_destroyed_at" timestamp with time zone,
	"judgement" text,
	"judgement_reason" text,
	"judged_at" timestamp with time zone,
	"judged_by" text
);
--> statement-breakpoint
CREATE TABLE "doubt_cases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"reference" text NOT NULL,
	"grid_operator_id" uuid NOT NULL,
	"party_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"channel" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"reporter_name" text NOT NULL,
	"reporter_contact" text,
	"reporter_reference" text,
	"description" text NOT NULL,
	"isma" boolean NOT NULL,
	"signal_class" text,
	"external_reference" text,
	"idempotency_key" text,
	"supplier_report_id" uuid,
	"status" text NOT NULL,
	"contact_due_at" timestamp with time zone NOT NULL,
	"contacted_at" timestamp with time zone,
	"response_due_at" timestamp with time zone,
	"responded_at" timestamp with time zone,
	"judged_at" timestamp with time zone,
	"unblock_due_at" timestamp with time zone,
	"unblocked_at" timestamp with time zone,
	"allocation_reverted_at" timestamp with time zone,
	"contact_alerted_at" timestamp with time zone,
	"contact_miss_recorded_at" timestamp with time zone,
	"contact_message_id" text,
	"contact_method" text,
	"contact_attempts" integer DEFAULT 0 NOT NULL,
	"contact_last_error" text,
	"contact_last_attempt_at" timestamp with time zone,
	"contact_group_empty_at" timestamp with time zone,
	"stated_response_due_at" timestamp with time zone,
	"profile_effective_from" timestamp with time zone,
	"acm_notified_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"closed_by" text,
	"close_reason" text,
	"legal_hold_since" timestamp with time zone,
	"legal_hold_by" text,
	"legal_hold_authority" text,
	"legal_hold_reason" text,
	"workflow_started_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "improvement_reviews" (
	"id" uuid PRIMARY KEY NOT NULL,
	"party_id" uuid NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"window_days" integer NOT NULL,
	"signals_at_open" integer NOT NULL,
	"threshold" integer NOT NULL,
	"follow_up_days" integer NOT NULL,
	"contacted_at" timestamp with time zone,
	"follow_up_from" timestamp with time zone,
	"follow_up_until" timestamp with time zone,
	"signals_after_follow_up" integer,
	"status" text NOT NULL,
	"agreement_rule" text DEFAULT 'majority' NOT NULL,
	"voting_until" timestamp with time zone,
	"agreed_at" timestamp with time zone,
	"commitment" text,
	"commitment_recorded_at" timestamp with time zone,
	"commitment_recorded_by" text,
	"decision" text,
	"decision_reason" text,
	"decided_by" text,
	"decided_by_name" text,
	"decided_by_grid_operator_id" uuid,
	"decided_at" timestamp with time zone,
	"closed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "supplier_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"party_id" uuid NOT NULL,
	"grid_operator_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"signal_received_at" timestamp with time zone NOT NULL,
	"reported_at" timestamp with time zone NOT NULL,
	"reported_within_one_working_day" boolean NOT NULL,
	"customer_satisfaction" text NOT NULL,
	"signal_class" text,
	"findings" text NOT NULL,
	"actions" text NOT NULL,
	"case_id" uuid,
	"notified_at" timestamp with time zone,
	"notification_started_at" timestamp with time zone,
	"created_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "breach_assessments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"case_id" uuid NOT NULL,
	"grid_operator_id" uuid NOT NULL,
	"party_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"trigger" text NOT NULL,
	"aware_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"prefill" jsonb NOT NULL,
	"clock" text DEFAULT 'running' NOT NULL,
	"reminders_sent" integer DEFAULT 0 NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	"decided_by_name" text,
	"notify_ap" boolean,
	"ap_reason" text,
	"inform_grid_user" boolean,
	"grid_user_reason" text,
	"assessment" text,
	"delay_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "allocation_aggregates" (
	"run_id" uuid NOT NULL,
	"cell_id" integer NOT NULL,
	"direction" text NOT NULL,
	"qh" smallint NOT NULL,
	"volume_wh" numeric NOT NULL,
	"connections" integer NOT NULL,
	"measured" integer NOT NULL,
	"profile" integer NOT NULL,
	"estimated" integer NOT NULL,
	"zero" integer NOT NULL,
	CONSTRAINT "allocation_aggregates_run_id_cell_id_direction_qh_pk" PRIMARY KEY("run_id","cell_id","direction","qh")
);
--> statement-breakpoint
CREATE TABLE "allocation_cells" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "allocation_cells_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"balance_responsible_party_id" uuid NOT NULL,
	"supplier_id" uuid NOT NULL,
	"grid_area" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "allocation_connection_results" (
	"run_id" uuid NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"qh_from" smallint NOT NULL,
	"qh_to" smallint NOT NULL,
	"cell_id" integer,
	"offtake_method" text NOT NULL,
	"offtake_reason" text,
	"feed_in_method" text NOT NULL,
	"feed_in_reason" text,
	"offtake_profile_category" text NOT NULL,
	"feed_in_profile_category" text NOT NULL,
	"annual_offtake_kwh" integer NOT NULL,
	"annual_feed_in_kwh" integer NOT NULL,
	CONSTRAINT "allocation_connection_results_run_id_connection_ean_qh_from_pk" PRIMARY KEY("run_id","connection_ean","qh_from")
);
--> statement-breakpoint
CREATE TABLE "allocation_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"grid_operator_id" uuid NOT NULL,
	"day" date NOT NULL,
	"version" integer NOT NULL,
	"status" text NOT NULL,
	"trigger" text NOT NULL,
	"request_key" text NOT NULL,
	"reason" text NOT NULL,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"profile_set_id" uuid,
	"previous_run_id" uuid,
	"summary" jsonb,
	"difference" jsonb,
	"failure" text
);
--> statement-breakpoint
CREATE TABLE "connection_party_history" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"supplier_id" uuid,
	"balance_responsible_party_id" uuid,
	"grid_area" text NOT NULL,
	"reason" text NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "meter_reading_days" (
	"day" date NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"offtake_wh" bigint[] NOT NULL,
	"feed_in_wh" bigint[] NOT NULL,
	"missing" smallint NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meter_reading_days_day_connection_ean_pk" PRIMARY KEY("day","connection_ean")
);
--> statement-breakpoint
CREATE TABLE "meter_reading_rejects" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"import_id" uuid NOT NULL,
	"day" date NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"register" text,
	"code" text NOT NULL,
	"message" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profile_fractions" (
	"profile_set_id" uuid NOT NULL,
	"category" text NOT NULL,
	"day" date NOT NULL,
	"fractions" numeric[] NOT NULL,
	CONSTRAINT "profile_fractions_profile_set_id_category_day_pk" PRIMARY KEY("profile_set_id","category","day")
);
--> statement-breakpoint
CREATE TABLE "profile_sets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"year" integer NOT NULL,
	"source" text NOT NULL,
	"categories" text[] NOT NULL,
	"loaded_by" text NOT NULL,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reading_imports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source" text NOT NULL,
	"actor" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone NOT NULL,
	"summary" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "review_signals" (
	"review_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"signal_id" uuid NOT NULL,
	"reference" text,
	"grid_operator_id" uuid NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"signal_class" text,
	"status" text,
	CONSTRAINT "review_signals_review_id_kind_signal_id_pk" PRIMARY KEY("review_id","kind","signal_id")
);
--> statement-breakpoint
CREATE TABLE "review_votes" (
	"review_id" uuid NOT NULL,
	"grid_operator_id" uuid NOT NULL,
	"agree" boolean NOT NULL,
	"reason" text NOT NULL,
	"voted_by" text NOT NULL,
	"voted_by_name" text NOT NULL,
	"voted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "review_votes_review_id_grid_operator_id_pk" PRIMARY KEY("review_id","grid_operator_id")
);
--> statement-breakpoint
ALTER TABLE "contact_persons" ADD CONSTRAINT "contact_persons_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_grid_user_id_grid_users_id_fk" FOREIGN KEY ("grid_user_id") REFERENCES "public"."grid_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "allocation_methods" ADD CONSTRAINT "allocation_methods_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_events" ADD CONSTRAINT "connection_events_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_supplier_id_parties_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_balance_responsible_party_id_parties_id_fk" FOREIGN KEY ("balance_responsible_party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_grid_user_id_grid_users_id_fk" FOREIGN KEY ("grid_user_id") REFERENCES "public"."grid_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "zero_allocations" ADD CONSTRAINT "zero_allocations_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mandates" ADD CONSTRAINT "mandates_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mandates" ADD CONSTRAINT "mandates_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "case_history_archives" ADD CONSTRAINT "case_history_archives_case_id_doubt_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."doubt_cases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "case_responses" ADD CONSTRAINT "case_responses_case_id_doubt_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."doubt_cases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "doubt_cases" ADD CONSTRAINT "doubt_cases_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "doubt_cases" ADD CONSTRAINT "doubt_cases_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "doubt_cases" ADD CONSTRAINT "doubt_cases_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "improvement_reviews" ADD CONSTRAINT "improvement_reviews_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_reports" ADD CONSTRAINT "supplier_reports_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_reports" ADD CONSTRAINT "supplier_reports_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_reports" ADD CONSTRAINT "supplier_reports_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "breach_assessments" ADD CONSTRAINT "breach_assessments_case_id_doubt_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."doubt_cases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "breach_assessments" ADD CONSTRAINT "breach_assessments_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "breach_assessments" ADD CONSTRAINT "breach_assessments_party_id_parties_id_fk" FOREIGN KEY ("party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "allocation_cells" ADD CONSTRAINT "allocation_cells_balance_responsible_party_id_parties_id_fk" FOREIGN KEY ("balance_responsible_party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "allocation_cells" ADD CONSTRAINT "allocation_cells_supplier_id_parties_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "allocation_runs" ADD CONSTRAINT "allocation_runs_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "allocation_runs" ADD CONSTRAINT "allocation_runs_profile_set_id_profile_sets_id_fk" FOREIGN KEY ("profile_set_id") REFERENCES "public"."profile_sets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_party_history" ADD CONSTRAINT "connection_party_history_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_party_history" ADD CONSTRAINT "connection_party_history_supplier_id_parties_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_party_history" ADD CONSTRAINT "connection_party_history_balance_responsible_party_id_parties_id_fk" FOREIGN KEY ("balance_responsible_party_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meter_reading_days" ADD CONSTRAINT "meter_reading_days_connection_ean_connections_ean_fk" FOREIGN KEY ("connection_ean") REFERENCES "public"."connections"("ean") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meter_reading_rejects" ADD CONSTRAINT "meter_reading_rejects_import_id_reading_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."reading_imports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_fractions" ADD CONSTRAINT "profile_fractions_profile_set_id_profile_sets_id_fk" FOREIGN KEY ("profile_set_id") REFERENCES "public"."profile_sets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_signals" ADD CONSTRAINT "review_signals_review_id_improvement_reviews_id_fk" FOREIGN KEY ("review_id") REFERENCES "public"."improvement_reviews"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_signals" ADD CONSTRAINT "review_signals_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_votes" ADD CONSTRAINT "review_votes_review_id_improvement_reviews_id_fk" FOREIGN KEY ("review_id") REFERENCES "public"."improvement_reviews"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_votes" ADD CONSTRAINT "review_votes_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_persons_party_group_idx" ON "contact_persons" USING btree ("party_id","contact_group");--> statement-breakpoint
CREATE UNIQUE INDEX "contact_persons_active_uq" ON "contact_persons" USING btree ("party_id","contact_group",lower("email")) WHERE "contact_persons"."removed_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "parties_gln_uq" ON "parties" USING btree ("gln");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_uq" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_party_idx" ON "api_keys" USING btree ("party_id");--> statement-breakpoint
CREATE INDEX "audit_log_entity_idx" ON "audit_log" USING btree ("entity_type","entity_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_chain_uq" ON "audit_log" USING btree ("chain_position");--> statement-breakpoint
CREATE INDEX "allocation_methods_conn_idx" ON "allocation_methods" USING btree ("connection_ean","effective_from");--> statement-breakpoint
CREATE UNIQUE INDEX "allocation_methods_case_uq" ON "allocation_methods" USING btree ("case_id") WHERE "allocation_methods"."case_id" is not null;--> statement-breakpoint
CREATE INDEX "connection_events_conn_idx" ON "connection_events" USING btree ("connection_ean","effective_at");--> statement-breakpoint
CREATE INDEX "connections_grid_operator_idx" ON "connections" USING btree ("grid_operator_id");--> statement-breakpoint
CREATE INDEX "connections_grid_user_idx" ON "connections" USING btree ("grid_user_id");--> statement-breakpoint
CREATE INDEX "connections_supplier_idx" ON "connections" USING btree ("supplier_id");--> statement-breakpoint
CREATE UNIQUE INDEX "zero_allocations_case_uq" ON "zero_allocations" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "zero_allocations_conn_idx" ON "zero_allocations" USING btree ("connection_ean");--> statement-breakpoint
CREATE INDEX "mandates_party_conn_idx" ON "mandates" USING btree ("party_id","connection_ean");--> statement-breakpoint
CREATE INDEX "mandates_conn_idx" ON "mandates" USING btree ("connection_ean");--> statement-breakpoint
CREATE INDEX "access_register_conn_idx" ON "access_register" USING btree ("connection_ean","decided_at");--> statement-breakpoint
CREATE UNIQUE INDEX "blocks_case_uq" ON "blocks" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "blocks_party_conn_idx" ON "blocks" USING btree ("party_id","connection_ean");--> statement-breakpoint
CREATE UNIQUE INDEX "acm_notifications_dedupe_uq" ON "acm_notifications" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "case_responses_case_idx" ON "case_responses" USING btree ("case_id");--> statement-breakpoint
CREATE UNIQUE INDEX "doubt_cases_reference_uq" ON "doubt_cases" USING btree ("reference");--> statement-breakpoint
CREATE UNIQUE INDEX "doubt_cases_idem_uq" ON "doubt_cases" USING btree ("grid_operator_id","idempotency_key") WHERE "doubt_cases"."idempotency_key" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "doubt_cases_extref_uq" ON "doubt_cases" USING btree ("grid_operator_id","external_reference") WHERE "doubt_cases"."external_reference" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "doubt_cases_supplier_report_uq" ON "doubt_cases" USING btree ("supplier_report_id") WHERE "doubt_cases"."supplier_report_id" is not null;--> statement-breakpoint
CREATE INDEX "doubt_cases_party_idx" ON "doubt_cases" USING btree ("party_id","received_at");--> statement-breakpoint
CREATE INDEX "doubt_cases_operator_idx" ON "doubt_cases" USING btree ("grid_operator_id","status");--> statement-breakpoint
CREATE INDEX "doubt_cases_received_idx" ON "doubt_cases" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "improvement_reviews_open_uq" ON "improvement_reviews" USING btree ("party_id") WHERE "improvement_reviews"."closed_at" is null;--> statement-breakpoint
CREATE INDEX "supplier_reports_party_idx" ON "supplier_reports" USING btree ("party_id","signal_received_at");--> statement-breakpoint
CREATE INDEX "supplier_reports_operator_idx" ON "supplier_reports" USING btree ("grid_operator_id","reported_at");--> statement-breakpoint
CREATE UNIQUE INDEX "breach_assessments_case_uq" ON "breach_assessments" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "breach_assessments_gop_idx" ON "breach_assessments" USING btree ("grid_operator_id");--> statement-breakpoint
CREATE UNIQUE INDEX "allocation_cells_uq" ON "allocation_cells" USING btree ("balance_responsible_party_id","supplier_id","grid_area");--> statement-breakpoint
CREATE INDEX "allocation_cells_supplier_idx" ON "allocation_cells" USING btree ("supplier_id");--> statement-breakpoint
CREATE UNIQUE INDEX "allocation_runs_version_uq" ON "allocation_runs" USING btree ("grid_operator_id","day","version");--> statement-breakpoint
CREATE UNIQUE INDEX "allocation_runs_request_key_uq" ON "allocation_runs" USING btree ("request_key");--> statement-breakpoint
CREATE INDEX "allocation_runs_status_idx" ON "allocation_runs" USING btree ("status") WHERE "allocation_runs"."status" in ('requested', 'running');--> statement-breakpoint
CREATE INDEX "connection_party_history_conn_idx" ON "connection_party_history" USING btree ("connection_ean","effective_from");--> statement-breakpoint
CREATE INDEX "connection_party_history_from_idx" ON "connection_party_history" USING btree ("effective_from");--> statement-breakpoint
CREATE INDEX "meter_reading_rejects_day_conn_idx" ON "meter_reading_rejects" USING btree ("day","connection_ean");--> statement-breakpoint
CREATE INDEX "profile_sets_year_idx" ON "profile_sets" USING btree ("year","loaded_at");--> statement-breakpoint
CREATE INDEX "review_votes_operator_idx" ON "review_votes" USING btree ("grid_operator_id");