import { describe, expect, it } from 'vitest';
import { formatInstant, parseTime } from './calendar.js';
import type { Instant } from './calendar.js';
import { OpeningCalendar, openingHoursSchema, parseOpeningHours } from './opening-hours.js';
import type { OpenInterval, OpeningHours } from './opening-hours.js';

const MINUTE = 60_000;

/** A Helsinki wall time (or an ISO instant with offset) as an Instant. */
const at = (s: string): Instant => {
  const r = parseTime(s);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const shown = (intervals: readonly OpenInterval[]) => intervals.map(([a, b]) => [formatInstant(a), formatInstant(b)]);
const minutes = ([a, b]: OpenInterval) => (b - a) / MINUTE;

const weekdays = [{ from: '07:00', to: '22:00' }];
const weekend = [{ from: '09:00', to: '20:00' }];
const standard: OpeningHours = {
  weekly: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays, sat: weekend, sun: weekend },
};
const allDay = [{ from: '00:00', to: '24:00' }];
const roundTheClock: OpeningHours = {
  weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
  holidays: 'open',
};

describe('openingHoursSchema', () => {
  it('accepts weekly hours with exceptions, closures and a holiday policy', () => {
    const hours = {
      weekly: { mon: [{ from: '08:00', to: '12:00' }, { from: '12:00', to: '16:00' }], sun: [{ from: '18:00', to: '24:00' }] },
      exceptions: [{ date: '2027-12-24', ranges: [], reason: 'Christmas' }],
      closures: [{ from: '2027-07-01', to: '2027-07-31', reason: 'Floor renovation' }],
      holidays: { ranges: [{ from: '10:00', to: '14:00' }] },
    };
    expect(openingHoursSchema.parse(hours)).toEqual(hours);
  });

  describe('given invalid hours, says which range and what is wrong', () => {
    const problems = (input: unknown) => {
      const r = parseOpeningHours(input);
      if (r.ok) throw new Error('expected a validation error');
      expect(r.error.code).toBe('VALIDATION_FAILED');
      expect(r.error.field).toBe('openingHours');
      return (r.error.details as { issues: { path: string; message: string }[] }).issues;
    };

    it('a range that ends before it starts', () => {
      expect(problems({ weekly: { tue: [{ from: '10:00', to: '09:00' }] } })).toEqual([
        { path: 'openingHours.weekly.tue[0].to', message: expect.stringMatching(/range 10:00-09:00 does not end after it starts/) },
      ]);
    });

    it('a range that runs past midnight', () => {
      expect(problems({ weekly: { fri: [{ from: '18:00', to: '02:00' }] } })[0]?.message).toMatch(/continue it on the next day from '00:00'/);
    });

    it('times that are not times of day', () => {
      const issues = problems({ weekly: { mon: [{ from: '24:00', to: '25:00' }, { from: '8:00', to: '09:00' }] } });
      expect(issues.map((i) => i.path)).toEqual(['openingHours.weekly.mon[0].from', 'openingHours.weekly.mon[0].to', 'openingHours.weekly.mon[1].from']);
      expect(issues[1]?.message).toMatch(/'25:00' is not a closing time/);
    });

    it('overlapping and unsorted ranges', () => {
      const issues = problems({ weekly: { wed: [{ from: '08:00', to: '12:00' }, { from: '11:00', to: '14:00' }, { from: '07:00', to: '07:30' }] } });
      expect(issues).toEqual([
        { path: 'openingHours.weekly.wed[1]', message: expect.stringMatching(/11:00-14:00 overlaps 08:00-12:00/) },
        { path: 'openingHours.weekly.wed[2]', message: expect.stringMatching(/07:00-07:30 comes after 11:00-14:00 but starts earlier/) },
      ]);
    });

    it('an unknown day name', () => {
      expect(problems({ weekly: { monday: [] } })[0]?.message).toMatch(/unknown day 'monday'; days are mon, tue/);
    });

    it('bad dates, a backwards closure, a closure without reason, two exceptions for one date', () => {
      const issues = problems({
        weekly: {},
        exceptions: [
          { date: '2027-02-29', ranges: [] },
          { date: '2027-12-24', ranges: [] },
          { date: '2027-12-24', ranges: [{ from: '10:00', to: '12:00' }] },
        ],
        closures: [{ from: '2027-07-31', to: '2027-07-01', reason: '' }],
      });
      expect(issues).toEqual([
        { path: 'openingHours.exceptions[0].date', message: expect.stringMatching(/'2027-02-29' is not a calendar date/) },
        { path: 'openingHours.exceptions[2].date', message: expect.stringMatching(/a second exception for 2027-12-24/) },
        { path: 'openingHours.closures[0].reason', message: expect.stringMatching(/say why/) },
        { path: 'openingHours.closures[0].to', message: expect.stringMatching(/closure ends \(2027-07-01\) before it starts/) },
      ]);
    });

    it('an unknown holiday policy, and a bad range inside a holiday policy', () => {
      expect(problems({ weekly: {}, holidays: 'sometimes' })[0]?.message).toMatch(/holidays must be 'closed', 'open'/);
      expect(problems({ weekly: {}, holidays: { ranges: [{ from: '14:00', to: '10:00' }] } })[0]?.path).toBe('openingHours.holidays.ranges[0].to');
    });
  });
});

describe('OpeningCalendar', () => {
  describe('given weekly hours', () => {
    const calendar = new OpeningCalendar(standard);

    it('opens each day at its wall-clock hours', () => {
      expect(shown(calendar.openIntervalsOn('2027-01-11'))).toEqual([['2027-01-11T07:00:00.000+02:00', '2027-01-11T22:00:00.000+02:00']]);
      expect(shown(calendar.openIntervalsOn('2027-06-12'))).toEqual([['2027-06-12T09:00:00.000+03:00', '2027-06-12T20:00:00.000+03:00']]);
      expect(calendar.closedReason('2027-01-11')).toBeUndefined();
    });

    it('is open throughout a time inside the hours, not one that runs past closing or starts before opening', () => {
      expect(calendar.isOpenThroughout(at('2027-01-11T18:00'), at('2027-01-11T22:00'))).toBe(true);
      expect(calendar.isOpenThroughout(at('2027-01-11T21:30'), at('2027-01-11T22:30'))).toBe(false);
      expect(calendar.isOpenThroughout(at('2027-01-11T06:30'), at('2027-01-11T07:30'))).toBe(false);
      expect(calendar.isOpenThroughout(at('2027-01-11T22:00'), at('2027-01-11T23:00'))).toBe(false);
    });

    it('is not open throughout an empty or backwards interval', () => {
      expect(calendar.isOpenThroughout(at('2027-01-11T10:00'), at('2027-01-11T10:00'))).toBe(false);
      expect(calendar.isOpenThroughout(at('2027-01-11T11:00'), at('2027-01-11T10:00'))).toBe(false);
    });

    it('finds the interval a time lies in, from the opening time', () => {
      expect(calendar.openIntervalContaining(at('2027-01-11T12:34'))).toEqual([at('2027-01-11T07:00'), at('2027-01-11T22:00')]);
      expect(calendar.openIntervalContaining(at('2027-01-11T07:00'))).toEqual([at('2027-01-11T07:00'), at('2027-01-11T22:00')]);
      expect(calendar.openIntervalContaining(at('2027-01-11T22:00'))).toBeUndefined();
      expect(calendar.openIntervalContaining(at('2027-01-11T06:59'))).toBeUndefined();
    });

    it('counts open minutes over a week with a public holiday in it', () => {
      // Mon 2027-01-04 .. Sun 2027-01-10; Wednesday is Epiphany, closed
      expect(calendar.openMinutesBetween('2027-01-04', '2027-01-10')).toBe(4 * 15 * 60 + 2 * 11 * 60);
      expect(calendar.openMinutesBetween('2027-01-05', '2027-01-04')).toBe(0);
    });
  });

  describe('given a public holiday', () => {
    it('is closed by default and says it is a holiday', () => {
      const calendar = new OpeningCalendar(standard);
      expect(calendar.openIntervalsOn('2027-01-06')).toEqual([]);
      expect(calendar.closedReason('2027-01-06')).toBe('HOLIDAY');
      expect(calendar.closedReason('2027-06-25')).toBe('HOLIDAY'); // Midsummer Eve, de facto
    });

    it("keeps weekly hours with holidays: 'open'", () => {
      const calendar = new OpeningCalendar({ ...standard, holidays: 'open' });
      expect(calendar.openIntervalsOn('2027-01-06')).toEqual([[at('2027-01-06T07:00'), at('2027-01-06T22:00')]]);
    });

    it('uses holiday hours when given', () => {
      const calendar = new OpeningCalendar({ ...standard, holidays: { ranges: [{ from: '10:00', to: '14:00' }] } });
      expect(calendar.openIntervalsOn('2027-01-06')).toEqual([[at('2027-01-06T10:00'), at('2027-01-06T14:00')]]);
      // also on a Sunday holiday that is normally open
      expect(calendar.openIntervalsOn('2027-03-28')).toEqual([[at('2027-03-28T10:00'), at('2027-03-28T14:00')]]);
    });

    it('gives no reason when the unit would be closed that weekday anyway', () => {
      const calendar = new OpeningCalendar({ weekly: { mon: weekdays } });
      expect(calendar.closedReason('2027-01-06')).toBeUndefined(); // a Wednesday
      expect(calendar.closedReason('2027-01-07')).toBeUndefined();
    });

    it('lets an exception open it anyway (exceptions win over holidays)', () => {
      const calendar = new OpeningCalendar({ ...standard, exceptions: [{ date: '2027-12-24', ranges: [{ from: '08:00', to: '12:00' }] }] });
      expect(calendar.openIntervalsOn('2027-12-24')).toEqual([[at('2027-12-24T08:00'), at('2027-12-24T12:00')]]);
      expect(calendar.closedReason('2027-12-24')).toBeUndefined();
      expect(calendar.closedReason('2027-12-25')).toBe('HOLIDAY');
    });
  });

  describe('given exceptions and closures', () => {
    const calendar = new OpeningCalendar({
      ...standard,
      exceptions: [
        { date: '2027-02-01', ranges: [{ from: '12:00', to: '14:00' }], reason: 'Staff training' },
        { date: '2027-02-02', ranges: [] },
        { date: '2027-02-07', ranges: [] }, // a Sunday, normally open
        { date: '2027-02-10', ranges: [{ from: '10:00', to: '12:00' }] }, // inside the closure below
      ],
      closures: [{ from: '2027-02-08', to: '2027-02-12', reason: 'Floor renovation' }],
    });

    it('an exception replaces the weekly hours of its date', () => {
      expect(calendar.openIntervalsOn('2027-02-01')).toEqual([[at('2027-02-01T12:00'), at('2027-02-01T14:00')]]);
      expect(calendar.openIntervalsOn('2027-02-03')).toEqual([[at('2027-02-03T07:00'), at('2027-02-03T22:00')]]);
    });

    it('an empty exception closes a normally open day and says so', () => {
      expect(calendar.openIntervalsOn('2027-02-02')).toEqual([]);
      expect(calendar.closedReason('2027-02-02')).toBe('EXCEPTION');
      expect(calendar.closedReason('2027-02-07')).toBe('EXCEPTION');
    });

    it('a closure closes every date in it, both ends included, even over an exception', () => {
      for (const d of ['2027-02-08', '2027-02-10', '2027-02-12']) {
        expect(calendar.openIntervalsOn(d)).toEqual([]);
        expect(calendar.closedReason(d)).toBe('CLOSED');
      }
      expect(calendar.openIntervalsOn('2027-02-13')).toHaveLength(1);
      expect(calendar.openMinutesBetween('2027-02-08', '2027-02-14')).toBe(2 * 11 * 60);
    });
  });

  describe('given ranges that touch', () => {
    it('merges adjacent ranges of a day into one interval', () => {
      const calendar = new OpeningCalendar({ weekly: { mon: [{ from: '08:00', to: '12:00' }, { from: '12:00', to: '16:00' }, { from: '17:00', to: '18:00' }] } });
      expect(calendar.openIntervalsOn('2027-01-11')).toEqual([
        [at('2027-01-11T08:00'), at('2027-01-11T16:00')],
        [at('2027-01-11T17:00'), at('2027-01-11T18:00')],
      ]);
      expect(calendar.isOpenThroughout(at('2027-01-11T11:00'), at('2027-01-11T13:00'))).toBe(true);
      expect(calendar.isOpenThroughout(at('2027-01-11T15:00'), at('2027-01-11T17:30'))).toBe(false);
    });

    describe("and '24:00' followed by the next day's '00:00'", () => {
      // Friday evening runs on into Saturday night; Saturday is open all day; Sunday until 02:00
      const calendar = new OpeningCalendar({
        weekly: {
          thu: [{ from: '18:00', to: '24:00' }],
          fri: [{ from: '00:00', to: '01:00' }, { from: '18:00', to: '24:00' }],
          sat: allDay,
          sun: [{ from: '00:00', to: '02:00' }, { from: '10:00', to: '12:00' }],
        },
        holidays: 'open',
      });

      it('lists the open night once, on the day it opens', () => {
        expect(calendar.openIntervalsOn('2027-01-07')).toEqual([[at('2027-01-07T18:00'), at('2027-01-08T01:00')]]);
        expect(calendar.openIntervalsOn('2027-01-08')).toEqual([[at('2027-01-08T18:00'), at('2027-01-10T02:00')]]);
        expect(calendar.openIntervalsWithinDay('2027-01-08')).toEqual([
          [at('2027-01-08T00:00'), at('2027-01-08T01:00')],
          [at('2027-01-08T18:00'), at('2027-01-09T00:00')],
        ]);
      });

      it('starts a new interval at the midnight of a day open round the clock', () => {
        expect(calendar.openIntervalsOn('2027-01-09')).toEqual([[at('2027-01-09T00:00'), at('2027-01-10T02:00')]]);
        expect(calendar.openIntervalsOn('2027-01-10')).toEqual([[at('2027-01-10T10:00'), at('2027-01-10T12:00')]]);
      });

      it('allows a reservation across midnight where the hours run on', () => {
        expect(calendar.isOpenThroughout(at('2027-01-07T23:00'), at('2027-01-08T01:00'))).toBe(true);
        expect(calendar.isOpenThroughout(at('2027-01-07T23:00'), at('2027-01-08T01:30'))).toBe(false);
        expect(calendar.isOpenThroughout(at('2027-01-08T20:00'), at('2027-01-10T02:00'))).toBe(true);
      });

      it('finds the interval of a time after midnight from the previous evening', () => {
        expect(calendar.openIntervalContaining(at('2027-01-08T00:30'))).toEqual([at('2027-01-07T18:00'), at('2027-01-08T01:00')]);
        expect(calendar.openIntervalContaining(at('2027-01-08T23:30'))).toEqual([at('2027-01-08T18:00'), at('2027-01-10T02:00')]);
        expect(calendar.openIntervalContaining(at('2027-01-09T12:00'))).toEqual([at('2027-01-09T00:00'), at('2027-01-10T02:00')]);
        expect(calendar.openIntervalContaining(at('2027-01-10T01:00'))).toEqual([at('2027-01-09T00:00'), at('2027-01-10T02:00')]);
      });

      it('does not run on when the next day opens later than midnight', () => {
        const c = new OpeningCalendar({ weekly: { fri: [{ from: '18:00', to: '24:00' }], sat: [{ from: '00:30', to: '02:00' }] } });
        expect(c.openIntervalsOn('2027-01-08')).toEqual([[at('2027-01-08T18:00'), at('2027-01-09T00:00')]]);
        expect(c.isOpenThroughout(at('2027-01-08T23:00'), at('2027-01-09T01:00'))).toBe(false);
      });
    });
  });

  describe('given a unit open round the clock', () => {
    const calendar = new OpeningCalendar(roundTheClock);

    it('counts start times from each midnight and follows the hours on for two weeks after that day', () => {
      const iv = calendar.openIntervalContaining(at('2027-01-11T13:30'));
      expect(iv?.[0]).toBe(at('2027-01-11T00:00'));
      expect(iv?.[1]).toBe(at('2027-01-26T00:00'));
    });

    it('accepts a reservation over midnight, and one lasting a week', () => {
      expect(calendar.isOpenThroughout(at('2027-01-11T23:00'), at('2027-01-12T01:00'))).toBe(true);
      expect(calendar.isOpenThroughout(at('2027-01-11T12:00'), at('2027-01-18T12:00'))).toBe(true);
      expect(calendar.isOpenThroughout(at('2027-01-01T12:00'), at('2027-03-01T12:00'))).toBe(true);
    });
  });

  describe('on daylight saving days', () => {
    const calendar = new OpeningCalendar(roundTheClock);

    it.each([
      ['2026-03-29', 23 * 60],
      ['2026-10-25', 25 * 60],
      ['2027-03-28', 23 * 60],
      ['2027-10-31', 25 * 60],
    ])('a day open 00:00-24:00 on %s is open %i real minutes', (date, expected) => {
      expect(calendar.openMinutesBetween(date, date)).toBe(expected);
      expect(minutes(calendar.openIntervalsWithinDay(date)[0]!)).toBe(expected);
    });

    it('counts a week with the spring change as one hour short', () => {
      expect(calendar.openMinutesBetween('2027-03-22', '2027-03-28')).toBe(7 * 24 * 60 - 60);
    });

    const sunday = (ranges: { from: string; to: string }[]) => new OpeningCalendar({ weekly: { sun: ranges }, holidays: 'open' });

    it('spring: 02:00-05:00 is two real hours', () => {
      const iv = sunday([{ from: '02:00', to: '05:00' }]).openIntervalsOn('2027-03-28');
      expect(shown(iv)).toEqual([['2027-03-28T02:00:00.000+02:00', '2027-03-28T05:00:00.000+03:00']]);
      expect(minutes(iv[0]!)).toBe(120);
    });

    it('spring: a boundary in the gap moves to 04:00, the first instant after it', () => {
      expect(shown(sunday([{ from: '03:30', to: '06:00' }]).openIntervalsOn('2026-03-29'))).toEqual([
        ['2026-03-29T04:00:00.000+03:00', '2026-03-29T06:00:00.000+03:00'],
      ]);
      expect(shown(sunday([{ from: '01:00', to: '03:30' }]).openIntervalsOn('2026-03-29'))).toEqual([
        ['2026-03-29T01:00:00.000+02:00', '2026-03-29T04:00:00.000+03:00'],
      ]);
    });

    it('spring: a range wholly inside the gap never opens', () => {
      const c = sunday([{ from: '03:15', to: '03:45' }, { from: '10:00', to: '11:00' }]);
      expect(shown(c.openIntervalsOn('2027-03-28'))).toEqual([['2027-03-28T10:00:00.000+03:00', '2027-03-28T11:00:00.000+03:00']]);
    });

    it('spring: ranges either side of the gap meet at 04:00 and merge', () => {
      const c = sunday([{ from: '01:00', to: '03:00' }, { from: '04:00', to: '06:00' }]);
      expect(shown(c.openIntervalsOn('2027-03-28'))).toEqual([['2027-03-28T01:00:00.000+02:00', '2027-03-28T06:00:00.000+03:00']]);
      expect(c.openMinutesBetween('2027-03-28', '2027-03-28')).toBe(240);
    });

    it('autumn: 02:00-05:00 is four real hours', () => {
      const iv = sunday([{ from: '02:00', to: '05:00' }]).openIntervalsOn('2026-10-25');
      expect(minutes(iv[0]!)).toBe(240);
    });

    it('autumn: a range opening in the repeated hour opens at its first occurrence', () => {
      expect(shown(sunday([{ from: '03:30', to: '06:00' }]).openIntervalsOn('2027-10-31'))).toEqual([
        ['2027-10-31T03:30:00.000+03:00', '2027-10-31T06:00:00.000+02:00'],
      ]);
    });

    it('autumn: a range closing in the repeated hour closes at its second occurrence', () => {
      expect(shown(sunday([{ from: '01:00', to: '03:30' }]).openIntervalsOn('2027-10-31'))).toEqual([
        ['2027-10-31T01:00:00.000+03:00', '2027-10-31T03:30:00.000+02:00'],
      ]);
    });

    it('autumn: a range closing at 03:00 closes at the first 03:00, after which the clock never shows an earlier time', () => {
      const iv = sunday([{ from: '00:00', to: '03:00' }]).openIntervalsOn('2026-10-25');
      expect(shown(iv)).toEqual([['2026-10-25T00:00:00.000+03:00', '2026-10-25T03:00:00.000+03:00']]);
      expect(minutes(iv[0]!)).toBe(180);
    });

    it('autumn: a range from 03:00 opens at the first 03:00', () => {
      const iv = sunday([{ from: '03:00', to: '04:00' }]).openIntervalsOn('2026-10-25');
      expect(shown(iv)).toEqual([['2026-10-25T03:00:00.000+03:00', '2026-10-25T04:00:00.000+02:00']]);
      expect(minutes(iv[0]!)).toBe(120);
    });

    it('autumn: a reservation in both occurrences of 03:00-04:00 of a night-open unit is open throughout', () => {
      const c = sunday([{ from: '00:00', to: '08:00' }]);
      expect(c.isOpenThroughout(at('2027-10-31T03:00+03:00'), at('2027-10-31T04:00+02:00'))).toBe(true);
      expect(c.openMinutesBetween('2027-10-31', '2027-10-31')).toBe(9 * 60);
    });
  });
});
