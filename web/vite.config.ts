// Builds the viewer page and the host console into dist/web, served by livecue (src/api/pages.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // hls.js is loaded only when a page needs HLS; it is its own chunk and bigger than the default warning.
    chunkSizeWarningLimit: 450,
    rollupOptions: {
      input: { watch: here('watch.html'), console: here('console.html'), clip: here('clip.html') },
    },
  },
});
