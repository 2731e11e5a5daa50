// A seeded seasonal application round (järjestövuorojen haku) for the
// allocation benchmark: sites with sports halls that split into three
// sections, gyms, youth spaces and fields, with their opening hours, Finnish
// holidays, maintenance closures and existing weekly bookings, built through
// the engine's real site decider; and applications from associations whose
// demand is about twice the supply and concentrated on weekday evenings
// (16-22), as in Helsinki.
//
// Same seed, same round, on every machine. Generation is not measured.

import {
  addDays,
  siteDecider,
  unitSchema,
  type SiteCommand,
  type SiteEvent,
  type SiteState,
  type UnitInput,
} from '@vuoro/engine';
import { criteriaSchema, type ApplicationRequest, type Criteria, type SectionRequest, type Season, type TimeWindow } from '@vuoro/engine/allocation/index.js';
import { createRng, weightedSampler, type Rng } from './prng.js';

export interface RoundOptions {
  seed: number;
  applications: number;
  units: number;
  /** Season length in weeks (default 30). */
  weeks?: number;
  /** Weekday-evening demand / supply to aim at (default 2). */
  demandRatio?: number;
}

export interface GeneratedRound {
  season: Season;
  criteria: Criteria;
  /** Site partition states, as the engine holds them. */
  sites: Map<string, SiteState>;
  /** Round units and the site each belongs to. */
  units: { unitId: string; siteId: string }[];
  applications: ApplicationRequest[];
  stats: {
    sites: number;
    units: number;
    applications: number;
    sections: number;
    customers: number;
    existingBookings: number;
    /** Weekday 16-22 hours the units are open in an ordinary week. */
    eveningSupplyHours: number;
    /** Hours per week asked (wished x maximum duration) in weekday 16-22 windows. */
    eveningDemandHours: number;
    demandHours: number;
  };
}

const STAFF = { kind: 'staff' as const, staffId: 'stf_bench' };
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const pad = (n: number): string => String(n).padStart(2, '0');
const hhmm = (minutes: number): string => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

export const ROUND_CRITERIA: Criteria = criteriaSchema.parse({
  priorityCategories: [
    { categoryId: 'children_youth', name: 'Children and youth', weight: 4 },
    { categoryId: 'city_own', name: "City's own activities", weight: 3 },
    { categoryId: 'local_association', name: 'Local associations', weight: 2 },
    { categoryId: 'other', name: 'Others', weight: 1 },
  ],
});

type Kind = 'hall' | 'section' | 'gym' | 'youth' | 'field';

interface GenUnit {
  unitId: string;
  siteId: string;
  kind: Kind;
  /** Weekday opening [from, to] hours; weekend the same or null. */
  weekday: [number, number];
  weekend: [number, number] | null;
}

/** Season: 30 weeks from the last Monday of August 2027 (autumn DST change, Christmas, Epiphany inside). */
const SEASON_START = '2027-08-30';

export function generateRound(options: RoundOptions): GeneratedRound {
  const rng = createRng(options.seed);
  const weeks = options.weeks ?? 30;
  const season: Season = { fromDate: SEASON_START, toDate: addDays(SEASON_START, weeks * 7 - 1) };
  const sites = new Map<string, SiteState>();
  const units: GenUnit[] = [];
  let existingBookings = 0;
  let siteNo = 0;
  while (units.length < options.units) {
    const siteId = `sit_b${siteNo++}`;
    const events: SiteEvent[] = [{ type: 'SiteDefined', data: { site: { siteId, name: `Sports park ${siteNo}` } } }];
    const mine: GenUnit[] = [];
    const add = (kind: Kind, spaceId: string, parentId: string | undefined, rules: { interval: number; buffer: number; weekday: [number, number]; weekend: [number, number] | null }) => {
      if (units.length + mine.length >= options.units) return;
      const unitId = `unt_${siteId.slice(4)}_${mine.length}`;
      events.push({ type: 'SpaceDefined', data: { space: { spaceId, name: spaceId, ...(parentId === undefined ? {} : { parentId }) } } });
      const weekly: Record<string, { from: string; to: string }[]> = {};
      DAYS.forEach((d, k) => {
        const h = k < 5 ? rules.weekday : rules.weekend;
        if (h !== null) weekly[d] = [{ from: hhmm(h[0] * 60), to: hhmm(h[1] * 60) }];
      });
      const closures =
        rng.chance(0.05)
          ? (() => {
              const from = addDays(season.fromDate, 7 * rng.between(2, weeks - 4));
              return [{ from, to: addDays(from, rng.between(6, 13)), reason: 'maintenance' }];
            })()
          : [];
      const input: UnitInput = {
        unitId,
        name: `${kind} ${unitId}`,
        unitType: kind === 'field' ? 'sports_field' : kind === 'youth' ? 'youth_space' : 'sports_hall',
        spaceIds: [spaceId],
        rules: {
          openingHours: { weekly, ...(closures.length > 0 ? { closures } : {}) },
          startIntervalMinutes: rules.interval,
          minDurationMinutes: 30,
          maxDurationMinutes: 240,
          bufferBeforeMinutes: rules.buffer,
          bufferAfterMinutes: rules.buffer,
          bookingWindow: { minDaysAhead: 0, maxDaysAhead: 730 },
        },
      };
      events.push({ type: 'UnitDefined', data: { unit: unitSchema.parse(input) } });
      mine.push({ unitId, siteId, kind, weekday: rules.weekday, weekend: rules.weekend });
    };
    const opens = (): [number, number] => [rng.pick([7, 8, 15, 16]), rng.pick([21, 22, 22, 22, 23])];
    const weekend = (): [number, number] | null => (rng.chance(0.75) ? [9, rng.pick([18, 20, 21])] : null);
    // A sports hall that splits into three sections: four units on one hierarchy.
    if (rng.chance(0.6)) {
      const hours = { interval: rng.pick([30, 30, 60]), buffer: rng.chance(0.25) ? 15 : 0, weekday: opens(), weekend: weekend() };
      add('hall', `spc_${siteId}_hall`, undefined, hours);
      for (const part of ['a', 'b', 'c']) add('section', `spc_${siteId}_hall_${part}`, `spc_${siteId}_hall`, hours);
    }
    const others = rng.between(1, 4);
    for (let k = 0; k < others; k++) {
      const kind = rng.pick<Kind>(['gym', 'gym', 'youth', 'field']);
      add(kind, `spc_${siteId}_${kind}_${k}`, undefined, {
        interval: rng.pick([30, 30, 60]),
        buffer: kind === 'field' ? 0 : rng.chance(0.15) ? 15 : 0,
        weekday: kind === 'youth' ? [rng.pick([12, 14]), 21] : opens(),
        weekend: kind === 'youth' ? null : weekend(),
      });
    }
    let state = events.reduce((s, e) => siteDecider.evolve(s, e), siteDecider.initialState());
    // Existing bookings: the city's own weekly uses and one-off events, made through the decider.
    let n = 0;
    const book = (unitId: string, date: string, from: number, to: number) => {
      const command = {
        type: 'BlockTime',
        data: { reservationId: `res_${siteId}_${n++}`, unitId, spaceIds: [], start: `${date}T${hhmm(from)}`, end: `${date}T${hhmm(to)}`, reason: 'event' },
        meta: { now: 0, actor: STAFF },
      } as SiteCommand;
      const result = siteDecider.decide(command, state);
      if (result.ok) {
        state = result.value.reduce((s, e) => siteDecider.evolve(s, e), state);
        existingBookings++;
      }
    };
    for (const u of mine) {
      if (rng.chance(0.12)) {
        const weekday = rng.between(1, 5);
        const from = rng.pick([16, 17, 18, 19]) * 60;
        for (let w = 0; w < weeks; w++) book(u.unitId, addDays(season.fromDate, w * 7 + weekday - 1), from, from + 90);
      }
      const events = rng.between(0, 3);
      for (let k = 0; k < events; k++) {
        const date = addDays(season.fromDate, rng.between(0, weeks * 7 - 1));
        const from = rng.pick([10, 12, 16, 17, 18]) * 60;
        book(u.unitId, date, from, from + rng.pick([120, 180, 240]));
      }
    }
    sites.set(siteId, state);
    units.push(...mine);
  }

  // Supply of weekday evenings 16-22 in an ordinary week.
  const eveningSupplyHours = units.reduce((h, u) => h + 5 * Math.max(0, Math.min(22, u.weekday[1]) - Math.max(16, u.weekday[0])), 0);

  // Applicants: associations near a few sites, asking for the kind of space they use.
  const categories = weightedSampler([45, 5, 30, 20]);
  const sectionsPer = weightedSampler([70, 25, 5]);
  const durations: [number, number][] = [[60, 90], [60, 120], [90, 120], [90, 180], [120, 120], [60, 60], [90, 90]];
  const durationOf = weightedSampler([20, 25, 20, 10, 10, 10, 5]);
  const customers = Math.max(1, Math.round(options.applications * 0.85));
  const bySite = new Map<string, GenUnit[]>();
  for (const u of units) bySite.set(u.siteId, [...(bySite.get(u.siteId) ?? []), u]);
  const siteIds = [...bySite.keys()];
  const applications: ApplicationRequest[] = [];
  let sectionNo = 0;
  for (let i = 0; i < options.applications; i++) {
    const category = ROUND_CRITERIA.priorityCategories[categories(rng)]!.categoryId;
    const home = rng.int(siteIds.length);
    const nearby = [0, 1, -1, 2].map((d) => siteIds[(home + d + siteIds.length) % siteIds.length] as string);
    const pool = nearby.flatMap((s) => bySite.get(s) ?? []);
    const sections: SectionRequest[] = [];
    const count = sectionsPer(rng) + 1;
    for (let k = 0; k < count; k++) sections.push(section(rng, `sec_${sectionNo++}`, pool, durations[durationOf(rng)] as [number, number], category));
    applications.push({
      applicationId: `app_${i}`,
      customerId: `cus_${i < customers ? i : rng.int(customers)}`,
      priorityCategoryId: category,
      sequence: i,
      sections,
    });
  }

  // Calibrate: raise or lower wishes until weekday-evening demand is about the ratio asked.
  const target = (options.demandRatio ?? 2) * eveningSupplyHours;
  const eveningDemand = () => applications.reduce((h, a) => h + a.sections.reduce((m, s) => m + (isEvening(s) ? (s.wishedPerWeek * s.maxDurationMinutes) / 60 : 0), 0), 0);
  let demand = eveningDemand();
  const all = applications.flatMap((a) => a.sections.map((s, k) => ({ a, k, s })));
  for (let guard = 0; guard < all.length * 20 && Math.abs(demand - target) > 0.01 * target; guard++) {
    const pick = all[rng.int(all.length)]!;
    const s = pick.a.sections[pick.k]!;
    if (!isEvening(s)) continue;
    const days = new Set(s.timeWindows.map((w) => w.weekday)).size;
    const span = Math.min(...windowSpans([...s.timeWindows]));
    let next: SectionRequest = s;
    if (demand < target) {
      if (s.wishedPerWeek < days) next = { ...s, wishedPerWeek: s.wishedPerWeek + 1 };
      else if (s.maxDurationMinutes + 30 <= Math.min(180, span)) next = { ...s, maxDurationMinutes: s.maxDurationMinutes + 30 };
    } else if (s.wishedPerWeek > 1) next = { ...s, wishedPerWeek: s.wishedPerWeek - 1 };
    if (next === s) continue;
    demand += (next.wishedPerWeek * next.maxDurationMinutes - s.wishedPerWeek * s.maxDurationMinutes) / 60;
    (pick.a.sections as SectionRequest[])[pick.k] = next;
  }

  const demandHours = applications.reduce((h, a) => h + a.sections.reduce((m, s) => m + (s.wishedPerWeek * s.maxDurationMinutes) / 60, 0), 0);
  return {
    season,
    criteria: ROUND_CRITERIA,
    sites,
    units: units.map((u) => ({ unitId: u.unitId, siteId: u.siteId })),
    applications,
    stats: {
      sites: sites.size,
      units: units.length,
      applications: applications.length,
      sections: applications.reduce((n, a) => n + a.sections.length, 0),
      customers: new Set(applications.map((a) => a.customerId)).size,
      existingBookings,
      eveningSupplyHours,
      eveningDemandHours: eveningDemand(),
      demandHours,
    },
  };
}

const isEvening = (s: SectionRequest): boolean => s.timeWindows.every((w) => w.weekday <= 5 && toMinutes(w.from) >= 15 * 60);
const toMinutes = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

function section(rng: Rng, sectionId: string, pool: GenUnit[], [min, max]: [number, number], category: string): SectionRequest {
  const kinds: Kind[] = category === 'children_youth' && rng.chance(0.2) ? ['youth'] : rng.chance(0.15) ? ['field'] : ['hall', 'section', 'gym'];
  let fitting = pool.filter((u) => kinds.includes(u.kind));
  if (fitting.length === 0) fitting = pool;
  const options: string[] = [];
  const wantedOptions = rng.between(1, 3);
  for (let k = 0; k < 8 && options.length < wantedOptions; k++) {
    const u = rng.pick(fitting);
    if (!options.includes(u.unitId)) options.push(u.unitId);
  }
  const windows: TimeWindow[] = [];
  const shape = rng.next();
  if (shape < 0.8) {
    // Weekday evenings: the bulk of demand.
    const days = pickDays(rng, [1, 2, 3, 4, 5], rng.between(1, 4));
    for (const d of days) {
      const from = rng.pick([16, 16, 17, 17, 18]);
      const to = Math.min(22, from + rng.pick([3, 4, 5, 6]));
      if (rng.chance(0.5) && to - from >= 4) {
        windows.push({ weekday: d, from: hhmm(from * 60), to: hhmm((to - 1) * 60), priority: 'primary' });
        windows.push({ weekday: d, from: hhmm((to - 1) * 60), to: hhmm(to * 60), priority: 'secondary' });
      } else {
        windows.push({ weekday: d, from: hhmm(from * 60), to: hhmm(to * 60), priority: rng.chance(0.8) ? 'primary' : 'secondary' });
      }
    }
  } else if (shape < 0.92) {
    for (const d of pickDays(rng, [6, 7], rng.between(1, 2))) windows.push({ weekday: d, from: '10:00', to: hhmm(rng.pick([14, 16, 18]) * 60), priority: 'primary' });
  } else {
    for (const d of pickDays(rng, [1, 2, 3, 4, 5], rng.between(1, 3))) windows.push({ weekday: d, from: '10:00', to: '15:00', priority: 'primary' });
  }
  const span = Math.min(...windowSpans(windows));
  const maxD = Math.min(max, span);
  const minD = Math.min(min, maxD);
  const days = new Set(windows.map((w) => w.weekday)).size;
  const previous = rng.chance(0.4) && windows[0] !== undefined
    ? [{ unitId: options[0] as string, weekday: windows[0].weekday, from: windows[0].from, to: hhmm(toMinutes(windows[0].from) + minD) }]
    : [];
  return {
    sectionId,
    wishedPerWeek: Math.min(days, rng.pick([1, 1, 2, 2, 3])),
    minDurationMinutes: minD,
    maxDurationMinutes: maxD,
    unitOptions: options,
    timeWindows: windows,
    previousSlots: previous,
  };
}

function pickDays(rng: Rng, from: number[], count: number): number[] {
  const pool = [...from];
  const out: number[] = [];
  while (out.length < count && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0] as number);
  return out.sort((a, b) => a - b);
}

/** Minutes of suitable time per weekday (windows of one day merged). */
function windowSpans(windows: TimeWindow[]): number[] {
  const byDay = new Map<number, number[][]>();
  for (const w of windows) byDay.set(w.weekday, [...(byDay.get(w.weekday) ?? []), [toMinutes(w.from), toMinutes(w.to)]]);
  return [...byDay.values()].map((spans) => {
    spans.sort((a, b) => (a[0] as number) - (b[0] as number));
    let best = 0;
    let [from, to] = spans[0] as [number, number];
    for (const [a, b] of spans.slice(1) as [number, number][]) {
      if (a <= to) to = Math.max(to, b);
      else {
        best = Math.max(best, to - from);
        [from, to] = [a, b];
      }
    }
    return Math.max(best, to - from);
  });
}
