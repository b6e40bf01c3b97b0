CREATE TABLE "clips" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"session_id" text NOT NULL,
	"recording_id" text,
	"cue_id" text,
	"product_id" text,
	"start_ms" bigint NOT NULL,
	"end_ms" bigint NOT NULL,
	"aspect" text DEFAULT 'source' NOT NULL,
	"crop_x" real DEFAULT 0.5 NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"duration_ms" integer,
	"assets" jsonb,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "clips" ADD CONSTRAINT "clips_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "clips" ADD CONSTRAINT "clips_session_id_live_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."live_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "clips" ADD CONSTRAINT "clips_recording_id_recordings_id_fk" FOREIGN KEY ("recording_id") REFERENCES "public"."recordings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "clips_recording_idx" ON "clips" USING btree ("recording_id");--> statement-breakpoint
CREATE INDEX "clips_session_idx" ON "clips" USING btree ("session_id");