// WHEP playback (RFC 9725) of a livecue show: one recvonly offer with the cue data channel, all ICE
// candidates in it (livecue is ICE-lite: no trickle needed), DELETE on leave.

/** The data channel livecue sends cues on; negotiated, so it is in the offer without a round trip. */
export const CUE_CHANNEL = { label: 'livecue-cues', id: 0 } as const;

export class WhepError extends Error {
  /** HTTP status when the server refused; undefined when the connection itself failed. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'WhepError';
    this.status = status;
  }
}

export interface WhepOptions {
  /** Called with each text message of the cue data channel. */
  onCueMessage?: (text: string) => void;
  /** Called once when an established connection fails or closes from the far side. */
  onLost?: () => void;
  /** Give up when ICE/DTLS has not connected after this long. Default 8000 ms. */
  connectTimeoutMs?: number;
}

function waitForIceGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    // Host candidates take milliseconds; a missing STUN answer must not hold the offer back.
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() {
      if (pc.iceGatheringState === 'complete') done();
    }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function waitForConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new WhepError(`WebRTC did not connect within ${timeoutMs} ms`)), timeoutMs);
    function finish(error?: Error) {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
      if (error) reject(error);
      else resolve();
    }
    function check() {
      if (pc.connectionState === 'connected') finish();
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') finish(new WhepError(`WebRTC connection ${pc.connectionState}`));
    }
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

export class WhepSession {
  readonly pc: RTCPeerConnection;
  readonly stream = new MediaStream();
  #location: string | undefined;
  #closed = false;

  private constructor(pc: RTCPeerConnection) {
    this.pc = pc;
  }

  /** Resolves once media can flow; rejects with a WhepError (with the HTTP status when livecue refused). */
  static async start(url: string, options: WhepOptions = {}): Promise<WhepSession> {
    const session = new WhepSession(new RTCPeerConnection({ bundlePolicy: 'max-bundle' }));
    try {
      await session.#negotiate(url, options);
      return session;
    } catch (error) {
      await session.close();
      throw error instanceof WhepError ? error : new WhepError(error instanceof Error ? error.message : String(error));
    }
  }

  async #negotiate(url: string, options: WhepOptions): Promise<void> {
    const { pc } = this;
    const channel = pc.createDataChannel(CUE_CHANNEL.label, { negotiated: true, id: CUE_CHANNEL.id });
    channel.addEventListener('message', (event) => {
      if (typeof event.data === 'string') options.onCueMessage?.(event.data);
    });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addEventListener('track', (event) => this.stream.addTrack(event.track));

    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 1000);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: pc.localDescription!.sdp,
    });
    if (response.status !== 201) {
      const reason = response.status === 404 ? 'the show is not live' : `WHEP answered ${response.status}`;
      throw new WhepError(reason, response.status);
    }
    const location = response.headers.get('location');
    if (location) this.#location = new URL(location, new URL(url, document.baseURI)).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    await waitForConnected(pc, options.connectTimeoutMs ?? 8000);

    pc.addEventListener('connectionstatechange', () => {
      if (!this.#closed && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) options.onLost?.();
    });
  }

  /** Round-trip time to livecue in seconds (from the selected ICE candidate pair), or NaN. */
  async roundTripSeconds(): Promise<number> {
    const stats = await this.pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'candidate-pair' && report.nominated && typeof report.currentRoundTripTime === 'number') {
        return report.currentRoundTripTime as number;
      }
    }
    return Number.NaN;
  }

  /** Leaves the show: DELETE frees the viewer's SFU resources at once instead of after an ICE timeout. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.pc.close();
    if (this.#location) await fetch(this.#location, { method: 'DELETE', keepalive: true }).catch(() => {});
  }
}
