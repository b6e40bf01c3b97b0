// The web pages livecue serves from its own origin: the viewer page (/watch/<playbackId>), the host
// console (/console) and their bundle (/assets), built from web/ by `npm run build:web`.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type Response } from 'express';

/** Hashed file names (Vite): an asset never changes under its name. */
const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** The HTML names the current assets, so it is revalidated every time. */
const PAGE_CACHE_CONTROL = 'no-cache';
const PLAYBACK_ID = /^[A-Za-z0-9]{8,64}$/;

/**
 * Everything loads from livecue itself (no CDN); media plays from MSE blobs (hls.js, whose worker is
 * a blob too) or a MediaStream; 'self' covers the cue WebSocket on the same host and port (CSP 3);
 * product pictures come from the shop's https: origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function securityHeaders(res: Response, options: { embeddable: boolean }): void {
  // The viewer page may be embedded in a shop's page; the console never.
  res.setHeader('Content-Security-Policy', `${CONTENT_SECURITY_POLICY}; frame-ancestors ${options.embeddable ? '*' : "'none'"}`);
  if (!options.embeddable) res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
}

const NOT_BUILT_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>livecue: pages not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The web pages are not built</h1>
<p>This livecue serves its API, HLS and WebRTC, but the viewer page and the host console have not been
built. Run <code>npm run build:web</code> in the livecue directory (it writes <code>dist/web</code>),
then reload this page.</p>
</body></html>
`;

export function pagesRouter(options: { webRoot: string }): Router {
  const webRoot = path.resolve(options.webRoot);
  const router = Router();

  const sendPage = async (res: Response, file: string, embeddable: boolean) => {
    securityHeaders(res, { embeddable });
    const absolute = path.join(webRoot, file);
    const built = await stat(absolute).then((info) => info.isFile(), () => false);
    if (!built) {
      res.status(503).setHeader('Cache-Control', 'no-store').setHeader('Retry-After', '60').type('html').send(NOT_BUILT_HTML);
      return;
    }
    res.setHeader('Cache-Control', PAGE_CACHE_CONTROL);
    res.type('html').sendFile(absolute);
  };

  router.get('/watch/:playbackId', async (req, res, next) => {
    // An id that cannot exist gets the API's 404, not a page that fails later.
    if (!PLAYBACK_ID.test(req.params.playbackId)) return next();
    await sendPage(res, 'watch.html', true);
  });
  router.get('/console', async (_req, res) => {
    await sendPage(res, 'console.html', false);
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
