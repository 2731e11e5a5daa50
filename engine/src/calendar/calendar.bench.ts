/**
 * Per-call cost of the calendar's hot-path helpers. A script that prints
 * numbers, not a test:
 *
 *   npx tsx engine/src/calendar/calendar.bench.ts
 */
import { isHoliday } from './holidays.js';
import { localDateOf, localDayNumber, localMinutesOf, offsetMinutesAt, parseTime, weekdayOf } from './calendar.js';
import { OpeningCalendar } from './opening-hours.js';

const CALLS = 2_000_000;
const base = Date.UTC(2026, 0, 1);
// 1024 instants over three years, minute-aligned like booking times
const instants = Array.from({ length: 1024 }, () => base + Math.floor(Math.random() * 3 * 365 * 1440) * 60_000);
const dates = instants.map(localDateOf);
const calendar = new OpeningCalendar({
  weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ from: '07:00', to: '22:00' }]])),
});

let sink = 0;
const bench = (name: string, run: (k: number) => unknown): void => {
  for (let k = 0; k < CALLS; k++) sink += Number(run(k) !== undefined); // warm-up
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < CALLS; k++) sink += Number(run(k) !== undefined);
  const ns = Number(process.hrtime.bigint() - t0) / CALLS;
  console.log(`${name.padEnd(36)} ${ns.toFixed(1).padStart(8)} ns/call`);
};

bench('offsetMinutesAt(instant)', (k) => offsetMinutesAt(instants[k & 1023]!));
bench('localDateOf(instant)', (k) => localDateOf(instants[k & 1023]!));
bench('localMinutesOf(instant)', (k) => localMinutesOf(instants[k & 1023]!));
bench('localDayNumber(instant)', (k) => localDayNumber(instants[k & 1023]!));
bench('weekdayOf(instant)', (k) => weekdayOf(instants[k & 1023]!));
bench('weekdayOf(date)', (k) => weekdayOf(dates[k & 1023]!));
bench('isHoliday(date)', (k) => isHoliday(dates[k & 1023]!));
bench('OpeningCalendar.isOpenThroughout', (k) => calendar.isOpenThroughout(instants[k & 1023]!, instants[k & 1023]! + 3_600_000));
bench('parseTime(wall time string)', (k) => parseTime(k & 1 ? '2027-06-15T10:30' : '2027-01-15T18:00'));
if (sink === 0) console.log('(nothing ran)');
