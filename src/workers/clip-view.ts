// The shape of a clip as the API and the clip webhooks show it.
import type { ClipAssets, ClipAspect, ClipRow } from './clip-store.ts';

export function clipView(row: ClipRow, at: { hlsBase: string; pagesBase?: string }) {
  const assets = (row.assets ?? null) as ClipAssets | null;
  const url = (key?: string) => (key ? `${at.hlsBase}/${key}` : null);
  return {
    id: row.id,
    status: row.status as 'queued' | 'processing' | 'ready' | 'failed',
    recordingId: row.recordingId,
    streamId: row.streamId,
    sessionId: row.sessionId,
    startSeconds: row.startMs / 1000,
    endSeconds: row.endMs / 1000,
    durationSeconds: row.durationMs === null ? null : row.durationMs / 1000,
    productId: row.productId,
    cueId: row.cueId,
    aspect: row.aspect as ClipAspect,
    cropX: row.cropX,
    failureReason: row.failureReason,
    createdAt: row.createdAt.toISOString(),
    readyAt: row.readyAt?.toISOString() ?? null,
    playback: {
      mp4Url: url(assets?.mp4),
      hlsUrl: url(assets?.hls),
      posterUrl: url(assets?.poster),
      cuesUrl: url(assets?.cues),
      pageUrl: `${at.pagesBase ?? at.hlsBase}/clip/${row.id}`,
    },
  };
}
