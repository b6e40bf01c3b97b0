// The web pages livecue serves from its own origin: the viewer page (/watch/<playbackId>), the host
// console (/console) and their bundle (/assets), built from web/ by `npm run build:web`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type Response } from 'express';

/** Hashed file names (Vite): an asset never changes under its name. */
const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** The HTML names the current assets, so it is revalidated every time. */
const PAGE_CACHE_CONTROL = 'no-cache';
const PLAYBACK_ID = /^[A-Za-z0-9]{8,64}$/;
const CLIP_ID = /^clp_[A-Za-z0-9]{16}$/;

/**
 * Everything loads from livecue itself (no CDN); media plays from MSE blobs (hls.js, whose worker is
 * a blob too) or a MediaStream; 'self' covers the cue WebSocket on the same host and port (CSP 3);
 * product pictures come from the shop's https: origin. With CDN_BASE_URL the viewer page plays HLS
 * (playlists and segments fetched by hls.js, posters and seek previews) from the CDN's origin too.
 */
function contentSecurityPolicy(mediaOrigin?: string): string {
  const media = mediaOrigin ? ` ${mediaOrigin}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' https: data:${media}`,
    `media-src 'self' blob:${media}`,
    "worker-src 'self' blob:",
    `connect-src 'self'${media}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

function securityHeaders(res: Response, options: { embeddable: boolean; mediaOrigin?: string }): void {
  // The viewer page may be embedded in a shop's page; the console never.
  res.setHeader('Content-Security-Policy', `${contentSecurityPolicy(options.mediaOrigin)}; frame-ancestors ${options.embeddable ? '*' : "'none'"}`);
  if (!options.embeddable) res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
}

/** Where the viewer page finds the HLS base (read by web/src/watch/main.ts), set only with CDN_BASE_URL. */
export const HLS_BASE_META = 'livecue-hls-base';

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const NOT_BUILT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>livecue: pages not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The web pages are not built</h1>
<p>This livecue serves its API, HLS and WebRTC, but the viewer page and the host console have not been
built. Run <code>npm run build:web</code> in the livecue directory (it writes <code>dist/web</code>),
then reload this page.</p>
</body></html>
`;

/** `cdnBaseUrl`: CDN_BASE_URL, where viewers fetch /hls/… from instead of livecue's own origin. */
export function pagesRouter(options: { webRoot: string; cdnBaseUrl?: string }): Router {
  const webRoot = path.resolve(options.webRoot);
  const router = Router();
  const cdnBase = options.cdnBaseUrl?.replace(/\/+$/, '');
  const mediaOrigin = cdnBase ? new URL(cdnBase).origin : undefined;

  const sendPage = async (res: Response, file: string, options: { embeddable: boolean; mediaOrigin?: string; hlsBase?: string }) => {
    securityHeaders(res, options);
    const absolute = path.join(webRoot, file);
    const html = await readFile(absolute, 'utf8').catch(() => undefined);
    if (html === undefined) {
      res.status(503).setHeader('Cache-Control', 'no-store').setHeader('Retry-After', '60').type('html').send(NOT_BUILT_HTML);
      return;
    }
    res.setHeader('Cache-Control', PAGE_CACHE_CONTROL);
    // The HLS base rides in a <meta> (no inline script: the CSP allows none).
    const meta = options.hlsBase ? `<meta name="${HLS_BASE_META}" content="${escapeAttribute(options.hlsBase)}" />\n  ` : '';
    res.type('html').send(meta ? html.replace('</head>', `${meta}</head>`) : html);
  };

  router.get('/watch/:playbackId', async (req, res, next) => {
    // An id that cannot exist gets the API's 404, not a page that fails later.
    if (!PLAYBACK_ID.test(req.params.playbackId)) return next();
    await sendPage(res, 'watch.html', { embeddable: true, mediaOrigin, hlsBase: cdnBase });
  });
  // A shoppable clip's page (issue #19): embeddable like the viewer page.
  router.get('/clip/:id', async (req, res, next) => {
    if (!CLIP_ID.test(req.params.id)) return next();
    await sendPage(res, 'clip.html', { embeddable: true, mediaOrigin, hlsBase: cdnBase });
  });
  router.get('/console', async (_req, res) => {
    await sendPage(res, 'console.html', { embeddable: false });
  });
  router.use(
    '/assets',
    express.static(path.join(webRoot, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      redirect: false,
      fallthrough: true,
      setHeaders: (res) => res.setHeader('Cache-Control', ASSET_CACHE_CONTROL),
    }),
  );
  return router;
}
