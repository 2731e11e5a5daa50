import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  ZONE,
  addDays,
  dateOfDayNumber,
  dayNumberOf,
  daysBetween,
  eachDate,
  elapsedMinutes,
  formatInstant,
  hoursInLocalDay,
  localDateOf,
  localDayNumber,
  localMinutesOf,
  offsetMinutesAt,
  parseLocalDate,
  parseTime,
  startOfLocalDay,
  wallTimeToInstant,
  weekdayOf,
} from './calendar.js';
import type { Result } from '../shared/result.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const utc = (iso: string): number => Date.parse(iso);

const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
};
const error = <T>(r: Result<T>) => {
  if (r.ok) throw new Error(`expected an error, got ${String(r.value)}`);
  return r.error;
};

describe('parseTime', () => {
  describe('given an instant', () => {
    it('takes epoch milliseconds as they are', () => {
      expect(value(parseTime(1_806_195_600_000))).toBe(1_806_195_600_000);
    });

    it('refuses a number that is not a whole number of milliseconds', () => {
      for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
        expect(error(parseTime(bad, 'start'))).toMatchObject({ code: 'INVALID_TIME', field: 'start' });
      }
    });

    it('reads ISO 8601 with Z or an offset', () => {
      expect(value(parseTime('2027-03-28T01:00:00Z'))).toBe(utc('2027-03-28T01:00:00Z'));
      expect(value(parseTime('2027-03-28T01:00:00.250Z'))).toBe(utc('2027-03-28T01:00:00.250Z'));
      expect(value(parseTime('2027-06-01T12:00+03:00'))).toBe(utc('2027-06-01T09:00:00Z'));
      expect(value(parseTime('2027-06-01T12:00:30-05:30'))).toBe(utc('2027-06-01T17:30:30Z'));
    });

    it('takes an offset Helsinki does not use at that wall time as the instant it names', () => {
      // 03:30+02:00 on the spring day is 01:30Z, which Helsinki calls 04:30
      const i = value(parseTime('2027-03-28T03:30+02:00'));
      expect(i).toBe(utc('2027-03-28T01:30:00Z'));
      expect(formatInstant(i)).toBe('2027-03-28T04:30:00.000+03:00');
      expect(value(parseTime('2027-01-15T10:00+03:00'))).toBe(utc('2027-01-15T07:00:00Z'));
    });

    it('picks either occurrence of the repeated autumn hour when the offset says which', () => {
      expect(value(parseTime('2026-10-25T03:30+03:00'))).toBe(utc('2026-10-25T00:30:00Z'));
      expect(value(parseTime('2026-10-25T03:30+02:00'))).toBe(utc('2026-10-25T01:30:00Z'));
    });
  });

  describe('given a Helsinki wall time without offset', () => {
    it('uses winter time in winter and summer time in summer', () => {
      expect(value(parseTime('2027-01-15T10:00'))).toBe(utc('2027-01-15T08:00:00Z'));
      expect(value(parseTime('2027-06-15T10:00:30'))).toBe(utc('2027-06-15T07:00:30Z'));
    });

    it('accepts the hours either side of the spring gap', () => {
      expect(value(parseTime('2027-03-28T02:59'))).toBe(utc('2027-03-28T00:59:00Z'));
      expect(value(parseTime('2027-03-28T04:00'))).toBe(utc('2027-03-28T01:00:00Z'));
    });

    it('refuses a time in the spring-forward gap and says how to fix it', () => {
      const e = error(parseTime('2027-03-28T03:30', 'start'));
      expect(e.code).toBe('NONEXISTENT_LOCAL_TIME');
      expect(e.field).toBe('start');
      expect(e.message).toContain('2027-03-28');
      expect(e.message).toContain('from 03:00 to 04:00');
      expect(e.message).toMatch(/pick a time before 03:00 or from 04:00/i);
      expect(error(parseTime('2026-03-29T03:00')).code).toBe('NONEXISTENT_LOCAL_TIME');
      expect(error(parseTime('2026-03-29T03:59:59')).code).toBe('NONEXISTENT_LOCAL_TIME');
    });

    it('refuses a time that happens twice in autumn and tells which offset picks which', () => {
      const e = error(parseTime('2026-10-25T03:30', 'end'));
      expect(e.code).toBe('AMBIGUOUS_LOCAL_TIME');
      expect(e.field).toBe('end');
      expect(e.message).toContain("'2026-10-25T03:30+03:00' for the first one (summer time)");
      expect(e.message).toContain("'2026-10-25T03:30+02:00' for the second one");
      expect(error(parseTime('2027-10-31T03:00')).code).toBe('AMBIGUOUS_LOCAL_TIME');
    });

    it('accepts the hours either side of the autumn repeat', () => {
      expect(value(parseTime('2027-10-31T02:59'))).toBe(utc('2027-10-30T23:59:00Z'));
      expect(value(parseTime('2027-10-31T04:00'))).toBe(utc('2027-10-31T02:00:00Z'));
    });
  });

  describe('given something that is not a time', () => {
    it.each([
      ['2027-02-30T10:00', /28 days/],
      ['2028-02-30T10:00', /29 days/],
      ['2027-13-01T10:00', /month/],
      ['2027-01-01T25:00', /hour/],
      ['2027-01-01T24:00', /hour/],
      ['2027-01-01T10:60', /minute/],
      ['2027-01-01T10:00:61', /second/],
      ['2027-01-01', /ISO 8601/],
      ['garbage', /ISO 8601/],
      ['', /ISO 8601/],
      ['2027-01-01T10:00+25:00', /offset/],
    ])('refuses %s as INVALID_TIME', (input, why) => {
      const e = error(parseTime(input, 'start'));
      expect(e.code).toBe('INVALID_TIME');
      expect(e.field).toBe('start');
      expect(e.message).toMatch(why);
    });

    it('leaves field out when none is given', () => {
      expect(error(parseTime('garbage'))).not.toHaveProperty('field');
    });
  });
});

describe('wallTimeToInstant', () => {
  it('converts a normal wall time', () => {
    expect(value(wallTimeToInstant('2027-01-15', 10 * 60))).toBe(utc('2027-01-15T08:00:00Z'));
  });

  it('takes 1440 minutes as the next midnight', () => {
    expect(value(wallTimeToInstant('2027-03-27', 1440))).toBe(startOfLocalDay('2027-03-28'));
  });

  describe('in the spring gap (2027-03-28 03:00-04:00)', () => {
    it('refuses by default', () => {
      expect(error(wallTimeToInstant('2027-03-28', 3 * 60 + 30)).code).toBe('NONEXISTENT_LOCAL_TIME');
    });

    it("maps to the first instant after the gap with gap: 'after'", () => {
      const after = utc('2027-03-28T01:00:00Z');
      expect(value(wallTimeToInstant('2027-03-28', 3 * 60, { gap: 'after' }))).toBe(after);
      expect(value(wallTimeToInstant('2027-03-28', 3 * 60 + 59, { gap: 'after' }))).toBe(after);
      expect(formatInstant(after)).toBe('2027-03-28T04:00:00.000+03:00');
    });
  });

  describe('in the autumn repeat (2027-10-31 03:00-04:00)', () => {
    it('refuses by default', () => {
      expect(error(wallTimeToInstant('2027-10-31', 3 * 60 + 30)).code).toBe('AMBIGUOUS_LOCAL_TIME');
    });

    it('picks the summer-time occurrence with earlier and the winter-time one with later', () => {
      expect(value(wallTimeToInstant('2027-10-31', 210, { ambiguous: 'earlier' }))).toBe(utc('2027-10-31T00:30:00Z'));
      expect(value(wallTimeToInstant('2027-10-31', 210, { ambiguous: 'later' }))).toBe(utc('2027-10-31T01:30:00Z'));
    });
  });

  it('refuses minutes outside 0..1440 and malformed dates', () => {
    expect(error(wallTimeToInstant('2027-01-15', 1441)).code).toBe('INVALID_TIME');
    expect(error(wallTimeToInstant('2027-01-15', -1)).code).toBe('INVALID_TIME');
    expect(error(wallTimeToInstant('2027-02-29', 600, {}, 'date'))).toMatchObject({ code: 'INVALID_TIME', field: 'date' });
  });
});

describe('reading an instant in Helsinki', () => {
  it('knows the offset either side of each change', () => {
    for (const [change, before, after] of [
      ['2026-03-29T01:00:00Z', 120, 180],
      ['2026-10-25T01:00:00Z', 180, 120],
      ['2027-03-28T01:00:00Z', 120, 180],
      ['2027-10-31T01:00:00Z', 180, 120],
    ] as const) {
      expect(offsetMinutesAt(utc(change) - 1)).toBe(before);
      expect(offsetMinutesAt(utc(change))).toBe(after);
    }
  });

  it('gives the Helsinki date, minutes of day, weekday and day number', () => {
    const i = utc('2027-03-27T22:30:00Z'); // Sunday 2027-03-28 00:30 EET
    expect(localDateOf(i)).toBe('2027-03-28');
    expect(localMinutesOf(i)).toBe(30);
    expect(weekdayOf(i)).toBe(7);
    expect(localDayNumber(i)).toBe(dayNumberOf('2027-03-28'));
    expect(localDateOf(utc('2027-03-27T21:59:59.999Z'))).toBe('2027-03-27');
  });

  it('counts booking-window days by the Helsinki calendar, not by 24-hour periods', () => {
    const lateEvening = utc('2027-06-01T20:59:00Z'); // 23:59 EEST
    const justAfterMidnight = utc('2027-06-01T21:01:00Z'); // 00:01 next day
    expect(localDayNumber(justAfterMidnight) - localDayNumber(lateEvening)).toBe(1);
  });

  it('formats with the offset in force', () => {
    expect(formatInstant(utc('2027-03-28T01:00:00Z'))).toBe('2027-03-28T04:00:00.000+03:00');
    expect(formatInstant(utc('2027-03-28T00:59:59.999Z'))).toBe('2027-03-28T02:59:59.999+02:00');
    expect(formatInstant(utc('2026-10-25T00:30:00Z'))).toBe('2026-10-25T03:30:00.000+03:00');
    expect(formatInstant(utc('2026-10-25T01:30:00Z'))).toBe('2026-10-25T03:30:00.000+02:00');
  });

  it('falls back to the tz database outside the years of the fast table', () => {
    for (const iso of ['1975-07-01T12:00:00Z', '1990-09-29T12:00:00Z', '2250-07-01T12:00:00Z', '1970-01-01T00:00:00Z']) {
      const i = utc(iso);
      const lux = DateTime.fromMillis(i, { zone: ZONE });
      expect(offsetMinutesAt(i)).toBe(lux.offset);
      expect(localDateOf(i)).toBe(lux.toISODate());
      expect(formatInstant(i)).toBe(lux.toISO());
    }
  });
});

describe('the DST table', () => {
  const zone = IANAZone.create(ZONE);
  const first = dayNumberOf('1996-01-01');
  const end = dayNumberOf('2200-01-01');

  it("changes offset exactly when the tz database's Europe/Helsinki does, 1996 to 2199", () => {
    const mismatches: string[] = [];
    for (let day = first; day < end; day++) {
      const change = day * 86_400_000 + HOUR;
      if (offsetMinutesAt(change - 1) !== offsetMinutesAt(change)) {
        for (const i of [change - 1, change]) if (offsetMinutesAt(i) !== zone.offset(i)) mismatches.push(new Date(i).toISOString());
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("agrees with the tz database at noon UTC on every day from 1996 to 2199 (so no change is missed)", () => {
    const mismatches: string[] = [];
    for (let day = first; day < end; day++) {
      const noon = day * 86_400_000 + 12 * HOUR;
      if (offsetMinutesAt(noon) !== zone.offset(noon)) mismatches.push(new Date(noon).toISOString());
    }
    expect(mismatches).toEqual([]);
  });
});

describe('date arithmetic', () => {
  it('adds days across months, years and leap days', () => {
    expect(addDays('2027-12-31', 1)).toBe('2028-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(addDays('2027-03-27', 2)).toBe('2027-03-29');
  });

  it('counts calendar days between dates, across DST changes', () => {
    expect(daysBetween('2027-03-27', '2027-03-29')).toBe(2);
    expect(daysBetween('2027-10-31', '2027-10-30')).toBe(-1);
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366);
  });

  it('lists dates inclusively', () => {
    expect(eachDate('2027-02-27', '2027-03-02')).toEqual(['2027-02-27', '2027-02-28', '2027-03-01', '2027-03-02']);
    expect(eachDate('2027-03-02', '2027-03-02')).toEqual(['2027-03-02']);
    expect(eachDate('2027-03-02', '2027-03-01')).toEqual([]);
  });

  it('round-trips day numbers', () => {
    expect(dayNumberOf('1970-01-01')).toBe(0);
    expect(dateOfDayNumber(dayNumberOf('2027-03-28'))).toBe('2027-03-28');
    expect(dateOfDayNumber(-1)).toBe('1969-12-31');
  });

  it('gives ISO weekdays for dates', () => {
    expect(weekdayOf('2027-03-22')).toBe(1);
    expect(weekdayOf('2027-03-28')).toBe(7);
    expect(weekdayOf('2026-10-25')).toBe(7);
  });

  it('treats a malformed LocalDate in arithmetic as a bug', () => {
    expect(() => addDays('2027-02-29', 1)).toThrow(RangeError);
    expect(() => dayNumberOf('27-01-01')).toThrow(RangeError);
  });

  it('validates user dates as values', () => {
    expect(value(parseLocalDate('2028-02-29'))).toBe('2028-02-29');
    expect(error(parseLocalDate('2027-02-29', 'date'))).toMatchObject({ code: 'INVALID_TIME', field: 'date' });
  });
});

describe('days around a DST change', () => {
  it.each([
    ['2026-03-29', 23],
    ['2026-10-25', 25],
    ['2027-03-28', 23],
    ['2027-10-31', 25],
    ['2027-03-27', 24],
    ['2027-11-01', 24],
  ])('%s has %i hours', (date, hours) => {
    expect(hoursInLocalDay(date)).toBe(hours);
  });

  it('starts each day at local midnight', () => {
    expect(startOfLocalDay('2027-03-28')).toBe(utc('2027-03-27T22:00:00Z'));
    expect(startOfLocalDay('2027-03-29')).toBe(utc('2027-03-28T21:00:00Z'));
    expect(startOfLocalDay('2027-10-31')).toBe(utc('2027-10-30T21:00:00Z'));
  });

  it('measures real elapsed time: 01:00 to 05:00 on the spring day is 180 minutes', () => {
    const a = value(parseTime('2027-03-28T01:00'));
    const b = value(parseTime('2027-03-28T05:00'));
    expect(elapsedMinutes(a, b)).toBe(180);
    expect(b - a).toBe(3 * HOUR);
  });

  it('measures real elapsed time: 01:00 to 05:00 on the autumn day is 300 minutes', () => {
    const a = value(parseTime('2026-10-25T01:00'));
    const b = value(parseTime('2026-10-25T05:00'));
    expect(elapsedMinutes(a, b)).toBe(300);
    expect(localMinutesOf(b) - localMinutesOf(a)).toBe(240);
    expect((b - a) / MINUTE).toBe(300);
  });
});
