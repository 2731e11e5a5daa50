import { describe, expect, it } from 'vitest';
import { addDays, weekdayOf } from './calendar.js';
import { finnishHolidays, holidayOn, isHoliday } from './holidays.js';

/**
 * Official dates written out by hand (Finnish Calendar / almanakka.helsinki.fi).
 * Columns: Good Friday, Easter Sunday, Easter Monday, Ascension, Whit Sunday,
 * Midsummer Eve, Midsummer Day, All Saints' Day. The fixed dates are the same
 * every year and are added below.
 */
const MOVABLE: Record<number, readonly string[]> = {
  2025: ['04-18', '04-20', '04-21', '05-29', '06-08', '06-20', '06-21', '11-01'],
  2026: ['04-03', '04-05', '04-06', '05-14', '05-24', '06-19', '06-20', '10-31'],
  2027: ['03-26', '03-28', '03-29', '05-06', '05-16', '06-25', '06-26', '11-06'],
  2028: ['04-14', '04-16', '04-17', '05-25', '06-04', '06-23', '06-24', '11-04'],
  2029: ['03-30', '04-01', '04-02', '05-10', '05-20', '06-22', '06-23', '11-03'],
  2030: ['04-19', '04-21', '04-22', '05-30', '06-09', '06-21', '06-22', '11-02'],
};

const officialTable = (year: number) => {
  const [goodFriday, easter, easterMonday, ascension, whitSunday, midsummerEve, midsummerDay, allSaints] = MOVABLE[year]!;
  return [
    ['01-01', "New Year's Day", 'uudenvuodenpäivä', 'public'],
    ['01-06', 'Epiphany', 'loppiainen', 'public'],
    [goodFriday, 'Good Friday', 'pitkäperjantai', 'public'],
    [easter, 'Easter Sunday', 'pääsiäispäivä', 'public'],
    [easterMonday, 'Easter Monday', 'toinen pääsiäispäivä', 'public'],
    ['05-01', 'May Day', 'vappu', 'public'],
    [ascension, 'Ascension Day', 'helatorstai', 'public'],
    [whitSunday, 'Whit Sunday', 'helluntaipäivä', 'public'],
    [midsummerEve, 'Midsummer Eve', 'juhannusaatto', 'de-facto'],
    [midsummerDay, 'Midsummer Day', 'juhannuspäivä', 'public'],
    [allSaints, "All Saints' Day", 'pyhäinpäivä', 'public'],
    ['12-06', 'Independence Day', 'itsenäisyyspäivä', 'public'],
    ['12-24', 'Christmas Eve', 'jouluaatto', 'de-facto'],
    ['12-25', 'Christmas Day', 'joulupäivä', 'public'],
    ['12-26', "St Stephen's Day", 'tapaninpäivä', 'public'],
  ]
    .map(([md, name, nameFi, type]) => ({ date: `${year}-${md}`, name, nameFi, type }))
    .sort((a, b) => a.date.localeCompare(b.date));
};

/** Anonymous Gregorian algorithm (Meeus/Jones/Butcher), independent of date-holidays. */
const easterSunday = (y: number): string => {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return `${y}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
};

const YEARS = [2025, 2026, 2027, 2028, 2029, 2030];

describe('Finnish holidays', () => {
  describe('the hand-written table is itself right', () => {
    it('has Easter where the computus puts it', () => {
      expect(YEARS.map(easterSunday)).toEqual(['2025-04-20', '2026-04-05', '2027-03-28', '2028-04-16', '2029-04-01', '2030-04-21']);
      for (const y of YEARS) {
        const [goodFriday, easter, easterMonday, ascension, whitSunday] = MOVABLE[y]!.map((md) => `${y}-${md}`);
        const e = easterSunday(y);
        expect([goodFriday, easter, easterMonday, ascension, whitSunday]).toEqual([
          addDays(e, -2),
          e,
          addDays(e, 1),
          addDays(e, 39),
          addDays(e, 49),
        ]);
      }
    });

    it('has Midsummer Eve on the Friday 19-25 June, Midsummer Day the Saturday 20-26 June, All Saints the Saturday 31 Oct-6 Nov', () => {
      for (const y of YEARS) {
        const [, , , , , eve, day, saints] = MOVABLE[y]!.map((md) => `${y}-${md}`);
        expect(weekdayOf(eve!)).toBe(5);
        expect(eve! >= `${y}-06-19` && eve! <= `${y}-06-25`).toBe(true);
        expect(day).toBe(addDays(eve!, 1));
        expect(weekdayOf(saints!)).toBe(6);
        expect(saints! >= `${y}-10-31` && saints! <= `${y}-11-06`).toBe(true);
      }
    });
  });

  it.each(YEARS)('lists exactly the official holidays of %i', (year) => {
    expect(finnishHolidays(year)).toEqual(officialTable(year));
  });

  it('leaves out days that are not holidays in Finland', () => {
    expect(isHoliday('2027-12-31')).toBe(false); // New Year's Eve
    expect(isHoliday('2027-05-09')).toBe(false); // Mother's Day
    expect(isHoliday('2027-11-14')).toBe(false); // Father's Day
    expect(isHoliday('2027-03-27')).toBe(false); // Holy Saturday
  });

  it('answers per date', () => {
    expect(holidayOn('2027-12-06')).toEqual({ date: '2027-12-06', name: 'Independence Day', nameFi: 'itsenäisyyspäivä', type: 'public' });
    expect(holidayOn('2027-06-25')?.type).toBe('de-facto');
    expect(isHoliday('2027-03-28')).toBe(true);
    expect(isHoliday('2027-03-29')).toBe(true);
    expect(holidayOn('2027-03-30')).toBeUndefined();
    expect(holidayOn('not a date')).toBeUndefined();
  });

  it('returns the same memoised list each time, which callers cannot change', () => {
    const list = finnishHolidays(2027);
    expect(finnishHolidays(2027)).toBe(list);
    expect(Object.isFrozen(list)).toBe(true);
    expect(Object.isFrozen(list[0])).toBe(true);
  });

  it('keeps the library honest over a century: Easter-based days follow the computus, midsummer and All Saints their windows', () => {
    for (let y = 2000; y <= 2100; y++) {
      const byName = new Map(finnishHolidays(y).map((h) => [h.name, h.date]));
      const e = easterSunday(y);
      expect(byName.get('Good Friday')).toBe(addDays(e, -2));
      expect(byName.get('Easter Sunday')).toBe(e);
      expect(byName.get('Ascension Day')).toBe(addDays(e, 39));
      expect(byName.get('Whit Sunday')).toBe(addDays(e, 49));
      const eve = byName.get('Midsummer Eve')!;
      expect(weekdayOf(eve) === 5 && eve >= `${y}-06-19` && eve <= `${y}-06-25`).toBe(true);
      expect(byName.get('Midsummer Day')).toBe(addDays(eve, 1));
      const saints = byName.get("All Saints' Day")!;
      expect(weekdayOf(saints) === 6 && saints >= `${y}-10-31` && saints <= `${y}-11-06`).toBe(true);
      expect(byName.size).toBe(15);
    }
  });
});
