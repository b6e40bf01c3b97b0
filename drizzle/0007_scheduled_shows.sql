CREATE TABLE "show_reminders" (
	"stream_id" text NOT NULL,
	"viewer_id" text NOT NULL,
	"viewer_name" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "show_schedules" (
	"stream_id" text PRIMARY KEY NOT NULL,
	"start_at" timestamp (3) with time zone NOT NULL,
	"description" text,
	"cover_image_url" text,
	"products" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"went_live_at" timestamp (3) with time zone,
	"starting_soon_for" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "show_reminders" ADD CONSTRAINT "show_reminders_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "show_schedules" ADD CONSTRAINT "show_schedules_stream_id_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "show_reminders_pk" ON "show_reminders" USING btree ("stream_id","viewer_id");--> statement-breakpoint
CREATE INDEX "show_reminders_stream_created_idx" ON "show_reminders" USING btree ("stream_id","created_at");--> statement-breakpoint
CREATE INDEX "show_schedules_start_idx" ON "show_schedules" USING btree ("start_at");