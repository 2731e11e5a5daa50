/**
 * Applies a site event to the partition state, in place (see state.ts for why).
 * Evolve never refuses: the event happened. It must be deterministic, so that
 * replaying the log always rebuilds the same state.
 */
import type { Booking } from '../conflicts/timeline.js';
import type { SiteEvent, SiteEventOf } from './events.js';
import {
  HOLDS_SLOT,
  customerUnitKey,
  refreshUnitKeys,
  resourceKey,
  unitView,
  withPrice,
  withRules,
  type ReservationState,
  type ReservationView,
  type SiteState,
} from './state.js';

const MINUTE = 60_000;

const keysOf = (r: { spaceIds: readonly string[]; resourceIds: readonly string[] }): string[] => [
  ...r.spaceIds,
  ...r.resourceIds.map(resourceKey),
];

function release(state: SiteState, r: ReservationView, to: ReservationState): void {
  state.index.remove(keysOf(r), r.booking);
  r.state = to;
}

function setState(state: SiteState, reservationId: string, to: ReservationState): ReservationView | undefined {
  const r = state.reservations.get(reservationId);
  if (r !== undefined) r.state = to;
  return r;
}

/** Registers a reservation; it goes on the timelines only while it holds its slot. */
export function addReservation(state: SiteState, r: ReservationView): void {
  state.reservations.set(r.id, r);
  if (HOLDS_SLOT.has(r.state)) state.index.insert(keysOf(r), r.booking);
  if (r.unitId !== undefined) {
    const key = customerUnitKey(r.customerId, r.unitId);
    let ids = state.byCustomerUnit.get(key);
    if (ids === undefined) {
      ids = new Set();
      state.byCustomerUnit.set(key, ids);
    }
    ids.add(r.id);
  }
}

function requested(state: SiteState, e: SiteEventOf<'ReservationRequested'>['data']): void {
  if (e.seriesId !== undefined) state.series.get(e.seriesId)?.occurrenceIds.push(e.reservationId);
  const booking: Booking = {
    id: e.reservationId,
    start: Date.parse(e.start),
    end: Date.parse(e.end),
    before: e.bufferBeforeMinutes * MINUTE,
    after: e.bufferAfterMinutes * MINUTE,
  };
  addReservation(state, {
    id: e.reservationId,
    unitId: e.unitId,
    kind: e.kind,
    spaceIds: e.spaceIds,
    resourceIds: e.resourceIds,
    customerId: e.customerId,
    customerGroupId: e.customerGroupId,
    seriesId: e.seriesId,
    state: 'requested',
    booking,
    price: e.price,
    holdExpiresAt: Date.parse(e.holdExpiresAt),
    paymentDeadline: undefined,
  });
}

export function evolve(state: SiteState, event: SiteEvent): SiteState {
  switch (event.type) {
    case 'SiteDefined':
      state.site = event.data.site;
      return state;
    case 'SpaceDefined':
    case 'SpaceUpdated': {
      const { space } = event.data;
      const previous = state.spaces.get(space.spaceId);
      if (previous?.parentId !== undefined) {
        const siblings = state.children.get(previous.parentId);
        if (siblings) state.children.set(previous.parentId, siblings.filter((s) => s !== space.spaceId));
      }
      state.spaces.set(space.spaceId, space);
      if (space.parentId !== undefined) {
        state.children.set(space.parentId, [...(state.children.get(space.parentId) ?? []), space.spaceId]);
      }
      refreshUnitKeys(state);
      return state;
    }
    case 'ResourceDefined':
      state.resources.set(event.data.resource.resourceId, event.data.resource);
      return state;
    case 'UnitDefined':
      state.units.set(event.data.unit.unitId, unitView(state, event.data.unit));
      return state;
    case 'UnitRulesChanged': {
      const view = state.units.get(event.data.unitId);
      if (view) state.units.set(event.data.unitId, unitView(state, withRules(view.unit, event.data.rules)));
      return state;
    }
    case 'PriceSet': {
      const view = state.units.get(event.data.unitId);
      if (view) state.units.set(event.data.unitId, { ...view, unit: withPrice(view.unit, event.data.price) });
      return state;
    }
    case 'ReservationRequested':
      requested(state, event.data);
      return state;
    case 'ReservationHandlingRequired':
      setState(state, event.data.reservationId, 'requires_handling');
      return state;
    case 'ReservationApproved':
    case 'ReservationPaid':
      // The state moves with the event that follows (payment required / confirmed).
      return state;
    case 'ReservationPaymentRequired': {
      const r = setState(state, event.data.reservationId, 'awaiting_payment');
      if (r) r.paymentDeadline = Date.parse(event.data.deadline);
      return state;
    }
    case 'ReservationConfirmed':
      setState(state, event.data.reservationId, 'confirmed');
      return state;
    case 'ReservationDenied':
    case 'ReservationExpired':
    case 'ReservationCancelled': {
      const r = state.reservations.get(event.data.reservationId);
      const to = event.type === 'ReservationDenied' ? 'denied' : event.type === 'ReservationExpired' ? 'expired' : 'cancelled';
      if (r) release(state, r, to);
      return state;
    }
    case 'ReservationModified': {
      const r = state.reservations.get(event.data.reservationId);
      if (r === undefined) return state;
      const keys = keysOf(r);
      state.index.remove(keys, r.booking);
      r.booking = { ...r.booking, start: Date.parse(event.data.start), end: Date.parse(event.data.end) };
      r.price = event.data.price;
      state.index.insert(keys, r.booking);
      return state;
    }
    case 'TimeBlocked': {
      const e = event.data;
      addReservation(state, {
        id: e.reservationId,
        unitId: e.unitId,
        kind: 'blocked',
        spaceIds: e.spaceIds,
        resourceIds: e.resourceIds,
        customerId: e.by,
        customerGroupId: '',
        seriesId: undefined,
        state: 'confirmed',
        booking: { id: e.reservationId, start: Date.parse(e.start), end: Date.parse(e.end), before: 0, after: 0 },
        price: { amountCents: 0, vatCents: 0, vatBasisPoints: 0, source: 'staff' },
        holdExpiresAt: undefined,
        paymentDeadline: undefined,
      });
      return state;
    }
    case 'ReservationCompleted':
      setState(state, event.data.reservationId, 'completed');
      return state;
    case 'ReservationNoShow':
      setState(state, event.data.reservationId, 'no_show');
      return state;
    case 'SeriesCreated': {
      const e = event.data;
      state.series.set(e.seriesId, {
        seriesId: e.seriesId,
        unitId: e.unitId,
        customerId: e.customerId,
        customerGroupId: e.customerGroupId,
        kind: e.kind,
        pattern: e.pattern,
        revision: 1,
        roundId: e.roundId,
        occurrenceIds: [],
        rejected: [],
        cancelledFrom: undefined,
      });
      return state;
    }
    case 'SeriesOccurrenceRejected': {
      const e = event.data;
      state.series.get(e.seriesId)?.rejected.push({ revision: e.revision, date: e.date, reason: e.reason, message: e.message });
      return state;
    }
    case 'SeriesChanged': {
      const s = state.series.get(event.data.seriesId);
      if (s) {
        s.unitId = event.data.unitId;
        s.pattern = event.data.pattern;
        s.revision = event.data.revision;
      }
      return state;
    }
    case 'SeriesCancelled': {
      const s = state.series.get(event.data.seriesId);
      if (s && (s.cancelledFrom === undefined || event.data.fromDate < s.cancelledFrom)) s.cancelledFrom = event.data.fromDate;
      return state;
    }
    default: {
      const exhaustive: never = event;
      throw new Error(`unhandled site event ${(exhaustive as { type: string }).type}`);
    }
  }
}
