// The SDP layer against real offers: a sendonly offer from @roamhq/wrtc (libwebrtc), a recvonly offer
// with a data channel from werift, and a hand-written OBS-like WHIP offer. The parameters are fed to a
// real mediasoup router built with SFU_MEDIA_CODECS and the answers back to the peers that made the
// offers; the wrtc publisher and the viewers then really connect and exchange media over 127.0.0.1.
import { randomBytes } from 'node:crypto';
import wrtc from '@roamhq/wrtc';
import type { types } from 'mediasoup';
import sdpTransform from 'sdp-transform';
import { RTCPeerConnection as WeriftPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SFU_MEDIA_CODECS } from './codecs.ts';
import {
  answerPayloadTypeMismatches,
  assertSdpContentType,
  buildAnswer,
  consumerCapabilities,
  parseOffer,
  producerParameters,
  SdpError,
  type AnswerSection,
  type ParsedOffer,
} from './sdp.ts';

process.env.MEDIASOUP_WORKER_BIN ??= '/root/.cache/livecue/mediasoup-worker-3.19.3/mediasoup-worker';

const MAX = { maxBytes: 64 * 1024 };

// ---------------------------------------------------------------------------------------------------------
// Offers

const FINGERPRINT = (randomBytes(32).toString('hex').toUpperCase().match(/../g) ?? []).join(':');

/** An OBS-like WHIP offer (libdatachannel style): session-level fingerprint, media-level ICE, ssrc lines. */
function obsOffer(video: string[] = OBS_H264): string {
  const lines = [
    'v=0',
    'o=rtc 3790474562 0 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=group:LS 0 1',
    'a=msid-semantic:WMS *',
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    'a=ice-options:ice2,trickle',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendonly',
    'a=ssrc:1111111111 cname:obs-cname',
    'a=ssrc:1111111111 msid:obs-stream obs-audio',
    'a=msid:obs-stream obs-audio',
    'a=rtcp-mux',
    'a=setup:actpass',
    'a=ice-ufrag:Xk3r',
    'a=ice-pwd:pQ7vTn2sLw9yZb4cRm8eKd1h',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
    ...video,
  ];
  return `${lines.join('\r\n')}\r\n`;
}

const OBS_VIDEO_HEAD = [
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=msid:obs-stream obs-video',
  'a=rtcp-mux',
  'a=setup:actpass',
  'a=ice-ufrag:Xk3r',
  'a=ice-pwd:pQ7vTn2sLw9yZb4cRm8eKd1h',
  'a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type',
];

const OBS_H264 = [
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  ...OBS_VIDEO_HEAD,
  'a=ssrc-group:FID 2222222222 3333333333',
  'a=ssrc:2222222222 cname:obs-cname',
  'a=ssrc:2222222222 msid:obs-stream obs-video',
  'a=ssrc:3333333333 cname:obs-cname',
  'a=ssrc:3333333333 msid:obs-stream obs-video',
  'a=rtpmap:96 H264/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 goog-remb',
  'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
];

/** A video section offering a single H.264 flavour (no RTX). */
function h264Only(fmtp: string): string[] {
  return [
    'm=video 9 UDP/TLS/RTP/SAVPF 102',
    ...OBS_VIDEO_HEAD,
    'a=ssrc:2222222222 cname:obs-cname',
    'a=rtpmap:102 H264/90000',
    'a=rtcp-fb:102 nack pli',
    `a=fmtp:102 ${fmtp}`,
  ];
}

/** Simulcast (RFC 8853) VP8 with rids listed high-to-low, as browsers with sendEncodings do. */
const SIMULCAST_VP8 = [
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  ...OBS_VIDEO_HEAD,
  'a=extmap:5 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:6 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rid:h send max-width=1280;max-height=720',
  'a=rid:m send max-width=640;max-height=360',
  'a=rid:l send max-width=320;max-height=180',
  'a=simulcast:send h;m;~l',
];

/** No a=ssrc at all: the stream is identified by the MID header extension only. */
const MID_ONLY_VP8 = ['m=video 9 UDP/TLS/RTP/SAVPF 96', ...OBS_VIDEO_HEAD, 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack pli'];

function removeLines(sdp: string, pattern: RegExp): string {
  return sdp
    .split('\r\n')
    .filter((line) => !pattern.test(line))
    .join('\r\n');
}

function sdpError(fn: () => unknown): SdpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SdpError) return error;
    throw error;
  }
  throw new Error('expected an SdpError');
}

// ---------------------------------------------------------------------------------------------------------
// Peers and mediasoup

type Mediasoup = typeof import('mediasoup');
let mediasoup: Mediasoup;
const workers: types.Worker[] = [];
let router: types.Router;
const wrtcPeers: InstanceType<typeof wrtc.RTCPeerConnection>[] = [];
const weriftPeers: WeriftPeerConnection[] = [];
const timers: NodeJS.Timeout[] = [];

async function createTransport(on: types.Router = router): Promise<types.WebRtcTransport> {
  return on.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', announcedAddress: '127.0.0.1' }],
    enableSctp: true,
  });
}

function answerFor(offer: ParsedOffer, transport: types.WebRtcTransport, sections: AnswerSection[], withSctp = false): string {
  const sctp = transport.sctpParameters;
  return buildAnswer({
    offer,
    iceParameters: transport.iceParameters,
    iceCandidates: transport.iceCandidates,
    dtlsParameters: transport.dtlsParameters,
    sections,
    ...(withSctp && sctp ? { sctp: { port: sctp.port, maxMessageSize: sctp.maxMessageSize } } : {}),
  });
}

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A wrtc peer that publishes a synthetic 320x240 VP8 video track and a silent audio track. */
async function wrtcPublisher(): Promise<InstanceType<typeof wrtc.RTCPeerConnection>> {
  const pc = new wrtc.RTCPeerConnection();
  wrtcPeers.push(pc);
  const video = new wrtc.nonstandard.RTCVideoSource();
  const audio = new wrtc.nonstandard.RTCAudioSource();
  pc.addTransceiver(video.createTrack(), { direction: 'sendonly' });
  pc.addTransceiver(audio.createTrack(), { direction: 'sendonly' });
  const width = 320;
  const height = 240;
  const frame = { width, height, data: new Uint8Array(width * height * 1.5) };
  let tick = 0;
  timers.push(
    setInterval(() => {
      tick++;
      for (let i = 0; i < width * height; i++) frame.data[i] = (i + tick * 5) & 0xff;
      video.onFrame(frame);
    }, 33),
    setInterval(() => {
      audio.onData({ samples: new Int16Array(480), sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    }, 10),
  );
  await pc.setLocalDescription(await pc.createOffer());
  return pc;
}

/** Publishes a wrtc peer into `on` through parseOffer / producerParameters / buildAnswer. */
async function publishWrtc(on: types.Router): Promise<{ offer: ParsedOffer; answer: string; producers: types.Producer[] }> {
  const pc = await wrtcPublisher();
  const offer = parseOffer(pc.localDescription?.sdp, MAX);
  const transport = await createTransport(on);
  const producers: types.Producer[] = [];
  const sections: AnswerSection[] = [];
  for (const { mid, kind, rtpParameters } of producerParameters(offer, on.rtpCapabilities)) {
    producers.push(await transport.produce({ kind, rtpParameters }));
    sections.push({ mid, rtpParameters, direction: 'recvonly' });
  }
  await transport.connect({ dtlsParameters: offer.dtlsParameters });
  const answer = answerFor(offer, transport, sections);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return { offer, answer, producers };
}

async function producerBytes(producer: types.Producer): Promise<number> {
  return (await producer.getStats()).reduce((sum, stat) => sum + stat.byteCount, 0);
}

beforeAll(async () => {
  mediasoup = await import('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  workers.push(worker);
  router = await worker.createRouter({ mediaCodecs: SFU_MEDIA_CODECS });
});

afterAll(async () => {
  for (const timer of timers) clearInterval(timer);
  for (const pc of wrtcPeers) pc.close();
  await Promise.all(weriftPeers.map((pc) => pc.close()));
  for (const worker of workers) worker.close();
});

// ---------------------------------------------------------------------------------------------------------
// parseOffer

describe('parseOffer', () => {
  it('reads the OBS-like offer: BUNDLE, ICE from the media level, fingerprint from the session level', () => {
    const offer = parseOffer(obsOffer(), MAX);
    expect(offer.bundle).toBe(true);
    expect(offer.iceParameters).toEqual({ usernameFragment: 'Xk3r', password: 'pQ7vTn2sLw9yZb4cRm8eKd1h' });
    expect(offer.dtlsParameters).toEqual({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: FINGERPRINT }] });
    expect(offer.sections.map(({ mid, kind, direction, usable }) => ({ mid, kind, direction, usable }))).toEqual([
      { mid: '0', kind: 'audio', direction: 'sendonly', usable: true },
      { mid: '1', kind: 'video', direction: 'sendonly', usable: true },
    ]);
  });

  it('rejects what is not a string, empty, too large or not SDP', () => {
    expect(sdpError(() => parseOffer(42, MAX)).status).toBe(400);
    expect(sdpError(() => parseOffer(undefined, MAX)).status).toBe(400);
    expect(sdpError(() => parseOffer('', MAX)).status).toBe(400);
    expect(sdpError(() => parseOffer(' \r\n\t', MAX)).message).toMatch(/empty/);
    const big = sdpError(() => parseOffer(obsOffer() + 'a=x-padding:'.padEnd(70_000, 'x'), MAX));
    expect(big.status).toBe(413);
    expect(big.message.length).toBeLessThan(100);
    const notSdp = sdpError(() => parseOffer('{"type":"offer"}', MAX));
    expect(notSdp.status).toBe(400);
    expect(notSdp.message).toMatch(/not an SDP offer/);
    expect(sdpError(() => parseOffer('v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\n', MAX)).message).toMatch(/not an SDP offer/);
  });

  it('needs m-lines, ICE credentials and a usable fingerprint', () => {
    const noMedia = sdpError(() => parseOffer('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', MAX));
    expect([noMedia.status, noMedia.message]).toEqual([400, 'the SDP offer has no media sections (m= lines)']);
    expect(sdpError(() => parseOffer(removeLines(obsOffer(), /^a=ice-ufrag/), MAX)).message).toMatch(/ice-ufrag/);
    expect(sdpError(() => parseOffer(removeLines(obsOffer(), /^a=ice-pwd/), MAX)).status).toBe(400);
    const noFingerprint = sdpError(() => parseOffer(removeLines(obsOffer(), /^a=fingerprint/), MAX));
    expect([noFingerprint.status, noFingerprint.message]).toEqual([400, 'the SDP offer lacks a=fingerprint (DTLS-SRTP is required)']);
    const md5 = sdpError(() => parseOffer(obsOffer().replace('a=fingerprint:sha-256', 'a=fingerprint:md5'), MAX));
    expect([md5.status, md5.message]).toEqual([400, expect.stringMatching(/supported hash/)]);
  });

  it('tolerates a missing a=setup (actpass) and maps a=setup:passive to a DTLS server', () => {
    expect(parseOffer(removeLines(obsOffer(), /^a=setup/), MAX).dtlsParameters.role).toBe('client');
    expect(parseOffer(obsOffer().replaceAll('a=setup:actpass', 'a=setup:active'), MAX).dtlsParameters.role).toBe('client');
    expect(parseOffer(obsOffer().replaceAll('a=setup:actpass', 'a=setup:passive'), MAX).dtlsParameters.role).toBe('server');
    expect(sdpError(() => parseOffer(obsOffer().replaceAll('a=setup:actpass', 'a=setup:holdconn'), MAX)).status).toBe(400);
  });

  it('needs rtcp-mux, a mid per section and one BUNDLE group over several sections', () => {
    const noMux = obsOffer().replace(/(a=mid:1[\s\S]*?)a=rtcp-mux\r\n/, '$1');
    expect(sdpError(() => parseOffer(noMux, MAX)).message).toMatch(/"1" lacks a=rtcp-mux/);
    const noBundle = sdpError(() => parseOffer(removeLines(obsOffer(), /^a=group:BUNDLE/), MAX));
    expect([noBundle.status, noBundle.message]).toEqual([400, expect.stringMatching(/BUNDLE/)]);
    const partialBundle = obsOffer().replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0');
    expect(sdpError(() => parseOffer(partialBundle, MAX)).message).toMatch(/BUNDLE/);
    // One section does not need BUNDLE.
    const audioOnly = removeLines(obsOffer([]), /^a=group:/);
    expect(parseOffer(audioOnly, MAX).bundle).toBe(false);
    expect(sdpError(() => parseOffer(removeLines(obsOffer(), /^a=mid:1$/), MAX)).message).toMatch(/m-section 1 has no a=mid/);
    expect(sdpError(() => parseOffer(obsOffer().replace('a=mid:1', 'a=mid:0'), MAX)).message).toMatch(/duplicate a=mid/);
    const text = obsOffer().replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'm=text 9 UDP/TLS/RTP/SAVPF 96 97');
    expect(sdpError(() => parseOffer(text, MAX)).message).toMatch(/unsupported media type "text"/);
    const plainRtp = obsOffer().replace('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=audio 9 RTP/AVP 111');
    expect(sdpError(() => parseOffer(plainRtp, MAX)).message).toMatch(/UDP\/TLS\/RTP\/SAVPF/);
  });

  it('never echoes long client input in its messages', () => {
    const longMid = 'm'.repeat(60);
    const error = sdpError(() => parseOffer(obsOffer().replace('a=mid:1', `a=mid:${longMid}`).replace('a=mid:0', `a=mid:${longMid}`), MAX));
    expect(error.message).toMatch(/duplicate a=mid/);
    expect(error.message.length).toBeLessThan(80);
  });

  it('checks the Content-Type', () => {
    expect(() => assertSdpContentType('application/sdp')).not.toThrow();
    expect(() => assertSdpContentType('Application/SDP; charset=utf-8')).not.toThrow();
    expect(sdpError(() => assertSdpContentType('application/json')).status).toBe(415);
    expect(sdpError(() => assertSdpContentType(undefined)).status).toBe(415);
  });
});

// ---------------------------------------------------------------------------------------------------------
// producerParameters (WHIP)

describe('producerParameters', () => {
  it('maps the OBS-like offer to H.264 + RTX and Opus producers that mediasoup accepts', async () => {
    const offer = parseOffer(obsOffer(), MAX);
    const params = producerParameters(offer, router.rtpCapabilities);
    expect(params.map(({ mid, kind }) => ({ mid, kind }))).toEqual([
      { mid: '0', kind: 'audio' },
      { mid: '1', kind: 'video' },
    ]);
    const [audio, video] = params;
    expect(audio?.rtpParameters).toEqual({
      mid: '0',
      codecs: [
        {
          mimeType: 'audio/opus',
          payloadType: 111,
          clockRate: 48000,
          channels: 2,
          parameters: { minptime: 10, maxaveragebitrate: 96000, stereo: 1, 'sprop-stereo': 1, useinbandfec: 1 },
          rtcpFeedback: [],
        },
      ],
      headerExtensions: [],
      encodings: [{ ssrc: 1111111111 }],
      rtcp: { cname: 'obs-cname', reducedSize: false },
    });
    expect(video?.rtpParameters).toEqual({
      mid: '1',
      codecs: [
        {
          mimeType: 'video/H264',
          payloadType: 96,
          clockRate: 90000,
          parameters: { 'profile-level-id': '42e01f', 'packetization-mode': 1, 'level-asymmetry-allowed': 1 },
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
        },
        { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
      ],
      // video-content-type is not a mediasoup extension.
      headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 3 }],
      encodings: [{ ssrc: 2222222222, rtx: { ssrc: 3333333333 } }],
      rtcp: { cname: 'obs-cname', reducedSize: false },
    });

    const transport = await createTransport();
    for (const { kind, rtpParameters } of params) await transport.produce({ kind, rtpParameters });
    const answer = sdpTransform.parse(
      answerFor(
        offer,
        transport,
        params.map(({ mid, rtpParameters }) => ({ mid, rtpParameters, direction: 'recvonly' })),
      ),
    );
    expect(answer.media.map((m) => [m.type, m.direction, m.payloads])).toEqual([
      ['audio', 'recvonly', 111],
      ['video', 'recvonly', '96 97'],
    ]);
    expect(answer.media[1]?.fmtp).toEqual([
      { payload: 96, config: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' },
      { payload: 97, config: 'apt=96' },
    ]);
    expect(answer.media[1]?.ext).toEqual([{ value: 3, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' }]);
    expect(answer.media[1]?.ssrcs).toBeUndefined();
    transport.close();
  });

  it('matches H.264 by profile: every profile a WebRTC source sends is accepted, packetization-mode=0 is not', async () => {
    for (const profileLevelId of ['42e01f', '42001f', '4d001f', '4d0032', '640c1f', '64001f', '640033', 'f4001f']) {
      const params = producerParameters(parseOffer(obsOffer(h264Only(`profile-level-id=${profileLevelId};packetization-mode=1`)), MAX), router.rtpCapabilities);
      expect(params.map((p) => p.kind)).toEqual(['audio', 'video']);
      expect(params[1]!.rtpParameters.codecs[0]!.parameters!['profile-level-id']).toBe(profileLevelId);
      const transport = await createTransport();
      await transport.produce({ kind: 'video', rtpParameters: params[1]!.rtpParameters });
      transport.close();
    }

    for (const fmtp of [
      'profile-level-id=42e01f;packetization-mode=0',
      'profile-level-id=6e001f;packetization-mode=1', // High 10
    ]) {
      const offer = parseOffer(obsOffer(h264Only(fmtp)), MAX);
      // The video section is left out (rejected in the answer); Opus still goes through.
      expect(producerParameters(offer, router.rtpCapabilities).map((p) => p.mid)).toEqual(['0']);
    }
    const modeZeroOnly = removeLines(obsOffer(h264Only('profile-level-id=42e01f;packetization-mode=0')), /^(m=audio|a=mid:0)/);
    const error = sdpError(() => producerParameters(parseOffer(modeZeroOnly.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 1'), MAX), router.rtpCapabilities));
    expect([error.status, error.message]).toEqual([406, 'no supported codec: send Opus audio and H.264 (packetization-mode=1) or VP8 video']);
  });

  it('answers a rejected video section with port 0 and only its mid', async () => {
    const offer = parseOffer(obsOffer(h264Only('profile-level-id=42e01f;packetization-mode=0')), MAX);
    const params = producerParameters(offer, router.rtpCapabilities);
    const transport = await createTransport();
    const text = answerFor(
      offer,
      transport,
      params.map(({ mid, rtpParameters }) => ({ mid, rtpParameters, direction: 'recvonly' })),
    );
    const answer = sdpTransform.parse(text);
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: 0 }]);
    expect(answer.media[1]).toMatchObject({ type: 'video', port: 0, mid: 1 });
    const videoLines = text.slice(text.indexOf('m=video')).trim().split('\r\n');
    expect(videoLines).toEqual(['m=video 0 UDP/TLS/RTP/SAVPF 102', 'c=IN IP4 0.0.0.0', 'a=mid:1']);
    transport.close();
  });

  it('maps RFC 8853 simulcast to rid encodings ordered low to high and answers a=simulcast:recv', async () => {
    const offer = parseOffer(obsOffer(SIMULCAST_VP8), MAX);
    const video = producerParameters(offer, router.rtpCapabilities)[1];
    expect(video?.rtpParameters.encodings).toEqual([{ rid: 'l' }, { rid: 'm' }, { rid: 'h' }]);
    expect(video?.rtpParameters.codecs.map((c) => c.mimeType)).toEqual(['video/VP8', 'video/rtx']);
    const transport = await createTransport();
    const producer = await transport.produce({ kind: 'video', rtpParameters: video!.rtpParameters });
    expect(producer.type).toBe('simulcast');
    const answer = sdpTransform.parse(answerFor(offer, transport, [{ mid: '1', rtpParameters: video!.rtpParameters, direction: 'recvonly' }]));
    expect(answer.media[1]?.simulcast).toEqual({ dir1: 'recv', list1: 'h;m;l' });
    expect(answer.media[1]?.rids).toEqual([
      { id: 'h', direction: 'recv' },
      { id: 'm', direction: 'recv' },
      { id: 'l', direction: 'recv' },
    ]);
    transport.close();

    const noRidExtension = removeLines(obsOffer(SIMULCAST_VP8), /rtp-stream-id$/);
    expect(sdpError(() => producerParameters(parseOffer(noRidExtension, MAX), router.rtpCapabilities)).status).toBe(406);
    const draft03 = obsOffer(SIMULCAST_VP8).replace('a=simulcast:send h;m;~l', 'a=simulcast: send rid=h;m;l');
    expect(sdpError(() => producerParameters(parseOffer(draft03, MAX), router.rtpCapabilities)).message).toMatch(/simulcast/);
  });

  it('identifies a stream without a=ssrc by its MID header extension', async () => {
    const offer = parseOffer(obsOffer(MID_ONLY_VP8), MAX);
    const video = producerParameters(offer, router.rtpCapabilities)[1];
    expect(video?.rtpParameters.encodings).toEqual([{}]);
    expect(video?.rtpParameters.mid).toBe('1');
    const transport = await createTransport();
    await transport.produce({ kind: 'video', rtpParameters: video!.rtpParameters });
    transport.close();

    const noMid = parseOffer(removeLines(obsOffer(MID_ONLY_VP8), /sdes:mid$/), MAX);
    expect(sdpError(() => producerParameters(noMid, router.rtpCapabilities)).message).toMatch(/neither a=ssrc nor the sdes:mid/);
  });

  it('refuses an offer that sends nothing', () => {
    const recvonly = parseOffer(obsOffer().replaceAll('a=sendonly', 'a=recvonly'), MAX);
    expect(sdpError(() => producerParameters(recvonly, router.rtpCapabilities)).message).toMatch(/sends no audio or video/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// buildAnswer

describe('buildAnswer', () => {
  it('answers ICE-lite with our candidates, fingerprint and a setup that fits the offer', async () => {
    const transport = await createTransport();
    const offer = parseOffer(obsOffer(), MAX);
    const sections = producerParameters(offer, router.rtpCapabilities).map(({ mid, rtpParameters }): AnswerSection => ({
      mid,
      rtpParameters,
      direction: 'recvonly',
    }));
    const answer = sdpTransform.parse(answerFor(offer, transport, sections));
    const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
    expect(answer.icelite).toBe('ice-lite');
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
    expect(answer.msidSemantic).toEqual({ semantic: 'WMS', token: '*' });
    for (const media of answer.media) {
      expect(media).toMatchObject({
        port: transport.iceCandidates[0]?.port,
        connection: { version: 4, ip: '127.0.0.1' },
        iceUfrag: transport.iceParameters.usernameFragment,
        icePwd: transport.iceParameters.password,
        fingerprint: { type: 'sha-256', hash: fingerprint?.value },
        setup: 'passive',
        rtcpMux: 'rtcp-mux',
        endOfCandidates: 'end-of-candidates',
      });
      expect(media.candidates).toEqual([
        expect.objectContaining({ component: 1, transport: 'udp', ip: '127.0.0.1', port: transport.iceCandidates[0]?.port, type: 'host' }),
      ]);
    }
    const passiveOffer = parseOffer(obsOffer().replaceAll('a=setup:actpass', 'a=setup:passive'), MAX);
    expect(sdpTransform.parse(answerFor(passiveOffer, transport, sections)).media[0]?.setup).toBe('active');
    transport.close();
  });

  it('throws on caller mistakes', async () => {
    const transport = await createTransport();
    const offer = parseOffer(obsOffer(), MAX);
    const [audio] = producerParameters(offer, router.rtpCapabilities);
    expect(() => answerFor(offer, transport, [{ mid: '9', direction: 'inactive', rejected: true }])).toThrow(/no m-section with mid "9"/);
    expect(() => answerFor(offer, transport, [{ mid: '0', rtpParameters: audio!.rtpParameters, direction: 'sendonly' }])).toThrow(
      /offered sendonly; it cannot be answered sendonly/,
    );
    expect(() => answerFor(offer, transport, [{ mid: '0', direction: 'recvonly' }])).toThrow(/needs rtpParameters/);
    transport.close();
  });
});

// ---------------------------------------------------------------------------------------------------------
// End to end with real peers

describe('with real peers', () => {
  it('wrtc publishes VP8 + Opus through the answer and media reaches the producers', async () => {
    const { offer, answer, producers } = await publishWrtc(router);
    expect(offer.bundle).toBe(true);
    expect(producers.map((p) => [p.kind, p.rtpParameters.codecs[0]?.mimeType])).toEqual([
      ['video', 'video/VP8'],
      ['audio', 'audio/opus'],
    ]);
    const video = producers[0]!.rtpParameters;
    expect(video.codecs[1]).toMatchObject({ mimeType: 'video/rtx', parameters: { apt: video.codecs[0]?.payloadType } });
    expect(video.encodings?.[0]).toMatchObject({ ssrc: expect.any(Number), rtx: { ssrc: expect.any(Number) } });
    expect(video.headerExtensions?.map((e) => e.uri)).not.toContain('http://www.webrtc.org/experiments/rtp-hdrext/video-timing');
    expect(answer).toContain('a=extmap-allow-mixed'); // echoed from the libwebrtc offer
    const pc = wrtcPeers.at(-1)!;
    await waitFor('the publisher to connect', () => pc.connectionState === 'connected');
    await waitFor('video bytes at the producer', async () => (await producerBytes(producers[0]!)) > 0);
    await waitFor('audio bytes at the producer', async () => (await producerBytes(producers[1]!)) > 0);
  });

  it('werift (H.264 + Opus + data channel, recvonly) accepts the answer for consumers of the OBS producers', async () => {
    const pc = new WeriftPeerConnection({
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: 90000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
            parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
          }),
        ],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      },
    });
    weriftPeers.push(pc);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.createDataChannel('cues');
    await pc.setLocalDescription(await pc.createOffer());
    const offer = parseOffer(pc.localDescription?.sdp, MAX);
    expect(offer.sections.map((s) => [s.kind, s.direction])).toEqual([
      ['video', 'recvonly'],
      ['audio', 'recvonly'],
      ['application', 'sendrecv'],
    ]);

    const capabilities = consumerCapabilities(offer);
    const h264 = capabilities.codecs?.find((c) => c.mimeType === 'video/H264');
    expect(h264).toMatchObject({
      kind: 'video',
      clockRate: 90000,
      parameters: { 'profile-level-id': '42e01f', 'packetization-mode': 1, 'level-asymmetry-allowed': 1 },
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
    });
    expect(capabilities.codecs?.find((c) => c.mimeType === 'audio/opus')).toMatchObject({ kind: 'audio', channels: 2 });
    expect(consumerCapabilities(offer, '1').codecs?.map((c) => c.kind)).toEqual(['audio']);

    const publisher = await createTransport();
    const producers = new Map<string, types.Producer>();
    for (const { kind, rtpParameters } of producerParameters(parseOffer(obsOffer(), MAX), router.rtpCapabilities)) {
      producers.set(kind, await publisher.produce({ kind, rtpParameters }));
    }
    const transport = await createTransport();
    const sections: AnswerSection[] = [];
    for (const section of offer.sections) {
      if (section.kind === 'application') continue;
      const producer = producers.get(section.kind)!;
      expect(router.canConsume({ producerId: producer.id, rtpCapabilities: capabilities })).toBe(true);
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: capabilities, mid: section.mid });
      sections.push({ mid: section.mid, rtpParameters: consumer.rtpParameters, direction: 'sendonly', msid: { stream: 'show', track: consumer.id } });
      // mediasoup keeps the router's payload types whatever preferredPayloadType says.
      expect(answerPayloadTypeMismatches(offer, section.mid, consumer.rtpParameters)).not.toEqual([]);
    }
    await transport.connect({ dtlsParameters: offer.dtlsParameters });
    const text = answerFor(offer, transport, sections, true);
    await pc.setRemoteDescription({ type: 'answer', sdp: text });

    const answer = sdpTransform.parse(text);
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1 2' }]);
    const [video, audio, data] = answer.media;
    expect(video).toMatchObject({ type: 'video', mid: 0, direction: 'sendonly', msid: [{ id: 'show', appdata: sections[0]?.msid?.track }] });
    const videoParams = sections[0]!.rtpParameters!;
    expect(video?.rtp.map((r) => [r.payload, r.codec])).toEqual(videoParams.codecs.map((c) => [c.payloadType, c.mimeType.split('/')[1]]));
    // werift offered no RTX, so the consumer has none: one SSRC, no FID group.
    expect(videoParams.codecs.map((c) => c.mimeType)).toEqual(['video/H264']);
    expect(video?.ssrcGroups).toBeUndefined();
    expect(video?.ssrcs).toEqual([{ id: videoParams.encodings?.[0]?.ssrc, attribute: 'cname', value: videoParams.rtcp?.cname }]);
    expect(audio).toMatchObject({ type: 'audio', mid: 1, direction: 'sendonly' });
    expect(data).toMatchObject({
      type: 'application',
      protocol: 'UDP/DTLS/SCTP',
      payloads: 'webrtc-datachannel',
      sctpPort: transport.sctpParameters?.port,
      maxMessageSize: transport.sctpParameters?.maxMessageSize,
    });
    await waitFor('werift to connect', () => pc.connectionState === 'connected');
    publisher.close();
  });

  it('a werift VP8 viewer receives the wrtc publisher’s RTP', async () => {
    const published = await publishWrtc(router);
    const pc = new WeriftPeerConnection({
      codecs: {
        video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] })],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      },
    });
    weriftPeers.push(pc);
    const received = { video: 0, audio: 0 };
    pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe(() => {
        received[track.kind === 'video' ? 'video' : 'audio']++;
      });
    });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = parseOffer(pc.localDescription?.sdp, MAX);
    const capabilities = consumerCapabilities(offer);
    const transport = await createTransport();
    const sections: AnswerSection[] = [];
    for (const section of offer.sections) {
      const producer = published.producers.find((p) => p.kind === section.kind)!;
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: capabilities, mid: section.mid });
      sections.push({ mid: section.mid, rtpParameters: consumer.rtpParameters, direction: 'sendonly' });
    }
    await transport.connect({ dtlsParameters: offer.dtlsParameters });
    await pc.setRemoteDescription({ type: 'answer', sdp: answerFor(offer, transport, sections) });
    await waitFor('werift to receive video and audio RTP', () => received.video > 10 && received.audio > 10);
  });

  it('a libwebrtc viewer decodes video only when the router payload types are the ones it offered', async () => {
    const viewer = async (on: types.Router, producers: types.Producer[], enableRtx?: boolean) => {
      const pc = new wrtc.RTCPeerConnection();
      wrtcPeers.push(pc);
      let frames = 0;
      pc.ontrack = (event) => {
        if (event.track.kind !== 'video') return;
        const sink = new wrtc.nonstandard.RTCVideoSink(event.track);
        sink.onframe = () => frames++;
      };
      pc.addTransceiver('video', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      const offer = parseOffer(pc.localDescription?.sdp, MAX);
      const transport = await createTransport(on);
      const consumer = await transport.consume({
        producerId: producers.find((p) => p.kind === 'video')!.id,
        rtpCapabilities: consumerCapabilities(offer),
        mid: '0',
        ...(enableRtx === undefined ? {} : { enableRtx }),
      });
      await transport.connect({ dtlsParameters: offer.dtlsParameters });
      await pc.setRemoteDescription({
        type: 'answer',
        sdp: answerFor(offer, transport, [{ mid: '0', rtpParameters: consumer.rtpParameters, direction: 'sendonly' }]),
      });
      await waitFor('the viewer to connect', () => pc.connectionState === 'connected');
      return { offer, consumer, frames: () => frames };
    };

    // Default router: VP8 is 101 at the router but 96 in libwebrtc's offer (where 101 is an RTX type).
    const published = await publishWrtc(router);
    const mismatched = await viewer(router, published.producers);
    expect(answerPayloadTypeMismatches(mismatched.offer, '0', mismatched.consumer.rtpParameters)).toContainEqual(
      expect.objectContaining({ mimeType: 'video/VP8', payloadType: 101 }),
    );
    await waitFor('packets to reach the viewer', async () =>
      (await mismatched.consumer.getStats()).some((s) => s.type === 'outbound-rtp' && s.packetCount > 20),
    );
    expect(mismatched.frames()).toBe(0);

    // A router whose VP8/Opus payload types are the viewer's: decoded (RTX off: its type cannot be chosen).
    const offered = consumerCapabilities(mismatched.offer).codecs ?? [];
    const aligned = SFU_MEDIA_CODECS.map((codec) => {
      const match = offered.find((o) => o.mimeType.toLowerCase() === codec.mimeType.toLowerCase() && !/h264/i.test(codec.mimeType));
      return match ? { ...codec, preferredPayloadType: match.preferredPayloadType } : codec;
    });
    const worker = workers[0]!;
    const alignedRouter = await worker.createRouter({ mediaCodecs: aligned });
    const alignedPublished = await publishWrtc(alignedRouter);
    const matched = await viewer(alignedRouter, alignedPublished.producers, false);
    expect(answerPayloadTypeMismatches(matched.offer, '0', matched.consumer.rtpParameters)).toEqual([]);
    await waitFor('decoded frames at the viewer', () => matched.frames() > 5);
  });
});
