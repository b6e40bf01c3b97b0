// Who may play a stream: anyone for public streams, holders of a valid playback token for private
// ones. Privacy is cached for a few seconds so the HLS origin does not ask the database per segment.
import type { PlaybackSigner } from '../security/playback-tokens.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { bearerToken } from './admin-auth.ts';

const CACHE_MS = 5000;

export type Access = 'ok' | 'not_found' | 'token_required';

export class PlaybackAccess {
  #privacy = new Map<string, { private: boolean | undefined; at: number }>();

  constructor(
    private readonly streams: StreamStore,
    readonly signer: PlaybackSigner,
  ) {}

  async check(playbackId: string, token: string | undefined): Promise<Access> {
    const cached = this.#privacy.get(playbackId);
    let isPrivate = cached && Date.now() - cached.at < CACHE_MS ? cached.private : undefined;
    if (!cached || Date.now() - cached.at >= CACHE_MS) {
      const stream = await this.streams.getByPlaybackId(playbackId);
      isPrivate = stream?.private;
      if (this.#privacy.size > 10_000) this.#privacy.clear();
      this.#privacy.set(playbackId, { private: isPrivate, at: Date.now() });
    }
    if (isPrivate === undefined) return 'not_found';
    if (!isPrivate) return 'ok';
    return this.signer.verify(playbackId, token) ? 'ok' : 'token_required';
  }

  /** A token from `?token=` or `Authorization: Bearer` (WHEP players send the latter). */
  static tokenOf(req: { query: Record<string, unknown>; headers: { authorization?: string } }): string | undefined {
    return typeof req.query.token === 'string' ? req.query.token : bearerToken(req.headers.authorization);
  }

  forget(playbackId: string): void {
    this.#privacy.delete(playbackId);
  }
}
