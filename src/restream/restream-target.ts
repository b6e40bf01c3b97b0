// One restream target of a live show: an FFmpeg that copies the show's FLV tags (no re-encode) to
// another platform over RTMP(S). It starts at a keyframe, is started again with backoff (0.5 s
// doubling to 30 s) when it dies or the platform refuses it, and stops when the show ends or the
// target is disabled or deleted. The key goes to FFmpeg as the RTMP publish name, never in a URL
// that FFmpeg would print, and everything FFmpeg says is scrubbed of it.
import type { DestinationPolicy } from '../security/destinations.ts';
import { FfmpegProcess, STDERR_TAIL_CHARS } from '../ffmpeg/ffmpeg-process.ts';
import { FfmpegSupervisor, type RestartPolicy } from '../ffmpeg/ffmpeg-supervisor.ts';
import type { Logger } from '../log.ts';
import { flvStreamStart, type SequenceHeaders } from '../media/flv-tag.ts';
import type { IngestPacket } from '../media/ingest-packet.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RestreamStatus } from './restream-store.ts';
import { scrubbingLogger, secretScrubber, type Scrub } from './secret-scrubber.ts';
import { maskedUrl, parseTargetUrl, type TargetEndpoint } from './target-url.ts';

export const RESTART_BACKOFF_FIRST_MS = 500;
export const RESTART_BACKOFF_MAX_MS = 30_000;
/** A run that stayed live this long counts as a success: the next failure starts the backoff over. */
const STABLE_RUN_MS = 10_000;
/** Show bytes queued for a platform that does not keep up; past this the run is started over. */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/** FFmpeg gives up on a platform that stops reading or answering for this long (microseconds). */
const RW_TIMEOUT_US = 10_000_000;
/** A start takes a few tens of ms; at 60 fps with audio this is several seconds of packets. */
const MAX_PACKETS_WHILE_STARTING = 500;
/** The system's trusted CAs (Debian's ca-certificates, in the image too): RTMPS targets must present a valid certificate. */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';
const STOP_TIMEOUT_MS = 2000;
/** Backoff 0.5 s doubling to 30 s, from the start again after a run that stayed live STABLE_RUN_MS; packets kept while FFmpeg starts. */
const TARGET_RETRIES: RestartPolicy = {
  backoffMs: (failures) => Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_FIRST_MS * 2 ** (failures - 1)),
  stableAfterMs: STABLE_RUN_MS,
  writesKeptWhileStarting: MAX_PACKETS_WHILE_STARTING,
};

/** The sequence headers of the show, which every new FFmpeg needs before its first keyframe. */
export type ShowHeaders = SequenceHeaders;

export interface TargetState {
  status: RestreamStatus;
  /** Why the last run ended badly, scrubbed of the key and URL. */
  lastError?: string;
  since: Date;
}

/** States counted in livecue_restream_targets (idle targets belong to no live show). */
const COUNTED: ReadonlySet<RestreamStatus> = new Set(['connecting', 'live', 'retrying', 'failed', 'unsupported']);

/** The FFmpeg arguments of one run: FLV on stdin, copied to the target; the key is the publish name. */
export function restreamArgs(endpoint: TargetEndpoint, streamKey: string, hasAudio: boolean): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostats',
    '-progress',
    'pipe:1',
    '-f',
    'flv',
    '-i',
    'pipe:0',
    '-map',
    '0:v:0',
    ...(hasAudio ? ['-map', '0:a:0'] : []),
    '-c',
    'copy',
    '-rw_timeout',
    String(RW_TIMEOUT_US),
    '-flvflags',
    'no_duration_filesize',
    // FFmpeg's TLS checks nothing unless told: the chain against the system CAs, and the name the target gave.
    ...(endpoint.protocol === 'rtmps' ? ['-tls_verify', '1', '-ca_file', SYSTEM_CA_FILE, '-verifyhost', endpoint.host] : []),
    '-rtmp_app',
    endpoint.app,
    '-rtmp_playpath',
    streamKey,
    '-f',
    'flv',
    endpoint.serverUrl,
  ];
}

const NETWORK_FAILURE =
  /connection refused|timed out|no route to host|unreachable|cannot open connection|connection reset|broken pipe|failed to resolve|name or service not known|input\/output error|end of file/i;
/** What FFmpeg says after the real error, while closing the output. */
const AFTERMATH = /^(Error writing trailer|Error closing file|Conversion failed)/;

/** The line of FFmpeg's stderr that says what went wrong, without FFmpeg's "[rtmp @ 0x…]" prefixes. */
export function lastErrorOf(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const lines = stderr.split('\n');
  // The tail is cut to STDERR_TAIL_CHARS characters: its first line may then be a fragment.
  if (stderr.length >= STDERR_TAIL_CHARS) lines.shift();
  const said = lines.map((line) => line.replace(/\[[^\]]* @ 0x[0-9a-f]+\]\s*/g, '').trim()).filter(Boolean);
  // A certificate the target presented and FFmpeg refused is said plainly: the operator must fix the URL or the target.
  const certificate = said.find((line) => /certificate|SSL routines|tls: /i.test(line));
  if (certificate)
    return `the target's TLS certificate was not accepted: ${certificate} (${signal ? `ffmpeg killed by ${signal}` : `ffmpeg exited with code ${code}`})`.slice(
      0,
      500,
    );
  const cause = said.filter((line) => !AFTERMATH.test(line)).at(-1) ?? said.at(-1);
  const exit = signal ? `ffmpeg killed by ${signal}` : `ffmpeg exited with code ${code}`;
  // Network failures read alike whatever their kind: told apart (refused, timed out, reset), they would let
  // anyone who may add a target map which hosts and ports answer from livecue's network.
  const told = cause && NETWORK_FAILURE.test(cause) ? 'cannot reach the target server, or it dropped the connection' : cause;
  return (told ? `${told} (${exit})` : exit).slice(0, 500);
}

/** The target's host is not one a restream may reach (DestinationPolicy): said as is, and retried. */
class TargetRefused extends Error {}

export class RestreamTarget {
  readonly id: string;
  /** Changes when the URL or the key changes: the target is then started over. */
  readonly revision: string;
  readonly #ffmpeg: FfmpegSupervisor;
  #closing?: Promise<void>;
  #state: TargetState;
  readonly #endpoint?: TargetEndpoint;
  readonly #streamKey?: string;
  readonly #scrub: Scrub;
  readonly #logger: Logger;
  readonly #ffmpegLogger: Logger;

  constructor(
    private readonly options: {
      target: { id: string; url: string };
      revision: string;
      /** The opened key, or why it could not be opened (the target then fails without retrying). */
      streamKey: string | Error;
      /** false for shows this node cannot restream (WHIP): the target says `unsupported`. */
      supported: boolean;
      ffmpegPath: string;
      /** Where a target may point (checked at each start: a name may change its address). */
      destinations: DestinationPolicy;
      metrics: Metrics;
      logger: Logger;
      onState(state: TargetState): void;
    },
  ) {
    this.id = options.target.id;
    this.revision = options.revision;
    const masked = maskedUrl(options.target.url);
    const key = typeof options.streamKey === 'string' ? options.streamKey : '';
    let endpoint: TargetEndpoint | undefined;
    let problem: string | undefined;
    try {
      endpoint = parseTargetUrl(options.target.url);
    } catch (error) {
      problem = (error as Error).message;
    }
    this.#scrub = secretScrubber({ key, urls: [options.target.url, endpoint?.serverUrl ?? ''], masked });
    this.#logger = scrubbingLogger(options.logger.child({ restreamId: this.id, target: masked }), this.#scrub);
    this.#ffmpegLogger = this.#logger.child({ component: 'restream-ffmpeg' });
    this.#ffmpeg = new FfmpegSupervisor(TARGET_RETRIES, this.#logger);
    this.#ffmpeg.on('died', ({ code, signal, stderr }) => this.#retrying(this.#scrub(lastErrorOf(stderr, code, signal))));
    if (options.streamKey instanceof Error) problem = `the stream key cannot be opened: ${options.streamKey.message}`;
    this.#state = { status: 'idle', since: new Date() };
    if (!options.supported) {
      this.#setState('unsupported');
    } else if (problem || !endpoint) {
      this.#setState('failed', this.#scrub(problem ?? 'invalid target'));
    } else {
      this.#endpoint = endpoint;
      this.#streamKey = key;
      this.#setState('connecting');
    }
  }

  get state(): TargetState {
    return this.#state;
  }

  /** The running FFmpeg's pid. */
  get pid(): number | undefined {
    return this.#ffmpeg.current?.pid;
  }

  write(packet: IngestPacket, headers: ShowHeaders): void {
    if (this.#ffmpeg.closed || !this.#endpoint) return;
    if (packet.kind === 'metadata' || packet.kind === 'audio-header' || packet.kind === 'video-header') return;
    const run = this.#ffmpeg.current;
    if (!run) {
      // Packets that arrive while FFmpeg starts are kept and written after the keyframe, so the copy has no gap.
      if (this.#ffmpeg.starting) this.#ffmpeg.write(packet.tag);
      else if (packet.kind === 'video-key' && headers.video && this.#ffmpeg.canStart) void this.#start(packet, headers);
      return;
    }
    if (run.backlogBytes > MAX_BACKLOG_BYTES) {
      this.#ffmpeg.fail();
      return this.#retrying('the platform does not take the show as fast as it is made (its input backed up); started over at a keyframe');
    }
    this.#ffmpeg.write(packet.tag);
    if (this.#state.status === 'live') this.options.metrics.restreamBytes.inc(packet.tag.length);
  }

  /** The encoder left: stop FFmpeg (the platform sees the show end); it starts again with the encoder. */
  async endInput(): Promise<void> {
    if (this.#state.status === 'live') this.#setState('connecting');
    await this.#ffmpeg.stop();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#ffmpeg.close();
      this.#setState('idle', this.#state.lastError);
    })();
    return this.#closing;
  }

  async #start(keyframe: IngestPacket, headers: ShowHeaders): Promise<void> {
    const hasAudio = headers.audio !== undefined;
    try {
      const run = await this.#ffmpeg.start((signal) => this.#launch(hasAudio, signal), flvStreamStart(headers, keyframe.tag, hasAudio));
      run?.on('progress', () => {
        if (this.#ffmpeg.current !== run || this.#state.status === 'live') return;
        this.#ffmpeg.healthy();
        this.#setState('live', this.#state.lastError);
        this.#logger.info({ attempt: this.#ffmpeg.failures + 1 }, 'restream is live');
      });
    } catch (error) {
      this.#retrying(error instanceof TargetRefused ? error.message : this.#scrub(`cannot start ffmpeg: ${(error as Error).message}`));
    }
  }

  /** Checks where the target points (a name may change its address), then starts FFmpeg towards it. */
  async #launch(hasAudio: boolean, signal: AbortSignal): Promise<FfmpegProcess | undefined> {
    const endpoint = this.#endpoint!;
    let address: string;
    try {
      address = await this.options.destinations.resolve(endpoint.host);
    } catch (error) {
      throw new TargetRefused(this.#scrub(`target host refused: ${(error as Error).message}`));
    }
    if (signal.aborted) return undefined;
    // Plain RTMP connects to the address just checked; RTMPS keeps the name for TLS (SNI and the certificate).
    const target =
      endpoint.protocol === 'rtmp'
        ? { ...endpoint, serverUrl: `rtmp://${address.includes(':') ? `[${address}]` : address}:${endpoint.port}/${endpoint.app}` }
        : endpoint;
    return FfmpegProcess.start({
      ffmpegPath: this.options.ffmpegPath,
      args: restreamArgs(target, this.#streamKey!, hasAudio),
      logger: this.#ffmpegLogger,
      stopTimeoutMs: STOP_TIMEOUT_MS,
    });
  }

  /** The run failed (the supervisor counted it): the target says why and waits out the backoff. */
  #retrying(reason: string): void {
    if (this.#ffmpeg.closed) return;
    this.options.metrics.restreamRestarts.inc();
    this.#setState('retrying', reason);
    this.#logger.warn(
      { reason, failures: this.#ffmpeg.failures, retryInMs: this.#ffmpeg.retryInMs },
      'restream failed; starting again at the first keyframe after the backoff',
    );
  }

  #setState(status: RestreamStatus, lastError?: string): void {
    const previous = this.#state.status;
    if (previous === status && this.#state.lastError === lastError) return;
    const gauge = this.options.metrics.restreamTargets;
    if (previous !== status) {
      if (COUNTED.has(previous)) gauge.dec({ state: previous });
      if (COUNTED.has(status)) gauge.inc({ state: status });
    }
    this.#state = { status, lastError, since: previous === status ? this.#state.since : new Date() };
    this.options.onState(this.#state);
  }
}
