/**
 * Availability: free time per reservation unit and Helsinki day, for search
 * pages that list many units over many days ("which courts have an evening
 * free next week?") without asking every partition.
 *
 * A row per unit and day, from the day the events have reached to the end of
 * the unit's booking window (at most `daysAhead`, default 90): open minutes,
 * free minutes, the free intervals, and how many start times a booking of the
 * unit's minimum duration could take. "Free" is the engine's rule (see
 * `conflicts/timeline.ts`): a new booking conflicts with a reservation that
 * holds its slot (requested, awaiting handling or payment, confirmed,
 * completed, no-show, or time blocked by staff) on the unit's spaces, their
 * ancestors or descendants, or its resources, when either one's buffered time
 * overlaps the other's booked time. Start times follow the unit's start
 * interval from the opening time, as the engine's `alignedStartsOn`; the
 * booking window, customer group and price, which depend on who asks, are
 * left to the booking itself.
 */
import type { Database, Statement } from 'better-sqlite3';
import type {
  OpeningCalendar} from '@vuoro/engine';
import {
  HOLDS_SLOT,
  alignedStartsOn,
  formatInstant,
  localDayNumber,
  siteStream,
  type RecordedEvent,
  type ReservationState,
  type SiteEvent,
  type UnitRules,
} from '@vuoro/engine';
import { upcastSiteEvent } from '@vuoro/engine/site/upcast.js';
import type { Catalogue} from '../analytics/catalogue.js';
import { versionOn, type UnitInfo } from '../analytics/catalogue.js';
import { CatalogueTables, loadCatalogue } from '../analytics/catalogue-tables.js';
import type { AnalyticsTable } from '../analytics/schema.js';
import { liveGeneration } from '../runtime/state.js';
import { physicalTable, type Projection, type ProjectionContext, type ProjectionHandler } from '../runtime/projection.js';
import { dayKeys, spanOfDay } from '../time/buckets.js';

const MIN = 60_000;
const SITE_PREFIX = siteStream('');
const CATALOGUE_TABLES = ['meta', 'sites', 'spaces', 'space_leaves', 'units', 'unit_rules', 'unit_leaves', 'groups'] as const;
export const AVAILABILITY_TABLES = [...CATALOGUE_TABLES, 'holds', 'unit_days'] as const;
type Table = (typeof AVAILABILITY_TABLES)[number];

export interface AvailabilityOptions {
  /** Days ahead of the events laid out (capped by each unit's booking window). Default 90. */
  daysAhead?: number;
}

export const AVAILABILITY_VERSION = 1;

export function availabilityProjection(options: AvailabilityOptions = {}): Projection {
  return {
    name: 'availability',
    version: AVAILABILITY_VERSION,
    tables: AVAILABILITY_TABLES,
    createTables: (ctx) => {
      const t = (n: Table) => ctx.table(n);
      ctx.db.exec(`
        CREATE TABLE ${t('meta')} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE ${t('sites')} (site_no INTEGER PRIMARY KEY, site_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
        CREATE TABLE ${t('spaces')} (
          space_no INTEGER PRIMARY KEY, space_id TEXT NOT NULL UNIQUE, site_id TEXT NOT NULL, parent_id TEXT,
          name TEXT NOT NULL, capacity INTEGER, area_m2 REAL, annual_cost_cents INTEGER NOT NULL, costs TEXT
        );
        CREATE TABLE ${t('space_leaves')} (space_no INTEGER NOT NULL, leaf_no INTEGER NOT NULL, PRIMARY KEY (space_no, leaf_no)) WITHOUT ROWID;
        CREATE TABLE ${t('units')} (unit_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, name TEXT NOT NULL, unit_type TEXT NOT NULL, space_ids TEXT NOT NULL, resource_ids TEXT NOT NULL, prices TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE ${t('unit_rules')} (unit_id TEXT NOT NULL, from_day INTEGER NOT NULL, rules TEXT NOT NULL, PRIMARY KEY (unit_id, from_day)) WITHOUT ROWID;
        CREATE TABLE ${t('unit_leaves')} (unit_id TEXT NOT NULL, leaf_no INTEGER NOT NULL, PRIMARY KEY (unit_id, leaf_no)) WITHOUT ROWID;
        CREATE TABLE ${t('groups')} (grp_no INTEGER PRIMARY KEY, grp_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_fi TEXT);
        CREATE TABLE ${t('holds')} (
          reservation_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, keys TEXT NOT NULL,
          start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, before_ms INTEGER NOT NULL, after_ms INTEGER NOT NULL, state TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX ${t('holds')}_site ON ${t('holds')} (site_id, start_ms);
        CREATE TABLE ${t('unit_days')} (
          unit_id TEXT NOT NULL, day INTEGER NOT NULL, site_id TEXT NOT NULL, date TEXT NOT NULL,
          open_minutes INTEGER NOT NULL, free_minutes INTEGER NOT NULL, starts INTEGER NOT NULL, first_start INTEGER,
          free TEXT NOT NULL,
          PRIMARY KEY (unit_id, day)
        ) WITHOUT ROWID;
        CREATE INDEX ${t('unit_days')}_site ON ${t('unit_days')} (site_id, day);
      `);
    },
    open: (ctx) => new AvailabilityHandler(ctx, options.daysAhead ?? 90),
  };
}

interface Hold {
  reservation_id: string;
  site_id: string;
  /** Spaces and resources (`r:<id>`) the reservation is on. */
  keys: string;
  start_ms: number;
  end_ms: number;
  before_ms: number;
  after_ms: number;
  state: string;
}

const eventTime = (e: RecordedEvent): number => {
  const t = Date.parse(e.metadata.decidedAt ?? e.metadata.recordedAt);
  return Number.isFinite(t) ? t : 0;
};

class AvailabilityHandler implements ProjectionHandler {
  private readonly db: Database;
  private readonly t: (n: Table) => string;
  private cat!: Catalogue;
  private readonly catTables: CatalogueTables;
  private today: number | undefined;
  /** Unit-days to recompute at the end of the batch. */
  private dirty = new Map<string, Set<number>>();
  private relatedOf = new Map<string, ReadonlySet<string>>();
  private readonly s: Record<string, Statement>;

  constructor(
    ctx: ProjectionContext,
    private readonly daysAhead: number,
  ) {
    this.db = ctx.db;
    this.t = (n) => ctx.table(n);
    const t = this.t;
    const asAnalytics = (n: AnalyticsTable) => ctx.table(n);
    this.catTables = new CatalogueTables(this.db, asAnalytics);
    this.s = {
      getHold: this.db.prepare(`SELECT * FROM ${t('holds')} WHERE reservation_id = ?`),
      putHold: this.db.prepare(
        `INSERT OR REPLACE INTO ${t('holds')} (reservation_id, site_id, keys, start_ms, end_ms, before_ms, after_ms, state) VALUES (@reservation_id, @site_id, @keys, @start_ms, @end_ms, @before_ms, @after_ms, @state)`,
      ),
      delHold: this.db.prepare(`DELETE FROM ${t('holds')} WHERE reservation_id = ?`),
      holdsNear: this.db.prepare(`SELECT * FROM ${t('holds')} WHERE site_id = ? AND start_ms < ? AND end_ms > ?`),
      dropPastHolds: this.db.prepare(`DELETE FROM ${t('holds')} WHERE end_ms < ?`),
      putDay: this.db.prepare(
        `INSERT OR REPLACE INTO ${t('unit_days')} (unit_id, day, site_id, date, open_minutes, free_minutes, starts, first_start, free) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      dropBefore: this.db.prepare(`DELETE FROM ${t('unit_days')} WHERE day < ?`),
      dropUnitAfter: this.db.prepare(`DELETE FROM ${t('unit_days')} WHERE unit_id = ? AND day > ?`),
      putMeta: this.db.prepare(`INSERT OR REPLACE INTO ${t('meta')} (key, value) VALUES (?, ?)`),
    };
    this.load();
  }

  private load(): void {
    this.cat = loadCatalogue(this.db, (n) => this.t(n as Table));
    const today = this.db.prepare(`SELECT value FROM ${this.t('meta')} WHERE key = 'today'`).get() as { value: string } | undefined;
    this.today = today === undefined ? undefined : Number(today.value);
    this.dirty = new Map();
    this.relatedOf = new Map();
  }

  apply(e: RecordedEvent): void {
    if (e.type === 'SiteRegistered') {
      const site = (e.data as { site: { siteId: string; name: string } }).site;
      this.catTables.site(this.cat.defineSite(site.siteId, site.name));
      return;
    }
    if (!e.stream.startsWith(SITE_PREFIX)) return;
    const event = upcastSiteEvent(e);
    if (event === undefined) return;
    const siteId = e.stream.slice(SITE_PREFIX.length);
    this.advance(localDayNumber(eventTime(e)));
    this.onSiteEvent(siteId, event, e);
  }

  endBatch(): void {
    for (const [unitId, days] of this.dirty) {
      const unit = this.cat.units.get(unitId);
      if (unit === undefined) continue;
      for (const day of days) this.computeDay(unit, day);
    }
    this.dirty.clear();
    if (this.today !== undefined) this.s.putMeta!.run('today', String(this.today));
  }

  abortBatch(): void {
    this.load();
  }

  // --- the window of days ------------------------------------------------------------

  private windowOf(unit: UnitInfo): [number, number] | undefined {
    if (this.today === undefined) return undefined;
    const rules = versionOn(unit, this.today).rules;
    return [this.today, this.today + Math.min(this.daysAhead, rules.bookingWindow.maxDaysAhead)];
  }

  private mark(unitId: string, first: number, last: number): void {
    const unit = this.cat.units.get(unitId);
    const w = unit === undefined ? undefined : this.windowOf(unit);
    if (w === undefined) return;
    let days = this.dirty.get(unitId);
    if (days === undefined) {
      days = new Set();
      this.dirty.set(unitId, days);
    }
    for (let d = Math.max(first, w[0]); d <= Math.min(last, w[1]); d++) days.add(d);
  }

  /** The events reached a new day: yesterday's rows go, the window's new days come. */
  private advance(day: number): void {
    if (this.today !== undefined && day <= this.today) return;
    const before = this.today;
    this.today = day;
    this.s.dropBefore!.run(day);
    // Holds that ended before yesterday cannot touch a day in the window any more.
    this.s.dropPastHolds!.run(spanOfDay(day - 2)[0]);
    for (const unit of this.cat.units.values()) {
      const w = this.windowOf(unit);
      if (w === undefined) continue;
      const from = before === undefined ? w[0] : Math.max(w[0], before + Math.min(this.daysAhead, versionOn(unit, before).rules.bookingWindow.maxDaysAhead) + 1);
      this.mark(unit.unitId, from, w[1]);
    }
  }

  // --- events ------------------------------------------------------------------------------

  private onSiteEvent(siteId: string, event: SiteEvent, e: RecordedEvent): void {
    switch (event.type) {
      case 'SiteDefined':
        this.catTables.site(this.cat.defineSite(siteId, event.data.site.name));
        return;
      case 'SpaceDefined':
      case 'SpaceUpdated': {
        if (!this.cat.sites.has(siteId)) this.catTables.site(this.cat.defineSite(siteId, siteId));
        this.catTables.space(this.cat.defineSpace(siteId, event.data.space));
        this.relatedOf.clear();
        // A space's place in the tree decides which units its holds block.
        for (const u of this.cat.units.values()) if (u.siteId === siteId) this.mark(u.unitId, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        return;
      }
      case 'UnitDefined': {
        const u = this.cat.defineUnit(siteId, event.data.unit);
        this.catTables.unit(u);
        this.relatedOf.delete(u.unitId);
        if (this.today === undefined) this.today = localDayNumber(eventTime(e));
        this.mark(u.unitId, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        return;
      }
      case 'UnitRulesChanged': {
        const u = this.cat.changeRules(event.data.unitId, event.data.rules, localDayNumber(eventTime(e)));
        if (u === undefined) return;
        this.catTables.unit(u);
        const w = this.windowOf(u);
        if (w !== undefined) this.s.dropUnitAfter!.run(u.unitId, w[1]);
        this.mark(u.unitId, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        return;
      }
      case 'ReservationRequested': {
        const d = event.data;
        this.hold({
          reservation_id: d.reservationId,
          site_id: siteId,
          keys: JSON.stringify([...d.spaceIds, ...d.resourceIds.map((r) => `r:${r}`)]),
          start_ms: Date.parse(d.start),
          end_ms: Date.parse(d.end),
          before_ms: d.bufferBeforeMinutes * MIN,
          after_ms: d.bufferAfterMinutes * MIN,
          state: 'requested',
        });
        return;
      }
      case 'TimeBlocked': {
        const d = event.data;
        this.hold({
          reservation_id: d.reservationId,
          site_id: siteId,
          keys: JSON.stringify([...d.spaceIds, ...d.resourceIds.map((r) => `r:${r}`)]),
          start_ms: Date.parse(d.start),
          end_ms: Date.parse(d.end),
          before_ms: 0,
          after_ms: 0,
          state: 'confirmed',
        });
        return;
      }
      case 'ReservationHandlingRequired':
      case 'ReservationPaymentRequired':
      case 'ReservationConfirmed':
      case 'ReservationCompleted':
      case 'ReservationNoShow':
        return; // still holding its slot
      case 'ReservationDenied':
      case 'ReservationExpired':
      case 'ReservationCancelled': {
        const h = this.s.getHold!.get(event.data.reservationId) as Hold | undefined;
        if (h === undefined) return;
        this.s.delHold!.run(h.reservation_id);
        this.touch(h);
        return;
      }
      case 'ReservationModified': {
        const h = this.s.getHold!.get(event.data.reservationId) as Hold | undefined;
        if (h === undefined) return;
        this.touch(h);
        this.hold({ ...h, start_ms: Date.parse(event.data.start), end_ms: Date.parse(event.data.end) });
        return;
      }
      default:
        return;
    }
  }

  private hold(h: Hold): void {
    if (!HOLDS_SLOT.has(h.state as ReservationState)) return;
    this.s.putHold!.run(h);
    this.touch(h);
  }

  /** Marks the days of every unit whose free time a hold can change. */
  private touch(h: Hold): void {
    const keys = new Set(JSON.parse(h.keys) as string[]);
    for (const u of this.cat.units.values()) {
      const related = this.related(u);
      if (u.siteId !== h.site_id || ![...keys].some((k) => related.has(k))) continue;
      const rules = versionOn(u, localDayNumber(h.start_ms)).rules;
      const reach = Math.max(h.before_ms, rules.bufferAfterMinutes * MIN) + Math.max(h.after_ms, rules.bufferBeforeMinutes * MIN) + 24 * 3_600_000;
      this.mark(u.unitId, localDayNumber(h.start_ms - reach), localDayNumber(h.end_ms + reach));
    }
  }

  /** Timelines a booking of the unit is checked against: its spaces, their ancestors and descendants, its resources. */
  private related(u: UnitInfo): ReadonlySet<string> {
    const cached = this.relatedOf.get(u.unitId);
    if (cached !== undefined) return cached;
    const out = new Set<string>();
    for (const id of u.spaceIds) {
      out.add(id);
      for (const a of this.cat.ancestorsOf(id)) out.add(a);
      const stack = [...this.cat.childrenOf(id)];
      while (stack.length > 0) {
        const c = stack.pop() as string;
        out.add(c);
        stack.push(...this.cat.childrenOf(c));
      }
    }
    for (const r of u.resourceIds) out.add(`r:${r}`);
    this.relatedOf.set(u.unitId, out);
    return out;
  }

  // --- one unit-day ----------------------------------------------------------------------------

  private computeDay(unit: UnitInfo, day: number): void {
    const version = versionOn(unit, day);
    const rules: UnitRules = version.rules;
    const calendar: OpeningCalendar = version.calendar;
    const date = dayKeys(day).date;
    const [dayStart, dayEnd] = spanOfDay(day);
    const own = calendar.openIntervalsWithinDay(date);
    const before = rules.bufferBeforeMinutes * MIN;
    const after = rules.bufferAfterMinutes * MIN;
    // Time a booking's own interval must stay out of: each hold's time widened by the larger buffers.
    const related = this.related(unit);
    const reach = 2 * 86_400_000; // more than any buffer: the last opening interval of a day may run past midnight
    const holds = (this.s.holdsNear!.all(unit.siteId, dayEnd + 14 * 86_400_000, dayStart - reach) as Hold[]).filter((h) =>
      (JSON.parse(h.keys) as string[]).some((k) => related.has(k)),
    );
    const blocked = holds
      .map((h) => [h.start_ms - Math.max(h.before_ms, after), h.end_ms + Math.max(h.after_ms, before)] as [number, number])
      .sort((a, b) => a[0] - b[0]);
    const free: [number, number][] = [];
    let openMs = 0;
    for (const [a, b] of own) {
      openMs += b - a;
      let cursor = a;
      for (const [x, y] of blocked) {
        if (y <= cursor || x >= b) continue;
        if (x > cursor) free.push([cursor, Math.min(x, b)]);
        cursor = Math.max(cursor, y);
        if (cursor >= b) break;
      }
      if (cursor < b) free.push([cursor, b]);
    }
    const duration = rules.minDurationMinutes * MIN;
    let starts = 0;
    let firstStart: number | null = null;
    const view = { unit: { rules } as never, calendar, checkKeys: [], insertKeys: [] };
    for (const t of alignedStartsOn(view as Parameters<typeof alignedStartsOn>[0], date)) {
      const open = calendar.openIntervalContaining(t);
      if (open === undefined || t + duration > open[1]) continue;
      if (blocked.some(([x, y]) => x < t + duration && t < y)) continue;
      starts++;
      firstStart ??= t;
    }
    const freeMs = free.reduce((s, [a, b]) => s + b - a, 0);
    this.s.putDay!.run(
      unit.unitId,
      day,
      unit.siteId,
      date,
      Math.round(openMs / MIN),
      Math.round(freeMs / MIN),
      starts,
      firstStart,
      JSON.stringify(free.map(([a, b]) => [formatInstant(a), formatInstant(b)])),
    );
  }
}

// --- reading -------------------------------------------------------------------------------------

export interface UnitDay {
  unitId: string;
  siteId: string;
  date: string;
  openMinutes: number;
  freeMinutes: number;
  /** Start times a booking of the unit's minimum duration could take. */
  starts: number;
  firstStart: string | null;
  free: [string, string][];
}

export class AvailabilityReadModel {
  constructor(private readonly db: Database) {}

  /** Unit-days in a date range, optionally for a site or unit, with at least `minFreeMinutes` free. */
  days(q: { from: string; to: string; siteId?: string; unitId?: string; minFreeMinutes?: number }): UnitDay[] {
    const live = liveGeneration(this.db, 'availability');
    if (live === undefined) return [];
    const t = (n: Table) => physicalTable('availability', n, live.generation);
    const params: (string | number)[] = [q.from, q.to, q.minFreeMinutes ?? 0];
    let where = 'date BETWEEN ? AND ? AND free_minutes >= ?';
    if (q.siteId !== undefined) {
      where += ' AND site_id = ?';
      params.push(q.siteId);
    }
    if (q.unitId !== undefined) {
      where += ' AND unit_id = ?';
      params.push(q.unitId);
    }
    const rows = this.db.prepare(`SELECT * FROM ${t('unit_days')} WHERE ${where} ORDER BY date, unit_id`).all(...params) as {
      unit_id: string;
      site_id: string;
      date: string;
      open_minutes: number;
      free_minutes: number;
      starts: number;
      first_start: number | null;
      free: string;
    }[];
    return rows.map((r) => ({
      unitId: r.unit_id,
      siteId: r.site_id,
      date: r.date,
      openMinutes: r.open_minutes,
      freeMinutes: r.free_minutes,
      starts: r.starts,
      firstStart: r.first_start === null ? null : formatInstant(r.first_start),
      free: JSON.parse(r.free) as [string, string][],
    }));
  }
}
