// hls.js's own playlist parser, in node: hls.js ships its TypeScript sources and the parser is loaded
// from them (the bundle does not export it), with the build-time switches its bundler would inline.

export type HlsJsLevelDetails = any;

let parser: ((playlist: string, url: string) => HlsJsLevelDetails) | undefined;

/** Parses a media playlist as hls.js does (LevelDetails: fragments, partList, dateRanges, canBlockReload, ...). */
export async function hlsJsMediaParser(): Promise<(playlist: string, url: string) => HlsJsLevelDetails> {
  if (parser) return parser;
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
  parser = (playlist, url) => M3U8Parser.parseLevelPlaylist(playlist, url, 0, 'main', 0, null);
  return parser;
}
