-- Issue 21: the access register (DC-1) partitioned by month of decided_at (UTC months), so the hot path
-- writes to one month's table and indexes whatever the years kept, and DC-9 retention drops whole months
-- (services/register/partitions.ts) instead of deleting rows. Hand-written: drizzle-kit does not model
-- partitioning (db/schema/p4.ts declares the same columns, key and indexes).
--
-- The existing table is renamed, a partitioned table of the same columns is created, its months are created
-- from the oldest row's month through two months ahead (as ensureRegisterPartitions keeps them), the rows are
-- copied and the old table dropped. One transaction (the migrator's): the gate waits on the lock, never sees a
-- half-converted register.
--
-- No DEFAULT partition (domain/register-partitions.ts says why): a decision for a month without a partition
-- fails, and the gate answers 503 rather than answer unregistered (DC-1); months are created ahead.
ALTER TABLE "access_register" RENAME TO "access_register_unpartitioned";--> statement-breakpoint
ALTER TABLE "access_register_unpartitioned" RENAME CONSTRAINT "access_register_pkey" TO "access_register_unpartitioned_pkey";--> statement-breakpoint
ALTER INDEX "access_register_conn_idx" RENAME TO "access_register_unpartitioned_conn_idx";--> statement-breakpoint
CREATE TABLE "access_register" (
	"id" uuid NOT NULL,
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
	"purpose" text,
	CONSTRAINT "access_register_pkey" PRIMARY KEY("id","decided_at")
) PARTITION BY RANGE ("decided_at");--> statement-breakpoint
CREATE INDEX "access_register_conn_idx" ON "access_register" USING btree ("connection_ean","decided_at");--> statement-breakpoint
CREATE INDEX "access_register_party_idx" ON "access_register" USING btree ("party_id","decided_at");--> statement-breakpoint
CREATE INDEX "access_register_delivery_idx" ON "access_register" USING btree ("delivery_of") WHERE "access_register"."delivery_of" is not null;--> statement-breakpoint
-- Months named access_register_pYYYYMM, bounds [first of the month, first of the next) in UTC: the same
-- names and bounds as registerPartition() in domain/register-partitions.ts.
DO $$
DECLARE
  m timestamptz;
  last timestamptz;
BEGIN
  SELECT date_trunc('month', least(min(decided_at), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
         date_trunc('month', greatest(max(decided_at), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 months'
    INTO m, last
    FROM access_register_unpartitioned;
  WHILE m <= last LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF access_register FOR VALUES FROM (%L) TO (%L)',
                   'access_register_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m,
                   (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
    m := (m AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
  END LOOP;
END $$;--> statement-breakpoint
INSERT INTO "access_register" SELECT "id", "decided_at", "request_id", "party_id", "connection_ean", "data_kind",
  "period_from", "period_to", "allowed", "reason_code", "rule", "mandate_id", "block_id", "kind", "delivery_of",
  "actor", "purpose" FROM "access_register_unpartitioned";--> statement-breakpoint
DROP TABLE "access_register_unpartitioned";
