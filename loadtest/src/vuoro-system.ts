/**
 * Vuoro as a `ReservationSystem` for the shared measurement loop, so that it
 * and the Emmett baselines answer the same workload through the same driver.
 *
 * Seeding writes the catalogue and the year of existing bookings straight
 * into the store as events (the same events the deciders would produce), then
 * opens the engine, which loads every partition (timed as seedMs, not part of
 * the measured rate). Each request is then a real `RequestReservation`
 * command through the engine: routing, the partition actor, every rule of the
 * unit, the conflict index, a group commit, and the acknowledgement after the
 * store confirmed the commit.
 */
import {
  Engine,
  siteDecider,
  siteStream,
  unitSchema,
  type EventStore,
  type SiteEvent,
  type SiteState,
  type UnitRulesInput,
} from '@vuoro/engine';
import type { Calendar, ReservationSystem, ReserveOutcome } from './measure.js';
import type { BookingRequest, Site } from './workload.js';

const weekdays = [{ from: '07:00', to: '22:00' }];
const weekend = [{ from: '09:00', to: '20:00' }];
/** The workload's calendar: open every day of the year (it has no holiday closures), 30-minute starts. */
export const BENCH_RULES: UnitRulesInput = {
  openingHours: {
    weekly: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays, sat: weekend, sun: weekend },
    holidays: 'open',
  },
  startIntervalMinutes: 30,
  minDurationMinutes: 30,
  maxDurationMinutes: 240,
  bookingWindow: { minDaysAhead: 0, maxDaysAhead: 3650 },
};

const groupId = (g: string): string => `grp_${g}`;

/** The catalogue events of one workload site, parents before children. */
export function catalogueEvents(site: Site): SiteEvent[] {
  const events: SiteEvent[] = [{ type: 'SiteDefined', data: { site: { siteId: site.id, name: site.id } } }];
  const spaces = [...site.spaces].sort((a, b) => Number(a.parentId !== null) - Number(b.parentId !== null));
  for (const s of spaces) {
    events.push({ type: 'SpaceDefined', data: { space: { spaceId: s.id, name: s.id, ...(s.parentId === null ? {} : { parentId: s.parentId }) } } });
  }
  for (const u of site.units) {
    // Vuoro derives "the hall blocks its sections" from the space tree, so a unit names only its own space.
    const unit = unitSchema.parse({ unitId: u.id, name: u.id, unitType: 'other', spaceIds: [u.spaceId], rules: BENCH_RULES });
    events.push({ type: 'UnitDefined', data: { unit } });
  }
  return events;
}

/** Events of an already confirmed booking, as the decider would have recorded them. */
export function bookedEvents(b: { reservationId: string; unitId: string; spaceIds: readonly string[]; customerId: string; customerGroup: string; startMs: number; endMs: number }): SiteEvent[] {
  return [
    {
      type: 'ReservationRequested',
      data: {
        reservationId: b.reservationId,
        unitId: b.unitId,
        spaceIds: [b.spaceIds[0] as string],
        resourceIds: [],
        customerId: b.customerId,
        customerGroupId: groupId(b.customerGroup),
        kind: 'normal',
        start: new Date(b.startMs).toISOString(),
        end: new Date(b.endMs).toISOString(),
        bufferBeforeMinutes: 0,
        bufferAfterMinutes: 0,
        price: { amountCents: 0, vatCents: 0, vatBasisPoints: 0, source: 'no_price_list' },
        holdExpiresAt: new Date(b.startMs).toISOString(),
      },
    },
    { type: 'ReservationConfirmed', data: { reservationId: b.reservationId } },
  ];
}

/** Site id -> all seed events (catalogue + existing bookings). */
export function seedEvents(calendar: Calendar): Map<string, SiteEvent[]> {
  const bySite = new Map<string, SiteEvent[]>();
  for (const site of calendar.sites) bySite.set(site.id, catalogueEvents(site));
  for (const b of calendar.existing) bySite.get(b.siteId)?.push(...bookedEvents(b));
  return bySite;
}

/** The in-memory partition states of a seeded calendar (for the pure decision benchmark). */
export function seedStates(calendar: Calendar): Map<string, SiteState> {
  const states = new Map<string, SiteState>();
  for (const [siteId, events] of seedEvents(calendar)) {
    states.set(siteId, events.reduce(siteDecider.evolve, siteDecider.initialState()));
  }
  return states;
}

export function requestCommand(r: BookingRequest) {
  return {
    type: 'RequestReservation' as const,
    data: {
      reservationId: r.requestId,
      unitId: r.unitId,
      customer: { customerId: r.customerId, customerGroupId: groupId(r.customerGroup), freeOfCharge: false },
      start: r.startMs,
      end: r.endMs,
      kind: 'normal' as const,
      confirm: true,
    },
    meta: { now: 0, actor: { kind: 'customer' as const, customerId: r.customerId } },
  };
}

export class VuoroSystem implements ReservationSystem {
  private engine: Engine | undefined;
  readonly commitSizes: number[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly options: { clock?: () => number; chunk?: number } = {},
  ) {}

  async seed(calendar: Calendar): Promise<void> {
    const chunk = this.options.chunk ?? 2_000;
    const sites = seedEvents(calendar);
    await this.store.append('directory', calendar.sites.map((s) => ({ type: 'SiteRegistered', data: { site: { siteId: s.id, name: s.id } } })), { expectedVersion: 'any' });
    for (const [siteId, events] of sites) {
      for (let i = 0; i < events.length; i += chunk) {
        await this.store.append(siteStream(siteId), events.slice(i, i + chunk), { expectedVersion: i });
      }
    }
    this.engine = await Engine.open({
      store: this.store,
      // The workload is in 2027; decide as if it were the start of that year so the booking window applies as in production.
      clock: this.options.clock ?? (() => Date.parse('2027-01-01T00:00:00Z')),
      onCommit: (c) => this.commitSizes.push(c.commands),
    });
  }

  async reserve(request: BookingRequest): Promise<ReserveOutcome> {
    if (this.engine === undefined) throw new Error('seed first');
    const outcome = await this.engine.execute(requestCommand(request), { idempotencyKey: request.requestId });
    if (outcome.ok) return 'accepted';
    if (outcome.error.code === 'SLOT_CONFLICT') return 'conflict';
    throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
  }

  async close(): Promise<void> {
    await this.engine?.close();
    await this.store.close();
  }
}
