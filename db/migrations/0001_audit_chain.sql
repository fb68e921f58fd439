-- Custom migration (drizzle-kit generate --custom): the audit log is append-only and tamper-evident.
-- Kept apart from the regenerated baseline because drizzle-kit cannot express functions and triggers.
--
-- One global hash chain (not one per grid operator): many entries belong to no grid operator (parties,
-- API keys, mandates, supplier reports), and one chain means one verification that also proves no entry
-- was taken out between two others. Its cost: writers of audit entries take one transaction-scoped
-- advisory lock in turn; the P4 hot path writes the access register, never the audit log.

-- The hash of one entry: SHA-256 (hex) over a JSON array of the previous hash and every column, in the
-- canonical text of jsonb, so any PostgreSQL recomputes it (GET /audit/verify, an exported dossier).
CREATE FUNCTION audit_entry_hash(
  p_chain_position bigint, p_prev_hash text, p_id bigint, p_at timestamptz, p_actor text, p_actor_name text,
  p_actor_role text, p_actor_party_id uuid, p_action text, p_entity_type text, p_entity_id text, p_data jsonb
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    p_chain_position, p_prev_hash, p_id,
    to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    p_actor, p_actor_name, p_actor_role, p_actor_party_id, p_action, p_entity_type, p_entity_id, p_data
  )::text, 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- BEFORE INSERT: name the actor (an API key's holder, else its label; its role) and link the entry to the
-- chain's head. The advisory lock orders concurrent writers; it is held until their transaction ends, so
-- the head read here is always the committed (or own) last entry.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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
  NEW.hash := audit_entry_hash(NEW.chain_position, NEW.prev_hash, NEW.id, NEW.at, NEW.actor, NEW.actor_name,
    NEW.actor_role, NEW.actor_party_id, NEW.action, NEW.entity_type, NEW.entity_id, NEW.data);
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
