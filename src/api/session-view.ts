// What the API shows of a live session (encoder state, reconnects, renditions): the same JSON on the
// node holding the show and, fetched from it over /internal, on every other node.
import type { LiveSession } from '../live/live-session.ts';
import type { Logger } from '../log.ts';
import type { OriginDirectory } from '../cluster/origin-directory.ts';
import type { Rendition } from '../transcode/ladder.ts';

export interface SessionView {
  id: string;
  encoderConnected: boolean;
  reconnects: number;
  playable: boolean;
  mediaSeconds: number;
  renditions: Pick<Rendition, 'name' | 'width' | 'height' | 'videoBitrate' | 'frameRate' | 'passthrough'>[];
  /** The node holding the show (its NODE_ID). */
  nodeId: string;
}

export function sessionView(session: LiveSession, nodeId: string): SessionView {
  return {
    id: session.id,
    encoderConnected: session.connected,
    reconnects: session.reconnects,
    playable: session.playable,
    mediaSeconds: Number(session.timeline.duration.toFixed(3)),
    renditions: session.transcoder.renditions.map(({ name, width, height, videoBitrate, frameRate, passthrough }) => ({
      name,
      width,
      height,
      videoBitrate,
      frameRate,
      passthrough,
    })),
    nodeId,
  };
}

/** How long an api node waits for the origin's answer before it shows the stream without its session. */
const REMOTE_SESSION_TIMEOUT_MS = 3000;

/**
 * The session of a show held by another node, asked of that node (found in the origin directory);
 * undefined when no other node holds it or it does not answer in time.
 */
export function remoteSessions(deps: { directory: OriginDirectory; nodeId: string; clusterToken: string; logger: Logger }) {
  return async (streamId: string): Promise<SessionView | undefined> => {
    const origin = await deps.directory.lookup(streamId).catch(() => undefined);
    if (!origin || origin.nodeId === deps.nodeId) return undefined;
    try {
      const response = await fetch(new URL(`/internal/v1/streams/${encodeURIComponent(streamId)}/session`, origin.internalUrl), {
        headers: { authorization: `Bearer ${deps.clusterToken}` },
        signal: AbortSignal.timeout(REMOTE_SESSION_TIMEOUT_MS),
      });
      if (!response.ok) return undefined;
      return (await response.json()) as SessionView;
    } catch (error) {
      deps.logger.debug({ err: error, streamId, originNode: origin.nodeId }, "the show's origin node did not give its session");
      return undefined;
    }
  };
}
