CREATE TABLE "access_register_month_counts" (
	"month" date NOT NULL,
	"connection_ean" varchar(18) NOT NULL,
	"party_id" uuid NOT NULL,
	"total" integer NOT NULL,
	"allowed" integer NOT NULL,
	"first_at" timestamp with time zone NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	CONSTRAINT "access_register_month_counts_pkey" PRIMARY KEY("connection_ean","month","party_id")
);
--> statement-breakpoint
CREATE TABLE "access_register_months_counted" (
	"month" date PRIMARY KEY NOT NULL,
	"rows" bigint NOT NULL,
	"counted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "access_register_month_counts_month_idx" ON "access_register_month_counts" USING btree ("month");