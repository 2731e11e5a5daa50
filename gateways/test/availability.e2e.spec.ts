/**
 * Availability over HTTP: a unit's free starts (with prices for the asking
 * customer), a search across units and sites, and the answers changing as
 * bookings are made; every offered start can really be booked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from './harness.js';

type Slot = { start: string; end: string; price?: { amountCents: number; currency: string } };
type UnitAvailability = { unitId: string; siteId: string; name: string; capacity: number | null; slots: Slot[]; truncated: boolean; maxActiveReached: boolean };
type Problem = { code: string; status: number; detail: string; field?: string };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw.close());

const hhmm = (s: Slot) => s.start.slice(11, 16);

describe('free starts of a unit', () => {
  it('lists the starts of a day for a duration, in Helsinki time', async () => {
    const r = await gw.call<UnitAvailability>('GET', '/v1/units/unt_hall_a/availability?from=2027-01-11&to=2027-01-11&durationMinutes=90', { key: gw.keys.web });
    expect(r.status).toBe(200);
    expect(r.body.slots[0]).toEqual({ start: '2027-01-11T07:00:00.000+02:00', end: '2027-01-11T08:30:00.000+02:00' });
    expect(r.body.slots.at(-1)?.start).toBe('2027-01-11T20:30:00.000+02:00');
    expect(r.body.slots).toHaveLength(28);
  });

  it('drops the starts a booking takes, buffers and the space hierarchy included', async () => {
    const booked = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_hall', start: '2027-01-12T18:00', end: '2027-01-12T19:00' } });
    expect(booked.status).toBe(201);
    const r = await gw.call<UnitAvailability>('GET', '/v1/units/unt_hall_b/availability?from=2027-01-12&to=2027-01-12&durationMinutes=60&fromTime=16:00&toTime=21:00', { key: gw.keys.web });
    expect(r.body.slots.map(hhmm)).toEqual(['16:00', '16:30', '17:00', '19:00', '19:30', '20:00', '20:30']);
  });

  it('prices each start for the customer the channel acts for', async () => {
    const r = await gw.call<UnitAvailability>('GET', '/v1/units/unt_court1/availability?from=2027-01-13&to=2027-01-13&durationMinutes=90&fromTime=18:00&toTime=19:00', {
      key: gw.keys.web,
      customer: 'cus_bob',
    });
    expect(r.body.slots.map((s) => [hhmm(s), s.price?.amountCents])).toEqual([
      ['18:00', 3000],
      ['18:30', 3000],
    ]);
    const youth = await gw.call<UnitAvailability>('GET', '/v1/units/unt_court1/availability?from=2027-01-13&to=2027-01-13&durationMinutes=60&fromTime=18:00&toTime=18:30', {
      key: gw.keys.web,
      customer: 'cus_youth',
    });
    expect(youth.body.slots[0]?.price).toMatchObject({ amountCents: 0, source: 'free_group', currency: 'EUR' });
    const group = await gw.call<UnitAvailability>('GET', '/v1/units/unt_court1/availability?from=2027-01-13&to=2027-01-13&durationMinutes=60&customerGroupId=grp_residents&fromTime=18:00&toTime=18:30', {
      key: gw.keys.web,
    });
    expect(group.body.slots[0]?.price?.amountCents).toBe(2000);
  });

  it('offers only starts that a booking then gets', async () => {
    const r = await gw.call<UnitAvailability>('GET', '/v1/units/unt_sauna/availability?from=2027-01-14&to=2027-01-14&durationMinutes=60', { key: gw.keys.web, customer: 'cus_alice' });
    const pick = r.body.slots[5] as Slot;
    const booked = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_sauna', start: pick.start, end: pick.end } });
    expect(booked.status).toBe(201);
    const after = await gw.call<UnitAvailability>('GET', '/v1/units/unt_sauna/availability?from=2027-01-14&to=2027-01-14&durationMinutes=60', { key: gw.keys.web, customer: 'cus_alice' });
    expect(after.body.slots.map((s) => s.start)).not.toContain(pick.start);
    expect(after.body.slots.length).toBeLessThan(r.body.slots.length - 1); // the buffers take neighbours too
  });

  it('skips the spring-forward hour', async () => {
    const r = await gw.call<UnitAvailability>('GET', '/v1/units/unt_cottage/availability?from=2027-03-28&to=2027-03-28&durationMinutes=60&toTime=05:00', { key: gw.keys.web });
    expect(r.body.slots.map((s) => s.start)).not.toContain('2027-03-28T03:00:00.000+02:00');
    expect(r.body.slots.map(hhmm)).toEqual(['00:00', '00:30', '01:00', '01:30', '02:00', '02:30', '04:00', '04:30']);
  });

  it('explains why a unit cannot be booked at all', async () => {
    const long = await gw.call<Problem>('GET', '/v1/units/unt_hall_a/availability?from=2027-01-11&to=2027-01-11&durationMinutes=300', { key: gw.keys.web });
    expect([long.status, long.body.code]).toEqual([422, 'DURATION_OUT_OF_RANGE']);
    const group = await gw.call<Problem>('GET', '/v1/units/unt_court1/availability?from=2027-01-11&to=2027-01-11&durationMinutes=60', { key: gw.keys.web, customer: 'cus_firm' });
    expect([group.status, group.body.code]).toEqual([403, 'CUSTOMER_GROUP_NOT_ALLOWED']);
    const unknown = await gw.call<Problem>('GET', '/v1/units/unt_none/availability?from=2027-01-11&to=2027-01-11&durationMinutes=60', { key: gw.keys.web });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'UNKNOWN_UNIT']);
  });

  it('refuses ranges that are backwards or too long, and bad times', async () => {
    const backwards = await gw.call<Problem>('GET', '/v1/units/unt_hall_a/availability?from=2027-01-12&to=2027-01-11&durationMinutes=60', { key: gw.keys.web });
    expect([backwards.status, backwards.body.field]).toEqual([400, 'to']);
    const long = await gw.call<Problem>('GET', '/v1/units/unt_hall_a/availability?from=2027-01-01&to=2027-03-01&durationMinutes=60', { key: gw.keys.web });
    expect([long.status, long.body.detail]).toEqual([400, 'Search at most 31 days at a time; you asked for 60.']);
    const time = await gw.call<Problem>('GET', '/v1/units/unt_hall_a/availability?from=2027-01-11&to=2027-01-11&durationMinutes=60&fromTime=25:00', { key: gw.keys.web });
    expect([time.status, time.body.field]).toEqual([400, 'fromTime']);
    const staffOnly = await gw.call<Problem>('GET', '/v1/units/unt_hall_a/availability?from=2027-01-11&to=2027-01-11&durationMinutes=60&customerId=cus_bob', { key: gw.keys.web });
    expect([staffOnly.status, staffOnly.body.code]).toEqual([403, 'INSUFFICIENT_SCOPE']);
  });

  it('lets staff see a customer’s availability on their behalf (no booking window)', async () => {
    const r = await gw.call<UnitAvailability>('GET', '/v1/units/unt_hall_a/availability?from=2027-05-03&to=2027-05-03&durationMinutes=60&customerId=cus_bob', { key: gw.keys.desk });
    expect(r.body.slots.length).toBeGreaterThan(0);
    const customer = await gw.call<UnitAvailability>('GET', '/v1/units/unt_hall_a/availability?from=2027-05-03&to=2027-05-03&durationMinutes=60', { key: gw.keys.web, customer: 'cus_bob' });
    expect(customer.body.slots).toEqual([]);
  });
});

describe('searching across units', () => {
  it('finds units by type with free starts, across sites, in a time window', async () => {
    const r = await gw.call<{ units: UnitAvailability[]; timeZone: string }>('GET', '/v1/availability?from=2027-01-15&to=2027-01-15&durationMinutes=60&unitType=sports_hall&fromTime=18:00&toTime=20:00&limitPerUnit=2', {
      key: gw.keys.web,
    });
    expect(r.status).toBe(200);
    expect(r.body.timeZone).toBe('Europe/Helsinki');
    expect(r.body.units.map((u) => u.unitId)).toEqual(['unt_hall', 'unt_hall_a', 'unt_hall_b']);
    expect(r.body.units.every((u) => u.slots.length === 2 && u.truncated)).toBe(true);
  });

  it('filters by capacity and by the customer’s group', async () => {
    const big = await gw.call<{ units: UnitAvailability[] }>('GET', '/v1/availability?from=2027-01-15&to=2027-01-15&durationMinutes=60&minCapacity=10', { key: gw.keys.web });
    expect(big.body.units.map((u) => [u.unitId, u.siteId, u.capacity])).toEqual([['unt_lib_room', 'sit_library', 12]]);
    const firm = await gw.call<{ units: UnitAvailability[] }>('GET', '/v1/availability?from=2027-01-15&to=2027-01-15&durationMinutes=60&siteId=sit_park', { key: gw.keys.web, customer: 'cus_firm' });
    expect(firm.body.units.map((u) => u.unitId)).not.toContain('unt_court1');
    expect(firm.body.units.length).toBeGreaterThan(0);
  });

  it('refuses an unknown site and an unknown unit type', async () => {
    expect((await gw.call<Problem>('GET', '/v1/availability?from=2027-01-15&to=2027-01-15&durationMinutes=60&siteId=sit_none', { key: gw.keys.web })).body.code).toBe('UNKNOWN_SITE');
    expect((await gw.call<Problem>('GET', '/v1/availability?from=2027-01-15&to=2027-01-15&durationMinutes=60&unitType=bowling', { key: gw.keys.web })).status).toBe(400);
  });
});
