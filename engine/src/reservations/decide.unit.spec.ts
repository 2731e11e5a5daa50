import { describe, expect, it } from 'vitest';
import { specFor } from '../testing/given.js';
import { siteDecider } from '../site/decider.js';
import type { CommandMeta, SiteCommand, SiteCommandData } from '../site/commands.js';
import type { SiteEvent } from '../site/events.js';
import { ALICE, BOB, STAFF, SYSTEM, UNITS, YOUTH_CLUB, asCustomer, siteCatalogue } from '../site/fixtures.js';

const spec = specFor(siteDecider);
/** Monday 4 January 2027, 10:00 in Helsinki. */
const NOW = Date.parse('2027-01-04T08:00:00Z');
const HOUR = 3_600_000;

const meta = (actor: CommandMeta['actor'], now = NOW): CommandMeta => ({ now, actor });

function request(
  over: Partial<SiteCommandData<'RequestReservation'>> = {},
  m: CommandMeta = meta(asCustomer(over.customer ?? ALICE)),
): SiteCommand {
  return {
    type: 'RequestReservation',
    data: {
      reservationId: 'res_new',
      unitId: UNITS.hallA.unitId,
      customer: ALICE,
      start: '2027-01-11T18:00',
      end: '2027-01-11T19:00',
      kind: 'normal',
      confirm: true,
      ...over,
    },
    meta: m,
  };
}

const on = (
  type: Exclude<SiteCommand['type'], 'RequestReservation'>,
  data: Record<string, unknown>,
  m: CommandMeta,
): SiteCommand => ({ type, data, meta: m }) as SiteCommand;

/** Events of a reservation that already went through (built by hand, so the test shows the log). */
function booked(
  id: string,
  unit: { unitId: string; spaceIds: string[]; resourceIds: string[]; rules: { bufferBeforeMinutes: number; bufferAfterMinutes: number } },
  start: string,
  end: string,
  customer = BOB,
  state: 'confirmed' | 'requires_handling' | 'awaiting_payment' = 'confirmed',
): SiteEvent[] {
  const requested: SiteEvent = {
    type: 'ReservationRequested',
    data: {
      reservationId: id,
      unitId: unit.unitId,
      spaceIds: unit.spaceIds,
      resourceIds: unit.resourceIds,
      customerId: customer.customerId,
      customerGroupId: customer.customerGroupId,
      kind: 'normal',
      start,
      end,
      bufferBeforeMinutes: unit.rules.bufferBeforeMinutes,
      bufferAfterMinutes: unit.rules.bufferAfterMinutes,
      price:
        state === 'awaiting_payment'
          ? { amountCents: 2000, vatCents: 246, vatBasisPoints: 1400, source: 'price_list' }
          : { amountCents: 0, vatCents: 0, vatBasisPoints: 0, source: 'no_price_list' },
      holdExpiresAt: '2027-01-04T08:15:00.000Z',
    },
  };
  if (state === 'requires_handling') return [requested, { type: 'ReservationHandlingRequired', data: { reservationId: id } }];
  if (state === 'awaiting_payment') {
    return [
      requested,
      { type: 'ReservationPaymentRequired', data: { reservationId: id, amountCents: 2000, deadline: '2027-01-04T09:00:00.000Z' } },
    ];
  }
  return [requested, { type: 'ReservationConfirmed', data: { reservationId: id } }];
}

describe('requesting a reservation', () => {
  describe('when the slot is free', () => {
    it('confirms a free reservation at once, with the price and hold recorded', () => {
      spec(siteCatalogue).when(request()).then([
        {
          type: 'ReservationRequested',
          data: {
            reservationId: 'res_new',
            unitId: 'unt_hall_a',
            spaceIds: ['spc_hall_a'],
            resourceIds: [],
            customerId: 'cus_alice',
            customerGroupId: 'grp_residents',
            kind: 'normal',
            start: '2027-01-11T16:00:00.000Z',
            end: '2027-01-11T17:00:00.000Z',
            bufferBeforeMinutes: 0,
            bufferAfterMinutes: 0,
            price: { amountCents: 0, vatCents: 0, vatBasisPoints: 0, source: 'no_price_list' },
            holdExpiresAt: '2027-01-04T08:15:00.000Z',
          },
        },
        { type: 'ReservationConfirmed', data: { reservationId: 'res_new' } },
      ]);
    });

    it('only holds the slot when asked not to confirm yet', () => {
      spec(siteCatalogue)
        .when(request({ confirm: false }))
        .then((events) => expect(events.map((e) => e.type)).toEqual(['ReservationRequested']));
    });

    it('asks for payment with a deadline when the unit has a price (per hour, VAT included)', () => {
      spec(siteCatalogue)
        .when(request({ unitId: UNITS.court.unitId, end: '2027-01-11T19:30' }))
        .then((events) => {
          const req = events[0] as Extract<SiteEvent, { type: 'ReservationRequested' }>;
          // 20.00 EUR/h x 1.5 h; 14 % VAT contained in 30.00 EUR is 3.68 EUR
          expect(req.data.price).toEqual({ amountCents: 3000, vatCents: 368, vatBasisPoints: 1400, source: 'price_list' });
          expect(events[1]).toEqual({
            type: 'ReservationPaymentRequired',
            data: { reservationId: 'res_new', amountCents: 3000, deadline: '2027-01-04T09:00:00.000Z' },
          });
        });
    });

    it('uses the price in force on the reservation date', () => {
      spec(siteCatalogue)
        .when(request({ unitId: UNITS.court.unitId, start: '2027-06-07T18:00', end: '2027-06-07T19:00' }, meta(asCustomer(ALICE), Date.parse('2027-05-10T08:00:00Z'))))
        .then((events) => expect((events[1] as { data: { amountCents: number } }).data.amountCents).toBe(2400));
    });

    it('charges nothing to a free customer group (children and youth)', () => {
      spec(siteCatalogue)
        .when(request({ unitId: UNITS.court.unitId, customer: YOUTH_CLUB }))
        .then((events) => {
          expect((events[0] as Extract<SiteEvent, { type: 'ReservationRequested' }>).data.price.source).toBe('free_group');
          expect(events[1]?.type).toBe('ReservationConfirmed');
        });
    });

    it('sends a reservation that needs handling to staff', () => {
      spec(siteCatalogue)
        .when(request({ unitId: UNITS.meeting.unitId, start: '2027-01-11T18:00', end: '2027-01-11T19:00' }))
        .then((events) => expect(events.map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationHandlingRequired']));
    });
  });

  describe('when the slot is taken', () => {
    const taken = [...siteCatalogue, ...booked('res_bob', UNITS.hallA, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z')];

    it('refuses the same section at an overlapping time', () => {
      spec(taken).when(request({ start: '2027-01-11T18:30', end: '2027-01-11T19:30' })).thenFails('SLOT_CONFLICT', (e) => {
        expect(e.details).toMatchObject({ conflictingKey: 'spc_hall_a' });
      });
    });

    it('refuses the whole hall while a section is booked', () => {
      spec(taken).when(request({ unitId: UNITS.hall.unitId })).thenFails('SLOT_CONFLICT');
    });

    it('refuses a section while the whole hall is booked', () => {
      const hallBooked = [...siteCatalogue, ...booked('res_bob', UNITS.hall, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z')];
      spec(hallBooked).when(request({ unitId: UNITS.hallB.unitId })).thenFails('SLOT_CONFLICT');
    });

    it('lets another section be booked at the same time', () => {
      spec(taken).when(request({ unitId: UNITS.hallB.unitId })).then((events) => expect(events).toHaveLength(2));
    });

    it('lets the next slot start exactly when the previous one ends', () => {
      spec(taken).when(request({ start: '2027-01-11T19:00', end: '2027-01-11T20:00' })).then((e) => expect(e).toHaveLength(2));
    });

    it('keeps the buffer after a sauna turn free', () => {
      const sauna = [...siteCatalogue, ...booked('res_bob', UNITS.sauna, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z')];
      // ends 19:00 local + 30 min cleaning: 19:00 is taken by the buffer, 19:30 is not
      spec(sauna).when(request({ unitId: UNITS.sauna.unitId, start: '2027-01-11T19:00', end: '2027-01-11T20:00' })).thenFails('SLOT_CONFLICT');
      spec(sauna).when(request({ unitId: UNITS.sauna.unitId, start: '2027-01-11T19:30', end: '2027-01-11T20:30' })).then((e) => expect(e).toHaveLength(2));
      // the new turn's own 15-minute buffer before must not reach into the previous turn
      spec(sauna).when(request({ unitId: UNITS.sauna.unitId, start: '2027-01-11T16:30', end: '2027-01-11T18:00' })).thenFails('SLOT_CONFLICT');
    });

    it('counts a reservation waiting for handling or payment as taken', () => {
      for (const state of ['requires_handling', 'awaiting_payment'] as const) {
        const pending = [...siteCatalogue, ...booked('res_bob', UNITS.hallA, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z', BOB, state)];
        spec(pending).when(request()).thenFails('SLOT_CONFLICT');
      }
    });

    it('frees the slot when the other reservation is cancelled', () => {
      const cancelled: SiteEvent[] = [...taken, { type: 'ReservationCancelled', data: { reservationId: 'res_bob', by: 'customer:cus_bob', reason: '' } }];
      spec(cancelled).when(request()).then((e) => expect(e).toHaveLength(2));
    });

    it('shares a resource between units: the projector cannot be in two places', () => {
      const withProjector = [
        ...siteCatalogue,
        ...booked('res_bob', UNITS.meeting, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z'),
      ];
      spec(withProjector).when(request({ unitId: UNITS.meeting.unitId })).thenFails('SLOT_CONFLICT');
    });
  });

  describe('rules of the unit', () => {
    it('refuses a time outside opening hours', () => {
      spec(siteCatalogue).when(request({ start: '2027-01-11T21:30', end: '2027-01-11T22:30' })).thenFails('OUTSIDE_OPENING_HOURS', (e) => {
        expect(e.field).toBe('end');
      });
      spec(siteCatalogue).when(request({ start: '2027-01-11T06:00', end: '2027-01-11T07:00' })).thenFails('OUTSIDE_OPENING_HOURS');
    });

    it('refuses a public holiday and says so (Epiphany, 6 January 2027)', () => {
      spec(siteCatalogue).when(request({ start: '2027-01-06T18:00', end: '2027-01-06T19:00' })).thenFails('OUTSIDE_OPENING_HOURS', (e) => {
        expect(e.details).toMatchObject({ closedReason: 'HOLIDAY' });
        expect(e.message).toMatch(/holiday/);
      });
    });

    it('refuses a start off the start interval, counted from opening time', () => {
      spec(siteCatalogue).when(request({ start: '2027-01-11T18:15', end: '2027-01-11T19:15' })).thenFails('BAD_START_INTERVAL');
      // the meeting room starts on the hour from 07:00
      spec(siteCatalogue).when(request({ unitId: UNITS.meeting.unitId, start: '2027-01-11T18:30', end: '2027-01-11T19:30' })).thenFails('BAD_START_INTERVAL');
    });

    it('refuses a duration outside min..max', () => {
      spec(siteCatalogue).when(request({ end: '2027-01-11T18:30' })).thenFails('DURATION_OUT_OF_RANGE');
      spec(siteCatalogue).when(request({ start: '2027-01-11T12:00', end: '2027-01-11T15:30' })).thenFails('DURATION_OUT_OF_RANGE');
    });

    it('refuses an end before the start', () => {
      spec(siteCatalogue).when(request({ start: '2027-01-11T19:00', end: '2027-01-11T18:00' })).thenFails('END_BEFORE_START');
    });

    it('refuses dates outside the booking window, and the past', () => {
      spec(siteCatalogue).when(request({ start: '2027-04-12T18:00', end: '2027-04-12T19:00' })).thenFails('BOOKING_WINDOW');
      spec(siteCatalogue).when(request({ start: '2027-01-04T08:00', end: '2027-01-04T09:00' })).thenFails('BOOKING_WINDOW');
    });

    it('lets staff book on behalf beyond the booking window but not outside opening hours', () => {
      const behalf = (start: string, end: string) =>
        request({ kind: 'behalf', start, end }, meta(STAFF));
      spec(siteCatalogue).when(behalf('2027-04-12T18:00', '2027-04-12T19:00')).then((e) => expect(e).toHaveLength(2));
      spec(siteCatalogue).when(behalf('2027-04-12T22:00', '2027-04-12T23:00')).thenFails('OUTSIDE_OPENING_HOURS');
    });

    it('limits active reservations per customer on a unit', () => {
      const two = [
        ...siteCatalogue,
        ...booked('res_1', UNITS.court, '2027-01-12T16:00:00.000Z', '2027-01-12T17:00:00.000Z', ALICE),
        ...booked('res_2', UNITS.court, '2027-01-13T16:00:00.000Z', '2027-01-13T17:00:00.000Z', ALICE),
      ];
      spec(two).when(request({ unitId: UNITS.court.unitId })).thenFails('TOO_MANY_ACTIVE');
      // past reservations and cancelled ones do not count
      const later = meta(asCustomer(ALICE), Date.parse('2027-01-12T18:00:00Z'));
      spec(two).when(request({ unitId: UNITS.court.unitId, start: '2027-01-20T18:00', end: '2027-01-20T19:00' }, later)).then((e) => expect(e).toHaveLength(2));
    });

    it('refuses a customer group the unit does not allow', () => {
      const association = { customerId: 'cus_club', customerGroupId: 'grp_associations', freeOfCharge: false };
      spec(siteCatalogue).when(request({ unitId: UNITS.court.unitId, customer: association })).thenFails('CUSTOMER_GROUP_NOT_ALLOWED');
    });

    it('refuses when the price list has no price for the group', () => {
      const pricedForOthers: SiteEvent[] = [
        ...siteCatalogue,
        { type: 'PriceSet', data: { unitId: 'unt_hall_a', price: { customerGroupId: 'grp_youth', validFrom: '2026-01-01', basis: 'fixed', amountCents: 500, vatBasisPoints: 0 } } },
      ];
      spec(pricedForOthers).when(request()).thenFails('NO_PRICE');
    });

    it('refuses an unknown unit and a reused reservation id', () => {
      spec(siteCatalogue).when(request({ unitId: 'unt_nope' })).thenFails('UNKNOWN_UNIT');
      const existing = [...siteCatalogue, ...booked('res_new', UNITS.hallB, '2027-01-12T16:00:00.000Z', '2027-01-12T17:00:00.000Z')];
      spec(existing).when(request()).thenFails('ALREADY_EXISTS');
    });
  });

  describe('time zones and daylight saving', () => {
    const cottage = (start: string, end: string, now = NOW) =>
      request({ unitId: UNITS.cottage.unitId, start, end }, meta(asCustomer(ALICE), now));

    it('refuses a wall time in the spring-forward gap (28 March 2027, 03:00-04:00)', () => {
      spec(siteCatalogue).when(cottage('2027-03-28T03:30', '2027-03-28T05:00')).thenFails('NONEXISTENT_LOCAL_TIME', (e) => {
        expect(e.field).toBe('start');
      });
    });

    it('needs an explicit offset for an autumn time that happens twice (31 October 2027, 03:30)', () => {
      spec(siteCatalogue).when(cottage('2027-10-31T03:30', '2027-10-31T05:00', Date.parse('2027-10-01T08:00:00Z'))).thenFails('AMBIGUOUS_LOCAL_TIME');
      spec(siteCatalogue)
        .when(cottage('2027-10-31T03:30+03:00', '2027-10-31T05:00', Date.parse('2027-10-01T08:00:00Z')))
        .then((events) => {
          const data = (events[0] as Extract<SiteEvent, { type: 'ReservationRequested' }>).data;
          // 03:30 summer time to 05:00 winter time is 2.5 hours of real time
          expect(Date.parse(data.end) - Date.parse(data.start)).toBe(2.5 * HOUR);
        });
    });

    it('measures duration in real elapsed time across the spring change', () => {
      // 01:00 to 05:00 on 28 March 2027 is three real hours
      spec(siteCatalogue).when(cottage('2027-03-28T01:00', '2027-03-28T05:00')).then((events) => {
        const data = (events[0] as Extract<SiteEvent, { type: 'ReservationRequested' }>).data;
        expect(Date.parse(data.end) - Date.parse(data.start)).toBe(3 * HOUR);
      });
    });
  });

  describe('who may book', () => {
    it('a customer cannot book in another customer\'s name', () => {
      spec(siteCatalogue).when(request({ customer: BOB }, meta(asCustomer(ALICE)))).thenFails('FORBIDDEN');
    });

    it('a customer cannot make staff or on-behalf bookings', () => {
      spec(siteCatalogue).when(request({ kind: 'staff' })).thenFails('FORBIDDEN');
      spec(siteCatalogue).when(request({ kind: 'behalf' })).thenFails('FORBIDDEN');
    });

    it('staff bookings for the city\'s own use are free and confirmed', () => {
      spec(siteCatalogue)
        .when(request({ unitId: UNITS.court.unitId, kind: 'staff', customer: { customerId: 'cus_city', customerGroupId: 'grp_city', freeOfCharge: false } }, meta(STAFF)))
        .then((events) => {
          expect((events[0] as Extract<SiteEvent, { type: 'ReservationRequested' }>).data.price.source).toBe('staff');
          expect(events[1]?.type).toBe('ReservationConfirmed');
        });
    });
  });
});

describe('the life of a reservation', () => {
  const held = [...siteCatalogue, ...(booked('res_1', UNITS.hallA, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z', ALICE).slice(0, 1))];
  const handling = [...siteCatalogue, ...booked('res_1', UNITS.meeting, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z', ALICE, 'requires_handling')];
  const unpaid = [...siteCatalogue, ...booked('res_1', UNITS.court, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z', ALICE, 'awaiting_payment')];
  const confirmed = [...siteCatalogue, ...booked('res_1', UNITS.hallA, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z', ALICE)];
  const ref = { reservationId: 'res_1' };

  describe('when requested (held)', () => {
    it('is confirmed by its customer within the hold', () => {
      spec(held).when(on('ConfirmReservation', ref, meta(asCustomer(ALICE)))).then([{ type: 'ReservationConfirmed', data: ref }]);
    });
    it('cannot be confirmed after the hold expired, and then expires', () => {
      const late = NOW + 16 * 60_000;
      spec(held).when(on('ConfirmReservation', ref, meta(asCustomer(ALICE), late))).thenFails('INVALID_STATE');
      spec(held).when(on('ExpireReservation', ref, meta(SYSTEM, late))).then([{ type: 'ReservationExpired', data: { reservationId: 'res_1', reason: 'hold' } }]);
      spec(held).when(on('ExpireReservation', ref, meta(SYSTEM, NOW + 60_000))).thenFails('NOT_YET_EXPIRED');
    });
  });

  describe('when it requires handling', () => {
    it('staff approve it: free -> confirmed', () => {
      spec(handling).when(on('ApproveReservation', ref, meta(STAFF))).then([
        { type: 'ReservationApproved', data: { reservationId: 'res_1', by: 'staff:stf_anna' } },
        { type: 'ReservationConfirmed', data: ref },
      ]);
    });
    it('staff deny it with a reason, which frees the slot', () => {
      const denied = spec(handling).when(on('DenyReservation', { reservationId: 'res_1', reason: 'Double use' }, meta(STAFF)));
      denied.then([{ type: 'ReservationDenied', data: { reservationId: 'res_1', by: 'staff:stf_anna', reason: 'Double use' } }]);
      expect(denied.state().reservations.get('res_1')?.state).toBe('denied');
    });
    it('a customer cannot approve or deny', () => {
      spec(handling).when(on('ApproveReservation', ref, meta(asCustomer(ALICE)))).thenFails('FORBIDDEN');
      spec(handling).when(on('DenyReservation', { reservationId: 'res_1', reason: 'x' }, meta(asCustomer(ALICE)))).thenFails('FORBIDDEN');
    });
    it('cannot be approved twice', () => {
      spec(confirmed).when(on('ApproveReservation', ref, meta(STAFF))).thenFails('INVALID_STATE');
    });
  });

  describe('when awaiting payment', () => {
    it('is confirmed by a payment of the amount due', () => {
      spec(unpaid).when(on('RecordPayment', { reservationId: 'res_1', paymentRef: 'pay_1', amountCents: 2000 }, meta(SYSTEM))).then([
        { type: 'ReservationPaid', data: { reservationId: 'res_1', paymentRef: 'pay_1', amountCents: 2000 } },
        { type: 'ReservationConfirmed', data: ref },
      ]);
      spec(unpaid).when(on('RecordPayment', { reservationId: 'res_1', paymentRef: 'pay_1', amountCents: 0 }, meta(SYSTEM))).thenFails('PAYMENT_AMOUNT_MISMATCH');
    });
    it('expires after the payment deadline and frees the slot', () => {
      const after = Date.parse('2027-01-04T09:00:01Z');
      const expired = spec(unpaid).when(on('ExpireReservation', ref, meta(SYSTEM, after)));
      expired.then([{ type: 'ReservationExpired', data: { reservationId: 'res_1', reason: 'payment' } }]);
      const state = expired.state();
      expect(state.index.findConflict(['spc_court1'], { id: 'x', start: Date.parse('2027-01-11T16:00:00Z'), end: Date.parse('2027-01-11T17:00:00Z'), before: 0, after: 0 })).toBeUndefined();
    });
    it('a customer cannot confirm a payment', () => {
      spec(unpaid).when(on('RecordPayment', { reservationId: 'res_1', paymentRef: 'p', amountCents: 0 }, meta(asCustomer(ALICE)))).thenFails('FORBIDDEN');
    });
  });

  describe('when confirmed', () => {
    it('its customer cancels it before the deadline', () => {
      spec(confirmed).when(on('CancelReservation', { reservationId: 'res_1', reason: 'ill' }, meta(asCustomer(ALICE)))).then([
        { type: 'ReservationCancelled', data: { reservationId: 'res_1', by: 'customer:cus_alice', reason: 'ill' } },
      ]);
    });
    it('its customer cannot cancel after the deadline (24 h before), staff still can', () => {
      const late = Date.parse('2027-01-10T17:00:00Z');
      spec(confirmed).when(on('CancelReservation', { reservationId: 'res_1', reason: '' }, meta(asCustomer(ALICE), late))).thenFails('CANCELLATION_DEADLINE_PASSED');
      spec(confirmed).when(on('CancelReservation', { reservationId: 'res_1', reason: 'storm' }, meta(STAFF, late))).then((e) => expect(e).toHaveLength(1));
    });
    it('another customer can neither see nor cancel it', () => {
      spec(confirmed).when(on('CancelReservation', { reservationId: 'res_1', reason: '' }, meta(asCustomer(BOB)))).thenFails('UNKNOWN_RESERVATION');
    });
    it('cannot be cancelled twice', () => {
      const cancelled: SiteEvent[] = [...confirmed, { type: 'ReservationCancelled', data: { reservationId: 'res_1', by: 'customer:cus_alice', reason: '' } }];
      spec(cancelled).when(on('CancelReservation', { reservationId: 'res_1', reason: '' }, meta(STAFF))).thenFails('INVALID_STATE');
    });
    it('is moved to a free time, and not onto a taken one', () => {
      const busy = [...confirmed, ...booked('res_bob', UNITS.hallA, '2027-01-11T18:00:00.000Z', '2027-01-11T19:00:00.000Z')];
      spec(busy).when(on('ModifyReservation', { reservationId: 'res_1', start: '2027-01-11T17:00', end: '2027-01-11T18:00' }, meta(asCustomer(ALICE)))).then((events) => {
        expect(events[0]?.type).toBe('ReservationModified');
      });
      // moving within its own current time does not conflict with itself
      spec(busy).when(on('ModifyReservation', { reservationId: 'res_1', start: '2027-01-11T18:30', end: '2027-01-11T19:30' }, meta(asCustomer(ALICE)))).then((e) => expect(e).toHaveLength(1));
      spec(busy).when(on('ModifyReservation', { reservationId: 'res_1', start: '2027-01-11T20:00', end: '2027-01-11T21:00' }, meta(asCustomer(ALICE)))).thenFails('SLOT_CONFLICT');
    });
    it('is completed after its end, not before', () => {
      spec(confirmed).when(on('MarkCompleted', ref, meta(SYSTEM))).thenFails('TOO_EARLY');
      spec(confirmed).when(on('MarkCompleted', ref, meta(SYSTEM, Date.parse('2027-01-11T17:00:00Z')))).then([{ type: 'ReservationCompleted', data: ref }]);
    });
    it('is marked a no-show by staff after its start', () => {
      spec(confirmed).when(on('MarkNoShow', ref, meta(STAFF))).thenFails('TOO_EARLY');
      spec(confirmed).when(on('MarkNoShow', ref, meta(asCustomer(ALICE), Date.parse('2027-01-11T16:30:00Z')))).thenFails('FORBIDDEN');
      spec(confirmed).when(on('MarkNoShow', ref, meta(STAFF, Date.parse('2027-01-11T16:30:00Z')))).then([{ type: 'ReservationNoShow', data: { reservationId: 'res_1', by: 'staff:stf_anna' } }]);
    });
  });

  it('refuses commands on a reservation that does not exist', () => {
    spec(siteCatalogue).when(on('CancelReservation', { reservationId: 'res_x', reason: '' }, meta(STAFF))).thenFails('UNKNOWN_RESERVATION');
  });
});

describe('blocking time (closures, maintenance)', () => {
  const block = (over: Record<string, unknown> = {}) =>
    on('BlockTime', { reservationId: 'res_blk', unitId: UNITS.hall.unitId, spaceIds: [], start: '2027-01-11T12:00', end: '2027-01-11T22:00', reason: 'maintenance', ...over }, meta(STAFF));

  it('blocks the whole hall and with it every section', () => {
    const blocked = spec(siteCatalogue).when(block());
    blocked.then((events) => expect(events[0]?.type).toBe('TimeBlocked'));
    const after = blocked.state();
    const next = siteDecider.decide(request(), after);
    expect(next.ok ? 'booked' : next.error.code).toBe('SLOT_CONFLICT');
  });

  it('cannot block over existing reservations', () => {
    const busy = [...siteCatalogue, ...booked('res_bob', UNITS.hallB, '2027-01-11T16:00:00.000Z', '2027-01-11T17:00:00.000Z')];
    spec(busy).when(block()).thenFails('SLOT_CONFLICT');
  });

  it('is staff only', () => {
    spec(siteCatalogue).when({ ...block(), meta: meta(asCustomer(ALICE)) } as SiteCommand).thenFails('FORBIDDEN');
  });

  it('names unknown spaces', () => {
    spec(siteCatalogue).when(block({ unitId: undefined, spaceIds: ['spc_nope'] })).thenFails('UNKNOWN_SPACE');
  });
});
