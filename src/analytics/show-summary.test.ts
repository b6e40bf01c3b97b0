import { describe, expect, it } from 'vitest';
import type { MinuteRow, PinStats } from './analytics.ts';
import { pinReport, productReports, showSummary } from './show-summary.ts';

const T0 = Date.parse('2026-11-24T12:00:00.000Z');
const pin = (fields: Partial<PinStats> & Pick<PinStats, 'cueId' | 'productId' | 'pinnedAt'>): PinStats => ({
  endedAt: null,
  views: 0,
  exposureMs: 0,
  clicks: 0,
  taps: 0,
  claims: 0,
  firstClaimAt: null,
  ...fields,
});
const minute = (fields: Partial<MinuteRow>): MinuteRow => ({
  minute: new Date(T0).toISOString(),
  chat: 0,
  reactions: 0,
  votes: 0,
  claims: 0,
  cues: 0,
  taps: 0,
  peakViewers: 0,
  watchSeconds: 0,
  ...fields,
});

describe('show summary', () => {
  it('turns a pin into rates: claims and clicks over the viewers who saw it', () => {
    const report = pinReport(
      pin({
        cueId: 'cue_a',
        productId: 'prd_a',
        pinnedAt: T0,
        endedAt: T0 + 90_000,
        views: 3,
        exposureMs: 250_040,
        clicks: 2,
        taps: 5,
        claims: 1,
        firstClaimAt: T0 + 12_340,
      }),
      T0 + 200_000,
    );
    expect(report).toEqual({
      cueId: 'cue_a',
      productId: 'prd_a',
      pinnedAt: '2026-11-24T12:00:00.000Z',
      unpinnedAt: '2026-11-24T12:01:30.000Z',
      pinnedSeconds: 90,
      views: 3,
      exposureSeconds: 250,
      clicks: 2,
      taps: 5,
      claims: 1,
      conversion: 0.333,
      clickRate: 0.667,
      secondsToFirstClaim: 12.3,
    });
    // Still pinned: it counts up to now; nobody watching gives no rate rather than a division by zero.
    const open = pinReport(pin({ cueId: 'cue_b', productId: 'prd_b', pinnedAt: T0 }), T0 + 5000);
    expect(open).toMatchObject({ unpinnedAt: null, pinnedSeconds: 5, conversion: null, clickRate: null, secondsToFirstClaim: null });
  });

  it('adds up a product over its pins, with distinct viewers and every claim on its offers', () => {
    const now = T0 + 600_000;
    const pins = [
      pinReport(
        pin({
          cueId: 'cue_1',
          productId: 'prd_shoe',
          pinnedAt: T0,
          endedAt: T0 + 60_000,
          views: 10,
          exposureMs: 400_000,
          clicks: 4,
          taps: 6,
          claims: 2,
          firstClaimAt: T0 + 30_000,
        }),
        now,
      ),
      pinReport(
        pin({ cueId: 'cue_2', productId: 'prd_hat', pinnedAt: T0 + 60_000, endedAt: T0 + 120_000, views: 8, exposureMs: 300_000, clicks: 1, taps: 1 }),
        now,
      ),
      pinReport(
        pin({
          cueId: 'cue_3',
          productId: 'prd_shoe',
          pinnedAt: T0 + 120_000,
          endedAt: T0 + 150_000,
          views: 6,
          exposureMs: 100_000,
          clicks: 2,
          taps: 2,
          claims: 1,
          firstClaimAt: T0 + 125_000,
        }),
        now,
      ),
    ];
    const distinct = new Map([
      ['prd_shoe', { views: 12, clicks: 5 }],
      ['prd_hat', { views: 8, clicks: 1 }],
    ]);
    // The bag was offered without a pin: it is listed, with no audience to convert.
    const products = productReports(
      pins,
      distinct,
      new Map([
        ['prd_shoe', 4],
        ['prd_bag', 2],
      ]),
    );
    expect(products).toEqual([
      {
        productId: 'prd_shoe',
        pins: 2,
        pinnedSeconds: 90,
        views: 12,
        exposureSeconds: 500,
        clicks: 5,
        taps: 8,
        claims: 4,
        claimsWhilePinned: 3,
        conversion: 0.333,
        clickRate: 0.417,
        secondsFromPinToFirstClaim: 5,
      },
      {
        productId: 'prd_hat',
        pins: 1,
        pinnedSeconds: 60,
        views: 8,
        exposureSeconds: 300,
        clicks: 1,
        taps: 1,
        claims: 0,
        claimsWhilePinned: 0,
        conversion: 0,
        clickRate: 0.125,
        secondsFromPinToFirstClaim: null,
      },
      {
        productId: 'prd_bag',
        pins: 0,
        pinnedSeconds: 0,
        views: 0,
        exposureSeconds: 0,
        clicks: 0,
        taps: 0,
        claims: 2,
        claimsWhilePinned: 0,
        conversion: null,
        clickRate: null,
        secondsFromPinToFirstClaim: null,
      },
    ]);

    const summary = showSummary({
      perMinute: [
        minute({ chat: 3, taps: 5, claims: 2, cues: 2, peakViewers: 14, watchSeconds: 500 }),
        minute({ chat: 1, taps: 4, claims: 1, cues: 1, peakViewers: 11, watchSeconds: 400 }),
      ],
      watchMs: { webrtc: 300_000, hls: 600_000, replay: 45_000 },
      liveSeconds: 150,
      pins,
      products,
    });
    expect(summary).toEqual({
      peakViewers: 14,
      averageViewers: 6,
      liveSeconds: 150,
      watchSeconds: { webrtc: 300, hls: 600, replay: 45, total: 945 },
      chatMessages: 4,
      reactions: 0,
      votes: 0,
      claims: 3,
      cues: 3,
      taps: 9,
      topProducts: [
        { productId: 'prd_shoe', views: 12, clicks: 5, claims: 4, conversion: 0.333, clickRate: 0.417, secondsFromPinToFirstClaim: 5 },
        { productId: 'prd_hat', views: 8, clicks: 1, claims: 0, conversion: 0, clickRate: 0.125, secondsFromPinToFirstClaim: null },
      ],
      averageSecondsFromPinToFirstClaim: 17.5,
    });
    expect(showSummary({ perMinute: [], watchMs: { webrtc: 0, hls: 0, replay: 0 }, liveSeconds: 0, pins: [], products: [] })).toMatchObject({
      peakViewers: 0,
      averageViewers: null,
      averageSecondsFromPinToFirstClaim: null,
      topProducts: [],
    });
  });
});
