/**
 * Brute force: every analytics figure computed straight from the whole event
 * list, hour by hour, with none of the projection's machinery (no deltas, no
 * rollups, no SQL). Wall-clock conversions go through luxon, not the
 * projection's bucket keys; opening hours through the engine's calendar, the
 * one place Vuoro keeps them.
 *
 * The definitions are written out again here from DESIGN.md and the
 * projection's documentation, so a property test comparing the two checks
 * the figures, not the code against itself.
 */
import { DateTime } from 'luxon';
import { OpeningCalendar, type RecordedEvent, type UnitRules } from '@vuoro/engine';

const H = 3_600_000;
const ZONE = 'Europe/Helsinki';

interface OSpace {
  id: string;
  siteId: string;
  parentId: string | undefined;
  area: number | undefined;
  cost: number;
}
interface OUnit {
  id: string;
  siteId: string;
  spaceIds: string[];
  versions: { fromDate: string | null; rules: UnitRules; cal: OpeningCalendar }[];
  prices: { customerGroupId: string; validFrom: string; basis: 'per_hour' | 'fixed'; amountCents: number }[];
}
interface ORes {
  id: string;
  siteId: string;
  unitId: string | null;
  kind: string;
  reason: string | null;
  group: string;
  spaceIds: string[];
  start: number;
  end: number;
  state: string;
  handlingAt: number | null;
  decidedAt: number | null;
  decision: string | null;
  endedAt: number | null;
  noShowMarked: boolean;
}

export interface HourRecord {
  leaf: string;
  siteId: string;
  hour: number;
  date: string;
  hod: number;
  dow: number;
  week: string;
  month: string;
  year: number;
  open: number;
  booked: number;
  occ: number;
  bookedOcc: number;
  monitored: boolean;
  price: number;
  vacant: number;
  lost: number;
  groups: Map<string, { booked: number; bookedOcc: number }>;
}

const timeOf = (e: RecordedEvent): number => Date.parse(e.metadata.decidedAt ?? e.metadata.recordedAt);
const local = (ms: number) => DateTime.fromMillis(ms, { zone: ZONE });
const dateOf = (ms: number): string => local(ms).toISODate() as string;

function union(intervals: [number, number][]): [number, number][] {
  const s = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
const overlap = (a: number, b: number, c: number, d: number): number => Math.max(0, Math.min(b, d) - Math.max(a, c));
const overlapSet = (set: [number, number][], a: number, b: number): number => set.reduce((s, [c, d]) => s + overlap(a, b, c, d), 0);
function minus(set: [number, number][], cuts: [number, number][]): [number, number][] {
  let out = set.map(([a, b]) => [a, b] as [number, number]);
  for (const [c, d] of cuts) {
    out = out.flatMap(([a, b]) => {
      if (d <= a || c >= b) return [[a, b] as [number, number]];
      const parts: [number, number][] = [];
      if (c > a) parts.push([a, c]);
      if (d < b) parts.push([d, b]);
      return parts;
    });
  }
  return out;
}

export class Oracle {
  readonly spaces = new Map<string, OSpace>();
  readonly units = new Map<string, OUnit>();
  readonly res = new Map<string, ORes>();
  readonly occupancy: { spaceId: string; start: number; end: number }[] = [];
  readonly sensors: { spaceId: string; at: number }[] = [];
  readonly groupNames = new Map<string, string>();

  private readonly memo = new Map<string, unknown>();

  constructor(events: readonly RecordedEvent[], readonly listPriceGroup = 'grp_residents') {
    for (const e of events) this.apply(e);
  }

  /** The oracle is built from a finished event list, so any answer can be kept. */
  private once<T>(key: string, compute: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, compute());
    return this.memo.get(key) as T;
  }

  private apply(e: RecordedEvent): void {
    const d = e.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const siteId = e.stream.startsWith('site-') ? e.stream.slice(5) : '';
    const r = d.reservationId === undefined ? undefined : this.res.get(d.reservationId as string);
    switch (e.type) {
      case 'CustomerGroupDefined':
        this.groupNames.set(d.group.customerGroupId, d.group.name);
        break;
      case 'SpaceDefined':
      case 'SpaceUpdated': {
        const c = d.space.annualCosts;
        this.spaces.set(d.space.spaceId, {
          id: d.space.spaceId,
          siteId: this.spaces.get(d.space.spaceId)?.siteId ?? siteId,
          parentId: d.space.parentId,
          area: d.space.areaM2,
          cost: c === undefined ? 0 : c.rentCents + c.maintenanceCents + c.cleaningCents + c.energyCents,
        });
        break;
      }
      case 'UnitDefined':
        this.units.set(d.unit.unitId, {
          id: d.unit.unitId,
          siteId,
          spaceIds: d.unit.spaceIds,
          versions: [{ fromDate: null, rules: d.unit.rules, cal: new OpeningCalendar(d.unit.rules.openingHours) }],
          prices: [...d.unit.prices],
        });
        break;
      case 'UnitRulesChanged': {
        const u = this.units.get(d.unitId);
        if (!u) break;
        const from = dateOf(timeOf(e));
        u.versions = [...u.versions.filter((v) => v.fromDate === null || v.fromDate < from), { fromDate: from, rules: d.rules, cal: new OpeningCalendar(d.rules.openingHours) }];
        break;
      }
      case 'PriceSet': {
        const u = this.units.get(d.unitId);
        if (!u) break;
        u.prices = [...u.prices.filter((p) => !(p.customerGroupId === d.price.customerGroupId && p.validFrom === d.price.validFrom)), d.price];
        break;
      }
      case 'ReservationRequested':
        this.res.set(d.reservationId, {
          id: d.reservationId,
          siteId,
          unitId: d.unitId,
          kind: d.kind,
          reason: null,
          group: d.customerGroupId,
          spaceIds: d.spaceIds,
          start: Date.parse(d.start),
          end: Date.parse(d.end),
          state: 'requested',
          handlingAt: null,
          decidedAt: null,
          decision: null,
          endedAt: null,
          noShowMarked: false,
        });
        break;
      case 'TimeBlocked':
        this.res.set(d.reservationId, {
          id: d.reservationId,
          siteId,
          unitId: d.unitId ?? null,
          kind: 'blocked',
          reason: d.reason,
          group: '',
          spaceIds: d.spaceIds,
          start: Date.parse(d.start),
          end: Date.parse(d.end),
          state: 'confirmed',
          handlingAt: null,
          decidedAt: null,
          decision: null,
          endedAt: null,
          noShowMarked: false,
        });
        break;
      case 'ReservationHandlingRequired':
        if (r) {
          r.state = 'requires_handling';
          r.handlingAt = timeOf(e);
        }
        break;
      case 'ReservationApproved':
        if (r && r.decidedAt === null) {
          r.decidedAt = timeOf(e);
          r.decision = 'approved';
        }
        break;
      case 'ReservationDenied':
        if (r) {
          if (r.decidedAt === null) {
            r.decidedAt = timeOf(e);
            r.decision = 'denied';
          }
          r.state = 'denied';
          r.endedAt = timeOf(e);
        }
        break;
      case 'ReservationPaymentRequired':
        if (r) r.state = 'awaiting_payment';
        break;
      case 'ReservationConfirmed':
        if (r) r.state = 'confirmed';
        break;
      case 'ReservationExpired':
      case 'ReservationCancelled':
      case 'ReservationCompleted':
      case 'ReservationNoShow':
        if (r) {
          r.state = { ReservationExpired: 'expired', ReservationCancelled: 'cancelled', ReservationCompleted: 'completed', ReservationNoShow: 'no_show' }[e.type];
          r.endedAt = timeOf(e);
          if (e.type === 'ReservationNoShow') r.noShowMarked = true;
        }
        break;
      case 'ReservationModified':
        if (r) {
          r.start = Date.parse(d.start);
          r.end = Date.parse(d.end);
        }
        break;
      case 'SpaceOccupancyRecorded':
        this.occupancy.push({ spaceId: d.spaceId, start: Date.parse(d.start), end: Date.parse(d.end) });
        break;
      case 'DeviceProvisioned':
        if (d.kind === 'occupancy_sensor' && d.spaceId !== undefined) this.sensors.push({ spaceId: d.spaceId, at: timeOf(e) });
        break;
    }
  }

  // --- the tree ---

  children(id: string): string[] {
    return this.once(`children:${id}`, () => {
    return [...this.spaces.values()].filter((s) => s.parentId === id).map((s) => s.id);
  });
  }
  leavesUnder(id: string): string[] {
    return this.once(`leaves:${id}`, () => {
    const kids = this.children(id);
    return kids.length === 0 ? [id] : kids.flatMap((k) => this.leavesUnder(k));
  });
  }
  ancestors(id: string): string[] {
    return this.once(`ancestors:${id}`, () => {
    const out: string[] = [];
    let p = this.spaces.get(id)?.parentId;
    while (p !== undefined) {
      out.push(p);
      p = this.spaces.get(p)?.parentId;
    }
    return out;
  });
  }
  allLeaves(): string[] {
    return [...this.spaces.keys()].filter((id) => this.children(id).length === 0).sort();
  }
  /** Units booking the leaf or a space containing it. */
  unitsOf(leaf: string): OUnit[] {
    return this.once(`units:${leaf}`, () => {
    const covering = new Set([leaf, ...this.ancestors(leaf)]);
    return [...this.units.values()].filter((u) => u.spaceIds.some((s) => covering.has(s)));
  });
  }
  leavesOfUnit(u: OUnit): string[] {
    return [...new Set(u.spaceIds.flatMap((s) => this.leavesUnder(s)))];
  }

  // --- what counts ---

  /** booked: confirmed (or later completed / no-show), or blocked for an event; closure: blocked for closure or maintenance. */
  effect(r: ORes): 'booked' | 'closure' | null {
    if (r.kind === 'blocked') {
      if (r.state !== 'confirmed' && r.state !== 'completed') return null;
      return r.reason === 'closure' || r.reason === 'maintenance' ? 'closure' : 'booked';
    }
    return ['confirmed', 'completed', 'no_show'].includes(r.state) ? 'booked' : null;
  }
  covers(r: ORes, leaf: string): boolean {
    return r.spaceIds.some((s) => this.leavesUnder(s).includes(leaf));
  }
  closures(leaf: string): [number, number][] {
    return this.once(`closures:${leaf}`, () => {
    return union([...this.res.values()].filter((r) => this.effect(r) === 'closure' && this.covers(r, leaf)).map((r) => [r.start, r.end]));
  });
  }
  bookings(leaf: string): ORes[] {
    return this.once(`bookings:${leaf}`, () => {
    return [...this.res.values()].filter((r) => this.effect(r) === 'booked' && this.covers(r, leaf));
  });
  }
  occupied(leaf: string): [number, number][] {
    return this.once(`occupied:${leaf}`, () => {
    const covering = new Set([leaf, ...this.ancestors(leaf)]);
    return union(this.occupancy.filter((o) => covering.has(o.spaceId)).map((o) => [o.start, o.end]));
  });
  }
  coverageHour(leaf: string): number {
    return this.once(`coverage:${leaf}`, () => {
    const covering = new Set([leaf, ...this.ancestors(leaf)]);
    let h = Number.POSITIVE_INFINITY;
    for (const s of this.sensors) if (covering.has(s.spaceId)) h = Math.min(h, Math.ceil(s.at / H));
    for (const o of this.occupancy) if (covering.has(o.spaceId)) h = Math.min(h, Math.floor(o.start / H));
    return h;
  });
  }

  private version(u: OUnit, date: string) {
    let v = u.versions[0]!;
    for (const c of u.versions) if (c.fromDate === null || c.fromDate <= date) v = c;
    return v;
  }
  openOnDate(leaf: string, date: string): [number, number][] {
    return this.once(`open:${leaf}:${date}`, () => {
    const calendar = union(this.unitsOf(leaf).flatMap((u) => this.version(u, date).cal.openIntervalsWithinDay(date).map(([a, b]) => [a, b] as [number, number])));
    return minus(calendar, this.closures(leaf));
  });
  }

  /** List price of an hour of the leaf on a date, cents: see catalogue.ts. */
  priceOn(leaf: string, date: string): number {
    return this.once(`price:${leaf}:${date}`, () => {
    const units = this.unitsOf(leaf)
      .map((u) => ({ u, n: this.leavesOfUnit(u).length }))
      .sort((a, b) => a.n - b.n || (a.u.id < b.u.id ? -1 : 1));
    const first = units[0];
    if (!first) return 0;
    const rules = this.version(first.u, date).rules;
    const inForce = (g: string) =>
      first.u.prices.filter((p) => p.customerGroupId === g && p.validFrom <= date).sort((a, b) => (a.validFrom < b.validFrom ? -1 : 1)).pop();
    const perHour = (p: { basis: string; amountCents: number }) => (p.basis === 'per_hour' ? p.amountCents : p.amountCents / (rules.maxDurationMinutes / 60));
    let p = inForce(this.listPriceGroup);
    if (p === undefined) {
      const candidates = [...new Set(first.u.prices.map((x) => x.customerGroupId))].map(inForce).filter((x) => x !== undefined && x.amountCents > 0);
      candidates.sort((a, b) => perHour(a!) - perHour(b!));
      p = candidates[0];
    }
    return p === undefined ? 0 : perHour(p) / first.n;
  });
  }

  annualCost(leaf: string): number {
    let cost = 0;
    for (const id of [leaf, ...this.ancestors(leaf)]) {
      const s = this.spaces.get(id)!;
      if (s.cost === 0) continue;
      const leaves = this.leavesUnder(id).map((l) => this.spaces.get(l)!);
      const byArea = leaves.every((l) => (l.area ?? 0) > 0);
      cost += byArea ? (s.cost * (this.spaces.get(leaf)!.area ?? 0)) / leaves.reduce((a, l) => a + (l.area ?? 0), 0) : s.cost / leaves.length;
    }
    return cost;
  }

  yearOpenMs(leaf: string, year: number): number {
    return this.once(`year:${leaf}:${year}`, () => {
    let ms = 0;
    for (let d = DateTime.fromObject({ year, month: 1, day: 1 }, { zone: ZONE }); d.year === year; d = d.plus({ days: 1 })) {
      ms += this.openOnDate(leaf, d.toISODate() as string).reduce((s, [a, b]) => s + b - a, 0);
    }
    return ms;
  });
  }

  /** Every hour of every leaf on the dates from..to (inclusive). */
  hours(from: string, to: string): HourRecord[] {
    return this.once(`hours:${from}:${to}`, () => this.computeHours(from, to));
  }

  private computeHours(from: string, to: string): HourRecord[] {
    const out: HourRecord[] = [];
    const start = DateTime.fromISO(from, { zone: ZONE }).startOf('day').toMillis();
    const end = DateTime.fromISO(to, { zone: ZONE }).plus({ days: 1 }).startOf('day').toMillis();
    for (const leaf of this.allLeaves()) {
      const occ = this.occupied(leaf);
      const bookings = this.bookings(leaf);
      const cov = this.coverageHour(leaf);
      const siteId = this.spaces.get(leaf)!.siteId;
      const openByDate = new Map<string, [number, number][]>();
      for (let h = start / H; h < end / H; h++) {
        const a = h * H;
        const b = a + H;
        const l = local(a);
        const date = l.toISODate() as string;
        let open = openByDate.get(date);
        if (open === undefined) {
          open = this.openOnDate(leaf, date);
          openByDate.set(date, open);
        }
        const groups = new Map<string, { booked: number; bookedOcc: number }>();
        let booked = 0;
        let bookedOcc = 0;
        for (const r of bookings) {
          const x = overlap(a, b, r.start, r.end);
          if (x === 0) continue;
          const y = overlapSet(occ, Math.max(a, r.start), Math.min(b, r.end));
          booked += x;
          bookedOcc += y;
          const g = groups.get(r.group) ?? { booked: 0, bookedOcc: 0 };
          g.booked += x;
          g.bookedOcc += y;
          groups.set(r.group, g);
        }
        const openMs = overlapSet(open, a, b);
        const price = this.priceOn(leaf, date);
        const vacant = Math.max(openMs - booked, 0);
        out.push({
          leaf,
          siteId,
          hour: h,
          date,
          hod: l.hour,
          dow: l.weekday,
          week: `${l.weekYear}-W${String(l.weekNumber).padStart(2, '0')}`,
          month: `${l.year}-${String(l.month).padStart(2, '0')}`,
          year: l.year,
          open: openMs,
          booked,
          occ: overlapSet(occ, a, b),
          bookedOcc,
          monitored: h >= cov,
          price,
          vacant,
          lost: openMs > 0 ? (vacant * price) / H : 0,
          groups,
        });
      }
    }
    return out;
  }

  /** Reservations as the no-show and SLA figures see them. */
  reservations(): ORes[] {
    return [...this.res.values()];
  }

  /** Booked ms of a reservation in monitored hours, and occupied ms, summed over its leaves. */
  reservationSensing(r: ORes): { booked: number; monitored: number; occupied: number } {
    let booked = 0;
    let monitored = 0;
    let occupied = 0;
    const leaves = [...new Set(r.spaceIds.flatMap((s) => this.leavesUnder(s)))];
    for (const leaf of leaves) {
      const cov = this.coverageHour(leaf) * H;
      booked += r.end - r.start;
      monitored += overlap(r.start, r.end, cov, Number.MAX_SAFE_INTEGER);
      occupied += overlapSet(this.occupied(leaf), r.start, r.end);
    }
    return { booked, monitored, occupied };
  }
}
