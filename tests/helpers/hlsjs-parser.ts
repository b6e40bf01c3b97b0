// hls.js's own media-playlist parser, for tests that check what a real player reads from livecue's playlists.
// hls.js ships its TypeScript sources; the parser is loaded from them (the bundle does not export it).

/** Fragments as hls.js reads them (the fields the tests look at). */
export interface HlsJsFragment {
  url: string;
  duration: number;
  /** Discontinuity counter. */
  cc: number;
  initSegment: { url: string; cc: number } | null;
}

export type ParseLevelPlaylist = (playlist: string, url: string) => { fragments: HlsJsFragment[]; dateRanges: Record<string, any>; endSN: number };

export async function loadHlsJsParser(): Promise<ParseLevelPlaylist> {
  // The build-time switches hls.js's bundler would inline (full build).
  Object.assign(globalThis, {
    __USE_VARIABLE_SUBSTITUTION__: true,
    __USE_INTERSTITIALS__: true,
    __USE_IFRAMES__: true,
    __USE_EME_DRM__: false,
    __USE_SUBTITLES__: true,
    __USE_ALT_AUDIO__: true,
    __USE_MEDIA_CAPABILITIES__: false,
    __IN_WORKER__: false,
    __HLS_WORKER_BUNDLE__: false,
    __VERSION__: 'test',
  });
  const parserModule = new URL('../../node_modules/hls.js/src/loader/m3u8-parser.ts', import.meta.url).href;
  const { default: M3U8Parser } = await import(/* @vite-ignore */ parserModule);
  return (playlist, url) => M3U8Parser.parseLevelPlaylist(playlist, url, 0, 'main', 0, null);
}
