/**
 * The promise at the heart of Vuoro: whatever channels send, in whatever
 * order, no two reservations that hold a slot overlap (buffers included) in
 * one space or in spaces related by the hierarchy. Checked against a
 * brute-force oracle over every pair, and the other way round: whenever the
 * oracle says a slot is free and every other rule holds, the decider books it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOLDS_SLOT, relatedSpaces, type ReservationView, type SiteState } from './state.js';
import { siteDecider } from './decider.js';
import type { SiteCommand } from './commands.js';
import { ALICE, BOB, STAFF, UNITS, YOUTH_CLUB, asCustomer, siteCatalogue } from './fixtures.js';

const NOW = Date.parse('2027-01-04T08:00:00Z');
const units = [UNITS.hall, UNITS.hallA, UNITS.hallB, UNITS.sauna, UNITS.meeting];
const customers = [ALICE, BOB, YOUTH_CLUB];
const DAY0 = Date.parse('2027-01-11T05:00:00Z'); // Monday 07:00 Helsinki (opening)

const command = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      unit: fc.integer({ min: 0, max: units.length - 1 }),
      customer: fc.integer({ min: 0, max: 2 }),
      day: fc.integer({ min: 0, max: 1 }),
      slot: fc.integer({ min: 0, max: 28 }), // half hours from 07:00
      halfHours: fc.integer({ min: 2, max: 6 }),
      staff: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('modify' as const), pick: fc.nat(), slot: fc.integer({ min: 0, max: 28 }), halfHours: fc.integer({ min: 2, max: 6 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('block' as const), unit: fc.integer({ min: 0, max: units.length - 1 }), slot: fc.integer({ min: 0, max: 28 }), halfHours: fc.integer({ min: 1, max: 8 }) }) },
);

const HALF = 30 * 60_000;
type Slot = Pick<ReservationView, 'spaceIds' | 'resourceIds' | 'booking'>;
const overlapsWithBuffers = (a: Slot, b: Slot): boolean =>
  (a.booking.start - a.booking.before < b.booking.end && b.booking.start < a.booking.end + a.booking.after) ||
  (b.booking.start - b.booking.before < a.booking.end && a.booking.start < b.booking.end + b.booking.after);

function related(state: SiteState, a: Slot, b: Slot): boolean {
  const spaces = new Set(relatedSpaces(state, a.spaceIds));
  return b.spaceIds.some((s) => spaces.has(s)) || a.resourceIds.some((r) => b.resourceIds.includes(r));
}

function holding(state: SiteState): ReservationView[] {
  return [...state.reservations.values()].filter((r) => HOLDS_SLOT.has(r.state));
}

describe('no double booking, ever', () => {
  it('holds for random command sequences against a brute-force oracle', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 80 }), (commands) => {
        let state = siteCatalogue.reduce(siteDecider.evolve, siteDecider.initialState());
        let n = 0;
        for (const c of commands) {
          const ids = [...state.reservations.keys()];
          let cmd: SiteCommand;
          if (c.kind === 'request') {
            const unit = units[c.unit] as (typeof units)[number];
            const customer = customers[c.customer] as (typeof customers)[number];
            const start = DAY0 + c.day * 86_400_000 + c.slot * HALF;
            cmd = {
              type: 'RequestReservation',
              data: { reservationId: `res_${n++}`, unitId: unit.unitId, customer, start, end: start + c.halfHours * HALF, kind: c.staff ? 'behalf' : 'normal', confirm: true },
              meta: { now: NOW, actor: c.staff ? STAFF : asCustomer(customer) },
            };
          } else if (c.kind === 'block') {
            const start = DAY0 + c.slot * HALF;
            cmd = { type: 'BlockTime', data: { reservationId: `res_${n++}`, unitId: (units[c.unit] as (typeof units)[number]).unitId, spaceIds: [], start, end: start + c.halfHours * HALF, reason: 'maintenance' }, meta: { now: NOW, actor: STAFF } };
          } else {
            if (ids.length === 0) continue;
            const reservationId = ids[c.pick % ids.length] as string;
            if (c.kind === 'cancel') {
              cmd = { type: 'CancelReservation', data: { reservationId, reason: '' }, meta: { now: NOW, actor: STAFF } };
            } else {
              const start = DAY0 + c.slot * HALF;
              cmd = { type: 'ModifyReservation', data: { reservationId, start, end: start + c.halfHours * HALF }, meta: { now: NOW, actor: STAFF } };
            }
          }
          const before = holding(state);
          const result = siteDecider.decide(cmd, state);
          if (result.ok) {
            for (const e of result.value) state = siteDecider.evolve(state, e);
          } else if (result.error.code === 'SLOT_CONFLICT' && cmd.type === 'RequestReservation') {
            // the refusal is justified: some holding reservation really is in the way
            const unit = units.find((u) => u.unitId === (cmd.data as { unitId: string }).unitId) as (typeof units)[number];
            const start = cmd.data.start as number;
            const probe = {
              spaceIds: unit.spaceIds,
              resourceIds: unit.resourceIds,
              booking: { id: 'probe', start, end: cmd.data.end as number, before: unit.rules.bufferBeforeMinutes * 60_000, after: unit.rules.bufferAfterMinutes * 60_000 },
            } satisfies Slot;
            expect(before.some((r) => related(state, probe, r) && overlapsWithBuffers(probe, r))).toBe(true);
          }
          // the invariant, by brute force over every pair
          const all = holding(state);
          for (let i = 0; i < all.length; i++) {
            for (let j = i + 1; j < all.length; j++) {
              const a = all[i] as ReservationView;
              const b = all[j] as ReservationView;
              if (related(state, a, b)) expect(overlapsWithBuffers(a, b), `${a.id} and ${b.id} overlap`).toBe(false);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('books every request the oracle says is free (no false conflicts)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ unit: fc.integer({ min: 0, max: units.length - 1 }), slot: fc.integer({ min: 0, max: 28 }), halfHours: fc.integer({ min: 2, max: 6 }) }), { maxLength: 60 }), (reqs) => {
        let state = siteCatalogue.reduce(siteDecider.evolve, siteDecider.initialState());
        reqs.forEach((r, n) => {
          const unit = units[r.unit] as (typeof units)[number];
          const start = DAY0 + r.slot * HALF;
          const end = start + r.halfHours * HALF;
          const probe = {
            spaceIds: unit.spaceIds,
            resourceIds: unit.resourceIds,
            booking: { id: 'probe', start, end, before: unit.rules.bufferBeforeMinutes * 60_000, after: unit.rules.bufferAfterMinutes * 60_000 },
          } satisfies Slot;
          const free = !holding(state).some((h) => related(state, probe, h) && overlapsWithBuffers(probe, h));
          const closes = DAY0 + 15 * 3_600_000;
          const result = siteDecider.decide(
            { type: 'RequestReservation', data: { reservationId: `res_${n}`, unitId: unit.unitId, customer: ALICE, start, end, kind: 'behalf', confirm: true }, meta: { now: NOW, actor: STAFF } },
            state,
          );
          const startsOnGrid = unit.rules.startIntervalMinutes === 30 || r.slot % 2 === 0;
          if (free && end <= closes && startsOnGrid) expect(result.ok ? 'ok' : result.error.code).toBe('ok');
          if (result.ok) for (const e of result.value) state = siteDecider.evolve(state, e);
        });
      }),
      { numRuns: 200 },
    );
  });
});
