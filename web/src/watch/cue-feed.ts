// Cues for viewers without the WebRTC data channel (HLS): over livecue's WebSocket, the show's cues at
// once on connect, then each new one (the scheduler drops duplicates); and the show's whole cue track.
import { cueFromSocketMessage, parseCueMessage, type CueMessage } from '../player/cue-scheduler.ts';
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

/**
 * Where the HLS path hears of cues live: the page's socket (viewer-socket.ts), which it shares with
 * the chat, reactions, votes and claims. WebRTC has its data channel; a replay has its cue track.
 */
export interface CueFeed {
  /** Hands over the cues known so far at once, then each new batch; returns a function that stops it. */
  followCues(onCues: (cues: CueMessage[]) => void): () => void;
}

/** The show's whole cue track (late joiners on WebRTC, and replays). */
export async function fetchCueTrack(urls: PlaybackUrls): Promise<CueMessage[]> {
  const response = await fetch(urls.cues());
  if (!response.ok) return [];
  const body = (await response.json()) as { cues?: unknown };
  return Array.isArray(body.cues) ? body.cues.map(parseCueMessage).filter((cue): cue is CueMessage => cue !== undefined) : [];
}
