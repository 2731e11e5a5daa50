/**
 * The write side of the fact tables: deltas accumulate in memory during a
 * batch (a booking adds to a few hours, an occupancy interval to a few more)
 * and are written once at the end of the batch.
 *
 * Writing an hour reads its current row (unless the hour is known to be new),
 * so the hour's derived columns (vacant time, lost revenue) are recomputed
 * exactly and every rollup receives the exact change of each column, derived
 * ones included. Rollups are therefore always the sums of their hours,
 * whatever order the events came in:
 *
 *   leaf level   f_day (leaf, day), f_month (leaf, month)
 *   site level   s_day (site, day), s_month (site, month), s_mdh (site, month, weekday, hour)
 *   city level   c_day (day), c_month (month), c_mdh (month, weekday, hour)
 *
 * and the same for the customer-group columns (g_*, gs_*, gc_*).
 *
 * Rebuilding a year over a thousand spaces writes tens of millions of hours,
 * so the hot path allocates nothing per hour: pending deltas and the cache of
 * rows live in flat slabs (`Slab`), hours are written in primary-key order,
 * and the day- and month-grained rollups receive one change per leaf-day
 * (summed over its hours) instead of one per hour.
 */
import type { Database, Statement } from 'better-sqlite3';
import { HOUR_MS, dayKeys, hourKeys, type DayKeys, type HourKeys } from '../time/buckets.js';
import { F, F_COLS, F_INPUTS, G_COLS, type AnalyticsTable } from './schema.js';

const HOUR_SPAN = 2 ** 22;
const MAX_CACHED = 600_000;

interface Rollup {
  /** Key columns, in the order `key` returns them. */
  readonly keyCols: readonly string[];
  /** `day`: the key depends on the leaf and the day only, so a leaf-day's hours are summed before they reach it. */
  readonly grain: 'day' | 'hour';
  key(leaf: number, site: number, h: HourKeys, d: DayKeys): readonly number[];
  /** The same key as one number (for the in-memory map). */
  id(leaf: number, site: number, h: HourKeys): number;
  readonly f: AnalyticsTable;
  readonly g: AnalyticsTable;
}

const ROLLUPS: readonly Rollup[] = [
  { f: 'f_day', g: 'g_day', grain: 'day', keyCols: ['leaf_no', 'day', 'dow', 'week', 'month'], key: (leaf, _s, h, d) => [leaf, h.day, d.dow, d.week, d.month], id: (leaf, _s, h) => leaf * 2 ** 17 + h.day },
  { f: 'f_month', g: 'g_month', grain: 'day', keyCols: ['leaf_no', 'month'], key: (leaf, _s, h) => [leaf, h.month], id: (leaf, _s, h) => leaf * 2 ** 18 + h.month },
  { f: 's_day', g: 'gs_day', grain: 'day', keyCols: ['site_no', 'day', 'dow', 'week', 'month'], key: (_l, site, h, d) => [site, h.day, d.dow, d.week, d.month], id: (_l, site, h) => site * 2 ** 17 + h.day },
  { f: 's_month', g: 'gs_month', grain: 'day', keyCols: ['site_no', 'month'], key: (_l, site, h) => [site, h.month], id: (_l, site, h) => site * 2 ** 18 + h.month },
  {
    f: 's_mdh',
    g: 'gs_mdh',
    grain: 'hour',
    keyCols: ['site_no', 'month', 'dow', 'hod'],
    key: (_l, site, h) => [site, h.month, h.dow, h.hod],
    id: (_l, site, h) => ((site * 2 ** 18 + h.month) * 8 + h.dow) * 32 + h.hod,
  },
  { f: 'c_day', g: 'gc_day', grain: 'day', keyCols: ['day', 'dow', 'week', 'month'], key: (_l, _s, h, d) => [h.day, d.dow, d.week, d.month], id: (_l, _s, h) => h.day },
  { f: 'c_month', g: 'gc_month', grain: 'day', keyCols: ['month'], key: (_l, _s, h) => [h.month], id: (_l, _s, h) => h.month },
  { f: 'c_mdh', g: 'gc_mdh', grain: 'hour', keyCols: ['month', 'dow', 'hod'], key: (_l, _s, h) => [h.month, h.dow, h.hod], id: (_l, _s, h) => (h.month * 8 + h.dow) * 32 + h.hod },
];
const DAY_ROLLUPS = ROLLUPS.flatMap((r, k) => (r.grain === 'day' ? [k] : []));
const HOUR_ROLLUPS = ROLLUPS.flatMap((r, k) => (r.grain === 'hour' ? [k] : []));

/** How many leading key columns identify a rollup row (the rest are attributes of the key). */
const IDENTITY: Record<string, number> = { f_day: 2, f_month: 2, s_day: 2, s_month: 2, s_mdh: 4, c_day: 1, c_month: 1, c_mdh: 3 };

const fNames = F_COLS.join(', ');
const gNames = G_COLS.join(', ');
const plus = (cols: readonly string[]) => cols.map((c) => `${c} = ${c} + excluded.${c}`).join(', ');
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

interface Pending {
  keys: readonly number[];
  cols: Float64Array;
}

/**
 * Fixed-width rows of numbers in one growable Float64Array, found by key: a
 * row costs a map entry, not an object and its own buffer. Offsets move when
 * the slab grows, so read `data` after `row()`.
 */
class Slab {
  data: Float64Array;
  private used = 0;
  private readonly index = new Map<number, number>();

  constructor(
    readonly width: number,
    initialRows = 1024,
  ) {
    this.data = new Float64Array(width * initialRows);
  }

  get size(): number {
    return this.index.size;
  }

  /** Offset of the key's row, or -1. */
  find(key: number): number {
    return this.index.get(key) ?? -1;
  }

  /** Offset of the key's row, a zeroed one if it had none. */
  row(key: number): number {
    let o = this.index.get(key);
    if (o === undefined) {
      o = this.used;
      this.used += this.width;
      if (this.used > this.data.length) {
        const bigger = new Float64Array(this.data.length * 2);
        bigger.set(this.data);
        this.data = bigger;
      }
      this.index.set(key, o);
    }
    return o;
  }

  keys(): IterableIterator<number> {
    return this.index.keys();
  }

  /** The keys in ascending order (for the fact tables: leaf, then hour, as their primary keys). */
  sortedKeys(): Float64Array {
    return Float64Array.from(this.index.keys()).sort();
  }

  clear(): void {
    this.data.fill(0, 0, this.used);
    this.used = 0;
    this.index.clear();
  }
}

/**
 * Rows written many at a time: one multi-row INSERT per 64 rows costs a
 * fraction of 64 single-row statements (one call, one statement step).
 */
class BulkWriter {
  private static readonly CHUNK = 64;
  private readonly many: Statement;
  private readonly one: Statement;
  private rows: number[] = [];
  private count = 0;

  constructor(
    db: Database,
    head: string,
    private readonly width: number,
    tail = '',
  ) {
    const tuple = `(${marks(width)})`;
    this.one = db.prepare(`${head} VALUES ${tuple} ${tail}`);
    this.many = db.prepare(`${head} VALUES ${Array.from({ length: BulkWriter.CHUNK }, () => tuple).join(', ')} ${tail}`);
  }

  add(values: ArrayLike<number>): void {
    for (let k = 0; k < this.width; k++) this.rows.push(values[k] as number);
    if (++this.count === BulkWriter.CHUNK) {
      this.many.run(this.rows);
      this.rows = [];
      this.count = 0;
    }
  }

  flush(): void {
    for (let k = 0; k < this.count; k++) this.one.run(this.rows.slice(k * this.width, (k + 1) * this.width));
    this.rows = [];
    this.count = 0;
  }
}

/**
 * The changes of one flush to the rollups: hours are added to a running
 * leaf-day total (hours arrive in key order, so a leaf-day's hours are
 * consecutive), which goes to the day-grained rollups when the leaf-day
 * changes; the hour-grained ones take each hour.
 */
class RollupChanges {
  readonly maps = ROLLUPS.map(() => new Map<number, Pending>());
  private readonly dayDelta: Float64Array;
  private dayLeaf = -1;
  private daySite = -1;
  private dayHour: HourKeys | undefined;
  private dirty = false;

  constructor(private readonly n: number) {
    this.dayDelta = new Float64Array(n);
  }

  hour(leaf: number, site: number, hk: HourKeys, delta: Float64Array, offset: number): void {
    if (leaf !== this.dayLeaf || hk.day !== this.dayHour?.day) {
      this.endDay();
      this.dayLeaf = leaf;
      this.daySite = site;
      this.dayHour = hk;
    }
    const n = this.n;
    for (let j = 0; j < n; j++) this.dayDelta[j] = (this.dayDelta[j] as number) + (delta[offset + j] as number);
    this.dirty = true;
    for (const k of HOUR_ROLLUPS) this.add(k, leaf, site, hk, delta, offset);
  }

  /** Call after the last hour. */
  endDay(): void {
    if (this.dirty && this.dayHour !== undefined) {
      for (const k of DAY_ROLLUPS) this.add(k, this.dayLeaf, this.daySite, this.dayHour, this.dayDelta, 0);
      this.dayDelta.fill(0);
    }
    this.dirty = false;
    this.dayLeaf = -1;
    this.dayHour = undefined;
  }

  clear(): void {
    this.endDay();
    for (const m of this.maps) m.clear();
  }

  private add(k: number, leaf: number, site: number, hk: HourKeys, delta: Float64Array, offset: number): void {
    const r = ROLLUPS[k] as Rollup;
    const m = this.maps[k] as Map<number, Pending>;
    const id = r.id(leaf, site, hk);
    let p = m.get(id);
    if (p === undefined) {
      p = { keys: r.key(leaf, site, hk, dayKeys(hk.day)), cols: new Float64Array(this.n) };
      m.set(id, p);
    }
    const cols = p.cols;
    for (let j = 0; j < this.n; j++) cols[j] = (cols[j] as number) + (delta[offset + j] as number);
  }
}

const ROW_F = F_COLS.length + 1; // the columns, then the price

export class FactBuffer {
  /** Pending changes to the hours' inputs (F.open .. F.monBooked). */
  private readonly f = new Slab(F_INPUTS);
  private prices = new Map<number, number>();
  /** Pending changes per customer group. */
  private readonly g = new Map<number, Slab>();
  /** Hours known to have no row yet: written without reading first. */
  private fresh = new Set<number>();
  /**
   * The rows as last written (columns, then the price), so a busy hour is not
   * read back from SQLite at every batch. Emptied when it holds MAX_CACHED rows.
   */
  private readonly rowsF = new Slab(ROW_F, 1 << 16);
  private readonly rowsG = new Map<number, Slab>();
  private readonly getF: Statement<[number, number], Record<string, number>>;
  private readonly putF: BulkWriter;
  private readonly getG: Statement<[number, number, number], Record<string, number>>;
  private readonly putG: BulkWriter;
  private readonly allF: Statement<[number], Record<string, number>>;
  private readonly allG: Statement<[number], Record<string, number>>;
  private readonly upF: BulkWriter[];
  private readonly upG: BulkWriter[];
  private readonly fRow = new Float64Array(6 + F_COLS.length + 1);
  private readonly gRow = new Float64Array(7 + G_COLS.length);
  private readonly rollF = new RollupChanges(F_COLS.length);
  private readonly rollG = new RollupChanges(G_COLS.length);
  private readonly next = new Float64Array(F_COLS.length);
  private readonly delta = new Float64Array(F_COLS.length);

  constructor(
    db: Database,
    t: (name: AnalyticsTable) => string,
    private readonly siteOfLeaf: (leaf: number) => number,
  ) {
    this.getF = db.prepare(`SELECT ${fNames}, price_cph FROM ${t('f_hour')} WHERE leaf_no = ? AND hour = ?`);
    this.putF = new BulkWriter(db, `INSERT OR REPLACE INTO ${t('f_hour')} (leaf_no, hour, day, hod, dow, month, ${fNames}, price_cph)`, 6 + F_COLS.length + 1);
    this.getG = db.prepare(`SELECT ${gNames} FROM ${t('g_hour')} WHERE leaf_no = ? AND hour = ? AND grp_no = ?`);
    this.putG = new BulkWriter(db, `INSERT OR REPLACE INTO ${t('g_hour')} (leaf_no, hour, grp_no, day, hod, dow, month, ${gNames})`, 7 + G_COLS.length);
    this.allF = db.prepare(`SELECT hour, ${fNames} FROM ${t('f_hour')} WHERE leaf_no = ?`);
    this.allG = db.prepare(`SELECT hour, grp_no, ${gNames} FROM ${t('g_hour')} WHERE leaf_no = ?`);
    this.upF = ROLLUPS.map(
      (r) => new BulkWriter(db, `INSERT INTO ${t(r.f)} (${r.keyCols.join(', ')}, ${fNames})`, r.keyCols.length + F_COLS.length, `ON CONFLICT DO UPDATE SET ${plus(F_COLS)}`),
    );
    this.upG = ROLLUPS.map((r) => {
      const id = IDENTITY[r.f] as number;
      const cols = [...r.keyCols.slice(0, id), 'grp_no', ...r.keyCols.slice(id)];
      return new BulkWriter(db, `INSERT INTO ${t(r.g)} (${cols.join(', ')}, ${gNames})`, cols.length + G_COLS.length, `ON CONFLICT DO UPDATE SET ${plus(G_COLS)}`);
    });
  }

  /** Adds `ms` to one of an hour's inputs (F.open .. F.monBooked). */
  addF(leaf: number, hour: number, col: number, ms: number): void {
    if (ms === 0) return;
    const o = this.f.row(leaf * HOUR_SPAN + hour) + col;
    this.f.data[o] = (this.f.data[o] as number) + ms;
  }

  addG(leaf: number, hour: number, grp: number, col: number, ms: number): void {
    if (ms === 0) return;
    let slab = this.g.get(grp);
    if (slab === undefined) {
      slab = new Slab(G_COLS.length);
      this.g.set(grp, slab);
    }
    const o = slab.row(leaf * HOUR_SPAN + hour) + col;
    slab.data[o] = (slab.data[o] as number) + ms;
  }

  /** Sets the list price (cents per hour) of an hour. */
  setPrice(leaf: number, hour: number, centsPerHour: number): void {
    this.prices.set(leaf * HOUR_SPAN + hour, centsPerHour);
  }

  /** The caller read the leaf's rows and this hour had none: write it without looking. */
  markNew(leaf: number, hour: number): void {
    this.fresh.add(leaf * HOUR_SPAN + hour);
  }

  /** Takes everything a leaf holds back out of the facts (and the rollups), leaving zero rows. */
  retractLeaf(leaf: number): void {
    this.flush();
    for (const row of this.allF.all(leaf)) for (let k = 0; k < F_INPUTS; k++) this.addF(leaf, row.hour as number, k, -(row[F_COLS[k] as string] as number));
    for (const row of this.allG.all(leaf)) {
      for (let k = 0; k < G_COLS.length; k++) this.addG(leaf, row.hour as number, row.grp_no as number, k, -(row[G_COLS[k] as string] as number));
    }
  }

  get pending(): number {
    let n = this.f.size + this.prices.size;
    for (const m of this.g.values()) n += m.size;
    return n;
  }

  clear(): void {
    this.f.clear();
    this.prices = new Map();
    for (const slab of this.g.values()) slab.clear();
    this.fresh = new Set();
  }

  /** Forgets the cached rows (their transaction rolled back, or the cache is full). */
  forget(): void {
    this.rowsF.clear();
    for (const slab of this.rowsG.values()) slab.clear();
  }

  private get cached(): number {
    let n = this.rowsF.size;
    for (const m of this.rowsG.values()) n += m.size;
    return n;
  }

  /** Writes every pending hour and the rollups' changes. Run inside a transaction. */
  flush(): void {
    if (this.pending === 0) {
      this.fresh.clear();
      return;
    }
    this.flushF();
    for (const [grp, slab] of this.g) if (slab.size > 0) this.flushG(grp, slab);
    this.clear();
    // A bounded cache: when full, start afresh (cheaper than tracking recency on every hit).
    if (this.cached > MAX_CACHED) this.forget();
  }

  /** Hours of f: inputs, price, derived columns; then their changes to the rollups. */
  private flushF(): void {
    for (const k of this.prices.keys()) this.f.row(k); // an hour whose price alone changed is written too
    const pending = this.f;
    const cache = this.rowsF;
    const next = this.next;
    const delta = this.delta;
    const out = this.fRow;
    const roll = this.rollF;
    for (const key of pending.sortedKeys()) {
      const leaf = Math.floor(key / HOUR_SPAN);
      const hour = key - leaf * HOUR_SPAN;
      const po = pending.find(key);
      let co = cache.find(key);
      if (co < 0 && !this.fresh.has(key)) {
        const row = this.getF.get(leaf, hour);
        if (row !== undefined) {
          co = cache.row(key);
          const c = cache.data;
          for (let k = 0; k < F_COLS.length; k++) c[co + k] = row[F_COLS[k] as string] as number;
          c[co + F_COLS.length] = row.price_cph as number;
        }
      }
      const existed = co >= 0;
      const p = pending.data;
      if (!existed) {
        let inputs = false;
        for (let k = 0; k < F_INPUTS && !inputs; k++) inputs = p[po + k] !== 0;
        if (!inputs) continue; // a price for an hour nothing happens in (or changes that cancelled out)
      }
      const price = this.prices.get(key) ?? (existed ? (cache.data[co + F_COLS.length] as number) : 0);
      for (let k = 0; k < F_COLS.length; k++) next[k] = existed ? (cache.data[co + k] as number) : 0;
      for (let k = 0; k < F_COLS.length; k++) delta[k] = -(next[k] as number);
      for (let k = 0; k < F_INPUTS; k++) next[k] = (next[k] as number) + (p[po + k] as number);
      const vacant = Math.max((next[F.open] as number) - (next[F.booked] as number), 0);
      next[F.vacant] = vacant;
      next[F.lost] = (vacant * price) / HOUR_MS;
      let changed = false;
      for (let k = 0; k < F_COLS.length; k++) {
        delta[k] = (delta[k] as number) + (next[k] as number);
        if (delta[k] !== 0) changed = true;
      }
      const hk = hourKeys(hour);
      if (changed || !existed || this.prices.has(key)) {
        out[0] = leaf;
        out[1] = hour;
        out[2] = hk.day;
        out[3] = hk.hod;
        out[4] = hk.dow;
        out[5] = hk.month;
        for (let k = 0; k < F_COLS.length; k++) out[6 + k] = next[k] as number;
        out[6 + F_COLS.length] = price;
        this.putF.add(out);
      }
      if (!existed) co = cache.row(key);
      const c = cache.data;
      for (let k = 0; k < F_COLS.length; k++) c[co + k] = next[k] as number;
      c[co + F_COLS.length] = price;
      if (changed) roll.hour(leaf, this.siteOfLeaf(leaf), hk, delta, 0);
    }
    this.putF.flush();
    roll.endDay();
    for (let r = 0; r < ROLLUPS.length; r++) {
      const w = this.upF[r] as BulkWriter;
      for (const p of (roll.maps[r] as Map<number, Pending>).values()) w.add([...p.keys, ...p.cols]);
      w.flush();
    }
    roll.clear();
  }

  /** Hours of g for one customer group, and their changes to the rollups. */
  private flushG(grp: number, pending: Slab): void {
    let cache = this.rowsG.get(grp);
    if (cache === undefined) {
      cache = new Slab(G_COLS.length, 1 << 12);
      this.rowsG.set(grp, cache);
    }
    const out = this.gRow;
    const roll = this.rollG;
    for (const key of pending.sortedKeys()) {
      const leaf = Math.floor(key / HOUR_SPAN);
      const hour = key - leaf * HOUR_SPAN;
      let co = cache.find(key);
      if (co < 0) {
        const row = this.getG.get(leaf, hour, grp);
        co = cache.row(key);
        if (row !== undefined) for (let k = 0; k < G_COLS.length; k++) cache.data[co + k] = row[G_COLS[k] as string] as number;
      }
      const po = pending.find(key);
      const c = cache.data;
      const p = pending.data;
      for (let k = 0; k < G_COLS.length; k++) c[co + k] = (c[co + k] as number) + (p[po + k] as number);
      const hk = hourKeys(hour);
      out[0] = leaf;
      out[1] = hour;
      out[2] = grp;
      out[3] = hk.day;
      out[4] = hk.hod;
      out[5] = hk.dow;
      out[6] = hk.month;
      for (let k = 0; k < G_COLS.length; k++) out[7 + k] = c[co + k] as number;
      this.putG.add(out);
      roll.hour(leaf, this.siteOfLeaf(leaf), hk, p, po);
    }
    this.putG.flush();
    roll.endDay();
    for (let r = 0; r < ROLLUPS.length; r++) {
      const id = IDENTITY[(ROLLUPS[r] as Rollup).f] as number;
      const w = this.upG[r] as BulkWriter;
      for (const p of (roll.maps[r] as Map<number, Pending>).values()) w.add([...p.keys.slice(0, id), grp, ...p.keys.slice(id), ...p.cols]);
      w.flush();
    }
    roll.clear();
  }
}
