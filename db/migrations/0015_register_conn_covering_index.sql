-- Custom migration (drizzle-kit generate --custom): drizzle-kit cannot express INCLUDE, nor storage parameters on
-- a partitioned table's months. Issue 21 (bench:register at 40 M rows: the DC-5 query read one heap page per row
-- of the connection, 11x its time at 1 M rows).
--
-- 1. The DC-5 index (connection_ean, decided_at) carries party_id and allowed, so accessOverview's statistics
--    (per party: count, allowed, first and last; db/repositories/transparency.ts) are an index-only scan: no heap
--    page for the counts. The key is unchanged (the 50 most recent rows still come from it, in order). About 20
--    bytes more per entry on the hot path (docs/benchmarks.md#access-register-at-volume-npm-run-benchregister).
--    Dropped and built again on the register and every month, in the migrator's transaction: the gate waits for
--    the build (seconds on a young register; at volume build it per month CONCURRENTLY and ATTACH it instead).
-- 2. Index-only scans skip the heap only for pages the visibility map marks all-visible, which an append-only
--    table gets from insert-triggered autovacuum. Its default (1000 + 20 % of the table) leaves up to a fifth of
--    a month unmarked; every month vacuums after each 100,000 rows instead (about four hours of decisions at
--    550,000 a day). The same parameters as REGISTER_MONTH_STORAGE in db/repositories/register-partitions.ts,
--    which new months get at creation; a partitioned table itself takes no storage parameters.
DROP INDEX "access_register_conn_idx";--> statement-breakpoint
CREATE INDEX "access_register_conn_idx" ON "access_register" USING btree ("connection_ean","decided_at") INCLUDE ("party_id","allowed");--> statement-breakpoint
DO $$
DECLARE
  part regclass;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'access_register'::regclass LOOP
    EXECUTE format('ALTER TABLE %s SET (autovacuum_vacuum_insert_threshold = 100000, autovacuum_vacuum_insert_scale_factor = 0)', part);
  END LOOP;
END $$;
