-- Custom migration (drizzle-kit generate --custom): drizzle-kit cannot express INCLUDE.
-- The allocation run classifies a day's connection-days by whether a day row exists and how many registers
-- it misses (classifyAndStoreUniform). This covering index answers that with an index-only scan — about
-- 40 MB for a million connection-days — instead of reading the day rows themselves (about 1.3 GB).
CREATE INDEX meter_reading_days_day_missing_idx ON meter_reading_days (day, connection_ean) INCLUDE (missing);
