import { describe, expect, it, vi } from 'vitest';
import {
  CueScheduler,
  cueFromDateRange,
  cueFromSocketMessage,
  hlsJsPosition,
  parseCueMessage,
  replayPosition,
  webRtcPosition,
  type CueMessage,
  type CueType,
} from './cue-scheduler.ts';

const SHOW_START = Date.parse('2025-03-01T18:00:00.000Z');

/** A cue at `mediaTime` seconds into a show whose first frame was at SHOW_START. */
function cue(seq: number, type: CueType, mediaTime: number, payload: Record<string, unknown> = {}, duration?: number): CueMessage {
  const message: CueMessage = {
    id: `cue_${seq}`,
    seq,
    type,
    payload,
    mediaTime,
    wallClock: new Date(SHOW_START + mediaTime * 1000).toISOString(),
  };
  if (duration !== undefined) message.duration = duration;
  return message;
}

/** What the server writes into X-LIVECUE-CUE. */
function encodeCue(message: unknown): string {
  return Buffer.from(JSON.stringify(message)).toString('base64');
}

function dateRangeOf(message: CueMessage): { id: string; attr: Record<string, string | undefined> } {
  return {
    id: message.id,
    attr: {
      ID: message.id,
      CLASS: `com.livecue.${message.type}`,
      'START-DATE': message.wallClock,
      'X-LIVECUE-SEQ': String(message.seq),
      'X-LIVECUE-TYPE': message.type,
      'X-LIVECUE-CUE': encodeCue(message),
    },
  };
}

/** hls.js as the scheduler sees it: the wall clock of the frame on screen. */
function fakeHls(atMs: number | null) {
  const hls = { playingDate: atMs === null ? null : new Date(atMs) };
  const playAt = (ms: number) => (hls.playingDate = new Date(ms));
  return { hls, playAt };
}

const at = (seconds: number) => SHOW_START + seconds * 1000;
const ids = (cues: CueMessage[]) => cues.map((c) => c.id);

describe('parseCueMessage', () => {
  const valid = cue(1, 'offer.start', 12.5, { offerId: 'o1', price: 19.9 }, 60);

  it('accepts a well-formed cue and drops unknown fields', () => {
    expect(parseCueMessage({ ...valid, extra: true })).toEqual(valid);
    expect(parseCueMessage(JSON.parse(JSON.stringify(cue(2, 'announcement', 0))))).toEqual(cue(2, 'announcement', 0));
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'cue'],
    ['an array', [valid]],
    ['an empty id', { ...valid, id: '' }],
    ['a numeric id', { ...valid, id: 7 }],
    ['seq 0', { ...valid, seq: 0 }],
    ['a fractional seq', { ...valid, seq: 1.5 }],
    ['a string seq', { ...valid, seq: '1' }],
    ['an unknown type', { ...valid, type: 'product.explode' }],
    ['an array payload', { ...valid, payload: [] }],
    ['a null payload', { ...valid, payload: null }],
    ['a missing payload', { ...valid, payload: undefined }],
    ['a negative mediaTime', { ...valid, mediaTime: -1 }],
    ['a NaN mediaTime', { ...valid, mediaTime: Number.NaN }],
    ['a string mediaTime', { ...valid, mediaTime: '12.5' }],
    ['a wallClock that is no date', { ...valid, wallClock: 'yesterday' }],
    ['a wallClock without a zone', { ...valid, wallClock: '2025-03-01T18:00:12.500' }],
    ['a wallClock as epoch ms', { ...valid, wallClock: at(12.5) }],
    ['an impossible wallClock', { ...valid, wallClock: '2025-13-01T18:00:12.500Z' }],
    ['a negative duration', { ...valid, duration: -5 }],
    ['a string duration', { ...valid, duration: '60' }],
    ['a pin without productId', cue(3, 'product.pin', 1)],
  ])('drops %s', (_label, value) => {
    expect(parseCueMessage(value)).toBeUndefined();
  });
});

describe('cueFromDateRange', () => {
  it('round-trips the server base64 including non-ASCII payloads', () => {
    const original = cue(1, 'product.pin', 3, { productId: 'p-1', title: 'Café crème 日本 🍵', tags: ['é', '日本'] });
    expect(cueFromDateRange(dateRangeOf(original))).toEqual(original);
  });

  it('ignores date ranges that are not livecue cues', () => {
    expect(cueFromDateRange({ id: 'ad-1', attr: { CLASS: 'com.apple.hls.interstitial' } })).toBeUndefined();
  });

  it.each<[string, string]>([
    ['not base64', '***'],
    ['base64 of invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b]).toString('base64')],
    ['base64 of non-JSON', Buffer.from('{"id":').toString('base64')],
    ['base64 of a malformed cue', encodeCue({ ...cue(1, 'announcement', 0), seq: -1 })],
  ])('drops %s', (_label, encoded) => {
    expect(cueFromDateRange({ id: 'cue_1', attr: { 'X-LIVECUE-CUE': encoded } })).toBeUndefined();
  });

  it('drops a body whose id disagrees with the tag ID', () => {
    const range = dateRangeOf(cue(1, 'announcement', 0));
    expect(cueFromDateRange({ ...range, id: 'cue_other' })).toBeUndefined();
  });
});

describe('cueFromSocketMessage', () => {
  const message = cue(4, 'poll.open', 8, { pollId: 'q1', question: 'Quelle couleur ?' });

  it('reads WebSocket envelopes and bare data-channel cues', () => {
    expect(cueFromSocketMessage(JSON.stringify({ type: 'cue', cue: message }))).toEqual(message);
    expect(cueFromSocketMessage(JSON.stringify(message))).toEqual(message);
  });

  it.each([
    ['another message type', JSON.stringify({ type: 'viewers', count: 12 })],
    ['a cue envelope with a malformed cue', JSON.stringify({ type: 'cue', cue: { ...message, wallClock: 'soon' } })],
    ['invalid JSON', '{"type":"cue",'],
    ['a JSON scalar', '42'],
  ])('drops %s', (_label, data) => {
    expect(cueFromSocketMessage(data)).toBeUndefined();
  });
});

describe('CueScheduler on a wall-clock source (HLS)', () => {
  it('fires a cue with a frame placed a millisecond before it: the rounding of a frame time to ms, not an earlier frame', () => {
    const { hls, playAt } = fakeHls(at(0));
    const scheduler = new CueScheduler(hlsJsPosition(hls));
    scheduler.add(cue(1, 'announcement', 1));
    playAt(at(1) - 1.5);
    expect(ids(scheduler.tick())).toEqual(['cue_1']);
  });

  it('fires each cue on the first tick at or after its time, in seq order, exactly once', () => {
    const { hls, playAt } = fakeHls(at(0));
    const scheduler = new CueScheduler(hlsJsPosition(hls));
    const heard: [string, number][] = [];
    scheduler.on('cue', (c, late) => heard.push([c.id, late]));
    // Out of order on purpose: a playlist refresh can deliver a later seq first.
    scheduler.addAll([cue(3, 'announcement', 2), cue(1, 'announcement', 1), cue(2, 'announcement', 2)]);

    expect(scheduler.tick()).toEqual([]);
    playAt(at(1) - 3);
    expect(scheduler.tick()).toEqual([]);
    playAt(at(1));
    expect(ids(scheduler.tick())).toEqual(['cue_1']);
    playAt(at(2) - 3);
    expect(scheduler.tick()).toEqual([]);
    playAt(at(2.5));
    expect(ids(scheduler.tick())).toEqual(['cue_2', 'cue_3']);
    playAt(at(10));
    expect(scheduler.tick()).toEqual([]);
    expect(heard).toEqual([
      ['cue_1', 0],
      ['cue_2', 0.5],
      ['cue_3', 0.5],
    ]);
  });

  it('does nothing while hls.js has no playing date yet', () => {
    const scheduler = new CueScheduler(hlsJsPosition({ playingDate: null }));
    scheduler.add(cue(1, 'product.pin', 0, { productId: 'p1' }));
    expect(scheduler.tick()).toEqual([]);
    expect(scheduler.state()).toEqual({ announcements: [] });
  });

  it('never refires when the live position wobbles backwards', () => {
    const { hls, playAt } = fakeHls(at(5));
    const scheduler = new CueScheduler(hlsJsPosition(hls));
    scheduler.add(cue(1, 'announcement', 5));
    expect(ids(scheduler.tick())).toEqual(['cue_1']);
    playAt(at(4.9));
    expect(scheduler.tick()).toEqual([]);
    playAt(at(5.1));
    expect(scheduler.tick()).toEqual([]);
  });

  it('fires a cue that arrives after its moment with its lateness, and only folds very late ones', () => {
    const { hls, playAt } = fakeHls(at(100));
    const scheduler = new CueScheduler(hlsJsPosition(hls), { maxLateSeconds: 10 });
    const heard = vi.fn();
    scheduler.on('cue', heard);
    scheduler.add(cue(1, 'product.pin', 50, { productId: 'old' }));
    scheduler.add(cue(2, 'product.pin', 96, { productId: 'recent' }));
    expect(ids(scheduler.tick())).toEqual(['cue_2']);
    expect(heard).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ id: 'cue_2' }), 4);
    playAt(at(101));
    expect(scheduler.tick()).toEqual([]);
    expect(scheduler.state().pinnedProduct).toEqual({ productId: 'recent', cueId: 'cue_2' });
  });

  it('fires a cue seen on both the playlist and the socket once', () => {
    const { hls, playAt } = fakeHls(at(0));
    const scheduler = new CueScheduler(hlsJsPosition(hls));
    const message = cue(1, 'offer.start', 1, { offerId: 'o1', label: 'Soldes été' }, 30);
    const fromPlaylist = cueFromDateRange(dateRangeOf(message));
    const fromSocket = cueFromSocketMessage(JSON.stringify({ type: 'cue', cue: message }));
    expect(fromPlaylist && scheduler.add(fromPlaylist)).toBe(true);
    expect(fromSocket && scheduler.add(fromSocket)).toBe(false);
    playAt(at(1));
    expect(ids(scheduler.tick())).toEqual(['cue_1']);
    // A later playlist refresh still carries the date range.
    expect(scheduler.add(fromPlaylist!)).toBe(false);
    playAt(at(2));
    expect(scheduler.tick()).toEqual([]);
  });

  it('isolates a throwing listener and supports unsubscribing', () => {
    const onListenerError = vi.fn();
    const scheduler = new CueScheduler(hlsJsPosition({ playingDate: new Date(at(9)) }), { onListenerError });
    const second = vi.fn();
    scheduler.on('cue', () => {
      throw new Error('boom');
    });
    const off = scheduler.on('cue', second);
    scheduler.add(cue(1, 'announcement', 1));
    expect(ids(scheduler.tick())).toEqual(['cue_1']);
    expect(second).toHaveBeenCalledOnce();
    expect(onListenerError).toHaveBeenCalledOnce();
    off();
    scheduler.add(cue(2, 'announcement', 2));
    scheduler.tick();
    expect(second).toHaveBeenCalledOnce();
  });
});

describe('CueScheduler on a WebRTC source', () => {
  it('waits for the playout delay: the frame on screen was captured that long ago', () => {
    let clock = at(10);
    let delay = 0.3;
    const scheduler = new CueScheduler(
      webRtcPosition(
        () => delay,
        () => clock,
      ),
    );
    const message = cue(1, 'product.pin', 10, { productId: 'p1' });
    // The data channel delivers the cue about when its frame is captured, before the frame is shown.
    scheduler.add(cueFromSocketMessage(JSON.stringify(message))!);
    expect(scheduler.tick()).toEqual([]);
    clock = at(10.2);
    expect(scheduler.tick()).toEqual([]);
    expect(scheduler.state().pinnedProduct).toBeUndefined();
    clock = at(10.3);
    expect(ids(scheduler.tick())).toEqual(['cue_1']);
    expect(scheduler.state().pinnedProduct).toEqual({ productId: 'p1', cueId: 'cue_1' });

    // A smaller delay estimate moves the position forward.
    scheduler.add(cue(2, 'announcement', 10.5));
    delay = 0.1;
    clock = at(10.6);
    expect(ids(scheduler.tick())).toEqual(['cue_2']);
  });
});

describe('CueScheduler.state for a late joiner', () => {
  it('keeps the last pin, closes an offer whose deadline has passed, and ignores the future', () => {
    const { hls, playAt } = fakeHls(at(120));
    const scheduler = new CueScheduler(hlsJsPosition(hls), { announcementLimit: 2 });
    scheduler.addAll([
      cue(1, 'product.pin', 10, { productId: 'a', name: 'Sac' }),
      cue(2, 'offer.start', 15, { offerId: 'flash', price: 10 }, 60),
      cue(3, 'product.unpin', 20, { productId: 'a' }),
      cue(4, 'product.pin', 30, { productId: 'b', name: 'Thé 日本' }),
      cue(5, 'product.unpin', 40, { productId: 'a' }),
      cue(6, 'poll.open', 50, { pollId: 'q1', question: 'Rouge ou bleu ?' }),
      cue(7, 'announcement', 60, { text: 'one' }),
      cue(8, 'announcement', 61, { text: 'two' }),
      cue(9, 'announcement', 62, { text: 'three' }),
      cue(10, 'poll.close', 70, { pollId: 'other' }),
      cue(11, 'product.unpin', 200, {}),
    ]);
    const state = scheduler.state();
    expect(state.pinnedProduct).toEqual({ productId: 'b', name: 'Thé 日本', cueId: 'cue_4' });
    // A tap on the card is about the pin on screen: cue 4, not the earlier pin of another product.
    expect(scheduler.pinnedCueId()).toBe('cue_4');
    expect(state.offer).toBeUndefined();
    expect(state.poll).toEqual({ pollId: 'q1', question: 'Rouge ou bleu ?', cueId: 'cue_6' });
    expect(state.announcements.map((a) => a.payload.text)).toEqual(['two', 'three']);

    playAt(at(200));
    expect(scheduler.state().pinnedProduct).toBeUndefined();
    expect(scheduler.pinnedCueId()).toBeUndefined();
  });

  it('reports an open offer with its deadline, and closes it on offer.end', () => {
    const { hls, playAt } = fakeHls(at(20));
    const scheduler = new CueScheduler(hlsJsPosition(hls));
    scheduler.add(cue(1, 'offer.start', 15, { offerId: 'flash', price: 10 }, 60));
    expect(scheduler.state().offer).toEqual({ offerId: 'flash', price: 10, cueId: 'cue_1', endsAt: at(75), remainingSeconds: 55 });
    playAt(at(75));
    expect(scheduler.state().offer).toBeUndefined();
    playAt(at(30));
    scheduler.add(cue(2, 'offer.end', 25, {}));
    expect(scheduler.state().offer).toBeUndefined();
  });
});

describe('CueScheduler on a replay', () => {
  function replay() {
    const video = { currentTime: 0 };
    const scheduler = new CueScheduler(replayPosition(video));
    const heard: string[] = [];
    scheduler.on('cue', (c) => heard.push(c.id));
    // The replay file: { cues: CueMessage[] }, mediaTime is the video's currentTime.
    const file = JSON.parse(
      JSON.stringify({
        cues: [
          cue(1, 'product.pin', 10, { productId: 'a' }),
          cue(2, 'offer.start', 20, { offerId: 'o1' }, 15),
          cue(3, 'product.pin', 30, { productId: 'b' }),
          { id: 'broken' },
        ],
      }),
    ) as { cues: unknown[] };
    const cues = file.cues.map(parseCueMessage).filter((c) => c !== undefined);
    scheduler.addAll(cues);
    const playTo = (seconds: number) => {
      video.currentTime = seconds;
      return ids(scheduler.tick());
    };
    return { video, scheduler, heard, playTo };
  }

  it('fires on mediaTime and replays cues after a seek back', () => {
    const { heard, playTo } = replay();
    expect(playTo(9.99)).toEqual([]);
    expect(playTo(10)).toEqual(['cue_1']);
    expect(playTo(25)).toEqual(['cue_2']);
    expect(playTo(31)).toEqual(['cue_3']);
    // Seeking back, noticed by tick() alone.
    expect(playTo(15)).toEqual([]);
    expect(playTo(21)).toEqual(['cue_2']);
    expect(playTo(30)).toEqual(['cue_3']);
    expect(heard).toEqual(['cue_1', 'cue_2', 'cue_3', 'cue_2', 'cue_3']);
  });

  it('fires nothing for cues skipped by a seek forward, but state is right', () => {
    const { video, scheduler, heard, playTo } = replay();
    expect(playTo(5)).toEqual([]);
    video.currentTime = 31;
    scheduler.seek();
    expect(scheduler.tick()).toEqual([]);
    expect(heard).toEqual([]);
    expect(scheduler.state()).toEqual({
      pinnedProduct: { productId: 'b', cueId: 'cue_3' },
      offer: { offerId: 'o1', cueId: 'cue_2', endsAt: at(35), remainingSeconds: 4 },
      announcements: [],
    });
    expect(playTo(36)).toEqual([]);
    expect(scheduler.state().offer).toBeUndefined();
  });

  it('fires a cue exactly at the position a seek lands on', () => {
    const { video, scheduler, playTo } = replay();
    expect(playTo(40)).toEqual(['cue_1', 'cue_2', 'cue_3']);
    video.currentTime = 20;
    scheduler.seek();
    expect(scheduler.tick()).toEqual([cue(2, 'offer.start', 20, { offerId: 'o1' }, 15)]);
  });
});
