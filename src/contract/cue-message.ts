// The cue as every path delivers it (HLS DATERANGE, data channel, WebSocket, replay track, API). Types and
// constants only, no imports: the browser player takes it as it is.

export const CUE_TYPES = ['product.pin', 'product.unpin', 'offer.start', 'offer.end', 'poll.open', 'poll.close', 'announcement', 'custom'] as const;

export type CueType = (typeof CUE_TYPES)[number];

export interface CueMessage {
  id: string;
  seq: number;
  type: CueType;
  payload: Record<string, unknown>;
  /** Seconds on the live session's media timeline (0 = first frame; reconnect gaps removed). */
  mediaTime: number;
  /** The instant of the video frame the cue belongs to, on the EXT-X-PROGRAM-DATE-TIME timeline (ISO 8601). */
  wallClock: string;
  /** Seconds, for cues with a natural end (offers with a deadline, timed polls). */
  duration?: number;
}

/**
 * Sent on the cue data channel with each keyframe of a passed-through RTMP show: the RTP timestamp of that
 * keyframe and where the frame sits on the show's timeline. A WebRTC player places any frame by its RTP
 * timestamp: wallClock + (rtpTimestamp' - rtpTimestamp) / clockRate, modulo 2^32.
 */
export interface MediaClockMessage {
  type: 'clock';
  rtpTimestamp: number;
  clockRate: number;
  /** Seconds on the media timeline of the keyframe. */
  mediaTime: number;
  /** The keyframe's instant on the EXT-X-PROGRAM-DATE-TIME timeline (ISO 8601), the one cues' wallClock uses. */
  wallClock: string;
}
