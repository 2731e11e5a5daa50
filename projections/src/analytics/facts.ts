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
 */
import type { Database, Statement } from 'better-sqlite3';
import { HOUR_MS, dayKeys, hourKeys, type DayKeys, type HourKeys } from '../time/buckets.js';
import { F, F_COLS, F_INPUTS, G_COLS, type AnalyticsTable } from './schema.js';

const HOUR_SPAN = 2 ** 22;
const MAX_CACHED = 1_500_000;

interface Rollup {
  /** Key columns, in the order `key` returns them. */
  readonly keyCols: readonly string[];
  key(leaf: number, site: number, h: HourKeys, d: DayKeys): readonly number[];
  /** The same key as one number (for the in-memory map). */
  id(leaf: number, site: number, h: HourKeys): number;
  readonly f: AnalyticsTable;
  readonly g: AnalyticsTable;
}

const ROLLUPS: readonly Rollup[] = [
  { f: 'f_day', g: 'g_day', keyCols: ['leaf_no', 'day', 'dow', 'week', 'month'], key: (leaf, _s, h, d) => [leaf, h.day, d.dow, d.week, d.month], id: (leaf, _s, h) => leaf * 2 ** 17 + h.day },
  { f: 'f_month', g: 'g_month', keyCols: ['leaf_no', 'month'], key: (leaf, _s, h) => [leaf, h.month], id: (leaf, _s, h) => leaf * 2 ** 18 + h.month },
  { f: 's_day', g: 'gs_day', keyCols: ['site_no', 'day', 'dow', 'week', 'month'], key: (_l, site, h, d) => [site, h.day, d.dow, d.week, d.month], id: (_l, site, h) => site * 2 ** 17 + h.day },
  { f: 's_month', g: 'gs_month', keyCols: ['site_no', 'month'], key: (_l, site, h) => [site, h.month], id: (_l, site, h) => site * 2 ** 18 + h.month },
  {
    f: 's_mdh',
    g: 'gs_mdh',
    keyCols: ['site_no', 'month', 'dow', 'hod'],
    key: (_l, site, h) => [site, h.month, h.dow, h.hod],
    id: (_l, site, h) => ((site * 2 ** 18 + h.month) * 8 + h.dow) * 32 + h.hod,
  },
  { f: 'c_day', g: 'gc_day', keyCols: ['day', 'dow', 'week', 'month'], key: (_l, _s, h, d) => [h.day, d.dow, d.week, d.month], id: (_l, _s, h) => h.day },
  { f: 'c_month', g: 'gc_month', keyCols: ['month'], key: (_l, _s, h) => [h.month], id: (_l, _s, h) => h.month },
  { f: 'c_mdh', g: 'gc_mdh', keyCols: ['month', 'dow', 'hod'], key: (_l, _s, h) => [h.month, h.dow, h.hod], id: (_l, _s, h) => (h.month * 8 + h.dow) * 32 + h.hod },
];

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

export class FactBuffer {
  private f = new Map<number, Float64Array>();
  private prices = new Map<number, number>();
  private g = new Map<number, Map<number, Float64Array>>();
  /** Hours known to have no row yet: written without reading first. */
  private fresh = new Set<number>();
  /**
   * The rows as last written (columns, then the price), so a busy hour is not
   * read back from SQLite at every batch. Oldest entries go first when full.
   */
  private rowsF = new Map<number, Float64Array>();
  private rowsGCache = new Map<number, Map<number, Float64Array>>();
  private cached = 0;
  private readonly getF: Statement<[number, number], Record<string, number>>;
  private readonly putF: BulkWriter;
  private readonly getG: Statement<[number, number, number], Record<string, number>>;
  private readonly putG: BulkWriter;
  private readonly allF: Statement<[number], Record<string, number>>;
  private readonly allG: Statement<[number], Record<string, number>>;
  private readonly upF: BulkWriter[];
  private readonly upG: BulkWriter[];
  private readonly fRow = new Float64Array(6 + F_COLS.length + 1);
  private readonly next = new Array<number>(F_COLS.length).fill(0);
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
    const key = leaf * HOUR_SPAN + hour;
    let d = this.f.get(key);
    if (d === undefined) {
      d = new Float64Array(F_INPUTS);
      this.f.set(key, d);
    }
    d[col] = (d[col] as number) + ms;
  }

  addG(leaf: number, hour: number, grp: number, col: number, ms: number): void {
    if (ms === 0) return;
    let byKey = this.g.get(grp);
    if (byKey === undefined) {
      byKey = new Map();
      this.g.set(grp, byKey);
    }
    const key = leaf * HOUR_SPAN + hour;
    let d = byKey.get(key);
    if (d === undefined) {
      d = new Float64Array(G_COLS.length);
      byKey.set(key, d);
    }
    d[col] = (d[col] as number) + ms;
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
    this.f = new Map();
    this.prices = new Map();
    this.g = new Map();
    this.fresh = new Set();
  }

  /** Forgets the cached rows (their transaction rolled back). */
  forget(): void {
    this.rowsF = new Map();
    this.rowsGCache = new Map();
    this.cached = 0;
  }

  private remember(): void {
    // A bounded cache: when full, start afresh (cheaper than tracking recency on every hit).
    if (this.cached > MAX_CACHED) this.forget();
  }

  /** Writes every pending hour and the rollups' changes. Run inside a transaction. */
  flush(): void {
    if (this.pending === 0) {
      this.fresh.clear();
      return;
    }
    const rolls = ROLLUPS.map(() => new Map<number, Pending>());
    const roll = (leaf: number, site: number, hk: HourKeys, delta: Float64Array, n: number): void => {
      for (let k = 0; k < ROLLUPS.length; k++) {
        const r = ROLLUPS[k] as Rollup;
        const m = rolls[k] as Map<number, Pending>;
        const id = r.id(leaf, site, hk);
        let p = m.get(id);
        if (p === undefined) {
          p = { keys: r.key(leaf, site, hk, dayKeys(hk.day)), cols: new Float64Array(n) };
          m.set(id, p);
        }
        for (let j = 0; j < n; j++) p.cols[j] = (p.cols[j] as number) + (delta[j] as number);
      }
    };

    // Hours of f: inputs, price, derived columns.
    const keys = new Set<number>(this.f.keys());
    for (const k of this.prices.keys()) keys.add(k);
    const next = this.next;
    const delta = this.delta;
    for (const key of keys) {
      const leaf = Math.floor(key / HOUR_SPAN);
      const hour = key - leaf * HOUR_SPAN;
      const d = this.f.get(key);
      let old = this.rowsF.get(key);
      if (old === undefined && !this.fresh.has(key)) {
        const row = this.getF.get(leaf, hour);
        if (row !== undefined) {
          old = new Float64Array(F_COLS.length + 1);
          for (let k = 0; k < F_COLS.length; k++) old[k] = row[F_COLS[k] as string] as number;
          old[F_COLS.length] = row.price_cph as number;
        }
      }
      if (old === undefined && d === undefined) continue; // a price for an hour nothing happens in
      const existed = old !== undefined;
      const price = this.prices.get(key) ?? old?.[F_COLS.length] ?? 0;
      for (let k = 0; k < F_COLS.length; k++) next[k] = old === undefined ? 0 : (old[k] as number);
      for (let k = 0; k < F_COLS.length; k++) delta[k] = -(next[k] as number);
      if (d !== undefined) for (let k = 0; k < F_INPUTS; k++) next[k] = (next[k] as number) + (d[k] as number);
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
        const out = this.fRow;
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
      const row = old ?? new Float64Array(F_COLS.length + 1);
      for (let k = 0; k < F_COLS.length; k++) row[k] = next[k] as number;
      row[F_COLS.length] = price;
      if (!this.rowsF.has(key)) {
        this.rowsF.set(key, row);
        this.cached++;
      }
      if (changed) roll(leaf, this.siteOfLeaf(leaf), hk, delta, F_COLS.length);
    }
    this.putF.flush();
    for (let r = 0; r < ROLLUPS.length; r++) {
      const w = this.upF[r] as BulkWriter;
      for (const p of (rolls[r] as Map<number, Pending>).values()) w.add([...p.keys, ...p.cols]);
      w.flush();
    }

    // Hours of g, per customer group.
    for (const [grp, byKey] of this.g) {
      for (const m of rolls) m.clear();
      let cache = this.rowsGCache.get(grp);
      if (cache === undefined) {
        cache = new Map();
        this.rowsGCache.set(grp, cache);
      }
      for (const [key, d] of byKey) {
        const leaf = Math.floor(key / HOUR_SPAN);
        const hour = key - leaf * HOUR_SPAN;
        let old = cache.get(key);
        if (old === undefined) {
          const row = this.getG.get(leaf, hour, grp);
          old = new Float64Array(G_COLS.length);
          if (row !== undefined) for (let k = 0; k < G_COLS.length; k++) old[k] = row[G_COLS[k] as string] as number;
          cache.set(key, old);
          this.cached++;
        }
        for (let k = 0; k < G_COLS.length; k++) old[k] = (old[k] as number) + (d[k] as number);
        const hk = hourKeys(hour);
        this.putG.add([leaf, hour, grp, hk.day, hk.hod, hk.dow, hk.month, ...old]);
        roll(leaf, this.siteOfLeaf(leaf), hk, d, G_COLS.length);
      }
      this.putG.flush();
      for (let r = 0; r < ROLLUPS.length; r++) {
        const id = IDENTITY[(ROLLUPS[r] as Rollup).f] as number;
        const w = this.upG[r] as BulkWriter;
        for (const p of (rolls[r] as Map<number, Pending>).values()) w.add([...p.keys.slice(0, id), grp, ...p.keys.slice(id), ...p.cols]);
        w.flush();
      }
    }
    this.clear();
    this.remember();
  }
}
