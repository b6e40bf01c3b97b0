// Watches what reaches livecue's ingest in-process: wraps SessionRegistry.publish to time every video FLV tag as the session receives it.
import type { Livecue } from '../../src/app.ts';
import type { IngestConnection } from '../../src/ingest/ingest-connection.ts';
import { presentationTime } from '../../src/media/flv-tag.ts';
import type { IngestPacket } from '../../src/media/ingest-packet.ts';

export interface VideoArrival {
  /** FLV decode timestamp (ms, the encoder's clock). */
  dts: number;
  /** Presentation timestamp (ms): the decode timestamp plus the composition offset, which B-frames make non-zero. */
  pts: number;
  /** Date.now() when the ingest connection emitted the tag to the session. */
  at: number;
  key: boolean;
}

/** Arrivals of every video tag of every publish from now on, per stream key (first publish only). */
export class IngestTap {
  readonly arrivals = new Map<string, VideoArrival[]>();

  constructor(node: Livecue) {
    const registry = node.registry;
    const publish = registry.publish.bind(registry);
    // Listeners added before the session's own: the time is taken before livecue handles the tag.
    registry.publish = async (streamKey: string, ingest: IngestConnection) => {
      if (!this.arrivals.has(streamKey)) {
        const list: VideoArrival[] = [];
        this.arrivals.set(streamKey, list);
        ingest.on('packet', (packet: IngestPacket) => {
          if (packet.kind === 'video' || packet.kind === 'video-key')
            list.push({ dts: packet.dts, pts: presentationTime(packet), at: Date.now(), key: packet.kind === 'video-key' });
        });
      }
      return publish(streamKey, ingest);
    };
  }

  /**
   * Each video arrival with its frame's index in capture order: its presentation time from the first keyframe's,
   * on the frame grid (with B-frames, arrival order is decode order, not capture order).
   */
  framesOf(streamKey: string, fps: number): (VideoArrival & { index: number })[] {
    const raw = this.arrivals.get(streamKey) ?? [];
    const first = raw.find((arrival) => arrival.key);
    if (!first) return [];
    return raw.map((arrival) => ({ ...arrival, index: Math.round(((arrival.pts - first.pts) * fps) / 1000) }));
  }
}
