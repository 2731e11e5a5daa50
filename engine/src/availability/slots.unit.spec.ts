/**
 * Availability must agree with the decider: a start is offered exactly when
 * booking it would be accepted. Checked by brute force (every 5 minutes of
 * the asked dates, DST days included) against `siteDecider.decide` over
 * random calendars, and by examples a booking office would recognise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, formatInstant, startOfLocalDay, type LocalDate } from '../calendar/index.js';
import { unitSchema, type UnitInput } from '../catalogue/schemas.js';
import type { SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import type { SiteEvent } from '../site/events.js';
import { ALICE, BOB, STAFF, UNITS, YOUTH_CLUB, asCustomer, siteCatalogue, standardHours } from '../site/fixtures.js';
import type { SiteState } from '../site/state.js';
import { alignedStartsOn, freeSlots, searchSite, type AvailabilityCustomer } from './slots.js';

/** Monday 4 January 2027, 10:00 in Helsinki. */
const NOW = Date.parse('2027-01-04T08:00:00Z');
const MINUTE = 60_000;

const round = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ from: '00:00', to: '24:00' }]]));
const odd = (u: UnitInput) => unitSchema.parse(u);
/** Units with awkward rules: a 45-minute grid round the clock (DST shifts it), and a 25-minute grid from 07:10. */
const EXTRA = {
  studio: odd({
    unitId: 'unt_studio',
    name: 'Studio',
    unitType: 'studio',
    spaceIds: ['spc_cottage'],
    rules: {
      openingHours: { weekly: round, holidays: 'open' },
      startIntervalMinutes: 45,
      minDurationMinutes: 45,
      maxDurationMinutes: 240,
      bookingWindow: { minDaysAhead: 0, maxDaysAhead: 3650 },
      bufferAfterMinutes: 15,
    },
  }),
  pool: odd({
    unitId: 'unt_pool',
    name: 'Pool lane',
    unitType: 'other',
    spaceIds: ['spc_hall_c'],
    rules: {
      openingHours: { weekly: { mon: [{ from: '07:10', to: '12:00' }, { from: '13:05', to: '21:50' }], sat: [{ from: '09:00', to: '15:00' }] } },
      startIntervalMinutes: 25,
      minDurationMinutes: 25,
      maxDurationMinutes: 100,
      bookingWindow: { minDaysAhead: 1, maxDaysAhead: 400 },
    },
  }),
};
const catalogue: SiteEvent[] = [
  ...siteCatalogue,
  ...Object.values(EXTRA).map((unit): SiteEvent => ({ type: 'UnitDefined', data: { unit } })),
];

const stateOf = (events: readonly SiteEvent[]): SiteState =>
  events.reduce((s, e) => siteDecider.evolve(s, e), siteDecider.initialState());

/** Applies a command if the decider accepts it (building a realistic calendar). */
function apply(state: SiteState, command: SiteCommand): boolean {
  const d = siteDecider.decide(command, state);
  if (!d.ok) return false;
  for (const e of d.value) siteDecider.evolve(state, e);
  return true;
}

const units = [UNITS.hall, UNITS.hallA, UNITS.hallB, UNITS.court, UNITS.sauna, UNITS.meeting, UNITS.cottage, EXTRA.studio, EXTRA.pool];
const customers = [ALICE, BOB, YOUTH_CLUB];
/** Dates around the cases that matter: ordinary weeks, Epiphany (a holiday), spring forward, and autumn back. */
const DATES: LocalDate[] = ['2027-01-05', '2027-01-06', '2027-01-11', '2027-01-16', '2027-03-28', '2027-03-29', '2027-10-31', '2027-11-01'];

function requestAt(unitId: string, customer: AvailabilityCustomer & { customerId: string }, start: number, minutes: number, behalf: boolean, id = 'res_probe'): SiteCommand {
  return {
    type: 'RequestReservation',
    data: {
      reservationId: id,
      unitId,
      customer: { customerId: customer.customerId, customerGroupId: customer.customerGroupId, freeOfCharge: customer.freeOfCharge },
      start,
      end: start + minutes * MINUTE,
      kind: behalf ? 'behalf' : 'normal',
      confirm: true,
    },
    meta: { now: NOW, actor: behalf ? STAFF : asCustomer(customer) },
  };
}

const existing = fc.array(
  fc.record({
    unit: fc.integer({ min: 0, max: units.length - 1 }),
    customer: fc.integer({ min: 0, max: customers.length - 1 }),
    date: fc.constantFrom(...DATES),
    minute: fc.integer({ min: 0, max: 24 * 4 - 1 }).map((q) => q * 15),
    minutes: fc.constantFrom(30, 45, 60, 90, 120),
    block: fc.boolean(),
  }),
  { maxLength: 25 },
);

describe('free slots agree with the decider', () => {
  it('offers a start exactly when a booking there would be accepted (random calendars, DST days)', () => {
    fc.assert(
      fc.property(
        existing,
        fc.integer({ min: 0, max: units.length - 1 }),
        fc.integer({ min: 0, max: customers.length - 1 }),
        fc.constantFrom(...DATES),
        fc.constantFrom(25, 30, 45, 50, 60, 90, 120, 180, 300),
        fc.boolean(),
        (bookings, unitIndex, customerIndex, date, minutes, behalf) => {
          const state = stateOf(catalogue);
          bookings.forEach((b, i) => {
            const unit = units[b.unit]!;
            const start = startOfLocalDay(b.date) + b.minute * MINUTE;
            if (b.block) {
              apply(state, {
                type: 'BlockTime',
                data: { reservationId: `res_b${i}`, unitId: unit.unitId, spaceIds: [], start, end: start + b.minutes * MINUTE, reason: 'maintenance' },
                meta: { now: NOW, actor: STAFF },
              });
            } else {
              apply(state, requestAt(unit.unitId, customers[b.customer]!, start, b.minutes, true, `res_e${i}`));
            }
          });
          const unit = units[unitIndex]!;
          const customer = customers[customerIndex]!;
          const answer = freeSlots(state, unit.unitId, {
            fromDate: date,
            toDate: addDays(date, 1),
            durationMinutes: minutes,
            now: NOW,
            kind: behalf ? 'behalf' : 'normal',
            customer,
          });
          const accepted = new Map<number, unknown>();
          for (const d of [date, addDays(date, 1)]) {
            for (let t = startOfLocalDay(d); t < startOfLocalDay(addDays(d, 1)); t += 5 * MINUTE) {
              const decision = siteDecider.decide(requestAt(unit.unitId, customer, t, minutes, behalf), state);
              if (decision.ok) {
                const requested = decision.value[0];
                accepted.set(t, requested?.type === 'ReservationRequested' ? requested.data.price : undefined);
              }
            }
          }
          if (!answer.ok) {
            expect(accepted.size, `${answer.error.code}, but the decider accepts some starts`).toBe(0);
            return;
          }
          if (answer.maxActiveReached) {
            expect(accepted.size).toBe(0);
            return;
          }
          const offered = answer.slots.map((s) => formatInstant(s.start));
          expect(offered).toEqual([...accepted.keys()].sort((a, b) => a - b).map(formatInstant));
          for (const s of answer.slots) expect(s.price).toEqual(accepted.get(s.start));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('free slots, by example', () => {
  const at = (iso: string) => Date.parse(iso);

  it('lists the half-hour starts of a weekday from opening to the last start that still ends by closing', () => {
    const state = stateOf(catalogue);
    const a = freeSlots(state, UNITS.hallA.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW });
    if (!a.ok) throw new Error(a.error.message);
    expect(a.slots.map((s) => formatInstant(s.start).slice(11, 16))).toEqual(
      Array.from({ length: 29 }, (_, k) => `${String(7 + Math.floor(k / 2)).padStart(2, '0')}:${k % 2 === 0 ? '00' : '30'}`),
    );
  });

  it('blocks a section while the whole hall is booked, with the buffer kept free around a sauna turn', () => {
    const state = stateOf(catalogue);
    expect(apply(state, requestAt(UNITS.hall.unitId, ALICE, at('2027-01-11T16:00:00Z'), 60, false, 'res_hall'))).toBe(true);
    const a = freeSlots(state, UNITS.hallB.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW, fromTime: '17:00', toTime: '20:00' });
    if (!a.ok) throw new Error(a.error.message);
    expect(a.slots.map((s) => formatInstant(s.start).slice(11, 16))).toEqual(['17:00', '19:00', '19:30']);

    expect(apply(state, requestAt(UNITS.sauna.unitId, BOB, at('2027-01-11T16:00:00Z'), 60, false, 'res_sauna'))).toBe(true);
    const s = freeSlots(state, UNITS.sauna.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW, fromTime: '16:00', toTime: '21:00' });
    if (!s.ok) throw new Error(s.error.message);
    // booked 18:00-19:00 with 15 min before and 30 min after: a 60-minute turn may end by 17:45 and start from 19:30
    expect(s.slots.map((x) => formatInstant(x.start).slice(11, 16))).toEqual(['16:00', '16:30', '19:30', '20:00', '20:30']);
  });

  it('offers nothing on a public holiday (Epiphany) and nothing beyond the booking window', () => {
    const state = stateOf(catalogue);
    const holiday = freeSlots(state, UNITS.hallA.unitId, { fromDate: '2027-01-06', toDate: '2027-01-06', durationMinutes: 60, now: NOW });
    expect(holiday.ok && holiday.slots).toEqual([]);
    const far = freeSlots(state, UNITS.hallA.unitId, { fromDate: '2027-06-01', toDate: '2027-06-02', durationMinutes: 60, now: NOW });
    expect(far.ok && far.slots).toEqual([]);
  });

  it('skips the hour that does not exist when the clocks spring forward, and keeps the wall-clock grid', () => {
    const state = stateOf(catalogue);
    const a = freeSlots(state, UNITS.cottage.unitId, { fromDate: '2027-03-28', toDate: '2027-03-28', durationMinutes: 60, now: NOW, toTime: '05:00' });
    if (!a.ok) throw new Error(a.error.message);
    expect(a.slots.map((s) => formatInstant(s.start))).toEqual([
      '2027-03-28T00:00:00.000+02:00',
      '2027-03-28T00:30:00.000+02:00',
      '2027-03-28T01:00:00.000+02:00',
      '2027-03-28T01:30:00.000+02:00',
      '2027-03-28T02:00:00.000+02:00',
      '2027-03-28T02:30:00.000+02:00',
      '2027-03-28T04:00:00.000+03:00',
      '2027-03-28T04:30:00.000+03:00',
    ]);
  });

  it('offers both 03:30s when the clocks go back', () => {
    const state = stateOf(catalogue);
    const a = freeSlots(state, UNITS.cottage.unitId, { fromDate: '2027-10-31', toDate: '2027-10-31', durationMinutes: 30, now: NOW, fromTime: '03:00', toTime: '04:00' });
    if (!a.ok) throw new Error(a.error.message);
    expect(a.slots.map((s) => formatInstant(s.start))).toEqual([
      '2027-10-31T03:00:00.000+03:00',
      '2027-10-31T03:30:00.000+03:00',
      '2027-10-31T03:00:00.000+02:00',
      '2027-10-31T03:30:00.000+02:00',
    ]);
  });

  it('explains why a unit cannot be booked at all (duration, customer group), and flags a customer at their limit', () => {
    const state = stateOf(catalogue);
    const long = freeSlots(state, UNITS.hallA.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 240, now: NOW });
    expect(long.ok ? 'ok' : long.error.code).toBe('DURATION_OUT_OF_RANGE');
    const stranger = { customerId: 'cus_x', customerGroupId: 'grp_companies', freeOfCharge: false };
    const group = freeSlots(state, UNITS.court.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW, customer: stranger });
    expect(group.ok ? 'ok' : group.error.code).toBe('CUSTOMER_GROUP_NOT_ALLOWED');

    expect(apply(state, requestAt(UNITS.court.unitId, ALICE, at('2027-01-12T16:00:00Z'), 60, false, 'res_c1'))).toBe(true);
    expect(apply(state, requestAt(UNITS.court.unitId, ALICE, at('2027-01-13T16:00:00Z'), 60, false, 'res_c2'))).toBe(true);
    const full = freeSlots(state, UNITS.court.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW, customer: ALICE });
    expect(full.ok && full.maxActiveReached).toBe(true);
    const bob = freeSlots(state, UNITS.court.unitId, { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW, customer: BOB });
    expect(bob.ok && !bob.maxActiveReached && bob.slots[0]?.price).toEqual({ amountCents: 2000, vatCents: 246, vatBasisPoints: 1400, source: 'price_list' });
  });

  it('respects a limit and says when it cut the list', () => {
    const state = stateOf(catalogue);
    const a = freeSlots(state, UNITS.hallA.unitId, { fromDate: '2027-01-11', toDate: '2027-01-12', durationMinutes: 60, now: NOW, limit: 3 });
    expect(a.ok && [a.slots.length, a.truncated]).toEqual([3, true]);
  });

  it('searches across units by type, capacity and customer group', () => {
    const state = stateOf(catalogue);
    const q = { fromDate: '2027-01-11', toDate: '2027-01-11', durationMinutes: 60, now: NOW, limit: 1 };
    expect(searchSite(state, { unitType: 'sports_hall' }, q).map((u) => u.unitId)).toEqual(['unt_hall', 'unt_hall_a', 'unt_hall_b']);
    expect(searchSite(state, { customerGroupId: 'grp_companies', unitType: 'tennis_court' }, q)).toEqual([]);
    expect(searchSite(state, { minCapacity: 1 }, q)).toEqual([]); // no capacities in the fixture
  });

  it('computes start grids that never land in the spring gap', () => {
    const state = stateOf(catalogue);
    const view = state.units.get(EXTRA.studio.unitId)!;
    const starts = alignedStartsOn(view, '2027-03-28').map((t) => formatInstant(t).slice(11, 16));
    expect(starts.some((s) => s >= '03:00' && s < '04:00')).toBe(false);
    expect(starts.slice(0, 5)).toEqual(['00:00', '00:45', '01:30', '02:15', '04:30']);
    void standardHours;
  });
});
