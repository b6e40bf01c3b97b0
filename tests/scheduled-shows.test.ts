// Scheduled shows (issue #19): schedules on streams, upcoming shows listed in pages, the calendar file, viewers'
// reminders, the show.* webhooks (show.starting_soon once), late marking, and the waiting room in a real browser
// turning into the live player when an encoder starts.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showSchedules } from '../src/db/schema.ts';
import { verifyWebhookSignature } from '../src/workers/webhooks.ts';
import { launchChromium, requireChromiumAndPages } from './helpers/chromium.ts';
import { newViewer, sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.ts';
import { pushRtmp, type Encoder } from './helpers/media.ts';

interface Delivery {
  event: string;
  signature: string;
  body: string;
}

let node: TestNode;
let receiver: Server;
let secret: string;
const deliveries: Delivery[] = [];
/** Seconds before a show's start that show.starting_soon goes out in these tests. */
const LEAD_SECONDS = 3;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      deliveries.push({ event: String(req.headers['livecue-event']), signature: String(req.headers['livecue-signature']), body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  node = await startTestNode({ REMINDER_LEAD_MINUTES: LEAD_SECONDS / 60, RECONNECT_WINDOW_SECONDS: 1 });
  const address = receiver.address() as { port: number };
  const hook = await node.api('POST', '/v1/webhooks', { url: `http://127.0.0.1:${address.port}/hooks` });
  secret = hook.body.secret as string;
});

afterAll(async () => {
  await node?.stop();
  receiver?.close();
});

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

async function createProduct(sku: string, title: string) {
  const { status, body } = await node.api('POST', '/v1/products', { sku: `${sku}-${Date.now()}`, title, price: 25, currency: 'EUR' });
  expect(status).toBe(201);
  return body as { id: string };
}

/** The deliveries of one event about one stream, each checked for its signature. */
function deliveredFor(event: string, streamId: string): Record<string, unknown>[] {
  return deliveries
    .filter((delivery) => delivery.event === event)
    .map((delivery) => {
      expect(verifyWebhookSignature(secret, delivery.signature, delivery.body)).toBe(true);
      return JSON.parse(delivery.body) as { data: Record<string, unknown> };
    })
    .filter((parsed) => parsed.data.streamId === streamId)
    .map((parsed) => parsed.data);
}

describe('scheduling a show', () => {
  it('refuses bad dates, bad covers and unknown products with clear 400s, creating nothing', async () => {
    const before = (await node.api('GET', '/v1/streams')).body.streams.length as number;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ scheduledStartAt: 'next tuesday' }, /scheduledStartAt: scheduledStartAt must be an ISO 8601 date-time/],
      [{ scheduledStartAt: '2026-02-30T10:00:00Z' }, /scheduledStartAt/],
      [{ scheduledStartAt: '2020-01-01T10:00:00Z' }, /scheduledStartAt is in the past/],
      [{ scheduledStartAt: '2999-01-01T10:00:00Z' }, /more than 366 days ahead/],
      [{ scheduledStartAt: inMinutes(60), coverImageUrl: 'http://shop.example.com/a.jpg' }, /coverImageUrl must be an https URL/],
      [{ scheduledStartAt: inMinutes(60), products: ['prd_AAAAAAAAAAAAAAAA'] }, /no such product in the catalogue: prd_AAAAAAAAAAAAAAAA/],
      [{ scheduledStartAt: inMinutes(60), products: ['shoe'] }, /products\.0: a product id/],
      [{ description: 'A show with no time' }, /a show needs a start time/],
    ];
    for (const [fields, message] of cases) {
      const { status, body } = await node.api('POST', '/v1/streams', { title: 'Bad schedule', ...fields });
      expect(status, JSON.stringify(fields)).toBe(400);
      expect(body.detail).toMatch(message);
    }
    expect((await node.api('GET', '/v1/streams')).body.streams.length).toBe(before);
  });

  it('lists upcoming shows soonest first, in cursor pages, and keeps the plain list whole', async () => {
    const starts = [90, 30, 60, 45, 120];
    const created: string[] = [];
    for (const minutes of starts) {
      const { status, body } = await node.api('POST', '/v1/streams', { title: `Show in ${minutes} min`, scheduledStartAt: inMinutes(minutes) });
      expect(status).toBe(201);
      expect(body.schedule).toMatchObject({ upcoming: true, late: false, reminders: 0 });
      created.push(body.id as string);
    }
    await node.api('POST', '/v1/streams', { title: 'Unscheduled' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/streams?status=scheduled&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { status, body } = await node.api('GET', query);
      expect(status).toBe(200);
      expect(body.streams.length).toBeLessThanOrEqual(2);
      seen.push(...body.streams.map((stream: { title: string }) => stream.title));
      cursor = body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(['Show in 30 min', 'Show in 45 min', 'Show in 60 min', 'Show in 90 min', 'Show in 120 min']);

    // Newest first, in pages that neither skip nor repeat; without limit or cursor, every stream at once.
    const whole = (await node.api('GET', '/v1/streams')).body;
    expect(whole.nextCursor).toBeNull();
    const paged: string[] = [];
    cursor = null;
    do {
      const { body } = await node.api('GET', `/v1/streams?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      paged.push(...body.streams.map((stream: { id: string }) => stream.id));
      cursor = body.nextCursor as string | null;
    } while (cursor);
    expect(paged).toEqual(whole.streams.map((stream: { id: string }) => stream.id));
    expect((await node.api('GET', '/v1/streams?cursor=nonsense')).status).toBe(400);
    // A well-formed cursor at an instant PostgreSQL cannot hold is refused, not a 500.
    const farPast = Buffer.from(JSON.stringify(['-271821-04-20T00:00:00.000Z', 'str_x'])).toString('base64url');
    expect((await node.api('GET', `/v1/streams?status=scheduled&cursor=${farPast}`)).status).toBe(400);
    expect((await node.api('GET', '/v1/streams?status=soon')).status).toBe(400);
    expect((await node.api('GET', '/v1/streams?limit=0')).status).toBe(400);
  });

  it('serves the show as an iCalendar event with the right start', async () => {
    const start = new Date(Math.ceil((Date.now() + 3 * 3_600_000) / 1000) * 1000);
    const { body: stream } = await node.api('POST', '/v1/streams', {
      title: 'Winter sale; coats, boots',
      scheduledStartAt: start.toISOString(),
      description: 'Line one\nLine two, with a comma',
    });
    const response = await fetch(`${node.baseUrl}/live/${stream.playbackId}/calendar.ics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/calendar/);
    const text = await response.text();
    expect(text.endsWith('\r\n')).toBe(true);
    // Unfold (RFC 5545 3.1), then read the properties.
    const lines = text
      .replace(/\r\n[ \t]/g, '')
      .split('\r\n')
      .filter(Boolean);
    expect(lines[0]).toBe('BEGIN:VCALENDAR');
    expect(lines.at(-1)).toBe('END:VCALENDAR');
    const props = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]));
    const utc = (value: string) => new Date(value.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    expect(utc(props.get('DTSTART')!).toISOString()).toBe(start.toISOString());
    expect(utc(props.get('DTEND')!).getTime() - start.getTime()).toBe(3_600_000);
    expect(props.get('DTSTAMP')).toMatch(/^\d{8}T\d{6}Z$/);
    expect(props.get('UID')).toBe(`show-${stream.id}@localhost`);
    expect(props.get('SUMMARY')).toBe('Winter sale\\; coats\\, boots');
    expect(props.get('DESCRIPTION')).toBe(`Line one\\nLine two\\, with a comma\\n\\n${node.lc.urls.api}/watch/${stream.playbackId}`);
    expect(props.get('URL')).toBe(`${node.lc.urls.api}/watch/${stream.playbackId}`);

    const { body: plain } = await node.api('POST', '/v1/streams', { title: 'No schedule' });
    expect((await fetch(`${node.baseUrl}/live/${plain.playbackId}/calendar.ics`)).status).toBe(404);
  });

  it("stores each viewer's reminder once, lists who asked in pages, and forgets on DELETE", async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'Reminded show', scheduledStartAt: inMinutes(60) });
    const url = `${node.baseUrl}/live/${stream.playbackId}/reminders`;
    const viewers = [await newViewer(node), await newViewer(node), await newViewer(node)];
    const remind = (token: string, method = 'POST') => fetch(url, { method, headers: { authorization: `Bearer ${token}` } });
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    expect((await remind('forged.token')).status).toBe(401);
    for (const viewer of viewers) expect((await remind(viewer.token)).status).toBe(201);
    const again = await remind(viewers[0]!.token);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ reminded: true, viewerId: viewers[0]!.id });

    const first = await node.api('GET', `/v1/streams/${stream.id}/reminders?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(3);
    expect(first.body.reminders.map((r: { viewerId: string }) => r.viewerId)).toEqual([viewers[0]!.id, viewers[1]!.id]);
    expect(first.body.reminders[0].viewerName).toBeNull();
    const second = await node.api('GET', `/v1/streams/${stream.id}/reminders?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.reminders.map((r: { viewerId: string }) => r.viewerId)).toEqual([viewers[2]!.id]);
    expect(second.body.nextCursor).toBeNull();
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.schedule.reminders).toBe(3);

    const show = await (await fetch(`${node.baseUrl}/live/${stream.playbackId}/show?viewerToken=${encodeURIComponent(viewers[1]!.token)}`)).json();
    expect(show.reminded).toBe(true);
    expect((await remind(viewers[1]!.token, 'DELETE')).status).toBe(204);
    expect((await node.api('GET', `/v1/streams/${stream.id}/reminders`)).body.total).toBe(2);
    expect((await node.api('GET', `/v1/streams/str_AAAAAAAAAAAAAAAA/reminders`)).status).toBe(404);
    expect((await node.api('GET', `/v1/streams/nope/reminders`)).status).toBe(400);

    // A stream with no schedule has nothing to be reminded of.
    const { body: plain } = await node.api('POST', '/v1/streams', { title: 'No schedule' });
    expect(
      (await fetch(`${node.baseUrl}/live/${plain.playbackId}/reminders`, { method: 'POST', headers: { authorization: `Bearer ${viewers[0]!.token}` } })).status,
    ).toBe(409);
  });

  it('sends show.scheduled on every change and show.starting_soon once, with the number of reminders', async () => {
    const lineup = [await createProduct('TEE', 'Tee'), await createProduct('CAP', 'Cap')];
    const start = new Date(Date.now() + (LEAD_SECONDS + 6) * 1000).toISOString();
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'Soon', scheduledStartAt: start, products: lineup.map((p) => p.id) });
    expect(stream.schedule.products).toEqual(lineup.map((p) => p.id));
    for (const viewer of [await newViewer(node), await newViewer(node)]) {
      await fetch(`${node.baseUrl}/live/${stream.playbackId}/reminders`, { method: 'POST', headers: { authorization: `Bearer ${viewer.token}` } });
    }
    // The same start again (another node, a form sent twice) and a stray duplicate job: still one announcement.
    expect((await node.api('PATCH', `/v1/streams/${stream.id}`, { scheduledStartAt: start, description: 'Caps and tees' })).status).toBe(200);
    await node.lc.queues.maintenance.add(
      'show.starting_soon',
      { streamId: stream.id, startAt: start, watchUrl: 'x' },
      { jobId: `dup-${stream.id}`, delay: 4000 },
    );

    const scheduled = await waitFor(
      'two show.scheduled',
      () => deliveredFor('show.scheduled', stream.id).length >= 2 && deliveredFor('show.scheduled', stream.id),
    );
    expect(scheduled[0]).toMatchObject({ playbackId: stream.playbackId, scheduledStartAt: start, products: lineup.map((p) => p.id) });
    expect(scheduled[1]).toMatchObject({ description: 'Caps and tees', watchUrl: `${node.lc.urls.api}/watch/${stream.playbackId}` });
    const soon = await waitFor('show.starting_soon', () => deliveredFor('show.starting_soon', stream.id)[0], 20_000);
    expect(soon).toMatchObject({ reminders: 2, scheduledStartAt: start });
    expect(Date.now()).toBeLessThan(Date.parse(start));
    // Past the duplicate job's run and the start itself: nothing more came.
    await sleep(Math.max(0, Date.parse(start) - Date.now()) + 1500);
    expect(deliveredFor('show.starting_soon', stream.id)).toHaveLength(1);
  });

  it('marks a show that has not started 30 minutes after its time as late', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'Running late', scheduledStartAt: inMinutes(1) });
    expect(stream.schedule.late).toBe(false);
    // The clock is moved by moving the show's start back.
    await node.lc.database.db
      .update(showSchedules)
      .set({ startAt: new Date(Date.now() - 31 * 60_000) })
      .where(eq(showSchedules.streamId, stream.id));
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.schedule).toMatchObject({ late: true, upcoming: true });
    const show = await (await fetch(`${node.baseUrl}/live/${stream.playbackId}/show`)).json();
    expect(show.schedule.late).toBe(true);
    // A new time makes it on time again; null removes the schedule.
    expect((await node.api('PATCH', `/v1/streams/${stream.id}`, { scheduledStartAt: inMinutes(10) })).body.schedule.late).toBe(false);
    const removed = await node.api('PATCH', `/v1/streams/${stream.id}`, { scheduledStartAt: null });
    expect(removed.status).toBe(200);
    expect(removed.body.schedule).toBeUndefined();
  });
});

describe('the waiting room in Chromium', () => {
  let browser: Browser;
  let push: Encoder | undefined;

  beforeAll(async () => {
    requireChromiumAndPages();
    browser = await launchChromium();
  });

  afterAll(async () => {
    push?.stop();
    await browser?.close();
  });

  it('shows the countdown and lineup, stores "remind me", and becomes the live player when the encoder starts', async () => {
    const image = (
      await promisify(execFile)(
        'ffmpeg',
        ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=orange:size=96x96', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1'],
        {
          encoding: 'buffer',
        },
      )
    ).stdout;
    const lineup = [];
    for (const [sku, title] of [
      ['BOOT', 'Winter boots'],
      ['SCARF', 'Wool scarf'],
    ]) {
      const { body } = await node.api('POST', '/v1/products', {
        sku: `${sku}-${Date.now()}`,
        title,
        price: 59,
        currency: 'EUR',
        imageUrl: `https://shop.example.com/${sku}.png`,
      });
      lineup.push(body as { id: string });
    }
    const { body: stream } = await node.api('POST', '/v1/streams', {
      title: 'Winter drop',
      scheduledStartAt: inMinutes(10),
      description: 'Boots and scarves, live.',
      coverImageUrl: 'https://shop.example.com/cover.png',
      products: lineup.map((product) => product.id),
    });

    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await context.route('https://shop.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: image }));
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${node.baseUrl}/watch/${stream.playbackId}`);

    const countdown = page.getByTestId('countdown');
    await countdown.waitFor();
    await waitFor('a running countdown', async () => /^Starts in (09|10):\d\d$/.test((await countdown.textContent()) ?? ''), 10_000);
    const first = await countdown.textContent();
    await waitFor('the countdown to move', async () => (await countdown.textContent()) !== first, 5000);
    expect(await page.getByTestId('show-title').textContent()).toBe('Winter drop');
    expect(await page.getByTestId('description').textContent()).toBe('Boots and scarves, live.');
    expect(await page.getByTestId('lineup-card').allTextContents()).toEqual([expect.stringContaining('Winter boots'), expect.stringContaining('Wool scarf')]);
    expect(await page.getByTestId('calendar').getAttribute('href')).toBe(`/live/${stream.playbackId}/calendar.ics`);
    await waitFor('the cover to load', () => page.getByTestId('cover').evaluate((img) => (img as HTMLImageElement).naturalWidth > 0), 10_000);

    await page.getByTestId('remind').click();
    await waitFor('the reminder to be set', async () => (await page.getByTestId('remind').textContent())?.includes('Reminder set'), 10_000);
    const viewerId = await page.evaluate(() => (window as unknown as { livecueViewer: { viewerId: string } }).livecueViewer.viewerId);
    const reminders = (await node.api('GET', `/v1/streams/${stream.id}/reminders`)).body;
    expect(reminders.reminders.map((reminder: { viewerId: string }) => reminder.viewerId)).toEqual([viewerId]);

    // The same page, never reloaded, when the show starts: an encoder as OBS sends (x264 veryfast High, 2 s GOP, AAC 48 kHz).
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    push = pushRtmp(`${stream.ingest.rtmpUrl}/${stream.ingest.streamKey}`, {
      seconds: 60,
      size: '1280x720',
      gopSeconds: 2,
      audio: { sampleRate: 48000, channels: 2 },
      x264: { preset: 'veryfast', profile: 'high', tune: null },
    });
    await page.getByTestId('waiting-room').waitFor({ state: 'hidden', timeout: 30_000 });
    await waitFor(
      'the live player to show frames',
      () =>
        page.evaluate(() => {
          const video = document.querySelector('video')!;
          const viewer = (window as unknown as { livecueViewer: { path?: string } }).livecueViewer;
          return (viewer.path === 'webrtc' || viewer.path === 'hls') && video.getVideoPlaybackQuality().totalVideoFrames > 10;
        }),
      45_000,
      500,
    );
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(await page.getByTestId('path').textContent()).toMatch(/WebRTC|HLS/);

    const live = await waitFor('show.live', () => deliveredFor('show.live', stream.id)[0], 15_000);
    expect(live).toMatchObject({ playbackId: stream.playbackId, reminders: 1, scheduledStartAt: stream.schedule.startAt });
    expect((await node.api('GET', `/v1/streams/${stream.id}`)).body.schedule).toMatchObject({ upcoming: false, late: false });
    // Upcoming shows no longer list it, and a reminder is no longer taken.
    const upcoming = (await node.api('GET', '/v1/streams?status=scheduled')).body.streams.map((listed: { id: string }) => listed.id);
    expect(upcoming).not.toContain(stream.id);
    expect(pageErrors).toEqual([]);
    push.stop();
    await context.close();
  });

  it('says in the waiting room that a show 30 minutes past its time is running late', async () => {
    const { body: stream } = await node.api('POST', '/v1/streams', { title: 'Late show', scheduledStartAt: inMinutes(1) });
    await node.lc.database.db
      .update(showSchedules)
      .set({ startAt: new Date(Date.now() - 31 * 60_000) })
      .where(eq(showSchedules.streamId, stream.id));
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${node.baseUrl}/watch/${stream.playbackId}`);
    await page.locator('[data-testid=countdown][data-late=true]').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('countdown').textContent()).toContain('running late');
    await context.close();
  });

  it('schedules a show from the console, shows its reminders and the waiting-room link', async () => {
    const { body: product } = await node.api('POST', '/v1/products', { sku: `HAT-${Date.now()}`, title: 'Straw hat', price: 19, currency: 'EUR' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${node.baseUrl}/console`);
    await page.fill('input[name=token]', node.lc.adminToken);
    await page.click('button[type=submit]');
    await page.fill('input[aria-label="New stream title"]', 'Hat show');
    await page.click('text=Create stream');
    await page.getByTestId('schedule-lineup').getByText('Straw hat').waitFor();
    const streamId = (await page.locator('.stream-list li.selected').getAttribute('data-stream-id'))!;

    // Two days ahead, at 18:30 the host's local time (the browser's zone is the machine's).
    const start = new Date(Date.now() + 2 * 86_400_000);
    start.setHours(18, 30, 0, 0);
    const local = new Date(start.getTime() - start.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.getByTestId('schedule-start').fill(local);
    await page.fill('textarea[aria-label=Description]', 'Hats for the summer.');
    await page.getByTestId('schedule-lineup').getByText('Straw hat').click();
    await page.getByTestId('schedule-save').click();
    await page.getByText('Schedule saved.').waitFor();
    const { body: stream } = await node.api('GET', `/v1/streams/${streamId}`);
    expect(stream.schedule).toMatchObject({ description: 'Hats for the summer.', products: [product.id], upcoming: true, reminders: 0 });
    expect(Date.parse(stream.schedule.startAt)).toBe(start.getTime());
    expect(await page.getByTestId('waiting-room-url').textContent()).toBe(`${node.lc.urls.api}/watch/${stream.playbackId}`);

    const viewer = await newViewer(node);
    await fetch(`${node.baseUrl}/live/${stream.playbackId}/reminders`, { method: 'POST', headers: { authorization: `Bearer ${viewer.token}` } });
    await page.locator('[data-testid=schedule-reminders]:text("1")').waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
