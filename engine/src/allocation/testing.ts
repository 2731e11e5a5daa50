/**
 * Test support: small generated rounds on a real site partition state, and
 * an independent checker that replays each allocated slot week by week
 * against the site's own calendar and conflict index. Used by the property
 * tests; not part of the public surface.
 */
import fc from 'fast-check';
import { addDays, localMinutesOf, wallTimeToInstant, weekdayOf, type LocalDate } from '../calendar/index.js';
import { bookingsConflict } from '../conflicts/timeline.js';
import { unitSchema, type UnitInput } from '../catalogue/schemas.js';
import type { SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import type { SiteEvent } from '../site/events.js';
import type { SiteState } from '../site/state.js';
import { criteriaSchema, type Criteria } from './criteria.js';
import type { ProposedSlot } from './explain.js';
import { wallMinutes, type AllocationInput, type ApplicationRequest, type SectionRequest, type TimeWindow } from './model.js';
import { siteSupply, type Season } from './supply.js';

export const TEST_SITE = 'sit_round';
const STAFF = { kind: 'staff' as const, staffId: 'stf_test' };

export interface UnitSpec {
  /** Opening per weekday (1..7): [from, to] in whole hours, or null = closed. */
  readonly hours: readonly ([number, number] | null)[];
  readonly interval: 30 | 60;
  readonly buffer: 0 | 15;
}

export interface BlockSpec {
  /** Which unit (index into the round's units) and when: week offset from the season start, weekday, hours. */
  readonly unit: number;
  readonly week: number;
  readonly weekday: number;
  readonly from: number;
  readonly to: number;
  /** Repeat every week of the season (an existing weekly booking). */
  readonly weekly: boolean;
}

export interface SectionSpec {
  readonly wished: number;
  readonly min: number;
  readonly max: number;
  /** Indexes into the round's units, ranked. */
  readonly options: readonly number[];
  readonly windows: readonly { weekday: number; from: number; to: number; primary: boolean }[];
  readonly previous: { unit: number; weekday: number; from: number; to: number } | null;
}

export interface ApplicationSpec {
  readonly customer: number;
  readonly category: number;
  readonly sections: readonly SectionSpec[];
}

export interface RoundSpec {
  /** Hall (whole) + its sections + free-standing units; unit 0 is the whole hall, 1..sections its sections. */
  readonly hallSections: number;
  readonly units: readonly UnitSpec[];
  readonly seasonStart: LocalDate;
  readonly weeks: number;
  readonly blocks: readonly BlockSpec[];
  readonly applications: readonly ApplicationSpec[];
  readonly criteria: Criteria;
}

export const TEST_CRITERIA: Criteria = criteriaSchema.parse({
  priorityCategories: [
    { categoryId: 'children_youth', name: 'Children and youth', weight: 4 },
    { categoryId: 'city_own', name: "City's own activities", weight: 3 },
    { categoryId: 'local_association', name: 'Local associations', weight: 2 },
    { categoryId: 'other', name: 'Others', weight: 1 },
  ],
  minUsableWeekShare: 0.75,
});

const pad = (n: number): string => String(n).padStart(2, '0');
const hhmm = (minutes: number): string => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const unitIdOf = (k: number): string => `unt_r${k}`;

/** The site partition state of a spec: catalogue plus the existing bookings, through the real decider. */
export function siteStateOf(spec: RoundSpec): SiteState {
  const events: SiteEvent[] = [
    { type: 'SiteDefined', data: { site: { siteId: TEST_SITE, name: 'Round test site' } } },
    { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall', name: 'Hall' } } },
  ];
  for (let k = 1; k <= spec.hallSections; k++) {
    events.push({ type: 'SpaceDefined', data: { space: { spaceId: `spc_hall_${k}`, parentId: 'spc_hall', name: `Hall ${k}` } } });
  }
  spec.units.forEach((u, k) => {
    const spaceId = k === 0 ? 'spc_hall' : k <= spec.hallSections ? `spc_hall_${k}` : `spc_room_${k}`;
    if (k > spec.hallSections) events.push({ type: 'SpaceDefined', data: { space: { spaceId, name: `Room ${k}` } } });
    const weekly: Record<string, { from: string; to: string }[]> = {};
    u.hours.forEach((h, d) => {
      if (h !== null) weekly[DAYS[d] as string] = [{ from: hhmm(h[0] * 60), to: hhmm(h[1] * 60) }];
    });
    const input: UnitInput = {
      unitId: unitIdOf(k),
      name: `Unit ${k}`,
      unitType: 'sports_hall',
      spaceIds: [spaceId],
      rules: {
        openingHours: { weekly },
        startIntervalMinutes: u.interval,
        minDurationMinutes: 30,
        maxDurationMinutes: 240,
        bufferBeforeMinutes: u.buffer,
        bufferAfterMinutes: u.buffer,
        bookingWindow: { minDaysAhead: 0, maxDaysAhead: 3650 },
      },
    };
    events.push({ type: 'UnitDefined', data: { unit: unitSchema.parse(input) } });
  });
  let state = events.reduce((s, e) => siteDecider.evolve(s, e), siteDecider.initialState());
  let n = 0;
  for (const b of spec.blocks) {
    const weeks = b.weekly ? Array.from({ length: spec.weeks }, (_, w) => w) : [b.week];
    for (const w of weeks) {
      const date = addDays(spec.seasonStart, w * 7 + b.weekday - 1);
      const command = {
        type: 'BlockTime',
        data: { reservationId: `res_block_${n++}`, unitId: unitIdOf(b.unit), spaceIds: [], start: `${date}T${hhmm(b.from * 60)}`, end: `${date}T${hhmm(b.to * 60)}`, reason: 'event' },
        meta: { now: 0, actor: STAFF },
      } as SiteCommand;
      const result = siteDecider.decide(command, state);
      // A block outside opening hours or on a clash is simply not made; the spec stays valid.
      if (result.ok) state = result.value.reduce((s, e) => siteDecider.evolve(s, e), state);
    }
  }
  return state;
}

export function seasonOf(spec: RoundSpec): Season {
  return { fromDate: spec.seasonStart, toDate: addDays(spec.seasonStart, spec.weeks * 7 - 1) };
}

export function applicationsOf(spec: RoundSpec): ApplicationRequest[] {
  return spec.applications.map((a, i): ApplicationRequest => ({
    applicationId: `app_${i}`,
    customerId: `cus_${a.customer}`,
    priorityCategoryId: spec.criteria.priorityCategories[a.category % spec.criteria.priorityCategories.length]!.categoryId,
    sequence: i,
    sections: a.sections.map(
      (s, j): SectionRequest => ({
        sectionId: `sec_${i}_${j}`,
        wishedPerWeek: s.wished,
        minDurationMinutes: s.min,
        maxDurationMinutes: s.max,
        unitOptions: s.options.map(unitIdOf),
        timeWindows: s.windows.map((w): TimeWindow => ({ weekday: w.weekday, from: hhmm(w.from), to: hhmm(w.to), priority: w.primary ? 'primary' : 'secondary' })),
        previousSlots: s.previous === null ? [] : [{ unitId: unitIdOf(s.previous.unit), weekday: s.previous.weekday, from: hhmm(s.previous.from), to: hhmm(s.previous.to) }],
      }),
    ),
  }));
}

export function inputOf(spec: RoundSpec, state: SiteState = siteStateOf(spec)): AllocationInput {
  const season = seasonOf(spec);
  const units = [...siteSupply(state, spec.units.map((_, k) => unitIdOf(k)), season).values()];
  return { season, criteria: spec.criteria, units, applications: applicationsOf(spec) };
}

// ---------------------------------------------------------------------------
// Arbitraries

const hoursArb: fc.Arbitrary<[number, number] | null> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 14, max: 17 }), fc.integer({ min: 20, max: 22 })) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const unitArb: fc.Arbitrary<UnitSpec> = fc.record({
  hours: fc.array(hoursArb, { minLength: 7, maxLength: 7 }),
  interval: fc.constantFrom(30 as const, 60 as const),
  buffer: fc.constantFrom(0 as const, 0 as const, 15 as const),
});

const durationPair = fc.constantFrom([60, 60], [60, 90], [60, 120], [90, 120], [90, 90], [120, 120], [60, 180]).map(([min, max]) => ({ min: min as number, max: max as number }));

const sectionArb = (units: number): fc.Arbitrary<SectionSpec> =>
  fc
    .record({
      durations: durationPair,
      options: fc.uniqueArray(fc.integer({ min: 0, max: units - 1 }), { minLength: 1, maxLength: Math.min(3, units) }),
      days: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
      from: fc.integer({ min: 15, max: 18 }),
      length: fc.integer({ min: 2, max: 5 }),
      primaryDays: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      secondaryTail: fc.boolean(),
      wished: fc.integer({ min: 1, max: 3 }),
      previous: fc.option(fc.record({ unit: fc.integer({ min: 0, max: units - 1 }), weekday: fc.integer({ min: 1, max: 4 }), from: fc.integer({ min: 16, max: 19 }) }), { nil: null }),
    })
    .map((r): SectionSpec => {
      const windows: { weekday: number; from: number; to: number; primary: boolean }[] = [];
      r.days.forEach((d, k) => {
        const from = r.from * 60;
        const to = Math.min(24, r.from + r.length) * 60;
        if (r.secondaryTail && to - from >= 180) {
          windows.push({ weekday: d, from, to: to - 60, primary: true });
          windows.push({ weekday: d, from: to - 60, to, primary: false });
        } else {
          windows.push({ weekday: d, from, to, primary: r.primaryDays[k] ?? true });
        }
      });
      const span = Math.min(...r.days.map(() => Math.min(24, r.from + r.length) * 60 - r.from * 60));
      const max = Math.min(r.durations.max, span);
      const min = Math.min(r.durations.min, max);
      return {
        wished: Math.min(r.wished, r.days.length),
        min,
        max,
        options: r.options,
        windows,
        previous: r.previous === null ? null : { unit: r.previous.unit, weekday: r.previous.weekday, from: r.previous.from * 60, to: r.previous.from * 60 + 90 },
      };
    });

export interface RoundArbOptions {
  readonly minApplications?: number;
  readonly maxApplications?: number;
  readonly maxUnits?: number;
  readonly maxWeeks?: number;
}

/** Small rounds: a hall with sections, a room or two, a few weeks, a few applications. */
export function roundArb(options: RoundArbOptions = {}): fc.Arbitrary<RoundSpec> {
  return fc
    .record({
      hallSections: fc.integer({ min: 1, max: 2 }),
      extra: fc.integer({ min: 0, max: Math.max(0, (options.maxUnits ?? 4) - 3) }),
      // Mondays in autumn 2027, so some seasons cross the end of summer time and All Saints' Day.
      seasonStart: fc.constantFrom('2027-09-06', '2027-10-18', '2027-10-25', '2027-11-29'),
      weeks: fc.integer({ min: 3, max: options.maxWeeks ?? 6 }),
    })
    .chain((base) => {
      const unitCount = 1 + base.hallSections + base.extra;
      return fc.record({
        hallSections: fc.constant(base.hallSections),
        units: fc.array(unitArb, { minLength: unitCount, maxLength: unitCount }),
        seasonStart: fc.constant(base.seasonStart),
        weeks: fc.constant(base.weeks),
        blocks: fc.array(
          fc.record({
            unit: fc.integer({ min: 0, max: unitCount - 1 }),
            week: fc.integer({ min: 0, max: base.weeks - 1 }),
            weekday: fc.integer({ min: 1, max: 4 }),
            from: fc.integer({ min: 16, max: 20 }),
            to: fc.integer({ min: 17, max: 21 }),
            weekly: fc.boolean(),
          }).filter((b) => b.from < b.to),
          { maxLength: 3 },
        ),
        applications: fc.array(
          fc.record({
            customer: fc.integer({ min: 0, max: 5 }),
            category: fc.integer({ min: 0, max: 3 }),
            sections: fc.array(sectionArb(unitCount), { minLength: 1, maxLength: 2 }),
          }),
          { minLength: options.minApplications ?? 2, maxLength: options.maxApplications ?? 6 },
        ),
        criteria: fc.constant(TEST_CRITERIA),
      });
    });
}

// ---------------------------------------------------------------------------
// Independent checks against the site partition itself

export interface ReplayProblem {
  readonly slot: ProposedSlot;
  readonly problem: string;
}

/**
 * Replays every allocated slot as the weekly occurrences a series would book,
 * using only the site's calendar and conflict index (not the allocator's own
 * supply model): counts the weeks each slot is bookable, and checks that no
 * two slots clash on any date, hierarchy and buffers included.
 */
export function replay(state: SiteState, season: Season, sectionPeriods: ReadonlyMap<string, Season>, slots: readonly ProposedSlot[]): { usable: Map<ProposedSlot, { ok: number; total: number }>; clashes: [ProposedSlot, ProposedSlot, LocalDate][] } {
  const usable = new Map<ProposedSlot, { ok: number; total: number }>();
  const occurrences = new Map<ProposedSlot, Map<LocalDate, { start: number; end: number }>>();
  for (const slot of slots) {
    const view = state.units.get(slot.unitId);
    if (view === undefined) throw new Error(`unknown unit ${slot.unitId}`);
    const period = sectionPeriods.get(slot.sectionId) ?? season;
    const rules = view.unit.rules;
    let ok = 0;
    let total = 0;
    const dates = new Map<LocalDate, { start: number; end: number }>();
    for (let date = period.fromDate; date <= period.toDate; date = addDays(date, 1)) {
      if (weekdayOf(date) !== slot.weekday) continue;
      total++;
      const s = wallTimeToInstant(date, wallMinutes(slot.startTime));
      const e = wallTimeToInstant(date, wallMinutes(slot.endTime));
      if (!s.ok || !e.ok) continue;
      dates.set(date, { start: s.value, end: e.value });
      const open = view.calendar.openIntervalContaining(s.value);
      if (open === undefined || e.value > open[1]) continue;
      const offset = (((wallMinutes(slot.startTime) - localMinutesOf(open[0])) % 1440) + 1440) % 1440;
      if (offset % rules.startIntervalMinutes !== 0) continue;
      const booking = { id: 'probe', start: s.value, end: e.value, before: rules.bufferBeforeMinutes * 60_000, after: rules.bufferAfterMinutes * 60_000 };
      if (state.index.findConflict(view.checkKeys, booking) !== undefined) continue;
      ok++;
    }
    usable.set(slot, { ok, total });
    occurrences.set(slot, dates);
  }
  const clashes: [ProposedSlot, ProposedSlot, LocalDate][] = [];
  for (let i = 0; i < slots.length; i++) {
    for (let j = i + 1; j < slots.length; j++) {
      const a = slots[i] as ProposedSlot;
      const b = slots[j] as ProposedSlot;
      if (a.weekday !== b.weekday) continue;
      const ua = state.units.get(a.unitId)!;
      const ub = state.units.get(b.unitId)!;
      if (!ua.checkKeys.some((k) => ub.insertKeys.includes(k))) continue;
      for (const [date, x] of occurrences.get(a) ?? []) {
        const y = occurrences.get(b)?.get(date);
        if (y === undefined) continue;
        const A = { id: 'a', ...x, before: ua.unit.rules.bufferBeforeMinutes * 60_000, after: ua.unit.rules.bufferAfterMinutes * 60_000 };
        const B = { id: 'b', ...y, before: ub.unit.rules.bufferBeforeMinutes * 60_000, after: ub.unit.rules.bufferAfterMinutes * 60_000 };
        if (bookingsConflict(A, B)) {
          clashes.push([a, b, date]);
          break;
        }
      }
    }
  }
  return { usable, clashes };
}
