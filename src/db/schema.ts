// Database schema (drizzle). Migrations in drizzle/ are generated from this file with `npm run db:generate`.
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, real, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const streams = pgTable('streams', {
  id: text('id').primaryKey(),
  title: text('title').notNull(),
  playbackId: text('playback_id').notNull().unique(),
  /** idle | live | ended */
  status: text('status').notNull().default('idle'),
  /** Private streams play only with a signed, expiring playback token (HLS, WHEP, replay, cues). */
  private: boolean('private').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Stream keys are stored as SHA-256 hashes; a rotated key keeps its row with revoked_at set. */
export const streamKeys = pgTable(
  'stream_keys',
  {
    id: text('id').primaryKey(),
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [index('stream_keys_stream_idx').on(table.streamId)],
);

export const liveSessions = pgTable(
  'live_sessions',
  {
    id: text('id').primaryKey(),
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    /** rtmp | whip */
    ingestProtocol: text('ingest_protocol').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    reconnects: integer('reconnects').notNull().default(0),
    endReason: text('end_reason'),
    sourceWidth: integer('source_width'),
    sourceHeight: integer('source_height'),
    sourceVideoCodec: text('source_video_codec'),
  },
  (table) => [
    // At most one open session per stream, across every node: a second encoder cannot start one.
    uniqueIndex('live_sessions_one_open_per_stream')
      .on(table.streamId)
      .where(sql`ended_at is null`),
    index('live_sessions_stream_idx').on(table.streamId),
  ],
);

export const renditions = pgTable(
  'renditions',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => liveSessions.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    videoBitrate: integer('video_bitrate').notNull(),
    audioBitrate: integer('audio_bitrate').notNull(),
    frameRate: real('frame_rate').notNull(),
    codecs: text('codecs'),
    passthrough: integer('passthrough').notNull().default(0),
  },
  (table) => [uniqueIndex('renditions_session_name').on(table.sessionId, table.name)],
);

/** Every uploaded segment of a show, in order: the replay is built from these rows. */
export const segments = pgTable(
  'segments',
  {
    sessionId: text('session_id')
      .notNull()
      .references(() => liveSessions.id, { onDelete: 'cascade' }),
    rendition: text('rendition').notNull(),
    sequence: integer('sequence').notNull(),
    /** Transcoder run (0 at start, +1 after each reconnect or FFmpeg restart). */
    run: integer('run').notNull(),
    discontinuity: integer('discontinuity').notNull().default(0),
    mediaStartMs: bigint('media_start_ms', { mode: 'number' }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    programDateTime: timestamp('program_date_time', { withTimezone: true, precision: 3 }).notNull(),
    objectKey: text('object_key').notNull(),
    bytes: integer('bytes').notNull(),
    /** The run's fMP4 init segment (moov) the object decodes with; null for a self-contained MPEG-TS segment. */
    initKey: text('init_key'),
  },
  (table) => [uniqueIndex('segments_pk').on(table.sessionId, table.rendition, table.sequence)],
);

/** The operator's product catalogue; cues refer to products by id. */
export const products = pgTable('products', {
  id: text('id').primaryKey(),
  sku: text('sku').notNull().unique(),
  title: text('title').notNull(),
  /** Price in minor units (cents), with its ISO 4217 currency. */
  priceMinor: integer('price_minor').notNull(),
  currency: text('currency').notNull(),
  imageUrl: text('image_url'),
  productUrl: text('product_url'),
  inventory: integer('inventory'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Commerce cues on a stream's timeline: media time (for players and replay) and wall-clock time. */
export const cues = pgTable(
  'cues',
  {
    id: text('id').primaryKey(),
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    sessionId: text('session_id').references(() => liveSessions.id, { onDelete: 'cascade' }),
    /** Per-stream sequence number, 1, 2, 3... */
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    mediaTimeMs: bigint('media_time_ms', { mode: 'number' }).notNull(),
    wallClock: timestamp('wall_clock', { withTimezone: true, precision: 3 }).notNull(),
    durationMs: integer('duration_ms'),
    idempotencyKey: text('idempotency_key'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('cues_stream_seq').on(table.streamId, table.seq), uniqueIndex('cues_stream_idempotency').on(table.streamId, table.idempotencyKey)],
);

/** One replay per live session, built by the recording worker from the session's segments. */
export const recordings = pgTable(
  'recordings',
  {
    id: text('id').primaryKey(),
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    sessionId: text('session_id')
      .notNull()
      .unique()
      .references(() => liveSessions.id, { onDelete: 'cascade' }),
    /** queued | processing | ready | failed | deleted */
    status: text('status').notNull().default('queued'),
    durationMs: integer('duration_ms'),
    bytes: bigint('bytes', { mode: 'number' }),
    renditions: jsonb('renditions'),
    /** Object keys of what the worker produced, relative to the store. */
    assets: jsonb('assets'),
    failureReason: text('failure_reason'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp('ready_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (table) => [index('recordings_stream_idx').on(table.streamId), index('recordings_status_idx').on(table.status)],
);

/** Webhook endpoints; the secret signs every delivery (HMAC-SHA256). */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  secret: text('secret').notNull(),
  events: jsonb('events').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** API tokens with scopes (read, write, cues) for the shop's systems; stored as SHA-256 hashes. */
export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  scopes: jsonb('scopes').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * Other platforms a stream's show is also sent to while it is live (restreaming). The target's own
 * stream key is sealed (AES-256-GCM, src/security/secret-box.ts); `status` is what the node sending
 * the show last reported.
 */
export const restreamTargets = pgTable(
  'restream_targets',
  {
    id: text('id').primaryKey(),
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** rtmp:// or rtmps:// server URL, without the stream key. */
    url: text('url').notNull(),
    sealedKey: text('sealed_key').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** idle | connecting | live | retrying | failed | unsupported */
    status: text('status').notNull().default('idle'),
    lastError: text('last_error'),
    statusSince: timestamp('status_since', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [index('restream_targets_stream_idx').on(table.streamId)],
);

/** An offer with inventory, opened by an offer.start cue with a quantity; `remaining` (quantity minus live claims) is refreshed a moment after each change. */
export const offers = pgTable('offers', {
  /** The id of the offer.start cue. */
  id: text('id').primaryKey(),
  streamId: text('stream_id')
    .notNull()
    .references(() => streams.id, { onDelete: 'cascade' }),
  productId: text('product_id').notNull(),
  quantity: integer('quantity').notNull(),
  remaining: integer('remaining').notNull(),
  /** Seconds a claim stays reserved before the unit returns (null: CLAIM_SECONDS). */
  claimSeconds: integer('claim_seconds'),
  endsAt: timestamp('ends_at', { withTimezone: true, precision: 3 }),
  closedAt: timestamp('closed_at', { withTimezone: true }),
  /** Media time of the pin of the product when the offer opened, for the shop's checkout. */
  mediaTimeMs: bigint('media_time_ms', { mode: 'number' }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A viewer's reservation of one unit: reserved until confirmed by the shop, cancelled or expired. */
export const offerClaims = pgTable(
  'offer_claims',
  {
    id: text('id').primaryKey(),
    offerId: text('offer_id')
      .notNull()
      .references(() => offers.id, { onDelete: 'cascade' }),
    viewerId: text('viewer_id').notNull(),
    viewerName: text('viewer_name'),
    /** reserved | confirmed | cancelled | expired */
    status: text('status').notNull().default('reserved'),
    idempotencyKey: text('idempotency_key'),
    /** Which of the offer's units (1..quantity) the claim holds; a live claim per unit is the database's guard. */
    unit: integer('unit'),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [
    // One live claim per viewer and offer; a released claim frees the viewer to claim again.
    uniqueIndex('offer_claims_one_per_viewer')
      .on(table.offerId, table.viewerId)
      .where(sql`status in ('reserved', 'confirmed')`),
    uniqueIndex('offer_claims_idempotency').on(table.offerId, table.idempotencyKey),
    // No unit is held twice, and units are 1..quantity: never more live claims than the quantity.
    uniqueIndex('offer_claims_live_unit')
      .on(table.offerId, table.unit)
      .where(sql`status in ('reserved', 'confirmed')`),
    index('offer_claims_expiry').on(table.status, table.expiresAt),
  ],
);

// --- Scheduled shows (issue #19) ---

/** A stream's announced show: when it starts, what it is about and the products it will sell. One per stream. */
export const showSchedules = pgTable(
  'show_schedules',
  {
    streamId: text('stream_id')
      .primaryKey()
      .references(() => streams.id, { onDelete: 'cascade' }),
    startAt: timestamp('start_at', { withTimezone: true, precision: 3 }).notNull(),
    description: text('description'),
    coverImageUrl: text('cover_image_url'),
    /** Catalogue product ids, in the order the show presents them. */
    products: jsonb('products').notNull().default([]),
    /** When the scheduled show went live; null while it is still upcoming (a new start time clears it). */
    wentLiveAt: timestamp('went_live_at', { withTimezone: true, precision: 3 }),
    /** The start time show.starting_soon was sent for: the claim that sends it once, whichever node's job runs. */
    startingSoonFor: timestamp('starting_soon_for', { withTimezone: true, precision: 3 }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [index('show_schedules_start_idx').on(table.startAt)],
);

/** A viewer's "remind me" for a stream's scheduled show: one per viewer (the shop's own systems notify them). */
export const showReminders = pgTable(
  'show_reminders',
  {
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    viewerId: text('viewer_id').notNull(),
    /** The name in the shop-signed viewer token, when there was one. */
    viewerName: text('viewer_name'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('show_reminders_pk').on(table.streamId, table.viewerId),
    index('show_reminders_stream_created_idx').on(table.streamId, table.createdAt),
  ],
);

// --- Shoppable clips (issue #19) ---

/** A short cut of a show (from its recording, or from a live session's segments), with the product it sold. */
export const clips = pgTable(
  'clips',
  {
    id: text('id').primaryKey(),
    streamId: text('stream_id')
      .notNull()
      .references(() => streams.id, { onDelete: 'cascade' }),
    sessionId: text('session_id')
      .notNull()
      .references(() => liveSessions.id, { onDelete: 'cascade' }),
    /** Null for an instant clip cut while the show was live. */
    recordingId: text('recording_id').references(() => recordings.id, { onDelete: 'cascade' }),
    /** The product.pin cue the clip was cut from, if any. */
    cueId: text('cue_id'),
    productId: text('product_id'),
    /** Span on the session's media timeline. */
    startMs: bigint('start_ms', { mode: 'number' }).notNull(),
    endMs: bigint('end_ms', { mode: 'number' }).notNull(),
    /** source | 9:16 */
    aspect: text('aspect').notNull().default('source'),
    /** Where a 9:16 crop sits across the picture, 0 (left) to 1 (right). */
    cropX: real('crop_x').notNull().default(0.5),
    /** queued | processing | ready | failed | deleted */
    status: text('status').notNull().default('queued'),
    durationMs: integer('duration_ms'),
    assets: jsonb('assets'),
    failureReason: text('failure_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp('ready_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (table) => [index('clips_recording_idx').on(table.recordingId), index('clips_session_idx').on(table.sessionId)],
);
