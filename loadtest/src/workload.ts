// A seeded, realistic booking workload for a city's public spaces: sites with
// sports halls that split into sections, tennis courts, saunas and meeting
// rooms; a year of existing bookings; and a stream of new booking requests in
// which popular weekday evening slots are contended.
//
// It is plain data (no engine imports), so Vuoro and every baseline get the
// same input. Generation is not measured: all wall-clock math (Europe/Helsinki,
// including the DST switches) happens here, once, through luxon.

import { DateTime } from 'luxon';
import { createRng, weightedSampler, type Rng } from './prng.js';

export const WORKLOAD_ZONE = 'Europe/Helsinki';

export interface WorkloadOptions {
  seed: number;
  /** Number of sites (default 300, about 3,000 spaces). */
  sites?: number;
  /** Bookings already in the calendar before the measured stream starts (default 200,000). */
  existingBookings?: number;
  /** New booking requests in the measured stream (default 20,000). */
  requests?: number;
  /** Share of requests that hit a taken or concurrently requested slot (default 0.3). */
  contendedShare?: number;
  /** Calendar year the bookings fall in (default 2027: has both DST switches mid-week-end). */
  year?: number;
}

export type SpaceKind = 'sports-hall' | 'hall-section' | 'tennis-court' | 'sauna' | 'meeting-room';
export type CustomerGroup = 'individual' | 'association' | 'company' | 'school';

export interface Space {
  id: string;
  siteId: string;
  kind: SpaceKind;
  /** The space this one is part of (a hall section's hall), or null. */
  parentId: string | null;
}

/** What a customer books. Each unit is one space; booking it occupies that space and everything inside it. */
export interface Unit {
  id: string;
  siteId: string;
  kind: SpaceKind;
  spaceId: string;
  /** The unit's space plus its descendants: the whole-hall unit occupies the hall and its three sections. */
  spaceIds: readonly string[];
}

export interface Site {
  id: string;
  spaces: Space[];
  units: Unit[];
}

export interface Booking {
  siteId: string;
  unitId: string;
  spaceIds: readonly string[];
  customerId: string;
  customerGroup: CustomerGroup;
  /** UTC instant of the wall-clock start in Europe/Helsinki, on a 30-minute grid. */
  startMs: number;
  endMs: number;
}

export interface ExistingBooking extends Booking {
  reservationId: string;
}

/**
 * `none`: the slot is free of existing bookings and of every other `none` request.
 * `taken`: overlaps an existing booking (same unit, or the hall/section it shares space with).
 * `concurrent`: overlaps a recent `none` request, so exactly one of the two can win.
 */
export type Contention = 'none' | 'taken' | 'concurrent';

export interface BookingRequest extends Booking {
  requestId: string;
  contention: Contention;
}

export interface WorkloadStats {
  sites: number;
  spaces: number;
  units: number;
  existingBookings: number;
  /** Existing bookings that start on a weekday at 16:00 or later. */
  existingWeekdayEvening: number;
  requests: number;
  requestsTaken: number;
  requestsConcurrent: number;
  /** Requests that start on a weekday at 16:00 or later. */
  requestsWeekdayEvening: number;
}

export interface Workload {
  options: Required<WorkloadOptions>;
  zone: typeof WORKLOAD_ZONE;
  /** The calendar year covered, as UTC instants of local midnights. */
  fromMs: number;
  toMs: number;
  sites: Site[];
  existing: ExistingBooking[];
  requests: BookingRequest[];
  stats: WorkloadStats;
}

export const WORKLOAD_DEFAULTS = {
  sites: 300,
  existingBookings: 200_000,
  requests: 20_000,
  contendedShare: 0.3,
  year: 2027,
} as const;

const SLOTS_PER_DAY = 48; // half-hours
const EVENING_START_SLOT = 32; // 16:00
const DURATIONS = [2, 3, 4] as const; // 60, 90, 120 minutes in half-hours
const DURATION_WEIGHTS = [0.5, 0.25, 0.25];
const CUSTOMERS = 20_000;
const CUSTOMER_GROUPS: readonly CustomerGroup[] = ['individual', 'association', 'company', 'school'];
const CUSTOMER_GROUP_WEIGHTS = [0.55, 0.3, 0.1, 0.05];
/** How far back in the stream a `concurrent` request looks for the request it races. */
const RACE_WINDOW = 32;

export function generateWorkload(options: WorkloadOptions): Workload {
  const opts: Required<WorkloadOptions> = { ...WORKLOAD_DEFAULTS, ...options };
  if (!(opts.contendedShare >= 0 && opts.contendedShare <= 1)) {
    throw new RangeError(`contendedShare must be within [0, 1], got ${opts.contendedShare}`);
  }
  const rng = createRng(opts.seed);
  const calendar = buildCalendar(opts.year);
  const catalogue = buildCatalogue(rng, opts.sites);
  const occupancy = new Occupancy(catalogue.spaceCount, calendar.days.length);
  const customers = buildCustomers(rng);
  const slots = new SlotSampler(rng, calendar, catalogue.units);

  const toBooking = (unit: UnitRecord, slot: Slot, customer: number): Booking => ({
    siteId: unit.siteId,
    unitId: unit.id,
    spaceIds: unit.spaceIds,
    customerId: customers.ids[customer] as string,
    customerGroup: customers.groups[customer] as CustomerGroup,
    startMs: calendar.instant(slot.day, slot.start),
    endMs: calendar.instant(slot.day, slot.start + slot.length),
  });

  // A year of existing bookings, free of overlaps (including hall vs section).
  const existing: ExistingBooking[] = [];
  const existingSlots: { unit: UnitRecord; slot: Slot }[] = [];
  const eveningExisting: number[] = [];
  for (let attempts = 0; existing.length < opts.existingBookings && attempts < opts.existingBookings * 20; attempts++) {
    const unit = slots.unit();
    const slot = slots.slot();
    if (!occupancy.isFree(unit.spaceIdx, slot)) continue;
    occupancy.mark(unit.spaceIdx, slot);
    if (isWeekdayEvening(calendar, slot)) eveningExisting.push(existing.length);
    existingSlots.push({ unit, slot });
    existing.push({ reservationId: `res_e${pad(existing.length, 6)}`, ...toBooking(unit, slot, customers.pick(rng)) });
  }

  // The request stream.
  const requests: BookingRequest[] = [];
  const recentFree: { unit: UnitRecord; slot: Slot }[] = [];
  let taken = 0;
  let concurrent = 0;
  let evening = 0;
  for (let i = 0; i < opts.requests; i++) {
    let contention: Contention = 'none';
    let unit: UnitRecord | undefined;
    let slot: Slot | undefined;
    if (rng.chance(opts.contendedShare)) {
      const raceable = recentFree.filter((r) => isWeekdayEvening(calendar, r.slot));
      const racePool = raceable.length > 0 ? raceable : recentFree;
      const useRace = racePool.length > 0 && (eveningExisting.length === 0 || rng.chance(0.5));
      const target = useRace
        ? rng.pick(racePool)
        : eveningExisting.length > 0
          ? existingSlots[rng.pick(eveningExisting)]
          : undefined;
      if (target !== undefined) {
        contention = useRace ? 'concurrent' : 'taken';
        unit = rng.chance(0.3) && target.unit.related.length > 0 ? rng.pick(target.unit.related) : target.unit;
        slot = overlappingSlot(rng, calendar, target.slot);
      }
    }
    if (unit === undefined || slot === undefined) {
      contention = 'none';
      for (let attempt = 0; ; attempt++) {
        unit = slots.unit();
        slot = slots.slot();
        if (occupancy.isFree(unit.spaceIdx, slot)) break;
        if (attempt > 10_000) throw new Error('workload is saturated: no free slot found for a request');
      }
      occupancy.mark(unit.spaceIdx, slot);
      recentFree.push({ unit, slot });
      if (recentFree.length > RACE_WINDOW) recentFree.shift();
    }
    if (contention === 'taken') taken++;
    if (contention === 'concurrent') concurrent++;
    if (isWeekdayEvening(calendar, slot)) evening++;
    requests.push({ requestId: `req_${pad(i, 6)}`, contention, ...toBooking(unit, slot, customers.pick(rng)) });
  }

  return {
    options: opts,
    zone: WORKLOAD_ZONE,
    fromMs: calendar.fromMs,
    toMs: calendar.toMs,
    sites: catalogue.sites,
    existing,
    requests,
    stats: {
      sites: catalogue.sites.length,
      spaces: catalogue.spaceCount,
      units: catalogue.units.length,
      existingBookings: existing.length,
      existingWeekdayEvening: eveningExisting.length,
      requests: requests.length,
      requestsTaken: taken,
      requestsConcurrent: concurrent,
      requestsWeekdayEvening: evening,
    },
  };
}

/** A copy of the workload cut down to its first `requests` requests (same sites and existing bookings). */
export function withRequestLimit(workload: Workload, requests: number): Workload {
  return { ...workload, requests: workload.requests.slice(0, Math.max(0, requests)) };
}

// ---------------------------------------------------------------------------
// Calendar: opening hours and the UTC instant of every half-hour in them.

interface Day {
  weekend: boolean;
  month: number;
  /** First and last half-hour index (exclusive end) the site is open. */
  open: number;
  close: number;
}

interface Calendar {
  days: Day[];
  fromMs: number;
  toMs: number;
  instant(day: number, slot: number): number;
}

function buildCalendar(year: number): Calendar {
  const first = DateTime.fromObject({ year, month: 1, day: 1 }, { zone: WORKLOAD_ZONE });
  const next = first.plus({ years: 1 });
  const dayCount = Math.round(next.diff(first, 'days').days);
  const days: Day[] = [];
  const instants = new Float64Array(dayCount * (SLOTS_PER_DAY + 1)).fill(Number.NaN);
  for (let d = 0; d < dayCount; d++) {
    // plus({ days }) keeps the wall clock in the zone, so DST switch days stay aligned.
    const date = first.plus({ days: d });
    const weekend = date.weekday >= 6;
    const open = weekend ? 18 : 14; // 09:00 / 07:00
    const close = weekend ? 40 : 44; // 20:00 / 22:00
    days.push({ weekend, month: date.month, open, close });
    for (let s = open; s <= close; s++) {
      const local = date.set({ hour: Math.floor(s / 2), minute: (s % 2) * 30, second: 0, millisecond: 0 });
      instants[d * (SLOTS_PER_DAY + 1) + s] = local.toMillis();
    }
  }
  return {
    days,
    fromMs: first.toMillis(),
    toMs: next.toMillis(),
    instant(day, slot) {
      const ms = instants[day * (SLOTS_PER_DAY + 1) + slot];
      if (ms === undefined || Number.isNaN(ms)) throw new RangeError(`no instant for day ${day} slot ${slot}`);
      return ms;
    },
  };
}

interface Slot {
  day: number;
  start: number;
  length: number;
}

function isWeekdayEvening(calendar: Calendar, slot: Slot): boolean {
  return !calendar.days[slot.day]?.weekend && slot.start >= EVENING_START_SLOT;
}

/** A slot on the same day that overlaps `target`: the same one, or shifted by half an hour. */
function overlappingSlot(rng: Rng, calendar: Calendar, target: Slot): Slot {
  const day = calendar.days[target.day] as Day;
  const length = DURATIONS[rng.int(DURATIONS.length)] as number;
  const start = target.start + (rng.chance(0.6) ? 0 : rng.chance(0.5) ? -1 : 1);
  // Both lengths are at least an hour, so a shift of half an hour still overlaps.
  if (start >= day.open && start + length <= day.close) return { day: target.day, start, length };
  return target;
}

// ---------------------------------------------------------------------------
// Catalogue: sites, spaces and bookable units.

interface UnitRecord extends Unit {
  spaceIdx: number[];
  weight: number;
  related: UnitRecord[];
}

type SiteKind = 'sports-centre' | 'library' | 'tennis-park' | 'school';

const SITE_KINDS: readonly SiteKind[] = ['sports-centre', 'library', 'tennis-park', 'school'];
const SITE_KIND_WEIGHTS = [0.3, 0.35, 0.15, 0.2];
const KIND_POPULARITY: Record<SpaceKind, number> = {
  'sports-hall': 3,
  'hall-section': 2,
  'tennis-court': 2,
  sauna: 1,
  'meeting-room': 1,
};

function siteMix(rng: Rng, kind: SiteKind): { halls: number; courts: number; saunas: number; rooms: number } {
  switch (kind) {
    case 'sports-centre':
      return { halls: rng.between(1, 3), courts: rng.between(0, 6), saunas: rng.between(1, 2), rooms: rng.between(1, 4) };
    case 'library':
      return { halls: 0, courts: 0, saunas: rng.between(0, 1), rooms: rng.between(4, 12) };
    case 'tennis-park':
      return { halls: 0, courts: rng.between(4, 10), saunas: 0, rooms: 0 };
    case 'school':
      return { halls: 1, courts: 0, saunas: rng.between(0, 1), rooms: rng.between(3, 8) };
    default: {
      const unknown: never = kind;
      throw new Error(`unknown site kind ${String(unknown)}`);
    }
  }
}

function buildCatalogue(rng: Rng, siteCount: number) {
  const sites: Site[] = [];
  const units: UnitRecord[] = [];
  let spaceCount = 0;
  const pickSiteKind = weightedSampler(SITE_KIND_WEIGHTS);
  for (let s = 0; s < siteCount; s++) {
    const siteId = `sit_${pad(s, 4)}`;
    const site: Site = { id: siteId, spaces: [], units: [] };
    const mix = siteMix(rng, SITE_KINDS[pickSiteKind(rng)] as SiteKind);
    const addUnit = (kind: SpaceKind, parent: { space: Space; unit: UnitRecord } | null) => {
      const n = site.spaces.length;
      const space: Space = { id: `spc_${pad(s, 4)}_${pad(n, 2)}`, siteId, kind, parentId: parent?.space.id ?? null };
      const unit: UnitRecord = {
        id: `unt_${pad(s, 4)}_${pad(n, 2)}`,
        siteId,
        kind,
        spaceId: space.id,
        spaceIds: [space.id],
        spaceIdx: [spaceCount],
        // Popularity is skewed: a few units draw most bookings, as in real city calendars.
        weight: KIND_POPULARITY[kind] * Math.exp(0.8 * rng.normal()),
        related: [],
      };
      spaceCount++;
      site.spaces.push(space);
      // The plain unit shares spaceIds with the record, so sections added later show up in both.
      site.units.push({ id: unit.id, siteId, kind, spaceId: space.id, spaceIds: unit.spaceIds });
      units.push(unit);
      if (parent !== null) {
        // The parent's unit occupies its children too; they overlap each other in booking terms.
        (parent.unit.spaceIds as string[]).push(space.id);
        parent.unit.spaceIdx.push(unit.spaceIdx[0] as number);
        parent.unit.related.push(unit);
        unit.related.push(parent.unit);
      }
      return { space, unit };
    };
    for (let h = 0; h < mix.halls; h++) {
      const hall = addUnit('sports-hall', null);
      for (let section = 0; section < 3; section++) addUnit('hall-section', hall);
    }
    for (let i = 0; i < mix.courts; i++) addUnit('tennis-court', null);
    for (let i = 0; i < mix.saunas; i++) addUnit('sauna', null);
    for (let i = 0; i < mix.rooms; i++) addUnit('meeting-room', null);
    if (site.spaces.length === 0) addUnit('meeting-room', null);
    sites.push(site);
  }
  return { sites, units, spaceCount };
}

// ---------------------------------------------------------------------------
// Sampling units and times, and tracking what is taken.

class SlotSampler {
  private readonly pickUnit: (rng: Rng) => number;
  private readonly pickDay: (rng: Rng) => number;
  private readonly pickDuration = weightedSampler(DURATION_WEIGHTS);
  /** By [weekend][durationIndex]: sampler over start offsets from opening time. */
  private readonly pickStart: ((rng: Rng) => number)[][];

  constructor(
    private readonly rng: Rng,
    private readonly calendar: Calendar,
    private readonly units: UnitRecord[],
  ) {
    this.pickUnit = weightedSampler(units.map((u) => u.weight));
    // Finnish summer: July is quiet. Weekends a bit less busy than weekdays.
    this.pickDay = weightedSampler(calendar.days.map((d) => (d.weekend ? 0.8 : 1) * (d.month === 7 ? 0.4 : 1)));
    this.pickStart = [false, true].map((weekend) => {
      const open = weekend ? 18 : 14;
      const close = weekend ? 40 : 44;
      return DURATIONS.map((length) => {
        const weights: number[] = [];
        for (let start = open; start + length <= close; start++) {
          // Weekday evenings (16-22) are where demand is.
          weights.push(!weekend && start >= EVENING_START_SLOT ? 6 : weekend ? 2 : 1);
        }
        return weightedSampler(weights);
      });
    });
  }

  unit(): UnitRecord {
    return this.units[this.pickUnit(this.rng)] as UnitRecord;
  }

  slot(): Slot {
    const day = this.pickDay(this.rng);
    const info = this.calendar.days[day] as Day;
    const durationIndex = this.pickDuration(this.rng);
    const offset = (this.pickStart[info.weekend ? 1 : 0]?.[durationIndex] as (rng: Rng) => number)(this.rng);
    return { day, start: info.open + offset, length: DURATIONS[durationIndex] as number };
  }
}

class Occupancy {
  private readonly taken: Uint8Array;

  constructor(
    spaces: number,
    private readonly days: number,
  ) {
    this.taken = new Uint8Array(spaces * days * SLOTS_PER_DAY);
  }

  isFree(spaceIdx: readonly number[], slot: Slot): boolean {
    for (const space of spaceIdx) {
      const base = (space * this.days + slot.day) * SLOTS_PER_DAY + slot.start;
      for (let i = 0; i < slot.length; i++) if (this.taken[base + i] === 1) return false;
    }
    return true;
  }

  mark(spaceIdx: readonly number[], slot: Slot): void {
    for (const space of spaceIdx) {
      const base = (space * this.days + slot.day) * SLOTS_PER_DAY + slot.start;
      this.taken.fill(1, base, base + slot.length);
    }
  }
}

function buildCustomers(rng: Rng) {
  const pickGroup = weightedSampler(CUSTOMER_GROUP_WEIGHTS);
  const ids: string[] = [];
  const groups: CustomerGroup[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    ids.push(`cus_${pad(i, 5)}`);
    groups.push(CUSTOMER_GROUPS[pickGroup(rng)] as CustomerGroup);
  }
  return { ids, groups, pick: (r: Rng) => r.int(CUSTOMERS) };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
