-- Custom migration (drizzle-kit generate --custom). Issue 21: a closed month of the access register is rewritten
-- in connection order (services/register/partitions.ts compactClosedRegisterMonths, decisions/0019). While its copy
-- is made and until the copy replaces it, the month must take no row that the copy would miss: the compaction puts
-- this trigger on the month (CREATE TRIGGER waits for writers in flight and then lets readers go on), so a late
-- write fails loudly instead of being lost with the old table. No writer should ever reach it: every writer
-- registers at decided_at = now (DC-1), and only months closed for a day or more are compacted.
CREATE OR REPLACE FUNCTION access_register_month_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'access register month % is closed and being compacted: no writes', TG_TABLE_NAME
    USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;
