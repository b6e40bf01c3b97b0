// Seek-preview thumbnails: a WebVTT track whose cues name a region of a sprite image
// (`thumbnails.jpg#xywh=x,y,w,h`, relative to the track's URL), one every few seconds of the replay.

export interface Thumbnail {
  start: number;
  end: number;
  /** The sprite, absolute, without the fragment. */
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** "01:02:03.456", "02:03.456" → seconds. */
function vttSeconds(text: string): number | undefined {
  const match = /^(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})$/.exec(text);
  if (!match) return undefined;
  return Number(match[1] ?? 0) * 3600 + Number(match[2]) * 60 + Number(match[3]) + Number(match[4]) / 1000;
}

/** The track's cues that name a sprite region, in time order; anything else is skipped. */
export function parseThumbnailTrack(text: string, trackUrl: string): Thumbnail[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n');
  if (!lines[0]?.startsWith('WEBVTT')) return [];
  const thumbnails: Thumbnail[] = [];
  for (const [index, line] of lines.entries()) {
    const timing = /^\s*(\S+)\s+-->\s+(\S+)/.exec(line);
    const payload = lines[index + 1]?.trim();
    if (!timing || !payload) continue;
    const start = vttSeconds(timing[1]!);
    const end = vttSeconds(timing[2]!);
    let url: URL;
    try {
      url = new URL(payload, trackUrl);
    } catch {
      continue;
    }
    const region = /^xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)$/.exec(url.hash.slice(1));
    if (start === undefined || end === undefined || !region || (url.protocol !== 'http:' && url.protocol !== 'https:')) continue;
    url.hash = '';
    const [x, y, width, height] = region.slice(1).map(Number) as [number, number, number, number];
    if (width > 0 && height > 0) thumbnails.push({ start, end, url: url.href, x, y, width, height });
  }
  return thumbnails.sort((a, b) => a.start - b.start);
}

export class ThumbnailTrack {
  readonly #thumbnails: Thumbnail[];

  constructor(thumbnails: Thumbnail[]) {
    this.#thumbnails = thumbnails;
    // Fetched once up front, so the first hover shows a picture at once.
    for (const url of new Set(thumbnails.map((thumbnail) => thumbnail.url))) new Image().src = url;
  }

  static async load(url: string): Promise<ThumbnailTrack | undefined> {
    const response = await fetch(url).catch(() => undefined);
    if (!response?.ok) return undefined;
    const thumbnails = parseThumbnailTrack(await response.text(), new URL(url, location.href).href);
    return thumbnails.length > 0 ? new ThumbnailTrack(thumbnails) : undefined;
  }

  /** The picture for a video time: the cue covering it, else the last one that started before it. */
  at(time: number): Thumbnail | undefined {
    let found: Thumbnail | undefined;
    for (const thumbnail of this.#thumbnails) {
      if (thumbnail.start > time) break;
      found = thumbnail;
      if (time < thumbnail.end) break;
    }
    return found ?? this.#thumbnails[0];
  }
}
