// What an LL-HLS client reads from a media playlist to ask for what comes next: the newest part (its media
// sequence number and index within its segment) and the part the server hints at.

export interface NewestPart {
  msn: number;
  part: number;
  uri: string;
}

export interface LlPlaylistView {
  /** The newest listed part, if the playlist lists parts. */
  newest?: NewestPart;
  /** The URI of EXT-X-PRELOAD-HINT:TYPE=PART. */
  hintUri?: string;
  /** PART-TARGET of EXT-X-PART-INF, seconds. */
  partTarget?: number;
  ended: boolean;
}

const attribute = (line: string, name: string) => new RegExp(`${name}=("([^"]*)"|[^,]*)`).exec(line)?.[2] ?? new RegExp(`${name}=([^,]*)`).exec(line)?.[1];

/** Reads an LL-HLS media playlist (full or delta update) as RFC 8216bis numbers its parts. */
export function readLlPlaylist(text: string): LlPlaylistView {
  const view: LlPlaylistView = { ended: false };
  let msn = 0;
  let part = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) msn = Number(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
    else if (line.startsWith('#EXT-X-SKIP:')) msn += Number(attribute(line, 'SKIPPED-SEGMENTS') ?? 0);
    else if (line.startsWith('#EXT-X-PART-INF:')) view.partTarget = Number(attribute(line, 'PART-TARGET'));
    else if (line.startsWith('#EXT-X-PART:')) view.newest = { msn, part: part++, uri: attribute(line, 'URI') ?? '' };
    else if (line.startsWith('#EXT-X-PRELOAD-HINT:') && attribute(line, 'TYPE') === 'PART') view.hintUri = attribute(line, 'URI');
    else if (line === '#EXT-X-ENDLIST') view.ended = true;
    else if (line && !line.startsWith('#')) {
      msn++;
      part = 0;
    }
  }
  return view;
}
