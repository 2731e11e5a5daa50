/**
 * The analytics projection: reservations (staff lists, exports), occupancy,
 * and the hourly facts behind utilization, cost of vacancy, no-shows and
 * unbooked use; the SLA inputs (handling decisions, door command round
 * trips, device connectivity).
 *
 * What counts (DESIGN.md "Projections"):
 * - open time: a leaf's opening hours (see catalogue.ts) minus time blocked
 *   for closure or maintenance;
 * - booked time: reservations once confirmed (also when later completed or a
 *   no-show), and time blocked for an event; held or pending requests do not
 *   count until confirmed, and a cancellation takes the time back;
 * - occupied time: the union of occupancy intervals of sensors on the leaf or
 *   on a space containing it;
 * - monitored: an hour of a leaf is monitored from the first hour a sensor
 *   covered it (the first full hour after an occupancy sensor was
 *   provisioned, or the hour of its first reported interval, whichever is
 *   earlier); used rate, no-shows and unbooked use are measured on monitored
 *   hours only, so a space without sensors is not reported as never used.
 *
 * Every time here comes from the events (`decidedAt`, else `recordedAt`;
 * sensor and door times from the access log), never from a clock, so a
 * replay builds the same tables.
 */
import type { Database, Statement } from 'better-sqlite3';
import { dayNumberOf, localDayNumber, siteStream, type RecordedEvent, type SiteEvent, type SiteEventOf } from '@vuoro/engine';
import { upcastSiteEvent } from '@vuoro/engine/site/upcast.js';
import { parseConsumedAccessEvent, type ConsumedAccessEvent } from '../access/consumed.js';
import type { Projection, ProjectionContext, ProjectionHandler } from '../runtime/projection.js';
import { HOUR_MS, bucketsOfDay, dayKeys, forEachBucket, hourKeys, hourOf, spanOfDay } from '../time/buckets.js';
import type { Catalogue } from './catalogue.js';
import { BLOCKED_GROUP_ID } from './catalogue.js';
import { CatalogueTables, loadCatalogue } from './catalogue-tables.js';
import { FactBuffer } from './facts.js';
import { ANALYTICS_TABLES, F, G, analyticsDdl, type AnalyticsTable } from './schema.js';

export interface AnalyticsProjectionOptions {
  /** The customer group whose price is the list price for lost revenue (default `grp_residents`). */
  listPriceGroupId?: string;
  /**
   * How far ahead of the events open hours are laid out: to the end of the
   * year this many days ahead falls in (default 366, so next year's booked
   * rates have their open hours; 0 lays out only the current year).
   */
  horizonDays?: number;
}

/** Bumped whenever a table or the meaning of a figure changes: stored read models of another version are rebuilt. */
export const ANALYTICS_VERSION = 2;

export function analyticsProjection(options: AnalyticsProjectionOptions = {}): Projection {
  return {
    name: 'analytics',
    version: ANALYTICS_VERSION,
    tables: ANALYTICS_TABLES,
    createTables: (ctx) => ctx.db.exec(analyticsDdl((n) => ctx.table(n))),
    open: (ctx) => new AnalyticsHandler(ctx, options),
  };
}

/** What a reservation row holds; `effective` says what it contributes to the facts. */
export interface ReservationRow {
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
  /** Helsinki day number and hour of the start, for grouping. */
  start_day: number;
  start_hod: number;
  state: string;
  price_cents: number;
  vat_cents: number;
  paid_cents: number;
  channel: string | null;
  series_id: string | null;
  requested_at: number;
  handling: number;
  handling_at: number | null;
  decided_at: number | null;
  decision: string | null;
  decided_by: string | null;
  ended_at: number | null;
  /** 0: nothing; 1: booked time; 2: closure (takes open time away). */
  effective: number;
  leaf_count: number;
  occupied_ms: number;
  mon_ms: number;
  no_show_marked: number;
  position: number;
}

const RES_COLS: readonly (keyof ReservationRow)[] = [
  'reservation_id',
  'site_id',
  'unit_id',
  'kind',
  'block_reason',
  'customer_id',
  'grp_no',
  'space_ids',
  'start_ms',
  'end_ms',
  'start_day',
  'start_hod',
  'state',
  'price_cents',
  'vat_cents',
  'paid_cents',
  'channel',
  'series_id',
  'requested_at',
  'handling',
  'handling_at',
  'decided_at',
  'decision',
  'decided_by',
  'ended_at',
  'effective',
  'leaf_count',
  'occupied_ms',
  'mon_ms',
  'no_show_marked',
  'position',
];

const BOOKED_STATES = new Set(['confirmed', 'completed', 'no_show']);
const CATALOGUE_EVENTS = new Set(['SiteDefined', 'SpaceDefined', 'SpaceUpdated', 'UnitDefined', 'UnitRulesChanged', 'PriceSet']);
const CLOSING_REASONS = new Set(['closure', 'maintenance']);

/** What a reservation should contribute in its current state. */
export function effectOf(r: Pick<ReservationRow, 'kind' | 'state' | 'block_reason'>): 0 | 1 | 2 {
  if (r.kind === 'blocked') {
    if (r.state !== 'confirmed' && r.state !== 'completed') return 0;
    return CLOSING_REASONS.has(r.block_reason ?? '') ? 2 : 1;
  }
  return BOOKED_STATES.has(r.state) ? 1 : 0;
}

const SITE_PREFIX = siteStream('');

export const eventTime = (e: RecordedEvent): number => {
  const t = Date.parse(e.metadata.decidedAt ?? e.metadata.recordedAt);
  return Number.isFinite(t) ? t : 0;
};

/** The last day of the year `day + ahead` falls in: how far open hours are laid out ahead of the events. */
const horizonEndFor = (day: number, ahead: number): number => dayNumberOf(`${dayKeys(day + ahead).year}-12-31`);

const firstDayOfYearOf = (day: number): number => dayNumberOf(`${dayKeys(day).year}-01-01`);

class AnalyticsHandler implements ProjectionHandler {
  private readonly db: Database;
  private readonly t: (name: AnalyticsTable) => string;
  private cat!: Catalogue;
  private readonly catTables: CatalogueTables;
  private readonly facts: FactBuffer;
  private coverage = new Map<number, number>();
  private horizon: { from: number; to: number } | undefined;
  private readonly ahead: number;
  /** Longest booking and closure segment per leaf, bounding overlap searches. */
  private maxSeg = new Map<number, number>();
  private maxClosure = new Map<number, number>();
  private res = new Map<string, ReservationRow>();
  private dirty = new Set<string>();
  private metaDirty = false;
  /** Bumped on every catalogue change, so readers know when to reload their copy. */
  private catalogueVersion = 0;
  private readonly s: Record<string, Statement>;

  constructor(
    ctx: ProjectionContext,
    private readonly options: AnalyticsProjectionOptions,
  ) {
    this.db = ctx.db;
    this.ahead = options.horizonDays ?? 366;
    this.t = (n) => ctx.table(n);
    const t = this.t;
    this.catTables = new CatalogueTables(this.db, t);
    this.facts = new FactBuffer(this.db, t, (leaf) => this.cat.siteNoOfLeaf(leaf));
    const db = this.db;
    this.s = {
      getRes: db.prepare(`SELECT * FROM ${t('reservations')} WHERE reservation_id = ?`),
      putRes: db.prepare(`INSERT OR REPLACE INTO ${t('reservations')} (${RES_COLS.join(', ')}) VALUES (${RES_COLS.map((c) => `@${c}`).join(', ')})`),
      insSeg: db.prepare(`INSERT OR REPLACE INTO ${t('booking_segs')} (leaf_no, start_ms, end_ms, reservation_id, grp_no) VALUES (?, ?, ?, ?, ?)`),
      delSeg: db.prepare(`DELETE FROM ${t('booking_segs')} WHERE leaf_no = ? AND start_ms = ? AND reservation_id = ?`),
      segsIn: db.prepare(
        `SELECT start_ms, end_ms, reservation_id, grp_no FROM ${t('booking_segs')} WHERE leaf_no = ? AND start_ms >= ? AND start_ms < ? AND end_ms > ?`,
      ),
      insClosure: db.prepare(`INSERT OR REPLACE INTO ${t('closure_segs')} (leaf_no, start_ms, end_ms, reservation_id) VALUES (?, ?, ?, ?)`),
      delClosure: db.prepare(`DELETE FROM ${t('closure_segs')} WHERE leaf_no = ? AND start_ms = ? AND reservation_id = ?`),
      closuresIn: db.prepare(`SELECT start_ms, end_ms FROM ${t('closure_segs')} WHERE leaf_no = ? AND start_ms >= ? AND start_ms < ? AND end_ms > ?`),
      occPred: db.prepare(`SELECT start_ms, end_ms FROM ${t('occ_union')} WHERE leaf_no = ? AND start_ms <= ? ORDER BY start_ms DESC LIMIT 1`),
      occRange: db.prepare(`SELECT start_ms, end_ms FROM ${t('occ_union')} WHERE leaf_no = ? AND start_ms > ? AND start_ms <= ? ORDER BY start_ms`),
      occDel: db.prepare(`DELETE FROM ${t('occ_union')} WHERE leaf_no = ? AND start_ms = ?`),
      occIns: db.prepare(`INSERT INTO ${t('occ_union')} (leaf_no, start_ms, end_ms) VALUES (?, ?, ?)`),
      insOccupancy: db.prepare(
        `INSERT INTO ${t('occupancy')} (site_id, space_id, start_ms, end_ms, peak, sensors, position) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      putCoverage: db.prepare(`INSERT OR REPLACE INTO ${t('coverage')} (leaf_no, from_hour) VALUES (?, ?)`),
      putMeta: db.prepare(`INSERT OR REPLACE INTO ${t('meta')} (key, value) VALUES (?, ?)`),
      putDevice: db.prepare(
        `INSERT INTO ${t('devices')} (device_id, site_id, kind, space_id, door_id, provisioned_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind, space_id = excluded.space_id, door_id = excluded.door_id, decommissioned_at = NULL`,
      ),
      getDevice: db.prepare(`SELECT * FROM ${t('devices')} WHERE device_id = ?`),
      decommission: db.prepare(`UPDATE ${t('devices')} SET decommissioned_at = ? WHERE device_id = ?`),
      openStatus: db.prepare(`SELECT from_ms, online FROM ${t('device_status')} WHERE device_id = ? AND to_ms IS NULL`),
      closeStatus: db.prepare(`UPDATE ${t('device_status')} SET to_ms = ? WHERE device_id = ? AND to_ms IS NULL`),
      insStatus: db.prepare(`INSERT OR REPLACE INTO ${t('device_status')} (device_id, from_ms, to_ms, online) VALUES (?, ?, NULL, ?)`),
      putCommand: db.prepare(
        `INSERT OR IGNORE INTO ${t('door_commands')} (command_id, site_id, door_id, action, emergency, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      doneCommand: db.prepare(`UPDATE ${t('door_commands')} SET done_at = ?, outcome = ? WHERE command_id = ? AND done_at IS NULL`),
      factRows: db.prepare(`SELECT hour, open_ms, booked_ms, price_cph FROM ${t('f_hour')} WHERE leaf_no = ? AND hour >= ? AND hour < ?`),
      gRows: db.prepare(`SELECT hour, grp_no, booked_ms FROM ${t('g_hour')} WHERE leaf_no = ? AND hour >= ? AND hour < ?`),
    };
    this.load();
  }

  /** (Re)loads the working state kept in memory from the tables. */
  private load(): void {
    const t = this.t;
    this.cat = loadCatalogue(this.db, t, this.options.listPriceGroupId);
    this.coverage = new Map(
      (this.db.prepare(`SELECT leaf_no, from_hour FROM ${t('coverage')}`).all() as { leaf_no: number; from_hour: number }[]).map((r) => [r.leaf_no, r.from_hour]),
    );
    const meta = new Map(
      (this.db.prepare(`SELECT key, value FROM ${t('meta')}`).all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
    const from = meta.get('horizon_from');
    const to = meta.get('horizon_to');
    this.horizon = from === undefined || to === undefined ? undefined : { from: Number(from), to: Number(to) };
    this.catalogueVersion = Number(meta.get('catalogue_version') ?? 0);
    this.maxSeg = new Map(
      (this.db.prepare(`SELECT leaf_no, MAX(end_ms - start_ms) AS m FROM ${t('booking_segs')} GROUP BY leaf_no`).all() as { leaf_no: number; m: number }[]).map(
        (r) => [r.leaf_no, r.m],
      ),
    );
    this.maxClosure = new Map(
      (this.db.prepare(`SELECT leaf_no, MAX(end_ms - start_ms) AS m FROM ${t('closure_segs')} GROUP BY leaf_no`).all() as { leaf_no: number; m: number }[]).map(
        (r) => [r.leaf_no, r.m],
      ),
    );
    this.res = new Map();
    this.dirty = new Set();
    this.metaDirty = false;
  }

  // --- the batch ---------------------------------------------------------------

  apply(e: RecordedEvent): void {
    if (e.stream.startsWith(SITE_PREFIX)) {
      const event = upcastSiteEvent(e);
      if (event !== undefined) this.onSiteEvent(e.stream.slice(SITE_PREFIX.length), event, e);
      return;
    }
    switch (e.type) {
      case 'CustomerGroupDefined': {
        this.catalogueChanged();
        const g = (e.data as { group: { customerGroupId: string; name: string; nameFi?: string } }).group;
        const info = this.cat.defineGroup(g.customerGroupId, g.name, g.nameFi);
        this.catTables.group(info.grpNo, info.groupId, info.name, info.nameFi);
        return;
      }
      case 'SiteRegistered': {
        this.catalogueChanged();
        const site = (e.data as { site: { siteId: string; name: string } }).site;
        this.catTables.site(this.cat.defineSite(site.siteId, site.name));
        return;
      }
      default: {
        const access = parseConsumedAccessEvent(e.type, e.data);
        if (access !== undefined) this.onAccessEvent(access, e);
      }
    }
  }

  endBatch(): void {
    for (const id of this.dirty) {
      const r = this.res.get(id);
      if (r !== undefined) this.s.putRes!.run(r);
    }
    this.dirty.clear();
    if (this.res.size > 200_000) this.res.clear();
    this.facts.flush();
    if (this.metaDirty) {
      if (this.horizon !== undefined) {
        this.s.putMeta!.run('horizon_from', String(this.horizon.from));
        this.s.putMeta!.run('horizon_to', String(this.horizon.to));
      }
      this.s.putMeta!.run('catalogue_version', String(this.catalogueVersion));
      this.metaDirty = false;
    }
  }

  abortBatch(): void {
    this.facts.clear();
    this.facts.forget();
    this.load();
  }

  // --- site events -------------------------------------------------------------

  private catalogueChanged(): void {
    this.catalogueVersion++;
    this.metaDirty = true;
  }

  private onSiteEvent(siteId: string, event: SiteEvent, e: RecordedEvent): void {
    const at = eventTime(e);
    this.extendHorizon(localDayNumber(at));
    if (CATALOGUE_EVENTS.has(event.type)) this.catalogueChanged();
    switch (event.type) {
      case 'SiteDefined':
        this.catTables.site(this.cat.defineSite(siteId, event.data.site.name));
        return;
      case 'SpaceDefined':
      case 'SpaceUpdated':
        return this.onSpace(siteId, event.data.space);
      case 'ResourceDefined':
        return;
      case 'UnitDefined': {
        const u = this.cat.defineUnit(siteId, event.data.unit);
        this.catTables.unit(u);
        this.catTables.leavesOfSite(this.cat, siteId);
        if (this.horizon === undefined) this.horizon = { from: firstDayOfYearOf(localDayNumber(at)), to: horizonEndFor(localDayNumber(at), this.ahead) };
        this.metaDirty = true;
        for (const leaf of this.cat.leavesOfUnit(u.unitId)) this.relayOpen(leaf, this.horizon.from, this.horizon.to);
        return;
      }
      case 'UnitRulesChanged': {
        const from = localDayNumber(at);
        const u = this.cat.changeRules(event.data.unitId, event.data.rules, from);
        if (u === undefined) return;
        this.catTables.unit(u);
        if (this.horizon === undefined) return;
        for (const leaf of this.cat.leavesOfUnit(u.unitId)) this.relayOpen(leaf, Math.max(from, this.horizon.from), this.horizon.to);
        return;
      }
      case 'PriceSet': {
        const u = this.cat.setPrice(event.data.unitId, event.data.price);
        if (u === undefined) return;
        this.catTables.unit(u);
        if (this.horizon === undefined) return;
        // The price may be the list price of leaves booked through other units too.
        for (const leaf of this.cat.leavesOfUnit(u.unitId)) {
          this.relayOpen(leaf, Math.max(dayNumberOf(event.data.price.validFrom), this.horizon.from), this.horizon.to);
        }
        return;
      }
      case 'ReservationRequested':
        return this.onRequested(siteId, event.data, e, at);
      case 'TimeBlocked':
        return this.onBlocked(siteId, event.data, e, at);
      case 'ReservationHandlingRequired':
        return this.update(event.data.reservationId, e, (r) => {
          r.handling = 1;
          r.handling_at = at;
          r.state = 'requires_handling';
        });
      case 'ReservationApproved':
        return this.update(event.data.reservationId, e, (r) => {
          r.decided_at ??= at;
          r.decision ??= 'approved';
          r.decided_by ??= event.data.by;
        });
      case 'ReservationDenied':
        return this.update(event.data.reservationId, e, (r) => {
          r.decided_at ??= at;
          r.decision ??= 'denied';
          r.decided_by ??= event.data.by;
          r.state = 'denied';
          r.ended_at = at;
        });
      case 'ReservationPaymentRequired':
        return this.update(event.data.reservationId, e, (r) => {
          r.state = 'awaiting_payment';
        });
      case 'ReservationPaid':
        return this.update(event.data.reservationId, e, (r) => {
          r.paid_cents += event.data.amountCents;
        });
      case 'ReservationConfirmed':
        return this.update(event.data.reservationId, e, (r) => {
          r.state = 'confirmed';
        });
      case 'ReservationExpired':
        return this.update(event.data.reservationId, e, (r) => {
          r.state = 'expired';
          r.ended_at = at;
        });
      case 'ReservationCancelled':
        return this.update(event.data.reservationId, e, (r) => {
          r.state = 'cancelled';
          r.ended_at = at;
        });
      case 'ReservationCompleted':
        return this.update(event.data.reservationId, e, (r) => {
          r.state = 'completed';
          r.ended_at = at;
        });
      case 'ReservationNoShow':
        return this.update(event.data.reservationId, e, (r) => {
          r.state = 'no_show';
          r.no_show_marked = 1;
          r.ended_at = at;
        });
      case 'ReservationModified': {
        const r = this.getRes(event.data.reservationId);
        if (r === undefined) return;
        const was = r.effective;
        this.contribute(r, was, -1);
        r.start_ms = Date.parse(event.data.start);
        r.end_ms = Date.parse(event.data.end);
        r.price_cents = event.data.price.amountCents;
        r.vat_cents = event.data.price.vatCents;
        r.position = e.position;
        this.extendHorizonTo(r.end_ms);
        this.contribute(r, was, 1);
        this.touch(r);
        return;
      }
      case 'SeriesCreated':
      case 'SeriesOccurrenceRejected':
      case 'SeriesChanged':
      case 'SeriesCancelled':
        return;
      default: {
        const exhaustive: never = event;
        void exhaustive;
      }
    }
  }

  private onSpace(siteId: string, space: SiteEventOf<'SpaceDefined'>['data']['space']): void {
    const previous = this.cat.spaces.get(space.spaceId);
    // A new section, or a space moved: leaves appear or change their ancestors (and with them their units and bookings).
    const structural = previous === undefined ? space.parentId !== undefined : previous.parentId !== space.parentId;
    if (!this.cat.sites.has(siteId)) this.catTables.site(this.cat.defineSite(siteId, siteId));
    const apply = (): void => {
      const info = this.cat.defineSpace(siteId, space);
      this.catTables.space(info);
      this.catTables.leavesOfSite(this.cat, siteId);
    };
    if (structural && this.siteHasData(siteId)) this.rederiveSite(siteId, apply);
    else apply();
  }

  private onRequested(siteId: string, d: SiteEventOf<'ReservationRequested'>['data'], e: RecordedEvent, at: number): void {
    if (this.getRes(d.reservationId) !== undefined) return;
    const r = this.newRow(siteId, d, e, at, {
      unit_id: d.unitId,
      kind: d.kind,
      block_reason: null,
      customer_id: d.customerId,
      grp_no: this.groupNo(d.customerGroupId),
      state: 'requested',
      price_cents: d.price.amountCents,
      vat_cents: d.price.vatCents,
      series_id: d.seriesId ?? null,
    });
    this.res.set(r.reservation_id, r);
    this.extendHorizonTo(r.end_ms);
    this.touch(r);
  }

  private onBlocked(siteId: string, d: SiteEventOf<'TimeBlocked'>['data'], e: RecordedEvent, at: number): void {
    if (this.getRes(d.reservationId) !== undefined) return;
    const r = this.newRow(siteId, d, e, at, {
      unit_id: d.unitId ?? null,
      kind: 'blocked',
      block_reason: d.reason,
      customer_id: d.by,
      grp_no: this.groupNo(BLOCKED_GROUP_ID),
      state: 'confirmed',
      price_cents: 0,
      vat_cents: 0,
      series_id: null,
    });
    this.res.set(r.reservation_id, r);
    this.extendHorizonTo(r.end_ms);
    this.settle(r);
    this.touch(r);
  }

  /** A reservation's row as first recorded: what its event says, nothing decided, paid or sensed yet. */
  private newRow(
    siteId: string,
    d: { reservationId: string; spaceIds: string[]; start: string; end: string },
    e: RecordedEvent,
    at: number,
    own: Pick<ReservationRow, 'unit_id' | 'kind' | 'block_reason' | 'customer_id' | 'grp_no' | 'state' | 'price_cents' | 'vat_cents' | 'series_id'>,
  ): ReservationRow {
    return {
      reservation_id: d.reservationId,
      site_id: siteId,
      ...own,
      space_ids: JSON.stringify(d.spaceIds),
      start_ms: Date.parse(d.start),
      end_ms: Date.parse(d.end),
      start_day: 0,
      start_hod: 0,
      paid_cents: 0,
      channel: typeof e.metadata.channel === 'string' ? e.metadata.channel : null,
      requested_at: at,
      handling: 0,
      handling_at: null,
      decided_at: null,
      decision: null,
      decided_by: null,
      ended_at: null,
      effective: 0,
      leaf_count: this.cat.leavesOfAll(d.spaceIds).length,
      occupied_ms: 0,
      mon_ms: 0,
      no_show_marked: 0,
      position: e.position,
    };
  }

  /** Changes a reservation and brings its contribution to the facts in line with its new state. */
  private update(id: string, e: RecordedEvent, change: (r: ReservationRow) => void): void {
    const r = this.getRes(id);
    if (r === undefined) return;
    change(r);
    r.position = e.position;
    this.settle(r);
    this.touch(r);
  }

  private settle(r: ReservationRow): void {
    const want = effectOf(r);
    if (want === r.effective) return;
    this.contribute(r, r.effective, -1);
    this.contribute(r, want, 1);
    r.effective = want;
  }

  private contribute(r: ReservationRow, effect: number, sign: 1 | -1): void {
    if (effect === 1) this.booking(r, sign);
    else if (effect === 2) this.closure(r, sign);
  }

  /** A customer group's number; a group not defined in the directory (yet) is registered under its id. */
  private groupNo(groupId: string): number {
    const known = this.cat.groups.get(groupId);
    if (known !== undefined) return known.grpNo;
    const info = this.cat.defineGroup(groupId, groupId, undefined);
    this.catTables.group(info.grpNo, info.groupId, info.name, info.nameFi);
    this.catalogueChanged();
    return info.grpNo;
  }

  private getRes(id: string): ReservationRow | undefined {
    let r = this.res.get(id);
    if (r === undefined) {
      r = this.s.getRes!.get(id) as ReservationRow | undefined;
      if (r !== undefined) this.res.set(id, r);
    }
    return r;
  }

  private touch(r: ReservationRow): void {
    const k = hourKeys(hourOf(r.start_ms));
    r.start_day = k.day;
    r.start_hod = k.hod;
    this.dirty.add(r.reservation_id);
  }

  // --- bookings, closures, occupancy -----------------------------------------------

  private booking(r: ReservationRow, sign: 1 | -1): void {
    const leaves = this.cat.leavesOfAll(JSON.parse(r.space_ids) as string[]);
    r.leaf_count = leaves.length;
    const { start_ms: start, end_ms: end, grp_no: grp } = r;
    for (const leaf of leaves) {
      const cov = this.coverage.get(leaf);
      forEachBucket(start, end, (h, ms) => {
        const v = sign * ms;
        this.facts.addF(leaf, h, F.booked, v);
        this.facts.addG(leaf, h, grp, G.booked, v);
        if (cov !== undefined && h >= cov) {
          this.facts.addF(leaf, h, F.monBooked, v);
          this.facts.addG(leaf, h, grp, G.monBooked, v);
          r.mon_ms += v;
        }
      });
      for (const [a, b] of this.occupiedWithin(leaf, start, end)) {
        forEachBucket(a, b, (h, ms) => {
          const v = sign * ms;
          this.facts.addF(leaf, h, F.bookedOcc, v);
          this.facts.addG(leaf, h, grp, G.bookedOcc, v);
          r.occupied_ms += v;
        });
      }
      if (sign > 0) {
        this.s.insSeg!.run(leaf, start, end, r.reservation_id, grp);
        if ((this.maxSeg.get(leaf) ?? 0) < end - start) this.maxSeg.set(leaf, end - start);
      } else this.s.delSeg!.run(leaf, start, r.reservation_id);
    }
  }

  private closure(r: ReservationRow, sign: 1 | -1): void {
    const leaves = this.cat.leavesOfAll(JSON.parse(r.space_ids) as string[]);
    r.leaf_count = leaves.length;
    const { start_ms: start, end_ms: end } = r;
    for (const leaf of leaves) {
      if (this.horizon !== undefined) {
        const first = Math.max(localDayNumber(start), this.horizon.from);
        const last = Math.min(localDayNumber(end - 1), this.horizon.to);
        const cov = this.coverage.get(leaf);
        for (let day = first; day <= last; day++) {
          for (const [a, b] of this.cat.openIntervalsOfLeaf(leaf, day)) {
            forEachBucket(Math.max(a, start), Math.min(b, end), (h, ms) => {
              this.facts.addF(leaf, h, F.open, -sign * ms);
              if (cov !== undefined && h >= cov) this.facts.addF(leaf, h, F.monOpen, -sign * ms);
            });
          }
        }
      }
      if (sign > 0) {
        this.s.insClosure!.run(leaf, start, end, r.reservation_id);
        if ((this.maxClosure.get(leaf) ?? 0) < end - start) this.maxClosure.set(leaf, end - start);
      } else this.s.delClosure!.run(leaf, start, r.reservation_id);
    }
  }

  /** Occupied time of a leaf within [start, end), as disjoint pieces. */
  private occupiedWithin(leaf: number, start: number, end: number): [number, number][] {
    const out: [number, number][] = [];
    const pred = this.s.occPred!.get(leaf, start) as { start_ms: number; end_ms: number } | undefined;
    if (pred !== undefined && pred.end_ms > start) out.push([start, Math.min(pred.end_ms, end)]);
    for (const row of this.s.occRange!.all(leaf, start, end - 1) as { start_ms: number; end_ms: number }[]) {
      out.push([row.start_ms, Math.min(row.end_ms, end)]);
    }
    return out;
  }

  /** Adds an occupied interval to a leaf: only its part not already occupied counts. */
  private occupancy(leaf: number, start: number, end: number): void {
    if (!(end > start)) return;
    const touching: { start_ms: number; end_ms: number }[] = [];
    const pred = this.s.occPred!.get(leaf, start) as { start_ms: number; end_ms: number } | undefined;
    if (pred !== undefined && pred.end_ms >= start) touching.push(pred);
    touching.push(...(this.s.occRange!.all(leaf, start, end) as { start_ms: number; end_ms: number }[]));
    // The new pieces: [start, end) minus what is already occupied.
    const fresh: [number, number][] = [];
    let cursor = start;
    for (const iv of touching) {
      if (iv.start_ms > cursor) fresh.push([cursor, Math.min(iv.start_ms, end)]);
      cursor = Math.max(cursor, iv.end_ms);
      if (cursor >= end) break;
    }
    if (cursor < end) fresh.push([cursor, end]);
    let mergedStart = start;
    let mergedEnd = end;
    for (const iv of touching) {
      mergedStart = Math.min(mergedStart, iv.start_ms);
      mergedEnd = Math.max(mergedEnd, iv.end_ms);
      this.s.occDel!.run(leaf, iv.start_ms);
    }
    this.s.occIns!.run(leaf, mergedStart, mergedEnd);

    const bound = this.maxSeg.get(leaf) ?? 0;
    for (const [a, b] of fresh) {
      if (!(b > a)) continue;
      forEachBucket(a, b, (h, ms) => this.facts.addF(leaf, h, F.occ, ms));
      for (const seg of this.s.segsIn!.all(leaf, a - bound, b, a) as { start_ms: number; end_ms: number; reservation_id: string; grp_no: number }[]) {
        const r = this.getRes(seg.reservation_id);
        forEachBucket(Math.max(a, seg.start_ms), Math.min(b, seg.end_ms), (h, ms) => {
          this.facts.addF(leaf, h, F.bookedOcc, ms);
          this.facts.addG(leaf, h, seg.grp_no, G.bookedOcc, ms);
          if (r !== undefined) r.occupied_ms += ms;
        });
        if (r !== undefined) this.touch(r);
      }
    }
  }

  /** A leaf is monitored from `hour` on (or earlier, if it already was). */
  private cover(leaf: number, hour: number): void {
    const current = this.coverage.get(leaf);
    if (current !== undefined && current <= hour) return;
    const until = current ?? Number.MAX_SAFE_INTEGER;
    this.facts.flush();
    for (const row of this.s.factRows!.all(leaf, hour, until) as { hour: number; open_ms: number; booked_ms: number }[]) {
      this.facts.addF(leaf, row.hour, F.monOpen, row.open_ms);
      this.facts.addF(leaf, row.hour, F.monBooked, row.booked_ms);
    }
    for (const row of this.s.gRows!.all(leaf, hour, until) as { hour: number; grp_no: number; booked_ms: number }[]) {
      this.facts.addG(leaf, row.hour, row.grp_no, G.monBooked, row.booked_ms);
    }
    const from = hour * HOUR_MS;
    const to = current === undefined ? Number.MAX_SAFE_INTEGER : current * HOUR_MS;
    const bound = this.maxSeg.get(leaf) ?? 0;
    for (const seg of this.s.segsIn!.all(leaf, from - bound, to, from) as { start_ms: number; end_ms: number; reservation_id: string }[]) {
      const r = this.getRes(seg.reservation_id);
      if (r === undefined) continue;
      r.mon_ms += Math.min(seg.end_ms, to) - Math.max(seg.start_ms, from);
      this.touch(r);
    }
    this.coverage.set(leaf, hour);
    this.s.putCoverage!.run(leaf, hour);
  }

  // --- open hours ----------------------------------------------------------------

  /** Lays the horizon out further when the events move past it. */
  private extendHorizon(day: number): void {
    if (this.horizon === undefined) return;
    const to = horizonEndFor(day, this.ahead);
    if (to <= this.horizon.to) return;
    const from = this.horizon.to + 1;
    this.horizon = { from: this.horizon.from, to };
    this.metaDirty = true;
    for (const leaf of this.cat.allLeaves()) if (this.cat.unitsOfLeaf(leaf).length > 0) this.relayOpen(leaf, from, to);
  }

  /** A reservation far ahead extends the horizon up to its end (at most three years past the events' time). */
  private extendHorizonTo(instant: number): void {
    if (this.horizon === undefined) return;
    const day = localDayNumber(instant - 1);
    if (day <= this.horizon.to || day > this.horizon.to + 3 * 366) return;
    this.extendHorizon(day - this.ahead);
  }

  /**
   * Sets the open time and list price of a leaf's hours on days [first, last]
   * to what the catalogue and the closures say now: the one place open time
   * is laid out, used for new units, rules and price changes and the horizon.
   */
  private relayOpen(leaf: number, first: number, last: number): void {
    if (last < first) return;
    this.facts.flush();
    const [firstHour] = bucketsOfDay(first);
    const [, endHour] = bucketsOfDay(last);
    const current = new Map<number, { open: number; price: number }>();
    for (const row of this.s.factRows!.all(leaf, firstHour, endHour) as { hour: number; open_ms: number; price_cph: number }[]) {
      current.set(row.hour, { open: row.open_ms, price: row.price_cph });
    }
    const [spanStart] = spanOfDay(first);
    const [, spanEnd] = spanOfDay(last);
    const bound = this.maxClosure.get(leaf) ?? 0;
    const closures = this.s.closuresIn!.all(leaf, spanStart - bound, spanEnd, spanStart) as { start_ms: number; end_ms: number }[];
    const cov = this.coverage.get(leaf);
    const wanted = new Map<number, number>();
    for (let day = first; day <= last; day++) {
      const intervals = this.cat.openIntervalsOfLeaf(leaf, day);
      if (intervals.length === 0) continue;
      const price = this.cat.listPriceCentsPerHour(leaf, day);
      for (const [a, b] of subtract(intervals, closures)) {
        forEachBucket(a, b, (h, ms) => wanted.set(h, (wanted.get(h) ?? 0) + ms));
      }
      const [h0, h1] = bucketsOfDay(day);
      for (let h = h0; h < h1; h++) if (wanted.has(h) && (current.get(h)?.price ?? -1) !== price) this.facts.setPrice(leaf, h, price);
    }
    const hours = new Set([...current.keys(), ...wanted.keys()]);
    for (const h of hours) {
      const d = (wanted.get(h) ?? 0) - (current.get(h)?.open ?? 0);
      if (d === 0) continue;
      if (!current.has(h)) this.facts.markNew(leaf, h);
      this.facts.addF(leaf, h, F.open, d);
      if (cov !== undefined && h >= cov) this.facts.addF(leaf, h, F.monOpen, d);
    }
  }

  // --- structural changes ----------------------------------------------------------

  private siteHasData(siteId: string): boolean {
    const leaves = [...this.cat.spaces.values()].filter((s) => s.siteId === siteId).map((s) => s.spaceNo);
    if (leaves.length === 0) return false;
    const marks = leaves.map(() => '?').join(', ');
    const has = (table: AnalyticsTable) =>
      this.db.prepare(`SELECT 1 FROM ${this.t(table)} WHERE leaf_no IN (${marks}) LIMIT 1`).get(...leaves) !== undefined;
    return has('f_hour') || has('occ_union') || has('booking_segs') || has('closure_segs') || has('coverage');
  }

  /**
   * A site's space tree changed shape (a space got its first section, or moved):
   * take everything of the site out of the facts under the old tree, change
   * it, and put everything back under the new one. Rare, and exact.
   */
  private rederiveSite(siteId: string, change: () => void): void {
    this.endBatch(); // reservations to their table, facts flushed
    const rows = (this.db.prepare(`SELECT reservation_id FROM ${this.t('reservations')} WHERE site_id = ? AND effective > 0 ORDER BY position`).all(siteId) as {
      reservation_id: string;
    }[]).map((r) => this.getRes(r.reservation_id) as ReservationRow);
    for (const r of rows) this.contribute(r, r.effective, -1);
    const oldLeaves = [...this.cat.spaces.values()].filter((s) => s.siteId === siteId).map((s) => s.spaceNo);
    // Open time, occupancy and monitoring of every old leaf out of the facts and rollups, through the buffer.
    for (const leaf of oldLeaves) this.facts.retractLeaf(leaf);
    this.facts.flush();
    const marks = oldLeaves.map(() => '?').join(', ');
    for (const table of ['occ_union', 'coverage'] as const) {
      this.db.prepare(`DELETE FROM ${this.t(table)} WHERE leaf_no IN (${marks})`).run(...oldLeaves);
    }
    for (const l of oldLeaves) {
      this.coverage.delete(l);
      this.maxSeg.delete(l);
      this.maxClosure.delete(l);
    }
    change();
    // Coverage and occupancy again, from the devices and the recorded intervals.
    for (const d of this.db.prepare(`SELECT space_id, provisioned_at FROM ${this.t('devices')} WHERE site_id = ? AND kind = 'occupancy_sensor' AND space_id IS NOT NULL`).all(siteId) as {
      space_id: string;
      provisioned_at: number;
    }[]) {
      for (const leaf of this.cat.leavesOf(d.space_id)) this.cover(leaf, Math.ceil(d.provisioned_at / HOUR_MS));
    }
    const intervals = this.db.prepare(`SELECT space_id, start_ms, end_ms FROM ${this.t('occupancy')} WHERE site_id = ? ORDER BY position, id`).all(siteId) as {
      space_id: string;
      start_ms: number;
      end_ms: number;
    }[];
    for (const iv of intervals) for (const leaf of this.cat.leavesOf(iv.space_id)) this.cover(leaf, hourOf(iv.start_ms));
    if (this.horizon !== undefined) {
      for (const s of this.cat.spaces.values()) {
        if (s.siteId === siteId && this.cat.isLeaf(s.spaceNo)) this.relayOpen(s.spaceNo, this.horizon.from, this.horizon.to);
      }
    }
    for (const r of rows) this.contribute(r, r.effective, 1);
    for (const r of rows) this.touch(r);
    for (const iv of intervals) for (const leaf of this.cat.leavesOf(iv.space_id)) this.occupancy(leaf, iv.start_ms, iv.end_ms);
  }

  // --- access control ----------------------------------------------------------------

  private onAccessEvent(a: ConsumedAccessEvent, e: RecordedEvent): void {
    switch (a.type) {
      case 'SpaceOccupancyRecorded': {
        const start = Date.parse(a.data.start);
        const end = Date.parse(a.data.end);
        if (!(end > start)) return;
        this.s.insOccupancy!.run(a.data.siteId, a.data.spaceId, start, end, a.data.peakPeopleCount ?? null, JSON.stringify(a.data.sensorIds), e.position);
        for (const leaf of this.cat.leavesOf(a.data.spaceId)) {
          this.cover(leaf, hourOf(start));
          this.occupancy(leaf, start, end);
        }
        return;
      }
      case 'DeviceProvisioned': {
        const at = eventTime(e);
        this.s.putDevice!.run(a.data.deviceId, a.data.siteId, a.data.kind, a.data.spaceId ?? null, a.data.doorId ?? null, at);
        if (a.data.kind === 'occupancy_sensor' && a.data.spaceId !== undefined) {
          for (const leaf of this.cat.leavesOf(a.data.spaceId)) this.cover(leaf, Math.ceil(at / HOUR_MS));
        }
        return;
      }
      case 'DeviceDecommissioned': {
        const at = eventTime(e);
        this.s.decommission!.run(at, a.data.deviceId);
        this.s.closeStatus!.run(at, a.data.deviceId);
        return;
      }
      case 'DeviceConnectivityChanged': {
        const at = Date.parse(a.data.at);
        const open = this.s.openStatus!.get(a.data.deviceId) as { from_ms: number; online: number } | undefined;
        if (open !== undefined && (open.online === (a.data.online ? 1 : 0) || at < open.from_ms)) return;
        this.s.closeStatus!.run(at, a.data.deviceId);
        this.s.insStatus!.run(a.data.deviceId, at, a.data.online ? 1 : 0);
        return;
      }
      case 'DoorCommandIssued':
        this.s.putCommand!.run(
          a.data.commandId,
          a.data.siteId,
          a.data.doorId,
          a.data.action,
          a.data.emergency ? 1 : 0,
          Date.parse(a.data.issuedAt),
          Date.parse(a.data.expiresAt),
        );
        return;
      case 'DoorEventReported':
        if ((a.data.event === 'command_done' || a.data.event === 'command_rejected') && a.data.commandId !== undefined) {
          this.s.doneCommand!.run(Date.parse(a.data.receivedAt), a.data.event === 'command_done' ? 'done' : 'rejected', a.data.commandId);
        }
        return;
    }
  }
}

/** `intervals` minus `cuts`, both as [start, end) instants. */
function subtract(intervals: readonly (readonly [number, number])[], cuts: readonly { start_ms: number; end_ms: number }[]): [number, number][] {
  let pieces: [number, number][] = intervals.map(([a, b]) => [a, b]);
  for (const c of cuts) {
    const next: [number, number][] = [];
    for (const [a, b] of pieces) {
      if (c.end_ms <= a || c.start_ms >= b) next.push([a, b]);
      else {
        if (c.start_ms > a) next.push([a, c.start_ms]);
        if (c.end_ms < b) next.push([c.end_ms, b]);
      }
    }
    pieces = next;
  }
  return pieces;
}
