/**
 * Customer communication: messages derived from committed events reach the
 * channel's webhook, signed; failures are retried with backoff and end in a
 * dead-letter state that can be retried; reminders go out the day before;
 * and channels that prefer to pull read a filtered server-sent event feed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../src/http/signature.js';
import { T0, startGateway, type Gateway } from './harness.js';

type Reservation = { reservationId: string; state: string };
type Message = { messageId: string; type: string; status: string; attempts: number; deliverAt: string; lastError: string | null; payload: Record<string, unknown> };

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A channel's webhook endpoint: records what arrives, answers with `status()`. */
async function receiver(): Promise<{ url: string; got: Received[]; status: { value: number }; close(): Promise<void> }> {
  const got: Received[] = [];
  const status = { value: 200 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = status.value;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}/hooks/vuoro`, got, status, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const until = async (condition: () => boolean | Promise<boolean>): Promise<void> => {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
};

let gw: Gateway;
let hook: Awaited<ReturnType<typeof receiver>>;
let shop: { key: string; secret: string };

beforeAll(async () => {
  gw = await startGateway({ settings: { outbox: { maxAttempts: 3, backoffMs: 60_000, pollMs: 0 } } });
  hook = await receiver();
  const channel = await gw.call<{ channel: { channelId: string }; webhookSecret: string }>('POST', '/v1/admin/channels', {
    key: gw.keys.admin,
    body: { channelId: 'chn_shop', name: 'City web shop', webhookUrl: hook.url },
  });
  expect(channel.status).toBe(201);
  const key = await gw.call<{ secret: string }>('POST', '/v1/admin/keys', { key: gw.keys.admin, body: { channelId: 'chn_shop', name: 'shop', scopes: ['book'] } });
  shop = { key: key.body.secret, secret: channel.body.webhookSecret };
});
afterAll(async () => {
  await gw.close();
  await hook.close();
});

const book = (body: Record<string, unknown>, customer = 'cus_alice') => gw.call<Reservation>('POST', '/v1/reservations', { key: shop.key, customer, body });
const payloads = () => hook.got.map((r) => JSON.parse(r.body) as { type: string; messageId: string; reservation: { reservationId: string; start: string }; reason?: string });

describe('webhook delivery', () => {
  it('delivers a signed confirmation for a booking made through the channel', async () => {
    const r = await book({ unitId: 'unt_hall_a', start: '2027-01-11T18:00', end: '2027-01-11T19:00' });
    await until(() => payloads().some((p) => p.type === 'reservation.confirmed' && p.reservation.reservationId === r.body.reservationId));
    const delivery = hook.got.find((g) => g.body.includes(r.body.reservationId)) as Received;
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(verify(shop.secret, delivery.body, delivery.headers['vuoro-signature'] as string, gw.clock() / 1000, 300)).toEqual({ ok: true });
    expect(verify('another-secret', delivery.body, delivery.headers['vuoro-signature'] as string, gw.clock() / 1000, 300).ok).toBe(false);
    const p = payloads().find((x) => x.reservation.reservationId === r.body.reservationId);
    expect(p).toMatchObject({ type: 'reservation.confirmed', channelId: 'chn_shop', reservation: { start: '2027-01-11T18:00:00.000+02:00', customerId: 'cus_alice' } });
    expect(delivery.headers['vuoro-message-id']).toBe(p?.messageId);
  });

  it('tells the channel about payment due and cancellation, and schedules a reminder for the day before', async () => {
    const r = await book({ unitId: 'unt_court1', start: '2027-01-12T18:00', end: '2027-01-12T19:00' }, 'cus_bob');
    await until(() => payloads().some((p) => p.type === 'reservation.payment_required' && p.reservation.reservationId === r.body.reservationId));
    const confirmedHall = await book({ unitId: 'unt_hall_b', start: '2027-01-13T18:00', end: '2027-01-13T19:00' }, 'cus_bob');
    await until(() => payloads().some((p) => p.type === 'reservation.confirmed' && p.reservation.reservationId === confirmedHall.body.reservationId));
    const pending = await gw.call<{ items: Message[] }>('GET', '/v1/messages?status=pending', { key: shop.key });
    const reminder = pending.body.items.find((m) => m.type === 'reservation.reminder' && (m.payload.reservation as Reservation).reservationId === confirmedHall.body.reservationId);
    expect(reminder?.deliverAt).toBe('2027-01-12T10:00:00.000+02:00');

    const cancelled = await gw.call('POST', `/v1/reservations/${confirmedHall.body.reservationId}/cancel`, { key: shop.key, customer: 'cus_bob', body: { reason: 'ill' } });
    expect(cancelled.status).toBe(200);
    await until(() => payloads().some((p) => p.type === 'reservation.cancelled' && p.reservation.reservationId === confirmedHall.body.reservationId));
    expect(payloads().find((p) => p.type === 'reservation.cancelled')).toMatchObject({ reason: 'cancelled', note: 'ill' });
    const cancelledReminder = await gw.call<{ items: Message[] }>('GET', '/v1/messages?status=cancelled', { key: shop.key });
    expect(cancelledReminder.body.items.map((m) => m.messageId)).toContain(reminder?.messageId);
  });

  it('sends the reminder when its time comes', async () => {
    const r = await book({ unitId: 'unt_sauna', start: '2027-01-14T18:00', end: '2027-01-14T19:00' });
    await until(async () => (await gw.call<{ items: Message[] }>('GET', '/v1/messages?status=pending', { key: shop.key })).body.items.some((m) => m.type === 'reservation.reminder'));
    expect(payloads().some((p) => p.type === 'reservation.reminder')).toBe(false);
    await gw.app.vuoro.outbox.dispatch(Date.parse('2027-01-13T08:00:00Z'));
    expect(payloads().filter((p) => p.type === 'reservation.reminder').map((p) => p.reservation.reservationId)).toContain(r.body.reservationId);
  });

  it('retries a failing endpoint with backoff, dead-letters after the last attempt, and sends again on request', async () => {
    hook.status.value = 500;
    const seen = hook.got.length;
    const r = await book({ unitId: 'unt_hall_a', start: '2027-01-18T18:00', end: '2027-01-18T19:00' });
    await until(() => hook.got.length > seen);
    const message = async () =>
      (await gw.call<{ items: Message[] }>('GET', '/v1/messages', { key: shop.key })).body.items.find(
        (m) => m.type === 'reservation.confirmed' && (m.payload.reservation as Reservation).reservationId === r.body.reservationId,
      ) as Message;
    await until(async () => (await message()).attempts === 1);
    const first = await message();
    expect([first.status, first.lastError]).toEqual(['pending', 'HTTP 500']);
    const backoff = Date.parse(first.deliverAt) - T0;
    expect(backoff).toBeGreaterThanOrEqual(48_000);
    expect(backoff).toBeLessThanOrEqual(72_000);

    await gw.app.vuoro.outbox.dispatch(T0 + 10 * 60_000);
    await gw.app.vuoro.outbox.dispatch(T0 + 60 * 60_000);
    const dead = await message();
    expect([dead.status, dead.attempts]).toEqual(['dead', 3]);
    const deadList = await gw.call<{ items: Message[] }>('GET', '/v1/messages?status=dead', { key: shop.key });
    expect(deadList.body.items.map((m) => m.messageId)).toContain(dead.messageId);

    hook.status.value = 200;
    const retried = await gw.call<Message>('POST', `/v1/messages/${dead.messageId}/retry`, { key: shop.key });
    expect([retried.status, retried.body.status]).toEqual([200, 'pending']);
    await until(async () => (await message()).status === 'delivered');
    const notDead = await gw.call<{ code: string }>('POST', `/v1/messages/${dead.messageId}/retry`, { key: shop.key });
    expect([notDead.status, notDead.body.code]).toEqual([409, 'INVALID_STATE']);
    const notMine = await gw.call<{ code: string }>('POST', `/v1/messages/${dead.messageId}/retry`, { key: gw.keys.web });
    expect(notMine.status).toBe(404);
  });

  it('keeps no messages for a channel that pulls (no webhook URL), and skips those of a channel that drops its URL', async () => {
    const r = await gw.call<Reservation>('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall_b', start: '2027-01-19T10:00', end: '2027-01-19T11:00' } });
    expect(r.status).toBe(201);
    await gw.app.vuoro.outbox.caughtUp(Number(r.headers.get('vuoro-position')));
    expect((await gw.call<{ items: Message[] }>('GET', '/v1/messages', { key: gw.keys.web })).body.items).toEqual([]);

    const later = await book({ unitId: 'unt_sauna', start: '2027-01-22T18:00', end: '2027-01-22T19:00' });
    await gw.app.vuoro.outbox.caughtUp(Number(later.headers.get('vuoro-position')));
    expect((await gw.call('PATCH', '/v1/admin/channels/chn_shop', { key: gw.keys.admin, body: { webhookUrl: null } })).status).toBe(200);
    try {
      await gw.app.vuoro.outbox.dispatch(Date.parse('2027-01-21T09:00:00Z'));
      const skipped = await gw.call<{ items: Message[] }>('GET', '/v1/messages?status=skipped', { key: shop.key });
      expect(skipped.body.items.map((m) => [m.type, (m.payload.reservation as Reservation).reservationId])).toContainEqual(['reservation.reminder', later.body.reservationId]);
    } finally {
      await gw.call('PATCH', '/v1/admin/channels/chn_shop', { key: gw.keys.admin, body: { webhookUrl: hook.url } });
    }
  });
});

interface Frame {
  id: string;
  event: string;
  data: { position: number; type: string; data: { reservationId?: string }; channel?: string };
}

/** Reads an SSE stream until `enough(frames)` or the server ends it. */
async function readFeed(path: string, key: string, enough: (frames: Frame[]) => boolean, headers: Record<string, string> = {}): Promise<Frame[]> {
  const controller = new AbortController();
  const res = await fetch(gw.url + path, { headers: { authorization: `Bearer ${key}`, ...headers }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = '';
  while (!enough(frames)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
      if (fields.data !== undefined) frames.push({ id: fields.id ?? '', event: fields.event ?? '', data: JSON.parse(fields.data) as Frame['data'] });
    }
  }
  controller.abort();
  await reader.cancel().catch(() => undefined);
  return frames;
}

describe('the server-sent event feed', () => {
  it('shows a channel the events of its own reservations only, and staff everything', async () => {
    const mine = await book({ unitId: 'unt_hall_a', start: '2027-01-20T10:00', end: '2027-01-20T11:00' });
    const theirs = await gw.call<Reservation>('POST', '/v1/reservations', { key: gw.keys.partner, customer: 'cus_bob', body: { unitId: 'unt_hall_b', start: '2027-01-20T10:00', end: '2027-01-20T11:00' } });
    const shopFrames = await readFeed('/v1/events?after=0', shop.key, (f) => f.some((x) => x.data.data.reservationId === mine.body.reservationId && x.event === 'ReservationConfirmed'));
    expect(shopFrames.every((f) => f.data.data.reservationId !== theirs.body.reservationId)).toBe(true);
    expect(new Set(shopFrames.map((f) => f.event))).not.toContain('SpaceDefined');
    expect(shopFrames.every((f) => f.data.channel === undefined)).toBe(true);
    expect(shopFrames.map((f) => Number(f.id))).toEqual([...shopFrames.map((f) => Number(f.id))].sort((a, b) => a - b));

    const staffFrames = await readFeed('/v1/events', gw.keys.desk, (f) => f.some((x) => x.data.data.reservationId === theirs.body.reservationId && x.event === 'ReservationConfirmed'));
    expect(staffFrames.some((f) => f.event === 'SiteDefined')).toBe(true);
    expect(staffFrames.find((f) => f.data.data.reservationId === theirs.body.reservationId)?.data.channel).toBe('chn_partner');
  });

  it('resumes after Last-Event-ID, and delivers live events as they happen', async () => {
    const before = await book({ unitId: 'unt_hall_a', start: '2027-01-21T10:00', end: '2027-01-21T11:00' });
    const all = await readFeed('/v1/events', shop.key, (f) => f.some((x) => x.data.data.reservationId === before.body.reservationId && x.event === 'ReservationConfirmed'));
    const last = all.at(-1) as Frame;
    const live = readFeed('/v1/events', shop.key, (f) => f.some((x) => x.event === 'ReservationCancelled'), { 'last-event-id': last.id });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await gw.call('POST', `/v1/reservations/${before.body.reservationId}/cancel`, { key: shop.key, customer: 'cus_alice', body: {} });
    const frames = await live;
    expect(frames.every((f) => Number(f.id) > Number(last.id))).toBe(true);
    expect(frames.map((f) => f.event)).toEqual(['ReservationCancelled']);
  });

  it('is not for device administrators', async () => {
    const key = await gw.call<{ secret: string }>('POST', '/v1/admin/keys', { key: gw.keys.admin, body: { channelId: 'chn_shop', name: 'doors', scopes: ['device-admin'] } });
    const r = await gw.call('GET', '/v1/events', { key: key.body.secret });
    expect(r.status).toBe(403);
  });
});
