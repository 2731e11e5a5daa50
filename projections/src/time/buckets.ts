/**
 * Hour buckets: the time grain of every utilization fact.
 *
 * A bucket is one real hour, [h, h + 1 h) in UTC, numbered `h = floor(ms /
 * 3 600 000)`. Helsinki's offset is a whole number of hours (+2 or +3), so a
 * bucket is also exactly one Helsinki wall-clock hour: the spring-forward day
 * has 23 buckets and the autumn day 25 (its 03:00 hour appears twice, once in
 * summer time and once in standard time). Every conversion to Helsinki dates,
 * weekdays and hours goes through the engine's calendar module.
 *
 * Calendar keys are small integers so that fact tables stay narrow and
 * groupings are plain integer GROUP BYs:
 *   day     days since 1970-01-01 (Helsinki date), as the engine numbers them
 *   month   YYYYMM          e.g. 202703
 *   week    ISO week YYYYWW e.g. 202713 (ISO week-numbering year)
 *   dow     1 = Monday .. 7 = Sunday
 *   hod     0..23, Helsinki wall-clock hour
 */
import { dateOfDayNumber, dayNumberOf, localDayNumber, localMinutesOf, startOfLocalDay, type LocalDate } from '@vuoro/engine';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

export interface DayKeys {
  readonly day: number;
  readonly date: LocalDate;
  readonly dow: number;
  readonly week: number;
  readonly month: number;
  readonly year: number;
}

const dayKeyCache = new Map<number, DayKeys>();

/** ISO weekday of a day number (1970-01-01 was a Thursday). */
export const dowOfDay = (day: number): number => ((((day + 3) % 7) + 7) % 7) + 1;

/** ISO week key YYYYWW of a day number. */
export function isoWeekOfDay(day: number): number {
  const dow = dowOfDay(day);
  const thursday = day - dow + 4; // the week belongs to the year of its Thursday
  const year = Number(dateOfDayNumber(thursday).slice(0, 4));
  const jan1 = dayNumberOf(`${String(year).padStart(4, '0')}-01-01`);
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return year * 100 + week;
}

export function dayKeys(day: number): DayKeys {
  let k = dayKeyCache.get(day);
  if (k === undefined) {
    const date = dateOfDayNumber(day);
    const year = Number(date.slice(0, 4));
    k = Object.freeze({ day, date, dow: dowOfDay(day), week: isoWeekOfDay(day), month: year * 100 + Number(date.slice(5, 7)), year });
    dayKeyCache.set(day, k);
  }
  return k;
}

export interface HourKeys {
  readonly hour: number;
  readonly day: number;
  readonly hod: number;
  readonly dow: number;
  readonly month: number;
}

const hourKeyCache = new Map<number, HourKeys>();

/** Helsinki calendar keys of a bucket. */
export function hourKeys(hour: number): HourKeys {
  let k = hourKeyCache.get(hour);
  if (k === undefined) {
    const at = hour * HOUR_MS;
    const day = localDayNumber(at);
    const d = dayKeys(day);
    k = Object.freeze({ hour, day, hod: Math.floor(localMinutesOf(at) / 60), dow: d.dow, month: d.month });
    if (hourKeyCache.size > 200_000) hourKeyCache.clear(); // small: a big map of objects makes every major GC slower
    hourKeyCache.set(hour, k);
  }
  return k;
}

/** First bucket of a Helsinki day and the first bucket of the next day. */
export function bucketsOfDay(day: number): readonly [first: number, end: number] {
  const date = dateOfDayNumber(day);
  return [hourOf(startOfLocalDay(date)), hourOf(startOfLocalDay(dateOfDayNumber(day + 1)))];
}

/** Instants [start, end) of a Helsinki day. */
export function spanOfDay(day: number): readonly [start: number, end: number] {
  return [startOfLocalDay(dateOfDayNumber(day)), startOfLocalDay(dateOfDayNumber(day + 1))];
}

/**
 * Calls `visit(hour, ms)` for every bucket [start, end) overlaps, with the
 * overlap in milliseconds (> 0).
 */
export function forEachBucket(start: number, end: number, visit: (hour: number, ms: number) => void): void {
  if (!(end > start)) return;
  const last = hourOf(end - 1);
  for (let h = hourOf(start); h <= last; h++) {
    const a = Math.max(start, h * HOUR_MS);
    const b = Math.min(end, (h + 1) * HOUR_MS);
    if (b > a) visit(h, b - a);
  }
}

/** Day number of the first of the month of a month key YYYYMM. */
export const firstDayOfMonth = (month: number): number =>
  dayNumberOf(`${String(Math.floor(month / 100)).padStart(4, '0')}-${String(month % 100).padStart(2, '0')}-01`);

export const nextMonth = (month: number): number => (month % 100 === 12 ? (Math.floor(month / 100) + 1) * 100 + 1 : month + 1);

export const monthLabel = (month: number): string => `${Math.floor(month / 100)}-${String(month % 100).padStart(2, '0')}`;
export const weekLabel = (week: number): string => `${Math.floor(week / 100)}-W${String(week % 100).padStart(2, '0')}`;

/**
 * Seasons as Finnish sports facilities run them: the winter season
 * (talvikausi) from `winterStartsMonth` (default September) to the month
 * before `summerStartsMonth` (default May), the summer season (kesäkausi) the
 * rest. A winter season spans New Year and is named by both years.
 */
export interface SeasonConfig {
  winterStartsMonth: number;
  summerStartsMonth: number;
}

export const DEFAULT_SEASONS: SeasonConfig = { winterStartsMonth: 9, summerStartsMonth: 5 };

/** A sortable season key: year * 10 + 1 for the summer of `year`, year * 10 + 2 for the winter starting in `year`. */
export function seasonOfMonth(month: number, seasons: SeasonConfig = DEFAULT_SEASONS): number {
  const y = Math.floor(month / 100);
  const m = month % 100;
  if (m >= seasons.summerStartsMonth && m < seasons.winterStartsMonth) return y * 10 + 1;
  return m >= seasons.winterStartsMonth ? y * 10 + 2 : (y - 1) * 10 + 2;
}

export function seasonLabel(key: number): { id: string; en: string; fi: string } {
  const y = Math.floor(key / 10);
  if (key % 10 === 1) return { id: `${y}-summer`, en: `Summer ${y}`, fi: `Kesäkausi ${y}` };
  const span = `${y}–${String((y + 1) % 100).padStart(2, '0')}`;
  return { id: `${y}-${String((y + 1) % 100).padStart(2, '0')}-winter`, en: `Winter ${span}`, fi: `Talvikausi ${span}` };
}
