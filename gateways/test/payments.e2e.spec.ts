/**
 * Paying and not paying: the provider's signed webhook confirms a
 * reservation (once, however often it is delivered); a bad or stale
 * signature is refused; an unpaid reservation expires and its slot can be
 * booked again; so does a hold that is never confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/http/signature.js';
import { PAYMENT_SECRET, T0, allEvents, startGateway, type Gateway } from './harness.js';

type Reservation = { reservationId: string; state: string; price: { amountCents: number }; paymentDeadline: string | null };
type Problem = { code: string; status: number; detail: string };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw.close());

const webhook = (payload: Record<string, unknown>, options: { secret?: string; at?: number; signature?: string } = {}) => {
  const raw = JSON.stringify(payload);
  const signature = options.signature ?? sign(options.secret ?? PAYMENT_SECRET, raw, (options.at ?? gw.clock()) / 1000);
  return gw.call<Record<string, unknown> & Problem>('POST', '/v1/payments/webhook', {
    key: null,
    idem: null,
    raw,
    headers: { 'content-type': 'application/json', 'vuoro-signature': signature },
  });
};

const bookCourt = (customer: string, day: string) =>
  gw.call<Reservation>('POST', '/v1/reservations', { key: gw.keys.web, customer, body: { unitId: 'unt_court1', start: `${day}T17:00`, end: `${day}T18:00` } });

describe('the payment webhook', () => {
  it('confirms a reservation awaiting payment, and a redelivery changes nothing', async () => {
    const r = await bookCourt('cus_alice', '2027-01-12');
    expect(r.body).toMatchObject({ state: 'awaiting_payment', price: { amountCents: 2000 } });
    const event = { id: 'evt_1', type: 'payment.succeeded', reservationId: r.body.reservationId, amountCents: 2000, currency: 'EUR', paymentRef: 'pay_991' };
    const paid = await webhook(event);
    expect([paid.status, paid.body.outcome, paid.body.state]).toEqual([200, 'recorded', 'confirmed']);
    const again = await webhook(event);
    expect([again.status, again.body.outcome]).toEqual([200, 'duplicate']);
    const payments = (await allEvents(gw.store)).filter((e) => e.type === 'ReservationPaid' && e.data.reservationId === r.body.reservationId);
    expect(payments.map((e) => e.data.paymentRef)).toEqual(['pay_991']);
  });

  it('refuses a bad signature with a 401 problem and records nothing', async () => {
    const r = await bookCourt('cus_bob', '2027-01-13');
    const event = { id: 'evt_2', type: 'payment.succeeded', reservationId: r.body.reservationId, amountCents: 2000, currency: 'EUR' };
    const before = (await allEvents(gw.store)).length;
    const forged = await webhook(event, { secret: 'not-the-shared-secret-at-all' });
    expect([forged.status, forged.body.code]).toEqual([401, 'INVALID_SIGNATURE']);
    expect(forged.headers.get('content-type')).toMatch(/problem\+json/);
    const missing = await gw.call<Problem>('POST', '/v1/payments/webhook', { key: null, idem: null, body: event });
    expect([missing.status, missing.body.code]).toEqual([401, 'INVALID_SIGNATURE']);
    const garbled = await webhook(event, { signature: 't=abc,v1=xyz' });
    expect(garbled.status).toBe(401);
    // A valid signature over a different body does not carry over.
    const otherBody = sign(PAYMENT_SECRET, JSON.stringify({ ...event, amountCents: 1 }), gw.clock() / 1000);
    expect((await webhook(event, { signature: otherBody })).status).toBe(401);
    expect((await allEvents(gw.store)).length).toBe(before);
    expect((await gw.call<Reservation>('GET', `/v1/reservations/${r.body.reservationId}`)).body.state).toBe('awaiting_payment');
  });

  it('refuses a replayed webhook whose timestamp is outside the tolerance', async () => {
    const r = await bookCourt('cus_bob', '2027-01-14');
    const event = { id: 'evt_3', type: 'payment.succeeded', reservationId: r.body.reservationId, amountCents: 2000, currency: 'EUR' };
    const old = await webhook(event, { at: gw.clock() - 10 * 60_000 });
    expect([old.status, old.body.code]).toEqual([401, 'INVALID_SIGNATURE']);
    expect(old.body.detail).toMatch(/timestamp/);
  });

  it('refuses a payment of the wrong amount, and acknowledges event types it does not act on', async () => {
    const r = await bookCourt('cus_alice', '2027-01-15');
    const wrong = await webhook({ id: 'evt_4', type: 'payment.succeeded', reservationId: r.body.reservationId, amountCents: 1500, currency: 'EUR' });
    expect([wrong.status, wrong.body.code]).toEqual([422, 'PAYMENT_AMOUNT_MISMATCH']);
    const other = await webhook({ id: 'evt_5', type: 'payment.refunded', reservationId: r.body.reservationId, amountCents: 2000, currency: 'EUR' });
    expect([other.status, other.body.outcome]).toEqual([200, 'ignored']);
    const strict = await webhook({ id: 'evt_6', type: 'payment.succeeded', reservationId: r.body.reservationId, amountCents: 2000, currency: 'USD' });
    expect([strict.status, strict.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('expiry', () => {
  beforeAll(async () => {
    for (const customerId of ['cus_carl', 'cus_dora']) {
      const r = await gw.call('POST', '/v1/customers', { key: gw.keys.desk, body: { customerId, name: customerId, customerGroupId: 'grp_residents' } });
      expect(r.status).toBe(201);
    }
  });

  it('expires an unpaid reservation after its deadline so its slot becomes bookable again', async () => {
    const unpaid = await bookCourt('cus_carl', '2027-01-18');
    expect(unpaid.body.paymentDeadline).toBe('2027-01-04T11:00:00.000+02:00');
    const taken = await bookCourt('cus_dora', '2027-01-18');
    expect(taken.status).toBe(409);

    // Not yet due: nothing happens.
    expect((await gw.app.vuoro.expiry.sweep(gw.clock())).expired).toBe(0);

    gw.clock.set(T0 + 61 * 60_000);
    try {
      const report = await gw.app.vuoro.expiry.sweep(gw.clock());
      expect(report.expired).toBeGreaterThanOrEqual(1);
      const expired = await gw.call<Reservation>('GET', `/v1/reservations/${unpaid.body.reservationId}`);
      expect(expired.body.state).toBe('expired');
      const late = await webhook({ id: 'evt_late', type: 'payment.succeeded', reservationId: unpaid.body.reservationId, amountCents: 2000, currency: 'EUR' });
      expect([late.status, late.body.code]).toEqual([409, 'INVALID_STATE']);

      const rebooked = await bookCourt('cus_dora', '2027-01-18');
      expect([rebooked.status, rebooked.body.state]).toEqual([201, 'awaiting_payment']);
    } finally {
      gw.clock.set(T0);
    }
  });

  it('expires a hold that is never confirmed', async () => {
    const held = await gw.call<Reservation>('POST', '/v1/reservations', {
      key: gw.keys.web,
      customer: 'cus_alice',
      body: { unitId: 'unt_sauna', start: '2027-01-19T17:00', end: '2027-01-19T18:00', confirm: false },
    });
    expect(held.body.state).toBe('requested');
    gw.clock.set(T0 + 16 * 60_000);
    try {
      await gw.app.vuoro.expiry.sweep();
      expect((await gw.call<Reservation>('GET', `/v1/reservations/${held.body.reservationId}`)).body.state).toBe('expired');
      const confirm = await gw.call<Problem>('POST', `/v1/reservations/${held.body.reservationId}/confirm`, { key: gw.keys.web, customer: 'cus_alice' });
      expect([confirm.status, confirm.body.code]).toEqual([409, 'INVALID_STATE']);
    } finally {
      gw.clock.set(T0);
    }
  });

  it('runs on its own timer when configured', async () => {
    const timed = await startGateway({ settings: { expiryIntervalMs: 20 } });
    try {
      const r = await timed.call<Reservation>('POST', '/v1/reservations', {
        key: timed.keys.web,
        customer: 'cus_bob',
        body: { unitId: 'unt_court1', start: '2027-01-20T17:00', end: '2027-01-20T18:00' },
      });
      timed.clock.set(T0 + 2 * 3_600_000);
      for (;;) {
        const now = await timed.call<Reservation>('GET', `/v1/reservations/${r.body.reservationId}`);
        if (now.body.state === 'expired') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const metrics = await timed.call('GET', '/metrics', { key: null });
      expect(metrics.text).toMatch(/vuoro_expirations_total\{reason="payment"\} 1/);
    } finally {
      await timed.close();
    }
  });
});
