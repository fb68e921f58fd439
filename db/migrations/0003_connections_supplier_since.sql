-- DC-7 / GT-2: the supplier of record's billing reads cover only its own supply of this grid user. The P4 gate
-- reads since when the supplier supplies the connection with the connection row, as it reads grid_user_since.
ALTER TABLE "connections" ADD COLUMN "supplier_since" timestamp (3) with time zone;--> statement-breakpoint
-- Existing connections: the effective instant of the last switch to the current supplier (the start of its
-- current supply); none recorded: since the connection's data begins (null), as before.
UPDATE "connections" c SET "supplier_since" = e.effective_at
  FROM (SELECT connection_ean, new_supplier_id, max(effective_at) AS effective_at
          FROM "connection_events" WHERE new_supplier_id IS NOT NULL
         GROUP BY connection_ean, new_supplier_id) e
 WHERE e.connection_ean = c.ean AND e.new_supplier_id = c.supplier_id;
