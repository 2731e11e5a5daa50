/**
 * The read side of the analytics projection: utilization, cost of vacancy,
 * no-shows, unbooked use, SLA and reservation exports, grouped by any of
 * space, site, unit, customer group, hour of day, weekday, day, week, month,
 * season or year, over any range of Helsinki dates.
 *
 * Every figure is a SUM over the fact tables. The planner reads the coarsest
 * table that can answer: whole months from the monthly rollup, the days at
 * either end from the daily one; hours of the day from the month x weekday x
 * hour rollup; single hours only for the ragged ends. Spaces, sites and units
 * are resolved from the leaves in memory (a hall's row sums its sections).
 *
 * Reads whichever generation is live at the time of the query, so a rebuild
 * swapping generations is invisible to readers.
 */
import type { Database, Statement } from 'better-sqlite3';
import { addDays, dayNumberOf, formatInstant, localDateOf, localDayNumber, localMinutesOf, type LocalDate } from '@vuoro/engine';
import { liveGeneration } from '../runtime/state.js';
import { physicalTable } from '../runtime/projection.js';
import {
  DEFAULT_SEASONS,
  HOUR_MS,
  bucketsOfDay,
  dayKeys,
  firstDayOfMonth,
  monthLabel,
  nextMonth,
  seasonLabel,
  seasonOfMonth,
  weekLabel,
  type SeasonConfig,
} from '../time/buckets.js';
import type { Catalogue } from './catalogue.js';
import { loadCatalogue } from './catalogue-tables.js';
import { F, F_COLS, G, G_COLS, type AnalyticsTable } from './schema.js';
import { DIMENSION_COLUMNS, type Column, type Dimension, type Report, type Row } from './report.js';

export interface AnalyticsFilter {
  /** First and last Helsinki date, both included. */
  from: LocalDate;
  to: LocalDate;
  siteId?: string;
  unitId?: string;
  spaceId?: string;
  customerGroupId?: string;
}

export interface AnalyticsQuery extends AnalyticsFilter {
  groupBy: readonly Dimension[];
}

export interface ReadModelOptions {
  /** Season boundaries for `groupBy=season`. */
  seasons?: SeasonConfig;
  /** The promised time from a request needing handling to its decision (default 72 h). */
  handlingPromiseHours?: number;
  /** The promised door command round trip (default 3,000 ms). */
  doorCommandPromiseMs?: number;
  /** A fully monitored reservation counts as a detected no-show when occupied less than this share of its time (default 0.05). */
  noShowOccupiedShare?: number;
  listPriceGroupId?: string;
  /** Wall clock for "now" in SLA figures (pending requests, devices online now). */
  clock?: () => number;
}

export class QueryError extends Error {
  constructor(
    readonly code: 'VALIDATION_FAILED' | 'UNKNOWN_SITE' | 'UNKNOWN_UNIT' | 'UNKNOWN_SPACE' | 'UNKNOWN_CUSTOMER_GROUP' | 'NOT_READY',
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

const MAX_RANGE_DAYS = 3 * 366 + 1;

interface Ctx {
  t: (n: AnalyticsTable) => string;
  cat: Catalogue;
  checkpoint: number;
  appliedAt: number | null;
}

interface Acc {
  dims: Map<Dimension, string | number>;
  f: Float64Array;
  g: Float64Array;
  /** Cost of the vacant and of the open hours, when asked for. */
  vacancyCost: number;
  openCost: number;
}

type Spatial = 'leaf' | 'site' | 'city';

interface Part {
  f: AnalyticsTable;
  g: AnalyticsTable;
  spatial: Spatial;
  where: string;
  params: number[];
}

const H = (ms: number): number => ms / HOUR_MS;
const rate = (num: number, den: number): number | null => (den > 0 ? num / den : null);
const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

export class AnalyticsReadModel {
  private cached: { generation: number; version: string; cat: Catalogue } | undefined;
  private readonly seasons: SeasonConfig;
  private readonly stmts = new Map<string, Statement>();

  constructor(
    readonly db: Database,
    private readonly options: ReadModelOptions = {},
  ) {
    this.seasons = options.seasons ?? DEFAULT_SEASONS;
  }

  private prepare(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      if (this.stmts.size > 500) this.stmts.clear();
      this.stmts.set(sql, s);
    }
    return s;
  }

  private ctx(): Ctx {
    const live = liveGeneration(this.db, 'analytics');
    if (live === undefined) throw new QueryError('NOT_READY', 'The analytics read model has not been built yet; try again shortly.');
    const t = (n: AnalyticsTable) => physicalTable('analytics', n, live.generation);
    const version = (this.prepare(`SELECT value FROM ${t('meta')} WHERE key = 'catalogue_version'`).get() as { value: string } | undefined)?.value ?? '0';
    if (this.cached === undefined || this.cached.generation !== live.generation || this.cached.version !== version) {
      this.stmts.clear();
      this.cached = { generation: live.generation, version, cat: loadCatalogue(this.db, t, this.options.listPriceGroupId) };
    }
    const slot = this.db.prepare("SELECT checkpoint, applied_at FROM projection_slots WHERE projection = 'analytics' AND role = 'live'").get() as {
      checkpoint: number;
      applied_at: number | null;
    };
    return { t, cat: this.cached.cat, checkpoint: slot.checkpoint, appliedAt: slot.applied_at };
  }

  // --- filters ---------------------------------------------------------------------

  private days(f: AnalyticsFilter): { fromDay: number; toDay: number } {
    let fromDay: number;
    let toDay: number;
    try {
      fromDay = dayNumberOf(f.from);
    } catch {
      throw new QueryError('VALIDATION_FAILED', `'${f.from}' is not a date; use YYYY-MM-DD.`, 'from');
    }
    try {
      toDay = dayNumberOf(f.to);
    } catch {
      throw new QueryError('VALIDATION_FAILED', `'${f.to}' is not a date; use YYYY-MM-DD.`, 'to');
    }
    if (toDay < fromDay) throw new QueryError('VALIDATION_FAILED', `'to' (${f.to}) is before 'from' (${f.from}).`, 'to');
    if (toDay - fromDay + 1 > MAX_RANGE_DAYS) {
      throw new QueryError('VALIDATION_FAILED', `A range covers at most ${MAX_RANGE_DAYS} days; split longer ones.`, 'to');
    }
    return { fromDay, toDay };
  }

  /** The leaves the filter selects, or undefined for all of them. */
  private leaves(cat: Catalogue, f: AnalyticsFilter): number[] | undefined {
    let set: Set<number> | undefined;
    const narrow = (leaves: readonly number[]) => {
      set = set === undefined ? new Set(leaves) : new Set(leaves.filter((l) => set!.has(l)));
    };
    if (f.siteId !== undefined) {
      if (!cat.sites.has(f.siteId) && ![...cat.spaces.values()].some((s) => s.siteId === f.siteId)) {
        throw new QueryError('UNKNOWN_SITE', `Site ${f.siteId} does not exist.`, 'siteId');
      }
      narrow([...cat.spaces.values()].filter((s) => s.siteId === f.siteId && cat.isLeaf(s.spaceNo)).map((s) => s.spaceNo));
    }
    if (f.unitId !== undefined) {
      if (!cat.units.has(f.unitId)) throw new QueryError('UNKNOWN_UNIT', `Reservation unit ${f.unitId} does not exist.`, 'unitId');
      narrow(cat.leavesOfUnit(f.unitId));
    }
    if (f.spaceId !== undefined) {
      if (!cat.spaces.has(f.spaceId)) throw new QueryError('UNKNOWN_SPACE', `Space ${f.spaceId} does not exist.`, 'spaceId');
      narrow(cat.leavesOf(f.spaceId));
    }
    return set === undefined ? undefined : [...set].sort((a, b) => a - b);
  }

  private groupFilter(cat: Catalogue, f: AnalyticsFilter): number | undefined {
    if (f.customerGroupId === undefined) return undefined;
    const g = cat.groups.get(f.customerGroupId);
    if (g === undefined) throw new QueryError('UNKNOWN_CUSTOMER_GROUP', `Customer group ${f.customerGroupId} does not exist.`, 'customerGroupId');
    return g.grpNo;
  }

  // --- the planner -------------------------------------------------------------------

  /**
   * Which tables answer a range: whole months from a monthly rollup (or the
   * month x weekday x hour one when hours of the day are asked for), the
   * ragged ends from daily (or hourly) rows. City-wide rollups when the
   * question names no place, site-level ones when it needs no finer place
   * than a site, leaf level otherwise.
   */
  private parts(fromDay: number, toDay: number, time: 'hour' | 'day' | 'month' | 'hod', spatial: Spatial): Part[] {
    const prefix = { leaf: ['f_', 'g_'], site: ['s_', 'gs_'], city: ['c_', 'gc_'] }[spatial] as [string, string];
    const table = (level: string): [AnalyticsTable, AnalyticsTable] => [`${prefix[0]}${level}` as AnalyticsTable, `${prefix[1]}${level}` as AnalyticsTable];
    const dayPart = (a: number, b: number): Part => {
      const [f, g] = table('day');
      return { f, g, spatial, where: 'day BETWEEN ? AND ?', params: [a, b] };
    };
    // There is only a leaf-level hour table: hourly rows are read per leaf (of the site, when one is asked for).
    const hourPart = (a: number, b: number): Part => ({
      f: 'f_hour',
      g: 'g_hour',
      spatial: 'leaf',
      where: 'hour >= ? AND hour < ?',
      params: [bucketsOfDay(a)[0], bucketsOfDay(b)[1]],
    });
    if (time === 'day') return [dayPart(fromDay, toDay)];
    if (time === 'hour' || (time === 'hod' && spatial === 'leaf')) return [hourPart(fromDay, toDay)];
    let m = dayKeys(fromDay).month;
    if (firstDayOfMonth(m) < fromDay) m = nextMonth(m);
    let firstFull: number | undefined;
    let lastFull: number | undefined;
    while (firstDayOfMonth(nextMonth(m)) - 1 <= toDay) {
      firstFull ??= m;
      lastFull = m;
      m = nextMonth(m);
    }
    const edge = time === 'hod' ? hourPart : dayPart;
    if (firstFull === undefined || lastFull === undefined) return [edge(fromDay, toDay)];
    const [f, g] = table(time === 'hod' ? 'mdh' : 'month');
    const out: Part[] = [{ f, g, spatial, where: 'month BETWEEN ? AND ?', params: [firstFull, lastFull] }];
    const headEnd = firstDayOfMonth(firstFull) - 1;
    const tailStart = firstDayOfMonth(nextMonth(lastFull));
    if (headEnd >= fromDay) out.push(edge(fromDay, headEnd));
    if (tailStart <= toDay) out.push(edge(tailStart, toDay));
    return out;
  }

  /**
   * Sums of the fact columns grouped by the requested dimensions, and their
   * total over the whole selection, in one pass. `g` holds the customer-group
   * columns (for one group when the filter names one, or per group when
   * grouping by it); with `costs`, every leaf-year is priced at its own rate,
   * so the rows are read per leaf and month.
   */
  private facts(c: Ctx, q: AnalyticsQuery, options: { costs?: boolean } = {}): { groups: Acc[]; total: Acc } {
    const { fromDay, toDay } = this.days(q);
    const leaves = this.leaves(c.cat, q);
    const grp = this.groupFilter(c.cat, q);
    const dims = new Set(q.groupBy);
    const needDay = dims.has('day') || dims.has('week');
    const needHod = dims.has('hour');
    const needDow = dims.has('weekday');
    const needMonth = dims.has('month') || dims.has('season') || dims.has('year') || options.costs === true;
    const byLeaf = dims.has('space') || dims.has('unit') || options.costs === true;
    const spatial: Spatial =
      byLeaf || q.unitId !== undefined || q.spaceId !== undefined ? 'leaf' : dims.has('site') || q.siteId !== undefined ? 'site' : 'city';
    const time = needHod ? (needDay ? 'hour' : 'hod') : needDay || needDow ? 'day' : 'month';
    const parts = this.parts(fromDay, toDay, time, spatial);
    const siteNo = q.siteId === undefined ? undefined : c.cat.sites.get(q.siteId)?.siteNo;

    const timeCols: string[] = [];
    if (needDay) timeCols.push('day');
    if (needHod) timeCols.push('hod');
    if (needDow) timeCols.push('dow');
    if (needMonth && !needDay) timeCols.push('month');
    const placeCols = (part: Part): string[] =>
      part.spatial === 'leaf' ? (byLeaf || dims.has('site') ? ['leaf_no'] : []) : part.spatial === 'site' && dims.has('site') ? ['site_no'] : [];
    const placeCond = (part: Part): string => {
      if (part.spatial === 'leaf') return leaves === undefined ? '' : ` AND leaf_no IN (${leaves.join(',') || 'NULL'})`;
      if (part.spatial === 'site' && q.siteId !== undefined) return siteNo === undefined ? ' AND 0' : ` AND site_no = ${siteNo}`;
      return '';
    };

    // The place of a row: its leaf's spaces and units fan it out to several rows.
    const placeValues = (row: Record<string, number>): { site?: string; spaces?: string[]; units?: string[] } => {
      if (row.site_no !== undefined) return { site: c.cat.sitesByNo.get(row.site_no)?.siteId ?? '' };
      const leaf = row.leaf_no;
      if (leaf === undefined) return {};
      const info = c.cat.spacesByNo.get(leaf);
      return {
        ...(dims.has('site') ? { site: info?.siteId ?? '' } : {}),
        ...(dims.has('space') ? { spaces: info === undefined ? [] : [info.spaceId, ...c.cat.ancestorsOf(info.spaceId)] } : {}),
        ...(dims.has('unit') ? { units: c.cat.unitsOfLeaf(leaf).map((u) => u.unitId) } : {}),
      };
    };
    const timeValue = (d: Dimension, row: Record<string, number>): number | undefined => {
      const day = row.day;
      const month = day !== undefined ? dayKeys(day).month : (row.month as number);
      switch (d) {
        case 'hour':
          return row.hod;
        case 'weekday':
          return row.dow;
        case 'day':
          return day;
        case 'week':
          return dayKeys(day as number).week;
        case 'month':
          return month;
        case 'season':
          return seasonOfMonth(month, this.seasons);
        case 'year':
          return Math.floor(month / 100);
        default:
          return undefined;
      }
    };
    /** Every group (over the dimensions `order`) a row adds to, as [key, dimension values]. */
    const groupsOf = (order: readonly Dimension[], row: Record<string, number>, grpNo: number | undefined): [string, (string | number)[]][] => {
      const place = placeValues(row);
      let combos: (string | number)[][] = [[]];
      for (const d of order) {
        let values: (string | number)[];
        if (d === 'space') values = place.spaces ?? [];
        else if (d === 'unit') values = place.units ?? [];
        else if (d === 'site') values = [place.site ?? ''];
        else if (d === 'customerGroup') values = [grpNo ?? ''];
        else values = [timeValue(d, row) ?? ''];
        combos = values.length === 1 ? combos.map((c0) => [...c0, values[0] as string | number]) : combos.flatMap((c0) => values.map((v) => [...c0, v]));
      }
      return combos.map((vals) => [vals.join('\u0001'), vals]);
    };
    const fresh = (order: readonly Dimension[], vals: (string | number)[]): Acc => ({
      dims: new Map(order.map((d, k) => [d, vals[k] as string | number])),
      f: new Float64Array(F_COLS.length),
      g: new Float64Array(G_COLS.length),
      vacancyCost: 0,
      openCost: 0,
    });
    const total: Acc = fresh([], []);
    const select = (table: AnalyticsTable, cols: string[], sums: readonly string[], where: string): string =>
      `SELECT ${cols.length === 0 ? '' : `${cols.join(', ')}, `}${sums.map((x) => `SUM(${x}) AS ${x}`).join(', ')} FROM ${c.t(table)} WHERE ${where}${
        cols.length === 0 ? '' : ` GROUP BY ${cols.join(', ')}`
      }`;

    // f: open, occupancy, vacancy; with costs, priced per leaf-year.
    const acc = new Map<string, Acc>();
    const rates = options.costs === true ? this.rates(c, fromDay, toDay, leaves) : undefined;
    const byGroup = dims.has('customerGroup');
    const fDims = byGroup ? q.groupBy.filter((d) => d !== 'customerGroup') : q.groupBy;
    const addF = (a: Acc, row: Record<string, number>, r: number) => {
      for (let k = 0; k < F_COLS.length; k++) a.f[k] = (a.f[k] as number) + ((row[F_COLS[k] as string] as number | null) ?? 0);
      a.vacancyCost += ((row.vacant_ms as number | null) ?? 0) * r;
      a.openCost += ((row.open_ms as number | null) ?? 0) * r;
    };
    for (const part of parts) {
      const cols = [...placeCols(part), ...timeCols];
      for (const row of this.prepare(select(part.f, cols, F_COLS, `${part.where}${placeCond(part)}`)).all(...part.params) as Record<string, number>[]) {
        const year = row.day !== undefined ? dayKeys(row.day).year : row.month !== undefined ? Math.floor(row.month / 100) : 0;
        const r = rates === undefined || row.leaf_no === undefined ? 0 : (rates.get(`${row.leaf_no}:${year}`) ?? 0);
        addF(total, row, r);
        for (const [key, vals] of groupsOf(fDims, row, undefined)) {
          let a = acc.get(key);
          if (a === undefined) {
            a = fresh(fDims, vals);
            acc.set(key, a);
          }
          addF(a, row, r);
        }
      }
    }

    // g: booked time by customer group. With groupBy=customerGroup, each group's row
    // carries the open time of its space and time (shared, not split).
    const gAcc = new Map<string, Acc>();
    for (const part of parts) {
      const cols = [...placeCols(part), ...timeCols, ...(byGroup ? ['grp_no'] : [])];
      const grpCond = grp === undefined ? '' : ` AND grp_no = ${grp}`;
      for (const row of this.prepare(select(part.g, cols, G_COLS, `${part.where}${placeCond(part)}${grpCond}`)).all(...part.params) as Record<string, number>[]) {
        for (let j = 0; j < G_COLS.length; j++) total.g[j] = (total.g[j] as number) + ((row[G_COLS[j] as string] as number | null) ?? 0);
        for (const [key, vals] of groupsOf(q.groupBy, row, byGroup ? row.grp_no : undefined)) {
          let a = gAcc.get(key);
          if (a === undefined) {
            const shared = acc.get(vals.filter((_, k) => q.groupBy[k] !== 'customerGroup').join('\u0001'));
            a = { ...fresh(q.groupBy, vals), f: shared?.f ?? new Float64Array(F_COLS.length), vacancyCost: shared?.vacancyCost ?? 0, openCost: shared?.openCost ?? 0 };
            gAcc.set(key, a);
          }
          for (let j = 0; j < G_COLS.length; j++) a.g[j] = (a.g[j] as number) + ((row[G_COLS[j] as string] as number | null) ?? 0);
        }
      }
    }
    const empty = (a: Acc) => a.f.every((x) => x === 0) && a.g.every((x) => x === 0);
    // A group that booked nothing in a slice (say, its booking was cancelled) has no row there.
    if (byGroup) return { groups: [...gAcc.values()].filter((a) => !a.g.every((x) => x === 0)), total };
    for (const [k, a] of gAcc) {
      const f = acc.get(k);
      if (f !== undefined) f.g = a.g;
      else acc.set(k, { ...a, f: new Float64Array(F_COLS.length) });
    }
    return { groups: [...acc.values()].filter((a) => !empty(a)), total };
  }

  /** Cents per millisecond of open time of each leaf in each year the range touches: its annual cost over its open time that year. */
  private rates(c: Ctx, fromDay: number, toDay: number, leaves: number[] | undefined): Map<string, number> {
    const y0 = dayKeys(fromDay).year;
    const y1 = dayKeys(toDay).year;
    const leafCond = leaves === undefined ? '' : ` AND leaf_no IN (${leaves.join(',') || 'NULL'})`;
    const rows = this.prepare(
      `SELECT leaf_no, month / 100 AS year, SUM(open_ms) AS open_ms FROM ${c.t('f_month')} WHERE month BETWEEN ? AND ?${leafCond} GROUP BY leaf_no, month / 100`,
    ).all(y0 * 100 + 1, y1 * 100 + 12) as { leaf_no: number; year: number; open_ms: number }[];
    const out = new Map<string, number>();
    for (const r of rows) {
      const cost = c.cat.annualCostOfLeaf(r.leaf_no);
      if (r.open_ms > 0 && cost > 0) out.set(`${r.leaf_no}:${r.year}`, cost / r.open_ms);
    }
    return out;
  }

  // --- labels ---------------------------------------------------------------------------

  private dimColumns(q: AnalyticsQuery): Column[] {
    return q.groupBy.flatMap((d) => DIMENSION_COLUMNS[d]);
  }

  private dimCells(c: Ctx, q: AnalyticsQuery, dims: Map<Dimension, string | number>): Row {
    const row: Row = {};
    for (const d of q.groupBy) {
      const v = dims.get(d);
      switch (d) {
        case 'space': {
          const s = c.cat.spaces.get(String(v));
          row.spaceId = String(v);
          row.spaceName = s?.name ?? null;
          break;
        }
        case 'site':
          row.siteId = String(v);
          row.siteName = c.cat.sites.get(String(v))?.name ?? null;
          break;
        case 'unit':
          row.unitId = String(v);
          row.unitName = c.cat.units.get(String(v))?.name ?? null;
          break;
        case 'customerGroup': {
          const g = c.cat.groupsByNo.get(Number(v));
          row.customerGroupId = g === undefined ? null : g.groupId === '' ? 'blocked' : g.groupId;
          row.customerGroupName = g?.name ?? null;
          break;
        }
        case 'hour':
          row.hour = Number(v);
          break;
        case 'weekday':
          row.weekday = Number(v);
          break;
        case 'day':
          row.date = dayKeys(Number(v)).date;
          break;
        case 'week':
          row.week = weekLabel(Number(v));
          break;
        case 'month':
          row.month = monthLabel(Number(v));
          break;
        case 'season': {
          const s = seasonLabel(Number(v));
          row.season = s.id;
          row.seasonName = s.en;
          break;
        }
        case 'year':
          row.year = Number(v);
          break;
      }
    }
    return row;
  }

  private sortRows(q: AnalyticsQuery, accs: Acc[]): Acc[] {
    return accs.sort((a, b) => {
      for (const d of q.groupBy) {
        const x = a.dims.get(d);
        const y = b.dims.get(d);
        if (x === y) continue;
        if (typeof x === 'number' && typeof y === 'number') return x - y;
        return String(x) < String(y) ? -1 : 1;
      }
      return 0;
    });
  }

  private report(c: Ctx, name: string, q: AnalyticsQuery, measureCols: Column[], accs: Acc[], total: Acc, measures: (a: Acc) => Row): Report {
    return {
      report: name,
      query: {
        from: q.from,
        to: q.to,
        groupBy: [...q.groupBy],
        siteId: q.siteId ?? null,
        unitId: q.unitId ?? null,
        spaceId: q.spaceId ?? null,
        customerGroupId: q.customerGroupId ?? null,
      },
      columns: [...this.dimColumns(q), ...measureCols],
      rows: this.sortRows(q, accs).map((a) => ({ ...this.dimCells(c, q, a.dims), ...measures(a) })),
      totals: measures(total),
      source: { checkpoint: c.checkpoint, appliedAt: c.appliedAt === null ? null : formatInstant(c.appliedAt) },
    };
  }

  // --- reports ----------------------------------------------------------------------------

  /** Utilization (käyttöaste): booked, used, no-show and unbooked-use figures over open hours. */
  utilization(q: AnalyticsQuery): Report {
    const c = this.ctx();
    const groupOnly = q.customerGroupId !== undefined || q.groupBy.includes('customerGroup');
    const measures = (a: Acc): Row => {
      const open = a.f[F.open] as number;
      const booked = groupOnly ? (a.g[G.booked] as number) : (a.f[F.booked] as number);
      const monBooked = groupOnly ? (a.g[G.monBooked] as number) : (a.f[F.monBooked] as number);
      const bookedOcc = groupOnly ? (a.g[G.bookedOcc] as number) : (a.f[F.bookedOcc] as number);
      const occ = a.f[F.occ] as number;
      const monOpen = a.f[F.monOpen] as number;
      const unbooked = (a.f[F.occ] as number) - (a.f[F.bookedOcc] as number);
      return {
        openHours: round(H(open)),
        bookedHours: round(H(booked)),
        bookedRate: nullableRound(rate(booked, open)),
        vacantHours: groupOnly ? null : round(H(a.f[F.vacant] as number)),
        monitoredOpenHours: round(H(monOpen)),
        usedHours: groupOnly ? null : round(H(occ)),
        usedRate: groupOnly ? null : nullableRound(rate(occ, monOpen)),
        monitoredBookedHours: round(H(monBooked)),
        noShowHours: round(H(monBooked - bookedOcc)),
        noShowRate: nullableRound(rate(monBooked - bookedOcc, monBooked)),
        unbookedUseHours: groupOnly ? null : round(H(unbooked)),
        unbookedUseShare: groupOnly ? null : nullableRound(rate(unbooked, occ)),
      };
    };
    const cols: Column[] = [
      { key: 'openHours', kind: 'hours', en: 'Open hours', fi: 'Aukiolotunnit' },
      { key: 'bookedHours', kind: 'hours', en: 'Booked hours', fi: 'Varatut tunnit' },
      { key: 'bookedRate', kind: 'rate', en: 'Booked rate', fi: 'Varausaste' },
      { key: 'vacantHours', kind: 'hours', en: 'Vacant open hours', fi: 'Käyttämättömät aukiolotunnit' },
      { key: 'monitoredOpenHours', kind: 'hours', en: 'Monitored open hours', fi: 'Seuratut aukiolotunnit' },
      { key: 'usedHours', kind: 'hours', en: 'Used hours (occupied)', fi: 'Käytetyt tunnit' },
      { key: 'usedRate', kind: 'rate', en: 'Used rate', fi: 'Käyttöaste' },
      { key: 'monitoredBookedHours', kind: 'hours', en: 'Monitored booked hours', fi: 'Seuratut varatut tunnit' },
      { key: 'noShowHours', kind: 'hours', en: 'Booked hours without use', fi: 'Käyttämättä jääneet varatut tunnit' },
      { key: 'noShowRate', kind: 'rate', en: 'No-show rate', fi: 'Käyttämättä jääneiden varausten osuus' },
      { key: 'unbookedUseHours', kind: 'hours', en: 'Unbooked use hours', fi: 'Varaamaton käyttö, tunnit' },
      { key: 'unbookedUseShare', kind: 'rate', en: 'Unbooked share of use', fi: 'Varaamattoman käytön osuus' },
    ];
    const { groups, total } = this.facts(c, q);
    return this.report(c, 'utilization', q, cols, groups, total, measures);
  }

  /** Cost of vacancy (käyttämättömyyden hinta): vacant open hours at the cost per open hour, plus lost revenue at list price. */
  costOfVacancy(q: AnalyticsQuery): Report {
    const c = this.ctx();
    if (q.groupBy.includes('customerGroup')) {
      throw new QueryError('VALIDATION_FAILED', 'Vacant time belongs to no customer group; group the cost of vacancy by space, site, unit or time.', 'groupBy');
    }
    const measures = (a: Acc): Row => {
      const open = a.f[F.open] as number;
      const vacant = a.f[F.vacant] as number;
      const lost = a.f[F.lost] as number;
      return {
        openHours: round(H(open)),
        vacantHours: round(H(vacant)),
        vacantShare: nullableRound(rate(vacant, open)),
        costPerOpenHourCents: open > 0 ? Math.round((a.openCost / open) * HOUR_MS) : null,
        openHoursCostCents: Math.round(a.openCost),
        vacancyCostCents: Math.round(a.vacancyCost),
        lostRevenueCents: Math.round(lost),
        costOfVacancyCents: Math.round(a.vacancyCost + lost),
      };
    };
    const cols: Column[] = [
      { key: 'openHours', kind: 'hours', en: 'Open hours', fi: 'Aukiolotunnit' },
      { key: 'vacantHours', kind: 'hours', en: 'Vacant open hours', fi: 'Käyttämättömät aukiolotunnit' },
      { key: 'vacantShare', kind: 'rate', en: 'Vacant share', fi: 'Käyttämättömien tuntien osuus' },
      { key: 'costPerOpenHourCents', kind: 'cents', en: 'Cost per open hour (cents)', fi: 'Kustannus aukiolotuntia kohden (senttiä)' },
      { key: 'openHoursCostCents', kind: 'cents', en: 'Cost of open hours (cents)', fi: 'Aukiolotuntien kustannus (senttiä)' },
      { key: 'vacancyCostCents', kind: 'cents', en: 'Cost of vacant hours (cents)', fi: 'Käyttämättömien tuntien kustannus (senttiä)' },
      { key: 'lostRevenueCents', kind: 'cents', en: 'Lost revenue at list price (cents)', fi: 'Menetetyt tulot listahinnoin (senttiä)' },
      { key: 'costOfVacancyCents', kind: 'cents', en: 'Cost of vacancy (cents)', fi: 'Käyttämättömyyden hinta (senttiä)' },
    ];
    const { groups, total } = this.facts(c, q, { costs: true });
    return this.report(c, 'cost-of-vacancy', q, cols, groups, total, measures);
  }

  /** Unbooked use: occupied time with no booking, in monitored hours. */
  unbookedUse(q: AnalyticsQuery): Report {
    const c = this.ctx();
    if (q.groupBy.includes('customerGroup') || q.customerGroupId !== undefined) {
      throw new QueryError('VALIDATION_FAILED', 'Unbooked use belongs to no customer group; leave customerGroup out.', 'customerGroupId');
    }
    const measures = (a: Acc): Row => {
      const occ = a.f[F.occ] as number;
      const unbooked = occ - (a.f[F.bookedOcc] as number);
      const monOpen = a.f[F.monOpen] as number;
      return {
        monitoredOpenHours: round(H(monOpen)),
        usedHours: round(H(occ)),
        bookedUsedHours: round(H(a.f[F.bookedOcc] as number)),
        unbookedUseHours: round(H(unbooked)),
        unbookedUseShare: nullableRound(rate(unbooked, occ)),
        unbookedUseRate: nullableRound(rate(unbooked, monOpen)),
      };
    };
    const cols: Column[] = [
      { key: 'monitoredOpenHours', kind: 'hours', en: 'Monitored open hours', fi: 'Seuratut aukiolotunnit' },
      { key: 'usedHours', kind: 'hours', en: 'Used hours (occupied)', fi: 'Käytetyt tunnit' },
      { key: 'bookedUsedHours', kind: 'hours', en: 'Used hours that were booked', fi: 'Varattuna käytetyt tunnit' },
      { key: 'unbookedUseHours', kind: 'hours', en: 'Unbooked use hours', fi: 'Varaamaton käyttö, tunnit' },
      { key: 'unbookedUseShare', kind: 'rate', en: 'Unbooked share of use', fi: 'Varaamattoman käytön osuus käytöstä' },
      { key: 'unbookedUseRate', kind: 'rate', en: 'Unbooked use per monitored open hour', fi: 'Varaamaton käyttö seurattua aukiolotuntia kohden' },
    ];
    const { groups, total } = this.facts(c, q);
    return this.report(c, 'unbooked-use', q, cols, groups, total, measures);
  }

  // --- per reservation: no-shows, SLA, exports ---------------------------------------------

  private reservationDims(c: Ctx, q: AnalyticsQuery, r: { site_id: string; unit_id: string | null; grp_no: number; start_day: number; start_hod: number; space_ids: string }): Map<Dimension, string | number>[] {
    const base = new Map<Dimension, string | number>();
    const dk = dayKeys(r.start_day);
    for (const d of q.groupBy) {
      if (d === 'site') base.set(d, r.site_id);
      else if (d === 'unit') base.set(d, r.unit_id ?? '');
      else if (d === 'customerGroup') base.set(d, r.grp_no);
      else if (d === 'hour') base.set(d, r.start_hod);
      else if (d === 'weekday') base.set(d, dk.dow);
      else if (d === 'day') base.set(d, r.start_day);
      else if (d === 'week') base.set(d, dk.week);
      else if (d === 'month') base.set(d, dk.month);
      else if (d === 'season') base.set(d, seasonOfMonth(dk.month, this.seasons));
      else if (d === 'year') base.set(d, dk.year);
    }
    if (!q.groupBy.includes('space')) return [base];
    const spaces = new Set<string>();
    for (const id of JSON.parse(r.space_ids) as string[]) {
      for (const leaf of c.cat.leavesOf(id)) {
        const s = c.cat.spacesByNo.get(leaf);
        if (s !== undefined) for (const x of [s.spaceId, ...c.cat.ancestorsOf(s.spaceId)]) spaces.add(x);
      }
    }
    return [...spaces].map((s) => new Map(base).set('space', s));
  }

  /** Reservations of the filter whose start falls in the range (SQL over the reservations table). */
  private reservationRows<T>(c: Ctx, q: AnalyticsFilter, columns: string, extraWhere: string, dateColumn: 'start_day' | 'handling_day' = 'start_day'): T[] {
    const { fromDay, toDay } = this.days(q);
    const leaves = this.leaves(c.cat, q);
    const grp = this.groupFilter(c.cat, q);
    const params: (string | number)[] = [];
    let where = dateColumn === 'start_day' ? 'start_day BETWEEN ? AND ?' : 'handling = 1 AND handling_at >= ? AND handling_at < ?';
    if (dateColumn === 'start_day') params.push(fromDay, toDay);
    else params.push(bucketsOfDay(fromDay)[0] * HOUR_MS, bucketsOfDay(toDay)[1] * HOUR_MS);
    if (q.siteId !== undefined) {
      where += ' AND site_id = ?';
      params.push(q.siteId);
    }
    if (grp !== undefined) {
      where += ' AND grp_no = ?';
      params.push(grp);
    }
    let rows = this.prepare(`SELECT ${columns} FROM ${c.t('reservations')} WHERE ${where}${extraWhere}`).all(...params) as (T & { space_ids: string })[];
    if (leaves !== undefined && (q.unitId !== undefined || q.spaceId !== undefined)) {
      const wanted = new Set(leaves);
      rows = rows.filter((r) => c.cat.leavesOfAll(JSON.parse(r.space_ids) as string[]).some((l) => wanted.has(l)));
    }
    return rows;
  }

  /** No-shows per reservation: marked by staff, and detected by sensors (fully monitored, next to no occupancy). */
  noShows(q: AnalyticsQuery & { asOf?: number }): Report {
    const c = this.ctx();
    const share = this.options.noShowOccupiedShare ?? 0.05;
    const asOf = q.asOf ?? (this.options.clock ?? Date.now)();
    type R = {
      site_id: string;
      unit_id: string | null;
      grp_no: number;
      start_day: number;
      start_hod: number;
      space_ids: string;
      start_ms: number;
      end_ms: number;
      leaf_count: number;
      occupied_ms: number;
      mon_ms: number;
      no_show_marked: number;
      state: string;
    };
    const rows = this.reservationRows<R>(
      c,
      q,
      'site_id, unit_id, grp_no, start_day, start_hod, space_ids, start_ms, end_ms, leaf_count, occupied_ms, mon_ms, no_show_marked, state',
      ` AND effective = 1 AND kind <> 'blocked' AND end_ms <= ${Math.floor(asOf)}`,
    );
    interface NAcc {
      dims: Map<Dimension, string | number>;
      n: number;
      hours: number;
      marked: number;
      markedHours: number;
      monitored: number;
      detected: number;
      detectedHours: number;
    }
    const acc = new Map<string, NAcc>();
    const total: NAcc = { dims: new Map(), n: 0, hours: 0, marked: 0, markedHours: 0, monitored: 0, detected: 0, detectedHours: 0 };
    for (const r of rows) {
      const booked = (r.end_ms - r.start_ms) * r.leaf_count;
      const fullyMonitored = booked > 0 && r.mon_ms >= booked;
      const detected = fullyMonitored && r.occupied_ms < share * booked;
      const add = (a: NAcc) => {
        a.n++;
        a.hours += H(r.end_ms - r.start_ms);
        if (r.no_show_marked === 1) {
          a.marked++;
          a.markedHours += H(r.end_ms - r.start_ms);
        }
        if (fullyMonitored) a.monitored++;
        if (detected) {
          a.detected++;
          a.detectedHours += H(r.end_ms - r.start_ms);
        }
      };
      add(total);
      for (const m of this.reservationDims(c, q, r)) {
        const k = q.groupBy.map((d) => m.get(d) ?? '').join('\u0001');
        let a = acc.get(k);
        if (a === undefined) {
          a = { dims: m, n: 0, hours: 0, marked: 0, markedHours: 0, monitored: 0, detected: 0, detectedHours: 0 };
          acc.set(k, a);
        }
        add(a);
      }
    }
    const measures = (a: NAcc): Row => ({
      reservations: a.n,
      bookedHours: round(a.hours),
      markedNoShows: a.marked,
      markedNoShowRate: nullableRound(rate(a.marked, a.n)),
      markedNoShowHours: round(a.markedHours),
      monitoredReservations: a.monitored,
      detectedNoShows: a.detected,
      detectedNoShowRate: nullableRound(rate(a.detected, a.monitored)),
      detectedNoShowHours: round(a.detectedHours),
    });
    const cols: Column[] = [
      { key: 'reservations', kind: 'count', en: 'Reservations ended', fi: 'Päättyneet varaukset' },
      { key: 'bookedHours', kind: 'hours', en: 'Booked hours', fi: 'Varatut tunnit' },
      { key: 'markedNoShows', kind: 'count', en: 'Marked no-shows', fi: 'Merkityt käyttämättä jättämiset' },
      { key: 'markedNoShowRate', kind: 'rate', en: 'Marked no-show rate', fi: 'Merkittyjen osuus' },
      { key: 'markedNoShowHours', kind: 'hours', en: 'Marked no-show hours', fi: 'Merkityt tunnit' },
      { key: 'monitoredReservations', kind: 'count', en: 'Reservations with sensors', fi: 'Anturoidut varaukset' },
      { key: 'detectedNoShows', kind: 'count', en: 'No-shows detected by sensors', fi: 'Anturien havaitsemat käyttämättä jättämiset' },
      { key: 'detectedNoShowRate', kind: 'rate', en: 'Detected no-show rate', fi: 'Havaittujen osuus' },
      { key: 'detectedNoShowHours', kind: 'hours', en: 'Detected no-show hours', fi: 'Havaitut tunnit' },
    ];
    const sorted = [...acc.values()].sort((a, b) => compareDims(q.groupBy, a.dims, b.dims));
    return {
      report: 'no-shows',
      query: { from: q.from, to: q.to, groupBy: [...q.groupBy], siteId: q.siteId ?? null, unitId: q.unitId ?? null, spaceId: q.spaceId ?? null, customerGroupId: q.customerGroupId ?? null, asOf: formatInstant(asOf) },
      columns: [...this.dimColumns(q), ...cols],
      rows: sorted.map((a) => ({ ...this.dimCells(c, q, a.dims), ...measures(a) })),
      totals: measures(total),
      source: { checkpoint: c.checkpoint, appliedAt: c.appliedAt === null ? null : formatInstant(c.appliedAt) },
    };
  }

  /**
   * Service level (palvelutasolupaus): time from a request needing handling to
   * staff's decision, and the share decided within the promise; door command
   * round trips; the share of time devices were on line.
   */
  /**
   * For monitoring: requests needing handling made in the last year that
   * still wait for a decision, and those of them past the promise now.
   */
  handlingBacklog(): { pending: number; overdue: number } {
    const today = localDateOf((this.options.clock ?? Date.now)());
    const totals = this.sla({ from: addDays(today, -366), to: today, groupBy: [] }).handling.totals;
    return { pending: Number(totals.pending ?? 0), overdue: Number(totals.overduePending ?? 0) };
  }

  sla(q: AnalyticsQuery & { asOf?: number; promiseHours?: number; doorPromiseMs?: number }): SlaReport {
    const c = this.ctx();
    const asOf = q.asOf ?? (this.options.clock ?? Date.now)();
    const promiseMs = (q.promiseHours ?? this.options.handlingPromiseHours ?? 72) * HOUR_MS;
    const doorPromise = q.doorPromiseMs ?? this.options.doorCommandPromiseMs ?? 3000;
    const { fromDay, toDay } = this.days(q);
    const rangeStart = bucketsOfDay(fromDay)[0] * HOUR_MS;
    const rangeEnd = bucketsOfDay(toDay)[1] * HOUR_MS;

    type R = {
      site_id: string;
      unit_id: string | null;
      grp_no: number;
      start_day: number;
      start_hod: number;
      space_ids: string;
      handling_at: number;
      decided_at: number | null;
      decision: string | null;
      state: string;
      ended_at: number | null;
    };
    const rows = this.reservationRows<R>(
      c,
      q,
      'site_id, unit_id, grp_no, start_day, start_hod, space_ids, handling_at, decided_at, decision, state, ended_at',
      '',
      'handling_day',
    );
    // Group by the time of the request, not of the reservation.
    interface SAcc {
      dims: Map<Dimension, string | number>;
      requests: number;
      decided: number;
      approved: number;
      denied: number;
      within: number;
      withdrawn: number;
      pending: number;
      overdue: number;
      durations: number[];
    }
    const fresh = (dims: Map<Dimension, string | number>): SAcc => ({ dims, requests: 0, decided: 0, approved: 0, denied: 0, within: 0, withdrawn: 0, pending: 0, overdue: 0, durations: [] });
    const acc = new Map<string, SAcc>();
    const total = fresh(new Map());
    for (const r of rows) {
      const hk = dayKeys(localDayNumber(r.handling_at));
      const asReq = { ...r, start_day: hk.day, start_hod: hourOfDayOf(r.handling_at) };
      const add = (a: SAcc) => {
        a.requests++;
        if (r.decided_at !== null && r.decided_at <= asOf) {
          const d = r.decided_at - r.handling_at;
          a.decided++;
          if (r.decision === 'approved') a.approved++;
          else a.denied++;
          if (d <= promiseMs) a.within++;
          a.durations.push(d);
        } else if (r.ended_at !== null && r.ended_at <= asOf) a.withdrawn++;
        else {
          a.pending++;
          if (asOf - r.handling_at > promiseMs) a.overdue++;
        }
      };
      add(total);
      for (const m of this.reservationDims(c, q, asReq)) {
        const k = q.groupBy.map((d) => m.get(d) ?? '').join('\u0001');
        let a = acc.get(k);
        if (a === undefined) {
          a = fresh(m);
          acc.set(k, a);
        }
        add(a);
      }
    }
    const measures = (a: SAcc): Row => {
      const sorted = a.durations.sort((x, y) => x - y);
      // Decided late or still waiting past the promise both break it.
      const judged = a.decided + a.overdue;
      return {
        requests: a.requests,
        decided: a.decided,
        approved: a.approved,
        denied: a.denied,
        withdrawn: a.withdrawn,
        pending: a.pending,
        overduePending: a.overdue,
        decidedWithinPromise: a.within,
        withinPromiseShare: nullableRound(rate(a.within, judged)),
        medianHoursToDecision: sorted.length === 0 ? null : round(H(percentile(sorted, 0.5))),
        p90HoursToDecision: sorted.length === 0 ? null : round(H(percentile(sorted, 0.9))),
      };
    };
    const cols: Column[] = [
      { key: 'requests', kind: 'count', en: 'Requests needing handling', fi: 'Käsittelyä vaativat hakemukset' },
      { key: 'decided', kind: 'count', en: 'Decided', fi: 'Käsitellyt' },
      { key: 'approved', kind: 'count', en: 'Approved', fi: 'Hyväksytyt' },
      { key: 'denied', kind: 'count', en: 'Denied', fi: 'Hylätyt' },
      { key: 'withdrawn', kind: 'count', en: 'Withdrawn before a decision', fi: 'Peruttu ennen päätöstä' },
      { key: 'pending', kind: 'count', en: 'Waiting for a decision', fi: 'Odottaa päätöstä' },
      { key: 'overduePending', kind: 'count', en: 'Waiting past the promise', fi: 'Odottaa yli lupauksen' },
      { key: 'decidedWithinPromise', kind: 'count', en: 'Decided within the promise', fi: 'Käsitelty lupauksen ajassa' },
      { key: 'withinPromiseShare', kind: 'rate', en: 'Share within the promise', fi: 'Lupauksen ajassa, osuus' },
      { key: 'medianHoursToDecision', kind: 'hours', en: 'Median hours to decision', fi: 'Käsittelyaika, mediaani (h)' },
      { key: 'p90HoursToDecision', kind: 'hours', en: '90th percentile hours to decision', fi: 'Käsittelyaika, 90 % (h)' },
    ];
    const handling: Report = {
      report: 'sla-handling',
      query: { from: q.from, to: q.to, groupBy: [...q.groupBy], siteId: q.siteId ?? null, unitId: q.unitId ?? null, spaceId: q.spaceId ?? null, customerGroupId: q.customerGroupId ?? null, promiseHours: promiseMs / HOUR_MS, asOf: formatInstant(asOf) },
      columns: [...this.dimColumns(q), ...cols],
      rows: [...acc.values()].sort((a, b) => compareDims(q.groupBy, a.dims, b.dims)).map((a) => ({ ...this.dimCells(c, q, a.dims), ...measures(a) })),
      totals: measures(total),
      source: { checkpoint: c.checkpoint, appliedAt: c.appliedAt === null ? null : formatInstant(c.appliedAt) },
    };

    // Door commands issued in the range: counted in SQL, round trips sorted here.
    const cmdParams: (string | number)[] = [rangeStart, rangeEnd];
    let cmdWhere = 'issued_at >= ? AND issued_at < ?';
    if (q.siteId !== undefined) {
      cmdWhere += ' AND site_id = ?';
      cmdParams.push(q.siteId);
    }
    const counts = this.prepare(
      `SELECT COUNT(*) AS issued,
              COALESCE(SUM(outcome = 'done' AND done_at <= @asOf), 0) AS done,
              COALESCE(SUM(outcome = 'rejected' AND done_at <= @asOf), 0) AS rejected,
              COALESCE(SUM((done_at IS NULL OR done_at > @asOf) AND expires_at <= @asOf), 0) AS unanswered,
              COALESCE(SUM(done_at <= @asOf AND done_at - issued_at <= @promise), 0) AS within
       FROM ${c.t('door_commands')} WHERE ${cmdWhere.replace('issued_at >= ? AND issued_at < ?', 'issued_at >= @from AND issued_at < @to').replace('site_id = ?', 'site_id = @site')}`,
    ).get({ asOf, promise: doorPromise, from: rangeStart, to: rangeEnd, ...(q.siteId === undefined ? {} : { site: q.siteId }) }) as {
      issued: number;
      done: number;
      rejected: number;
      unanswered: number;
      within: number;
    };
    const trips = (
      this.prepare(`SELECT done_at - issued_at FROM ${c.t('door_commands')} WHERE ${cmdWhere} AND done_at <= ?`).pluck().all(...cmdParams, asOf) as number[]
    ).sort((x, y) => x - y);
    const doorCommands = {
      promiseMs: doorPromise,
      issued: counts.issued,
      done: counts.done,
      rejected: counts.rejected,
      unanswered: counts.unanswered,
      withinPromise: counts.within,
      withinPromiseShare: nullableRound(rate(counts.within, trips.length + counts.unanswered)),
      medianRoundTripMs: trips.length === 0 ? null : percentile(trips, 0.5),
      p95RoundTripMs: trips.length === 0 ? null : percentile(trips, 0.95),
    };

    // Devices: on-line time over the time they reported within the range.
    const devParams: (string | number)[] = [];
    let devWhere = '1 = 1';
    if (q.siteId !== undefined) {
      devWhere += ' AND d.site_id = ?';
      devParams.push(q.siteId);
    }
    const spans = this.prepare(
      `SELECT d.kind AS kind, s.from_ms AS from_ms, s.to_ms AS to_ms, s.online AS online FROM ${c.t('device_status')} s JOIN ${c.t('devices')} d ON d.device_id = s.device_id WHERE ${devWhere}`,
    ).all(...devParams) as { kind: string; from_ms: number; to_ms: number | null; online: number }[];
    const end = Math.min(rangeEnd, asOf);
    const byKind = new Map<string, { online: number; tracked: number }>();
    const allDevices = { online: 0, tracked: 0 };
    for (const s of spans) {
      const a = Math.max(s.from_ms, rangeStart);
      const b = Math.min(s.to_ms ?? end, end);
      if (!(b > a)) continue;
      const k = byKind.get(s.kind) ?? { online: 0, tracked: 0 };
      k.tracked += b - a;
      allDevices.tracked += b - a;
      if (s.online === 1) {
        k.online += b - a;
        allDevices.online += b - a;
      }
      byKind.set(s.kind, k);
    }
    const devices = {
      onlineShare: nullableRound(rate(allDevices.online, allDevices.tracked)),
      trackedHours: round(H(allDevices.tracked)),
      byKind: [...byKind.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([kind, v]) => ({ kind, onlineShare: nullableRound(rate(v.online, v.tracked)), trackedHours: round(H(v.tracked)) })),
    };
    return { handling, doorCommands, devices };
  }

  /** Reservations whose start falls in the range, for staff lists and exports (newest position last). */
  reservations(q: AnalyticsFilter & { state?: readonly string[]; limit?: number; afterId?: string }): Report {
    const c = this.ctx();
    const limit = Math.min(q.limit ?? 1000, 10_000);
    type R = {
      reservation_id: string;
      site_id: string;
      unit_id: string | null;
      kind: string;
      block_reason: string | null;
      customer_id: string;
      grp_no: number;
      space_ids: string;
      start_ms: number;
      end_ms: number;
      state: string;
      price_cents: number;
      vat_cents: number;
      paid_cents: number;
      channel: string | null;
      series_id: string | null;
      requested_at: number;
      handling_at: number | null;
      decided_at: number | null;
      decision: string | null;
      occupied_ms: number;
      no_show_marked: number;
    };
    let rows = this.reservationRows<R>(
      c,
      q,
      'reservation_id, site_id, unit_id, kind, block_reason, customer_id, grp_no, space_ids, start_ms, end_ms, state, price_cents, vat_cents, paid_cents, channel, series_id, requested_at, handling_at, decided_at, decision, occupied_ms, no_show_marked',
      q.state === undefined || q.state.length === 0 ? '' : ` AND state IN (${q.state.map((s) => `'${s.replaceAll("'", "''")}'`).join(', ')})`,
    );
    rows.sort((a, b) => a.start_ms - b.start_ms || (a.reservation_id < b.reservation_id ? -1 : 1));
    if (q.afterId !== undefined) {
      const k = rows.findIndex((r) => r.reservation_id === q.afterId);
      if (k >= 0) rows = rows.slice(k + 1);
    }
    const page = rows.slice(0, limit);
    const iso = (v: number | null) => (v === null ? null : formatInstant(v));
    const cols: Column[] = [
      { key: 'reservationId', kind: 'dimension', en: 'Reservation', fi: 'Varaus' },
      { key: 'siteId', kind: 'dimension', en: 'Site id', fi: 'Toimipiste' },
      { key: 'unitId', kind: 'dimension', en: 'Unit id', fi: 'Varausyksikkö' },
      { key: 'unitName', kind: 'dimension', en: 'Reservation unit', fi: 'Varausyksikön nimi' },
      { key: 'kind', kind: 'dimension', en: 'Kind', fi: 'Laji' },
      { key: 'state', kind: 'dimension', en: 'State', fi: 'Tila' },
      { key: 'customerId', kind: 'dimension', en: 'Customer', fi: 'Asiakas' },
      { key: 'customerGroupId', kind: 'dimension', en: 'Customer group', fi: 'Asiakasryhmä' },
      { key: 'start', kind: 'dimension', en: 'Start', fi: 'Alkaa' },
      { key: 'end', kind: 'dimension', en: 'End', fi: 'Päättyy' },
      { key: 'hours', kind: 'hours', en: 'Hours', fi: 'Tunnit' },
      { key: 'priceCents', kind: 'cents', en: 'Price (cents, VAT incl.)', fi: 'Hinta (senttiä, sis. alv)' },
      { key: 'vatCents', kind: 'cents', en: 'VAT (cents)', fi: 'Alv (senttiä)' },
      { key: 'paidCents', kind: 'cents', en: 'Paid (cents)', fi: 'Maksettu (senttiä)' },
      { key: 'channel', kind: 'dimension', en: 'Channel', fi: 'Kanava' },
      { key: 'seriesId', kind: 'dimension', en: 'Series', fi: 'Sarja' },
      { key: 'requestedAt', kind: 'dimension', en: 'Requested at', fi: 'Pyydetty' },
      { key: 'decidedAt', kind: 'dimension', en: 'Decided at', fi: 'Päätetty' },
      { key: 'decision', kind: 'dimension', en: 'Decision', fi: 'Päätös' },
      { key: 'occupiedHours', kind: 'hours', en: 'Occupied hours (sensors)', fi: 'Käytetyt tunnit (anturit)' },
      { key: 'markedNoShow', kind: 'count', en: 'Marked no-show', fi: 'Merkitty käyttämättä jätetyksi' },
    ];
    return {
      report: 'reservations',
      query: { from: q.from, to: q.to, siteId: q.siteId ?? null, unitId: q.unitId ?? null, spaceId: q.spaceId ?? null, customerGroupId: q.customerGroupId ?? null, limit, nextAfter: rows.length > limit ? (page[page.length - 1]?.reservation_id ?? null) : null },
      columns: cols,
      rows: page.map((r) => {
        const g = c.cat.groupsByNo.get(r.grp_no);
        return {
          reservationId: r.reservation_id,
          siteId: r.site_id,
          unitId: r.unit_id,
          unitName: r.unit_id === null ? null : (c.cat.units.get(r.unit_id)?.name ?? null),
          kind: r.kind,
          state: r.state,
          customerId: r.customer_id,
          customerGroupId: g === undefined ? null : g.groupId === '' ? 'blocked' : g.groupId,
          start: iso(r.start_ms),
          end: iso(r.end_ms),
          hours: round(H(r.end_ms - r.start_ms)),
          priceCents: r.price_cents,
          vatCents: r.vat_cents,
          paidCents: r.paid_cents,
          channel: r.channel,
          seriesId: r.series_id,
          requestedAt: iso(r.requested_at),
          decidedAt: iso(r.decided_at),
          decision: r.decision,
          occupiedHours: round(H(r.occupied_ms)),
          markedNoShow: r.no_show_marked,
        };
      }),
      totals: { reservations: rows.length },
      source: { checkpoint: c.checkpoint, appliedAt: c.appliedAt === null ? null : formatInstant(c.appliedAt) },
    };
  }

  /** Sites, units, spaces and customer groups, for filters and labels. */
  dimensions(): Dimensions {
    const c = this.ctx();
    const cat = c.cat;
    return {
      sites: [...cat.sites.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => ({ id: s.siteId, name: s.name })),
      units: [...cat.units.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((u) => ({ id: u.unitId, name: u.name, siteId: u.siteId, unitType: u.unitType })),
      spaces: [...cat.spaces.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((s) => ({ id: s.spaceId, name: s.name, siteId: s.siteId, parentId: s.parentId ?? null, annualCostCents: s.annualCostCents })),
      customerGroups: [...cat.groups.values()]
        .filter((g) => g.groupId !== '')
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((g) => ({ id: g.groupId, name: g.name, nameFi: g.nameFi ?? null })),
      range: this.dataRange(c),
    };
  }

  /** The first and last dates with reservations (what a dashboard opens on). */
  private dataRange(c: Ctx): { from: string | null; to: string | null } {
    const r = this.prepare(`SELECT MIN(start_day) AS a, MAX(start_day) AS b FROM ${c.t('reservations')}`).get() as { a: number | null; b: number | null };
    return { from: r.a === null ? null : dayKeys(r.a).date, to: r.b === null ? null : dayKeys(r.b).date };
  }
}

export interface SlaReport {
  handling: Report;
  doorCommands: {
    promiseMs: number;
    issued: number;
    done: number;
    rejected: number;
    unanswered: number;
    withinPromise: number;
    withinPromiseShare: number | null;
    medianRoundTripMs: number | null;
    p95RoundTripMs: number | null;
  };
  devices: { onlineShare: number | null; trackedHours: number; byKind: { kind: string; onlineShare: number | null; trackedHours: number }[] };
}

export interface Dimensions {
  sites: { id: string; name: string }[];
  units: { id: string; name: string; siteId: string; unitType: string }[];
  spaces: { id: string; name: string; siteId: string; parentId: string | null; annualCostCents: number }[];
  customerGroups: { id: string; name: string; nameFi: string | null }[];
  range: { from: string | null; to: string | null };
}

const nullableRound = (x: number | null): number | null => (x === null ? null : round(x));

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  const k = Math.max(0, Math.ceil(p * sorted.length) - 1);
  return sorted[Math.min(k, sorted.length - 1)] as number;
}

function compareDims(order: readonly Dimension[], a: Map<Dimension, string | number>, b: Map<Dimension, string | number>): number {
  for (const d of order) {
    const x = a.get(d);
    const y = b.get(d);
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

const hourOfDayOf = (ms: number): number => Math.floor(localMinutesOf(ms) / 60);
