/**
 * Helsinki wall-clock time for the whole product. Every conversion between an
 * instant and a Helsinki date or time of day goes through this file, so DST
 * rules live in exactly one place.
 *
 * The hot-path helpers (`offsetMinutesAt`, `localDateOf`, `localMinutesOf`,
 * `weekdayOf`, `localDayNumber`) never call luxon or Intl: the booking path
 * calls them per candidate slot, and Intl costs microseconds per call. They
 * use the EU rule Finland has followed since 1996 (summer time from the last
 * Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC),
 * precomputed per year. The unit tests check that table against luxon's tz
 * data for every year it covers, so a change in the rule (the EU has debated
 * abolishing DST) shows up as a failing test, not as silently wrong bookings.
 * Outside the table's years the helpers fall back to luxon.
 */
import { DateTime, IANAZone } from 'luxon';
import { fail, ok } from '../shared/result.js';
import type { Result } from '../shared/result.js';

export const ZONE = 'Europe/Helsinki';

/** Epoch milliseconds, UTC. */
export type Instant = number;
/** A Helsinki calendar date, 'YYYY-MM-DD'. */
export type LocalDate = string;

/** What to do with a wall time that does not exist or exists twice. */
export interface WallTimeOptions {
  /** Autumn's repeated hour: default 'reject' (AMBIGUOUS_LOCAL_TIME). */
  readonly ambiguous?: 'reject' | 'earlier' | 'later';
  /** Spring's skipped hour: default 'reject' (NONEXISTENT_LOCAL_TIME); 'after' gives the first instant after the gap. */
  readonly gap?: 'reject' | 'after';
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const STANDARD_OFFSET = 120;
const SUMMER_OFFSET = 180;

const helsinki = IANAZone.create(ZONE);

const fieldOf = (field: string | undefined): { field?: string } => (field === undefined ? {} : { field });

// ---------------------------------------------------------------------------
// Proleptic Gregorian day numbers (days since 1970-01-01), after Howard
// Hinnant's public-domain civil calendar algorithms: integer arithmetic only,
// so date math needs neither Date objects nor a time zone.

const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
};

const civilFromDays = (dayNumber: number): [year: number, month: number, day: number] => {
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
};

const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

const daysInMonth = (y: number, m: number): number =>
  m === 2 ? (isLeapYear(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;

/** 1 = Monday .. 7 = Sunday; day 0 (1970-01-01) was a Thursday. */
const weekdayOfDayNumber = (dayNumber: number): number => ((((dayNumber + 3) % 7) + 7) % 7) + 1;

// ---------------------------------------------------------------------------
// The DST table.

const FAST_FIRST_YEAR = 1996;
const FAST_LAST_YEAR = 2199;
const FAST_FROM = Date.UTC(FAST_FIRST_YEAR, 0, 1);
const FAST_TO = Date.UTC(FAST_LAST_YEAR + 1, 0, 1);
const AVERAGE_YEAR_MS = 365.2425 * DAY_MS;

const lastSundayOf = (year: number, month: number): number => {
  const last = daysFromCivil(year, month, daysInMonth(year, month));
  return last - (weekdayOfDayNumber(last) % 7);
};

// One extra year at the end: the year estimate below can overshoot by one
// in the last days of the table's range.
const SUMMER_STARTS = new Float64Array(FAST_LAST_YEAR - FAST_FIRST_YEAR + 2);
const SUMMER_ENDS = new Float64Array(FAST_LAST_YEAR - FAST_FIRST_YEAR + 2);
for (let k = 0; k < SUMMER_STARTS.length; k++) {
  SUMMER_STARTS[k] = lastSundayOf(FAST_FIRST_YEAR + k, 3) * DAY_MS + HOUR_MS;
  SUMMER_ENDS[k] = lastSundayOf(FAST_FIRST_YEAR + k, 10) * DAY_MS + HOUR_MS;
}

const slowOffsetMinutesAt = (i: Instant): number => {
  if (!Number.isFinite(i)) throw new RangeError(`not an instant: ${i}`);
  return helsinki.offset(i);
};

/** Helsinki's UTC offset in minutes at an instant: 120 (EET) or 180 (EEST). */
export const offsetMinutesAt = (i: Instant): number => {
  if (i >= FAST_FROM && i < FAST_TO) {
    // The estimate may name the neighbouring year within a day or two of New
    // Year; harmless, since the transitions are months away from it.
    const k = Math.trunc((i - FAST_FROM) / AVERAGE_YEAR_MS);
    return i >= SUMMER_STARTS[k]! && i < SUMMER_ENDS[k]! ? SUMMER_OFFSET : STANDARD_OFFSET;
  }
  return slowOffsetMinutesAt(i);
};

/** Integer index of the Helsinki calendar day of `i` (days since 1970-01-01), so day windows are a subtraction. */
export const localDayNumber = (i: Instant): number =>
  Math.floor((i + offsetMinutesAt(i) * MINUTE_MS) / DAY_MS);

/** Whole wall-clock minutes since Helsinki midnight (0..1439). */
export const localMinutesOf = (i: Instant): number => {
  const local = i + offsetMinutesAt(i) * MINUTE_MS;
  return Math.floor((local - Math.floor(local / DAY_MS) * DAY_MS) / MINUTE_MS);
};

// ---------------------------------------------------------------------------
// LocalDate <-> day number.

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

const formatDayNumber = (dayNumber: number): LocalDate => {
  const [y, m, d] = civilFromDays(dayNumber);
  if (y < 0 || y > 9999) throw new RangeError(`day ${dayNumber} is outside years 0000-9999`);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
};

// Formatting a date string costs more than the rest of localDateOf together,
// and the booking path asks for the same few hundred days over and over.
const CACHE_FIRST_DAY = daysFromCivil(FAST_FIRST_YEAR, 1, 1);
const CACHE_END_DAY = daysFromCivil(FAST_LAST_YEAR + 1, 1, 1);
const dateCache: (LocalDate | undefined)[] = new Array<LocalDate | undefined>(CACHE_END_DAY - CACHE_FIRST_DAY);

/** The LocalDate of a day number (see `localDayNumber`). */
export const dateOfDayNumber = (dayNumber: number): LocalDate => {
  if (dayNumber >= CACHE_FIRST_DAY && dayNumber < CACHE_END_DAY) {
    const k = dayNumber - CACHE_FIRST_DAY;
    return (dateCache[k] ??= formatDayNumber(dayNumber));
  }
  return formatDayNumber(dayNumber);
};

const DIGIT_0 = 48;
const digitsAt = (s: string, from: number, count: number): number => {
  let n = 0;
  for (let k = from; k < from + count; k++) {
    const d = s.charCodeAt(k) - DIGIT_0;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
};

/** Day number of a valid 'YYYY-MM-DD', or undefined. */
const tryDayNumberOf = (date: string): number | undefined => {
  if (date.length !== 10 || date.charCodeAt(4) !== 45 || date.charCodeAt(7) !== 45) return undefined;
  const y = digitsAt(date, 0, 4);
  const m = digitsAt(date, 5, 2);
  const d = digitsAt(date, 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined;
  return daysFromCivil(y, m, d);
};

/**
 * Day number of a LocalDate. A malformed date here is a bug (user input goes
 * through `parseLocalDate` first), so it throws.
 */
export const dayNumberOf = (date: LocalDate): number => {
  const n = tryDayNumberOf(date);
  if (n === undefined) throw new RangeError(`not a LocalDate (YYYY-MM-DD): '${date}'`);
  return n;
};

export const isLocalDate = (x: unknown): x is LocalDate => typeof x === 'string' && tryDayNumberOf(x) !== undefined;

const invalidDate = (input: string, field: string | undefined): Result<never> =>
  fail('INVALID_TIME', `'${input}' is not a calendar date. Use YYYY-MM-DD, e.g. 2027-03-28.`, fieldOf(field));

/** Validates user input as a calendar date. */
export const parseLocalDate = (input: string, field?: string): Result<LocalDate> =>
  isLocalDate(input) ? ok(input) : invalidDate(input, field);

/** The Helsinki calendar date of an instant. */
export const localDateOf = (i: Instant): LocalDate => dateOfDayNumber(localDayNumber(i));

/** ISO weekday, 1 = Monday .. 7 = Sunday, of a date or of an instant's Helsinki date. */
export const weekdayOf = (dateOrInstant: LocalDate | Instant): number =>
  weekdayOfDayNumber(typeof dateOrInstant === 'number' ? localDayNumber(dateOrInstant) : dayNumberOf(dateOrInstant));

// ---------------------------------------------------------------------------
// Date arithmetic.

export const addDays = (date: LocalDate, days: number): LocalDate => dateOfDayNumber(dayNumberOf(date) + days);

/** `b - a` in calendar days. */
export const daysBetween = (a: LocalDate, b: LocalDate): number => dayNumberOf(b) - dayNumberOf(a);

/** Every date from `from` to `to`, both included; empty when `to` is before `from`. */
export const eachDate = (from: LocalDate, to: LocalDate): LocalDate[] => {
  const first = dayNumberOf(from);
  const last = dayNumberOf(to);
  const dates: LocalDate[] = [];
  for (let n = first; n <= last; n++) dates.push(dateOfDayNumber(n));
  return dates;
};

// ---------------------------------------------------------------------------
// Wall time -> instant.

type Resolution =
  | { readonly kind: 'unique'; readonly at: Instant }
  | { readonly kind: 'ambiguous'; readonly earlier: Instant; readonly later: Instant }
  | { readonly kind: 'gap'; readonly after: Instant; readonly offsetBefore: number; readonly offsetAfter: number };

/**
 * Finds the instants whose Helsinki wall clock reads `localMs` (wall time
 * written as if it were UTC). Helsinki changes offset at most twice a year, so
 * the offsets a day either side are the only candidates.
 */
const resolveWallTime = (localMs: number): Resolution => {
  const offsetBefore = offsetMinutesAt(localMs - DAY_MS);
  const offsetAfter = offsetMinutesAt(localMs + DAY_MS);
  const a = localMs - offsetBefore * MINUTE_MS;
  const b = localMs - offsetAfter * MINUTE_MS;
  const aFits = offsetMinutesAt(a) === offsetBefore;
  const bFits = offsetMinutesAt(b) === offsetAfter;
  if (aFits && bFits && a !== b) return { kind: 'ambiguous', earlier: Math.min(a, b), later: Math.max(a, b) };
  if (aFits) return { kind: 'unique', at: a };
  if (bFits) return { kind: 'unique', at: b };
  // The wall clock skipped this reading; the transition lies between the two candidates.
  let lo = Math.min(a, b);
  let hi = Math.max(a, b);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutesAt(mid) === offsetAfter) hi = mid;
    else lo = mid;
  }
  return { kind: 'gap', after: hi, offsetBefore, offsetAfter };
};

const formatOffset = (offsetMinutes: number): string => {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(Math.floor(abs % 60))}`;
};

const formatWallClock = (localMs: number): string => {
  const ms = localMs - Math.floor(localMs / DAY_MS) * DAY_MS;
  return `${pad2(Math.floor(ms / HOUR_MS))}:${pad2(Math.floor((ms % HOUR_MS) / MINUTE_MS))}`;
};

/** `wall` is the wall time as the user wrote it, ISO style without offset. */
const resolutionToResult = (
  r: Resolution,
  wall: string,
  options: WallTimeOptions,
  field: string | undefined,
): Result<Instant> => {
  switch (r.kind) {
    case 'unique':
      return ok(r.at);
    case 'ambiguous': {
      if (options.ambiguous === 'earlier') return ok(r.earlier);
      if (options.ambiguous === 'later') return ok(r.later);
      const first = offsetMinutesAt(r.earlier);
      const second = offsetMinutesAt(r.later);
      const date = localDateOf(r.earlier);
      return fail(
        'AMBIGUOUS_LOCAL_TIME',
        `'${wall}' happens twice in Helsinki: on ${date} the clocks go back one hour. Add the offset: ` +
          `'${wall}${formatOffset(first)}' for the first one (summer time), ` +
          `'${wall}${formatOffset(second)}' for the second one (standard time).`,
        { ...fieldOf(field), details: { earlier: r.earlier, later: r.later, offsets: [formatOffset(first), formatOffset(second)] } },
      );
    }
    case 'gap': {
      if (options.gap === 'after') return ok(r.after);
      const gapStart = formatWallClock(r.after + r.offsetBefore * MINUTE_MS);
      const gapEnd = formatWallClock(r.after + r.offsetAfter * MINUTE_MS);
      const date = localDateOf(r.after);
      return fail(
        'NONEXISTENT_LOCAL_TIME',
        `'${wall}' does not exist in Helsinki: on ${date} the clocks jump from ${gapStart} to ${gapEnd}. ` +
          `Pick a time before ${gapStart} or from ${gapEnd} on.`,
        { ...fieldOf(field), details: { date, gapStart, gapEnd, firstInstantAfter: r.after } },
      );
    }
  }
};

/**
 * The instant at which Helsinki's wall clock shows `minutes` past midnight of
 * `date`. `minutes` may be 1440 (the next day's midnight), the end of a day.
 */
export const wallTimeToInstant = (
  date: LocalDate,
  minutes: number,
  options: WallTimeOptions = {},
  field?: string,
): Result<Instant> => {
  const day = tryDayNumberOf(date);
  if (day === undefined) return invalidDate(date, field);
  if (!Number.isFinite(minutes) || minutes < 0 || minutes > 1440) {
    return fail('INVALID_TIME', `${minutes} is not a time of day; use minutes from 0 to 1440.`, fieldOf(field));
  }
  const localMs = day * DAY_MS + Math.round(minutes * MINUTE_MS);
  return resolutionToResult(resolveWallTime(localMs), `${date}T${formatWallClock(localMs)}`, options, field);
};

/**
 * The instants a wall-clock range [from, to) of `date` covers, read as a
 * person reads a sign on the door: it opens the first time the clock shows
 * `from` or later, and closes after the last time the clock shows a time
 * before `to`. So a boundary in spring's skipped hour is the first instant
 * after the gap; in autumn's repeated hour `from` is the first occurrence and
 * `to` the second, except that `to` at the very start of the repeat (03:00)
 * is its first occurrence: after it the clock never shows an earlier time
 * that day. The result is empty (start >= end) when the gap swallowed the
 * whole range.
 */
export const wallRangeToInstants = (date: LocalDate, fromMinutes: number, toMinutes: number): readonly [Instant, Instant] => {
  const day = dayNumberOf(date) * DAY_MS;
  const opens = resolveWallTime(day + fromMinutes * MINUTE_MS);
  const lastBefore = resolveWallTime(day + toMinutes * MINUTE_MS - 1);
  return [
    opens.kind === 'unique' ? opens.at : opens.kind === 'ambiguous' ? opens.earlier : opens.after,
    lastBefore.kind === 'unique' ? lastBefore.at + 1 : lastBefore.kind === 'ambiguous' ? lastBefore.later + 1 : lastBefore.after,
  ];
};

/** The first instant of a Helsinki calendar day (midnight always exists exactly once in Helsinki). */
export const startOfLocalDay = (date: LocalDate): Instant => {
  const r = resolveWallTime(dayNumberOf(date) * DAY_MS);
  return r.kind === 'unique' ? r.at : r.kind === 'ambiguous' ? r.earlier : r.after;
};

/** 23 on the spring-forward day, 25 on the fall-back day, else 24. */
export const hoursInLocalDay = (date: LocalDate): number =>
  (startOfLocalDay(addDays(date, 1)) - startOfLocalDay(date)) / HOUR_MS;

/** Real elapsed minutes from `a` to `b` (a DST change day is not assumed to have 24 hours). */
export const elapsedMinutes = (a: Instant, b: Instant): number => (b - a) / MINUTE_MS;

// ---------------------------------------------------------------------------
// Parsing and formatting.

const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

// A day inside the ends keeps every accepted instant's Helsinki date within 0001..9999.
const MIN_INSTANT = daysFromCivil(1, 1, 2) * DAY_MS;
const MAX_INSTANT = daysFromCivil(9999, 12, 31) * DAY_MS;

const invalidTime = (input: string, why: string, field: string | undefined): Result<never> =>
  fail(
    'INVALID_TIME',
    `'${input}' is not a valid time: ${why}. Send an instant such as '2027-03-28T10:00:00Z' or ` +
      `'2027-03-28T10:00+03:00', a Helsinki wall time such as '2027-03-28T10:00', or epoch milliseconds.`,
    fieldOf(field),
  );

/**
 * Reads a time a user sent: epoch milliseconds, an ISO 8601 instant (with `Z`
 * or an offset, taken as given even if Helsinki never uses that offset), or a
 * Helsinki wall time without offset, which must name exactly one instant.
 */
export const parseTime = (input: string | number, field?: string): Result<Instant> => {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input)) {
      return fail('INVALID_TIME', `${input} is not a time: epoch milliseconds must be a whole number.`, fieldOf(field));
    }
    if (input < MIN_INSTANT || input > MAX_INSTANT) {
      return fail('INVALID_TIME', `${input} is not a time between years 0001 and 9999.`, fieldOf(field));
    }
    return ok(input);
  }
  if (typeof input !== 'string') return invalidTime(String(input), 'expected a string or a number', field);
  const m = ISO_PATTERN.exec(input.trim());
  if (!m) return invalidTime(input, 'not in ISO 8601 form YYYY-MM-DDTHH:mm[:ss[.SSS]][Z|±HH:mm]', field);
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  const h = Number(hs);
  const mi = Number(mis);
  const s = ss === undefined ? 0 : Number(ss);
  // Sub-millisecond digits are dropped: an Instant has millisecond resolution.
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  if (y < 1) return invalidTime(input, 'the year must be 0001 or later', field);
  if (mo < 1 || mo > 12) return invalidTime(input, `there is no month ${mos}`, field);
  if (d < 1 || d > daysInMonth(y, mo)) {
    return invalidTime(input, `${ys}-${mos} has ${daysInMonth(y, mo)} days`, field);
  }
  if (h > 23) return invalidTime(input, 'the hour must be 00-23', field);
  if (mi > 59) return invalidTime(input, 'the minute must be 00-59', field);
  if (s > 59) return invalidTime(input, 'the second must be 00-59', field);
  const localMs = daysFromCivil(y, mo, d) * DAY_MS + h * HOUR_MS + mi * MINUTE_MS + s * 1000 + ms;

  if (zone !== undefined) {
    let offset = 0;
    if (zone.toUpperCase() !== 'Z') {
      const oh = Number(zone.slice(1, 3));
      const om = zone.length > 3 ? Number(zone.slice(-2)) : 0;
      if (oh > 23 || om > 59) return invalidTime(input, `${zone} is not a UTC offset`, field);
      offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    return ok(localMs - offset * MINUTE_MS);
  }
  return resolutionToResult(resolveWallTime(localMs), input.trim(), {}, field);
};

/** ISO 8601 with Helsinki's offset, e.g. '2027-03-28T04:00:00.000+03:00'. */
export const formatInstant = (i: Instant): string => {
  if (!(i >= FAST_FROM && i < FAST_TO)) {
    const iso = DateTime.fromMillis(i, { zone: ZONE }).toISO();
    if (iso === null) throw new RangeError(`not an instant: ${i}`);
    return iso;
  }
  const offset = offsetMinutesAt(i);
  const local = i + offset * MINUTE_MS;
  const day = Math.floor(local / DAY_MS);
  const ms = local - day * DAY_MS;
  return (
    `${dateOfDayNumber(day)}T${pad2(Math.floor(ms / HOUR_MS))}:${pad2(Math.floor((ms % HOUR_MS) / MINUTE_MS))}:` +
    `${pad2(Math.floor((ms % MINUTE_MS) / 1000))}.${pad3(ms % 1000)}${formatOffset(offset)}`
  );
};

/** 'HH:mm' for wall minutes 0..1440 (1440 is '24:00', the end of a day). */
export const formatWallMinutes = (minutes: number): string => `${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;

/** Wall minutes of 'HH:mm' ('00:00'..'24:00'), or undefined when it is not one. */
export const wallMinutesOf = (hhmm: string): number | undefined => {
  if (hhmm.length !== 5 || hhmm.charCodeAt(2) !== 58) return undefined;
  const h = digitsAt(hhmm, 0, 2);
  const m = digitsAt(hhmm, 3, 2);
  if (h < 0 || m < 0 || m > 59 || h > 24 || (h === 24 && m !== 0)) return undefined;
  return h * 60 + m;
};
