-- Issue 18, items 5 and 8: who confirmed a mandate (DC-3, GT-8b); signatures that name the person (GT-5, GT-11,
-- "not demonstrated"); the GT-5 electorate; compliance officers bound to a grid operator.

-- DC-3: who confirmed a mandate. 'declaration': the registering party declared that the grid user granted it;
-- 'grid_user': the grid user confirmed it (or registered it) with their own key. After a negative outcome only
-- 'grid_user' counts (GT-8b, domain/mandate.ts gridUserMustConfirm).
ALTER TABLE "mandates" ADD COLUMN "confirmed_by" text;--> statement-breakpoint
-- Existing mandates: one registered by a grid-user key (the portal) or activated by the grid user's confirmation
-- (granted by someone else: only the confirm endpoint activated those) was the grid user's act; one active on
-- grantedByIsGridUser was the party's declaration. Those stay active as they are: the gate asks the grid user's
-- confirmation of them only where they were registered after a "not demonstrated" close (GT-8b).
UPDATE "mandates" m SET "confirmed_by" = CASE
    WHEN NOT m.granted_by_is_grid_user THEN 'grid_user'
    WHEN EXISTS (SELECT 1 FROM "api_keys" k WHERE 'api-key:' || k.id::text = m.created_by AND k.role = 'grid-user') THEN 'grid_user'
    ELSE 'declaration' END
 WHERE m.confirmed_at IS NOT NULL;--> statement-breakpoint

-- Signatures: the key's recorded holder and role (the key itself is judged_by / voted_by / decided_by).
ALTER TABLE "case_responses" ADD COLUMN "judged_by_name" text;--> statement-breakpoint
ALTER TABLE "case_responses" ADD COLUMN "judged_by_role" text;--> statement-breakpoint
ALTER TABLE "improvement_reviews" ADD COLUMN "decided_by_role" text;--> statement-breakpoint
ALTER TABLE "breach_assessments" ADD COLUMN "decided_by_role" text;--> statement-breakpoint
ALTER TABLE "review_votes" ADD COLUMN "voted_by_role" text;--> statement-breakpoint
-- Existing judgements get their key's holder where one is recorded (none: null, as then); roles from the keys.
-- Names already recorded on votes and decisions stay as they were signed.
UPDATE "case_responses" r SET "judged_by_name" = k.holder_name, "judged_by_role" = k.role
  FROM "api_keys" k WHERE r.judged_by = 'api-key:' || k.id::text;--> statement-breakpoint
UPDATE "improvement_reviews" r SET "decided_by_role" = k.role
  FROM "api_keys" k WHERE r.decided_by = 'api-key:' || k.id::text;--> statement-breakpoint
UPDATE "breach_assessments" b SET "decided_by_role" = k.role
  FROM "api_keys" k WHERE b.decided_by = 'api-key:' || k.id::text;--> statement-breakpoint
UPDATE "review_votes" v SET "voted_by_role" = k.role
  FROM "api_keys" k WHERE v.voted_by = 'api-key:' || k.id::text;--> statement-breakpoint

-- GT-5 "jointly": the electorate of a review, fixed at its proposal (domain/review.ts reviewElectorate: every grid
-- operator in the system). Reviews proposed before: their signal holders, which is what their running workflows
-- count (their input's operatorsInvolved), so the API shows and scopes them as they are decided.
ALTER TABLE "improvement_reviews" ADD COLUMN "electorate" uuid[];--> statement-breakpoint
UPDATE "improvement_reviews" r SET "electorate" = coalesce(
    (SELECT array_agg(DISTINCT s.grid_operator_id ORDER BY s.grid_operator_id) FROM "review_signals" s WHERE s.review_id = r.id),
    '{}');--> statement-breakpoint
ALTER TABLE "improvement_reviews" ALTER COLUMN "electorate" SET NOT NULL;--> statement-breakpoint

-- A compliance officer belongs to a grid operator and sees its cases only (domain/visibility.ts). A compliance
-- key without one becomes the branch-wide view (branch-analyst: the aggregate signal report, no case file): it
-- keeps the part of its access that is still allowed and loses the case files of every grid operator. Each
-- change is audited (actor migration:0006).
WITH changed AS (
  UPDATE "api_keys" SET "role" = 'branch-analyst' WHERE "role" = 'compliance' AND "party_id" IS NULL
  RETURNING id, prefix, label, revoked_at
)
INSERT INTO "audit_log" ("actor", "action", "entity_type", "entity_id", "data")
SELECT 'migration:0006', 'api_key.role_changed', 'api_key', c.id::text,
       jsonb_build_object('from', 'compliance', 'to', 'branch-analyst', 'prefix', c.prefix, 'label', c.label,
                          'revoked', c.revoked_at IS NOT NULL,
                          'reason', 'A compliance officer belongs to a grid operator; a key without one reads aggregates only')
  FROM changed c ORDER BY c.id;
