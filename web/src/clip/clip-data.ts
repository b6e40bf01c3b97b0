// A clip as its page reads it from livecue's public GET /live/clips/<id>: the media, the product card, the
// offer that ran and the cues inside, on the clip's own time.
import { parseCueMessage, type CueMessage } from '../player/cue-scheduler.ts';
import type { Product } from '../player/product.ts';

export interface PublicClip {
  id: string;
  title: string;
  durationSeconds: number;
  aspect: 'source' | '9:16';
  hlsUrl: string;
  mp4Url: string;
  posterUrl: string | null;
  product: Product | null;
  offer: CueMessage | null;
  cues: CueMessage[];
}

export type ClipLookup = { kind: 'ready'; clip: PublicClip } | { kind: 'missing' } | { kind: 'forbidden' };

export async function fetchClip(id: string, token: string | undefined): Promise<ClipLookup> {
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const response = await fetch(`/live/clips/${encodeURIComponent(id)}${query}`, { cache: 'no-store' }).catch(() => undefined);
  if (response?.status === 401 || response?.status === 403) return { kind: 'forbidden' };
  if (!response?.ok) return { kind: 'missing' };
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!body || typeof body.id !== 'string' || typeof body.hlsUrl !== 'string') return { kind: 'missing' };
  const cues = Array.isArray(body.cues) ? body.cues.map(parseCueMessage).filter((cue): cue is CueMessage => cue !== undefined) : [];
  return {
    kind: 'ready',
    clip: {
      id: body.id,
      title: String(body.title ?? ''),
      durationSeconds: Number(body.durationSeconds),
      aspect: body.aspect === '9:16' ? '9:16' : 'source',
      hlsUrl: body.hlsUrl,
      mp4Url: String(body.mp4Url),
      posterUrl: typeof body.posterUrl === 'string' ? body.posterUrl : null,
      product: (body.product as Product | null) ?? null,
      offer: body.offer ? (parseCueMessage(body.offer) ?? null) : null,
      cues,
    },
  };
}
