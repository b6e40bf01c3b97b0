// The public shape of a recording, as the API and webhooks show it.
import type { recordings } from '../db/schema.ts';
import type { RecordingAssets } from './recording-builder.ts';

export function recordingView(row: typeof recordings.$inferSelect, hlsBase: string) {
  const assets = (row.assets ?? null) as RecordingAssets | null;
  const url = (key?: string) => (key ? `${hlsBase}/${key}` : null);
  return {
    id: row.id,
    streamId: row.streamId,
    sessionId: row.sessionId,
    status: row.status,
    durationSeconds: row.durationMs === null ? null : row.durationMs / 1000,
    bytes: row.bytes,
    renditions: row.renditions ?? [],
    failureReason: row.failureReason,
    attempts: row.attempts,
    createdAt: row.createdAt.toISOString(),
    readyAt: row.readyAt?.toISOString() ?? null,
    playback: {
      hlsUrl: url(assets?.master),
      posterUrl: url(assets?.poster),
      thumbnailsVttUrl: url(assets?.thumbnailsVtt),
      cuesUrl: url(assets?.cues),
      mp4Url: url(assets?.mp4),
    },
  };
}
