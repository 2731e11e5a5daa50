/**
 * The catalogue over HTTP: every channel reads sites, units, rules, opening
 * hours, prices and customer groups; staff define and change them, and a
 * new unit can be booked at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from './harness.js';

type Problem = { code: string; status: number; detail: string; field?: string };
type Unit = { unitId: string; siteId: string; name: string; rules: Record<string, unknown>; prices: { customerGroupId: string; validFrom: string; amountCents: number }[] };

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => gw.close());

const weekdays = [{ from: '08:00', to: '20:00' }];
const rules = {
  openingHours: { weekly: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays } },
  startIntervalMinutes: 60,
  minDurationMinutes: 60,
  maxDurationMinutes: 120,
  bookingWindow: { minDaysAhead: 1, maxDaysAhead: 60 },
};

describe('reading the catalogue', () => {
  it('lists sites and shows one with its spaces, resources and units', async () => {
    const sites = await gw.call<{ items: { siteId: string }[] }>('GET', '/v1/sites', { key: gw.keys.web });
    expect(sites.body.items.map((s) => s.siteId)).toEqual(['sit_library', 'sit_park']);
    const park = await gw.call<{ name: string; spaces: { spaceId: string; parentId?: string }[]; resources: unknown[]; units: Unit[] }>('GET', '/v1/sites/sit_park', { key: gw.keys.analyst });
    expect(park.body.name).toBe('Sports park');
    expect(park.body.spaces.find((s) => s.spaceId === 'spc_hall_a')?.parentId).toBe('spc_hall');
    expect(park.body.units.map((u) => u.unitId)).toContain('unt_court1');
    expect((await gw.call<Problem>('GET', '/v1/sites/sit_none', { key: gw.keys.web })).body.code).toBe('UNKNOWN_SITE');
  });

  it('shows a unit with its rules and prices, and lists units by type', async () => {
    const court = await gw.call<Unit>('GET', '/v1/units/unt_court1', { key: gw.keys.web });
    expect(court.body).toMatchObject({ siteId: 'sit_park', rules: { maxActivePerCustomer: 2, cancellationDeadlineHours: 24 } });
    expect(court.body.prices.map((p) => [p.customerGroupId, p.validFrom, p.amountCents])).toContainEqual(['grp_residents', '2027-06-01', 2400]);
    const courts = await gw.call<{ items: Unit[] }>('GET', '/v1/units?unitType=tennis_court', { key: gw.keys.web });
    expect(courts.body.items.map((u) => u.unitId)).toEqual(['unt_court1']);
  });

  it('resolves opening hours date by date: holidays, weekends and the DST change', async () => {
    const r = await gw.call<{ days: { date: string; open: { from: string; to: string }[]; closedReason: string | null; holiday: string | null }[] }>(
      'GET',
      '/v1/units/unt_hall_a/opening-hours?from=2027-01-05&to=2027-01-06',
      { key: gw.keys.web },
    );
    expect(r.body.days).toEqual([
      { date: '2027-01-05', open: [{ from: '2027-01-05T07:00:00.000+02:00', to: '2027-01-05T22:00:00.000+02:00' }], closedReason: null, holiday: null },
      { date: '2027-01-06', open: [], closedReason: 'HOLIDAY', holiday: expect.stringMatching(/Epiphany|Loppiainen/) },
    ]);
    const dst = await gw.call<{ days: { open: { from: string; to: string }[] }[] }>('GET', '/v1/units/unt_cottage/opening-hours?from=2027-03-28&to=2027-03-28', { key: gw.keys.web });
    expect(dst.body.days[0]?.open).toEqual([{ from: '2027-03-28T00:00:00.000+02:00', to: '2027-03-29T00:00:00.000+03:00' }]);
  });

  it('lists customer groups; customers only for staff', async () => {
    const groups = await gw.call<{ items: { customerGroupId: string; freeOfCharge: boolean }[] }>('GET', '/v1/customer-groups', { key: gw.keys.web });
    expect(groups.body.items.find((g) => g.customerGroupId === 'grp_youth')?.freeOfCharge).toBe(true);
    expect((await gw.call('GET', '/v1/customers/cus_alice', { key: gw.keys.web })).status).toBe(403);
    expect((await gw.call<{ customerGroupId: string }>('GET', '/v1/customers/cus_alice')).body.customerGroupId).toBe('grp_residents');
    expect((await gw.call<Problem>('GET', '/v1/customers/cus_none')).body.code).toBe('UNKNOWN_CUSTOMER');
  });
});

describe('changing the catalogue (staff)', () => {
  it('defines a site, a space tree, a resource and a unit, which can then be booked', async () => {
    const site = await gw.call<{ siteId: string }>('POST', '/v1/sites', { body: { name: 'Youth house', address: 'Kontulantie 1' } });
    expect(site.status).toBe(201);
    expect(site.body.siteId).toMatch(/^sit_/);
    const sid = site.body.siteId;
    expect((await gw.call('POST', `/v1/sites/${sid}/spaces`, { body: { spaceId: 'spc_yh_hall', name: 'Hall', capacity: 40 } })).status).toBe(201);
    expect((await gw.call('POST', `/v1/sites/${sid}/spaces`, { body: { spaceId: 'spc_yh_stage', name: 'Stage', parentId: 'spc_yh_hall' } })).status).toBe(201);
    const loop = await gw.call<Problem>('PUT', `/v1/sites/${sid}/spaces/spc_yh_hall`, { body: { name: 'Hall', parentId: 'spc_yh_stage' } });
    expect([loop.status, loop.body.code]).toEqual([422, 'INVALID_HIERARCHY']);
    expect((await gw.call('POST', `/v1/sites/${sid}/resources`, { body: { resourceId: 'rsc_yh_pa', name: 'PA system' } })).status).toBe(201);
    const unit = await gw.call<Unit>('POST', `/v1/sites/${sid}/units`, {
      body: { unitId: 'unt_yh_hall', name: 'Youth house hall', unitType: 'youth_space', spaceIds: ['spc_yh_hall'], resourceIds: ['rsc_yh_pa'], rules },
    });
    expect(unit.status).toBe(201);
    expect(unit.body.rules).toMatchObject({ bufferBeforeMinutes: 0, holdMinutes: 15, accessType: 'unrestricted' });
    const badSpace = await gw.call<Problem>('POST', `/v1/sites/${sid}/units`, { body: { name: 'x', unitType: 'other', spaceIds: ['spc_missing'], rules } });
    expect([badSpace.status, badSpace.body.code]).toEqual([404, 'UNKNOWN_SPACE']);

    const booked = await gw.call('POST', '/v1/reservations', { key: gw.keys.web, customer: 'cus_alice', body: { unitId: 'unt_yh_hall', start: '2027-01-12T10:00', end: '2027-01-12T12:00' } });
    expect(booked.status).toBe(201);
  });

  it('changes rules and sets a date-effective price', async () => {
    const changed = await gw.call<Unit>('PUT', '/v1/units/unt_yh_hall/rules', { body: { ...rules, requiresHandling: true } });
    expect([changed.status, changed.body.rules.requiresHandling]).toEqual([200, true]);
    const price = await gw.call<Unit>('POST', '/v1/units/unt_yh_hall/prices', {
      body: { customerGroupId: 'grp_residents', validFrom: '2027-02-01', basis: 'per_hour', amountCents: 1500, vatBasisPoints: 1400 },
    });
    expect(price.body.prices).toEqual([{ customerGroupId: 'grp_residents', validFrom: '2027-02-01', basis: 'per_hour', amountCents: 1500, vatBasisPoints: 1400 }]);
    const unknownGroup = await gw.call<Problem>('POST', '/v1/units/unt_yh_hall/prices', {
      body: { customerGroupId: 'grp_aliens', validFrom: '2027-02-01', basis: 'fixed', amountCents: 1, vatBasisPoints: 0 },
    });
    expect([unknownGroup.status, unknownGroup.body.code]).toEqual([404, 'UNKNOWN_CUSTOMER_GROUP']);
    const badRules = await gw.call<Problem>('PUT', '/v1/units/unt_yh_hall/rules', { body: { ...rules, minDurationMinutes: 180 } });
    expect([badRules.status, badRules.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badHours = await gw.call<Problem>('PUT', '/v1/units/unt_yh_hall/rules', { body: { ...rules, openingHours: { weekly: { mon: [{ from: '20:00', to: '08:00' }] } } } });
    expect(badHours.status).toBe(400);
  });

  it('defines customer groups and registers customers; a duplicate is a 409', async () => {
    const group = await gw.call<{ customerGroupId: string }>('POST', '/v1/customer-groups', { body: { customerGroupId: 'grp_seniors', name: 'Seniors', freeOfCharge: true } });
    expect(group.status).toBe(201);
    const customer = await gw.call('POST', '/v1/customers', { body: { name: 'Eino', customerGroupId: 'grp_seniors', email: 'eino@example.com' } });
    expect(customer.status).toBe(201);
    const again = await gw.call<Problem>('POST', '/v1/customer-groups', { body: { customerGroupId: 'grp_seniors', name: 'Seniors' } });
    expect([again.status, again.body.code]).toEqual([409, 'ALREADY_EXISTS']);
    const badEmail = await gw.call<Problem>('POST', '/v1/customers', { body: { name: 'X', customerGroupId: 'grp_seniors', email: 'not-an-email' } });
    expect([badEmail.status, badEmail.body.field]).toEqual([400, 'email']);
  });

  it('keeps catalogue changes to staff keys', async () => {
    const r = await gw.call<Problem>('POST', '/v1/sites', { key: gw.keys.web, customer: 'cus_alice', body: { name: 'Mine' } });
    expect([r.status, r.body.code]).toEqual([403, 'INSUFFICIENT_SCOPE']);
    expect((await gw.call('POST', '/v1/customers', { key: gw.keys.web, body: { name: 'Me', customerGroupId: 'grp_youth' } })).status).toBe(403);
  });
});
