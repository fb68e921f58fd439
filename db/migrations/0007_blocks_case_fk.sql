-- Issue 18, item 3: a block exists only as a case's block (GT-2). Until now blocks.case_id had no foreign key and
-- PUT /blocks/{caseId} placed a block under any id. From here the database refuses a block without its case,
-- except one kept after its case was purged (DC-9: lifted without release, it still refuses the blocked period
-- until that period's readings are purged; then case_id is null and case_purged_at says when).
ALTER TABLE "blocks" ALTER COLUMN "case_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "blocks" ADD COLUMN "case_purged_at" timestamp with time zone;--> statement-breakpoint
-- Blocks placed through the side door under an id that is no case. One lifted without release keeps refusing its
-- period, as a purged case's block does (detached, kept). Any other has no process that could ever lift it or that
-- it serves: it is removed. Each is audited (actor migration:0007) with what it was, for a person to follow up.
WITH orphans AS (
  SELECT b.* FROM "blocks" b WHERE NOT EXISTS (SELECT 1 FROM "doubt_cases" c WHERE c.id = b.case_id)
), audited AS (
  INSERT INTO "audit_log" ("actor", "action", "entity_type", "entity_id", "data")
  SELECT 'migration:0007',
         CASE WHEN o.ended_at IS NOT NULL AND NOT o.retroactive THEN 'block.detached_without_case' ELSE 'block.removed_without_case' END,
         'block', o.id::text,
         jsonb_build_object('caseId', o.case_id, 'partyId', o.party_id, 'connectionEan', o.connection_ean,
                            'startedAt', o.started_at, 'endedAt', o.ended_at, 'retroactive', o.retroactive,
                            'reason', 'A block exists only as a case''s block (GT-2, issue 18); this one had no case')
    FROM orphans o ORDER BY o.started_at, o.id
  RETURNING entity_id
)
SELECT count(*) FROM audited;--> statement-breakpoint
UPDATE "blocks" b SET "case_id" = NULL, "case_purged_at" = now()
 WHERE b.ended_at IS NOT NULL AND NOT b.retroactive
   AND NOT EXISTS (SELECT 1 FROM "doubt_cases" c WHERE c.id = b.case_id);--> statement-breakpoint
DELETE FROM "blocks" b WHERE b.case_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "doubt_cases" c WHERE c.id = b.case_id);--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_case_id_doubt_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."doubt_cases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_case_or_purged_ck" CHECK (("blocks"."case_id" is null) = ("blocks"."case_purged_at" is not null));
