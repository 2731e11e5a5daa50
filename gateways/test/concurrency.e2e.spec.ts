/**
 * Many clients at once, over real HTTP against the real SQLite store:
 * 200 clients racing for one slot get exactly one booking; a storm of
 * retries creates each reservation once; idempotency survives a restart and
 * is backed by the engine's own keys.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, startGateway, type Gateway } from './harness.js';

type Reservation = { reservationId: string; state: string; start: string };
type Problem = { code: string; status: number; type: string; detail: string };

let gw: Gateway;
const CLIENTS = 200;
const customers = Array.from({ length: CLIENTS }, (_, i) => `cus_racer_${i}`);

beforeAll(async () => {
  gw = await startGateway();
  const registered = await Promise.all(
    customers.map((customerId) => gw.call('POST', '/v1/customers', { key: gw.keys.desk, body: { customerId, name: customerId, customerGroupId: 'grp_residents' } })),
  );
  expect(registered.every((r) => r.status === 201)).toBe(true);
});
afterAll(async () => gw.close());

const requested = async (filter: (d: Record<string, unknown>) => boolean) =>
  (await allEvents(gw.store)).filter((e) => e.type === 'ReservationRequested' && filter(e.data));

describe('racing for one slot', () => {
  it(`gives exactly one of ${CLIENTS} concurrent clients the slot; the rest get a 409 problem; nothing else is stored`, async () => {
    const before = (await allEvents(gw.store)).length;
    const body = { unitId: 'unt_hall', start: '2027-01-15T18:00', end: '2027-01-15T20:00' };
    const answers = await Promise.all(
      customers.map((customer, i) => gw.call<Reservation & Problem>('POST', '/v1/reservations', { key: i % 2 === 0 ? gw.keys.web : gw.keys.partner, customer, body })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(CLIENTS - 1);
    for (const a of answers.filter((x) => x.status === 409)) {
      expect(a.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(a.body).toMatchObject({ code: 'SLOT_CONFLICT', type: 'https://vuoro.dev/problems/slot-conflict' });
    }
    const events = await allEvents(gw.store);
    expect(events.length - before).toBe(2); // ReservationRequested + ReservationConfirmed of the one winner
    const winner = answers.find((a) => a.status === 201)?.body as Reservation;
    expect((await requested((d) => d.unitId === 'unt_hall')).map((e) => e.data.reservationId)).toEqual([winner.reservationId]);
  });

  it('also keeps the sections of the hall out while the whole hall races with them', async () => {
    const bodies = ['unt_hall', 'unt_hall_a', 'unt_hall_b'].map((unitId) => ({ unitId, start: '2027-01-16T10:00', end: '2027-01-16T11:00' }));
    const answers = await Promise.all(customers.slice(0, 60).map((customer, i) => gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer, body: bodies[i % 3] })));
    const won = answers.filter((a) => a.status === 201).map((a) => (a.body as Reservation & { unitId: string }).unitId).sort();
    // Either the whole hall, or any of its sections (each at most once) — never both.
    expect(won.length === 1 && won[0] === 'unt_hall' ? true : !won.includes('unt_hall') && new Set(won).size === won.length).toBe(true);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
  });
});

describe('a storm of retries', () => {
  it('creates each reservation once, and every retry gets the first answer', async () => {
    const orders = Array.from({ length: 20 }, (_, i) => ({
      key: `storm-${randomUUID()}`,
      customer: customers[i] as string,
      body: { unitId: 'unt_cottage', start: `2027-02-${String(1 + i).padStart(2, '0')}T10:00`, end: `2027-02-${String(1 + i).padStart(2, '0')}T12:00` },
    }));
    const before = (await requested((d) => d.unitId === 'unt_cottage')).length;
    const attempts = orders.flatMap((o) => Array.from({ length: 10 }, () => o));
    const answers = await Promise.all(
      attempts.map((o) => gw.call<Reservation>('POST', '/v1/reservations', { key: gw.keys.web, customer: o.customer, body: o.body, idem: o.key }).then((r) => ({ o, r }))),
    );
    expect(answers.every(({ r }) => r.status === 201)).toBe(true);
    for (const o of orders) {
      const mine = answers.filter((a) => a.o === o).map((a) => a.r);
      expect(new Set(mine.map((r) => r.text)).size, 'every retry gets the same body').toBe(1);
      expect(mine.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    }
    const after = await requested((d) => d.unitId === 'unt_cottage');
    expect(after.length - before).toBe(orders.length);
  });
});

describe('idempotency across a restart', () => {
  it('answers a retry after a restart from the stored answer, and falls back on the engine’s own keys', async () => {
    const dir = await (await import('@vuoro/engine/testing/tmp.js')).tempDir('vuoro-restart-');
    let first = await startGateway({ dir });
    const keys = first.keys;
    const body = { unitId: 'unt_sauna', start: '2027-01-20T18:00', end: '2027-01-20T19:00' };
    const original = await first.call<Reservation>('POST', '/v1/reservations', { key: keys.web, customer: 'cus_alice', body, idem: 'survives-restart' });
    expect(original.status).toBe(201);
    await first.stop();

    first = await startGateway({ dir, keys });
    try {
      const retry = await first.call<Reservation>('POST', '/v1/reservations', { key: keys.web, customer: 'cus_alice', body, idem: 'survives-restart' });
      expect([retry.status, retry.headers.get('idempotent-replayed'), retry.text]).toEqual([201, 'true', original.text]);
      const changed = await first.call<Problem>('POST', '/v1/reservations', { key: keys.web, customer: 'cus_alice', body: { ...body, end: '2027-01-20T20:00' }, idem: 'survives-restart' });
      expect(changed.status).toBe(422);

      // Should the gateway's record be gone (expired), the engine still knows the key: same reservation, nothing new.
      first.db.prepare('DELETE FROM idempotency').run();
      const fallback = await first.call<Reservation>('POST', '/v1/reservations', { key: keys.web, customer: 'cus_alice', body, idem: 'survives-restart' });
      expect([fallback.status, fallback.body.reservationId]).toEqual([201, original.body.reservationId]);
      const saunas = (await allEvents(first.store)).filter((e) => e.type === 'ReservationRequested' && e.data.unitId === 'unt_sauna');
      expect(saunas).toHaveLength(1);
    } finally {
      await first.close();
    }
  });
});
