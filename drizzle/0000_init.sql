CREATE TABLE "live_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"node_id" text NOT NULL,
	"ingest_protocol" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"reconnects" integer DEFAULT 0 NOT NULL,
	"end_reason" text,
	"source_width" integer,
	"source_height" integer,
	"source_video_codec" text
);
--> statement-breakpoint
CREATE TABLE "renditions" (
	"id" text PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"name" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"video_bitrate" integer NOT NULL,
	"audio_bitrate" integer NOT NULL,
	"frame_rate" real NOT NULL,
	"codecs" text,
	"passthrough" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "segments" (
	"session_id" text NOT NULL,
	"rendition" text NOT NULL,
	"sequence" integer NOT NULL,
	"run" integer NOT NULL,
	"discontinuity" integer DEFAULT 0 NOT NULL,
	"media_start_ms" bigint NOT NULL,
	"duration_ms" integer NOT NULL,
	"program_date_time" timestamp (3) with time zone NOT NULL,
	"object_key" text NOT NULL,
	"bytes" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stream_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"stream_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "stream_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "streams" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"playback_id" text NOT NULL,
	"status" text DEFAULT 'idle' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "streams_playback_id_unique" UNIQUE("playback_id")
);
--> statement-breakpoint
ALTER TABLE "live_sessions" ADD CONSTRAINT "live_sessions_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "renditions" ADD CONSTRAINT "renditions_session_id_live_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."live_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "segments" ADD CONSTRAINT "segments_session_id_live_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."live_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stream_keys" ADD CONSTRAINT "stream_keys_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "live_sessions_one_open_per_stream" ON "live_sessions" USING btree ("stream_id") WHERE ended_at is null;--> statement-breakpoint
CREATE INDEX "live_sessions_stream_idx" ON "live_sessions" USING btree ("stream_id");--> statement-breakpoint
CREATE UNIQUE INDEX "renditions_session_name" ON "renditions" USING btree ("session_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "segments_pk" ON "segments" USING btree ("session_id","rendition","sequence");--> statement-breakpoint
CREATE INDEX "stream_keys_stream_idx" ON "stream_keys" USING btree ("stream_id");