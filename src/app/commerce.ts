// The commerce of a show: products, cues on its timeline (and the hub that carries them to every node),
// offers and their stock, chat, reactions and polls, and the live analytics.
import { Analytics } from '../analytics/analytics.ts';
import type { Config } from '../config/schema.ts';
import { CueHub } from '../cues/cue-hub.ts';
import type { CueMessage } from '../contract/cue-message.ts';
import { CueService } from '../cues/cue-service.ts';
import { CueStore } from '../cues/cue-store.ts';
import { EngagementService } from '../engagement/engagement-service.ts';
import type { Logger } from '../log.ts';
import { OfferService } from '../offers/offer-service.ts';
import { ProductStore } from '../products/product-store.ts';
import type { Foundation } from './foundation.ts';
import type { Jobs } from './jobs.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Media } from './media.ts';

export interface Commerce {
  products: ProductStore;
  hub: CueHub;
  cues: CueService;
  offers: OfferService;
  engagement: EngagementService;
  analytics: Analytics;
  /** A stream's cues so far (for relays that join a show late). */
  listCues: (streamId: string) => Promise<CueMessage[]>;
}

/** Expired claims give their units back and the claim gates are checked; every node may run this. */
const CLAIM_SWEEP_MS = 1000;

export async function startCommerce(config: Config, base: Foundation, jobs: Jobs, media: Media, logger: Logger, life: Lifecycle): Promise<Commerce> {
  const { database, redis, metrics } = base;
  const { streams, registry } = media;
  const products = new ProductStore(database.db);
  const hub = await CueHub.start(redis, config.REDIS_KEY_PREFIX, logger);
  hub.on('resync', () => metrics.cueHubResyncs.inc());
  life.onClose('cue hub', () => hub.close());
  const analytics = new Analytics(redis, metrics);
  life.onClose('analytics', async () => analytics.close());
  const engagement = new EngagementService({ redis, hub, logger, blockedWords: config.CHAT_BLOCKED_WORDS.split(','), analytics });
  life.onClose('engagement', async () => engagement.close());
  const offers = new OfferService({
    db: database.db,
    redis,
    webhooks: jobs.webhooks,
    logger,
    claimSeconds: config.CLAIM_SECONDS,
    onClaimed: (offer) => analytics.claimed(offer.streamId, offer.productId),
    announceStock: async (offer) => {
      const stream = await streams.get(offer.streamId);
      if (stream) await hub.publishOffer(stream.playbackId, { id: offer.id, quantity: offer.quantity, remaining: offer.remaining });
    },
  });
  const cues = new CueService({
    cues: new CueStore(database.db),
    products,
    registry,
    hub,
    logger,
    ratePerSecond: config.CUE_RATE_PER_SECOND,
    maxCuesPerShow: config.MAX_CUES_PER_SHOW,
    // A placed cue opens offers, polls and analytics' product moments.
    onPlaced: async (streamId, cue) => {
      await offers.cuePlaced(streamId, cue);
      await analytics.cuePlaced(streamId, cue);
      await engagement.cuePlaced(streamId, cue);
    },
    pollTally: (pollId) => engagement.tally(pollId),
  });
  const claimSweep = setInterval(() => void offers.sweep().catch((error: Error) => logger.warn({ err: error }, 'claim sweep failed')), CLAIM_SWEEP_MS);
  claimSweep.unref();
  life.onClose('claim sweep', async () => {
    clearInterval(claimSweep);
    offers.close();
  });
  const listCues = async (streamId: string) => {
    const stream = await streams.get(streamId);
    return stream ? cues.list(stream) : [];
  };
  return { products, hub, cues, offers, engagement, analytics, listCues };
}
