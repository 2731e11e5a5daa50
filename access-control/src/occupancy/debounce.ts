/**
 * Occupancy debouncing: sensor readings in, occupied intervals per space out.
 *
 * PIR sensors flap (motion, then "clear" after their own timeout, then motion
 * again), people stand still, counters miss someone. So:
 *
 * - a space is occupied while any of its sensors says so (a count above zero
 *   counts as occupied);
 * - an occupied spell shorter than `minOccupiedMs` is a blip (someone walked
 *   through) and is dropped;
 * - the space is vacant only after every sensor has said "vacant" for
 *   `vacantAfterMs`; a reading of "occupied" within that hold continues the
 *   same interval, and the interval ends when the vacancy began;
 * - if every sensor of an occupied space goes silent for `staleAfterMs`, the
 *   interval is closed at the last reading rather than left open forever;
 * - a sensor silent for `staleAfterMs` no longer holds a space occupied;
 * - a reading older than the sensor's previous one is ignored (out of order).
 *
 * Output events: `SpaceOccupancyStarted` once an interval is confirmed, and
 * `SpaceOccupancyRecorded` with [start, end) and the peak people count when
 * it ends. Time is an input: readings carry it, `tick(now)` moves it.
 */
import type { AccessEventOf } from '../events.js';

export interface OccupancyPolicy {
  minOccupiedMs: number;
  vacantAfterMs: number;
  staleAfterMs: number;
}

export const DEFAULT_OCCUPANCY_POLICY: OccupancyPolicy = {
  minOccupiedMs: 2 * 60_000,
  vacantAfterMs: 5 * 60_000,
  staleAfterMs: 30 * 60_000,
};

export type OccupancyEvent = AccessEventOf<'SpaceOccupancyStarted'> | AccessEventOf<'SpaceOccupancyRecorded'>;

interface SensorReading {
  occupied: boolean;
  at: number;
}

interface SpaceTrack {
  siteId: string;
  spaceId: string;
  sensors: Map<string, SensorReading>;
  /** An occupied spell is under way (confirmed or not yet). */
  active: boolean;
  /** The spell lasted `minOccupiedMs` and `SpaceOccupancyStarted` went out. */
  confirmed: boolean;
  start: number;
  /** When every sensor last turned vacant, while the hold runs; undefined while occupied. */
  vacantSince: number | undefined;
  lastReadingAt: number;
  peak: number | undefined;
  sensorIds: Set<string>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class OccupancyTracker {
  private readonly spaces = new Map<string, SpaceTrack>();

  constructor(private readonly policy: OccupancyPolicy = DEFAULT_OCCUPANCY_POLICY) {}

  /** Applies one reading; returns the events it completes, or `stale` when it is older than the sensor's last one. */
  reading(
    siteId: string,
    spaceId: string,
    sensorId: string,
    r: { occupied: boolean; peopleCount?: number | undefined; at: number },
  ): OccupancyEvent[] | 'stale' {
    const key = `${siteId}/${spaceId}`;
    let t = this.spaces.get(key);
    if (t === undefined) {
      t = {
        siteId,
        spaceId,
        sensors: new Map(),
        active: false,
        confirmed: false,
        start: 0,
        vacantSince: undefined,
        lastReadingAt: 0,
        peak: undefined,
        sensorIds: new Set(),
      };
      this.spaces.set(key, t);
    }
    const previous = t.sensors.get(sensorId);
    if (previous !== undefined && r.at < previous.at) return 'stale';
    // Time moves first: a hold that ran out before this reading ends its interval.
    const out = this.advance(t, r.at);
    const occupied = r.occupied || (r.peopleCount !== undefined && r.peopleCount > 0);
    t.sensors.set(sensorId, { occupied, at: r.at });
    t.lastReadingAt = Math.max(t.lastReadingAt, r.at);
    if (occupied) {
      if (!t.active) {
        t.active = true;
        t.confirmed = false;
        t.start = r.at;
        t.sensorIds = new Set();
        t.peak = undefined;
      }
      t.vacantSince = undefined;
      t.sensorIds.add(sensorId);
      if (r.peopleCount !== undefined) t.peak = Math.max(t.peak ?? 0, r.peopleCount);
    } else if (t.active && t.vacantSince === undefined && !this.anyOccupied(t, r.at)) {
      t.vacantSince = r.at;
    }
    out.push(...this.advance(t, r.at));
    return out;
  }

  /** Moves time on for every space: confirms spells, ends holds and silent intervals. */
  tick(now: number): OccupancyEvent[] {
    const out: OccupancyEvent[] = [];
    for (const t of this.spaces.values()) out.push(...this.advance(t, now));
    return out;
  }

  /** Spaces occupied now (confirmed), for dashboards and tests. */
  occupiedSpaces(): { siteId: string; spaceId: string; since: number }[] {
    return [...this.spaces.values()].filter((t) => t.active && t.confirmed).map((t) => ({ siteId: t.siteId, spaceId: t.spaceId, since: t.start }));
  }

  private advance(t: SpaceTrack, now: number): OccupancyEvent[] {
    if (!t.active) return [];
    const out: OccupancyEvent[] = [];
    if (t.vacantSince !== undefined && now - t.vacantSince >= this.policy.vacantAfterMs) {
      this.end(t, t.vacantSince, out);
      return out;
    }
    if (now - t.lastReadingAt >= this.policy.staleAfterMs) {
      // Every sensor went silent: close at the last thing we heard.
      this.end(t, t.vacantSince ?? t.lastReadingAt, out);
      t.sensors.clear();
      return out;
    }
    if (!t.confirmed && t.vacantSince === undefined && now - t.start >= this.policy.minOccupiedMs) {
      t.confirmed = true;
      out.push(this.started(t));
    }
    return out;
  }

  /** Ends the spell at `end`: recorded if it was long enough (a blip is dropped). */
  private end(t: SpaceTrack, end: number, out: OccupancyEvent[]): void {
    if (t.confirmed || end - t.start >= this.policy.minOccupiedMs) {
      if (!t.confirmed) out.push(this.started(t));
      out.push(this.recorded(t, end));
    }
    t.active = false;
    t.confirmed = false;
    t.vacantSince = undefined;
    t.peak = undefined;
    t.sensorIds = new Set();
  }

  /** A sensor that has said nothing for `staleAfterMs` no longer holds the space occupied. */
  private anyOccupied(t: SpaceTrack, now: number): boolean {
    for (const s of t.sensors.values()) if (s.occupied && now - s.at < this.policy.staleAfterMs) return true;
    return false;
  }

  private started(t: SpaceTrack): OccupancyEvent {
    return { type: 'SpaceOccupancyStarted', data: { siteId: t.siteId, spaceId: t.spaceId, start: iso(t.start), sensorIds: [...t.sensorIds].sort() } };
  }

  private recorded(t: SpaceTrack, end: number): OccupancyEvent {
    return {
      type: 'SpaceOccupancyRecorded',
      data: {
        siteId: t.siteId,
        spaceId: t.spaceId,
        start: iso(t.start),
        end: iso(Math.max(end, t.start)),
        ...(t.peak === undefined ? {} : { peakPeopleCount: t.peak }),
        sensorIds: [...t.sensorIds].sort(),
      },
    };
  }
}
