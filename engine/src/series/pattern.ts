/**
 * A weekly (or every-n-weeks) pattern in Helsinki wall time, and the
 * occurrences it produces. Each occurrence keeps its wall time across DST
 * changes: 18:00-19:30 is 18:00-19:30 on the clock in March and in November,
 * so the instants shift by an hour between them.
 */
import { z } from 'zod';
import { addDays, dayNumberOf, wallMinutesOf, wallTimeToInstant, weekdayOf, type LocalDate } from '../calendar/index.js';
import type { DomainError } from '../shared/result.js';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time is HH:mm');

export const seriesPatternSchema = z
  .object({
    /** ISO weekdays: 1 = Monday .. 7 = Sunday. */
    weekdays: z.array(z.number().int().min(1).max(7)).min(1).max(7),
    startTime: hhmm,
    endTime: hhmm,
    fromDate: z.iso.date(),
    toDate: z.iso.date(),
    /** 1 = every week, 2 = every other week (counted from the week of fromDate). */
    everyWeeks: z.number().int().min(1).max(52).default(1),
  })
  .strict()
  .refine((p) => (wallMinutesOf(p.endTime) ?? 0) > (wallMinutesOf(p.startTime) ?? 0), {
    message: 'endTime must be after startTime (a series slot lies within one day)',
    path: ['endTime'],
  })
  .refine((p) => p.fromDate <= p.toDate, { message: 'toDate must not be before fromDate', path: ['toDate'] })
  .refine((p) => dayNumberOf(p.toDate) - dayNumberOf(p.fromDate) <= 2 * 366, {
    message: 'a series spans at most two years',
    path: ['toDate'],
  });
export type SeriesPattern = z.infer<typeof seriesPatternSchema>;

export interface Occurrence {
  date: LocalDate;
  /** The instants, or why the wall time does not exist that day (spring-forward gap). */
  span: { ok: true; start: number; end: number } | { ok: false; error: DomainError };
}

/** Every date the pattern falls on from `from` (inclusive) on, with its instants. */
export function occurrencesOf(pattern: SeriesPattern, from: LocalDate = pattern.fromDate): Occurrence[] {
  const startMin = wallMinutesOf(pattern.startTime) ?? 0;
  const endMin = wallMinutesOf(pattern.endTime) ?? 0;
  const weekdays = new Set(pattern.weekdays);
  // Weeks are counted from the Monday of fromDate's week, so "every other week" is stable under changes from a date.
  const firstMonday = addDays(pattern.fromDate, 1 - weekdayOf(pattern.fromDate));
  const out: Occurrence[] = [];
  const first = from > pattern.fromDate ? from : pattern.fromDate;
  for (let date = first; date <= pattern.toDate; date = addDays(date, 1)) {
    if (!weekdays.has(weekdayOf(date))) continue;
    const week = Math.floor((dayNumberOf(date) - dayNumberOf(firstMonday)) / 7);
    if (week % pattern.everyWeeks !== 0) continue;
    // An autumn-overlap wall time is taken at its first (summer time) occurrence: a weekly slot is "the 02:30 on the clock".
    const start = wallTimeToInstant(date, startMin, { ambiguous: 'earlier' }, 'pattern.startTime');
    const end = wallTimeToInstant(date, endMin, { ambiguous: 'later' }, 'pattern.endTime');
    if (!start.ok) out.push({ date, span: { ok: false, error: start.error } });
    else if (!end.ok) out.push({ date, span: { ok: false, error: end.error } });
    else out.push({ date, span: { ok: true, start: start.value, end: end.value } });
  }
  return out;
}
