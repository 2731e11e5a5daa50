/**
 * A season of a city's spaces, generated: who books what, when and through
 * which channel, who pays, cancels, is approved or denied and how fast, who
 * comes and who does not (about one in ten), when rooms are used without a
 * booking, what the sensors, doors and devices report. Deterministic for a
 * seed, and played through a `SimTransport` (the engine directly, or the
 * command API and MQTT), so the read models and the dashboard show a history
 * that looks like one.
 *
 * Demand follows the kind of space: sports halls fill on weekday evenings
 * with associations and in school hours with schools, tennis courts in the
 * mornings and evenings, saunas in the evenings and at weekends, cottages at
 * weekends, meeting rooms in office hours, youth spaces after school.
 */
import { OpeningCalendar, addDays, dayNumberOf, localDayNumber, startOfLocalDay, weekdayOf, type CatalogueFile, type LocalDate, type Unit } from '@vuoro/engine';

export interface SimCustomer {
  customerId: string;
  customerGroupId: string;
  freeOfCharge: boolean;
}

export type SimAction =
  | { at: number; kind: 'book'; reservationId: string; siteId: string; unitId: string; customer: SimCustomer; start: number; end: number; channel: string; byCustomer: boolean }
  | { at: number; kind: 'pay'; reservationId: string }
  | { at: number; kind: 'expire'; reservationId: string }
  | { at: number; kind: 'cancel'; reservationId: string; byCustomer: boolean; customerId: string }
  | { at: number; kind: 'decide'; reservationId: string; approve: boolean }
  | { at: number; kind: 'complete'; reservationId: string }
  | { at: number; kind: 'noShow'; reservationId: string }
  | { at: number; kind: 'block'; reservationId: string; siteId: string; unitId: string; start: number; end: number; reason: 'closure' | 'maintenance' | 'event' }
  | { at: number; kind: 'occupancy'; siteId: string; spaceId: string; start: number; end: number; people: number; reservationId?: string }
  | { at: number; kind: 'sensor'; siteId: string; deviceId: string; spaceId: string }
  | { at: number; kind: 'connectivity'; siteId: string; deviceId: string; online: boolean }
  | { at: number; kind: 'doorCommand'; siteId: string; doorId: string; commandId: string; roundTripMs: number | null };

export interface BookOutcome {
  ok: boolean;
  code?: string;
  /** Cents due when the reservation waits for payment. */
  paymentDue?: number;
  /** The reservation waits for staff's decision. */
  handling?: boolean;
}

/** Where a season is played. Refused commands are counted, not thrown. */
export interface SimTransport {
  /** Sets the time the next commands are decided at (a transport on the real clock waits for it instead). */
  at(ms: number): void | Promise<void>;
  book(a: Extract<SimAction, { kind: 'book' }>): Promise<BookOutcome>;
  pay(reservationId: string, amountCents: number): Promise<boolean>;
  command(a: Extract<SimAction, { kind: 'expire' | 'cancel' | 'decide' | 'complete' | 'noShow' | 'block' }>): Promise<boolean>;
  /** Occupancy, device and door reports, as the access-control side records them. */
  report(a: Extract<SimAction, { kind: 'occupancy' | 'sensor' | 'connectivity' | 'doorCommand' }>): Promise<void>;
}

export interface SeasonOptions {
  catalogue: CatalogueFile;
  /** First and last Helsinki day of use (bookings are made before, up to each unit's booking window). */
  from: LocalDate;
  to: LocalDate;
  seed?: number;
  /** Scales every booking probability (default 1). */
  demand?: number;
  /** Share of leaf spaces with an occupancy sensor (default 0.8). */
  sensorShare?: number;
  /** Share of attended reservations that are no-shows (default 0.1). */
  noShowShare?: number;
  /** Share of bookings cancelled before they start (default 0.07). */
  cancelShare?: number;
}

export interface SeasonStats {
  actions: number;
  booked: number;
  refused: Record<string, number>;
  paid: number;
  cancelled: number;
  decided: number;
  noShows: number;
  completed: number;
  occupancyIntervals: number;
  doorCommands: number;
}

/** mulberry32: small, fast, good enough for workloads. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Profile {
  /** Probability a free hour gets a booking starting in it, by weekday (1-7) and hour of day. */
  p(dow: number, hod: number, month: number): number;
  /** Duration in minutes. */
  duration(r: () => number): number;
  groups(dow: number, hod: number): [string, number][];
  /** Days between booking and use. */
  lead(r: () => number, group: string): number;
}

const evening = (hod: number) => hod >= 16 && hod < 22;
const weekend = (dow: number) => dow >= 6;
const pick = <T>(r: () => number, weighted: readonly (readonly [T, number])[]): T => {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of weighted) {
    x -= w;
    if (x <= 0) return v;
  }
  return weighted[weighted.length - 1]![0];
};
const between = (r: () => number, a: number, b: number) => a + r() * (b - a);
const summer = (month: number) => month >= 6 && month <= 8;

const PROFILES: Record<string, Profile> = {
  sports_hall: {
    p: (dow, hod, m) => (summer(m) ? 0.45 : 1) * (weekend(dow) ? (hod >= 9 && hod < 18 ? 0.45 : 0.1) : evening(hod) ? 0.7 : hod >= 8 && hod < 14 ? 0.35 : 0.08),
    duration: (r) => pick(r, [[60, 5], [90, 2], [120, 3]]),
    groups: (dow, hod) =>
      !weekend(dow) && hod >= 8 && hod < 14 ? [['grp_schools', 8], ['grp_city_own_use', 1], ['grp_companies', 1]] : [['grp_youth_associations', 5], ['grp_associations', 4], ['grp_residents', 2], ['grp_companies', 1]],
    lead: (r, g) => (g === 'grp_schools' || g === 'grp_youth_associations' ? between(r, 14, 60) : between(r, 1, 21)),
  },
  tennis_court: {
    p: (dow, hod, m) => (summer(m) ? 0.6 : 1) * (weekend(dow) ? (hod >= 9 && hod < 18 ? 0.4 : 0.1) : evening(hod) ? 0.55 : hod >= 7 && hod < 9 ? 0.3 : 0.1),
    duration: (r) => pick(r, [[60, 7], [90, 2], [120, 1]]),
    groups: () => [['grp_residents', 7], ['grp_associations', 2], ['grp_companies', 1], ['grp_youth_associations', 1]],
    lead: (r) => between(r, 0, 14),
  },
  sauna: {
    p: (dow, hod, m) => (summer(m) ? 1.2 : 1) * (weekend(dow) ? (hod >= 12 ? 0.35 : 0.05) : hod >= 17 ? 0.3 : 0.03),
    duration: (r) => pick(r, [[90, 3], [120, 4], [180, 3]]),
    groups: () => [['grp_residents', 6], ['grp_companies', 2], ['grp_associations', 2]],
    lead: (r) => between(r, 0, 30),
  },
  cottage: {
    p: (dow, hod) => (hod !== 14 ? 0 : dow === 5 ? 0.6 : dow === 6 ? 0.25 : 0.06),
    duration: (r) => pick(r, [[7 * 60 * 4, 1], [7 * 60 * 6, 1], [7 * 60 * 7, 1]]),
    groups: () => [['grp_residents', 7], ['grp_associations', 2], ['grp_companies', 1]],
    lead: (r) => between(r, 3, 60),
  },
  meeting_room: {
    p: (dow, hod) => (weekend(dow) ? 0.08 : hod >= 9 && hod < 17 ? 0.3 : hod >= 17 ? 0.2 : 0.02),
    duration: (r) => pick(r, [[60, 5], [90, 2], [120, 2], [180, 1]]),
    groups: () => [['grp_residents', 4], ['grp_associations', 4], ['grp_companies', 2], ['grp_schools', 1]],
    lead: (r) => between(r, 0, 21),
  },
  studio: {
    p: (dow, hod) => (weekend(dow) ? (hod >= 12 ? 0.3 : 0) : hod >= 15 ? 0.45 : 0.05),
    duration: (r) => pick(r, [[60, 2], [120, 5], [180, 2]]),
    groups: () => [['grp_youth_associations', 6], ['grp_schools', 2], ['grp_city_own_use', 2]],
    lead: (r) => between(r, 3, 30),
  },
  youth_space: {
    p: (dow, hod) => (weekend(dow) ? (hod >= 12 ? 0.2 : 0) : hod >= 15 ? 0.35 : 0.05),
    duration: (r) => pick(r, [[60, 3], [120, 4], [180, 2]]),
    groups: () => [['grp_youth_associations', 5], ['grp_associations', 3], ['grp_schools', 1], ['grp_city_own_use', 2]],
    lead: (r) => between(r, 4, 40),
  },
};
PROFILES.sports_field = PROFILES.tennis_court as Profile;
PROFILES.other = PROFILES.meeting_room as Profile;

const CHANNELS: Record<string, [string, number][]> = {
  grp_residents: [['web', 7], ['chatbot', 1], ['phone', 2]],
  grp_associations: [['partner-portal', 5], ['web', 3], ['staff-desk', 2]],
  grp_youth_associations: [['partner-portal', 6], ['staff-desk', 4]],
  grp_schools: [['staff-desk', 8], ['partner-portal', 2]],
  grp_city_own_use: [['staff-desk', 10]],
  grp_companies: [['web', 8], ['phone', 2]],
};
const CUSTOMER_CHANNELS = new Set(['web', 'chatbot', 'partner-portal']);

/** Generates the season's actions, in time order. */
export function generateSeason(o: SeasonOptions): SimAction[] {
  const r = rng(o.seed ?? 1);
  const demand = o.demand ?? 1;
  const noShowShare = o.noShowShare ?? 0.1;
  const cancelShare = o.cancelShare ?? 0.07;
  const sensorShare = o.sensorShare ?? 0.8;
  const first = dayNumberOf(o.from);
  const last = dayNumberOf(o.to);
  const seasonStart = startOfLocalDay(o.from);
  const actions: SimAction[] = [];
  const groups = new Map(o.catalogue.customerGroups.map((g) => [g.customerGroupId, g]));
  let n = 0;
  const id = (prefix: string) => `${prefix}_s${(o.seed ?? 1).toString(36)}_${(n++).toString(36)}`;
  const customersOf = new Map<string, SimCustomer[]>();
  const customerOf = (group: string): SimCustomer => {
    let pool = customersOf.get(group);
    if (pool === undefined) {
      const size = group === 'grp_residents' ? 400 : group === 'grp_companies' ? 40 : 25;
      pool = Array.from({ length: size }, (_, k) => ({ customerId: `cus_${group.replace(/^grp_/, '')}_${k}`, customerGroupId: group, freeOfCharge: groups.get(group)?.freeOfCharge ?? false }));
      customersOf.set(group, pool);
    }
    return pool[Math.floor(r() * pool.length)] as SimCustomer;
  };

  for (const site of o.catalogue.sites) {
    const children = new Set(site.spaces.flatMap((s) => (s.parentId === undefined ? [] : [s.parentId])));
    const leaves = site.spaces.filter((s) => !children.has(s.spaceId)).map((s) => s.spaceId);
    const leavesUnder = (spaceId: string): string[] => {
      const kids = site.spaces.filter((s) => s.parentId === spaceId).map((s) => s.spaceId);
      return kids.length === 0 ? [spaceId] : kids.flatMap(leavesUnder);
    };
    const sensored = new Set(leaves.filter(() => r() < sensorShare));
    // Sensors go in before the season; every one reports itself on line.
    for (const spaceId of sensored) {
      const deviceId = `dev_occ_${spaceId.replace(/^spc_/, '')}`;
      actions.push({ at: seasonStart - 7 * DAY, kind: 'sensor', siteId: site.siteId, deviceId, spaceId });
      actions.push({ at: seasonStart - 7 * DAY + MIN, kind: 'connectivity', siteId: site.siteId, deviceId, online: true });
      // A few outages over the season, from an hour to half a day.
      for (let day = first; day <= last; day++) {
        if (r() < 0.015) {
          const down = startOfLocalDay(addDays(o.from, day - first)) + between(r, 0, 20) * HOUR;
          actions.push({ at: down, kind: 'connectivity', siteId: site.siteId, deviceId, online: false });
          actions.push({ at: down + between(r, 1, 12) * HOUR, kind: 'connectivity', siteId: site.siteId, deviceId, online: true });
        }
      }
    }
    // Booked time per leaf, to place unbooked use where nobody booked.
    const busy = new Map<string, [number, number][]>();
    const plan = (unit: Unit, calendar: OpeningCalendar, profile: Profile) => {
      const allowed = unit.rules.allowedCustomerGroups;
      const unitLeaves = [...new Set(unit.spaceIds.flatMap(leavesUnder))];
      for (let day = first; day <= last; day++) {
        const date = addDays(o.from, day - first);
        const dow = weekdayOf(date);
        const month = Number(date.slice(5, 7));
        const dayEnd = startOfLocalDay(addDays(date, 1));
        for (const [open, close] of calendar.openIntervalsOn(date)) {
          let t = open;
          // Starts on this day only: a round-the-clock unit's interval runs on for days.
          while (t < close && t < dayEnd) {
            const hod = Math.floor(((t - startOfLocalDay(date)) / HOUR) % 24);
            if (r() >= profile.p(dow, hod, month) * demand) {
              t += unit.rules.startIntervalMinutes * MIN;
              continue;
            }
            const minutes = Math.min(unit.rules.maxDurationMinutes, Math.max(unit.rules.minDurationMinutes, profile.duration(r)));
            const end = t + minutes * MIN;
            if (end > close) break;
            let group = pick(r, profile.groups(dow, hod));
            if (allowed !== null && !allowed.includes(group)) group = allowed[Math.floor(r() * allowed.length)] as string;
            const customer = customerOf(group);
            const channel = pick(r, CHANNELS[group] ?? [['staff-desk', 1]]);
            const byCustomer = CUSTOMER_CHANNELS.has(channel);
            const leadDays = Math.min(profile.lead(r, group), unit.rules.bookingWindow.maxDaysAhead - 0.5);
            const bookedAt = Math.max(t - Math.max(leadDays, unit.rules.bookingWindow.minDaysAhead + 0.2) * DAY, seasonStart - 90 * DAY);
            const reservationId = id('res');
            actions.push({ at: bookedAt, kind: 'book', reservationId, siteId: site.siteId, unitId: unit.unitId, customer, start: t, end, channel, byCustomer });
            // A few never pay and the hold runs out.
            if (r() < 0.04) actions.push({ at: bookedAt + 3 * HOUR, kind: 'expire', reservationId });
            else actions.push({ at: bookedAt + between(r, 1, 20) * MIN, kind: 'pay', reservationId });
            if (unit.rules.requiresHandling && byCustomer) {
              // Most requests are decided within two days, a few linger.
              const hours = r() < 0.85 ? between(r, 0.5, 48) : between(r, 48, 160);
              actions.push({ at: Math.min(bookedAt + hours * HOUR, t - HOUR), kind: 'decide', reservationId, approve: r() > 0.1 });
            }
            if (r() < cancelShare) {
              // Customers cancel before the deadline (a day ahead); staff may cancel later.
              const latest = t - (byCustomer ? unit.rules.cancellationDeadlineHours * HOUR + HOUR : HOUR);
              if (latest > bookedAt) actions.push({ at: bookedAt + r() * (latest - bookedAt), kind: 'cancel', reservationId, byCustomer, customerId: customer.customerId });
            } else {
              const noShow = r() < noShowShare;
              if (noShow) {
                // Staff mark most no-shows; sensors catch the rest.
                if (r() < 0.7) actions.push({ at: t + 30 * MIN, kind: 'noShow', reservationId });
                if (r() < 0.15) for (const leaf of unitLeaves) if (sensored.has(leaf)) actions.push({ at: t + 5 * MIN, kind: 'occupancy', siteId: site.siteId, spaceId: leaf, start: t + 2 * MIN, end: t + 6 * MIN, people: 1, reservationId });
              } else {
                actions.push({ at: end + 15 * MIN, kind: 'complete', reservationId });
                const a = t + between(r, -5, 12) * MIN;
                const b = end - between(r, -5, 10) * MIN;
                for (const leaf of unitLeaves) {
                  if (sensored.has(leaf)) actions.push({ at: b + MIN, kind: 'occupancy', siteId: site.siteId, spaceId: leaf, start: a, end: b, people: 1 + Math.floor(r() * 20), reservationId });
                  const list = busy.get(leaf) ?? [];
                  list.push([t, end]);
                  busy.set(leaf, list);
                }
                if (unit.rules.accessType === 'opened_by_staff' && r() < 0.5) {
                  const commandId = id('cmd');
                  const roundTripMs = r() < 0.02 ? null : Math.round(Math.exp(between(r, Math.log(150), Math.log(4000))));
                  actions.push({ at: t - 5 * MIN, kind: 'doorCommand', siteId: site.siteId, doorId: `door_${unit.unitId.replace(/^unt_/, '')}`, commandId, roundTripMs });
                }
              }
            }
            // The next start on the unit's grid after this booking and its buffer.
            const step = unit.rules.startIntervalMinutes * MIN;
            t = open + Math.ceil((end + unit.rules.bufferAfterMinutes * MIN - open) / step) * step;
          }
        }
      }
    };
    for (const unit of site.units) {
      const profile = PROFILES[unit.unitType] ?? (PROFILES.meeting_room as Profile);
      plan(unit, new OpeningCalendar(unit.rules.openingHours), profile);
    }
    // Maintenance: the biggest space closes for three days in the middle of the season.
    const big = site.units.find((u) => u.unitType === 'sports_hall') ?? site.units[0];
    if (big !== undefined && last - first > 20) {
      const day = first + Math.floor((last - first) / 2);
      const start = startOfLocalDay(addDays(o.from, day - first));
      actions.push({ at: start - 30 * DAY, kind: 'block', reservationId: id('blk'), siteId: site.siteId, unitId: big.unitId, start, end: start + 3 * DAY, reason: 'maintenance' });
    }
    // Unbooked use: people in a space nobody booked (an unlocked door, a janitor's own use).
    for (const unit of site.units) {
      const calendar = new OpeningCalendar(unit.rules.openingHours);
      const share = unit.unitType === 'youth_space' || unit.unitType === 'studio' ? 0.25 : unit.unitType === 'sports_hall' ? 0.12 : 0.05;
      for (const leaf of unit.spaceIds.flatMap(leavesUnder)) {
        if (!sensored.has(leaf)) continue;
        for (let day = first; day <= last; day++) {
          if (r() >= share) continue;
          const intervals = calendar.openIntervalsWithinDay(addDays(o.from, day - first));
          const iv = intervals[Math.floor(r() * intervals.length)];
          if (iv === undefined) continue;
          const start = iv[0] + r() * Math.max(iv[1] - iv[0] - HOUR, 0);
          const end = start + between(r, 15, 90) * MIN;
          if ((busy.get(leaf) ?? []).some(([a, b]) => a < end && start < b)) continue;
          actions.push({ at: end + MIN, kind: 'occupancy', siteId: site.siteId, spaceId: leaf, start, end, people: 1 + Math.floor(r() * 6) });
        }
      }
    }
  }
  return actions.sort((a, b) => a.at - b.at);
}

/**
 * Plays a season: every action at its time, in order; what depends on a
 * booking happens only if the booking was accepted. Actions after `until`
 * (default: all) are left out, so a season can be played "up to now".
 */
export async function playSeason(transport: SimTransport, actions: readonly SimAction[], options: { until?: number; onProgress?: (done: number, of: number) => void } = {}): Promise<SeasonStats> {
  const stats: SeasonStats = { actions: 0, booked: 0, refused: {}, paid: 0, cancelled: 0, decided: 0, noShows: 0, completed: 0, occupancyIntervals: 0, doorCommands: 0 };
  const accepted = new Map<string, BookOutcome>();
  const refuse = (code: string) => (stats.refused[code] = (stats.refused[code] ?? 0) + 1);
  const until = options.until ?? Number.POSITIVE_INFINITY;
  let k = 0;
  for (const a of actions) {
    k++;
    if (k % 2000 === 0) options.onProgress?.(k, actions.length);
    if (a.at > until) break;
    await transport.at(a.at);
    stats.actions++;
    switch (a.kind) {
      case 'book': {
        const outcome = await transport.book(a);
        if (outcome.ok) {
          stats.booked++;
          accepted.set(a.reservationId, outcome);
        } else refuse(outcome.code ?? 'REFUSED');
        break;
      }
      case 'pay': {
        const o = accepted.get(a.reservationId);
        if (o?.paymentDue === undefined || o.handling === true) break;
        if (await transport.pay(a.reservationId, o.paymentDue)) stats.paid++;
        o.paymentDue = undefined;
        break;
      }
      case 'decide': {
        const o = accepted.get(a.reservationId);
        if (o?.handling !== true) break;
        if (await transport.command(a)) {
          stats.decided++;
          o.handling = false;
          // An approved, priced request waits for payment next.
          if (a.approve && o.paymentDue !== undefined && (await transport.pay(a.reservationId, o.paymentDue))) stats.paid++;
          o.paymentDue = undefined;
          if (!a.approve) accepted.delete(a.reservationId);
        }
        break;
      }
      case 'expire': {
        const o = accepted.get(a.reservationId);
        if (o?.paymentDue === undefined || o.handling === true) break;
        if (await transport.command(a)) accepted.delete(a.reservationId);
        break;
      }
      case 'cancel':
      case 'complete':
      case 'noShow': {
        if (!accepted.has(a.reservationId)) break;
        if (await transport.command(a)) {
          if (a.kind === 'cancel') {
            stats.cancelled++;
            accepted.delete(a.reservationId);
          } else if (a.kind === 'complete') stats.completed++;
          else stats.noShows++;
        }
        break;
      }
      case 'block':
        await transport.command(a);
        break;
      case 'occupancy':
        if (a.reservationId !== undefined && !accepted.has(a.reservationId)) break;
        await transport.report(a);
        stats.occupancyIntervals++;
        break;
      case 'doorCommand':
        await transport.report(a);
        stats.doorCommands++;
        break;
      default:
        await transport.report(a);
    }
  }
  return stats;
}

export const dayOf = (ms: number): number => localDayNumber(ms);
