/**
 * The figures a report should show, computed by the oracle's brute force for
 * the same query, keyed as the report's rows are. Used by the property tests
 * and by the dashboard test.
 */
import { DateTime } from 'luxon';
import type { AnalyticsQuery } from '../analytics/read-model.js';
import type { Row } from '../analytics/report.js';
import type { HourRecord, Oracle } from './oracle.js';

const H = 3_600_000;

interface Sums {
  open: number;
  booked: number;
  occ: number;
  bookedOcc: number;
  monOpen: number;
  monBooked: number;
  vacant: number;
  lost: number;
  vacancyCost: number;
  openCost: number;
  gBooked: number;
  gBookedOcc: number;
  gMonBooked: number;
}
const zero = (): Sums => ({ open: 0, booked: 0, occ: 0, bookedOcc: 0, monOpen: 0, monBooked: 0, vacant: 0, lost: 0, vacancyCost: 0, openCost: 0, gBooked: 0, gBookedOcc: 0, gMonBooked: 0 });

const seasonOf = (month: string): { id: string } => {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  if (m >= 5 && m <= 8) return { id: `${y}-summer` };
  const start = m >= 9 ? y : y - 1;
  return { id: `${start}-${String((start + 1) % 100).padStart(2, '0')}-winter` };
};

/** The dimension cells of an hour record (several rows for space and unit, one per group for customerGroup). */
function cellsOf(o: Oracle, q: AnalyticsQuery, r: HourRecord): { key: Row; group: string | undefined }[] {
  let out: { key: Row; group: string | undefined }[] = [{ key: {}, group: undefined }];
  for (const d of q.groupBy) {
    const next: { key: Row; group: string | undefined }[] = [];
    for (const c of out) {
      const add = (k: Row, group = c.group) => next.push({ key: { ...c.key, ...k }, group });
      switch (d) {
        case 'space':
          for (const s of [r.leaf, ...o.ancestors(r.leaf)]) add({ spaceId: s });
          break;
        case 'site':
          add({ siteId: r.siteId });
          break;
        case 'unit':
          for (const u of o.unitsOf(r.leaf)) add({ unitId: u.id });
          break;
        case 'customerGroup':
          for (const g of r.groups.keys()) add({ customerGroupId: g === '' ? 'blocked' : g }, g);
          break;
        case 'hour':
          add({ hour: r.hod });
          break;
        case 'weekday':
          add({ weekday: r.dow });
          break;
        case 'day':
          add({ date: r.date });
          break;
        case 'week':
          add({ week: r.week });
          break;
        case 'month':
          add({ month: r.month });
          break;
        case 'season':
          add({ season: seasonOf(r.month).id });
          break;
        case 'year':
          add({ year: r.year });
          break;
      }
    }
    out = next;
  }
  return out;
}

export const keyOfRow = (q: AnalyticsQuery, row: Row): string =>
  q.groupBy
    .map((d) => {
      switch (d) {
        case 'space':
          return row.spaceId;
        case 'site':
          return row.siteId;
        case 'unit':
          return row.unitId;
        case 'customerGroup':
          return row.customerGroupId;
        case 'hour':
          return row.hour;
        case 'weekday':
          return row.weekday;
        case 'day':
          return row.date;
        case 'week':
          return row.week;
        case 'month':
          return row.month;
        case 'season':
          return row.season;
        case 'year':
          return row.year;
      }
    })
    .join('|');

/** Sums per row key over the hours the filter selects. */
function sums(o: Oracle, q: AnalyticsQuery, withCosts: boolean): { rows: Map<string, { key: Row; s: Sums }>; total: Sums } {
  const hours = o.hours(q.from, q.to).filter((r) => {
    if (q.siteId !== undefined && r.siteId !== q.siteId) return false;
    if (q.unitId !== undefined && !o.leavesOfUnit(o.units.get(q.unitId)!).includes(r.leaf)) return false;
    if (q.spaceId !== undefined && !o.leavesUnder(q.spaceId).includes(r.leaf)) return false;
    return true;
  });
  const rates = new Map<string, number>();
  const rateOf = (leaf: string, year: number): number => {
    const k = `${leaf}:${year}`;
    let v = rates.get(k);
    if (v === undefined) {
      const open = o.yearOpenMs(leaf, year);
      const cost = o.annualCost(leaf);
      v = open > 0 && cost > 0 ? cost / open : 0;
      rates.set(k, v);
    }
    return v;
  };
  const rows = new Map<string, { key: Row; s: Sums }>();
  const total = zero();
  const byGroup = q.groupBy.includes('customerGroup');
  const add = (s: Sums, r: HourRecord, group: string | undefined) => {
    s.open += r.open;
    s.booked += r.booked;
    s.occ += r.occ;
    s.bookedOcc += r.bookedOcc;
    s.vacant += r.vacant;
    s.lost += r.lost;
    if (r.monitored) {
      s.monOpen += r.open;
      s.monBooked += r.booked;
    }
    if (withCosts) {
      const rate = rateOf(r.leaf, r.year);
      s.vacancyCost += r.vacant * rate;
      s.openCost += r.open * rate;
    }
    const groups = group !== undefined ? [group] : q.customerGroupId !== undefined ? [q.customerGroupId] : [...r.groups.keys()];
    for (const g of groups) {
      const v = r.groups.get(g);
      if (v === undefined) continue;
      s.gBooked += v.booked;
      s.gBookedOcc += v.bookedOcc;
      if (r.monitored) s.gMonBooked += v.booked;
    }
  };
  // A customer group's row shares the open time (and occupancy) of its space and time: f sums by the other dimensions.
  const others: AnalyticsQuery = { ...q, groupBy: q.groupBy.filter((d) => d !== 'customerGroup') };
  const shared = new Map<string, Sums>();
  for (const r of hours) {
    add(total, r, undefined);
    if (byGroup) {
      for (const c of cellsOf(o, others, r)) {
        const k = keyOfRow(others, c.key);
        let e = shared.get(k);
        if (e === undefined) {
          e = zero();
          shared.set(k, e);
        }
        add(e, r, undefined);
      }
    }
    const cells = cellsOf(o, q, r);
    for (const c of cells) {
      const k = keyOfRow(q, c.key);
      let e = rows.get(k);
      if (e === undefined) {
        e = { key: c.key, s: zero() };
        rows.set(k, e);
      }
      add(e.s, r, byGroup ? c.group : undefined);
    }
  }
  if (byGroup) {
    for (const e of rows.values()) {
      const f = shared.get(keyOfRow(others, e.key)) ?? zero();
      e.s = { ...f, gBooked: e.s.gBooked, gBookedOcc: e.s.gBookedOcc, gMonBooked: e.s.gMonBooked };
    }
  }
  return { rows, total };
}

const rate = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function expectedUtilization(o: Oracle, q: AnalyticsQuery): { rows: Map<string, Row>; totals: Row } {
  const groupOnly = q.customerGroupId !== undefined || q.groupBy.includes('customerGroup');
  const m = (s: Sums): Row => {
    const booked = groupOnly ? s.gBooked : s.booked;
    const monBooked = groupOnly ? s.gMonBooked : s.monBooked;
    const bookedOcc = groupOnly ? s.gBookedOcc : s.bookedOcc;
    return {
      openHours: s.open / H,
      bookedHours: booked / H,
      bookedRate: rate(booked, s.open),
      vacantHours: groupOnly ? null : s.vacant / H,
      monitoredOpenHours: s.monOpen / H,
      usedHours: groupOnly ? null : s.occ / H,
      usedRate: groupOnly ? null : rate(s.occ, s.monOpen),
      monitoredBookedHours: monBooked / H,
      noShowHours: (monBooked - bookedOcc) / H,
      noShowRate: rate(monBooked - bookedOcc, monBooked),
      unbookedUseHours: groupOnly ? null : (s.occ - s.bookedOcc) / H,
      unbookedUseShare: groupOnly ? null : rate(s.occ - s.bookedOcc, s.occ),
    };
  };
  const { rows, total } = sums(o, q, false);
  return { rows: new Map([...rows].map(([k, v]) => [k, { ...v.key, ...m(v.s) }])), totals: m(total) };
}

export function expectedCostOfVacancy(o: Oracle, q: AnalyticsQuery): { rows: Map<string, Row>; totals: Row } {
  const m = (s: Sums): Row => ({
    openHours: s.open / H,
    vacantHours: s.vacant / H,
    vacantShare: rate(s.vacant, s.open),
    costPerOpenHourCents: s.open > 0 ? (s.openCost / s.open) * H : null,
    openHoursCostCents: s.openCost,
    vacancyCostCents: s.vacancyCost,
    lostRevenueCents: s.lost,
    costOfVacancyCents: s.vacancyCost + s.lost,
  });
  const { rows, total } = sums(o, q, true);
  return { rows: new Map([...rows].map(([k, v]) => [k, { ...v.key, ...m(v.s) }])), totals: m(total) };
}

export function expectedUnbookedUse(o: Oracle, q: AnalyticsQuery): { rows: Map<string, Row>; totals: Row } {
  const m = (s: Sums): Row => ({
    monitoredOpenHours: s.monOpen / H,
    usedHours: s.occ / H,
    bookedUsedHours: s.bookedOcc / H,
    unbookedUseHours: (s.occ - s.bookedOcc) / H,
    unbookedUseShare: rate(s.occ - s.bookedOcc, s.occ),
    unbookedUseRate: rate(s.occ - s.bookedOcc, s.monOpen),
  });
  const { rows, total } = sums(o, q, false);
  return { rows: new Map([...rows].map(([k, v]) => [k, { ...v.key, ...m(v.s) }])), totals: m(total) };
}

/** Reservation-level figures: no-shows (marked and detected) by the reservation's start. */
export function expectedNoShows(o: Oracle, q: AnalyticsQuery, asOf: number, share = 0.05): { rows: Map<string, Row>; totals: Row } {
  const from = DateTime.fromISO(q.from, { zone: 'Europe/Helsinki' }).toMillis();
  const to = DateTime.fromISO(q.to, { zone: 'Europe/Helsinki' }).plus({ days: 1 }).toMillis();
  type A = { n: number; hours: number; marked: number; markedHours: number; monitored: number; detected: number; detectedHours: number };
  const fresh = (): A => ({ n: 0, hours: 0, marked: 0, markedHours: 0, monitored: 0, detected: 0, detectedHours: 0 });
  const rows = new Map<string, { key: Row; a: A }>();
  const total = fresh();
  for (const r of o.reservations()) {
    if (r.kind === 'blocked' || o.effect(r) !== 'booked' || r.end > asOf) continue;
    const startDay = DateTime.fromMillis(r.start, { zone: 'Europe/Helsinki' }).startOf('day').toMillis();
    if (startDay < from || startDay >= to) continue;
    if (q.siteId !== undefined && r.siteId !== q.siteId) continue;
    if (q.customerGroupId !== undefined && r.group !== q.customerGroupId) continue;
    const sensing = o.reservationSensing(r);
    const monitored = sensing.booked > 0 && sensing.monitored >= sensing.booked;
    const detected = monitored && sensing.occupied < share * sensing.booked;
    const hours = (r.end - r.start) / H;
    const add = (a: A) => {
      a.n++;
      a.hours += hours;
      if (r.noShowMarked) {
        a.marked++;
        a.markedHours += hours;
      }
      if (monitored) a.monitored++;
      if (detected) {
        a.detected++;
        a.detectedHours += hours;
      }
    };
    add(total);
    const l = DateTime.fromMillis(r.start, { zone: 'Europe/Helsinki' });
    const key: Row = {};
    for (const d of q.groupBy) {
      if (d === 'customerGroup') key.customerGroupId = r.group;
      else if (d === 'site') key.siteId = r.siteId;
      else if (d === 'unit') key.unitId = r.unitId;
      else if (d === 'hour') key.hour = l.hour;
      else if (d === 'weekday') key.weekday = l.weekday;
      else if (d === 'day') key.date = l.toISODate();
      else if (d === 'month') key.month = l.toFormat('yyyy-MM');
      else throw new Error(`expectedNoShows does not group by ${d}`);
    }
    const k = keyOfRow(q, key);
    let e = rows.get(k);
    if (e === undefined) {
      e = { key, a: fresh() };
      rows.set(k, e);
    }
    add(e.a);
  }
  const m = (a: A): Row => ({
    reservations: a.n,
    bookedHours: a.hours,
    markedNoShows: a.marked,
    markedNoShowRate: rate(a.marked, a.n),
    markedNoShowHours: a.markedHours,
    monitoredReservations: a.monitored,
    detectedNoShows: a.detected,
    detectedNoShowRate: rate(a.detected, a.monitored),
    detectedNoShowHours: a.detectedHours,
  });
  return { rows: new Map([...rows].map(([k, v]) => [k, { ...v.key, ...m(v.a) }])), totals: m(total) };
}

/** Handling SLA by the time the request was submitted for handling. */
export function expectedHandling(o: Oracle, q: AnalyticsQuery, asOf: number, promiseHours: number): Row {
  const from = DateTime.fromISO(q.from, { zone: 'Europe/Helsinki' }).toMillis();
  const to = DateTime.fromISO(q.to, { zone: 'Europe/Helsinki' }).plus({ days: 1 }).toMillis();
  const promise = promiseHours * H;
  let requests = 0;
  let decided = 0;
  let within = 0;
  let pending = 0;
  let overdue = 0;
  let withdrawn = 0;
  const durations: number[] = [];
  for (const r of o.reservations()) {
    if (r.handlingAt === null || r.handlingAt < from || r.handlingAt >= to) continue;
    requests++;
    if (r.decidedAt !== null && r.decidedAt <= asOf) {
      decided++;
      const d = r.decidedAt - r.handlingAt;
      durations.push(d);
      if (d <= promise) within++;
    } else if (r.endedAt !== null && r.endedAt <= asOf) withdrawn++;
    else {
      pending++;
      if (asOf - r.handlingAt > promise) overdue++;
    }
  }
  durations.sort((a, b) => a - b);
  const pct = (p: number) => (durations.length === 0 ? null : durations[Math.max(0, Math.ceil(p * durations.length) - 1)]! / H);
  return {
    requests,
    decided,
    withdrawn,
    pending,
    overduePending: overdue,
    decidedWithinPromise: within,
    withinPromiseShare: rate(within, decided + overdue),
    medianHoursToDecision: pct(0.5),
    p90HoursToDecision: pct(0.9),
  };
}

/** Compares a report's figure with the expected one: equal to 3 decimals (hours and rates are rounded to 4), cents to one. */
export function closeTo(actual: unknown, expected: unknown, key: string): boolean {
  if (expected === null || actual === null) return actual === expected || (typeof expected === 'number' && Math.abs(expected) < 1e-9 && actual === null);
  if (typeof expected !== 'number' || typeof actual !== 'number') return actual === expected;
  const tolerance = key.endsWith('Cents') ? 1 : 1e-3;
  return Math.abs(actual - expected) <= tolerance + Math.abs(expected) * 1e-9;
}
