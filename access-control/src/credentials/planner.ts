/**
 * Which credentials should exist, read from the booking engine's events.
 *
 * A model of each site (space tree, units' access types, reservations) is
 * kept from the global feed. A *holder* is a reservation, or a series (one
 * credential for all its occurrences). The desired credential of a holder:
 * every confirmed reservation of it whose unit has access type
 * `access_code`, each giving a window [start - lead, end + grace], valid at
 * the doors on the path to its spaces (each space and its ancestors).
 * Cancelled, denied and expired reservations give nothing, so a change
 * simply changes what is desired; the sync (runtime/credential-sync.ts)
 * turns the difference into issue, change and revoke commands.
 *
 * Pure: events in, desired credentials out. The model can be saved and
 * loaded (the sync's checkpoint).
 */
import type { RecordedEvent } from '@vuoro/engine';
import { upcastSiteEvent } from '@vuoro/engine/site/upcast.js';
import type { AccessType, SiteEvent } from '@vuoro/engine';
import type { Holder } from '../events.js';
import { normalize, type Window } from './windows.js';

export interface PlannerPolicy {
  /** A code opens the door this long before the reservation starts. */
  leadMs: number;
  /** ...and until this long after it ends. */
  graceMs: number;
}

export const DEFAULT_PLANNER_POLICY: PlannerPolicy = { leadMs: 15 * 60_000, graceMs: 15 * 60_000 };

type ReservationStatus = 'pending' | 'confirmed' | 'gone';

interface ReservationModel {
  unitId: string;
  spaceIds: string[];
  customerId: string;
  seriesId: string | undefined;
  start: number;
  end: number;
  status: ReservationStatus;
}

interface SiteModel {
  spaces: Map<string, string | undefined>;
  units: Map<string, { spaceIds: string[]; accessType: AccessType }>;
  reservations: Map<string, ReservationModel>;
  /** holderKey -> reservation ids. */
  holders: Map<string, Set<string>>;
  /** What last happened to a holder, as the reason of the command it causes. */
  lastChange: Map<string, string>;
}

export interface HolderRef {
  siteId: string;
  holderKey: string;
}

export interface DesiredCredential {
  siteId: string;
  holderKey: string;
  holder: Holder;
  /** Spaces whose doors (and their ancestors' doors) the credential opens. */
  spaceIds: string[];
  windows: Window[];
}

const SITE_STREAM_PREFIX = 'site-';
const holderKeyOf = (r: { seriesId: string | undefined }, reservationId: string): string =>
  r.seriesId !== undefined ? `ser:${r.seriesId}` : `res:${reservationId}`;

const emptySite = (): SiteModel => ({ spaces: new Map(), units: new Map(), reservations: new Map(), holders: new Map(), lastChange: new Map() });

export class CredentialPlanner {
  private readonly sites = new Map<string, SiteModel>();

  constructor(readonly policy: PlannerPolicy = DEFAULT_PLANNER_POLICY) {}

  private site(siteId: string): SiteModel {
    let s = this.sites.get(siteId);
    if (s === undefined) {
      s = emptySite();
      this.sites.set(siteId, s);
    }
    return s;
  }

  hasSite(siteId: string): boolean {
    return this.sites.has(siteId);
  }

  hasSpace(siteId: string, spaceId: string): boolean {
    return this.sites.get(siteId)?.spaces.has(spaceId) ?? false;
  }

  /** The space and its ancestors, nearest first. */
  pathOf(siteId: string, spaceId: string): string[] {
    const spaces = this.sites.get(siteId)?.spaces;
    if (spaces === undefined || !spaces.has(spaceId)) return [];
    const out = [spaceId];
    let parent = spaces.get(spaceId);
    while (parent !== undefined && !out.includes(parent)) {
      out.push(parent);
      parent = spaces.get(parent);
    }
    return out;
  }

  /** Applies one event of the global feed; returns the holders whose desired credential may have changed. */
  apply(recorded: RecordedEvent): HolderRef[] {
    if (!recorded.stream.startsWith(SITE_STREAM_PREFIX)) return [];
    const event = upcastSiteEvent(recorded);
    if (event === undefined) return [];
    return this.applySiteEvent(recorded.stream.slice(SITE_STREAM_PREFIX.length), event);
  }

  applySiteEvent(siteId: string, event: SiteEvent): HolderRef[] {
    const s = this.site(siteId);
    const touch = (holderKey: string, why?: string): HolderRef[] => {
      if (why !== undefined) s.lastChange.set(holderKey, why);
      return [{ siteId, holderKey }];
    };
    switch (event.type) {
      case 'SpaceDefined':
      case 'SpaceUpdated': {
        const before = s.spaces.get(event.data.space.spaceId);
        s.spaces.set(event.data.space.spaceId, event.data.space.parentId);
        // A space moved in the tree: doors on every path may differ.
        return event.type === 'SpaceUpdated' && before !== event.data.space.parentId ? this.allHolders(siteId, 'space tree changed') : [];
      }
      case 'UnitDefined':
        s.units.set(event.data.unit.unitId, { spaceIds: event.data.unit.spaceIds, accessType: event.data.unit.rules.accessType });
        return [];
      case 'UnitRulesChanged': {
        const unit = s.units.get(event.data.unitId);
        if (unit === undefined || unit.accessType === event.data.rules.accessType) return [];
        unit.accessType = event.data.rules.accessType;
        const out: HolderRef[] = [];
        for (const [id, r] of s.reservations) {
          if (r.unitId === event.data.unitId) out.push(...touch(holderKeyOf(r, id), `unit access type is now ${unit.accessType}`));
        }
        return out;
      }
      case 'ReservationRequested': {
        const e = event.data;
        if (e.kind === 'blocked') return [];
        const r: ReservationModel = {
          unitId: e.unitId,
          spaceIds: e.spaceIds,
          customerId: e.customerId,
          seriesId: e.seriesId,
          start: Date.parse(e.start),
          end: Date.parse(e.end),
          status: 'pending',
        };
        s.reservations.set(e.reservationId, r);
        const key = holderKeyOf(r, e.reservationId);
        let ids = s.holders.get(key);
        if (ids === undefined) {
          ids = new Set();
          s.holders.set(key, ids);
        }
        ids.add(e.reservationId);
        return [];
      }
      case 'ReservationConfirmed': {
        const r = s.reservations.get(event.data.reservationId);
        if (r === undefined || r.status !== 'pending') return [];
        r.status = 'confirmed';
        return touch(holderKeyOf(r, event.data.reservationId), 'reservation confirmed');
      }
      case 'ReservationCancelled':
      case 'ReservationDenied':
      case 'ReservationExpired': {
        const r = s.reservations.get(event.data.reservationId);
        if (r === undefined || r.status === 'gone') return [];
        const was = r.status;
        r.status = 'gone';
        if (was !== 'confirmed') return [];
        const why =
          event.type === 'ReservationCancelled'
            ? `reservation ${event.data.reservationId} cancelled${event.data.reason ? `: ${event.data.reason}` : ''}`
            : event.type === 'ReservationDenied'
              ? `reservation ${event.data.reservationId} denied`
              : `reservation ${event.data.reservationId} expired (${event.data.reason})`;
        return touch(holderKeyOf(r, event.data.reservationId), why);
      }
      case 'ReservationModified': {
        const r = s.reservations.get(event.data.reservationId);
        if (r === undefined) return [];
        r.start = Date.parse(event.data.start);
        r.end = Date.parse(event.data.end);
        return r.status === 'confirmed' ? touch(holderKeyOf(r, event.data.reservationId), 'reservation moved') : [];
      }
      default:
        return [];
    }
  }

  private allHolders(siteId: string, why: string): HolderRef[] {
    const s = this.site(siteId);
    return [...s.holders.keys()].map((holderKey) => {
      s.lastChange.set(holderKey, why);
      return { siteId, holderKey };
    });
  }

  /** Holders of a site (e.g. after a door was registered on one of its spaces). */
  holdersOf(siteId: string): HolderRef[] {
    return [...(this.sites.get(siteId)?.holders.keys() ?? [])].map((holderKey) => ({ siteId, holderKey }));
  }

  lastChangeOf(ref: HolderRef): string {
    return this.sites.get(ref.siteId)?.lastChange.get(ref.holderKey) ?? 'reservation changed';
  }

  /** The desired credential of a holder, or undefined when it should have none. */
  desired(ref: HolderRef): DesiredCredential | undefined {
    const s = this.sites.get(ref.siteId);
    const ids = s?.holders.get(ref.holderKey);
    if (s === undefined || ids === undefined) return undefined;
    const windows: Window[] = [];
    const spaceIds = new Set<string>();
    let customerId: string | undefined;
    for (const id of ids) {
      const r = s.reservations.get(id);
      if (r === undefined || r.status !== 'confirmed') continue;
      if (s.units.get(r.unitId)?.accessType !== 'access_code') continue;
      windows.push({ start: r.start - this.policy.leadMs, end: r.end + this.policy.graceMs });
      for (const sp of r.spaceIds) spaceIds.add(sp);
      customerId = r.customerId;
    }
    if (windows.length === 0 || customerId === undefined) return undefined;
    const [kind, id] = [ref.holderKey.slice(0, 4), ref.holderKey.slice(4)];
    const holder: Holder =
      kind === 'ser:' ? { type: 'series', seriesId: id, customerId } : { type: 'reservation', reservationId: id, customerId };
    return { siteId: ref.siteId, holderKey: ref.holderKey, holder, spaceIds: [...spaceIds].sort(), windows: normalize(windows) };
  }

  /** Reservations (confirmed or not) of a holder, for messages to the customer. */
  reservationsOf(ref: HolderRef): string[] {
    return [...(this.sites.get(ref.siteId)?.holders.get(ref.holderKey) ?? [])];
  }

  /**
   * Forgets reservations that ended before `before` (and holders left with
   * none), so memory follows what is booked, not everything ever booked.
   */
  prune(before: number): number {
    let dropped = 0;
    for (const s of this.sites.values()) {
      for (const [key, ids] of s.holders) {
        for (const id of ids) {
          const r = s.reservations.get(id);
          if (r === undefined || r.end + this.policy.graceMs < before) {
            ids.delete(id);
            s.reservations.delete(id);
            dropped++;
          }
        }
        if (ids.size === 0) {
          s.holders.delete(key);
          s.lastChange.delete(key);
        }
      }
    }
    return dropped;
  }

  save(): SavedPlanner {
    return {
      sites: [...this.sites].map(([siteId, s]) => ({
        siteId,
        spaces: [...s.spaces].map(([id, parent]) => (parent === undefined ? [id] : [id, parent])),
        units: [...s.units].map(([id, u]) => ({ unitId: id, spaceIds: u.spaceIds, accessType: u.accessType })),
        reservations: [...s.reservations].map(([id, r]) => ({ reservationId: id, ...r, seriesId: r.seriesId ?? null })),
      })),
    };
  }

  static load(saved: SavedPlanner, policy?: PlannerPolicy): CredentialPlanner {
    const p = new CredentialPlanner(policy);
    p.restore(saved);
    return p;
  }

  siteIds(): string[] {
    return [...this.sites.keys()];
  }

  /** Replaces the model with a saved one. */
  restore(saved: SavedPlanner): void {
    this.sites.clear();
    for (const site of saved.sites) {
      const s = this.site(site.siteId);
      for (const [id, parent] of site.spaces) s.spaces.set(id, parent);
      for (const u of site.units) s.units.set(u.unitId, { spaceIds: u.spaceIds, accessType: u.accessType });
      for (const r of site.reservations) {
        const { reservationId, seriesId, ...rest } = r;
        const model: ReservationModel = { ...rest, seriesId: seriesId ?? undefined };
        s.reservations.set(reservationId, model);
        const key = holderKeyOf(model, reservationId);
        let ids = s.holders.get(key);
        if (ids === undefined) {
          ids = new Set();
          s.holders.set(key, ids);
        }
        ids.add(reservationId);
      }
    }
  }
}

export interface SavedPlanner {
  sites: {
    siteId: string;
    spaces: ([string] | [string, string])[];
    units: { unitId: string; spaceIds: string[]; accessType: AccessType }[];
    reservations: {
      reservationId: string;
      unitId: string;
      spaceIds: string[];
      customerId: string;
      seriesId: string | null;
      start: number;
      end: number;
      status: ReservationStatus;
    }[];
  }[];
}
