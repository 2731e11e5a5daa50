/**
 * Properties of the fast Helsinki helpers and of wall-time parsing, checked
 * against luxon's tz database by brute force.
 */
import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  ZONE,
  dayNumberOf,
  formatInstant,
  localDateOf,
  localDayNumber,
  localMinutesOf,
  offsetMinutesAt,
  parseTime,
  wallTimeToInstant,
  weekdayOf,
} from './calendar.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const zone = IANAZone.create(ZONE);
const pad = (n: number) => String(n).padStart(2, '0');

/** The last Sundays of March and October 2020-2035, found by asking luxon which days are not 24 hours long. */
const DST_DAYS: string[] = [];
for (let t = Date.UTC(2020, 0, 1, 12); t < Date.UTC(2036, 0, 1); t += DAY) {
  const d = DateTime.fromMillis(t, { zone: ZONE }).startOf('day');
  if (d.plus({ days: 1 }).diff(d, 'hours').hours !== 24) DST_DAYS.push(d.toISODate()!);
}

describe('the DST days used below', () => {
  it('are two a year, all Sundays', () => {
    expect(DST_DAYS).toHaveLength(32);
    expect(DST_DAYS.every((d) => DateTime.fromISO(d).weekday === 7)).toBe(true);
  });
});

describe('fast helpers agree with luxon', () => {
  const from = Date.UTC(2020, 0, 1);
  const to = Date.UTC(2036, 0, 1);
  const transitions = DST_DAYS.map((d) => DateTime.fromISO(d, { zone: ZONE }).set({ hour: 6 }).toMillis() - 3 * HOUR);
  const anyInstant = fc.integer({ min: from, max: to - 1 });
  // Most bugs live within hours of a change or of midnight
  const nearTransition = fc
    .tuple(fc.constantFrom(...transitions), fc.integer({ min: -6 * HOUR, max: 6 * HOUR }))
    .map(([t, d]) => t + d);
  const nearMidnight = fc
    .tuple(fc.integer({ min: 0, max: (to - from) / DAY - 1 }), fc.integer({ min: -4 * HOUR, max: 0 }))
    .map(([d, delta]) => from + d * DAY + delta + DAY);
  const instant = fc.oneof(anyInstant, nearTransition, nearMidnight);

  it('offset, date, minutes of day, weekday, day number and ISO text of any instant 2020-2035', () => {
    fc.assert(
      fc.property(instant, (i) => {
        const lux = DateTime.fromMillis(i, { zone: ZONE });
        const fast = [offsetMinutesAt(i), localDateOf(i), localMinutesOf(i), weekdayOf(i), localDayNumber(i), formatInstant(i)];
        const slow = [lux.offset, lux.toISODate(), lux.hour * 60 + lux.minute, lux.weekday, dayNumberOf(lux.toISODate()!), lux.toISO()];
        expect(fast).toEqual(slow);
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('Helsinki wall times', () => {
  // luxon's offset is read once per UTC hour, remembered across runs, and
  // read minute by minute only in an hour whose two ends disagree: the same
  // answer as asking for every minute, at a fraction of the cost.
  const hourly = new Map<number, number | undefined>();
  const offsetAt = (t: number): number => {
    const hour = Math.floor(t / HOUR) * HOUR;
    if (!hourly.has(hour)) {
      const first = zone.offset(hour);
      hourly.set(hour, first === zone.offset(hour + HOUR - MINUTE) ? first : undefined);
    }
    return hourly.get(hour) ?? zone.offset(t);
  };

  /**
   * Every instant, at minute resolution, that Helsinki's clock shows as
   * `date` `minuteOfDay`, and the first instant it shows a later time. Any
   * such instant is 2 or 3 hours before the same reading in UTC; the window
   * has room either side.
   */
  const bruteForce = (date: string, minuteOfDay: number) => {
    const target = Date.parse(`${date}T00:00:00Z`) + minuteOfDay * MINUTE;
    const matches: number[] = [];
    let firstAfter: number | undefined;
    for (let t = target - 4 * HOUR; t <= target; t += MINUTE) {
      const wall = t + offsetAt(t) * MINUTE;
      if (wall === target) matches.push(t);
      if (wall > target && firstAfter === undefined) firstAfter = t;
    }
    return { matches, firstAfter };
  };

  const someDate = fc
    .integer({ min: 0, max: 16 * 365 })
    .map((d) => DateTime.fromMillis(Date.UTC(2020, 0, 1) + d * DAY, { zone: 'utc' }).toISODate()!);
  const dstDate = fc.constantFrom(...DST_DAYS);
  const date = fc.oneof({ arbitrary: dstDate, weight: 3 }, { arbitrary: someDate, weight: 1 });
  const hour = fc.oneof({ arbitrary: fc.integer({ min: 2, max: 4 }), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 23 }), weight: 1 });
  const minute = fc.oneof(fc.constantFrom(0, 30, 59), fc.integer({ min: 0, max: 59 }));
  const second = fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined });

  it('parseTime round-trips a wall time, or refuses it exactly when it occurs zero or two times', () => {
    const seen = { unique: 0, gap: 0, ambiguous: 0 };
    fc.assert(
      fc.property(date, hour, minute, second, (d, h, m, s) => {
        const input = `${d}T${pad(h)}:${pad(m)}${s === undefined ? '' : `:${pad(s)}`}`;
        const { matches, firstAfter } = bruteForce(d, h * 60 + m);
        const parsed = parseTime(input);
        const minutes = h * 60 + m;
        if (matches.length === 1) {
          seen.unique++;
          expect(parsed).toEqual({ ok: true, value: matches[0]! + (s ?? 0) * 1000 });
          const back = DateTime.fromMillis(matches[0]!, { zone: ZONE });
          expect(back.toFormat("yyyy-MM-dd'T'HH:mm")).toBe(input.slice(0, 16));
          expect(localDateOf(matches[0]!)).toBe(d);
          expect(localMinutesOf(matches[0]!)).toBe(minutes);
          expect(wallTimeToInstant(d, minutes)).toEqual({ ok: true, value: matches[0] });
        } else if (matches.length === 0) {
          seen.gap++;
          expect(parsed.ok ? undefined : parsed.error.code).toBe('NONEXISTENT_LOCAL_TIME');
          expect(wallTimeToInstant(d, minutes, { gap: 'after' })).toEqual({ ok: true, value: firstAfter });
        } else {
          seen.ambiguous++;
          expect(matches).toHaveLength(2);
          expect(parsed.ok ? undefined : parsed.error.code).toBe('AMBIGUOUS_LOCAL_TIME');
          expect(wallTimeToInstant(d, minutes, { ambiguous: 'earlier' })).toEqual({ ok: true, value: matches[0] });
          expect(wallTimeToInstant(d, minutes, { ambiguous: 'later' })).toEqual({ ok: true, value: matches[1] });
        }
      }),
      { numRuns: 250 },
    );
    // the generator must actually reach the interesting cases
    expect(Math.min(seen.unique, seen.gap, seen.ambiguous)).toBeGreaterThan(10);
  });

  it('parseTime with an explicit offset is the instant it names, whatever Helsinki calls it', () => {
    fc.assert(
      fc.property(date, hour, minute, fc.integer({ min: -12, max: 14 }), (d, h, m, offsetHours) => {
        const sign = offsetHours < 0 ? '-' : '+';
        const input = `${d}T${pad(h)}:${pad(m)}${sign}${pad(Math.abs(offsetHours))}:00`;
        expect(parseTime(input)).toEqual({ ok: true, value: DateTime.fromISO(input, { setZone: true }).toMillis() });
      }),
      { numRuns: 500 },
    );
  });
});
