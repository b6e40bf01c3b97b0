// The admin API as the console uses it: Bearer token from the sign-in form, problem+json errors.
import type { CueMessage } from '../../../src/contract/cue-message.ts';
import type { CueState } from '../../../src/contract/cues.ts';
import type { Product } from '../player/product.ts';

export interface StreamView {
  id: string;
  title: string;
  /** idle, live or ended (a newer server may add states: shown as they come). */
  status: string;
  playbackId: string;
  /** Plays only with a signed playback token. */
  private?: boolean;
  createdAt: string;
  ingest: { rtmpUrl: string; whipUrl: string; streamKey?: string };
  playback: { hlsUrl: string; whepUrl: string };
  session?: {
    id: string;
    encoderConnected: boolean;
    reconnects: number;
    playable: boolean;
    mediaSeconds: number;
    renditions: { name: string; width: number; height: number; videoBitrate: number; frameRate: number; passthrough: boolean }[];
  };
  /** Present when the stream is a scheduled show. */
  schedule?: ShowSchedule;
}

/** A stream's scheduled show (GET /v1/streams/:id). */
export interface ShowSchedule {
  startAt: string;
  description: string | null;
  coverImageUrl: string | null;
  products: string[];
  late: boolean;
  upcoming: boolean;
  reminders: number;
  watchUrl: string;
  calendarUrl: string;
}

export type { Product };

/** A cue as the API answers it (the contract's). */
export type Cue = CueMessage;

/** What is open on the show now: the server's fold of its cues (the contract's one fold, src/contract/cue-fold.ts). */
export type { CueState };

export interface Recording {
  id: string;
  status: string;
  durationSeconds: number | null;
  createdAt: string;
  playback: { hlsUrl: string | null };
}

/** The part of GET /v1/streams/:id/analytics the console shows. */
export interface StreamAnalytics {
  live: { viewers: { webrtc: number; hls: number; replay: number; total: number } };
  perMinute: { minute: string; chat: number; reactions: number; votes: number; claims: number; taps: number; peakViewers: number }[];
  products: { productId: string; views: number; clicks: number; claims: number; conversion: number; clickRate: number }[];
  summary: { peakViewers: number; averageViewers: number };
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export class AdminApi {
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const detail = (parsed as { detail?: string; title?: string } | undefined)?.detail ?? (parsed as { title?: string } | undefined)?.title;
      throw new ApiError(response.status, detail ?? `${method} ${path} answered ${response.status}`);
    }
    return parsed as T;
  }

  listStreams = () => this.request<{ streams: StreamView[] }>('GET', '/v1/streams').then((body) => body.streams);
  getStream = (id: string) => this.request<StreamView>('GET', `/v1/streams/${id}`);
  createStream = (title: string) => this.request<StreamView>('POST', '/v1/streams', { title });
  rotateKey = (id: string) => this.request<{ streamKey: string }>('POST', `/v1/streams/${id}/rotate-key`).then((body) => body.streamKey);
  listProducts = () => this.request<{ products: Product[] }>('GET', '/v1/products').then((body) => body.products);
  createProduct = (product: Omit<Product, 'id'>) => this.request<Product>('POST', '/v1/products', product);
  listCues = (id: string) => this.request<{ cues: Cue[] }>('GET', `/v1/streams/${id}/cues`).then((body) => body.cues);
  cueState = (id: string) => this.request<CueState>('GET', `/v1/streams/${id}/cues/state`);
  placeCue = (id: string, cue: Record<string, unknown>) => this.request<Cue>('POST', `/v1/streams/${id}/cues`, cue);
  playbackToken = (id: string, expiresInSeconds: number) =>
    this.request<{ token: string; expiresAt: string }>('POST', `/v1/streams/${id}/playback-tokens`, { expiresInSeconds });
  analytics = (id: string) => this.request<StreamAnalytics>('GET', `/v1/streams/${id}/analytics`);
  /** Scheduled shows: PATCH the schedule fields (scheduledStartAt null removes it). */
  updateStream = (id: string, changes: Record<string, unknown>) => this.request<StreamView>('PATCH', `/v1/streams/${id}`, changes);
  listRecordings = (id: string) => this.request<{ recordings: Recording[] }>('GET', `/v1/streams/${id}/recordings`).then((body) => body.recordings);
}
