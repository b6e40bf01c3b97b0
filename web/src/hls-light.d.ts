// hls.js's light build (no alt audio, subtitles, EME) ships no type file of its own; its API is the full build's.
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
