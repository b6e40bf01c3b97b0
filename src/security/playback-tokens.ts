// Signed, expiring playback tokens for private streams: `<expiry unix seconds>.<base64url HMAC>` over
// the playback id, checked in constant time. They go in the HLS path (/hls/<id>/t/<token>/...) so
// every relative URL in a playlist keeps them, and as ?token= or a Bearer token elsewhere.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_TOKEN_SECONDS = 7 * 86_400;

export class PlaybackSigner {
  constructor(private readonly secret: string) {}

  issue(playbackId: string, expiresAt: Date): string {
    const expiry = Math.floor(expiresAt.getTime() / 1000);
    return `${expiry}.${this.#mac(playbackId, expiry)}`;
  }

  verify(playbackId: string, token: string | undefined, now = Date.now()): boolean {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
    if (!match) return false;
    const expiry = Number(match[1]);
    if (expiry * 1000 <= now) return false;
    const expected = Buffer.from(this.#mac(playbackId, expiry));
    const presented = Buffer.from(match[2]!);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }

  #mac(playbackId: string, expiry: number): string {
    return createHmac('sha256', this.secret).update(`playback:${playbackId}:${expiry}`).digest('base64url');
  }
}
