/**
 * Finnish public holidays, as opening hours and prices need them.
 *
 * Dates come from `date-holidays` (country FI); this file decides which of its
 * days count and what they are called. What the library gives differs from
 * what Vuoro needs in these ways (checked for 1950-2100; the dates themselves
 * were right in every year):
 * - it lists Mother's Day and Father's Day ('observance') and New Year's Eve
 *   ('bank'), which are ordinary working days in Finland: dropped;
 * - it types Midsummer Eve and Christmas Eve as 'bank'; in Finland they are
 *   not statutory holidays but nearly everything closes, so they are
 *   'de-facto' here and opening hours treat them as holidays;
 * - its English names 'Labour Day', 'Pentecost' and 'Boxing Day' are not the
 *   names Finland uses in English: 'May Day', 'Whit Sunday', "St Stephen's Day".
 *
 * The rules are those in force since 1991; between 1973 and 1990 Epiphany and
 * Ascension Day were moved to Saturdays, which neither the library nor this
 * file models (Vuoro books the future).
 */
import Holidays from 'date-holidays';
import type { LocalDate } from './calendar.js';

export interface Holiday {
  readonly date: LocalDate;
  /** English name as Finland uses it. */
  readonly name: string;
  readonly nameFi: string;
  /** 'de-facto': not a statutory holiday, but a day most of Finland is closed (Midsummer Eve, Christmas Eve). */
  readonly type: 'public' | 'de-facto';
}

/** Keyed by the library's English name; anything the library lists that is not here is dropped. */
const FINNISH_HOLIDAYS: ReadonlyMap<string, Omit<Holiday, 'date'>> = new Map([
  ["New Year's Day", { name: "New Year's Day", nameFi: 'uudenvuodenpäivä', type: 'public' }],
  ['Epiphany', { name: 'Epiphany', nameFi: 'loppiainen', type: 'public' }],
  ['Good Friday', { name: 'Good Friday', nameFi: 'pitkäperjantai', type: 'public' }],
  ['Easter Sunday', { name: 'Easter Sunday', nameFi: 'pääsiäispäivä', type: 'public' }],
  ['Easter Monday', { name: 'Easter Monday', nameFi: 'toinen pääsiäispäivä', type: 'public' }],
  ['Labour Day', { name: 'May Day', nameFi: 'vappu', type: 'public' }],
  ['Ascension Day', { name: 'Ascension Day', nameFi: 'helatorstai', type: 'public' }],
  ['Pentecost', { name: 'Whit Sunday', nameFi: 'helluntaipäivä', type: 'public' }],
  ['Midsummer Eve', { name: 'Midsummer Eve', nameFi: 'juhannusaatto', type: 'de-facto' }],
  ['Midsummer Day', { name: 'Midsummer Day', nameFi: 'juhannuspäivä', type: 'public' }],
  ["All Saints' Day", { name: "All Saints' Day", nameFi: 'pyhäinpäivä', type: 'public' }],
  ['Independence Day', { name: 'Independence Day', nameFi: 'itsenäisyyspäivä', type: 'public' }],
  ['Christmas Eve', { name: 'Christmas Eve', nameFi: 'jouluaatto', type: 'de-facto' }],
  ['Christmas Day', { name: 'Christmas Day', nameFi: 'joulupäivä', type: 'public' }],
  ['Boxing Day', { name: "St Stephen's Day", nameFi: 'tapaninpäivä', type: 'public' }],
]);

interface Year {
  readonly list: readonly Holiday[];
  readonly byDate: ReadonlyMap<LocalDate, Holiday>;
}

let library: Holidays | undefined;
const years = new Map<number, Year>();

const load = (year: number): Year => {
  library ??= new Holidays('FI');
  const list: Holiday[] = [];
  for (const h of library.getHolidays(year, 'en')) {
    const known = FINNISH_HOLIDAYS.get(h.name);
    // `date` is local Helsinki time, 'YYYY-MM-DD hh:mm:ss'.
    if (known !== undefined) list.push(Object.freeze({ date: h.date.slice(0, 10), ...known }));
  }
  // A renamed or dropped day in a library update would otherwise quietly open
  // every unit on it.
  if (new Set(list.map((h) => h.name)).size !== FINNISH_HOLIDAYS.size) {
    const missing = [...FINNISH_HOLIDAYS.values()].filter((k) => !list.some((h) => h.name === k.name)).map((k) => k.name);
    throw new Error(`date-holidays did not list these Finnish holidays for ${year}: ${missing.join(', ')}`);
  }
  list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const y: Year = { list: Object.freeze(list), byDate: new Map(list.map((h) => [h.date, h])) };
  years.set(year, y);
  return y;
};

const yearOf = (year: number): Year => years.get(year) ?? load(year);

/** Finland's public and de-facto holidays of a year, in date order. */
export const finnishHolidays = (year: number): readonly Holiday[] => {
  if (!Number.isInteger(year) || year < 1 || year > 9999) throw new RangeError(`not a year: ${year}`);
  return yearOf(year).list;
};

/** The holiday on a date (public or de-facto), if any. */
export const holidayOn = (date: LocalDate): Holiday | undefined => {
  const year = Number(date.slice(0, 4));
  if (!Number.isInteger(year) || year < 1) return undefined;
  return yearOf(year).byDate.get(date);
};

export const isHoliday = (date: LocalDate): boolean => holidayOn(date) !== undefined;
