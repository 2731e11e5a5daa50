/**
 * Free start times, answered from a site partition's in-memory state (its
 * opening calendars and conflict index), never by scanning events.
 *
 * A start time is offered exactly when the reservation decider would accept a
 * booking there (`reservations/decide.ts`, `checkSlot`): opening hours with
 * holidays and exceptions, start interval counted in wall-clock minutes from
 * the opening time, duration limits, booking window, customer group, price,
 * and no conflict on the unit's spaces, their ancestors and descendants, or
 * its resources, buffers included. The property test beside this file holds
 * the two to that promise, since they are separate code.
 *
 * Pure: reads the state, never writes it; time comes in as `now`.
 */
import {
  addDays,
  dateOfDayNumber,
  dayNumberOf,
  localDayNumber,
  localMinutesOf,
  wallMinutesOf,
  wallTimeToInstant,
  type Instant,
  type LocalDate,
} from '../calendar/index.js';
import { quote } from '../catalogue/pricing.js';
import type { UNIT_TYPES, Unit } from '../catalogue/schemas.js';

type UnitType = (typeof UNIT_TYPES)[number];
import type { DomainError } from '../shared/result.js';
import type { PriceQuote } from '../site/events.js';
import { OPEN_STATES, customerUnitKey, type SiteState, type UnitView } from '../site/state.js';

const MINUTE = 60_000;
const DAY_MINUTES = 24 * 60;

/** Who is asking: their group decides whether and at what price they may book. */
export interface AvailabilityCustomer {
  customerId?: string;
  customerGroupId: string;
  freeOfCharge: boolean;
}

export interface SlotQuery {
  /** First and last Helsinki date (inclusive) on which a free start is wanted. */
  fromDate: LocalDate;
  toDate: LocalDate;
  durationMinutes: number;
  /** The instant the answer is for (booking window, starts in the past). */
  now: Instant;
  /** `normal`: a customer books (every rule); `behalf`: staff books for a customer (no booking window). */
  kind?: 'normal' | 'behalf';
  customer?: AvailabilityCustomer;
  /** Only starts whose Helsinki wall time is within [fromTime, toTime), 'HH:mm'. */
  fromTime?: string;
  toTime?: string;
  /** At most this many slots per unit (default: all). */
  limit?: number;
}

export interface FreeSlot {
  start: Instant;
  end: Instant;
  /** The price the customer would pay, when a customer group was given. */
  price?: PriceQuote;
}

export type UnitAvailability =
  | {
      ok: true;
      unitId: string;
      slots: FreeSlot[];
      /** More free slots exist than `limit` allowed. */
      truncated: boolean;
      /** The customer already holds the most active reservations this unit allows: nothing can be booked now. */
      maxActiveReached: boolean;
    }
  | { ok: false; unitId: string; error: DomainError };

/** Minutes of the day (0..1439) at which a start aligned to an interval opening at `anchor` may fall. */
function alignedMinutes(anchorMinutes: number, step: number): number[] {
  const out: number[] = [];
  for (let k = 0; k * step < DAY_MINUTES; k++) out.push((anchorMinutes + k * step) % DAY_MINUTES);
  return out;
}

/** Instants at which the Helsinki wall clock shows `minutes` on `date`: none in spring's gap, two in autumn's overlap. */
function instantsAt(date: LocalDate, minutes: number): Instant[] {
  const earlier = wallTimeToInstant(date, minutes, { ambiguous: 'earlier' });
  if (!earlier.ok) return [];
  const later = wallTimeToInstant(date, minutes, { ambiguous: 'later' });
  return later.ok && later.value !== earlier.value ? [earlier.value, later.value] : [earlier.value];
}

/**
 * Start instants on `date` that the unit's opening hours and start interval
 * allow (the decider's rule: the wall-clock offset from the opening time of the
 * interval the start lies in is a multiple of the interval), in order.
 */
export function alignedStartsOn(view: UnitView, date: LocalDate): Instant[] {
  const step = view.unit.rules.startIntervalMinutes;
  const day = dayNumberOf(date);
  const intervals = [...view.calendar.openIntervalsOn(addDays(date, -1)), ...view.calendar.openIntervalsOn(date)];
  const seen = new Set<Instant>();
  for (const iv of intervals) {
    for (const m of alignedMinutes(localMinutesOf(iv[0]), step)) {
      for (const t of instantsAt(date, m)) {
        if (t < iv[0] || t >= iv[1] || localDayNumber(t) !== day || seen.has(t)) continue;
        // The decider anchors on the interval `openIntervalContaining` finds; where intervals overlap (a unit
        // open round the clock) that is the day's own one, so check alignment against it as the decider does.
        const anchor = view.calendar.openIntervalContaining(t);
        if (anchor === undefined) continue;
        let offset = localMinutesOf(t) - localMinutesOf(anchor[0]);
        if (offset < 0) offset += DAY_MINUTES;
        if (offset % step === 0) seen.add(t);
      }
    }
  }
  return [...seen].sort((a, b) => a - b);
}

const refusal = (unitId: string, code: DomainError['code'], message: string, field?: string): UnitAvailability => ({
  ok: false,
  unitId,
  error: { code, message, ...(field === undefined ? {} : { field }) },
});

function activeCount(state: SiteState, customerId: string, unitId: string, now: Instant): number {
  const ids = state.byCustomerUnit.get(customerUnitKey(customerId, unitId));
  if (ids === undefined) return 0;
  let n = 0;
  for (const id of ids) {
    const r = state.reservations.get(id);
    if (r !== undefined && OPEN_STATES.has(r.state) && r.booking.end > now) n++;
  }
  return n;
}

/** Free start times of one unit for a duration, over a range of Helsinki dates. */
export function freeSlots(state: SiteState, unitId: string, q: SlotQuery): UnitAvailability {
  const view = state.units.get(unitId);
  if (view === undefined) return refusal(unitId, 'UNKNOWN_UNIT', `Reservation unit ${unitId} does not exist in this site.`, 'unitId');
  const rules = view.unit.rules;
  const kind = q.kind ?? 'normal';
  const duration = q.durationMinutes;
  if (duration < rules.minDurationMinutes || duration > rules.maxDurationMinutes) {
    return refusal(
      unitId,
      'DURATION_OUT_OF_RANGE',
      `A reservation of this unit lasts ${rules.minDurationMinutes}-${rules.maxDurationMinutes} minutes; you asked for ${duration}.`,
      'durationMinutes',
    );
  }
  if (q.customer !== undefined && rules.allowedCustomerGroups !== null && !rules.allowedCustomerGroups.includes(q.customer.customerGroupId)) {
    return refusal(
      unitId,
      'CUSTOMER_GROUP_NOT_ALLOWED',
      'This unit cannot be booked by your customer group. Ask the booking office which units you can book.',
      'customerGroupId',
    );
  }
  const maxActiveReached =
    q.customer?.customerId !== undefined &&
    rules.maxActivePerCustomer !== null &&
    activeCount(state, q.customer.customerId, unitId, q.now) >= rules.maxActivePerCustomer;

  const fromMinutes = q.fromTime === undefined ? 0 : (wallMinutesOf(q.fromTime) ?? 0);
  const toMinutes = q.toTime === undefined ? DAY_MINUTES : (wallMinutesOf(q.toTime) ?? DAY_MINUTES);
  const today = localDayNumber(q.now);
  const window = rules.bookingWindow;
  // Dates outside the booking window have no free starts for a customer; skip them rather than test each start.
  let first = dayNumberOf(q.fromDate);
  let last = dayNumberOf(q.toDate);
  if (kind === 'normal') {
    first = Math.max(first, today + window.minDaysAhead);
    last = Math.min(last, today + window.maxDaysAhead);
  } else {
    first = Math.max(first, today);
  }
  const limit = q.limit ?? Number.POSITIVE_INFINITY;
  const slots: FreeSlot[] = [];
  const durationMs = duration * MINUTE;
  const before = rules.bufferBeforeMinutes * MINUTE;
  const after = rules.bufferAfterMinutes * MINUTE;
  let truncated = false;
  for (let day = first; day <= last && !truncated; day++) {
    const date = dateOfDayNumber(day);
    for (const start of alignedStartsOn(view, date)) {
      if (start < q.now) continue;
      const wall = localMinutesOf(start);
      if (wall < fromMinutes || wall >= toMinutes) continue;
      const end = start + durationMs;
      const open = view.calendar.openIntervalContaining(start);
      if (open === undefined || end > open[1]) continue;
      if (state.index.findConflict(view.checkKeys, { id: '', start, end, before, after }) !== undefined) continue;
      let price: PriceQuote | undefined;
      if (q.customer !== undefined) {
        const priced = quote(view.unit, q.customer, start, end);
        if (!priced.ok) continue; // no price in force for the group on that date: the decider refuses NO_PRICE
        price = priced.quote;
      }
      if (slots.length >= limit) {
        truncated = true;
        break;
      }
      slots.push(price === undefined ? { start, end } : { start, end, price });
    }
  }
  return { ok: true, unitId, slots, truncated, maxActiveReached };
}

export interface UnitFilter {
  unitType?: UnitType;
  /** Units holding at least this many people. */
  minCapacity?: number;
  /** Units this customer group may book. */
  customerGroupId?: string;
  unitIds?: readonly string[];
}

/** How many people a unit holds: its own figure, else the sum of its spaces' when every one is known. */
export function capacityOf(state: SiteState, unit: Unit): number | undefined {
  if (unit.capacity !== undefined) return unit.capacity;
  let sum = 0;
  for (const id of unit.spaceIds) {
    const c = state.spaces.get(id)?.capacity;
    if (c === undefined) return undefined;
    sum += c;
  }
  return sum;
}

/** Units of a site that match a filter, in id order. */
export function matchingUnits(state: SiteState, f: UnitFilter): UnitView[] {
  const wanted = f.unitIds === undefined ? undefined : new Set(f.unitIds);
  const out: UnitView[] = [];
  for (const view of state.units.values()) {
    const u = view.unit;
    if (wanted !== undefined && !wanted.has(u.unitId)) continue;
    if (f.unitType !== undefined && u.unitType !== f.unitType) continue;
    if (f.minCapacity !== undefined && (capacityOf(state, u) ?? -1) < f.minCapacity) continue;
    if (f.customerGroupId !== undefined && u.rules.allowedCustomerGroups !== null && !u.rules.allowedCustomerGroups.includes(f.customerGroupId)) {
      continue;
    }
    out.push(view);
  }
  return out.sort((a, b) => (a.unit.unitId < b.unit.unitId ? -1 : a.unit.unitId > b.unit.unitId ? 1 : 0));
}

/**
 * Search across a site's units: each matching unit's free starts. Units whose
 * rules rule the query out (duration, customer group) are left out, not
 * reported as errors: a search answers "where can I book", not "why not".
 */
export function searchSite(state: SiteState, filter: UnitFilter, q: SlotQuery): Extract<UnitAvailability, { ok: true }>[] {
  const out: Extract<UnitAvailability, { ok: true }>[] = [];
  for (const view of matchingUnits(state, filter)) {
    const a = freeSlots(state, view.unit.unitId, q);
    if (a.ok && a.slots.length > 0) out.push(a);
  }
  return out;
}
