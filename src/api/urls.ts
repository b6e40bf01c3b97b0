// The public addresses livecue hands out: where encoders push and where viewers play.
import type { Config } from '../config/schema.ts';
import { RTMP_APP } from '../ingest/rtmp-connection.ts';

export interface PublicUrls {
  api: string;
  rtmp: string;
  /** Set when RTMPS ingest is on. */
  rtmps?: string;
  hlsBase: string;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

export function publicUrls(config: Config, ports: { http: number; rtmp: number; rtmps?: number }): PublicUrls {
  const api = trimSlash(config.PUBLIC_URL ?? `http://localhost:${ports.http}`);
  const rtmp = trimSlash(config.RTMP_PUBLIC_URL ?? `rtmp://${new URL(api).hostname}:${ports.rtmp}/${RTMP_APP}`);
  const rtmps = ports.rtmps === undefined ? undefined : trimSlash(config.RTMPS_PUBLIC_URL ?? `rtmps://${new URL(api).hostname}:${ports.rtmps}/${RTMP_APP}`);
  const hlsBase = trimSlash(config.CDN_BASE_URL ?? api);
  return { api, rtmp, ...(rtmps ? { rtmps } : {}), hlsBase };
}

/** A stream's HLS playlists: the live one (Low-Latency HLS while live) and the rewind (DVR) one; a token path for private streams. */
export function hlsUrls(urls: PublicUrls, playbackId: string, token?: string): { hlsUrl: string; dvrHlsUrl: string } {
  const base = `${urls.hlsBase}/hls/${playbackId}${token ? `/t/${token}` : ''}`;
  return { hlsUrl: `${base}/master.m3u8`, dvrHlsUrl: `${base}/dvr.m3u8` };
}
