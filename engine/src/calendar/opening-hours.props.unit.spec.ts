/**
 * OpeningCalendar against a minute-by-minute brute force: random weekly
 * hours, exceptions, closures and holiday policies over a few days around
 * DST changes and holidays. The brute force reads every minute's Helsinki
 * wall clock from luxon and applies the rules as the module docs state them:
 * closure > exception > holiday policy > weekly hours, and a range is open
 * from the first minute the clock shows `from` that day until the last
 * minute it shows a time before `to`.
 */
import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { ZONE, localMinutesOf } from './calendar.js';
import { isHoliday } from './holidays.js';
import { OpeningCalendar, openingHoursSchema } from './opening-hours.js';
import type { OpeningHours, TimeRange } from './opening-hours.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const zone = IANAZone.create(ZONE);
const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const toMinutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
const plusDays = (date: string, n: number) => DateTime.fromISO(date, { zone: 'utc' }).plus({ days: n }).toISODate()!;

// ---------------------------------------------------------------------------
// Generators

/** Boundaries favour midnight and the hours DST moves. */
const boundary = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 60, 120, 150, 180, 195, 210, 240, 270, 300, 1380, 1440) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 48 }).map((k) => k * 30) },
);

/** Sorted, non-overlapping, sometimes touching ranges. */
const ranges: fc.Arbitrary<TimeRange[]> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<TimeRange[]>([{ from: '00:00', to: '24:00' }]) },
  {
    weight: 4,
    arbitrary: fc.array(fc.tuple(boundary, boundary), { maxLength: 4 }).map((pairs) => {
      const sorted = pairs
        .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const)
        .filter(([a, b]) => a < b)
        .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      const out: TimeRange[] = [];
      let end = -1;
      for (const [a, b] of sorted) {
        if (a >= end) {
          out.push({ from: hhmm(a), to: hhmm(b) });
          end = b;
        }
      }
      return out;
    }),
  },
);

/**
 * Days to test around (the first four, the DST changes, more often): the DST changes, holidays (Christmas Eve, Midsummer
 * Eve, Good Friday before Easter, Epiphany) and two plain weeks. A fixed set
 * keeps the brute force's luxon lookups reusable between runs.
 */
const ANCHORS = [
  '2026-03-29',
  '2026-10-25',
  '2027-03-28',
  '2027-10-31',
  '2026-12-24',
  '2027-06-25',
  '2026-04-03',
  '2027-01-06',
  '2026-09-09',
  '2027-02-17',
];

const scenario = fc
  .record({
    anchor: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...ANCHORS.slice(0, 4)) }, { weight: 1, arbitrary: fc.constantFrom(...ANCHORS) }),
    shift: fc.integer({ min: -2, max: 0 }),
    length: fc.integer({ min: 1, max: 4 }),
  })
  .chain(({ anchor, shift, length }) => {
    const first = plusDays(anchor, shift);
    const last = plusDays(first, length - 1);
    const dayIn = fc.oneof(fc.constant(anchor), fc.integer({ min: -1, max: length }).map((k) => plusDays(first, k)));
    const weekly = fc.record(
      Object.fromEntries(DAY_KEYS.map((k) => [k, fc.option(ranges, { nil: undefined })])) as Record<
        (typeof DAY_KEYS)[number],
        fc.Arbitrary<TimeRange[] | undefined>
      >,
    );
    const hours: fc.Arbitrary<OpeningHours> = fc.record({
      weekly,
      exceptions: fc.uniqueArray(fc.record({ date: dayIn, ranges }), { selector: (e) => e.date, maxLength: 3 }),
      closures: fc.array(
        fc.tuple(dayIn, fc.integer({ min: 0, max: 2 })).map(([from, n]) => ({ from, to: plusDays(from, n), reason: 'test' })),
        { maxLength: 2 },
      ),
      holidays: fc.oneof(fc.constantFrom('closed' as const, 'open' as const, undefined), ranges.map((r) => ({ ranges: r }))),
    });
    return fc.record({ first: fc.constant(first), last: fc.constant(last), hours });
  });

// ---------------------------------------------------------------------------
// Brute force

const rangesOn = (hours: OpeningHours, date: string): readonly TimeRange[] => {
  if ((hours.closures ?? []).some((c) => c.from <= date && date <= c.to)) return [];
  const exception = (hours.exceptions ?? []).find((e) => e.date === date);
  if (exception !== undefined) return exception.ranges;
  const weekly = hours.weekly[DAY_KEYS[DateTime.fromISO(date).weekday - 1]!] ?? [];
  if (!isHoliday(date)) return weekly;
  const policy = hours.holidays ?? 'closed';
  return policy === 'closed' ? [] : policy === 'open' ? weekly : policy.ranges;
};

// luxon's offset is read once per UTC hour, remembered across runs, and read
// minute by minute only in an hour whose two ends disagree: the same answer
// as asking for every minute, at a fraction of the cost.
const hourly = new Map<number, number | undefined>();
const offsetAt = (t: number): number => {
  const hour = Math.floor(t / HOUR) * HOUR;
  if (!hourly.has(hour)) {
    const first = zone.offset(hour);
    hourly.set(hour, first === zone.offset(hour + HOUR - MINUTE) ? first : undefined);
  }
  return hourly.get(hour) ?? zone.offset(t);
};
const dateNames = new Map<number, string>();
const wallClockAt = (t: number) => {
  const wall = t + offsetAt(t) * MINUTE;
  const day = Math.floor(wall / DAY);
  let date = dateNames.get(day);
  if (date === undefined) {
    date = new Date(day * DAY).toISOString().slice(0, 10);
    dateNames.set(day, date);
  }
  return { date, wall: (wall - day * DAY) / MINUTE };
};

interface Minute {
  readonly t: number;
  readonly date: string;
  readonly wall: number;
  open: boolean;
}

/** Every minute from the start of the day before `first` to the end of the day after `last`. */
const bruteForce = (hours: OpeningHours, first: string, last: string) => {
  const start = DateTime.fromISO(plusDays(first, -1), { zone: ZONE }).toMillis();
  const end = DateTime.fromISO(plusDays(last, 2), { zone: ZONE }).toMillis();
  const minutes: Minute[] = [];
  for (let t = start; t < end; t += MINUTE) minutes.push({ t, ...wallClockAt(t), open: false });
  const byDate = new Map<string, Minute[]>();
  for (const m of minutes) {
    const day = byDate.get(m.date);
    if (day === undefined) byDate.set(m.date, [m]);
    else day.push(m);
  }
  for (const [date, day] of byDate) {
    for (const r of rangesOn(hours, date)) {
      const from = toMinutes(r.from);
      const to = toMinutes(r.to);
      const i = day.findIndex((m) => m.wall >= from);
      const j = day.findLastIndex((m) => m.wall < to);
      if (i === -1) continue;
      for (let k = i; k <= j; k++) day[k]!.open = true;
    }
  }
  const at = (t: number): Minute | undefined => minutes[(t - start) / MINUTE];
  return { start, end, minutes, byDate, at };
};

// ---------------------------------------------------------------------------

describe('OpeningCalendar against a minute-by-minute brute force', () => {
  it('generates valid opening hours', () => {
    fc.assert(
      fc.property(scenario, ({ hours }) => {
        expect(openingHoursSchema.safeParse(hours).success).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('counts open minutes, answers isOpenThroughout and finds containing intervals like the brute force', () => {
    const seen = { throughoutTrue: 0, throughoutFalse: 0 };
    fc.assert(
      fc.property(
        scenario,
        fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.oneof(fc.integer({ min: 1, max: 240 }), fc.integer({ min: 1, max: 3000 }))), {
          minLength: 10,
          maxLength: 10,
        }),
        fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
        ({ first, last, hours }, intervals, probes) => {
          const calendar = new OpeningCalendar(hours);
          const brute = bruteForce(hours, first, last);

          const expected = brute.minutes.filter((m) => m.open && first <= m.date && m.date <= last).length;
          expect(calendar.openMinutesBetween(first, last)).toBe(expected);

          const open = brute.minutes.filter((m) => m.open);
          for (const [pick, fromOpen, length] of intervals) {
            const s =
              fromOpen && open.length > 0 ? open[pick % open.length]!.t : brute.minutes[pick % brute.minutes.length]!.t;
            const e = Math.min(s + length * MINUTE, brute.end);
            if (e <= s) continue;
            let all = true;
            for (let t = s; t < e; t += MINUTE) all &&= brute.at(t)!.open;
            if (all) seen.throughoutTrue++;
            else seen.throughoutFalse++;
            expect({ s, e, open: calendar.isOpenThroughout(s, e) }).toEqual({ s, e, open: all });
          }

          for (const pick of probes) {
            const m = brute.minutes[pick % brute.minutes.length]!;
            const iv = calendar.openIntervalContaining(m.t);
            expect({ t: m.t, found: iv !== undefined }).toEqual({ t: m.t, found: m.open });
            if (iv === undefined) continue;
            const [a, b] = iv;
            expect(a <= m.t && m.t < b).toBe(true);
            let allOpen = true;
            for (let t = Math.max(a, brute.start); t < Math.min(b, brute.end); t += MINUTE) allOpen &&= brute.at(t)!.open;
            expect(allOpen).toBe(true);
            // it opens after a closed minute, or at a midnight starting a day open round the clock
            const before = brute.at(a - MINUTE);
            if (before?.open) {
              expect(localMinutesOf(a)).toBe(0);
              expect(brute.byDate.get(brute.at(a)!.date)!.every((x) => x.open)).toBe(true);
            }
            const after = brute.at(b);
            if (after !== undefined) expect(after.open).toBe(false);
          }
        },
      ),
      { numRuns: 100 },
    );
    expect(Math.min(seen.throughoutTrue, seen.throughoutFalse)).toBeGreaterThan(20);
  });
});
