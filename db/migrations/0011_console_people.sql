CREATE TABLE "console_sessions" (
	"sid" text PRIMARY KEY NOT NULL,
	"person_id" uuid,
	"oidc_sid" text,
	"issuer" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"idle_expires_at" timestamp with time zone NOT NULL,
	"absolute_expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "people" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"issuer" text NOT NULL,
	"subject" text NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"grid_operator_id" uuid NOT NULL,
	"roles" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_sign_in_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "console_sessions" ADD CONSTRAINT "console_sessions_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "people" ADD CONSTRAINT "people_grid_operator_id_parties_id_fk" FOREIGN KEY ("grid_operator_id") REFERENCES "public"."parties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_sessions_person_idx" ON "console_sessions" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "console_sessions_oidc_sid_idx" ON "console_sessions" USING btree ("issuer","oidc_sid");--> statement-breakpoint
CREATE INDEX "console_sessions_expiry_idx" ON "console_sessions" USING btree ("idle_expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "people_issuer_subject_uq" ON "people" USING btree ("issuer","subject");--> statement-breakpoint
-- Issue 19: the chain trigger names a person (actor 'user:<id>', the console's people) as it names an API key's
-- holder: actor_name from people.name; actor_role stays what the act was done as (the API passes it). Otherwise
-- form 2 of 0004_audit_details_erasable unchanged.
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head record;
  holder record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
  IF NEW.actor LIKE 'api-key:%' THEN
    SELECT coalesce(k.holder_name, k.label) AS name, k.role INTO holder
      FROM api_keys k WHERE k.id::text = substr(NEW.actor, 9);
    IF FOUND THEN
      NEW.actor_name := coalesce(NEW.actor_name, holder.name);
      NEW.actor_role := coalesce(NEW.actor_role, holder.role);
    END IF;
  ELSIF NEW.actor LIKE 'user:%' THEN
    SELECT p.name INTO holder FROM people p WHERE p.id::text = substr(NEW.actor, 6);
    IF FOUND THEN
      NEW.actor_name := coalesce(NEW.actor_name, holder.name);
    END IF;
  END IF;
  SELECT a.chain_position, a.hash INTO head FROM audit_log a ORDER BY a.chain_position DESC LIMIT 1;
  NEW.chain_position := coalesce(head.chain_position, 0) + 1;
  NEW.prev_hash := coalesce(head.hash, repeat('0', 64));
  NEW.legacy_hash := NULL;
  NEW.details_erased_at := NULL;
  NEW.details_erased_by := NULL;
  NEW.details_salt := audit_details_salt();
  NEW.details_digest := audit_details_digest(NEW.details_salt, NEW.actor_name, NEW.data);
  NEW.hash := audit_entry_hash(NEW.chain_position, NEW.prev_hash, NEW.id, NEW.at, NEW.actor, NEW.actor_role,
    NEW.actor_party_id, NEW.action, NEW.entity_type, NEW.entity_id, NEW.details_digest, NEW.legacy_hash);
  RETURN NEW;
END
$$;
