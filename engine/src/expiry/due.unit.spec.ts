/**
 * The expiry query names exactly the reservations the decider would expire
 * at that instant: holds past their hold, unpaid reservations past their
 * payment deadline, and nothing confirmed, cancelled or still in time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import { ALICE, BOB, SYSTEM, UNITS, YOUTH_CLUB, asCustomer, siteCatalogue } from '../site/fixtures.js';
import type { SiteState } from '../site/state.js';
import { dueForExpiry, nextExpiryAfter } from './due.js';

const NOW = Date.parse('2027-01-04T08:00:00Z');
const MINUTE = 60_000;

function book(state: SiteState, id: string, unitId: string, customer: typeof ALICE, start: string, confirm: boolean, now = NOW): void {
  const command: SiteCommand = {
    type: 'RequestReservation',
    data: { reservationId: id, unitId, customer, start, end: start.replace(/T(\d\d)/, (_, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`), kind: 'normal', confirm },
    meta: { now, actor: asCustomer(customer) },
  };
  const d = siteDecider.decide(command, state);
  if (!d.ok) throw new Error(d.error.message);
  for (const e of d.value) siteDecider.evolve(state, e);
}

function calendar(): SiteState {
  const state = siteCatalogue.reduce((s, e) => siteDecider.evolve(s, e), siteDecider.initialState());
  book(state, 'res_hold', UNITS.hallA.unitId, ALICE, '2027-01-11T18:00', false); // hold: 15 min
  book(state, 'res_unpaid', UNITS.court.unitId, BOB, '2027-01-11T18:00', true); // 2000 cents, 60 min to pay
  book(state, 'res_free', UNITS.court.unitId, YOUTH_CLUB, '2027-01-12T18:00', true); // free: confirmed at once
  book(state, 'res_later', UNITS.hallB.unitId, BOB, '2027-01-11T18:00', false, NOW + 30 * MINUTE); // held later
  return state;
}

describe('dueForExpiry', () => {
  it('names holds after their hold and unpaid reservations after their deadline, earliest first', () => {
    const state = calendar();
    expect(dueForExpiry(state, NOW + 14 * MINUTE)).toEqual([]);
    expect(dueForExpiry(state, NOW + 15 * MINUTE).map((d) => [d.reservationId, d.reason])).toEqual([['res_hold', 'hold']]);
    expect(dueForExpiry(state, NOW + 61 * MINUTE).map((d) => [d.reservationId, d.reason])).toEqual([
      ['res_hold', 'hold'],
      ['res_later', 'hold'],
      ['res_unpaid', 'payment'],
    ]);
    expect(nextExpiryAfter(state, NOW)).toBe(NOW + 15 * MINUTE);
    expect(nextExpiryAfter(state, NOW + 61 * MINUTE)).toBeUndefined();
  });

  it('agrees with the decider at any instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 120 }), (minutes) => {
        const state = calendar();
        const at = NOW + minutes * MINUTE;
        const due = new Set(dueForExpiry(state, at).map((d) => d.reservationId));
        for (const id of state.reservations.keys()) {
          const d = siteDecider.decide({ type: 'ExpireReservation', data: { reservationId: id }, meta: { now: at, actor: SYSTEM } }, state);
          expect(d.ok, `${id} at +${minutes} min`).toBe(due.has(id));
        }
      }),
    );
  });
});
