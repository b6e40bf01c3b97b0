// The viewer page, /watch/<playbackId>: WebRTC first, HLS when WebRTC fails or is blocked (or
// ?mode=hls), the show's recording once the show has ended (or ?replay=1); commerce cues in sync with
// the picture. While the show is live the viewer takes part over one socket: chat, reactions, poll
// votes, claims on offers.
import type { CueMessage } from '../player/cue-scheduler.ts';
import { byId } from '../ui/element.ts';
import { formatLatency } from '../ui/format.ts';
import { ChatPanel } from './chat-panel.ts';
import { CommercePanel } from './commerce-panel.ts';
import { HlsPlayback } from './hls-playback.ts';
import { probeHls, type Playback } from './playback.ts';
import { ProductCatalog } from './product-catalog.ts';
import { ReactionBar } from './reaction-bar.ts';
import { waitForReplay, type Recording } from './replay-source.ts';
import { ReplayTimeline } from './replay-timeline.ts';
import { ThumbnailTrack } from './thumbnails.ts';
import { WebRtcPlayback } from './webrtc-playback.ts';
import { ViewerSocket, type SocketState } from './viewer-socket.ts';
import { viewerIdentity, WatchReporter, type ViewerIdentity } from './watch-reporter.ts';
import { PlaybackUrls } from '../player/playback-urls.ts';
import { WhepError } from '../player/whep-client.ts';
import { fetchShow, isUpcoming, WaitingRoom, type ShowInfo } from './waiting-room.ts';

const OFFLINE_RETRY_MS = 3000;
/** A WebRTC picture that stands still this long means the encoder left or the show ended: look again. */
const STALL_MS = 6000;
/** Countdowns and the latency badge refresh this often; cues are checked every animation frame. */
const REFRESH_MS = 250;
const SHOWN_CUES_KEPT = 200;
/** A recording is built a few seconds after the show ends; the page asks this often while it is not ready… */
const REPLAY_RETRY_MS = 2000;
/** …and after this long plays the end of the show from the closed live playlists instead. */
const REPLAY_WAIT_MS = 20_000;
const PRIVATE_SHOW = 'This show is private: open it with the link you were given (it carries a playback token), or ask for a new one.';

interface ShownCue {
  id: string;
  type: string;
  path: string;
  lateBySeconds: number;
  /** performance.now() when the page drew it. */
  shownAt: number;
}

/** What the page exposes for embedding and diagnostics (window.livecueViewer). */
interface ViewerApi {
  readonly playbackId: string;
  /** The anonymous id this browser's beats and taps carry. */
  readonly viewerId: string;
  readonly path: string | undefined;
  /** The HLS master playlist played (a recording's: /hls/<playbackId>/recordings/<id>/master.m3u8). */
  readonly sourceUrl: string | undefined;
  /** The recording a replay plays; undefined on the closed live playlists. */
  readonly recordingId: string | undefined;
  latencySeconds(): number;
  readonly latencyBasis: string | undefined;
  readonly shownCues: ShownCue[];
  /** The engagement socket: idle before a live path plays, closed for good on a replay. */
  readonly socketState: SocketState;
}

const PLAYBACK_ID = /^[A-Za-z0-9]{8,64}$/;

class Viewer implements ViewerApi {
  readonly playbackId: string;
  readonly shownCues: ShownCue[] = [];
  readonly #urls: PlaybackUrls;
  readonly #params = new URLSearchParams(location.search);
  readonly #video = byId<HTMLVideoElement>('video');
  readonly #catalog: ProductCatalog;
  readonly #panel: CommercePanel;
  readonly #reporter: WatchReporter;
  readonly #socket: ViewerSocket;
  readonly #viewerToken: string | undefined;
  #playback: Playback | undefined;
  #timeline: ReplayTimeline | undefined;
  /** Every cue of the show seen on any path, for the replay timeline. */
  readonly #allCues: CueMessage[] = [];
  readonly #allCueIds = new Set<string>();
  #lastRefresh = 0;
  #switching = false;
  /** Rewinding a live show: its rewind (DVR) playlist plays, with the seek bar, and the show's socket stays open. */
  #rewinding = false;
  #framesSeen = 0;
  #stalledSince: number | undefined;

  constructor(playbackId: string, identity: ViewerIdentity) {
    this.playbackId = playbackId;
    // A private stream's page is opened with its signed playback token: /watch/<playbackId>?token=…
    // With CDN_BASE_URL, livecue names the CDN in a <meta>: HLS plays from there (src/api/pages.ts).
    const hlsBase = document.querySelector<HTMLMetaElement>('meta[name="livecue-hls-base"]')?.content || undefined;
    this.#urls = new PlaybackUrls(playbackId, this.#params.get('token') ?? undefined, hlsBase);
    this.#catalog = new ProductCatalog(this.#urls, () => {
      this.#render();
      this.#timeline?.refresh();
    });
    this.#reporter = new WatchReporter(this.#urls, this.#video, identity.id);
    this.#socket = new ViewerSocket(this.#urls, identity.token);
    this.#viewerToken = identity.token;
    this.#panel = new CommercePanel({ product: byId('product'), offer: byId('offer'), poll: byId('poll'), announcement: byId('announcement') }, this.#catalog, {
      onProductTap: (productId) => this.#reporter.tapped({ productId, cueId: this.#playback?.scheduler.pinnedCueId() }),
      actions: this.#socket,
    });
    this.#listenToSocket();
    const unmute = byId<HTMLButtonElement>('unmute');
    unmute.addEventListener('click', () => {
      this.#video.muted = false;
      unmute.hidden = true;
    });
    this.#video.addEventListener('playing', () => (unmute.hidden = !this.#video.muted));
    this.#video.addEventListener('seeked', () => this.#playback?.scheduler.seek());
    byId('rewind').addEventListener('click', () => void this.#rewind());
    byId('back-to-live').addEventListener('click', () => void this.#backToLive());
    requestAnimationFrame(this.#frame);
    setInterval(() => void this.#watchForStall(), 1000);
  }

  get viewerId(): string {
    return this.#reporter.viewerId;
  }

  get socketState(): SocketState {
    return this.#socket.state;
  }

  get path(): string | undefined {
    return this.#playback?.path;
  }

  get sourceUrl(): string | undefined {
    return this.#playback?.sourceUrl;
  }

  get recordingId(): string | undefined {
    return this.#playback instanceof HlsPlayback ? this.#playback.recording?.id : undefined;
  }

  latencySeconds(): number {
    return this.#playback?.latencySeconds() ?? Number.NaN;
  }

  get latencyBasis(): string | undefined {
    return this.#playback?.latencyBasis;
  }

  async start(): Promise<void> {
    if (this.#params.get('replay') === '1') return this.#startReplay();
    const show = await fetchShow(this.#urls, this.#viewerToken);
    if (show?.schedule && isUpcoming(show)) await this.#waitForShow({ ...show, schedule: show.schedule });
    return this.#startLive();
  }

  /**
   * A scheduled show not live yet: the waiting room, until the socket says the show is live. Each time the socket
   * (re)opens the page asks again, so a start announced while it was away is not missed.
   */
  async #waitForShow(show: ShowInfo & { schedule: NonNullable<ShowInfo['schedule']> }): Promise<void> {
    const room = new WaitingRoom(show, this.#urls, this.#viewerToken);
    this.#status('');
    byId('path-badge').textContent = 'Upcoming';
    await new Promise<void>((resolve) => {
      const started = () => {
        this.#socket.off('live', started).off('state', reopened);
        resolve();
      };
      const reopened = async (state: string) => {
        if (state === 'open' && (await fetchShow(this.#urls))?.status === 'live') started();
      };
      this.#socket.on('live', started).on('state', reopened);
      this.#socket.connect();
    });
    room.close();
    byId('path-badge').textContent = 'connecting…';
  }

  async #startLive(): Promise<void> {
    let whepNotLive = false;
    if (this.#params.get('mode') !== 'hls') {
      this.#status('Connecting…');
      try {
        this.#use(
          await WebRtcPlayback.start(
            this.#video,
            this.#urls,
            { onCues: (cues) => this.#prefetch(cues), onLost: () => void this.#recover() },
            this.#reporter.viewerId,
          ),
        );
        this.#status('');
        return;
      } catch (error) {
        whepNotLive = error instanceof WhepError && error.status === 404;
        if (!whepNotLive) this.#status(`WebRTC unavailable (${(error as Error).message}): playing over HLS.`);
      }
    }
    const hls = await probeHls(this.#urls);
    if (hls === 'forbidden') return this.#status(PRIVATE_SHOW);
    if (hls === 'ended') return this.#startReplay(true);
    if (hls === 'offline') {
      this.#status(whepNotLive ? 'The show has not started yet. This page starts it as soon as it does.' : 'Waiting for the show…');
      setTimeout(() => void this.#startLive(), OFFLINE_RETRY_MS);
      return;
    }
    await this.#startHls(false);
  }

  /**
   * The show's recording, once a worker has built it (a few seconds after the show ends). Should none
   * be ready within REPLAY_WAIT_MS (workers down, or a build that failed), the closed live playlists
   * give at least the end of the show.
   */
  async #startReplay(ended = false): Promise<void> {
    this.#socket.close();
    byId('engagement').hidden = true;
    const found = await waitForReplay(this.#urls, {
      timeoutMs: REPLAY_WAIT_MS,
      everyMs: REPLAY_RETRY_MS,
      onWaiting: () => this.#status(ended ? 'The show has ended. Replay is being prepared…' : 'Replay is being prepared…'),
    });
    if (found.kind === 'forbidden') return this.#status(PRIVATE_SHOW);
    if (found.kind === 'ready') {
      await this.#startHls(true, found.recording);
      this.#status(ended ? 'The show has ended: watch the replay.' : '');
      return;
    }
    await this.#startHls(true);
    this.#status('The full replay is not ready yet: this plays the last moments of the show. Reload the page later for all of it.');
  }

  async #startHls(replay: boolean, recording?: Recording, dvr = false): Promise<void> {
    if (!replay) this.#socket.connect();
    const feed = replay ? undefined : this.#socket;
    const playback = await HlsPlayback.start(
      this.#video,
      this.#urls,
      { replay, recording, feed, dvr },
      {
        onCues: (cues) => {
          this.#prefetch(cues);
          if (!recording) this.#timeline?.setCues(this.#allCues);
        },
        onEnded: () => void this.#switchToReplay(),
        onFatal: (message) => this.#status(message),
      },
    );
    this.#use(playback);
    if (replay) {
      const timeline = new ReplayTimeline(byId('replay'), byId('products'), this.#video, this.#catalog, (cue) => playback.videoTimeOf(cue));
      this.#timeline = timeline;
      // A recording's cue track is the whole show's: it is the one the markers and the list show.
      timeline.setCues(recording ? recording.cues : this.#allCues);
      if (recording?.thumbnailsVttUrl) void ThumbnailTrack.load(recording.thumbnailsVttUrl).then((track) => timeline.setThumbnails(track));
    }
  }

  #use(playback: Playback): void {
    this.#playback = playback;
    this.#reporter.watching(playback.path);
    const replay = playback.path === 'replay' && !this.#rewinding;
    // Taking part is for the live show (rewound or not); a replay has no one to talk to.
    if (replay) this.#socket.close();
    else this.#socket.connect();
    byId('engagement').hidden = replay;
    document.body.dataset.path = this.#rewinding ? 'rewind' : playback.path;
    byId('path-badge').textContent = this.#rewinding ? 'Rewind' : { webrtc: 'WebRTC', hls: 'HLS', replay: 'Replay' }[playback.path];
    byId('live-badge').hidden = playback.path === 'replay';
    byId('latency-badge').hidden = playback.path === 'replay';
    byId('rewind').hidden = playback.path === 'replay';
    byId('back-to-live').hidden = !this.#rewinding;
    this.#video.controls = false;
    playback.scheduler.on('cue', (cue, lateBySeconds) => {
      this.shownCues.push({ id: cue.id, type: cue.type, path: playback.path, lateBySeconds, shownAt: performance.now() });
      if (this.shownCues.length > SHOWN_CUES_KEPT) this.shownCues.shift();
      this.#render();
    });
  }

  /** The chat, the reactions, the poll tallies and the offers' stock, from the page's socket. */
  #listenToSocket(): void {
    const chat = new ChatPanel(byId('chat'), this.#socket, this.#reporter.viewerId);
    const reactions = new ReactionBar(byId('reactions'), this.#socket);
    this.#socket
      .on('state', (state) => {
        chat.connected(state === 'open');
        this.#render();
      })
      .on('chat', (message) => chat.add(message))
      .on('chatDeleted', (messageId) => chat.remove(messageId))
      .on('refused', (error) => chat.notice(error))
      .on('reactions', (counts) => reactions.show(counts))
      .on('tally', (pollId, tally) => this.#panel.showTally(pollId, tally))
      .on('voted', (pollId, option) => this.#panel.showVote(pollId, option))
      .on('stock', (stock) => this.#panel.showStock(stock));
  }

  #prefetch(cues: CueMessage[]): void {
    for (const cue of cues) {
      if (!this.#allCueIds.has(cue.id)) {
        this.#allCueIds.add(cue.id);
        this.#allCues.push(cue);
      }
      if (typeof cue.payload.productId === 'string') void this.#catalog.load(cue.payload.productId);
    }
  }

  /** WebRTC dropped (the show ended, or the network): pick the right path again. */
  async #recover(): Promise<void> {
    if (this.#switching) return;
    this.#switching = true;
    await this.#playback?.close();
    this.#playback = undefined;
    this.#reporter.watching(undefined);
    this.#status('Reconnecting…');
    await this.#startLive();
    this.#switching = false;
  }

  /** WebRTC has no end-of-show signal a page can rely on; a picture that stops is the cue to ask HLS what happened. */
  async #watchForStall(): Promise<void> {
    if (this.#playback?.path !== 'webrtc' || this.#switching) return;
    const frames = this.#video.getVideoPlaybackQuality().totalVideoFrames;
    if (frames !== this.#framesSeen) {
      this.#framesSeen = frames;
      this.#stalledSince = undefined;
      return;
    }
    this.#stalledSince ??= performance.now();
    if (performance.now() - this.#stalledSince < STALL_MS) return;
    this.#stalledSince = undefined;
    const hls = await probeHls(this.#urls);
    if (hls === 'ended') await this.#switchToReplay();
    else if (hls === 'live') await this.#recover();
    // Offline: the encoder is gone but may come back within the reconnect window; keep waiting.
  }

  /** Rewind while live: the show's rewind playlist from its first segment, with the seek bar and its product markers. */
  async #rewind(): Promise<void> {
    if (this.#switching || this.#rewinding) return;
    this.#switching = true;
    await this.#playback?.close();
    this.#playback = undefined;
    this.#rewinding = true;
    await this.#startHls(true, undefined, true);
    this.#switching = false;
  }

  /** Back from a rewind to the live edge, on the path the page chose for the show. */
  async #backToLive(): Promise<void> {
    if (this.#switching || !this.#rewinding) return;
    this.#switching = true;
    await this.#playback?.close();
    this.#playback = undefined;
    this.#rewinding = false;
    this.#timeline = undefined;
    byId('replay').hidden = true;
    byId('products').hidden = true;
    await this.#startLive();
    this.#switching = false;
  }

  async #switchToReplay(): Promise<void> {
    this.#rewinding = false;
    if (this.#switching) return;
    this.#switching = true;
    await this.#playback?.close();
    this.#playback = undefined;
    this.#reporter.watching(undefined);
    this.#status('The show has ended.');
    await this.#startReplay(true);
    this.#switching = false;
  }

  readonly #frame = (now: number): void => {
    const playback = this.#playback;
    // tick() fires due cues, whose listener renders at once; the periodic render keeps countdowns moving.
    if (playback) playback.scheduler.tick();
    if (now - this.#lastRefresh >= REFRESH_MS) {
      this.#lastRefresh = now;
      this.#render();
      const latency = playback?.latencySeconds() ?? Number.NaN;
      const badge = byId('latency-badge');
      badge.textContent = Number.isFinite(latency) ? `latency ${formatLatency(latency)}` : '';
      badge.hidden = !Number.isFinite(latency);
    }
    requestAnimationFrame(this.#frame);
  };

  #render(): void {
    if (this.#playback) this.#panel.render(this.#playback.scheduler.state());
  }

  #status(text: string): void {
    byId('status').textContent = text;
  }
}

const playbackId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
if (!PLAYBACK_ID.test(playbackId)) {
  byId('status').textContent = 'There is no show at this address.';
  byId('path-badge').hidden = true;
} else {
  void viewerIdentity('/live/viewers').then((identity) => {
    const viewer = new Viewer(playbackId, identity);
    (window as unknown as { livecueViewer: ViewerApi }).livecueViewer = viewer;
    void viewer.start();
  });
}
