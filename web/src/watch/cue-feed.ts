// Cues over livecue's WebSocket, for viewers without the WebRTC data channel (HLS): the show's cues
// at once on connect, then each new one. Reconnects with backoff; the scheduler drops duplicates.
import { cueFromSocketMessage, parseCueMessage, type CueMessage } from '../../../src/player/cue-scheduler.ts';
import type { PlaybackUrls } from '../player/playback-urls.ts';

/** Cues from a `{"type":"state",…,"cues":[…]}` greeting or a `{"type":"cue",…}` message. */
export function cuesFromEventMessage(text: string): CueMessage[] {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'state') {
    const list = (message as { cues?: unknown }).cues;
    return Array.isArray(list) ? list.map(parseCueMessage).filter((cue): cue is CueMessage => cue !== undefined) : [];
  }
  const cue = cueFromSocketMessage(text);
  return cue ? [cue] : [];
}

export class CueFeed {
  readonly #url: string;
  readonly #onCues: (cues: CueMessage[]) => void;
  #socket: WebSocket | undefined;
  #retryMs = 500;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(urls: PlaybackUrls, onCues: (cues: CueMessage[]) => void) {
    this.#url = urls.events();
    this.#onCues = onCues;
    this.#connect();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.close();
  }

  #connect(): void {
    if (this.#closed) return;
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener('open', () => (this.#retryMs = 500));
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      const cues = cuesFromEventMessage(event.data);
      if (cues.length > 0) this.#onCues(cues);
    });
    socket.addEventListener('close', () => {
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
    });
  }
}

/** The show's whole cue track (late joiners on WebRTC, and replays). */
export async function fetchCueTrack(urls: PlaybackUrls): Promise<CueMessage[]> {
  const response = await fetch(urls.cues());
  if (!response.ok) return [];
  const body = (await response.json()) as { cues?: unknown };
  return Array.isArray(body.cues) ? body.cues.map(parseCueMessage).filter((cue): cue is CueMessage => cue !== undefined) : [];
}
