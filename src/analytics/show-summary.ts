// What GET /v1/streams/:id/analytics derives from the raw counts: per pin and per product the rates
// (conversion = claims / views while pinned, click rate = clicks / views), and the after-the-show
// summary (peak and average viewers, watch time, top products, time from pin to first claim).
import type { MinuteRow, PinStats, ViewerPath } from './analytics.ts';

const TOP_PRODUCTS = 5;

/** Three decimals; null when nobody was there to convert. */
const ratio = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 1000 : null);
const seconds = (ms: number) => Math.round(ms / 100) / 10;
const iso = (ms: number) => new Date(ms).toISOString();
const tenths = (values: number[]) => Math.round(values.reduce((sum, value) => sum + value, 0) * 10) / 10;

export type PinReport = ReturnType<typeof pinReport>;
export type ProductReport = ReturnType<typeof productReports>[number];

export function pinReport(pin: PinStats, now: number) {
  return {
    cueId: pin.cueId,
    productId: pin.productId,
    pinnedAt: iso(pin.pinnedAt),
    unpinnedAt: pin.endedAt === null ? null : iso(pin.endedAt),
    pinnedSeconds: seconds((pin.endedAt ?? now) - pin.pinnedAt),
    views: pin.views,
    exposureSeconds: seconds(pin.exposureMs),
    clicks: pin.clicks,
    taps: pin.taps,
    claims: pin.claims,
    conversion: ratio(pin.claims, pin.views),
    clickRate: ratio(pin.clicks, pin.views),
    secondsToFirstClaim: pin.firstClaimAt === null ? null : seconds(pin.firstClaimAt - pin.pinnedAt),
  };
}

/**
 * One row per product that was pinned or offered. `views` and `clicks` are distinct viewers over all
 * of its pins; `claims` are every claim on its offers in this stream (the shop's number), and
 * `claimsWhilePinned` those placed while its card was up.
 */
export function productReports(pins: PinReport[], distinct: Map<string, { views: number; clicks: number }>, offerClaims: Map<string, number>) {
  const order = [...new Set([...pins.map((pin) => pin.productId), ...offerClaims.keys()])];
  return order.map((productId) => {
    const own = pins.filter((pin) => pin.productId === productId);
    const { views, clicks } = distinct.get(productId) ?? { views: 0, clicks: 0 };
    const claims = offerClaims.get(productId) ?? 0;
    const toFirstClaim = own.map((pin) => pin.secondsToFirstClaim).filter((value): value is number => value !== null);
    return {
      productId,
      pins: own.length,
      pinnedSeconds: tenths(own.map((pin) => pin.pinnedSeconds)),
      views,
      exposureSeconds: tenths(own.map((pin) => pin.exposureSeconds)),
      clicks,
      taps: own.reduce((sum, pin) => sum + pin.taps, 0),
      claims,
      claimsWhilePinned: own.reduce((sum, pin) => sum + pin.claims, 0),
      conversion: ratio(claims, views),
      clickRate: ratio(clicks, views),
      secondsFromPinToFirstClaim: toFirstClaim.length > 0 ? Math.min(...toFirstClaim) : null,
    };
  });
}

export function showSummary(input: {
  perMinute: MinuteRow[];
  /** Viewer-milliseconds by path. */
  watchMs: Record<ViewerPath, number>;
  /** How long the stream's shows were live (their reconnect windows included). */
  liveSeconds: number;
  pins: PinReport[];
  products: ProductReport[];
}) {
  const total = (field: Exclude<keyof MinuteRow, 'minute'>) => input.perMinute.reduce((sum, row) => sum + row[field], 0);
  const { webrtc, hls, replay } = input.watchMs;
  const toFirstClaim = input.pins.map((pin) => pin.secondsToFirstClaim).filter((value): value is number => value !== null);
  return {
    peakViewers: Math.max(0, ...input.perMinute.map((row) => row.peakViewers)),
    // Live viewers on average over the show: live watch time spread over the time it was live.
    averageViewers: input.liveSeconds > 0 ? Math.round(((webrtc + hls) / 1000 / input.liveSeconds) * 100) / 100 : null,
    liveSeconds: Math.round(input.liveSeconds * 10) / 10,
    watchSeconds: { webrtc: seconds(webrtc), hls: seconds(hls), replay: seconds(replay), total: seconds(webrtc + hls + replay) },
    chatMessages: total('chat'),
    reactions: total('reactions'),
    votes: total('votes'),
    claims: total('claims'),
    cues: total('cues'),
    taps: total('taps'),
    topProducts: input.products
      .filter((product) => product.views > 0)
      .sort((a, b) => (b.conversion ?? 0) - (a.conversion ?? 0) || b.claims - a.claims || (b.clickRate ?? 0) - (a.clickRate ?? 0))
      .slice(0, TOP_PRODUCTS)
      .map(({ productId, views, clicks, claims, conversion, clickRate, secondsFromPinToFirstClaim }) => ({
        productId,
        views,
        clicks,
        claims,
        conversion,
        clickRate,
        secondsFromPinToFirstClaim,
      })),
    averageSecondsFromPinToFirstClaim: toFirstClaim.length > 0 ? Math.round((tenths(toFirstClaim) / toFirstClaim.length) * 10) / 10 : null,
  };
}
