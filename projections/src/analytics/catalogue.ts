/**
 * The catalogue as analytics needs it: sites, the space tree with its *leaf*
 * spaces, units with their opening hours over time, list prices and annual
 * costs, customer groups.
 *
 * Leaves. Utilization is counted on leaf spaces (spaces without sections),
 * because the hierarchy makes a booking of the whole hall use each of its
 * sections, and a booking of one section use a third of the hall. A space's
 * figures are the sums over its leaves, so a hall with one of three sections
 * booked is one third booked, and totals never count a square metre twice.
 *
 * Open hours of a leaf: the union of the opening hours of every unit that
 * books the leaf or one of its ancestors (a section without its own unit is
 * open when the whole-hall unit is). Opening hours are versioned: a rules
 * change applies from the Helsinki day it was decided on; the rules a unit
 * was defined with apply to every earlier day.
 *
 * Annual costs (rent, maintenance, cleaning, energy) sit on whichever space
 * the city budgets them to; each space's cost is shared among its leaves in
 * proportion to their floor area when all of them have one, equally
 * otherwise.
 *
 * List price of a leaf (for lost revenue): the price per hour in force for
 * the reference customer group (default: residents) on the most specific unit
 * that books the leaf (fewest leaves), divided by that unit's number of
 * leaves. A fixed price per reservation is spread over the unit's longest
 * allowed reservation, which makes lost revenue a lower bound. When the
 * reference group has no price, the lowest non-zero price in force is used.
 */
import {
  OpeningCalendar,
  dateOfDayNumber,
  priceInForce,
  type OpenInterval,
  type Price,
  type Space,
  type Unit,
  type UnitRules,
} from '@vuoro/engine';

export interface SiteInfo {
  readonly siteNo: number;
  readonly siteId: string;
  name: string;
}

export interface SpaceInfo {
  readonly spaceNo: number;
  readonly spaceId: string;
  readonly siteId: string;
  parentId: string | undefined;
  name: string;
  capacity: number | undefined;
  areaM2: number | undefined;
  /** Sum of the four annual cost items, cents. */
  annualCostCents: number;
  costs: Space['annualCosts'];
}

export interface RuleVersion {
  /** First Helsinki day number this version applies to (-Infinity for the first one). */
  readonly fromDay: number;
  readonly rules: UnitRules;
  readonly calendar: OpeningCalendar;
}

export interface UnitInfo {
  readonly unitId: string;
  readonly siteId: string;
  name: string;
  unitType: string;
  spaceIds: readonly string[];
  resourceIds: readonly string[];
  versions: RuleVersion[];
  prices: Price[];
}

export interface GroupInfo {
  readonly grpNo: number;
  readonly groupId: string;
  name: string;
  nameFi: string | undefined;
}

/** Group number 0: time blocked by staff for an event (no customer group). */
export const BLOCKED_GROUP_ID = '';

export class Catalogue {
  readonly sites = new Map<string, SiteInfo>();
  readonly sitesByNo = new Map<number, SiteInfo>();
  private nextSiteNo = 1;
  readonly spaces = new Map<string, SpaceInfo>();
  readonly spacesByNo = new Map<number, SpaceInfo>();
  readonly units = new Map<string, UnitInfo>();
  readonly groups = new Map<string, GroupInfo>();
  readonly groupsByNo = new Map<number, GroupInfo>();
  private readonly children = new Map<string, string[]>();
  private nextSpaceNo = 1;
  private nextGroupNo = 1;
  // Derived, rebuilt lazily after a change.
  private leafCache = new Map<string, readonly number[]>();
  private unitsOfLeafCache = new Map<number, readonly UnitInfo[]>();
  private costCache = new Map<number, number>();

  constructor(readonly listPriceGroupId: string = 'grp_residents') {
    this.groups.set(BLOCKED_GROUP_ID, { grpNo: 0, groupId: BLOCKED_GROUP_ID, name: 'Blocked by staff (event)', nameFi: 'Henkilökunnan varaus (tapahtuma)' });
    this.groupsByNo.set(0, this.groups.get(BLOCKED_GROUP_ID) as GroupInfo);
  }

  private invalidate(): void {
    this.leafCache = new Map();
    this.unitsOfLeafCache = new Map();
    this.costCache = new Map();
  }

  // --- changes -------------------------------------------------------------

  defineSite(siteId: string, name: string, siteNo?: number): SiteInfo {
    const info: SiteInfo = { siteNo: this.sites.get(siteId)?.siteNo ?? siteNo ?? this.nextSiteNo, siteId, name };
    this.nextSiteNo = Math.max(this.nextSiteNo, info.siteNo + 1);
    this.sites.set(siteId, info);
    this.sitesByNo.set(info.siteNo, info);
    return info;
  }

  /** The number of the site a leaf is in (0 when unknown). */
  siteNoOfLeaf(leafNo: number): number {
    const s = this.spacesByNo.get(leafNo);
    return s === undefined ? 0 : (this.sites.get(s.siteId)?.siteNo ?? 0);
  }

  /** Adds or replaces a space; returns it. */
  defineSpace(siteId: string, space: Space, spaceNo?: number): SpaceInfo {
    const previous = this.spaces.get(space.spaceId);
    if (previous?.parentId !== undefined) {
      const siblings = this.children.get(previous.parentId);
      if (siblings) this.children.set(previous.parentId, siblings.filter((s) => s !== space.spaceId));
    }
    const costs = space.annualCosts;
    const info: SpaceInfo = {
      spaceNo: previous?.spaceNo ?? spaceNo ?? this.nextSpaceNo,
      spaceId: space.spaceId,
      siteId: previous?.siteId ?? siteId,
      parentId: space.parentId,
      name: space.name,
      capacity: space.capacity,
      areaM2: space.areaM2,
      annualCostCents: costs === undefined ? 0 : costs.rentCents + costs.maintenanceCents + costs.cleaningCents + costs.energyCents,
      costs,
    };
    this.nextSpaceNo = Math.max(this.nextSpaceNo, info.spaceNo + 1);
    this.spaces.set(info.spaceId, info);
    this.spacesByNo.set(info.spaceNo, info);
    if (info.parentId !== undefined) this.children.set(info.parentId, [...(this.children.get(info.parentId) ?? []), info.spaceId]);
    this.invalidate();
    return info;
  }

  defineUnit(siteId: string, unit: Unit): UnitInfo {
    const info: UnitInfo = {
      unitId: unit.unitId,
      siteId,
      name: unit.name,
      unitType: unit.unitType,
      spaceIds: [...unit.spaceIds],
      resourceIds: [...unit.resourceIds],
      versions: [{ fromDay: Number.NEGATIVE_INFINITY, rules: unit.rules, calendar: new OpeningCalendar(unit.rules.openingHours) }],
      prices: sortPrices(unit.prices),
    };
    this.units.set(unit.unitId, info);
    this.invalidate();
    return info;
  }

  /** Restores a unit with its history (when loading from tables). */
  restoreUnit(info: Omit<UnitInfo, 'versions'> & { versions: { fromDay: number; rules: UnitRules }[] }): void {
    this.units.set(info.unitId, {
      ...info,
      versions: info.versions.map((v) => ({ ...v, calendar: new OpeningCalendar(v.rules.openingHours) })),
      prices: sortPrices(info.prices),
    });
    this.invalidate();
  }

  changeRules(unitId: string, rules: UnitRules, fromDay: number): UnitInfo | undefined {
    const u = this.units.get(unitId);
    if (u === undefined) return undefined;
    const kept = u.versions.filter((v) => v.fromDay < fromDay);
    kept.push({ fromDay, rules, calendar: new OpeningCalendar(rules.openingHours) });
    u.versions = kept;
    this.invalidate();
    return u;
  }

  setPrice(unitId: string, price: Price): UnitInfo | undefined {
    const u = this.units.get(unitId);
    if (u === undefined) return undefined;
    u.prices = sortPrices([...u.prices.filter((p) => !(p.customerGroupId === price.customerGroupId && p.validFrom === price.validFrom)), price]);
    return u;
  }

  /** The group's number, registering an unknown group id on first sight. */
  groupNo(groupId: string): number {
    const g = this.groups.get(groupId);
    if (g !== undefined) return g.grpNo;
    return this.defineGroup(groupId, groupId, undefined).grpNo;
  }

  defineGroup(groupId: string, name: string, nameFi: string | undefined, grpNo?: number): GroupInfo {
    const previous = this.groups.get(groupId);
    const info: GroupInfo = { grpNo: previous?.grpNo ?? grpNo ?? this.nextGroupNo, groupId, name, nameFi };
    this.nextGroupNo = Math.max(this.nextGroupNo, info.grpNo + 1);
    this.groups.set(groupId, info);
    this.groupsByNo.set(info.grpNo, info);
    return info;
  }

  // --- the tree ------------------------------------------------------------

  childrenOf(spaceId: string): readonly string[] {
    return this.children.get(spaceId) ?? [];
  }

  ancestorsOf(spaceId: string): string[] {
    const out: string[] = [];
    const seen = new Set([spaceId]);
    let parent = this.spaces.get(spaceId)?.parentId;
    while (parent !== undefined && !seen.has(parent)) {
      out.push(parent);
      seen.add(parent);
      parent = this.spaces.get(parent)?.parentId;
    }
    return out;
  }

  /** Space numbers of the leaves under a space (itself when it has no sections). */
  leavesOf(spaceId: string): readonly number[] {
    let leaves = this.leafCache.get(spaceId);
    if (leaves === undefined) {
      const out: number[] = [];
      const seen = new Set<string>();
      const stack = [spaceId];
      while (stack.length > 0) {
        const id = stack.pop() as string;
        if (seen.has(id)) continue;
        seen.add(id);
        const kids = this.children.get(id) ?? [];
        if (kids.length === 0) {
          const s = this.spaces.get(id);
          if (s !== undefined) out.push(s.spaceNo);
        } else stack.push(...kids);
      }
      leaves = out.sort((a, b) => a - b);
      this.leafCache.set(spaceId, leaves);
    }
    return leaves;
  }

  /** Distinct leaves of a list of spaces. */
  leavesOfAll(spaceIds: readonly string[]): number[] {
    if (spaceIds.length === 1) return [...this.leavesOf(spaceIds[0] as string)];
    const set = new Set<number>();
    for (const id of spaceIds) for (const l of this.leavesOf(id)) set.add(l);
    return [...set].sort((a, b) => a - b);
  }

  isLeaf(spaceNo: number): boolean {
    const s = this.spacesByNo.get(spaceNo);
    return s !== undefined && this.childrenOf(s.spaceId).length === 0;
  }

  allLeaves(): number[] {
    const out: number[] = [];
    for (const s of this.spaces.values()) if (this.childrenOf(s.spaceId).length === 0) out.push(s.spaceNo);
    return out.sort((a, b) => a - b);
  }

  /** Units whose spaces are the leaf or one of its ancestors, most specific (fewest leaves) first. */
  unitsOfLeaf(leafNo: number): readonly UnitInfo[] {
    let units = this.unitsOfLeafCache.get(leafNo);
    if (units === undefined) {
      const leaf = this.spacesByNo.get(leafNo);
      if (leaf === undefined) return [];
      const covering = new Set([leaf.spaceId, ...this.ancestorsOf(leaf.spaceId)]);
      units = [...this.units.values()]
        .filter((u) => u.spaceIds.some((id) => covering.has(id)))
        .map((u) => ({ u, n: this.leavesOfAll(u.spaceIds).length }))
        .sort((a, b) => a.n - b.n || (a.u.unitId < b.u.unitId ? -1 : a.u.unitId > b.u.unitId ? 1 : 0))
        .map((x) => x.u);
      this.unitsOfLeafCache.set(leafNo, units);
    }
    return units;
  }

  /** Leaves of the spaces a unit books. */
  leavesOfUnit(unitId: string): number[] {
    const u = this.units.get(unitId);
    return u === undefined ? [] : this.leavesOfAll(u.spaceIds);
  }

  // --- calendar, prices, costs ---------------------------------------------

  /** The open time of a leaf on a Helsinki day, merged, clipped to the day: the union over its units. */
  openIntervalsOfLeaf(leafNo: number, day: number): OpenInterval[] {
    const units = this.unitsOfLeaf(leafNo);
    if (units.length === 0) return [];
    const date = dateOfDayNumber(day);
    const all: (readonly [number, number])[] = [];
    for (const u of units) {
      const v = versionOn(u, day);
      for (const iv of v.calendar.openIntervalsWithinDay(date)) all.push(iv);
    }
    return mergeIntervals(all);
  }

  /** List price of a leaf for one hour on a day, in cents (0 when nothing is priced). */
  listPriceCentsPerHour(leafNo: number, day: number): number {
    const units = this.unitsOfLeaf(leafNo);
    const first = units[0];
    if (first === undefined) return 0;
    const leaves = this.leavesOfAll(first.spaceIds).length || 1;
    const at = noonOf(day);
    const rules = versionOn(first, day).rules;
    let price = priceInForce(first.prices, this.listPriceGroupId, at);
    if (price === undefined) {
      for (const g of new Set(first.prices.map((p) => p.customerGroupId))) {
        const p = priceInForce(first.prices, g, at);
        if (p !== undefined && p.amountCents > 0 && (price === undefined || perHour(p, rules) < perHour(price, rules))) price = p;
      }
    }
    if (price === undefined) return 0;
    return perHour(price, rules) / leaves;
  }

  /** A leaf's share of the annual costs of itself and its ancestors, in cents. */
  annualCostOfLeaf(leafNo: number): number {
    let cost = this.costCache.get(leafNo);
    if (cost === undefined) {
      cost = 0;
      const leaf = this.spacesByNo.get(leafNo);
      if (leaf !== undefined) {
        for (const id of [leaf.spaceId, ...this.ancestorsOf(leaf.spaceId)]) {
          const s = this.spaces.get(id);
          if (s === undefined || s.annualCostCents === 0) continue;
          const leaves = this.leavesOf(id).map((n) => this.spacesByNo.get(n) as SpaceInfo);
          const byArea = leaves.every((l) => (l.areaM2 ?? 0) > 0);
          const total = byArea ? leaves.reduce((a, l) => a + (l.areaM2 ?? 0), 0) : leaves.length;
          cost += (s.annualCostCents * (byArea ? (leaf.areaM2 ?? 0) : 1)) / total;
        }
      }
      this.costCache.set(leafNo, cost);
    }
    return cost;
  }
}

export function versionOn(u: UnitInfo, day: number): RuleVersion {
  let v = u.versions[0] as RuleVersion;
  for (const candidate of u.versions) if (candidate.fromDay <= day) v = candidate;
  return v;
}

const perHour = (p: Price, rules: UnitRules): number =>
  p.basis === 'per_hour' ? p.amountCents : p.amountCents / (rules.maxDurationMinutes / 60);

const sortPrices = (prices: readonly Price[]): Price[] =>
  [...prices].sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : 0));

/** Noon of a Helsinki day as an instant: inside that day whatever the offset (prices are looked up by date). */
const noonOf = (day: number): number => day * 86_400_000 + 10 * 3_600_000;

export function mergeIntervals(intervals: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
