// What the packager tells a show's live HLS window, as plain data: the node that holds the show applies
// these to its own window, and a relay can carry the same events (bytes as base64) to nodes that do not.
import type { DateRange } from './playlist.ts';

/** The segment a part belongs to, as the playlist shows it once the segment is listed. */
export interface LiveSegmentHead {
  sequence: number;
  /** First segment of a run after an earlier one (a reconnect, a restart). */
  discontinuity: boolean;
  /** URI of the run's init segment (EXT-X-MAP), relative to the media playlist. */
  map: string;
  /** ISO 8601 date of the segment's first frame. */
  programDateTime: string;
}

export type LiveHlsEvent =
  /** The show's HLS starts (once): its renditions and timing, fixed for the show. */
  | {
      type: 'started';
      renditions: string[];
      segmentSeconds: number;
      targetDuration: number;
      partTarget: number;
      windowSegments: number;
    }
  /** A run's init segment of a rendition (before any part of the run). */
  | { type: 'init'; rendition: string; uri: string; bytes: Buffer }
  /** A new part of the segment in progress; `index` counts from 0 within the segment. */
  | { type: 'part'; rendition: string; segment: LiveSegmentHead; index: number; uri: string; duration: number; independent: boolean; bytes: Buffer }
  /** The segment in progress is whole: it is listed from now on (its bytes are its parts'). */
  | { type: 'segment'; rendition: string; sequence: number; uri: string; duration: number }
  /** The show's cues changed: every cue, as date ranges. */
  | { type: 'cues'; dateRanges: DateRange[] }
  /** The show is over and storage holds its final playlists. */
  | { type: 'ended' };

/** One event of one show, as a relay would carry it. */
export interface LiveHlsMessage {
  playbackId: string;
  /** The session's tag (its names' prefix): events of an older session of the stream are ignored. */
  sessionTag: string;
  event: LiveHlsEvent;
}
