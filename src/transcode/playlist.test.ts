import { describe, expect, it } from 'vitest';
import { avc1Codec, avc1CodecOfSegment, parseMediaPlaylist, renderMasterPlaylist, renderMediaPlaylist, type MediaSegment } from './playlist.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + seconds * 1000);
const segment = (sequence: number, discontinuity = false, start = sequence * 2): MediaSegment => ({
  sequence,
  uri: `abc-${sequence}.ts`,
  duration: 2,
  programDateTime: at(start),
  discontinuity,
});

describe('playlists', () => {
  it("reads FFmpeg's finished segments in order", () => {
    const parsed = parseMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\nseg_000000.ts\n#EXTINF:1.5,\nseg_000001.ts\n#EXT-X-ENDLIST\n');
    expect(parsed).toEqual({
      segments: [
        { uri: 'seg_000000.ts', duration: 2 },
        { uri: 'seg_000001.ts', duration: 1.5 },
      ],
      ended: true,
    });
  });

  it('renders a live window with dates on every segment and a tag at each discontinuity', () => {
    const text = renderMediaPlaylist({ targetDuration: 2, segments: [segment(4), segment(5), segment(6, true, 20)], discontinuitySequence: 0, ended: false });
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:4\n');
    expect(text.match(/#EXT-X-PROGRAM-DATE-TIME/g)).toHaveLength(3);
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-11-24T12:00:20.000Z\n#EXTINF:2.000,\nabc-6.ts');
    expect(text).not.toContain('#EXT-X-ENDLIST');
  });

  it('never tags the first listed segment: the discontinuity sequence counts it instead', () => {
    const text = renderMediaPlaylist({ targetDuration: 2, segments: [segment(6, true), segment(7)], discontinuitySequence: 1, ended: true });
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(text).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it("names the init segment (EXT-X-MAP) of fMP4 segments where it changes: after each run's discontinuity", () => {
    const fmp4 = (sequence: number, run: number, discontinuity = false): MediaSegment => ({
      ...segment(sequence, discontinuity),
      uri: `abc-${sequence}.m4s`,
      map: `abc-init-${run}.mp4`,
    });
    const text = renderMediaPlaylist({
      targetDuration: 2,
      segments: [fmp4(0, 0), fmp4(1, 0), fmp4(2, 1, true), fmp4(3, 1)],
      discontinuitySequence: 0,
      ended: true,
    });
    expect(text.match(/#EXT-X-MAP:URI="[^"]+"/g)).toEqual(['#EXT-X-MAP:URI="abc-init-0.mp4"', '#EXT-X-MAP:URI="abc-init-1.mp4"']);
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="abc-init-1.mp4"\n#EXT-X-PROGRAM-DATE-TIME');
    expect(text.indexOf('#EXT-X-MAP')).toBeLessThan(text.indexOf('abc-0.m4s'));
    // MPEG-TS segments carry no map.
    expect(renderMediaPlaylist({ targetDuration: 2, segments: [segment(0)], discontinuitySequence: 0, ended: true })).not.toContain('#EXT-X-MAP');
  });

  it('renders a master playlist with the attributes players choose by', () => {
    const text = renderMasterPlaylist([
      { uri: '720p/index.m3u8', bandwidth: 3_488_000, averageBandwidth: 2_928_000, width: 1280, height: 720, frameRate: 30, codecs: 'avc1.42C01F,mp4a.40.2' },
    ]);
    expect(text).toBe(
      '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=3488000,AVERAGE-BANDWIDTH=2928000,RESOLUTION=1280x720,CODECS="avc1.42C01F,mp4a.40.2",FRAME-RATE=30.000\n720p/index.m3u8\n',
    );
  });

  it('derives the RFC 6381 codec string from the SPS found in a segment', () => {
    expect(avc1Codec(100, 0, 40)).toBe('avc1.640028');
    const fakeSegment = Buffer.from([0x47, 0x40, 0x00, 0x10, 0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x4d, 0x40, 0x1f, 0xaa]);
    expect(avc1CodecOfSegment(fakeSegment)).toBe('avc1.4D401F');
    expect(avc1CodecOfSegment(Buffer.alloc(400))).toBeUndefined();
  });
});
