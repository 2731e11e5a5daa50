/**
 * A whole pipeline for tests: the real engine deciding commands on a clock the
 * test moves, an event store, the projection runner and the analytics read
 * model over an SQLite database. Access-control log events (occupancy,
 * devices, doors) are appended to the store directly, as the access-control
 * runtime would.
 */
import Database from 'better-sqlite3';
import {
  Engine,
  MemoryEventStore,
  type EngineCommand,
  type EventStore,
  type EventToAppend,
  type Outcome,
  type Space,
  type UnitInput,
  unitSchema,
} from '@vuoro/engine';
import { analyticsProjection, type AnalyticsProjectionOptions } from '../analytics/projection.js';
import { AnalyticsReadModel, type ReadModelOptions } from '../analytics/read-model.js';
import type { Projection } from '../runtime/projection.js';
import { ProjectionRunner, type RunnerOptions } from '../runtime/runner.js';
import { ensureStateTable } from '../runtime/state.js';

export const STAFF = { kind: 'staff' as const, staffId: 'stf_test' };

export interface Harness {
  store: EventStore;
  engine: Engine;
  runner: ProjectionRunner;
  db: Database.Database;
  read: AnalyticsReadModel;
  /** The engine's clock. */
  now: number;
  setNow(ms: number): void;
  /** Runs a command; throws on a refusal unless `allowRefusal`. */
  exec(command: EngineCommand, options?: { siteId?: string; channel?: string; allowRefusal?: boolean }): Promise<Outcome<unknown>>;
  /** Appends access-control log events as the access runtime would. */
  log(siteId: string, events: EventToAppend[]): Promise<void>;
  /** Waits until the projections have applied everything appended so far. */
  sync(): Promise<void>;
  head(): number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: EventStore;
  db?: Database.Database;
  start?: number;
  projections?: Projection[];
  analytics?: AnalyticsProjectionOptions;
  readModel?: ReadModelOptions;
  runner?: Partial<RunnerOptions>;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const store = options.store ?? new MemoryEventStore();
  let head = 0;
  const state = { now: options.start ?? Date.parse('2027-01-04T06:00:00Z') };
  const engine = await Engine.open({
    store,
    clock: () => state.now,
    onEvents: (events) => {
      for (const e of events) head = Math.max(head, e.position);
    },
  });
  const db = options.db ?? new Database(':memory:');
  ensureStateTable(db);
  const runner = new ProjectionRunner({
    store,
    db,
    projections: options.projections ?? [analyticsProjection(options.analytics)],
    ...options.runner,
  });
  await runner.start();
  const h: Harness = {
    store,
    engine,
    runner,
    db,
    read: new AnalyticsReadModel(db, { clock: () => state.now, ...options.readModel }),
    get now() {
      return state.now;
    },
    setNow(ms) {
      state.now = ms;
    },
    async exec(command, o = {}) {
      const outcome = await engine.execute(command, {
        ...(o.siteId === undefined ? {} : { siteId: o.siteId }),
        ...(o.channel === undefined ? {} : { channel: o.channel }),
      });
      if (!outcome.ok && o.allowRefusal !== true) throw new Error(`${command.type} refused: ${outcome.error.code} ${outcome.error.message}`);
      return outcome as Outcome<unknown>;
    },
    async log(siteId, events) {
      const result = await store.append(`access-log-${siteId}`, events, { expectedVersion: 'any' });
      head = Math.max(head, result.lastPosition);
    },
    async sync() {
      await runner.waitFor(head);
    },
    head: () => head,
    async close() {
      await runner.close();
      await engine.close();
      await store.close();
      db.close();
    },
  };
  return h;
}

// --- a small catalogue --------------------------------------------------------------

const weekdays = [{ from: '07:00', to: '22:00' }];
const weekend = [{ from: '09:00', to: '20:00' }];
export const STANDARD_HOURS = { weekly: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays, sat: weekend, sun: weekend } };
const ALL_DAY = [{ from: '00:00', to: '24:00' }];
export const ROUND_THE_CLOCK = {
  weekly: { mon: ALL_DAY, tue: ALL_DAY, wed: ALL_DAY, thu: ALL_DAY, fri: ALL_DAY, sat: ALL_DAY, sun: ALL_DAY },
  holidays: 'open' as const,
};

const rules = {
  openingHours: STANDARD_HOURS,
  startIntervalMinutes: 30,
  minDurationMinutes: 30,
  maxDurationMinutes: 240,
  bookingWindow: { minDaysAhead: 0, maxDaysAhead: 400 },
  cancellationDeadlineHours: 0,
};

const residentsPrice = (amountCents: number, basis: 'per_hour' | 'fixed' = 'per_hour') => [
  { customerGroupId: 'grp_residents', validFrom: '2026-01-01', basis, amountCents, vatBasisPoints: 1400 },
  { customerGroupId: 'grp_companies', validFrom: '2026-01-01', basis, amountCents: amountCents * 2, vatBasisPoints: 2550 },
  { customerGroupId: 'grp_youth', validFrom: '2026-01-01', basis, amountCents: 0, vatBasisPoints: 1400 },
];

/** A sports park: a hall in three sections (costs on the hall), two courts, a sauna (fixed price), a meeting room that needs approval, a cottage open round the clock. */
export const PARK = {
  siteId: 'sit_park',
  spaces: [
    { spaceId: 'spc_hall', name: 'Hall', areaM2: 1200, annualCosts: { rentCents: 20_000_000, maintenanceCents: 4_000_000, cleaningCents: 3_000_000, energyCents: 3_000_000 } },
    { spaceId: 'spc_hall_a', parentId: 'spc_hall', name: 'Hall A', areaM2: 400 },
    { spaceId: 'spc_hall_b', parentId: 'spc_hall', name: 'Hall B', areaM2: 400 },
    { spaceId: 'spc_hall_c', parentId: 'spc_hall', name: 'Hall C', areaM2: 400 },
    { spaceId: 'spc_court1', name: 'Court 1', annualCosts: { rentCents: 1_500_000, maintenanceCents: 500_000, cleaningCents: 100_000, energyCents: 400_000 } },
    { spaceId: 'spc_court2', name: 'Court 2', annualCosts: { rentCents: 1_500_000, maintenanceCents: 500_000, cleaningCents: 100_000, energyCents: 400_000 } },
    { spaceId: 'spc_sauna', name: 'Sauna', annualCosts: { rentCents: 800_000, maintenanceCents: 200_000, cleaningCents: 300_000, energyCents: 500_000 } },
    { spaceId: 'spc_meeting', name: 'Meeting room', annualCosts: { rentCents: 900_000, maintenanceCents: 0, cleaningCents: 100_000, energyCents: 0 } },
    { spaceId: 'spc_cottage', name: 'Cottage', annualCosts: { rentCents: 1_200_000, maintenanceCents: 300_000, cleaningCents: 0, energyCents: 200_000 } },
  ] satisfies Space[],
  units: [
    { unitId: 'unt_hall', name: 'Hall (whole)', unitType: 'sports_hall', spaceIds: ['spc_hall'], rules, prices: residentsPrice(9000) },
    { unitId: 'unt_hall_a', name: 'Hall A', unitType: 'sports_hall', spaceIds: ['spc_hall_a'], rules, prices: residentsPrice(3500) },
    { unitId: 'unt_hall_b', name: 'Hall B', unitType: 'sports_hall', spaceIds: ['spc_hall_b'], rules, prices: residentsPrice(3500) },
    { unitId: 'unt_court1', name: 'Court 1', unitType: 'tennis_court', spaceIds: ['spc_court1'], rules, prices: residentsPrice(1800) },
    { unitId: 'unt_court2', name: 'Court 2', unitType: 'tennis_court', spaceIds: ['spc_court2'], rules, prices: residentsPrice(1800) },
    {
      unitId: 'unt_sauna',
      name: 'Sauna',
      unitType: 'sauna',
      spaceIds: ['spc_sauna'],
      rules: { ...rules, bufferAfterMinutes: 30, maxDurationMinutes: 180 },
      prices: residentsPrice(3000, 'fixed'),
    },
    { unitId: 'unt_meeting', name: 'Meeting room', unitType: 'meeting_room', spaceIds: ['spc_meeting'], rules: { ...rules, requiresHandling: true } },
    {
      unitId: 'unt_cottage',
      name: 'Cottage',
      unitType: 'cottage',
      spaceIds: ['spc_cottage'],
      rules: { ...rules, openingHours: ROUND_THE_CLOCK, maxDurationMinutes: 24 * 60 },
      prices: residentsPrice(600),
    },
  ] satisfies UnitInput[],
  groups: [
    { customerGroupId: 'grp_residents', name: 'Residents', nameFi: 'Asukkaat' },
    { customerGroupId: 'grp_companies', name: 'Companies', nameFi: 'Yritykset' },
    { customerGroupId: 'grp_youth', name: 'Youth associations', nameFi: 'Nuorisoyhdistykset', freeOfCharge: true },
  ],
};

/** Defines the park through the engine's own commands. */
export async function definePark(h: Harness): Promise<void> {
  for (const group of PARK.groups) await h.exec({ type: 'DefineCustomerGroup', data: { group: { freeOfCharge: false, ...group } }, meta: { actor: STAFF } });
  await h.exec({ type: 'DefineSite', data: { site: { siteId: PARK.siteId, name: 'Sports park' } }, meta: { actor: STAFF } });
  for (const space of PARK.spaces) await h.exec({ type: 'DefineSpace', data: { space }, meta: { actor: STAFF } }, { siteId: PARK.siteId });
  for (const unit of PARK.units) await h.exec({ type: 'DefineUnit', data: { unit: unitSchema.parse(unit) }, meta: { actor: STAFF } }, { siteId: PARK.siteId });
}
