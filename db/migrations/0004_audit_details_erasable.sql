-- Generated (drizzle-kit generate) for the new columns and index, then custom SQL (functions, the re-seal of the
-- existing entries, triggers): drizzle-kit cannot express functions and triggers.
--
-- DC-9 storage limitation: until now audit_entry_hash() covered every column verbatim, personal data included
-- (reporter addresses, notice texts with the grid user's name, notes, evidence file names, key holders' names),
-- so nothing could ever be erased without breaking the chain. From here the entry's details — `data` and
-- `actor_name` — are outside the chain: the chain covers the non-personal columns plus details_digest =
-- SHA-256 over [random per-entry salt, actor_name, data]. Erasing the details (and the salt) leaves the chain
-- verifiable; the salt goes too, so the digest left behind cannot confirm a guessed value.
--
-- Entries written before this migration are re-sealed into the new form. A re-seal recomputes hashes, which by
-- itself would launder any change made to the log before it; so it first verifies the old chain in full and
-- refuses (the migration fails, nothing changes) when any link does not hold: such a log must be looked at by a
-- person, with the previous release's GET /audit/verify, before it is re-sealed. The old hash of each entry is
-- kept (legacy_hash) and covered by the new hash, so an anchor recorded outside the system before the migration
-- (the old head hash) still matches the entry at its position, and that entry cannot be altered unseen. After
-- the re-seal an altered old entry is caught like a new one: its details no longer hash to details_digest, or
-- its other columns no longer hash to hash.
ALTER TABLE "audit_log" ADD COLUMN "details_salt" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "details_digest" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "legacy_hash" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "details_erased_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "details_erased_by" bigint;--> statement-breakpoint
CREATE INDEX "audit_log_unerased_idx" ON "audit_log" USING btree ("at","id") WHERE "audit_log"."details_erased_at" is null;
--> statement-breakpoint
ALTER FUNCTION audit_entry_hash(bigint, text, bigint, timestamptz, text, text, text, uuid, text, text, text, jsonb)
  RENAME TO audit_entry_hash_v1;
--> statement-breakpoint
-- The details' digest: SHA-256 (hex) over the canonical jsonb text of [salt, actor_name, data]. With the salt
-- erased, the digest is a random-looking value that no longer links to anyone.
CREATE FUNCTION audit_details_digest(p_salt text, p_actor_name text, p_data jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(p_salt, p_actor_name, p_data)::text, 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- The hash of one entry (form 2): SHA-256 (hex) over the previous hash, the non-personal columns, the details'
-- digest and, for entries written before this migration, their original hash. Any PostgreSQL recomputes it.
CREATE FUNCTION audit_entry_hash(
  p_chain_position bigint, p_prev_hash text, p_id bigint, p_at timestamptz, p_actor text, p_actor_role text,
  p_actor_party_id uuid, p_action text, p_entity_type text, p_entity_id text, p_details_digest text, p_legacy_hash text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    2, p_chain_position, p_prev_hash, p_id,
    to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    p_actor, p_actor_role, p_actor_party_id, p_action, p_entity_type, p_entity_id, p_details_digest, p_legacy_hash
  )::text, 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- 128 bits from the server's strong random source (gen_random_uuid() needs no extension; 122 random bits each).
CREATE FUNCTION audit_details_salt() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'hex')
$$;
--> statement-breakpoint
-- BEFORE INSERT, form 2: as before (actor named, linked to the head under the advisory lock), and the details
-- salted and digested. An insert cannot pre-set the erasure or legacy columns.
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
--> statement-breakpoint
-- The re-seal of the entries written so far (see the head of this file): verify the old chain, then rewrite
-- each entry in chain order into form 2, keeping its old hash in legacy_hash.
DO $$
DECLARE
  broken record;
  r record;
  prev text := repeat('0', 64);
  salt text;
  digest text;
  resealed bigint := 0;
  v1_head record;
BEGIN
  SELECT chain_position, id, reason INTO broken FROM (
    SELECT id, chain_position,
           CASE
             WHEN hash <> audit_entry_hash_v1(chain_position, prev_hash, id, at, actor, actor_name, actor_role,
                                              actor_party_id, action, entity_type, entity_id, data)
               THEN 'hash_mismatch'
             WHEN chain_position <> coalesce(lag(chain_position) OVER w, 0) + 1 THEN 'position_gap'
             WHEN prev_hash <> coalesce(lag(hash) OVER w, repeat('0', 64)) THEN 'prev_hash_mismatch'
           END AS reason
      FROM audit_log
    WINDOW w AS (ORDER BY chain_position)
  ) c WHERE reason IS NOT NULL ORDER BY chain_position LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'audit chain broken at position % (entry %, %): it is not re-sealed; investigate it first',
      broken.chain_position, broken.id, broken.reason USING ERRCODE = 'data_corrupted';
  END IF;
  SELECT chain_position, hash INTO v1_head FROM audit_log ORDER BY chain_position DESC LIMIT 1;
  ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
  FOR r IN SELECT * FROM audit_log ORDER BY chain_position LOOP
    salt := audit_details_salt();
    digest := audit_details_digest(salt, r.actor_name, r.data);
    UPDATE audit_log SET
      details_salt = salt,
      details_digest = digest,
      legacy_hash = r.hash,
      prev_hash = prev,
      hash = audit_entry_hash(r.chain_position, prev, r.id, r.at, r.actor, r.actor_role, r.actor_party_id,
                              r.action, r.entity_type, r.entity_id, digest, r.hash)
    WHERE id = r.id
    RETURNING hash INTO prev;
    resealed := resealed + 1;
  END LOOP;
  ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;
  -- The re-seal is itself on the chain, with the old head it started from.
  IF resealed > 0 THEN
    INSERT INTO audit_log (actor, actor_role, action, entity_type, entity_id, data)
    VALUES ('migration:0004_audit_details_erasable', 'system', 'audit.chain_resealed', 'audit_log', 'chain',
            jsonb_build_object('entries', resealed, 'rule', 'DC-9',
                               'previousHead', jsonb_build_object('chainPosition', v1_head.chain_position, 'hash', v1_head.hash)));
  END IF;
END
$$;
--> statement-breakpoint
-- Still append-only, with one exception: the erasure of an entry's details by audit_erase_details() (which sets
-- audit_log.erasing for its own statement). It may only empty data, actor_name and the salt, once, naming when and
-- by which entry; every chained column stays as it was. In a deployment where the application's role does not own
-- the table, only the function (SECURITY DEFINER, running as the owner) passes the ownership check.
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF current_setting('audit_log.erasing', true) = 'on'
       AND pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'USAGE')
       AND OLD.details_erased_at IS NULL
       AND NEW.details_erased_at IS NOT NULL AND NEW.details_erased_by IS NOT NULL
       AND NEW.data = '{}'::jsonb AND NEW.actor_name IS NULL AND NEW.details_salt IS NULL
       AND (NEW.id, NEW.at, NEW.actor, NEW.actor_role, NEW.actor_party_id, NEW.action, NEW.entity_type,
            NEW.entity_id, NEW.chain_position, NEW.prev_hash, NEW.hash, NEW.details_digest, NEW.legacy_hash)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor, OLD.actor_role, OLD.actor_party_id, OLD.action, OLD.entity_type,
            OLD.entity_id, OLD.chain_position, OLD.prev_hash, OLD.hash, OLD.details_digest, OLD.legacy_hash)
    THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
-- DC-9: erase the details of the given entries, recording the purge entry (p_erased_by, an audit_log id written
-- before in the same transaction) that did it. Entries whose details no longer match their digest were altered:
-- erasing them would destroy the evidence, so they are left as they are and returned (GET /audit/verify names
-- them). Entries already erased are skipped.
CREATE FUNCTION audit_erase_details(p_ids bigint[], p_erased_by bigint, p_at timestamptz)
RETURNS TABLE (erased integer, altered bigint[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_altered bigint[];
  v_erased integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_log p WHERE p.id = p_erased_by AND p.action = 'retention.purged') THEN
    RAISE EXCEPTION 'audit_erase_details: % is not a retention.purged entry', p_erased_by
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT coalesce(array_agg(a.id ORDER BY a.id), '{}') INTO v_altered
    FROM audit_log a
   WHERE a.id = ANY (p_ids) AND a.details_erased_at IS NULL
     AND a.details_digest <> audit_details_digest(a.details_salt, a.actor_name, a.data);
  PERFORM set_config('audit_log.erasing', 'on', true);
  UPDATE audit_log a
     SET data = '{}'::jsonb, actor_name = NULL, details_salt = NULL, details_erased_at = p_at,
         details_erased_by = p_erased_by
   WHERE a.id = ANY (p_ids) AND a.details_erased_at IS NULL AND NOT (a.id = ANY (v_altered));
  GET DIAGNOSTICS v_erased = ROW_COUNT;
  PERFORM set_config('audit_log.erasing', 'off', true);
  RETURN QUERY SELECT v_erased, v_altered;
END
$$;
