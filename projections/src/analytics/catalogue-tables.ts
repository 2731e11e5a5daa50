/**
 * The catalogue's tables: written through by the analytics projection as
 * catalogue events arrive, read back into a `Catalogue` when the projection
 * opens and by the query side (names, the space tree, units' leaves, costs).
 */
import type { Database } from 'better-sqlite3';
import type { Price, Space, UnitRules } from '@vuoro/engine';
import { Catalogue, type SiteInfo, type SpaceInfo, type UnitInfo } from './catalogue.js';
import type { AnalyticsTable } from './schema.js';

type T = (name: AnalyticsTable) => string;

export class CatalogueTables {
  private readonly putSite;
  private readonly putSpace;
  private readonly putUnit;
  private readonly putRules;
  private readonly putGroup;

  constructor(
    private readonly db: Database,
    private readonly t: T,
  ) {
    this.putSite = db.prepare(`INSERT OR REPLACE INTO ${t('sites')} (site_no, site_id, name) VALUES (?, ?, ?)`);
    this.putSpace = db.prepare(
      `INSERT OR REPLACE INTO ${t('spaces')} (space_no, space_id, site_id, parent_id, name, capacity, area_m2, annual_cost_cents, costs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.putUnit = db.prepare(
      `INSERT OR REPLACE INTO ${t('units')} (unit_id, site_id, name, unit_type, space_ids, resource_ids, prices) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.putRules = db.prepare(`INSERT OR REPLACE INTO ${t('unit_rules')} (unit_id, from_day, rules) VALUES (?, ?, ?)`);
    this.putGroup = db.prepare(`INSERT OR REPLACE INTO ${t('groups')} (grp_no, grp_id, name, name_fi) VALUES (?, ?, ?, ?)`);
  }

  site(s: SiteInfo): void {
    this.putSite.run(s.siteNo, s.siteId, s.name);
  }

  space(s: SpaceInfo): void {
    this.putSpace.run(
      s.spaceNo,
      s.spaceId,
      s.siteId,
      s.parentId ?? null,
      s.name,
      s.capacity ?? null,
      s.areaM2 ?? null,
      s.annualCostCents,
      s.costs === undefined ? null : JSON.stringify(s.costs),
    );
  }

  unit(u: UnitInfo): void {
    this.putUnit.run(u.unitId, u.siteId, u.name, u.unitType, JSON.stringify(u.spaceIds), JSON.stringify(u.resourceIds), JSON.stringify(u.prices));
    this.db.prepare(`DELETE FROM ${this.t('unit_rules')} WHERE unit_id = ?`).run(u.unitId);
    for (const v of u.versions) this.putRules.run(u.unitId, Number.isFinite(v.fromDay) ? v.fromDay : -1e9, JSON.stringify(v.rules));
  }

  group(grpNo: number, groupId: string, name: string, nameFi: string | undefined): void {
    this.putGroup.run(grpNo, groupId, name, nameFi ?? null);
  }

  /** Rewrites the space -> leaves and unit -> leaves maps of a site (after its tree or units changed). */
  leavesOfSite(cat: Catalogue, siteId: string): void {
    const spaces = [...cat.spaces.values()].filter((s) => s.siteId === siteId);
    const delSpace = this.db.prepare(`DELETE FROM ${this.t('space_leaves')} WHERE space_no = ?`);
    const putSpaceLeaf = this.db.prepare(`INSERT OR IGNORE INTO ${this.t('space_leaves')} (space_no, leaf_no) VALUES (?, ?)`);
    for (const s of spaces) {
      delSpace.run(s.spaceNo);
      for (const leaf of cat.leavesOf(s.spaceId)) putSpaceLeaf.run(s.spaceNo, leaf);
    }
    const delUnit = this.db.prepare(`DELETE FROM ${this.t('unit_leaves')} WHERE unit_id = ?`);
    const putUnitLeaf = this.db.prepare(`INSERT OR IGNORE INTO ${this.t('unit_leaves')} (unit_id, leaf_no) VALUES (?, ?)`);
    for (const u of cat.units.values()) {
      if (u.siteId !== siteId) continue;
      delUnit.run(u.unitId);
      for (const leaf of cat.leavesOfUnit(u.unitId)) putUnitLeaf.run(u.unitId, leaf);
    }
  }
}

/** Reads a catalogue back from a generation's tables. */
export function loadCatalogue(db: Database, t: T, listPriceGroupId?: string): Catalogue {
  const cat = new Catalogue(listPriceGroupId);
  for (const r of db.prepare(`SELECT site_no, site_id, name FROM ${t('sites')} ORDER BY site_no`).all() as { site_no: number; site_id: string; name: string }[]) {
    cat.defineSite(r.site_id, r.name, r.site_no);
  }
  const spaces = db.prepare(`SELECT * FROM ${t('spaces')} ORDER BY space_no`).all() as {
    space_no: number;
    space_id: string;
    site_id: string;
    parent_id: string | null;
    name: string;
    capacity: number | null;
    area_m2: number | null;
    costs: string | null;
  }[];
  for (const r of spaces) {
    const space: Space = {
      spaceId: r.space_id,
      name: r.name,
      ...(r.parent_id === null ? {} : { parentId: r.parent_id }),
      ...(r.capacity === null ? {} : { capacity: r.capacity }),
      ...(r.area_m2 === null ? {} : { areaM2: r.area_m2 }),
      ...(r.costs === null ? {} : { annualCosts: JSON.parse(r.costs) as NonNullable<Space['annualCosts']> }),
    };
    cat.defineSpace(r.site_id, space, r.space_no);
  }
  const rules = new Map<string, { fromDay: number; rules: UnitRules }[]>();
  for (const r of db.prepare(`SELECT unit_id, from_day, rules FROM ${t('unit_rules')} ORDER BY unit_id, from_day`).all() as {
    unit_id: string;
    from_day: number;
    rules: string;
  }[]) {
    const list = rules.get(r.unit_id) ?? [];
    list.push({ fromDay: r.from_day <= -1e9 ? Number.NEGATIVE_INFINITY : r.from_day, rules: JSON.parse(r.rules) as UnitRules });
    rules.set(r.unit_id, list);
  }
  for (const r of db.prepare(`SELECT * FROM ${t('units')}`).all() as {
    unit_id: string;
    site_id: string;
    name: string;
    unit_type: string;
    space_ids: string;
    resource_ids: string;
    prices: string;
  }[]) {
    cat.restoreUnit({
      unitId: r.unit_id,
      siteId: r.site_id,
      name: r.name,
      unitType: r.unit_type,
      spaceIds: JSON.parse(r.space_ids) as string[],
      resourceIds: JSON.parse(r.resource_ids) as string[],
      prices: JSON.parse(r.prices) as Price[],
      versions: rules.get(r.unit_id) ?? [],
    });
  }
  for (const r of db.prepare(`SELECT grp_no, grp_id, name, name_fi FROM ${t('groups')} ORDER BY grp_no`).all() as {
    grp_no: number;
    grp_id: string;
    name: string;
    name_fi: string | null;
  }[]) {
    cat.defineGroup(r.grp_id, r.name, r.name_fi ?? undefined, r.grp_no);
  }
  return cat;
}
