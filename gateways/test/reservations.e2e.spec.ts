/**
 * Reservations over real HTTP, as a web shop and a staff desk use them:
 * book, read, list, hold and confirm, approve and deny, cancel, move with
 * If-Match, block time, no-shows; customers kept to their own reservations;
 * staff actions kept to staff keys; and the Helsinki clock's two awkward
 * hours answered with clear messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, startGateway, type Gateway } from './harness.js';

type Reservation = {
  reservationId: string;
  state: string;
  kind: string;
  customerId: string | null;
  start: string;
  end: string;
  price: { amountCents: number; vatCents: number; currency: string; source: string };
  paymentDeadline: string | null;
  holdExpiresAt: string | null;
  etag: string;
};
type Problem = { type: string; title: string; status: number; detail: string; code: string; field?: string; errors?: { field: string; message: string }[] };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw.close());

const book = (customer: string, body: Record<string, unknown>, key = gw.keys.web) =>
  gw.call<Reservation & Problem>('POST', '/v1/reservations', { key, customer, body });

describe('booking as a channel acting for a customer', () => {
  it('books a free slot: 201 with the reservation, its location and ETag, instants in Helsinki time', async () => {
    const r = await book('cus_alice', { unitId: 'unt_hall_a', start: '2027-01-11T18:00', end: '2027-01-11T19:00' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ state: 'confirmed', kind: 'normal', customerId: 'cus_alice', start: '2027-01-11T18:00:00.000+02:00', end: '2027-01-11T19:00:00.000+02:00' });
    expect(r.headers.get('location')).toBe(`/v1/reservations/${r.body.reservationId}`);
    expect(r.headers.get('etag')).toBe(r.body.etag);
    expect(r.body.reservationId).toMatch(/^res_/);
    expect(Number(r.headers.get('vuoro-position'))).toBeGreaterThan(0);
  });

  it('prices by the customer’s group from the directory, in cents with VAT, and awaits payment', async () => {
    const r = await book('cus_bob', { unitId: 'unt_court1', start: '2027-01-12T17:00', end: '2027-01-12T18:30' });
    expect(r.status).toBe(201);
    expect(r.body.state).toBe('awaiting_payment');
    expect(r.body.price).toEqual({ amountCents: 3000, vatCents: 368, vatBasisPoints: 1400, currency: 'EUR', source: 'price_list' });
    expect(r.body.paymentDeadline).toBe('2027-01-04T11:00:00.000+02:00');
  });

  it('books free of charge for a free customer group, whatever the price list says', async () => {
    const r = await book('cus_youth', { unitId: 'unt_court1', start: '2027-01-13T17:00', end: '2027-01-13T18:00' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ state: 'confirmed', price: { amountCents: 0, source: 'free_group' } });
  });

  it('refuses a taken slot with a 409 problem that says what to do', async () => {
    const r = await book('cus_bob', { unitId: 'unt_hall_a', start: '2027-01-11T18:30', end: '2027-01-11T19:30' });
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type: 'https://vuoro.dev/problems/slot-conflict', code: 'SLOT_CONFLICT', status: 409, title: expect.any(String) });
    expect(r.body.detail).toMatch(/Pick another time/);
  });

  it('blocks the whole hall while a section is booked (hierarchy)', async () => {
    const r = await book('cus_bob', { unitId: 'unt_hall', start: '2027-01-11T18:00', end: '2027-01-11T20:00' });
    expect(r.body.code).toBe('SLOT_CONFLICT');
  });

  it('refuses a time outside opening hours, a bad start interval, a too long booking, a date beyond the window', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ start: '2027-01-11T22:00', end: '2027-01-11T23:00' }, 'OUTSIDE_OPENING_HOURS'],
      [{ start: '2027-01-11T10:15', end: '2027-01-11T11:15' }, 'BAD_START_INTERVAL'],
      [{ start: '2027-01-11T08:00', end: '2027-01-11T12:00' }, 'DURATION_OUT_OF_RANGE'],
      [{ start: '2027-06-01T10:00', end: '2027-06-01T11:00' }, 'BOOKING_WINDOW'],
      [{ start: '2027-01-06T10:00', end: '2027-01-06T11:00' }, 'OUTSIDE_OPENING_HOURS'],
      [{ start: '2027-01-11T11:00', end: '2027-01-11T10:00' }, 'END_BEFORE_START'],
    ];
    for (const [times, code] of cases) {
      const r = await book('cus_bob', { unitId: 'unt_hall_b', ...times });
      expect([r.status, r.body.code], JSON.stringify(times)).toEqual([code === 'SLOT_CONFLICT' ? 409 : 422, code]);
      expect(r.body.detail.length).toBeGreaterThan(20);
    }
  });

  it('refuses a customer group the unit does not allow with a 403 problem', async () => {
    const r = await book('cus_firm', { unitId: 'unt_court1', start: '2027-01-14T10:00', end: '2027-01-14T11:00' });
    expect([r.status, r.body.code]).toEqual([403, 'CUSTOMER_GROUP_NOT_ALLOWED']);
  });

  it('needs the customer header for a book key, and a registered customer', async () => {
    const none = await gw.call<Problem>('POST', '/v1/reservations', { key: gw.keys.web, body: { unitId: 'unt_hall_a', start: '2027-01-15T10:00', end: '2027-01-15T11:00' } });
    expect([none.status, none.body.code, none.body.field]).toEqual([400, 'VALIDATION_FAILED', 'Vuoro-Customer']);
    const stranger = await book('cus_nobody', { unitId: 'unt_hall_a', start: '2027-01-15T10:00', end: '2027-01-15T11:00' });
    expect([stranger.status, stranger.body.code]).toEqual([404, 'UNKNOWN_CUSTOMER']);
  });

  it('does not let a customer book for someone else', async () => {
    const r = await book('cus_alice', { unitId: 'unt_hall_a', customerId: 'cus_bob', start: '2027-01-15T10:00', end: '2027-01-15T11:00' });
    expect([r.status, r.body.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('refuses an unknown unit with a 404 problem', async () => {
    const r = await book('cus_alice', { unitId: 'unt_nowhere', start: '2027-01-15T10:00', end: '2027-01-15T11:00' });
    expect([r.status, r.body.code]).toEqual([404, 'UNKNOWN_UNIT']);
  });
});

describe('the Helsinki clock', () => {
  it('refuses a booking in the spring-forward gap (last Sunday of March, 03:00-04:00) and says which times exist', async () => {
    const r = await book('cus_alice', { unitId: 'unt_cottage', start: '2027-03-28T03:30', end: '2027-03-28T05:00' });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'NONEXISTENT_LOCAL_TIME', type: 'https://vuoro.dev/problems/nonexistent-local-time', field: 'start' });
    expect(r.body.detail).toBe(
      "'2027-03-28T03:30' does not exist in Helsinki: on 2027-03-28 the clocks jump from 03:00 to 04:00. Pick a time before 03:00 or from 04:00 on.",
    );
    expect((await allEvents(gw.store)).some((e) => e.data.start === '2027-03-28T01:30:00.000Z')).toBe(false);
  });

  it('books across the gap when asked for existing times: 02:00-05:00 is two real hours', async () => {
    const r = await book('cus_alice', { unitId: 'unt_cottage', start: '2027-03-28T02:00', end: '2027-03-28T05:00' });
    expect(r.status).toBe(201);
    expect([r.body.start, r.body.end]).toEqual(['2027-03-28T02:00:00.000+02:00', '2027-03-28T05:00:00.000+03:00']);
  });

  it('refuses the autumn hour that happens twice unless the offset says which', async () => {
    const r = await book('cus_bob', { unitId: 'unt_cottage', start: '2027-10-31T03:30', end: '2027-10-31T05:00' });
    expect([r.status, r.body.code]).toEqual([422, 'AMBIGUOUS_LOCAL_TIME']);
    expect(r.body.detail).toMatch(/\+03:00.*\+02:00/);
    const ok = await book('cus_bob', { unitId: 'unt_cottage', start: '2027-10-31T03:30+02:00', end: '2027-10-31T05:00' });
    expect([ok.status, ok.body.start]).toEqual([201, '2027-10-31T03:30:00.000+02:00']);
  });

  it('refuses a date that does not exist', async () => {
    const r = await book('cus_bob', { unitId: 'unt_hall_a', start: '2027-02-30T10:00', end: '2027-02-30T11:00' });
    expect([r.status, r.body.code, r.body.field]).toEqual([422, 'INVALID_TIME', 'start']);
    expect(r.body.detail).toMatch(/2027-02 has 28 days/);
  });
});

describe('reading reservations', () => {
  let alices: Reservation;
  beforeAll(async () => {
    alices = (await book('cus_alice', { unitId: 'unt_sauna', start: '2027-01-18T17:00', end: '2027-01-18T18:00' })).body;
  });

  it('reads a reservation with its ETag, and answers 304 when nothing changed', async () => {
    const r = await gw.call<Reservation>('GET', `/v1/reservations/${alices.reservationId}`, { key: gw.keys.web, customer: 'cus_alice' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(alices);
    const again = await gw.call('GET', `/v1/reservations/${alices.reservationId}`, { key: gw.keys.web, customer: 'cus_alice', headers: { 'if-none-match': alices.etag } });
    expect(again.status).toBe(304);
  });

  it('hides another customer’s reservation as if it did not exist', async () => {
    const r = await gw.call<Problem>('GET', `/v1/reservations/${alices.reservationId}`, { key: gw.keys.web, customer: 'cus_bob' });
    expect([r.status, r.body.code]).toEqual([404, 'UNKNOWN_RESERVATION']);
    const missing = await gw.call<Problem>('GET', '/v1/reservations/res_missing', { key: gw.keys.web, customer: 'cus_bob' });
    expect(missing.body.detail).toBe(r.body.detail.replace(alices.reservationId, 'res_missing'));
  });

  it('does not let a customer cancel another’s reservation (404, and nothing changes)', async () => {
    const r = await gw.call<Problem>('POST', `/v1/reservations/${alices.reservationId}/cancel`, { key: gw.keys.partner, customer: 'cus_bob', body: {} });
    expect([r.status, r.body.code]).toEqual([404, 'UNKNOWN_RESERVATION']);
    const still = await gw.call<Reservation>('GET', `/v1/reservations/${alices.reservationId}`);
    expect(still.body.state).toBe('confirmed');
  });

  it('does not reveal another’s reservation through an If-Match check either', async () => {
    const r = await gw.call<Problem>('POST', `/v1/reservations/${alices.reservationId}/cancel`, {
      key: gw.keys.web,
      customer: 'cus_bob',
      body: {},
      headers: { 'if-match': '"stale"' },
    });
    expect(r.body.code).toBe('UNKNOWN_RESERVATION');
  });

  it('lists a customer’s own reservations for a channel, and refuses to list someone else’s', async () => {
    const mine = await gw.call<{ items: Reservation[] }>('GET', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice' });
    expect(mine.status).toBe(200);
    expect(mine.body.items.length).toBeGreaterThan(0);
    expect(mine.body.items.every((r) => r.customerId === 'cus_alice')).toBe(true);
    const other = await gw.call<Problem>('GET', '/v1/reservations?customerId=cus_bob', { key: gw.keys.web, customer: 'cus_alice' });
    expect([other.status, other.body.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('gives staff filtered lists in start order, page by page with a cursor', async () => {
    const all: Reservation[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/reservations?siteId=sit_park&from=2027-01-01&to=2027-12-31&state=confirmed,awaiting_payment&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page: { status: number; body: { items: Reservation[]; nextCursor: string | null } } = await gw.call('GET', q);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(all.map((r) => Date.parse(r.start))).toEqual([...all.map((r) => Date.parse(r.start))].sort((a, b) => a - b));
    expect(new Set(all.map((r) => r.reservationId)).size).toBe(all.length);
    expect(all.every((r) => ['confirmed', 'awaiting_payment'].includes(r.state))).toBe(true);

    const byUnit = await gw.call<{ items: Reservation[] }>('GET', '/v1/reservations?unitId=unt_court1&state=awaiting_payment');
    expect(byUnit.body.items.map((r) => r.state)).toEqual(['awaiting_payment']);
    const oneDay = await gw.call<{ items: Reservation[] }>('GET', '/v1/reservations?from=2027-01-18&to=2027-01-18');
    expect(oneDay.body.items.map((r) => r.reservationId)).toEqual([alices.reservationId]);
  });

  it('refuses a cursor it did not give out, and bad filters', async () => {
    expect((await gw.call<Problem>('GET', '/v1/reservations?cursor=bogus')).body.code).toBe('VALIDATION_FAILED');
    const bad = await gw.call<Problem>('GET', '/v1/reservations?state=booked');
    expect([bad.status, bad.body.code, bad.body.errors?.[0]?.field]).toEqual([400, 'VALIDATION_FAILED', 'state.0']);
  });
});

describe('holds, handling and staff actions', () => {
  it('holds a slot without confirming, then confirms it', async () => {
    const held = await book('cus_alice', { unitId: 'unt_hall_b', start: '2027-01-19T10:00', end: '2027-01-19T11:00', confirm: false });
    expect(held.body.state).toBe('requested');
    expect(held.body.holdExpiresAt).toBe('2027-01-04T10:15:00.000+02:00');
    const confirmed = await gw.call<Reservation>('POST', `/v1/reservations/${held.body.reservationId}/confirm`, { key: gw.keys.web, customer: 'cus_alice' });
    expect([confirmed.status, confirmed.body.state]).toEqual([200, 'confirmed']);
  });

  it('needs staff to approve: a book key gets 403, a staff key approves', async () => {
    const r = await book('cus_alice', { unitId: 'unt_meeting', start: '2027-01-20T10:00', end: '2027-01-20T11:00' });
    expect(r.body.state).toBe('requires_handling');
    const path = `/v1/reservations/${r.body.reservationId}/approve`;
    const denied = await gw.call<Problem>('POST', path, { key: gw.keys.web, customer: 'cus_alice' });
    expect([denied.status, denied.body.code]).toEqual([403, 'INSUFFICIENT_SCOPE']);
    expect(denied.body.detail).toMatch(/'staff'/);
    expect((await gw.call<Reservation>('GET', `/v1/reservations/${r.body.reservationId}`)).body.state).toBe('requires_handling');

    const approved = await gw.call<Reservation>('POST', path, { key: gw.keys.desk });
    expect([approved.status, approved.body.state]).toEqual([200, 'confirmed']);
    const twice = await gw.call<Problem>('POST', path, { key: gw.keys.desk });
    expect([twice.status, twice.body.code]).toEqual([409, 'INVALID_STATE']);
  });

  it('lets staff deny with a reason, which frees the slot', async () => {
    const r = await book('cus_bob', { unitId: 'unt_meeting', start: '2027-01-21T10:00', end: '2027-01-21T11:00' });
    const noReason = await gw.call<Problem>('POST', `/v1/reservations/${r.body.reservationId}/deny`, { body: {} });
    expect([noReason.status, noReason.body.errors?.[0]?.field]).toEqual([400, 'reason']);
    const denied = await gw.call<Reservation>('POST', `/v1/reservations/${r.body.reservationId}/deny`, { body: { reason: 'The room is reserved for a city event.' } });
    expect(denied.body.state).toBe('denied');
    const again = await book('cus_alice', { unitId: 'unt_meeting', start: '2027-01-21T10:00', end: '2027-01-21T11:00' });
    expect(again.status).toBe(201);
  });

  it('books on behalf of a customer as staff, with the customer’s terms', async () => {
    const r = await gw.call<Reservation>('POST', '/v1/reservations', { key: gw.keys.desk, body: { unitId: 'unt_court1', customerId: 'cus_bob', start: '2027-01-22T08:00', end: '2027-01-22T09:00' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'behalf', customerId: 'cus_bob', price: { amountCents: 2000 } });
    const noCustomer = await gw.call<Problem>('POST', '/v1/reservations', { key: gw.keys.desk, body: { unitId: 'unt_court1', start: '2027-01-22T10:00', end: '2027-01-22T11:00' } });
    expect([noCustomer.status, noCustomer.body.field]).toEqual([400, 'customerId']);
  });

  it('blocks time for maintenance as staff; customers cannot book it, nor block', async () => {
    const block = await gw.call<Reservation>('POST', '/v1/blocks', { body: { unitId: 'unt_hall_c_missing', start: '2027-01-25T08:00', end: '2027-01-25T12:00', reason: 'maintenance' } });
    expect(block.status).toBe(404);
    const ok = await gw.call<Reservation & { blockedBy: string }>('POST', '/v1/blocks', {
      body: { siteId: 'sit_park', spaceIds: ['spc_hall_c'], start: '2027-01-25T08:00', end: '2027-01-25T12:00', reason: 'maintenance', note: 'floor polish' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ kind: 'blocked', state: 'confirmed', customerId: null, blockedBy: 'staff:stf_anna' });
    const hall = await book('cus_alice', { unitId: 'unt_hall', start: '2027-01-25T10:00', end: '2027-01-25T11:00' });
    expect(hall.body.code).toBe('SLOT_CONFLICT');
    const byCustomer = await gw.call<Problem>('POST', '/v1/blocks', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall_a', start: '2027-01-26T08:00', end: '2027-01-26T09:00', reason: 'other' } });
    expect(byCustomer.status).toBe(403);
    const vague = await gw.call<Problem>('POST', '/v1/blocks', { body: { spaceIds: ['spc_hall_c'], start: '2027-01-26T08:00', end: '2027-01-26T09:00', reason: 'other' } });
    expect([vague.status, vague.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('marks a no-show only once the reservation has started, and completes it after it ended', async () => {
    const r = await gw.call<Reservation>('POST', '/v1/reservations', { body: { unitId: 'unt_hall_b', customerId: 'cus_alice', start: '2027-01-04T12:00', end: '2027-01-04T13:00' } });
    expect(r.status).toBe(201);
    const early = await gw.call<Problem>('POST', `/v1/reservations/${r.body.reservationId}/no-show`);
    expect([early.status, early.body.code]).toEqual([409, 'TOO_EARLY']);
    gw.clock.set(Date.parse('2027-01-04T11:30:00Z'));
    try {
      const done = await gw.call<Reservation>('POST', `/v1/reservations/${r.body.reservationId}/complete`);
      expect(done.body.state).toBe('completed');
      const noShow = await gw.call<Reservation>('POST', `/v1/reservations/${r.body.reservationId}/no-show`);
      expect(noShow.body.state).toBe('no_show');
    } finally {
      gw.clock.set(Date.parse('2027-01-04T08:00:00Z'));
    }
  });
});

describe('changing a reservation with If-Match', () => {
  it('moves a reservation when the ETag is current and refuses a stale one with 412, changing nothing', async () => {
    const r = await book('cus_alice', { unitId: 'unt_cottage', start: '2027-01-27T10:00', end: '2027-01-27T11:00' });
    const seen = r.body.etag;
    const moved = await gw.call<Reservation>('PATCH', `/v1/reservations/${r.body.reservationId}`, {
      key: gw.keys.web,
      customer: 'cus_alice',
      headers: { 'if-match': seen },
      body: { start: '2027-01-27T12:00', end: '2027-01-27T13:30' },
    });
    expect(moved.status).toBe(200);
    expect([moved.body.start, moved.body.end]).toEqual(['2027-01-27T12:00:00.000+02:00', '2027-01-27T13:30:00.000+02:00']);
    expect(moved.body.etag).not.toBe(seen);

    const stale = await gw.call<Problem & { details: { currentEtag: string } }>('POST', `/v1/reservations/${r.body.reservationId}/cancel`, {
      key: gw.keys.web,
      customer: 'cus_alice',
      headers: { 'if-match': seen },
      body: { reason: 'plans changed' },
    });
    expect([stale.status, stale.body.code, stale.body.type]).toEqual([412, 'PRECONDITION_FAILED', 'https://vuoro.dev/problems/precondition-failed']);
    expect(stale.body.details.currentEtag).toBe(moved.body.etag);
    expect((await gw.call<Reservation>('GET', `/v1/reservations/${r.body.reservationId}`)).body.state).toBe('confirmed');

    const cancelled = await gw.call<Reservation>('POST', `/v1/reservations/${r.body.reservationId}/cancel`, {
      key: gw.keys.web,
      customer: 'cus_alice',
      headers: { 'if-match': moved.body.etag },
      body: { reason: 'plans changed' },
    });
    expect([cancelled.status, cancelled.body.state]).toEqual([200, 'cancelled']);
  });

  it('lets exactly one of two clients holding the same ETag change the reservation', async () => {
    const r = await book('cus_bob', { unitId: 'unt_cottage', start: '2027-01-28T10:00', end: '2027-01-28T11:00' });
    const move = (start: string, end: string) =>
      gw.call<Reservation & Problem>('PATCH', `/v1/reservations/${r.body.reservationId}`, { key: gw.keys.web, customer: 'cus_bob', headers: { 'if-match': r.body.etag }, body: { start, end } });
    const results = await Promise.all([move('2027-01-28T12:00', '2027-01-28T13:00'), move('2027-01-28T14:00', '2027-01-28T15:00')]);
    expect(results.map((x) => x.status).sort()).toEqual([200, 412]);
  });

  it('refuses a customer’s cancellation after the deadline, while staff still can', async () => {
    const r = await book('cus_bob', { unitId: 'unt_cottage', start: '2027-01-05T09:00', end: '2027-01-05T10:00' });
    const late = await gw.call<Problem>('POST', `/v1/reservations/${r.body.reservationId}/cancel`, { key: gw.keys.web, customer: 'cus_bob', body: {} });
    expect([late.status, late.body.code]).toEqual([409, 'CANCELLATION_DEADLINE_PASSED']);
    const staff = await gw.call<Reservation>('POST', `/v1/reservations/${r.body.reservationId}/cancel`, { body: { reason: 'customer called' } });
    expect(staff.body.state).toBe('cancelled');
  });
});
