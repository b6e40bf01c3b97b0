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
