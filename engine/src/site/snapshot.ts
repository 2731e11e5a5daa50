/**
 * Snapshots of a site partition bound recovery time: the catalogue and the
 * reservations are saved as plain JSON; the conflict index and the opening
 * calendars are derived and rebuilt on load.
 */
import type { Resource, Site, Space, Unit } from '../catalogue/schemas.js';
import type { PriceQuote, ReservationKind } from './events.js';
import { addReservation, evolve } from './evolve.js';
import { initialSiteState, type ReservationState, type SeriesView, type SiteState } from './state.js';

/** Bump when the shape below changes: runtimes then ignore older snapshots and replay the log. */
export const SITE_SNAPSHOT_SCHEMA = 'site-v2';

interface SavedReservation {
  id: string;
  unitId?: string;
  kind: ReservationKind;
  spaceIds: readonly string[];
  resourceIds: readonly string[];
  customerId: string;
  customerGroupId: string;
  seriesId?: string;
  state: ReservationState;
  start: number;
  end: number;
  before: number;
  after: number;
  price: PriceQuote;
  holdExpiresAt?: number;
  paymentDeadline?: number;
}

export interface SavedSite {
  series?: SeriesView[];
  site?: Site;
  spaces: Space[];
  resources: Resource[];
  units: Unit[];
  reservations: SavedReservation[];
}

export function saveSite(state: SiteState): SavedSite {
  const reservations: SavedReservation[] = [];
  for (const r of state.reservations.values()) {
    reservations.push({
      id: r.id,
      ...(r.unitId === undefined ? {} : { unitId: r.unitId }),
      kind: r.kind,
      spaceIds: r.spaceIds,
      resourceIds: r.resourceIds,
      customerId: r.customerId,
      customerGroupId: r.customerGroupId,
      ...(r.seriesId === undefined ? {} : { seriesId: r.seriesId }),
      state: r.state,
      start: r.booking.start,
      end: r.booking.end,
      before: r.booking.before,
      after: r.booking.after,
      price: r.price,
      ...(r.holdExpiresAt === undefined ? {} : { holdExpiresAt: r.holdExpiresAt }),
      ...(r.paymentDeadline === undefined ? {} : { paymentDeadline: r.paymentDeadline }),
    });
  }
  return {
    ...(state.site === undefined ? {} : { site: state.site }),
    // parents before children, so replaying SpaceDefined in this order is valid
    spaces: orderedSpaces(state),
    resources: [...state.resources.values()],
    units: [...state.units.values()].map((v) => v.unit),
    reservations,
    series: [...state.series.values()],
  };
}

function orderedSpaces(state: SiteState): Space[] {
  const out: Space[] = [];
  const visit = (id: string): void => {
    const space = state.spaces.get(id);
    if (space === undefined) return;
    out.push(space);
    for (const child of state.children.get(id) ?? []) visit(child);
  };
  for (const space of state.spaces.values()) if (space.parentId === undefined) visit(space.spaceId);
  return out;
}

export function loadSite(saved: SavedSite): SiteState {
  let state = initialSiteState();
  if (saved.site) state = evolve(state, { type: 'SiteDefined', data: { site: saved.site } });
  for (const space of saved.spaces) state = evolve(state, { type: 'SpaceDefined', data: { space } });
  for (const resource of saved.resources) state = evolve(state, { type: 'ResourceDefined', data: { resource } });
  for (const unit of saved.units) state = evolve(state, { type: 'UnitDefined', data: { unit } });
  for (const series of saved.series ?? []) state.series.set(series.seriesId, series);
  for (const r of saved.reservations) {
    const booking = { id: r.id, start: r.start, end: r.end, before: r.before, after: r.after };
    const view = {
      id: r.id,
      unitId: r.unitId,
      kind: r.kind,
      spaceIds: r.spaceIds,
      resourceIds: r.resourceIds,
      customerId: r.customerId,
      customerGroupId: r.customerGroupId,
      seriesId: r.seriesId,
      state: r.state,
      booking,
      price: r.price,
      holdExpiresAt: r.holdExpiresAt,
      paymentDeadline: r.paymentDeadline,
    };
    addReservation(state, view);
  }
  return state;
}
