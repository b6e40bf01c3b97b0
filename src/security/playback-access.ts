// Who may play a stream: anyone for public streams, holders of a valid playback token for private
// ones. Every path a viewer plays or listens on (HLS, WHEP, the cue socket, cues, replays) asks here.
// Privacy (and whether the stream is live) is cached for a few seconds so the HLS origin does not ask the
// database per segment.
import { LivecueError, notFound } from '../errors.ts';
import type { PlaybackSigner } from './playback-tokens.ts';
import type { StreamRow, StreamStore } from '../streams/stream-store.ts';

const CACHE_MS = 5000;
const PLAYBACK_ID = /^[A-Za-z0-9]{8,64}$/;

export type Access = 'ok' | 'not_found' | 'token_required';

export class PlaybackAccess {
  #privacy = new Map<string, { private: boolean | undefined; live: boolean; at: number }>();

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
      this.#privacy.set(playbackId, { private: isPrivate, live: stream?.status === 'live', at: Date.now() });
    }
    if (isPrivate === undefined) return 'not_found';
    if (!isPrivate) return 'ok';
    return this.signer.verify(playbackId, token) ? 'ok' : 'token_required';
  }

  /** Whether the stream was live when `check` last asked the database (a few seconds ago at most). */
  wasLive(playbackId: string): boolean {
    return this.#privacy.get(playbackId)?.live ?? false;
  }

  /** Whether this token (if any) may play the stream: always for a public stream. */
  mayPlay(stream: { playbackId: string; private: boolean }, token: string | undefined): boolean {
    return !stream.private || this.signer.verify(stream.playbackId, token);
  }

  /** The stream a viewer asks for by playback id, if it exists (404) and the token may play it (403). */
  async playableStream(playbackId: string, token: string | undefined): Promise<StreamRow> {
    const stream = PLAYBACK_ID.test(playbackId) ? await this.streams.getByPlaybackId(playbackId) : undefined;
    if (!stream) throw notFound('stream');
    this.requirePlay(stream, token);
    return stream;
  }

  /** Throws 403 unless the token may play the stream. */
  requirePlay(stream: { playbackId: string; private: boolean }, token: string | undefined): void {
    if (!this.mayPlay(stream, token)) {
      throw new LivecueError('forbidden', 'this stream is private: send its playback token as ?token= or Authorization: Bearer <token>');
    }
  }

  forget(playbackId: string): void {
    this.#privacy.delete(playbackId);
  }
}
