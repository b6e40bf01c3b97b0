// Scheduled shows over HTTP: the waiting room's public view of a show and its calendar file, viewers' "remind me",
// and the shop's list of who asked.
import { Router, type Request } from 'express';
import { reminderQuery } from '../contract/shows.ts';
import { badRequest, conflict, LivecueError, notFound } from '../errors.ts';
import type { ViewerIdentity, Viewer } from '../offers/viewer-identity.ts';
import type { ProductStore } from '../products/product-store.ts';
import { productView } from '../products/product-store.ts';
import type { PlaybackAccess } from '../security/playback-access.ts';
import { showCalendar } from '../shows/calendar.ts';
import { isLate, type ShowSchedules } from '../shows/show-schedules.ts';
import { pageOf } from './cursor-page.ts';
import type { StreamStore } from '../streams/stream-store.ts';
import { bearerToken } from './admin-auth.ts';

const STREAM_ID = /^str_[A-Za-z0-9]{16}$/;

export interface ShowsRouteDeps {
  shows: ShowSchedules;
  streams: StreamStore;
  products: ProductStore;
  access: PlaybackAccess;
  identity: ViewerIdentity;
}

/** A private stream's playback token rides as ?token=: the Authorization header carries the viewer's own token here. */
const playbackTokenOf = (req: Request) => (typeof req.query.token === 'string' ? req.query.token : undefined);

/** /live/<playbackId>/show, /calendar.ics and /reminders: public, the waiting room's. */
export function publicShowsRouter(deps: ShowsRouteDeps): Router {
  const router = Router();
  const { shows } = deps;
  const streamOf = (req: Request) => deps.access.playableStream(String(req.params.playbackId), playbackTokenOf(req));

  const viewerOf = (req: Request): Viewer => {
    const viewer = deps.identity.verify(bearerToken(req.headers.authorization));
    if (!viewer) {
      throw new LivecueError('unauthorized', 'send the viewer token as Authorization: Bearer <viewerToken> (POST /live/viewers, or the shop-signed one)');
    }
    return viewer;
  };

  router.get('/:playbackId/show', async (req, res) => {
    const stream = await streamOf(req);
    const schedule = await shows.store.get(stream.id);
    const viewerToken = typeof req.query.viewerToken === 'string' ? req.query.viewerToken : undefined;
    const viewer = deps.identity.verify(viewerToken);
    const lineup = schedule ? await Promise.all((schedule.products as string[]).map((id) => deps.products.get(id))) : [];
    res.json({
      playbackId: stream.playbackId,
      title: stream.title,
      status: stream.status,
      schedule: schedule && {
        startAt: schedule.startAt.toISOString(),
        description: schedule.description,
        coverImageUrl: schedule.coverImageUrl,
        late: isLate(schedule, stream.status),
        upcoming: schedule.wentLiveAt === null,
        // A product removed from the catalogue since drops out of the lineup.
        products: lineup.flatMap((product) => {
          if (!product) return [];
          const { createdAt: _created, updatedAt: _updated, ...card } = productView(product);
          return [card];
        }),
        calendarUrl: shows.calendarUrl(stream.playbackId),
      },
      reminded: viewer && schedule ? await shows.store.hasReminder(stream.id, viewer.id) : false,
    });
  });

  router.get('/:playbackId/calendar.ics', async (req, res) => {
    const stream = await streamOf(req);
    const schedule = await shows.store.get(stream.id);
    if (!schedule) throw notFound('scheduled show');
    const uid = `show-${stream.id}@${new URL(shows.watchUrl(stream.playbackId)).hostname}`;
    const text = showCalendar({
      uid,
      title: stream.title,
      description: schedule.description,
      startAt: schedule.startAt,
      watchUrl: shows.watchUrl(stream.playbackId),
      updatedAt: schedule.updatedAt,
    });
    res.setHeader('Content-Disposition', `attachment; filename="show-${stream.playbackId}.ics"`);
    res.type('text/calendar; charset=utf-8').send(text);
  });

  router.post('/:playbackId/reminders', async (req, res) => {
    const stream = await streamOf(req);
    const viewer = viewerOf(req);
    const schedule = await shows.store.get(stream.id);
    if (!schedule || schedule.wentLiveAt !== null || stream.status === 'live') throw conflict('this stream has no upcoming scheduled show to be reminded of');
    const { reminder, created } = await shows.store.remind(stream.id, viewer);
    res.status(created ? 201 : 200).json({ reminded: true, viewerId: reminder.viewerId, createdAt: reminder.createdAt.toISOString() });
  });

  router.delete('/:playbackId/reminders', async (req, res) => {
    const stream = await streamOf(req);
    await shows.store.forget(stream.id, viewerOf(req).id);
    res.status(204).end();
  });
  return router;
}

/** GET /v1/streams/:id/reminders: who asked to be reminded, oldest first, in pages. */
export function remindersRouter(deps: { shows: ShowSchedules; streams: StreamStore }): Router {
  const router = Router({ mergeParams: true });
  router.get('/', async (req, res) => {
    const id = String((req.params as { id?: string }).id);
    if (!STREAM_ID.test(id)) throw badRequest(`"${id.slice(0, 40)}" is not a stream id (str_ followed by 16 letters or digits)`);
    const { after, limit } = pageOf(reminderQuery.parse(req.query), 100);
    const stream = await deps.streams.get(id);
    if (!stream) throw notFound(`stream ${id}`);
    const [page, counts] = await Promise.all([deps.shows.store.reminders(id, limit, after), deps.shows.store.reminderCounts([id])]);
    res.json({
      reminders: page.reminders.map((row) => ({ viewerId: row.viewerId, viewerName: row.viewerName, createdAt: row.createdAt.toISOString() })),
      total: counts.get(id) ?? 0,
      nextCursor: page.nextCursor,
    });
  });
  return router;
}
