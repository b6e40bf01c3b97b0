CREATE TABLE "cues" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"session_id" text,
	"seq" integer NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"media_time_ms" bigint NOT NULL,
	"wall_clock" timestamp (3) with time zone NOT NULL,
	"duration_ms" integer,
	"idempotency_key" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" text PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"title" text NOT NULL,
	"price_minor" integer NOT NULL,
	"currency" text NOT NULL,
	"image_url" text,
	"product_url" text,
	"inventory" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "products_sku_unique" UNIQUE("sku")
);
--> statement-breakpoint
ALTER TABLE "cues" ADD CONSTRAINT "cues_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cues" ADD CONSTRAINT "cues_session_id_live_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."live_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "cues_stream_seq" ON "cues" USING btree ("stream_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "cues_stream_idempotency" ON "cues" USING btree ("stream_id","idempotency_key");