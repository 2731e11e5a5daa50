/**
 * Supply: what each reservation unit can offer a seasonal round, week by week,
 * in Helsinki wall time. A seasonal slot is a weekly wall-clock time (e.g.
 * Tuesdays 18:00-19:30), so what matters per unit and weekday is which wall
 * times are free on which weeks. Most weeks look alike, so each weekday is
 * stored as a few distinct *week patterns* (free spans) with the weeks they
 * occur in: a slot is usable in the weeks of every pattern it fits.
 *
 * Built from a site partition's state (opening calendar, reservations and
 * blocks, the space hierarchy); pure, reads the state and writes nothing.
 */
import {
  addDays,
  dayNumberOf,
  localDateOf,
  localMinutesOf,
  weekdayOf,
  type LocalDate,
  type OpeningCalendar,
} from '../calendar/index.js';
import type { Unit } from '../catalogue/schemas.js';
import { HOLDS_SLOT, resourceKey, type SiteState } from '../site/state.js';

/** A free stretch of one day in wall minutes [from, to), and the wall minute its open interval started at (start times align to it). */
export interface FreeSpan {
  readonly from: number;
  readonly to: number;
  readonly anchor: number;
}

export interface WeekPattern {
  readonly free: readonly FreeSpan[];
  /** Season week indexes (0 = the week of the season's first day) with this pattern. */
  readonly weeks: readonly number[];
}

export interface UnitSupply {
  readonly unitId: string;
  readonly siteId: string;
  readonly name: string;
  /** Timelines a booking of this unit is checked against (its spaces, their ancestors and descendants, its resources), namespaced by site. */
  readonly checkKeys: readonly string[];
  /** Timelines a booking of this unit occupies, namespaced by site. */
  readonly insertKeys: readonly string[];
  readonly bufferBeforeMinutes: number;
  readonly bufferAfterMinutes: number;
  readonly startIntervalMinutes: number;
  /** Index 0 = Monday .. 6 = Sunday. */
  readonly days: readonly (readonly WeekPattern[])[];
  /** Open minutes in the unit's most common week, the base of the per-applicant share cap. */
  readonly weeklyOpenMinutes: number;
}

export interface Season {
  readonly fromDate: LocalDate;
  readonly toDate: LocalDate;
}

/** The Monday of the week of `date`. */
export const mondayOf = (date: LocalDate): LocalDate => addDays(date, 1 - weekdayOf(date));

/** Weeks the season touches (partial first and last weeks included). */
export const seasonWeeks = (season: Season): number =>
  Math.floor((dayNumberOf(season.toDate) - dayNumberOf(mondayOf(season.fromDate))) / 7) + 1;

/** The date of weekday (1..7) in season week `week`. */
export const dateOfWeek = (season: Season, week: number, weekday: number): LocalDate =>
  addDays(mondayOf(season.fromDate), week * 7 + weekday - 1);

export const namespacedKey = (siteId: string, key: string): string => `${siteId}/${key}`;

interface Busy {
  readonly start: number;
  readonly end: number;
  readonly before: number;
  readonly after: number;
}

const MINUTE = 60_000;

/** Wall-minute range of [start, end) on `date`, clipped to the day (an interval reaching the next midnight ends at 1440). */
function wallRangeOn(date: LocalDate, start: number, end: number): [number, number] {
  const from = localDateOf(start) < date ? 0 : localMinutesOf(start);
  const to = localDateOf(end) > date ? 1440 : localMinutesOf(end);
  return [from, to];
}

function subtract(spans: FreeSpan[], from: number, to: number): FreeSpan[] {
  if (!(from < to)) return spans;
  const out: FreeSpan[] = [];
  for (const s of spans) {
    if (to <= s.from || s.to <= from) {
      out.push(s);
      continue;
    }
    if (s.from < from) out.push({ from: s.from, to: from, anchor: s.anchor });
    if (to < s.to) out.push({ from: to, to: s.to, anchor: s.anchor });
  }
  return out;
}

/**
 * Wall-minute ranges each booking blocks for this unit, by date. The exact
 * conflict rule of the conflict index, turned into a blocked range: a slot
 * [s, e) conflicts with booking r iff s < r.end + max(r.after, unit's before)
 * and r.start - max(r.before, unit's after) < e.
 */
function blockedByDate(unit: Unit, busy: readonly Busy[]): Map<LocalDate, [number, number][]> {
  const unitBefore = unit.rules.bufferBeforeMinutes * MINUTE;
  const unitAfter = unit.rules.bufferAfterMinutes * MINUTE;
  const out = new Map<LocalDate, [number, number][]>();
  for (const r of busy) {
    const from = r.start - Math.max(r.before, unitAfter);
    const to = r.end + Math.max(r.after, unitBefore);
    if (!(from < to)) continue;
    const last = localDateOf(to - 1);
    for (let date = localDateOf(from); date <= last; date = addDays(date, 1)) {
      let list = out.get(date);
      if (list === undefined) out.set(date, (list = []));
      list.push(wallRangeOn(date, from, to));
    }
  }
  return out;
}

/** Free spans of one date: open time minus what existing bookings block. */
function freeOn(date: LocalDate, calendar: OpeningCalendar, blocked: readonly [number, number][] | undefined): FreeSpan[] {
  let spans: FreeSpan[] = [];
  for (const [a, b] of calendar.openIntervalsWithinDay(date)) {
    const anchorInstant = calendar.openIntervalContaining(a)?.[0] ?? a;
    const [from, to] = wallRangeOn(date, a, b);
    if (from < to) spans.push({ from, to, anchor: localMinutesOf(anchorInstant) });
  }
  for (const [from, to] of blocked ?? []) spans = subtract(spans, from, to);
  return spans;
}

export interface UnitSource {
  readonly siteId: string;
  readonly unit: Unit;
  readonly calendar: OpeningCalendar;
  readonly checkKeys: readonly string[];
  readonly insertKeys: readonly string[];
  /** Bookings holding time on any of `checkKeys` (reservations, series occurrences, blocks). */
  readonly busy: readonly Busy[];
}

/** Builds one unit's supply for a season from its calendar and the bookings on its timelines. */
export function unitSupply(source: UnitSource, season: Season): UnitSupply {
  const weeks = seasonWeeks(season);
  const first = dayNumberOf(season.fromDate);
  const last = dayNumberOf(season.toDate);
  const blocked = blockedByDate(source.unit, source.busy);
  const days: WeekPattern[][] = [];
  const weekOpen = new Map<number, number>();
  for (let weekday = 1; weekday <= 7; weekday++) {
    const byKey = new Map<string, { free: FreeSpan[]; weeks: number[] }>();
    for (let w = 0; w < weeks; w++) {
      const date = dateOfWeek(season, w, weekday);
      const n = dayNumberOf(date);
      if (n < first || n > last) continue;
      const open = source.calendar.openIntervalsWithinDay(date).reduce((m, [a, b]) => m + (b - a) / MINUTE, 0);
      weekOpen.set(w, (weekOpen.get(w) ?? 0) + open);
      const free = freeOn(date, source.calendar, blocked.get(date));
      const key = free.map((s) => `${s.from}-${s.to}@${s.anchor}`).join(',');
      let pattern = byKey.get(key);
      if (pattern === undefined) {
        pattern = { free, weeks: [] };
        byKey.set(key, pattern);
      }
      pattern.weeks.push(w);
    }
    days.push([...byKey.values()].filter((p) => p.free.length > 0));
  }
  // The most common weekly total of open minutes is the unit's ordinary week.
  const counts = new Map<number, number>();
  for (const m of weekOpen.values()) counts.set(m, (counts.get(m) ?? 0) + 1);
  let weeklyOpenMinutes = 0;
  let best = 0;
  for (const [m, c] of counts) if (c > best || (c === best && m > weeklyOpenMinutes)) [weeklyOpenMinutes, best] = [m, c];
  const rules = source.unit.rules;
  return {
    unitId: source.unit.unitId,
    siteId: source.siteId,
    name: source.unit.name,
    checkKeys: source.checkKeys.map((k) => namespacedKey(source.siteId, k)),
    insertKeys: source.insertKeys.map((k) => namespacedKey(source.siteId, k)),
    bufferBeforeMinutes: rules.bufferBeforeMinutes,
    bufferAfterMinutes: rules.bufferAfterMinutes,
    startIntervalMinutes: rules.startIntervalMinutes,
    days,
    weeklyOpenMinutes: Math.round(weeklyOpenMinutes),
  };
}

/**
 * Supply of the named units of one site partition, read from its state.
 * Reservations that hold their slot and blocked time count as busy; so do
 * earlier seasonal series.
 */
export function siteSupply(state: SiteState, unitIds: readonly string[], season: Season): Map<string, UnitSupply> {
  const siteId = state.site?.siteId ?? '';
  const seasonStart = Date.parse(`${addDays(season.fromDate, -1)}T00:00:00Z`);
  const seasonEnd = Date.parse(`${addDays(season.toDate, 2)}T00:00:00Z`);
  const byKey = new Map<string, Busy[]>();
  for (const r of state.reservations.values()) {
    if (!HOLDS_SLOT.has(r.state)) continue;
    const b = r.booking;
    if (b.end + b.after < seasonStart || b.start - b.before > seasonEnd) continue;
    for (const key of [...r.spaceIds, ...r.resourceIds.map(resourceKey)]) {
      let list = byKey.get(key);
      if (list === undefined) byKey.set(key, (list = []));
      list.push(b);
    }
  }
  const out = new Map<string, UnitSupply>();
  for (const unitId of unitIds) {
    const view = state.units.get(unitId);
    if (view === undefined) continue;
    const seen = new Set<Busy>();
    const busy: Busy[] = [];
    for (const key of view.checkKeys) {
      for (const b of byKey.get(key) ?? []) {
        if (!seen.has(b)) {
          seen.add(b);
          busy.push(b);
        }
      }
    }
    out.set(
      unitId,
      unitSupply({ siteId, unit: view.unit, calendar: view.calendar, checkKeys: view.checkKeys, insertKeys: view.insertKeys, busy }, season),
    );
  }
  return out;
}
