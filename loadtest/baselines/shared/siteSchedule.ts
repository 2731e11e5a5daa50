// The booking rule both Emmett baselines enforce, as plain data and functions
// (no Emmett import: the two baselines pin different Emmett versions).
//
// A site's schedule lists, per space, the confirmed reservations occupying it.
// A unit's booking occupies its space and every space inside it (the workload
// expands that into `spaceIds`: the whole-hall unit lists the hall and its
// sections), so two bookings conflict when they share any space and their
// times overlap. That is what makes a whole-hall booking and a section booking
// exclude each other while two different sections do not.

export interface ReservedSlot {
  reservationId: string;
  unitId: string;
  spaceIds: readonly string[];
  startMs: number;
  endMs: number;
}

export interface SiteSchedule {
  /** A site's stream starts with SiteScheduleOpened; a site without one does not take bookings. */
  opened: boolean;
  bySpace: Map<string, ReservedSlot[]>;
}

export const emptySchedule = (): SiteSchedule => ({ opened: false, bySpace: new Map() });

export function opened(schedule: SiteSchedule): SiteSchedule {
  schedule.opened = true;
  return schedule;
}

/**
 * Adds a confirmed reservation. Mutates and returns `schedule`: a command
 * handler builds a fresh schedule from initialState() on every load, so nothing
 * else holds it, and copying a year of bookings per event would turn a load
 * into quadratic work.
 */
export function withReservation(schedule: SiteSchedule, slot: ReservedSlot): SiteSchedule {
  for (const spaceId of slot.spaceIds) {
    const list = schedule.bySpace.get(spaceId);
    if (list === undefined) schedule.bySpace.set(spaceId, [slot]);
    else list.push(slot);
  }
  return schedule;
}

/** The first confirmed reservation sharing a space with `slot` at an overlapping time, if any. */
export function findOverlap(
  schedule: SiteSchedule,
  slot: Pick<ReservedSlot, 'spaceIds' | 'startMs' | 'endMs'>,
): ReservedSlot | undefined {
  for (const spaceId of slot.spaceIds) {
    for (const other of schedule.bySpace.get(spaceId) ?? []) {
      if (other.startMs < slot.endMs && slot.startMs < other.endMs) return other;
    }
  }
  return undefined;
}

/**
 * How a site's schedule is cut into streams. `site`: one stream per site, the
 * natural consistency boundary (a per-unit stream could not see a hall booking
 * clash with a section booking), holding the site's whole year. `site-week`:
 * one stream per site and week, the same boundary cut short so that a command
 * loads about a week of bookings instead of a year.
 */
export type StreamGranularity = 'site' | 'site-week';

const WEEK_MS = 7 * 24 * 3_600_000;
const FIRST_MONDAY_UTC = Date.UTC(1970, 0, 5);

export function scheduleStreamId(granularity: StreamGranularity, siteId: string, startMs: number): string {
  if (granularity === 'site') return `siteSchedule-${siteId}`;
  // Weeks start at Monday 00:00 UTC (02:00 or 03:00 in Helsinki); sites are closed
  // then, so no booking straddles two week streams.
  return `siteSchedule-${siteId}_w${Math.floor((startMs - FIRST_MONDAY_UTC) / WEEK_MS)}`;
}
