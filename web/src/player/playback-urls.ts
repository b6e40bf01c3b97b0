// Where a show's media, cues and product cards are: relative to the page's own origin, except HLS
// when livecue runs behind a CDN (CDN_BASE_URL: the page is given the base). A private stream's signed
// playback token goes in the HLS path (so the playlists' relative URLs keep it) and as ?token=
// everywhere else.

export class PlaybackUrls {
  readonly playbackId: string;
  readonly #token: string | undefined;
  /** '' (this origin) or the CDN's base URL, without a trailing slash. */
  readonly #hlsBase: string;

  constructor(playbackId: string, token?: string, hlsBase?: string) {
    this.playbackId = playbackId;
    this.#token = token || undefined;
    this.#hlsBase = (hlsBase ?? '').replace(/\/+$/, '');
  }

  get #id(): string {
    return encodeURIComponent(this.playbackId);
  }

  get #query(): string {
    return this.#token ? `?token=${encodeURIComponent(this.#token)}` : '';
  }

  hlsMaster(): string {
    return this.#hlsBase + (this.#token ? `/hls/${this.#id}/t/${encodeURIComponent(this.#token)}/master.m3u8` : `/hls/${this.#id}/master.m3u8`);
  }

  /** The rewind (DVR) playlist of a live show: from its first segment to now, with its cues. */
  dvrMaster(): string {
    return this.hlsMaster().replace(/master\.m3u8$/, 'dvr.m3u8');
  }

  /** `viewer`: the page's viewer id, so analytics count it once across paths; `preview`: the host's own preview, not counted. */
  whep(options: { viewer?: string; preview?: boolean } = {}): string {
    const query = new URLSearchParams();
    if (this.#token) query.set('token', this.#token);
    if (options.viewer) query.set('viewer', options.viewer);
    if (options.preview) query.set('preview', '1');
    const text = query.toString();
    return `/whep/${this.#id}${text ? `?${text}` : ''}`;
  }

  cues(): string {
    return `/live/${this.#id}/cues${this.#query}`;
  }

  /** The show's newest ready recording (public; 404 while none is ready). */
  replay(): string {
    return `/live/${this.#id}/replay${this.#query}`;
  }

  /**
   * A URL livecue gave for this show's media (PUBLIC_URL or CDN_BASE_URL in front), as the page may
   * fetch it: on the CDN when the page was given one (its CSP allows that origin), else as a path on
   * this page's origin (livecue serves /hls/<playbackId>/… itself). Undefined for anything that is not
   * this show's media.
   */
  mediaUrl(url: unknown): string | undefined {
    if (typeof url !== 'string' || url === '') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(url, location.href);
    } catch {
      return undefined;
    }
    const at = parsed.pathname.indexOf(`/hls/${this.#id}/`);
    if (at < 0) return undefined;
    const mediaPath = parsed.pathname.slice(at) + parsed.search;
    if (!this.#hlsBase) return mediaPath;
    const base = new URL(this.#hlsBase, location.href);
    // The CDN's own path prefix (if any) stays in front of /hls/….
    return `${base.origin}${base.pathname.replace(/\/+$/, '')}${mediaPath}`;
  }

  product(productId: string): string {
    return `/live/${this.#id}/products/${encodeURIComponent(productId)}${this.#query}`;
  }

  /** Scheduled shows: the waiting room's view of the show (with whether this viewer asked to be reminded), its calendar file, its reminders. */
  show(viewerToken?: string): string {
    const query = new URLSearchParams();
    if (this.#token) query.set('token', this.#token);
    if (viewerToken) query.set('viewerToken', viewerToken);
    const text = query.toString();
    return `/live/${this.#id}/show${text ? `?${text}` : ''}`;
  }

  calendar(): string {
    return `/live/${this.#id}/calendar.ics${this.#query}`;
  }

  reminders(): string {
    return `/live/${this.#id}/reminders${this.#query}`;
  }

  /** Analytics: a player's beat (HLS, replay) and a tap on the pinned product's card. */
  beat(): string {
    return `/live/${this.#id}/beat`;
  }

  click(): string {
    return `/live/${this.#id}/click`;
  }

  /** The viewers' socket; `viewer`: the page's viewer id, which lets it chat, react, vote and claim. */
  events(options: { viewerToken?: string } = {}): string {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = new URLSearchParams();
    if (this.#token) query.set('token', this.#token);
    if (options.viewerToken) query.set('viewerToken', options.viewerToken);
    const text = query.toString();
    return `${scheme}//${location.host}/live/${this.#id}/events${text ? `?${text}` : ''}`;
  }
}
