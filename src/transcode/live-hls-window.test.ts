import { describe, expect, it } from 'vitest';
import type { LiveHlsEvent } from './live-hls-events.ts';
import { partTarget } from './hls-packager.ts';
import { LiveHlsShow, partUri } from './live-hls-windows.ts';

const TAG = 'abcd1234';
const timing = { segmentSeconds: 2, targetDuration: 2, partTarget: 0.334, windowSegments: 12 };
const start = Date.UTC(2026, 11, 5, 12, 0, 0);

/** Feeds `segments` whole 2 s segments of six 1/3 s parts (then `openParts` more) to a two-rendition show. */
function feed(show: LiveHlsShow, segments: number, openParts = 0, run = 0, firstSequence = 0): void {
  for (const rendition of ['720p', '360p']) show.apply({ type: 'init', rendition, uri: `${TAG}-init-${run}.mp4`, bytes: Buffer.from(`init${run}`) });
  for (let sequence = firstSequence; sequence < firstSequence + segments + (openParts > 0 ? 1 : 0); sequence++) {
    const parts = sequence < firstSequence + segments ? 6 : openParts;
    for (const rendition of ['720p', '360p']) {
      const segment = {
        sequence,
        discontinuity: run > 0 && sequence === firstSequence,
        map: `${TAG}-init-${run}.mp4`,
        programDateTime: new Date(start + sequence * 2000).toISOString(),
      };
      for (let index = 0; index < parts; index++) {
        const event: LiveHlsEvent = {
          type: 'part',
          rendition,
          segment,
          index,
          uri: partUri(TAG, sequence, index),
          duration: 1 / 3,
          independent: index === 0,
          bytes: Buffer.from(`${rendition}-${sequence}.${index};`),
        };
        show.apply(event);
      }
      if (parts === 6) show.apply({ type: 'segment', rendition, sequence, uri: `${TAG}-${sequence}.m4s`, duration: 2 });
    }
  }
}

/** The playlist's parts: durations and the segment they precede (null: the segment in progress). */
function partsOf(text: string): { segment: string | null; durations: number[] }[] {
  const groups: { segment: string | null; durations: number[] }[] = [{ segment: null, durations: [] }];
  for (const line of text.split('\n')) {
    const part = /^#EXT-X-PART:DURATION=([\d.]+)/.exec(line);
    if (part) groups.at(-1)!.durations.push(Number(part[1]));
    if (/^[^#].*\.m4s$/.test(line)) {
      groups.at(-1)!.segment = line;
      groups.push({ segment: null, durations: [] });
    }
  }
  return groups.filter((group) => group.durations.length > 0);
}

describe('live HLS window', () => {
  it('renders the LL-HLS playlist: server control, part target, parts of the last segments, a hint, rendition reports', () => {
    const show = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(show, 5, 2);
    const text = show.playlist('720p', false)!;
    expect(text).toContain('#EXT-X-VERSION:9\n');
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002,CAN-SKIP-UNTIL=12.0\n');
    expect(text).toContain('#EXT-X-PART-INF:PART-TARGET=0.334\n');
    expect(text).toContain(`#EXT-X-MAP:URI="${TAG}-init-0.mp4"`);
    expect(text.match(/#EXT-X-PROGRAM-DATE-TIME/g)).toHaveLength(6);
    // Parts: those of segments 2 to 4 (three target durations), and the two of segment 5 in progress; each within the target, adding up to its segment.
    const groups = partsOf(text);
    expect(groups.map((group) => group.segment)).toEqual([`${TAG}-2.m4s`, `${TAG}-3.m4s`, `${TAG}-4.m4s`, null]);
    for (const group of groups) for (const duration of group.durations) expect(duration).toBeLessThanOrEqual(0.334);
    for (const group of groups.slice(0, 3)) expect(group.durations.reduce((a, b) => a + b)).toBeCloseTo(2, 3);
    expect(text).toContain(`#EXT-X-PART:DURATION=0.33333,URI="${TAG}-5.0.m4s",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.33333,URI="${TAG}-5.1.m4s"\n`);
    expect(text).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${TAG}-5.2.m4s"`);
    expect(text).toContain('#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=5,LAST-PART=1');
    expect(text).not.toContain('#EXT-X-ENDLIST');
  });

  it("hints the next segment's first part once the one in progress is whole", () => {
    const show = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(show, 2, 5);
    expect(show.playlist('720p', false)).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${TAG}-2.5.m4s"`);
    const segment = { sequence: 2, discontinuity: false, map: `${TAG}-init-0.mp4`, programDateTime: new Date(start + 4000).toISOString() };
    show.apply({ type: 'part', rendition: '720p', segment, index: 5, uri: partUri(TAG, 2, 5), duration: 1 / 3, independent: false, bytes: Buffer.from('x') });
    expect(show.windows.get('720p')!.nextPart).toEqual({ msn: 3, part: 0 });
    expect(show.playlist('720p', false)).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${TAG}-3.0.m4s"`);
  });

  it('answers what exists for blocking reloads, and wakes a waiter when its part arrives', async () => {
    const show = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(show, 1, 1);
    const window = show.windows.get('720p')!;
    expect(window.has(0)).toBe(true);
    expect(window.has(1, 0)).toBe(true);
    expect(window.has(1, 1)).toBe(false);
    expect(window.has(1)).toBe(false);
    const waiting = show.waitFor(() => window.has(1, 1), 5000);
    feed(show, 0, 2, 0, 1);
    expect(await waiting).toBe(true);
    expect(await show.waitFor(() => window.has(9), 20)).toBe(false);
  });

  it("gives a mirror that joins mid-segment the origin's live edge, and a snapshot replayed to an up-to-date mirror changes nothing", () => {
    const origin = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(origin, 6, 2);
    const mirror = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    const snapshot = origin.snapshot();
    expect(snapshot[0]).toEqual({ type: 'started', renditions: ['720p', '360p'], ...timing });
    for (const event of snapshot) mirror.apply(event);
    // The last three closed segments with their parts, and the two parts of the segment in progress.
    const edge = (text: string) => text.slice(text.indexOf(`${TAG}-4.0.m4s`));
    const mirrored = mirror.playlist('720p', false)!;
    expect(partsOf(mirrored).map((group) => group.segment)).toEqual([`${TAG}-3.m4s`, `${TAG}-4.m4s`, `${TAG}-5.m4s`, null]);
    expect(edge(mirrored)).toBe(edge(origin.playlist('720p', false)!));
    expect(mirror.windows.get('360p')!.object(`${TAG}-6.1.m4s`)).toEqual({ kind: 'part', bytes: Buffer.from('360p-6.1;') });
    expect(mirror.windows.get('360p')!.object(`${TAG}-init-0.mp4`)!.kind).toBe('init');

    // The mirror goes on with the live events; a snapshot sent later (to another mirror) leaves it as it is.
    feed(origin, 0, 3, 0, 6);
    const late = { sequence: 6, discontinuity: false, map: `${TAG}-init-0.mp4`, programDateTime: new Date(start + 12000).toISOString() };
    mirror.apply({
      type: 'part',
      rendition: '720p',
      segment: late,
      index: 2,
      uri: partUri(TAG, 6, 2),
      duration: 1 / 3,
      independent: false,
      bytes: Buffer.from('720p-6.2;'),
    });
    const before = mirror.playlist('720p', false);
    for (const event of snapshot) mirror.apply(event);
    expect(mirror.playlist('720p', false)).toBe(before);
    expect(mirror.windows.get('720p')!.last).toEqual({ msn: 6, part: 2 });
  });

  it('serves parts, whole segments (their parts) and inits from memory', () => {
    const show = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(show, 1, 1);
    const window = show.windows.get('360p')!;
    expect(window.object(`${TAG}-1.0.m4s`)).toEqual({ kind: 'part', bytes: Buffer.from('360p-1.0;') });
    expect(window.object(`${TAG}-0.m4s`)!.bytes.toString()).toBe('360p-0.0;360p-0.1;360p-0.2;360p-0.3;360p-0.4;360p-0.5;');
    expect(window.object(`${TAG}-init-0.mp4`)!.kind).toBe('init');
    expect(window.object('other-0.m4s')).toBeUndefined();
  });

  it('leaves out of a delta update the segments older than CAN-SKIP-UNTIL', () => {
    const show = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(show, 10, 1);
    const full = show.playlist('720p', false)!;
    const delta = show.playlist('720p', true)!;
    // 20 s listed, 12 s may not be skipped: the first four segments go.
    expect(delta).toContain('#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n');
    expect(delta).toContain('#EXT-X-MEDIA-SEQUENCE:0\n');
    expect(delta).not.toContain(`${TAG}-3.m4s`);
    expect(delta).toContain(`${TAG}-4.m4s`);
    expect(delta).toContain(`#EXT-X-MAP:URI="${TAG}-init-0.mp4"`);
    expect(full).not.toContain('#EXT-X-SKIP');
  });

  it('marks a new run with a discontinuity and its own init, and closes with ENDLIST', () => {
    const show = new LiveHlsShow(TAG, timing, ['720p', '360p']);
    feed(show, 2);
    feed(show, 1, 1, 1, 2);
    show.apply({
      type: 'cues',
      dateRanges: [{ id: 'cue_1', className: 'com.livecue.product.pin', startDate: new Date(start + 1000).toISOString(), attributes: {} }],
    });
    show.apply({ type: 'ended' });
    const text = show.playlist('720p', false)!;
    expect(text).toContain(`#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="${TAG}-init-1.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2026-12-05T12:00:04.000Z`);
    expect(text).toContain('#EXT-X-DATERANGE:ID="cue_1"');
    expect(text).not.toContain('PRELOAD-HINT');
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });
});

describe('part target', () => {
  it('is PART_SECONDS in whole frames of the slowest-cutting rung, rounded up to the millisecond', () => {
    expect(partTarget(1 / 3, [30])).toBe(0.334);
    // 25 fps: nine frames (0.36 s) reach a third of a second; 50 fps: seventeen (0.34 s).
    expect(partTarget(1 / 3, [50, 25])).toBe(0.36);
    expect(partTarget(0.5, [30, 30])).toBe(0.5);
  });
});
