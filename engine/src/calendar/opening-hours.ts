/**
 * A reservation unit's opening hours: the shape staff write (weekly hours,
 * dated exceptions, closures, a holiday policy) and `OpeningCalendar`, which
 * turns them into real instants, DST included.
 *
 * Which rule decides a date, strongest first:
 *   closure > exception for that date > holiday policy > weekly hours.
 * A closure is absolute (renovation, evacuation); an exception replaces the
 * weekly hours of one date and wins over the holiday policy, so staff can open
 * one holiday without changing the policy for all of them.
 *
 * Wall ranges become instants as a person reads a sign on the door (see
 * `wallRangeToInstants`): a boundary inside spring's skipped hour is the first
 * instant after the gap (04:00), and a range touching autumn's repeated hour
 * opens at the first occurrence of `from` and stays open until the clock last
 * shows a time before `to`, so every range is one unbroken interval.
 */
import { z } from 'zod';
import { fail, ok } from '../shared/result.js';
import type { Result } from '../shared/result.js';
import type { Instant, LocalDate } from './calendar.js';
import {
  addDays,
  dateOfDayNumber,
  dayNumberOf,
  isLocalDate,
  localDayNumber,
  startOfLocalDay,
  wallMinutesOf,
  wallRangeToInstants,
  weekdayOf,
} from './calendar.js';
import { holidayOn } from './holidays.js';

// ---------------------------------------------------------------------------
// Schema

const startTime = z.string().check((ctx) => {
  const m = wallMinutesOf(ctx.value);
  if (m === undefined || m === 1440) {
    ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, message: `'${ctx.value}' is not an opening time; use HH:mm from 00:00 to 23:59` });
  }
});

const endTime = z.string().check((ctx) => {
  const m = wallMinutesOf(ctx.value);
  if (m === undefined || m === 0) {
    ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, message: `'${ctx.value}' is not a closing time; use HH:mm from 00:01 to 24:00 (24:00 is midnight at the end of the day)` });
  }
});

// zod runs these refinements even when a field inside already failed, so each
// one checks only what parsed and leaves the rest to that field's message.
export const timeRangeSchema = z.strictObject({ from: startTime, to: endTime }).check((ctx) => {
  const from = wallMinutesOf(ctx.value.from);
  const to = wallMinutesOf(ctx.value.to);
  if (from !== undefined && to !== undefined && from >= to) {
    ctx.issues.push({
      continue: true,
      code: 'custom',
      input: ctx.value,
      path: ['to'],
      message: `range ${ctx.value.from}-${ctx.value.to} does not end after it starts; 'to' must be later than 'from' (write '24:00' for midnight at the end of the day; a range cannot run past midnight, continue it on the next day from '00:00')`,
    });
  }
});
export type TimeRange = z.infer<typeof timeRangeSchema>;

export const timeRangesSchema = z.array(timeRangeSchema).check((ctx) => {
  for (let k = 1; k < ctx.value.length; k++) {
    const prev = ctx.value[k - 1];
    const cur = ctx.value[k];
    if (prev === undefined || cur === undefined) continue;
    const prevFrom = wallMinutesOf(prev.from);
    const prevTo = wallMinutesOf(prev.to);
    const curFrom = wallMinutesOf(cur.from);
    if (prevFrom === undefined || prevTo === undefined || curFrom === undefined) continue;
    const shown = (r: TimeRange) => `${r.from}-${r.to}`;
    if (curFrom < prevFrom) {
      ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, path: [k], message: `range ${shown(cur)} comes after ${shown(prev)} but starts earlier; list ranges in time order` });
    } else if (curFrom < prevTo) {
      ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, path: [k], message: `range ${shown(cur)} overlaps ${shown(prev)}; ranges of a day must not overlap (join them into one range)` });
    }
  }
});

const localDateSchema = z.string().check((ctx) => {
  if (!isLocalDate(ctx.value)) {
    ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, message: `'${ctx.value}' is not a calendar date; use YYYY-MM-DD` });
  }
});

const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const weeklySchema = z.strictObject(
  {
    mon: timeRangesSchema.optional(),
    tue: timeRangesSchema.optional(),
    wed: timeRangesSchema.optional(),
    thu: timeRangesSchema.optional(),
    fri: timeRangesSchema.optional(),
    sat: timeRangesSchema.optional(),
    sun: timeRangesSchema.optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown day ${issue.keys.map((k) => `'${k}'`).join(', ')}; days are ${DAY_KEYS.join(', ')} (a missing day is closed)`
        : undefined,
  },
);

const exceptionSchema = z.strictObject({
  date: localDateSchema,
  /** Replaces the weekly hours of that date; [] closes it. */
  ranges: timeRangesSchema,
  reason: z.string().optional(),
});

const closureSchema = z
  .strictObject({
    from: localDateSchema,
    /** Inclusive. */
    to: localDateSchema,
    reason: z.string().min(1, { error: 'say why the unit is closed; customers see the reason' }),
  })
  .check((ctx) => {
    const { from, to } = ctx.value;
    if (isLocalDate(from) && isLocalDate(to) && to < from) {
      ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, path: ['to'], message: `closure ends (${to}) before it starts (${from})` });
    }
  });

const holidayPolicySchema = z.union([z.literal('closed'), z.literal('open'), z.strictObject({ ranges: timeRangesSchema })], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `holidays must be 'closed', 'open' (weekly hours apply) or { ranges: [...] } (these hours on every holiday)`
      : undefined,
});

export const openingHoursSchema = z.strictObject({
  weekly: weeklySchema,
  exceptions: z
    .array(exceptionSchema)
    .check((ctx) => {
      const seen = new Set<string>();
      ctx.value.forEach((e, k) => {
        if (seen.has(e.date)) {
          ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, path: [k, 'date'], message: `a second exception for ${e.date}; give each date one exception with all its ranges` });
        }
        seen.add(e.date);
      });
    })
    .optional(),
  closures: z.array(closureSchema).optional(),
  /** Default 'closed'. The de-facto holidays (Midsummer Eve, Christmas Eve) count. */
  holidays: holidayPolicySchema.optional(),
});
export type OpeningHours = z.infer<typeof openingHoursSchema>;

/** Validates opening hours from outside, with one line per problem naming where it is. */
export const parseOpeningHours = (input: unknown, field = 'openingHours'): Result<OpeningHours> => {
  const parsed = openingHoursSchema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  const issues = parsed.error.issues.map((i) => ({
    path: [field, ...i.path.map(String)].join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]'),
    message: i.message,
  }));
  return fail('VALIDATION_FAILED', `Opening hours are not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`, {
    field,
    details: { issues },
  });
};

// ---------------------------------------------------------------------------
// Calendar

export type OpenInterval = readonly [start: Instant, end: Instant];
export type ClosedReason = 'HOLIDAY' | 'CLOSED' | 'EXCEPTION';

type WallRange = readonly [from: number, to: number];

interface Day {
  readonly start: Instant;
  readonly end: Instant;
  /** Open time on this date only, merged, clipped to its midnights. */
  readonly own: readonly OpenInterval[];
  readonly closedReason: ClosedReason | undefined;
}

/**
 * How far an interval that stays open across midnight is followed. A unit
 * open round the clock would otherwise be one endless interval; two weeks is
 * longer than any reservation rule allows (7 days).
 */
const MAX_SPAN_DAYS = 14;

const toWallRanges = (ranges: readonly TimeRange[] | undefined): readonly WallRange[] =>
  (ranges ?? []).map((r) => {
    const from = wallMinutesOf(r.from);
    const to = wallMinutesOf(r.to);
    if (from === undefined || to === undefined) throw new Error(`opening hours not validated: ${r.from}-${r.to}`);
    return [from, to] as const;
  });

/**
 * One unit's opening hours as instants. Built once per unit; every date's
 * answer is memoised, since the booking path asks about the same few dates
 * over and over. Dates are not evicted: a unit is asked about a bounded
 * window of days.
 */
export class OpeningCalendar {
  /** Index 1 = Monday .. 7 = Sunday; index 0 unused. */
  private readonly weekly: readonly (readonly WallRange[])[];
  private readonly exceptions: ReadonlyMap<LocalDate, readonly WallRange[]>;
  private readonly closures: readonly { readonly from: number; readonly to: number }[];
  private readonly holidays: 'closed' | 'open' | readonly WallRange[];
  private readonly days = new Map<number, Day>();
  private readonly anchored = new Map<number, readonly OpenInterval[]>();

  constructor(hours: OpeningHours) {
    this.weekly = [[], ...DAY_KEYS.map((k) => toWallRanges(hours.weekly[k]))];
    this.exceptions = new Map((hours.exceptions ?? []).map((e) => [e.date, toWallRanges(e.ranges)]));
    this.closures = (hours.closures ?? []).map((c) => ({ from: dayNumberOf(c.from), to: dayNumberOf(c.to) }));
    const h = hours.holidays ?? 'closed';
    this.holidays = typeof h === 'string' ? h : toWallRanges(h.ranges);
  }

  /**
   * The open intervals that begin on `date`, as [start, end) instants.
   * Touching ranges are one interval, and an interval open at midnight runs
   * on into the next day's hours from 00:00. Such a continuation belongs to
   * the day it opened and is not listed again on the next day, except that a
   * day open from 00:00 to 24:00 starts an interval of its own at midnight
   * (so a round-the-clock unit's start times count from midnight).
   */
  openIntervalsOn(date: LocalDate): readonly OpenInterval[] {
    return this.anchoredOn(dayNumberOf(date));
  }

  /** The open time falling on `date` itself, clipped to its midnights (for display and totals). */
  openIntervalsWithinDay(date: LocalDate): readonly OpenInterval[] {
    return this.day(dayNumberOf(date)).own;
  }

  /** Why a date the weekly hours would open (or an exception opens) is closed; undefined when it is open or simply not a working day. */
  closedReason(date: LocalDate): ClosedReason | undefined {
    return this.day(dayNumberOf(date)).closedReason;
  }

  /**
   * The open interval that `i` lies in, from its opening time: the anchor for
   * aligning start times. Its end is where the unit next closes (followed
   * across midnight for at most two weeks).
   */
  openIntervalContaining(i: Instant): OpenInterval | undefined {
    const day = localDayNumber(i);
    for (const iv of this.anchoredOn(day)) if (iv[0] <= i && i < iv[1]) return iv;
    // A continuation after midnight belongs to the previous day's interval.
    for (const iv of this.anchoredOn(day - 1)) if (iv[0] <= i && i < iv[1]) return iv;
    return undefined;
  }

  /** Whether the unit is open for all of [start, end); crosses midnight only where the hours run on without a break. */
  isOpenThroughout(start: Instant, end: Instant): boolean {
    if (!(start < end)) return false;
    let iv = this.openIntervalContaining(start);
    while (iv !== undefined && iv[1] < end) iv = this.openIntervalContaining(iv[1]);
    return iv !== undefined;
  }

  /** Real open minutes on the dates from `fromDate` to `toDate`, both included (a DST day has 23 or 25 hours). */
  openMinutesBetween(fromDate: LocalDate, toDate: LocalDate): number {
    const last = dayNumberOf(toDate);
    let ms = 0;
    for (let n = dayNumberOf(fromDate); n <= last; n++) for (const [a, b] of this.day(n).own) ms += b - a;
    return ms / 60_000;
  }

  private day(n: number): Day {
    let d = this.days.get(n);
    if (d === undefined) {
      d = this.computeDay(n);
      this.days.set(n, d);
    }
    return d;
  }

  private computeDay(n: number): Day {
    const date = dateOfDayNumber(n);
    const weekly = this.weekly[weekdayOf(date)] ?? [];

    let ranges = weekly;
    let reason: ClosedReason | undefined;
    if (holidayOn(date) !== undefined && this.holidays !== 'open') {
      ranges = this.holidays === 'closed' ? [] : this.holidays;
      if (ranges.length === 0 && weekly.length > 0) reason = 'HOLIDAY';
    }
    const exception = this.exceptions.get(date);
    if (exception !== undefined) {
      const wouldOpen = ranges.length > 0 || weekly.length > 0;
      ranges = exception;
      reason = ranges.length === 0 && wouldOpen ? 'EXCEPTION' : undefined;
    }
    if (this.closures.some((c) => c.from <= n && n <= c.to)) {
      if (ranges.length > 0 || weekly.length > 0) reason = 'CLOSED';
      ranges = [];
    }

    const start = startOfLocalDay(date);
    const end = startOfLocalDay(addDays(date, 1));
    const intervals = ranges
      .map(([from, to]) => wallRangeToInstants(date, from, to))
      .filter(([a, b]) => a < b)
      .sort((x, y) => x[0] - y[0]);
    const own: OpenInterval[] = [];
    for (const iv of intervals) {
      const last = own[own.length - 1];
      if (last !== undefined && iv[0] <= last[1]) own[own.length - 1] = [last[0], Math.max(last[1], iv[1])];
      else own.push(iv);
    }
    return { start, end, own, closedReason: own.length > 0 ? undefined : reason };
  }

  private anchoredOn(n: number): readonly OpenInterval[] {
    let list = this.anchored.get(n);
    if (list === undefined) {
      list = this.computeAnchored(n);
      this.anchored.set(n, list);
    }
    return list;
  }

  private computeAnchored(n: number): readonly OpenInterval[] {
    const today = this.day(n);
    const intervals = [...today.own];
    const first = intervals[0];
    if (first !== undefined && first[0] === today.start && !(first[1] === today.end)) {
      const previous = this.day(n - 1).own;
      if (previous[previous.length - 1]?.[1] === today.start) intervals.shift();
    }
    const last = intervals[intervals.length - 1];
    if (last !== undefined && last[1] === today.end) {
      let end = last[1];
      for (let k = n + 1; k <= n + MAX_SPAN_DAYS; k++) {
        const next = this.day(k);
        const head = next.own[0];
        if (head === undefined || head[0] !== end) break;
        end = head[1];
        if (end !== next.end) break;
      }
      intervals[intervals.length - 1] = [last[0], end];
    }
    return intervals;
  }
}
