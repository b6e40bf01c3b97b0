// A restream target's server URL (rtmp:// or rtmps://, without the key): checked at the API edge,
// split for FFmpeg, and shown in logs only masked (scheme, host and port), because operators paste
// URLs that carry secrets of their own.

export interface TargetEndpoint {
  protocol: 'rtmp' | 'rtmps';
  host: string;
  port: number;
  /** RTMP application (everything after the host), e.g. "live2" or "app/instance". */
  app: string;
  /** rtmp(s)://host:port/app, what FFmpeg connects to (the key travels as the publish name). */
  serverUrl: string;
}

const DEFAULT_PORTS = { rtmp: 1935, rtmps: 443 } as const;
const APP_CHARACTERS = /^[A-Za-z0-9._~!$&'()*+,;=:@%/-]+$/;

/** Why a URL cannot be a restream target, or undefined when it can. Never repeats the URL. */
export function targetUrlProblem(url: string): string | undefined {
  if (/[\s\x00-\x1f\x7f]/.test(url)) return 'must not contain spaces or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an rtmp:// or rtmps:// URL, e.g. rtmp://a.rtmp.youtube.com/live2';
  }
  if (parsed.protocol !== 'rtmp:' && parsed.protocol !== 'rtmps:') return 'must start with rtmp:// or rtmps://';
  if (!parsed.hostname) return 'must name a host';
  if (parsed.username || parsed.password) return 'must not carry credentials (user:password@)';
  if (parsed.search || parsed.hash || url.includes('?') || url.includes('#')) return 'must not carry a query or fragment: put the whole key in streamKey';
  const app = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (!app) return 'must name the RTMP application, e.g. rtmp://host/live';
  if (!APP_CHARACTERS.test(app)) return 'the application path has characters RTMP servers do not take';
  return undefined;
}

export function parseTargetUrl(url: string): TargetEndpoint {
  const problem = targetUrlProblem(url);
  if (problem) throw new Error(`restream URL ${problem}`);
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'rtmps:' ? 'rtmps' : 'rtmp';
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORTS[protocol];
  const app = parsed.pathname.replace(/^\/+|\/+$/g, '');
  return { protocol, host: parsed.hostname, port, app, serverUrl: `${protocol}://${parsed.hostname}:${port}/${app}` };
}

/** What a log line may say about a target: rtmps://live-api-s.facebook.com:443/… */
export function maskedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '(invalid url)';
  }
}
