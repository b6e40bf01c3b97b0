ALTER TABLE "offer_claims" ADD COLUMN "unit" integer;--> statement-breakpoint
-- Claims made before units existed: number the live ones of each offer 1, 2, … in claim order.
UPDATE "offer_claims" SET "unit" = numbered.unit FROM (
  SELECT "id", row_number() OVER (PARTITION BY "offer_id" ORDER BY "created_at", "id") AS unit
  FROM "offer_claims" WHERE "status" IN ('reserved', 'confirmed')
) AS numbered WHERE "offer_claims"."id" = numbered."id";--> statement-breakpoint
CREATE UNIQUE INDEX "offer_claims_live_unit" ON "offer_claims" USING btree ("offer_id","unit") WHERE status in ('reserved', 'confirmed');
