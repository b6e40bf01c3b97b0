CREATE TABLE "offer_claims" (
	"id" text PRIMARY KEY NOT NULL,
	"offer_id" text NOT NULL,
	"viewer_id" text NOT NULL,
	"viewer_name" text,
	"status" text DEFAULT 'reserved' NOT NULL,
	"idempotency_key" text,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "offers" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"product_id" text NOT NULL,
	"quantity" integer NOT NULL,
	"remaining" integer NOT NULL,
	"claim_seconds" integer,
	"ends_at" timestamp (3) with time zone,
	"closed_at" timestamp with time zone,
	"media_time_ms" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "offer_claims" ADD CONSTRAINT "offer_claims_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "offer_claims_one_per_viewer" ON "offer_claims" USING btree ("offer_id","viewer_id") WHERE status in ('reserved', 'confirmed');--> statement-breakpoint
CREATE UNIQUE INDEX "offer_claims_idempotency" ON "offer_claims" USING btree ("offer_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "offer_claims_expiry" ON "offer_claims" USING btree ("status","expires_at");