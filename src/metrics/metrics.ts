// Prometheus metrics of one livecue process, on a registry of its own (no global default registry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type Registers = Registry[];

/** The media path: sessions, ingest, transcoders, uploads, WebRTC viewers and relays. */
function mediaMetrics(registers: Registers) {
  return {
    activeSessions: new Gauge({
      name: 'livecue_active_sessions',
      help: 'Live sessions open on this node (including those inside their reconnect window).',
      registers,
    }),
    ingestBitrate: new Gauge({
      name: 'livecue_ingest_bitrate_bits_per_second',
      help: 'Incoming bitrate of each live ingest, averaged over the last seconds.',
      labelNames: ['stream_id', 'protocol'],
      registers,
    }),
    publishes: new Counter({
      name: 'livecue_publishes_total',
      help: 'Accepted publishes (a reconnect counts again).',
      labelNames: ['protocol'],
      registers,
    }),
    rejectedPublishes: new Counter({
      name: 'livecue_rejected_publishes_total',
      help: 'Publishes refused before any media was forwarded, by reason.',
      labelNames: ['protocol', 'reason'],
      registers,
    }),
    transcoderSpeed: new Gauge({
      name: 'livecue_transcoder_speed_ratio',
      help: 'FFmpeg speed as a multiple of real time (below 1: falling behind).',
      labelNames: ['stream_id'],
      registers,
    }),
    transcoderRestarts: new Counter({
      name: 'livecue_transcoder_restarts_total',
      help: 'FFmpeg processes that died and were restarted.',
      registers,
    }),
    segmentsUploaded: new Counter({
      name: 'livecue_segments_uploaded_total',
      help: 'HLS segments written to object storage.',
      labelNames: ['rendition'],
      registers,
    }),
    uploadSeconds: new Histogram({
      name: 'livecue_upload_duration_seconds',
      help: 'Time to write one object (segment or playlist) to object storage, retries included.',
      labelNames: ['kind'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    uploadFailures: new Counter({
      name: 'livecue_upload_failures_total',
      help: 'Failed object writes (each is retried until it succeeds or the spool is full).',
      registers,
    }),
    whepViewers: new Gauge({
      name: 'livecue_whep_viewers',
      help: 'WebRTC (WHEP) viewers connected to this node, per stream.',
      labelNames: ['stream_id'],
      registers,
    }),
    sfuWorkers: new Gauge({
      name: 'livecue_sfu_workers',
      help: 'mediasoup workers running.',
      registers,
    }),
    edgeRelays: new Gauge({
      name: 'livecue_edge_relays',
      help: 'Shows hosted on other nodes that this node serves to its WebRTC viewers (piped from their origin).',
      registers,
    }),
    originRelays: new Gauge({
      name: 'livecue_origin_relays',
      help: "Media relays from this node's shows to edge nodes.",
      registers,
    }),
  };
}

/** The node itself: database writes, bugs, SFU workers, Redis, sockets, the drain and the upload spool. */
function nodeMetrics(registers: Registers) {
  return {
    databaseWriteRetries: new Counter({
      name: 'livecue_database_write_retries_total',
      help: "Retries of a live show's database writes (segments, renditions, session) while PostgreSQL was unreachable.",
      registers,
    }),
    databaseWritesLost: new Counter({
      name: 'livecue_database_writes_lost_total',
      help: 'Live show database writes given up after the show ended and the final deadline passed.',
      registers,
    }),
    unhandledErrors: new Counter({
      name: 'livecue_unhandled_errors_total',
      help: 'Errors no code caught (a bug): logged with their stack and counted; the node keeps serving. kind: rejection or exception.',
      labelNames: ['kind'] as const,
      registers,
    }),
    sfuWorkerDeaths: new Counter({
      name: 'livecue_sfu_worker_deaths_total',
      help: 'mediasoup workers that died (each is replaced at once and its shows re-homed).',
      registers,
    }),
    cueHubResyncs: new Counter({
      name: 'livecue_cue_hub_resyncs_total',
      help: "Times the cue hub's Redis subscription came back after an outage and viewers were sent the state again.",
      registers,
    }),
    viewerSockets: new Gauge({
      name: 'livecue_viewer_sockets',
      help: "Viewers' WebSockets open on this node.",
      registers,
    }),
    draining: new Gauge({
      name: 'livecue_draining',
      help: '1 while this node drains (refuses new publishes and viewers, finishes its shows).',
      registers,
    }),
    uploadSpoolBytes: new Gauge({
      name: 'livecue_upload_spool_bytes',
      help: 'Bytes waiting locally for object storage.',
      registers,
    }),
  };
}

/** Restreams to other platforms. */
function restreamMetrics(registers: Registers) {
  return {
    restreamTargets: new Gauge({
      name: 'livecue_restream_targets',
      help: 'Restream targets of the live shows on this node, by state (connecting, live, retrying, failed, unsupported).',
      labelNames: ['state'],
      registers,
    }),
    restreamRestarts: new Counter({
      name: 'livecue_restream_restarts_total',
      help: 'Restream FFmpegs that died or were refused by their platform and are started again after a backoff.',
      registers,
    }),
    restreamBytes: new Counter({
      name: 'livecue_restream_bytes_total',
      help: 'Show bytes (FLV tags) handed to restream FFmpegs whose platform had accepted the show.',
      registers,
    }),
    // Engagement, per node, with fixed labels only: per-stream and per-product numbers are in
    // GET /v1/streams/:id/analytics, where an id does not multiply series.
  };
}

/** What viewers do: chat, reactions, votes, claims, taps, and how many watch. */
function audienceMetrics(registers: Registers) {
  return {
    chatMessages: new Counter({
      name: 'livecue_chat_messages_total',
      help: 'Chat messages from viewers that were delivered (refused ones are not counted).',
      registers,
    }),
    reactions: new Counter({
      name: 'livecue_reactions_total',
      help: 'Reaction taps accepted from viewers.',
      registers,
    }),
    pollVotes: new Counter({
      name: 'livecue_poll_votes_total',
      help: 'Poll votes accepted (one per viewer and poll).',
      registers,
    }),
    claims: new Counter({
      name: 'livecue_claims_total',
      help: "Claim requests by outcome: reserved (a unit taken), repeated (the viewer's existing claim), sold_out, offer_ended, refused (bad request, no viewer, unknown offer), error.",
      labelNames: ['outcome'],
      registers,
    }),
    productClicks: new Counter({
      name: 'livecue_product_clicks_total',
      help: 'Taps on pinned product cards (every tap).',
      registers,
    }),
    viewers: new Gauge({
      name: 'livecue_viewers',
      help: 'Viewers watching through this node, by path: webrtc (WHEP sessions here), hls and replay (players whose last beat, within 30 s, reached this node).',
      labelNames: ['path'],
      registers,
    }),
  };
}

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'livecue_process_' });
  const registers = [registry];
  return { registry, ...mediaMetrics(registers), ...nodeMetrics(registers), ...restreamMetrics(registers), ...audienceMetrics(registers) };
}

export type Metrics = ReturnType<typeof createMetrics>;
