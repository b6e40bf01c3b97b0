// Child process of the LL-HLS bench: hundreds of low-latency HLS clients on one show, each doing what hls.js does
// at the live edge: a blocking playlist reload for the part after the newest it knows, then a fetch of that part.
// For each part, every client's answer is timed against the first client's: how long the origin takes to release
// all the requests it held for it.
import { answerRequests } from './ipc-child.ts';
import { readLlPlaylist } from './ll-playlist.ts';

export type LlClientsRequest =
  { id: number; type: 'run'; playlistUrl: string; clients: number; seconds: number; fetchParts: boolean } | { id: number; type: 'close' };

export interface LlClientsResult {
  clients: number;
  reloads: number;
  partsFetched: number;
  partBytes: number;
  errors: number;
  errorSamples: string[];
  /** Per answered blocking reload: ms after the first client's answer for the same part. */
  releaseLagMs: number[];
  /** Per blocking reload: ms from the request to its answer (the wait for the part included). */
  reloadMs: number[];
}

export type LlClientsReply = { id: number; type: 'ran'; result: LlClientsResult } | { id: number; type: 'closed' };

// Node's fetch keeps connections alive and opens as many per origin as there are requests in flight, so each
// client holds its own socket for the held playlist request, as a browser on its own machine would.

async function getText(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, text: await response.text() };
}

async function run(request: Extract<LlClientsRequest, { type: 'run' }>): Promise<LlClientsResult> {
  const result: LlClientsResult = {
    clients: request.clients,
    reloads: 0,
    partsFetched: 0,
    partBytes: 0,
    errors: 0,
    errorSamples: [],
    releaseLagMs: [],
    reloadMs: [],
  };
  const firstAnswer = new Map<string, number>();
  const answers: { key: string; at: number }[] = [];
  const deadline = performance.now() + request.seconds * 1000;
  const failed = (what: string) => {
    result.errors++;
    if (result.errorSamples.length < 5) result.errorSamples.push(what);
  };

  const client = async (index: number) => {
    // Spread the joins over a second, as a crowd arriving would.
    await new Promise((resolve) => setTimeout(resolve, (index * 1000) / request.clients));
    let view = readLlPlaylist((await getText(request.playlistUrl)).text);
    while (performance.now() < deadline && view.newest && !view.ended) {
      const next = { msn: view.newest.msn, part: view.newest.part + 1 };
      const url = new URL(request.playlistUrl);
      url.searchParams.set('_HLS_msn', String(next.msn));
      url.searchParams.set('_HLS_part', String(next.part));
      const asked = performance.now();
      try {
        const { status, text } = await getText(url.href);
        const at = performance.now();
        if (status !== 200) {
          failed(`playlist ${status}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        result.reloads++;
        result.reloadMs.push(at - asked);
        view = readLlPlaylist(text);
        const key = `${view.newest?.msn}.${view.newest?.part}`;
        if (!firstAnswer.has(key)) firstAnswer.set(key, at);
        answers.push({ key, at });
        if (request.fetchParts && view.newest) {
          const part = await fetch(new URL(view.newest.uri, request.playlistUrl), { signal: AbortSignal.timeout(15_000) });
          const body = await part.arrayBuffer();
          if (part.status === 200) {
            result.partsFetched++;
            result.partBytes += body.byteLength;
          } else failed(`part ${part.status}`);
        }
      } catch (error) {
        failed((error as Error).message);
      }
    }
  };

  await Promise.all(Array.from({ length: request.clients }, (_, index) => client(index)));
  for (const { key, at } of answers) result.releaseLagMs.push(at - firstAnswer.get(key)!);
  return result;
}

answerRequests(async (request: LlClientsRequest): Promise<LlClientsReply> =>
  request.type === 'run' ? { id: request.id, type: 'ran', result: await run(request) } : { id: request.id, type: 'closed' },
);
