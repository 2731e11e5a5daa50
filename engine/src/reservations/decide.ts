/**
 * Reservation commands of a site partition: one small function per command.
 * Each checks the unit's rules in the order a customer would want to hear
 * about them and returns either the events to record or a refusal with a
 * stable code and a message that says what to do.
 *
 * Pure: no I/O, no clock (time is `meta.now`), no randomness (ids come in the
 * command). State is read, never written here; `evolve` applies the events.
 */
import { localDateOf, localDayNumber, localMinutesOf, parseTime } from '../calendar/index.js';
import { FREE_QUOTE, quote } from '../catalogue/pricing.js';
import { fail, ok, type DomainError, type Result } from '../shared/result.js';
import { actorLabel, type Actor, type SiteCommandOf } from '../site/commands.js';
import type { PriceQuote, SiteEvent } from '../site/events.js';
import {
  OPEN_STATES,
  customerUnitKey,
  relatedSpaces,
  resourceKey,
  type ReservationView,
  type SiteState,
  type UnitView,
} from '../site/state.js';
import type { Booking, Ignore } from '../conflicts/timeline.js';

type Decision = Result<SiteEvent[]>;
const MINUTE = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const minutes = (ms: number): number => ms / MINUTE;

const isStaffOrSystem = (a: Actor): boolean => a.kind !== 'customer';

function parseSpan(start: string | number, end: string | number): Result<{ start: number; end: number }> {
  // Channels that already hold instants (the allocator, series, load) skip parsing.
  if (typeof start === 'number' && typeof end === 'number' && Number.isSafeInteger(start) && Number.isSafeInteger(end)) {
    return end > start ? { ok: true, value: { start, end } } : fail('END_BEFORE_START', 'The end must be after the start.', { field: 'end' });
  }
  const s = parseTime(start, 'start');
  if (!s.ok) return s;
  const e = parseTime(end, 'end');
  if (!e.ok) return e;
  if (e.value <= s.value) {
    return fail('END_BEFORE_START', 'The end must be after the start.', { field: 'end' });
  }
  return ok({ start: s.value, end: e.value });
}

function unknownReservation(id: string): { ok: false; error: DomainError } {
  return fail('UNKNOWN_RESERVATION', `Reservation ${id} does not exist in this site.`, { field: 'reservationId' });
}

/** A customer may act only on their own reservations; staff and the system on any. */
function ownOrStaff(actor: Actor, r: ReservationView): DomainError | undefined {
  if (actor.kind === 'customer' && actor.customerId !== r.customerId) {
    // Same answer as for a reservation that does not exist: do not reveal other customers' reservations.
    return { code: 'UNKNOWN_RESERVATION', message: `Reservation ${r.id} does not exist in this site.`, field: 'reservationId' };
  }
  return undefined;
}

const invalidState = (r: ReservationView, action: string): Decision =>
  fail('INVALID_STATE', `Reservation ${r.id} is ${r.state.replace('_', ' ')} and cannot be ${action}.`, {
    details: { state: r.state },
  });

export interface SlotCheck {
  unit: UnitView;
  start: number;
  end: number;
  kind: 'normal' | 'staff' | 'behalf' | 'seasonal';
  now: number;
  customerId: string;
  customerGroupId: string;
  /** The reservation being modified: ignored by the conflict and max-active checks. */
  ignoreId?: string;
  /** Reservations cancelled by the same decision (a series change): ignored by the conflict check. */
  alsoIgnore?: ReadonlySet<string>;
  /** Series: the booking window and max-active limits are for single bookings, not weekly slots. */
  skipCustomerLimits?: boolean;
}

/**
 * Every rule of a unit, in the order a customer would want to hear about them.
 * Staff and seasonal bookings skip the customer-facing limits (duration,
 * booking window, customer group, max active) but never opening hours or
 * conflicts.
 */
export function checkSlot(state: SiteState, c: SlotCheck): DomainError | undefined {
  const rules = c.unit.unit.rules;
  const customerFacing = c.kind === 'normal' || c.kind === 'behalf';
  const duration = minutes(c.end - c.start);
  if (customerFacing && (duration < rules.minDurationMinutes || duration > rules.maxDurationMinutes)) {
    return {
      code: 'DURATION_OUT_OF_RANGE',
      message: `A reservation of this unit lasts ${rules.minDurationMinutes}-${rules.maxDurationMinutes} minutes; you asked for ${duration}.`,
      field: 'end',
      details: { min: rules.minDurationMinutes, max: rules.maxDurationMinutes, requested: duration },
    };
  }
  const open = c.unit.calendar.openIntervalContaining(c.start);
  if (open === undefined || c.end > open[1]) {
    const reason = c.unit.calendar.closedReason(localDateOf(c.start));
    const why =
      reason === 'HOLIDAY'
        ? 'It is closed on that public holiday.'
        : reason === 'CLOSED' || reason === 'EXCEPTION'
          ? 'It is closed that day.'
          : 'The time is outside its opening hours.';
    return {
      code: 'OUTSIDE_OPENING_HOURS',
      message: `${why} Pick a time within the unit's opening hours.`,
      field: open === undefined ? 'start' : 'end',
      details: reason === undefined ? {} : { closedReason: reason },
    };
  }
  let offset = localMinutesOf(c.start) - localMinutesOf(open[0]);
  if (offset < 0) offset += 24 * 60;
  if (offset % rules.startIntervalMinutes !== 0) {
    return {
      code: 'BAD_START_INTERVAL',
      message: `Reservations start every ${rules.startIntervalMinutes} minutes from the opening time; pick one of those start times.`,
      field: 'start',
      details: { startIntervalMinutes: rules.startIntervalMinutes },
    };
  }
  if (customerFacing && c.skipCustomerLimits !== true) {
    if (c.start < c.now) {
      return { code: 'BOOKING_WINDOW', message: 'The start time is in the past; pick a future time.', field: 'start' };
    }
    const daysAhead = localDayNumber(c.start) - localDayNumber(c.now);
    const w = rules.bookingWindow;
    if (c.kind === 'normal' && (daysAhead < w.minDaysAhead || daysAhead > w.maxDaysAhead)) {
      return {
        code: 'BOOKING_WINDOW',
        message: `This unit can be booked ${w.minDaysAhead}-${w.maxDaysAhead} days ahead; that date is ${daysAhead} days ahead.`,
        field: 'start',
        details: { minDaysAhead: w.minDaysAhead, maxDaysAhead: w.maxDaysAhead, daysAhead },
      };
    }
    if (rules.maxActivePerCustomer !== null) {
      const active = countActive(state, c.customerId, c.unit.unit.unitId, c.now, c.ignoreId);
      if (active >= rules.maxActivePerCustomer) {
        return {
          code: 'TOO_MANY_ACTIVE',
          message: `You already have ${active} upcoming reservations of this unit, the most allowed; cancel one or wait until one has passed.`,
          details: { max: rules.maxActivePerCustomer },
        };
      }
    }
  }
  if (customerFacing) {
    const allowed = rules.allowedCustomerGroups;
    if (allowed !== null && !allowed.includes(c.customerGroupId)) {
      return {
        code: 'CUSTOMER_GROUP_NOT_ALLOWED',
        message: 'This unit cannot be booked by your customer group. Ask the booking office which units you can book.',
        field: 'customer.customerGroupId',
      };
    }
  }
  return findConflict(state, c.unit.checkKeys, {
    id: c.ignoreId ?? '',
    start: c.start,
    end: c.end,
    before: rules.bufferBeforeMinutes * MINUTE,
    after: rules.bufferAfterMinutes * MINUTE,
  }, c.alsoIgnore ?? c.ignoreId);
}

function findConflict(
  state: SiteState,
  keys: readonly string[],
  candidate: Booking,
  ignore: Ignore | undefined,
): DomainError | undefined {
  const hit = state.index.findConflict(keys, candidate, ignore);
  if (hit === undefined) return undefined;
  return {
    code: 'SLOT_CONFLICT',
    message: 'That time is already taken (including the buffer kept between reservations). Pick another time or unit.',
    field: 'start',
    // Refusals are the common case under contention: format the times only if someone reads them.
    details: {
      conflictingKey: hit.key,
      get takenFrom() {
        return iso(hit.booking.start - hit.booking.before);
      },
      get takenUntil() {
        return iso(hit.booking.end + hit.booking.after);
      },
    },
  };
}

function countActive(state: SiteState, customerId: string, unitId: string, now: number, ignoreId?: string): number {
  const ids = state.byCustomerUnit.get(customerUnitKey(customerId, unitId));
  if (ids === undefined) return 0;
  let n = 0;
  for (const id of ids) {
    if (id === ignoreId) continue;
    const r = state.reservations.get(id);
    if (r !== undefined && OPEN_STATES.has(r.state) && r.booking.end > now) n++;
  }
  return n;
}

/** What follows a submitted reservation: handling, payment, or confirmation. */
export { afterSubmission };
function afterSubmission(
  r: { reservationId: string; kind: string; price: PriceQuote },
  unit: UnitView,
  now: number,
): SiteEvent[] {
  if (r.kind === 'normal' && unit.unit.rules.requiresHandling) {
    return [{ type: 'ReservationHandlingRequired', data: { reservationId: r.reservationId } }];
  }
  return afterApproval(r, unit, now);
}

function afterApproval(r: { reservationId: string; price: PriceQuote }, unit: UnitView, now: number): SiteEvent[] {
  if (r.price.amountCents > 0) {
    return [
      {
        type: 'ReservationPaymentRequired',
        data: {
          reservationId: r.reservationId,
          amountCents: r.price.amountCents,
          deadline: iso(now + unit.unit.rules.paymentDeadlineMinutes * MINUTE),
        },
      },
    ];
  }
  return [{ type: 'ReservationConfirmed', data: { reservationId: r.reservationId } }];
}

export function requestReservation(cmd: SiteCommandOf<'RequestReservation'>, state: SiteState): Decision {
  const { data, meta } = cmd;
  const unit = state.units.get(data.unitId);
  if (unit === undefined) {
    return fail('UNKNOWN_UNIT', `Reservation unit ${data.unitId} does not exist in this site.`, { field: 'unitId' });
  }
  if (state.reservations.has(data.reservationId)) {
    return fail('ALREADY_EXISTS', `Reservation ${data.reservationId} already exists.`, { field: 'reservationId' });
  }
  if (data.kind !== 'normal' && !isStaffOrSystem(meta.actor)) {
    return fail('FORBIDDEN', `Only staff can make ${data.kind} reservations.`, { field: 'kind' });
  }
  if (meta.actor.kind === 'customer' && meta.actor.customerId !== data.customer.customerId) {
    return fail('FORBIDDEN', 'A customer can only book for themselves; staff can book on behalf of others.', {
      field: 'customer.customerId',
    });
  }
  const span = parseSpan(data.start, data.end);
  if (!span.ok) return span;
  const { start, end } = span.value;
  const refusal = checkSlot(state, {
    unit,
    start,
    end,
    kind: data.kind,
    now: meta.now,
    customerId: data.customer.customerId,
    customerGroupId: data.customer.customerGroupId,
  });
  if (refusal) return { ok: false, error: refusal };

  let price: PriceQuote;
  if (data.kind === 'staff' || data.kind === 'seasonal') {
    // The city's own use is not charged; seasonal slots are invoiced per season, outside a single booking.
    price = FREE_QUOTE('staff');
  } else {
    const q = quote(unit.unit, data.customer, start, end);
    if (!q.ok) {
      return fail('NO_PRICE', 'This unit has no price for your customer group on that date. Ask the booking office.', {
        field: 'customer.customerGroupId',
      });
    }
    price = q.quote;
  }
  const rules = unit.unit.rules;
  const requested: SiteEvent = {
    type: 'ReservationRequested',
    data: {
      reservationId: data.reservationId,
      unitId: data.unitId,
      spaceIds: unit.unit.spaceIds,
      resourceIds: unit.unit.resourceIds,
      customerId: data.customer.customerId,
      customerGroupId: data.customer.customerGroupId,
      kind: data.kind,
      start: iso(start),
      end: iso(end),
      bufferBeforeMinutes: rules.bufferBeforeMinutes,
      bufferAfterMinutes: rules.bufferAfterMinutes,
      price,
      holdExpiresAt: iso(meta.now + rules.holdMinutes * MINUTE),
      ...(data.seriesId === undefined ? {} : { seriesId: data.seriesId }),
    },
  };
  if (!data.confirm) return ok([requested]);
  return ok([requested, ...afterSubmission({ reservationId: data.reservationId, kind: data.kind, price }, unit, meta.now)]);
}

function lookup(state: SiteState, reservationId: string, actor: Actor): Result<ReservationView> {
  const r = state.reservations.get(reservationId);
  if (r === undefined) return unknownReservation(reservationId);
  const notOwn = ownOrStaff(actor, r);
  if (notOwn) return { ok: false, error: notOwn };
  return ok(r);
}

function unitOf(state: SiteState, r: ReservationView): UnitView | undefined {
  return r.unitId === undefined ? undefined : state.units.get(r.unitId);
}

export function confirmReservation(cmd: SiteCommandOf<'ConfirmReservation'>, state: SiteState): Decision {
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (r.state !== 'requested') return invalidState(r, 'confirmed');
  if (r.holdExpiresAt !== undefined && cmd.meta.now > r.holdExpiresAt) {
    return fail('INVALID_STATE', 'The hold on this slot has expired; make a new reservation.', {
      details: { holdExpiresAt: iso(r.holdExpiresAt) },
    });
  }
  const unit = unitOf(state, r);
  if (unit === undefined) return unknownReservation(r.id);
  return ok(afterSubmission({ reservationId: r.id, kind: r.kind, price: r.price }, unit, cmd.meta.now));
}

export function approveReservation(cmd: SiteCommandOf<'ApproveReservation'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind !== 'staff') return fail('FORBIDDEN', 'Only booking office staff can approve reservations.');
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (r.state !== 'requires_handling') return invalidState(r, 'approved');
  const unit = unitOf(state, r);
  if (unit === undefined) return unknownReservation(r.id);
  return ok([
    { type: 'ReservationApproved', data: { reservationId: r.id, by: actorLabel(cmd.meta.actor) } },
    ...afterApproval({ reservationId: r.id, price: r.price }, unit, cmd.meta.now),
  ]);
}

export function denyReservation(cmd: SiteCommandOf<'DenyReservation'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind !== 'staff') return fail('FORBIDDEN', 'Only booking office staff can deny reservations.');
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (r.state !== 'requested' && r.state !== 'requires_handling' && r.state !== 'awaiting_payment') {
    return invalidState(r, 'denied');
  }
  return ok([
    { type: 'ReservationDenied', data: { reservationId: r.id, by: actorLabel(cmd.meta.actor), reason: cmd.data.reason } },
  ]);
}

export function recordPayment(cmd: SiteCommandOf<'RecordPayment'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind === 'customer') {
    return fail('FORBIDDEN', 'Payments are confirmed by the payment provider or staff, not by the customer.');
  }
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (r.state !== 'awaiting_payment') return invalidState(r, 'paid');
  if (cmd.data.amountCents !== r.price.amountCents) {
    return fail('PAYMENT_AMOUNT_MISMATCH', `The payment is ${cmd.data.amountCents} cents; ${r.price.amountCents} cents are due.`, {
      field: 'amountCents',
      details: { due: r.price.amountCents, paid: cmd.data.amountCents },
    });
  }
  return ok([
    { type: 'ReservationPaid', data: { reservationId: r.id, paymentRef: cmd.data.paymentRef, amountCents: cmd.data.amountCents } },
    { type: 'ReservationConfirmed', data: { reservationId: r.id } },
  ]);
}

export function expireReservation(cmd: SiteCommandOf<'ExpireReservation'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind === 'customer') return fail('FORBIDDEN', 'Reservations are expired by the system.');
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  const { now } = cmd.meta;
  if (r.state === 'requested' && r.holdExpiresAt !== undefined) {
    if (now < r.holdExpiresAt) return fail('NOT_YET_EXPIRED', `The hold lasts until ${iso(r.holdExpiresAt)}.`);
    return ok([{ type: 'ReservationExpired', data: { reservationId: r.id, reason: 'hold' } }]);
  }
  if (r.state === 'awaiting_payment' && r.paymentDeadline !== undefined) {
    if (now < r.paymentDeadline) return fail('NOT_YET_EXPIRED', `Payment is due by ${iso(r.paymentDeadline)}.`);
    return ok([{ type: 'ReservationExpired', data: { reservationId: r.id, reason: 'payment' } }]);
  }
  return invalidState(r, 'expired');
}

export function cancelReservation(cmd: SiteCommandOf<'CancelReservation'>, state: SiteState): Decision {
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (!OPEN_STATES.has(r.state)) return invalidState(r, 'cancelled');
  if (r.kind === 'blocked' && cmd.meta.actor.kind === 'customer') return unknownReservation(r.id);
  const denied = customerDeadline(state, r, cmd.meta.actor, cmd.meta.now, 'cancel');
  if (denied) return denied;
  return ok([
    {
      type: 'ReservationCancelled',
      data: { reservationId: r.id, by: actorLabel(cmd.meta.actor), reason: cmd.data.reason },
    },
  ]);
}

/** Customers may cancel or move a reservation only until its cancellation deadline; staff always can. */
function customerDeadline(
  state: SiteState,
  r: ReservationView,
  actor: Actor,
  now: number,
  verb: 'cancel' | 'change',
): Decision | undefined {
  if (actor.kind !== 'customer') return undefined;
  const unit = unitOf(state, r);
  const hours = unit?.unit.rules.cancellationDeadlineHours ?? 0;
  // Unconfirmed requests can always be withdrawn before they start: nothing was promised yet.
  const deadline = r.state === 'confirmed' ? r.booking.start - hours * 3_600_000 : r.booking.start;
  if (now > deadline) {
    return fail(
      'CANCELLATION_DEADLINE_PASSED',
      `Reservations of this unit can be ${verb === 'cancel' ? 'cancelled' : 'changed'} until ${hours} hours before the start. Contact the booking office.`,
      { details: { deadline: iso(deadline) } },
    );
  }
  return undefined;
}

export function modifyReservation(cmd: SiteCommandOf<'ModifyReservation'>, state: SiteState): Decision {
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (!OPEN_STATES.has(r.state) || r.kind === 'blocked') return invalidState(r, 'changed');
  const denied = customerDeadline(state, r, cmd.meta.actor, cmd.meta.now, 'change');
  if (denied) return denied;
  const unit = unitOf(state, r);
  if (unit === undefined) return unknownReservation(r.id);
  const span = parseSpan(cmd.data.start, cmd.data.end);
  if (!span.ok) return span;
  const { start, end } = span.value;
  const refusal = checkSlot(state, {
    unit,
    start,
    end,
    kind: r.kind,
    now: cmd.meta.now,
    customerId: r.customerId,
    customerGroupId: r.customerGroupId,
    ignoreId: r.id,
  });
  if (refusal) return { ok: false, error: refusal };
  let price = r.price;
  if (r.price.source === 'price_list') {
    const q = quote(unit.unit, { customerGroupId: r.customerGroupId, freeOfCharge: false }, start, end);
    if (!q.ok) return fail('NO_PRICE', 'This unit has no price for the customer group on the new date.');
    price = q.quote;
  }
  return ok([{ type: 'ReservationModified', data: { reservationId: r.id, start: iso(start), end: iso(end), price } }]);
}

export function blockTime(cmd: SiteCommandOf<'BlockTime'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind !== 'staff') return fail('FORBIDDEN', 'Only staff can block time.');
  const { data } = cmd;
  if (state.reservations.has(data.reservationId)) {
    return fail('ALREADY_EXISTS', `Reservation ${data.reservationId} already exists.`, { field: 'reservationId' });
  }
  let spaceIds = [...data.spaceIds];
  let resourceIds: string[] = [];
  if (data.unitId !== undefined) {
    const unit = state.units.get(data.unitId);
    if (unit === undefined) {
      return fail('UNKNOWN_UNIT', `Reservation unit ${data.unitId} does not exist in this site.`, { field: 'unitId' });
    }
    spaceIds = [...new Set([...spaceIds, ...unit.unit.spaceIds])];
    resourceIds = [...unit.unit.resourceIds];
  }
  const missing = spaceIds.find((s) => !state.spaces.has(s));
  if (missing !== undefined) {
    return fail('UNKNOWN_SPACE', `Space ${missing} does not exist in this site.`, { field: 'spaceIds' });
  }
  const span = parseSpan(data.start, data.end);
  if (!span.ok) return span;
  const keys = [...relatedSpaces(state, spaceIds), ...resourceIds.map(resourceKey)];
  const conflict = findConflict(
    state,
    keys,
    { id: data.reservationId, start: span.value.start, end: span.value.end, before: 0, after: 0 },
    undefined,
  );
  if (conflict) {
    return {
      ok: false,
      error: { ...conflict, message: 'Reservations exist in that time; cancel or move them before blocking it.' },
    };
  }
  return ok([
    {
      type: 'TimeBlocked',
      data: {
        reservationId: data.reservationId,
        ...(data.unitId === undefined ? {} : { unitId: data.unitId }),
        spaceIds,
        resourceIds,
        start: iso(span.value.start),
        end: iso(span.value.end),
        reason: data.reason,
        ...(data.note === undefined ? {} : { note: data.note }),
        by: actorLabel(cmd.meta.actor),
      },
    },
  ]);
}

export function markCompleted(cmd: SiteCommandOf<'MarkCompleted'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind === 'customer') return fail('FORBIDDEN', 'Only staff or the system can complete reservations.');
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (r.state !== 'confirmed') return invalidState(r, 'completed');
  if (cmd.meta.now < r.booking.end) {
    return fail('TOO_EARLY', `Reservation ${r.id} has not ended yet (ends ${iso(r.booking.end)}).`);
  }
  return ok([{ type: 'ReservationCompleted', data: { reservationId: r.id } }]);
}

export function markNoShow(cmd: SiteCommandOf<'MarkNoShow'>, state: SiteState): Decision {
  if (cmd.meta.actor.kind === 'customer') return fail('FORBIDDEN', 'Only staff or the system can mark a no-show.');
  const found = lookup(state, cmd.data.reservationId, cmd.meta.actor);
  if (!found.ok) return found;
  const r = found.value;
  if (r.state !== 'confirmed' && r.state !== 'completed') return invalidState(r, 'marked as a no-show');
  if (cmd.meta.now < r.booking.start) {
    return fail('TOO_EARLY', `Reservation ${r.id} has not started yet (starts ${iso(r.booking.start)}).`);
  }
  return ok([{ type: 'ReservationNoShow', data: { reservationId: r.id, by: actorLabel(cmd.meta.actor) } }]);
}
