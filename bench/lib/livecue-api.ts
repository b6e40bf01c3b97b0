// HTTP calls the WebRTC bench makes to livecue: the admin API (streams) and WHIP/WHEP SDP exchanges.

export interface BenchStream {
  id: string;
  playbackId: string;
  ingest: { rtmpUrl: string; streamKey: string; whipUrl: string };
  playback: { hlsUrl: string; whepUrl: string };
}

export interface AdminApi {
  baseUrl: string;
  adminToken: string;
}

export async function api(target: AdminApi, method: string, urlPath: string, body?: unknown): Promise<any> {
  const response = await fetch(`${target.baseUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${target.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

export const createStream = (target: AdminApi, title: string): Promise<BenchStream> => api(target, 'POST', '/v1/streams', { title });

export interface SdpAnswer {
  status: number;
  location?: string;
  answer: string;
}

/** POSTs an SDP offer (WHIP or WHEP), waiting out 429s as livecue asks (a few times); throws unless it answers 201. */
export async function postSdp(url: string, offer: string, headers: Record<string, string> = {}): Promise<SdpAnswer> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: offer });
    const answer = await response.text();
    if (response.status === 429 && attempt < 10) {
      const retryAfterMs = Number((JSON.parse(answer) as { retryAfterMs?: number }).retryAfterMs ?? 100);
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, retryAfterMs)));
      continue;
    }
    if (response.status !== 201) throw new Error(`POST ${url}: ${response.status} ${answer.slice(0, 200)}`);
    return { status: response.status, location: response.headers.get('location') ?? undefined, answer };
  }
}

/** Ends a WHIP/WHEP session by DELETE on its Location (relative to the node's base URL); errors are ignored. */
export async function deleteSession(baseUrl: string, location: string | undefined): Promise<void> {
  if (!location) return;
  const response = await fetch(new URL(location, baseUrl), { method: 'DELETE' }).catch(() => undefined);
  await response?.body?.cancel();
}
