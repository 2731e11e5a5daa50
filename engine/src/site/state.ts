/**
 * The in-memory state of one site partition: its catalogue, its reservations
 * and the conflict index over them. Owned by exactly one writer (the partition
 * actor), so `evolve` updates it in place: an immutable interval tree would
 * cost an allocation per booking on the hottest path of the system.
 *
 * Everything here is derived from the partition's events, so a snapshot only
 * needs the catalogue and the reservations; indexes and calendars are rebuilt.
 */
import { OpeningCalendar } from '../calendar/index.js';
import type { Price, Resource, Site, Space, Unit, UnitRules } from '../catalogue/schemas.js';
import { ConflictIndex, type Booking } from '../conflicts/timeline.js';
import type { SeriesPattern } from '../series/pattern.js';
import type { PriceQuote, ReservationKind, SeriesRejectionReason } from './events.js';

export const RESERVATION_STATES = [
  'requested',
  'requires_handling',
  'awaiting_payment',
  'confirmed',
  'cancelled',
  'denied',
  'expired',
  'completed',
  'no_show',
] as const;
export type ReservationState = (typeof RESERVATION_STATES)[number];

/** States in which a reservation holds its slot. */
export const HOLDS_SLOT: ReadonlySet<ReservationState> = new Set([
  'requested',
  'requires_handling',
  'awaiting_payment',
  'confirmed',
  'completed',
  'no_show',
]);
/** States from which a reservation can still be cancelled, denied or modified. */
export const OPEN_STATES: ReadonlySet<ReservationState> = new Set([
  'requested',
  'requires_handling',
  'awaiting_payment',
  'confirmed',
]);

export interface UnitView {
  readonly unit: Unit;
  readonly calendar: OpeningCalendar;
  /** Timelines a booking of this unit must be checked against: its spaces, their ancestors and descendants, its resources. */
  checkKeys: readonly string[];
  /** Timelines a booking of this unit is stored on: its own spaces and resources. */
  insertKeys: readonly string[];
}

export interface ReservationView {
  readonly id: string;
  readonly unitId: string | undefined;
  readonly kind: ReservationKind;
  readonly spaceIds: readonly string[];
  readonly resourceIds: readonly string[];
  readonly customerId: string;
  readonly customerGroupId: string;
  readonly seriesId: string | undefined;
  state: ReservationState;
  booking: Booking;
  price: PriceQuote;
  holdExpiresAt: number | undefined;
  paymentDeadline: number | undefined;
}

export interface SeriesView {
  readonly seriesId: string;
  unitId: string;
  readonly customerId: string;
  readonly customerGroupId: string;
  readonly kind: 'seasonal' | 'staff' | 'behalf';
  pattern: SeriesPattern;
  revision: number;
  readonly roundId: string | undefined;
  /** Reservation ids of every occurrence ever booked, in booking order. */
  readonly occurrenceIds: string[];
  readonly rejected: { revision: number; date: string; reason: SeriesRejectionReason; message: string }[];
  cancelledFrom: string | undefined;
}

export interface SiteState {
  site: Site | undefined;
  readonly spaces: Map<string, Space>;
  readonly children: Map<string, string[]>;
  readonly resources: Map<string, Resource>;
  readonly units: Map<string, UnitView>;
  readonly reservations: Map<string, ReservationView>;
  /** Reservation ids by `${customerId}|${unitId}`, for the max-active rule. */
  readonly byCustomerUnit: Map<string, Set<string>>;
  readonly index: ConflictIndex;
  readonly series: Map<string, SeriesView>;
}

export const initialSiteState = (): SiteState => ({
  site: undefined,
  spaces: new Map(),
  children: new Map(),
  resources: new Map(),
  units: new Map(),
  reservations: new Map(),
  byCustomerUnit: new Map(),
  index: new ConflictIndex(),
  series: new Map(),
});

export const resourceKey = (resourceId: string): string => `r:${resourceId}`;

export function ancestorsOf(state: SiteState, spaceId: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>([spaceId]);
  let parent = state.spaces.get(spaceId)?.parentId;
  while (parent !== undefined && !seen.has(parent)) {
    out.push(parent);
    seen.add(parent);
    parent = state.spaces.get(parent)?.parentId;
  }
  return out;
}

export function descendantsOf(state: SiteState, spaceId: string): string[] {
  const out: string[] = [];
  const stack = [...(state.children.get(spaceId) ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    out.push(id);
    stack.push(...(state.children.get(id) ?? []));
  }
  return out;
}

/** Space ids related to `spaceIds` by the hierarchy (themselves, ancestors, descendants). */
export function relatedSpaces(state: SiteState, spaceIds: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const s of spaceIds) {
    keys.add(s);
    for (const a of ancestorsOf(state, s)) keys.add(a);
    for (const d of descendantsOf(state, s)) keys.add(d);
  }
  return [...keys];
}

/**
 * Units with the same opening hours share one calendar (and its per-date
 * memo): a city has a handful of schedules, not one per court. Keyed by the
 * hours' JSON, so equal rules loaded from different events still share.
 */
const calendars = new Map<string, OpeningCalendar>();
const CALENDAR_CACHE_LIMIT = 10_000;
export function calendarFor(hours: Unit['rules']['openingHours']): OpeningCalendar {
  const key = JSON.stringify(hours);
  let calendar = calendars.get(key);
  if (calendar === undefined) {
    if (calendars.size >= CALENDAR_CACHE_LIMIT) calendars.clear();
    calendar = new OpeningCalendar(hours);
    calendars.set(key, calendar);
  }
  return calendar;
}

export function unitView(state: SiteState, unit: Unit): UnitView {
  return {
    unit,
    calendar: calendarFor(unit.rules.openingHours),
    checkKeys: [...relatedSpaces(state, unit.spaceIds), ...unit.resourceIds.map(resourceKey)],
    insertKeys: [...unit.spaceIds, ...unit.resourceIds.map(resourceKey)],
  };
}

export const withRules = (unit: Unit, rules: UnitRules): Unit => ({ ...unit, rules });

export function withPrice(unit: Unit, price: Price): Unit {
  const prices = unit.prices.filter(
    (p) => !(p.customerGroupId === price.customerGroupId && p.validFrom === price.validFrom),
  );
  prices.push(price);
  prices.sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));
  return { ...unit, prices };
}

/** The hierarchy changed: recompute every unit's timeline keys. */
export function refreshUnitKeys(state: SiteState): void {
  for (const view of state.units.values()) {
    view.checkKeys = [...relatedSpaces(state, view.unit.spaceIds), ...view.unit.resourceIds.map(resourceKey)];
  }
}

export const customerUnitKey = (customerId: string, unitId: string): string => `${customerId}|${unitId}`;
