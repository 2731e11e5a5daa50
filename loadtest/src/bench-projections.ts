/**
 * `npm run bench:projections`: the analytics projection's throughput, lag and
 * query latency, with a plain SQL aggregate over the raw event table as the
 * baseline (what an analyst would run without read models).
 *
 * 1. A synthetic year: BENCH_SPACES leaf spaces (default 1,000) in sites of
 *    twenty, opening hours, prices and annual costs; every day bookings made
 *    ahead, confirmed, paid, some cancelled, completed or marked no-shows,
 *    occupancy intervals (and unbooked use), door commands and device
 *    reports, until the SQLite event store holds BENCH_EVENTS events
 *    (default 10,000,000), in time order.
 * 2. metrics.rebuildEventsPerSec: the projection rebuilt from position 0 of
 *    that store (reading and parsing the feed included).
 * 3. metrics.applyEventsPerSec: steady state. After the live phase the runner
 *    stops, BENCH_APPLY_EVENTS more events (the following days) are appended
 *    and read back into memory, and a runner restarted on the same read model
 *    applies them from that in-memory copy (feed reads excluded; the year's
 *    open hours are already laid out, as they are on any day but the first).
 * 4. metrics.lagP99Ms: BENCH_LIVE_RATE events/s (default 10,000) appended for
 *    BENCH_LIVE_SECONDS (default 20) while the runner follows the store live;
 *    lag = the batch commit that applied an event minus the moment its append
 *    returned.
 * 5. metrics.analyticsP99Ms: the dashboard's queries (and more groupings) over
 *    the year, BENCH_QUERY_ROUNDS rounds.
 * 6. baselines.sqlOverEvents.analyticsP99Ms: booked hours, occupied hours and
 *    no-shows by space and by month computed by SQL over the events table
 *    (JSON extraction, no read model; open hours cannot be computed at all).
 *
 * Sizes come from the environment, so a quick run is
 * `BENCH_EVENTS=300000 BENCH_SPACES=200 npm run bench:projections`.
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { SqliteEventStore, addDays, siteStream, startOfLocalDay, type EventStore, type EventToAppend, type RecordedEvent } from '@vuoro/engine';
import { AnalyticsReadModel, ProjectionRunner, analyticsProjection, openReadModelDb, type AnalyticsQuery, type CommitInfo } from '@vuoro/projections';
import { LatencyRecorder } from './latency.js';
import { createRng, type Rng } from './prng.js';
import { writeResult } from './results.js';
import type { WriterInput, WriterMessage } from './bench-projections-writer.js';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const SPACES = env('BENCH_SPACES', 1000);
const TARGET_EVENTS = env('BENCH_EVENTS', 10_000_000);
const APPLY_EVENTS = env('BENCH_APPLY_EVENTS', 1_000_000);
const LIVE_RATE = env('BENCH_LIVE_RATE', 10_000);
const LIVE_SECONDS = env('BENCH_LIVE_SECONDS', 20);
const QUERY_ROUNDS = env('BENCH_QUERY_ROUNDS', 20);
const SPACES_PER_SITE = 20;
const YEAR_FROM = '2027-01-01';
const DAYS = 365;

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const log = (msg: string) => console.log(`[bench:projections] ${new Date().toISOString().slice(11, 19)} ${msg}`);

// --- the synthetic year ---------------------------------------------------------------

interface Unit {
  unitId: string;
  siteId: string;
  spaceIds: string[];
  leaves: string[];
}

interface World {
  sites: string[];
  units: Unit[];
  /** Leaf space id -> site. */
  leafSite: Map<string, string>;
}

const GROUPS = ['grp_residents', 'grp_associations', 'grp_youth', 'grp_schools', 'grp_companies'];
const HOURS = { weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ from: '07:00', to: '22:00' }]])) };
const WEEKEND = [{ from: '09:00', to: '20:00' }];

function rulesOf() {
  return {
    openingHours: { ...HOURS, weekly: { ...HOURS.weekly, sat: WEEKEND, sun: WEEKEND } },
    startIntervalMinutes: 30,
    minDurationMinutes: 60,
    maxDurationMinutes: 180,
    bufferBeforeMinutes: 0,
    bufferAfterMinutes: 0,
    bookingWindow: { minDaysAhead: 0, maxDaysAhead: 120 },
    maxActivePerCustomer: null,
    cancellationDeadlineHours: 24,
    requiresHandling: false,
    allowedCustomerGroups: null,
    holdMinutes: 15,
    paymentDeadlineMinutes: 60,
    accessType: 'access_code',
  };
}

function catalogue(): { world: World; events: { stream: string; events: EventToAppend[] }[] } {
  const at = { decidedAt: iso(startOfLocalDay(YEAR_FROM) - 30 * DAY) };
  const out: { stream: string; events: EventToAppend[] }[] = [];
  out.push({
    stream: 'directory',
    events: GROUPS.map((g) => ({ type: 'CustomerGroupDefined', data: { group: { customerGroupId: g, name: g.slice(4), freeOfCharge: g === 'grp_youth' } }, metadata: at })),
  });
  const world: World = { sites: [], units: [], leafSite: new Map() };
  const sites = Math.ceil(SPACES / SPACES_PER_SITE);
  let leavesLeft = SPACES;
  for (let s = 0; s < sites; s++) {
    const siteId = `sit_b${s}`;
    world.sites.push(siteId);
    const events: EventToAppend[] = [{ type: 'SiteDefined', data: { site: { siteId, name: `Site ${s}` } }, metadata: at }];
    out.push({ stream: 'directory', events: [{ type: 'SiteRegistered', data: { site: { siteId, name: `Site ${s}` } }, metadata: at }] });
    const cost = (euros: number) => ({ rentCents: euros * 60, maintenanceCents: euros * 15, cleaningCents: euros * 15, energyCents: euros * 10 });
    // A hall in three sections, the rest single rooms and courts.
    const hall = `spc_b${s}_hall`;
    const sections = [0, 1, 2].map((k) => `spc_b${s}_hall_${k}`);
    events.push({ type: 'SpaceDefined', data: { space: { spaceId: hall, name: 'Hall', areaM2: 900, annualCosts: cost(3000) } }, metadata: at });
    for (const id of sections) {
      events.push({ type: 'SpaceDefined', data: { space: { spaceId: id, parentId: hall, name: `Hall ${id.slice(-1)}`, areaM2: 300 } }, metadata: at });
      world.leafSite.set(id, siteId);
    }
    const unit = (unitId: string, spaceIds: string[], leaves: string[], cents: number) => {
      world.units.push({ unitId, siteId, spaceIds, leaves });
      events.push({
        type: 'UnitDefined',
        data: {
          unit: {
            unitId,
            name: unitId,
            unitType: 'sports_hall',
            spaceIds,
            resourceIds: [],
            rules: rulesOf(),
            prices: GROUPS.map((g) => ({ customerGroupId: g, validFrom: '2026-01-01', basis: 'per_hour', amountCents: g === 'grp_youth' ? 0 : cents, vatBasisPoints: 1400 })),
          },
        },
        metadata: at,
      });
    };
    unit(`unt_b${s}_hall`, [hall], sections, 9000);
    sections.forEach((id, k) => unit(`unt_b${s}_hall_${k}`, [id], [id], 3500));
    leavesLeft -= 3;
    const rooms = Math.min(SPACES_PER_SITE - 3, leavesLeft);
    for (let k = 0; k < rooms; k++) {
      const id = `spc_b${s}_r${k}`;
      events.push({ type: 'SpaceDefined', data: { space: { spaceId: id, name: `Room ${k}`, annualCosts: cost(400) } }, metadata: at });
      world.leafSite.set(id, siteId);
      unit(`unt_b${s}_r${k}`, [id], [id], 2000);
    }
    leavesLeft -= rooms;
    out.push({ stream: siteStream(siteId), events });
    if (leavesLeft <= 0) break;
  }
  return { world, events: out };
}

interface Planned {
  id: string;
  unit: Unit;
  start: number;
  end: number;
  group: string;
  outcome: 'attend' | 'noShow' | 'cancel';
}

/**
 * One day of the year as it is recorded: bookings made that day (for the
 * coming weeks), what was used, completed or missed that day, sensors and
 * doors. Returned per stream, each in time order.
 */
function dayOfEvents(world: World, day: number, r: Rng, perUnitDay: number, pending: Map<number, Planned[]>, seq: { n: number }): Map<string, EventToAppend[]> {
  const out = new Map<string, EventToAppend[]>();
  const push = (stream: string, at: number, e: Omit<EventToAppend, 'metadata'>) => {
    let list = out.get(stream);
    if (list === undefined) {
      list = [];
      out.set(stream, list);
    }
    list.push({ ...e, metadata: { decidedAt: iso(at), channel: 'web', actor: 'customer:cus_b' } });
  };
  const date = addDays(YEAR_FROM, day);
  const dayStart = startOfLocalDay(date);
  // Bookings made today, for days 1-30 ahead, in opening hours (roughly: 08-21).
  for (const unit of world.units) {
    const n = Math.floor(perUnitDay) + (r.next() < perUnitDay % 1 ? 1 : 0);
    for (let k = 0; k < n; k++) {
      const ahead = 1 + Math.floor(r.next() * 30);
      const useDay = day + ahead;
      const startHour = 8 + Math.floor(r.next() * 12);
      const start = startOfLocalDay(addDays(YEAR_FROM, useDay)) + startHour * HOUR;
      const end = start + (1 + Math.floor(r.next() * 2)) * HOUR;
      const at = dayStart + (8 + r.next() * 12) * HOUR;
      const id = `res_b${(seq.n++).toString(36)}`;
      const group = GROUPS[Math.floor(r.next() * GROUPS.length)] as string;
      const roll = r.next();
      const p: Planned = { id, unit, start, end, group, outcome: roll < 0.07 ? 'cancel' : roll < 0.16 ? 'noShow' : 'attend' };
      const stream = siteStream(unit.siteId);
      push(stream, at, {
        type: 'ReservationRequested',
        data: {
          reservationId: id,
          unitId: unit.unitId,
          spaceIds: unit.spaceIds,
          resourceIds: [],
          customerId: `cus_b${Math.floor(r.next() * 5000)}`,
          customerGroupId: group,
          kind: 'normal',
          start: iso(start),
          end: iso(end),
          bufferBeforeMinutes: 0,
          bufferAfterMinutes: 0,
          price: { amountCents: 3500, vatCents: 430, vatBasisPoints: 1400, source: 'price_list' },
          holdExpiresAt: iso(at + 15 * MIN),
        },
      });
      push(stream, at, { type: 'ReservationConfirmed', data: { reservationId: id } });
      const list = pending.get(useDay) ?? [];
      list.push(p);
      pending.set(useDay, list);
    }
  }
  // What happens today to bookings for today.
  for (const p of pending.get(day) ?? []) {
    const stream = siteStream(p.unit.siteId);
    const log = `access-log-${p.unit.siteId}`;
    if (p.outcome === 'cancel') {
      push(stream, p.start - 2 * DAY, { type: 'ReservationCancelled', data: { reservationId: p.id, by: 'customer:cus_b', reason: '' } });
      continue;
    }
    if (p.outcome === 'noShow') {
      push(stream, p.start + 30 * MIN, { type: 'ReservationNoShow', data: { reservationId: p.id, by: 'staff:stf_b' } });
      continue;
    }
    const a = p.start + Math.floor(r.next() * 10) * MIN;
    const b = p.end - Math.floor(r.next() * 10) * MIN;
    for (const leaf of p.unit.leaves) {
      push(log, b, { type: 'SpaceOccupancyRecorded', data: { siteId: p.unit.siteId, spaceId: leaf, start: iso(a), end: iso(b), sensorIds: [`sen_${leaf}`] } });
    }
    push(stream, p.end + 15 * MIN, { type: 'ReservationCompleted', data: { reservationId: p.id } });
    if (r.next() < 0.1) {
      const commandId = `cmd_b${(seq.n++).toString(36)}`;
      push(`access-${p.unit.siteId}`, p.start - 5 * MIN, {
        type: 'DoorCommandIssued',
        data: { siteId: p.unit.siteId, doorId: `door_${p.unit.unitId}`, commandId, action: 'unlock', issuedAt: iso(p.start - 5 * MIN), expiresAt: iso(p.start - 4 * MIN), emergency: false, reason: '', by: 'staff:stf_b' },
      });
      const done = p.start - 5 * MIN + 200 + Math.floor(r.next() * 2000);
      push(log, done, { type: 'DoorEventReported', data: { siteId: p.unit.siteId, doorId: `door_${p.unit.unitId}`, event: 'command_done', at: iso(done), receivedAt: iso(done), commandId } });
    }
  }
  pending.delete(day);
  // Unbooked use: a tenth of the leaves see someone without a booking.
  for (const [leaf, siteId] of world.leafSite) {
    if (r.next() >= 0.1) continue;
    const a = dayStart + (9 + r.next() * 10) * HOUR;
    push(`access-log-${siteId}`, a + 40 * MIN, { type: 'SpaceOccupancyRecorded', data: { siteId, spaceId: leaf, start: iso(a), end: iso(a + 40 * MIN), sensorIds: [`sen_${leaf}`] } });
  }
  for (const list of out.values()) list.sort((x, y) => Date.parse(x.metadata?.decidedAt as string) - Date.parse(y.metadata?.decidedAt as string));
  return out;
}

/** Appends the catalogue and the year to a store; returns how many events. */
async function generate(store: EventStore, world: World, catalogueEvents: { stream: string; events: EventToAppend[] }[], days: number, perUnitDay: number, seed: number): Promise<number> {
  let count = 0;
  for (const { stream, events } of catalogueEvents) {
    for (let k = 0; k < events.length; k += 500) {
      await store.append(stream, events.slice(k, k + 500), { expectedVersion: 'any' });
      count += Math.min(500, events.length - k);
    }
  }
  const r = createRng(seed);
  const pending = new Map<number, Planned[]>();
  const seq = { n: 0 };
  for (let day = 0; day < days; day++) {
    const byStream = dayOfEvents(world, day, r, perUnitDay, pending, seq);
    // The whole day in time order across streams, appended in slices per stream.
    for (const [stream, events] of byStream) {
      for (let k = 0; k < events.length; k += 2000) {
        await store.append(stream, events.slice(k, k + 2000), { expectedVersion: 'any' });
      }
      count += events.length;
    }
    if (day % 30 === 0) log(`generated day ${day}: ${count.toLocaleString('en-US')} events`);
  }
  return count;
}

// --- measurements ---------------------------------------------------------------------

const QUERIES = (siteId: string, unitId: string): { name: string; run: (m: AnalyticsReadModel) => unknown }[] => {
  const year: Pick<AnalyticsQuery, 'from' | 'to'> = { from: YEAR_FROM, to: addDays(YEAR_FROM, DAYS - 1) };
  const q = (groupBy: AnalyticsQuery['groupBy'], extra: Partial<AnalyticsQuery> = {}): AnalyticsQuery => ({ ...year, groupBy, ...extra });
  return [
    { name: 'utilization total', run: (m) => m.utilization(q([])) },
    { name: 'utilization by month', run: (m) => m.utilization(q(['month'])) },
    { name: 'utilization by site', run: (m) => m.utilization(q(['site'])) },
    { name: 'utilization by week', run: (m) => m.utilization(q(['week'])) },
    { name: 'heatmap weekday x hour', run: (m) => m.utilization(q(['weekday', 'hour'])) },
    { name: 'heatmap of one site', run: (m) => m.utilization(q(['weekday', 'hour'], { siteId })) },
    { name: 'utilization by customer group', run: (m) => m.utilization(q(['customerGroup'])) },
    { name: 'utilization of a unit by week', run: (m) => m.utilization(q(['week'], { unitId })) },
    { name: 'cost of vacancy by space', run: (m) => m.costOfVacancy(q(['space'])) },
    { name: 'cost of vacancy by month', run: (m) => m.costOfVacancy(q(['month'])) },
    { name: 'unbooked use by site', run: (m) => m.unbookedUse(q(['site'])) },
    { name: 'a quarter by site and month', run: (m) => m.utilization({ from: '2027-04-01', to: '2027-06-30', groupBy: ['site', 'month'] }) },
    { name: 'sla by month', run: (m) => m.sla({ ...q(['month']), asOf: Date.parse('2028-01-01T00:00:00Z') }) },
  ];
};

function sqlOverEvents(file: string): { name: string; run: () => unknown }[] {
  const db = new Database(file, { readonly: true });
  // One pass over the reservation events, grouped by reservation, then by unit and month.
  const booked = db.prepare(`
    SELECT unit, month, SUM(hours) AS hours, SUM(no_show) AS no_shows FROM (
      SELECT json_extract(data, '$.reservationId') AS id,
             MAX(CASE WHEN type = 'ReservationRequested' THEN json_extract(data, '$.unitId') END) AS unit,
             MAX(CASE WHEN type = 'ReservationRequested' THEN strftime('%Y-%m', json_extract(data, '$.start')) END) AS month,
             MAX(CASE WHEN type = 'ReservationRequested'
                      THEN (julianday(json_extract(data, '$.end')) - julianday(json_extract(data, '$.start'))) * 24 END) AS hours,
             MAX(type = 'ReservationConfirmed') AS confirmed,
             MAX(type IN ('ReservationCancelled', 'ReservationDenied', 'ReservationExpired')) AS gone,
             MAX(type = 'ReservationNoShow') AS no_show
      FROM events
      WHERE type IN ('ReservationRequested', 'ReservationConfirmed', 'ReservationCancelled', 'ReservationDenied',
                     'ReservationExpired', 'ReservationNoShow')
      GROUP BY 1)
    WHERE confirmed = 1 AND gone = 0
    GROUP BY unit, month`);
  const occupied = db.prepare(`
    SELECT json_extract(data, '$.spaceId') AS space, strftime('%Y-%m', json_extract(data, '$.start')) AS month,
           SUM((julianday(json_extract(data, '$.end')) - julianday(json_extract(data, '$.start'))) * 24) AS hours
    FROM events WHERE type = 'SpaceOccupancyRecorded' GROUP BY 1, 2`);
  return [
    { name: 'booked hours and no-shows by unit and month', run: () => booked.all() },
    { name: 'occupied hours by space and month', run: () => occupied.all() },
  ];
}

async function main(): Promise<void> {
  const dir = join(process.env.BENCH_DIR ?? tmpdir(), `vuoro-bench-projections-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const storeFile = join(dir, 'events.sqlite');
  const { world, events: catalogueEvents } = catalogue();
  // Events per unit-day so the year holds about TARGET_EVENTS: a booking makes ~4 events.
  const leaves = world.leafSite.size;
  const perUnitDay = Math.max(0.2, (TARGET_EVENTS - leaves * DAYS * 0.1) / (world.units.length * DAYS * 4.0));
  log(`${world.sites.length} sites, ${leaves} leaf spaces, ${world.units.length} units; ${perUnitDay.toFixed(2)} bookings per unit and day`);

  // Polls every 5 ms for the live writer thread's commits (its appends do not wake this connection).
  const store = await SqliteEventStore.open({ file: storeFile, synchronous: 'NORMAL', pollIntervalMs: 5 });
  const t0 = performance.now();
  const total = await generate(store, world, catalogueEvents, DAYS, perUnitDay, 42);
  log(`generated ${total.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  // Rebuild from position 0, into the shadow generation of a runner that is live at the head.
  const dbFile = join(dir, 'projections.sqlite');
  const db = openReadModelDb(dbFile);
  // Set once the live phase starts; the runner calls it through this holder.
  const hook: { onCommit?: (info: CommitInfo) => void } = {};
  const runner = new ProjectionRunner({
    store,
    db,
    projections: [analyticsProjection({ horizonDays: 0 })],
    batchSize: 20_000,
    pageSize: 10_000,
    catchUpBatchSize: 200_000,
    onCommit: (info) => hook.onCommit?.(info),
  });
  const tr = performance.now();
  await runner.start();
  await runner.ready;
  const rebuildMs = performance.now() - tr;
  const rebuildEventsPerSec = (total / rebuildMs) * 1000;
  log(`rebuilt ${total.toLocaleString('en-US')} events in ${(rebuildMs / 1000).toFixed(1)} s: ${rebuildEventsPerSec.toFixed(0)} events/s`);

  // Analyst queries over the year.
  const readModel = new AnalyticsReadModel(db);
  const queries = QUERIES(world.sites[0] as string, world.units[0]?.unitId as string);
  const analytics = new LatencyRecorder();
  const slowest = new Map<string, number>();
  for (let round = 0; round < QUERY_ROUNDS; round++) {
    for (const q of queries) {
      const s = performance.now();
      q.run(readModel);
      const ms = performance.now() - s;
      if (round > 0) analytics.record(ms); // the first round warms caches and prepares statements
      slowest.set(q.name, Math.max(slowest.get(q.name) ?? 0, ms));
    }
  }
  for (const [name, ms] of slowest) log(`  query ${name}: slowest ${ms.toFixed(1)} ms`);
  const baseline = new LatencyRecorder();
  const sql = sqlOverEvents(storeFile);
  for (let round = 0; round < Math.max(2, Math.ceil(QUERY_ROUNDS / 10)); round++) {
    for (const q of sql) {
      const s = performance.now();
      q.run();
      const ms = performance.now() - s;
      baseline.record(ms);
      log(`  baseline ${q.name}: ${ms.toFixed(0)} ms`);
    }
  }

  // Live: append at LIVE_RATE events/s (continuing the year) while the runner follows. An event may be
  // applied before its append returns here, so both times are kept and matched at the end.
  const appendedAt = new Map<number, number>();
  const committedAt = new Map<number, number>();
  const batches = new LatencyRecorder();
  hook.onCommit = (info) => {
    const at = performance.timeOrigin + performance.now();
    for (const e of info.events) committedAt.set(e.position, at);
    batches.record(info.ms);
  };
  const r = createRng(7);
  const pending = new Map<number, Planned[]>();
  const seq = { n: 10_000_000 };
  // The days after the year: first the live phase's events, then the apply phase's.
  const liveEvents: { stream: string; event: EventToAppend }[] = [];
  const applyEvents: { stream: string; events: EventToAppend[] }[] = [];
  let applyCount = 0;
  let day = DAYS;
  for (; liveEvents.length < LIVE_RATE * LIVE_SECONDS; day++) {
    for (const [stream, events] of dayOfEvents(world, day, r, perUnitDay, pending, seq)) for (const event of events) liveEvents.push({ stream, event });
  }
  for (; applyCount < APPLY_EVENTS; day++) {
    for (const [stream, events] of dayOfEvents(world, day, r, perUnitDay, pending, seq)) {
      applyEvents.push({ stream, events });
      applyCount += events.length;
    }
  }
  // The writers run in a thread of their own (as the booking side would, on the other core) and
  // append to the same file; this thread's store notices their commits by polling every few ms.
  // Workers do not inherit tsx's loader: register it in the thread, then load the TypeScript module.
  const writerUrl = new URL('./bench-projections-writer.ts', import.meta.url).href;
  const writer = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(writerUrl)}); });`, {
    eval: true,
    workerData: { file: storeFile, rate: LIVE_RATE, events: liveEvents.slice(0, LIVE_RATE * LIVE_SECONDS) } satisfies WriterInput,
  });
  const done = await new Promise<Extract<WriterMessage, { type: 'done' }>>((resolve, reject) => {
    writer.on('message', (m: WriterMessage) => {
      if (m.type === 'done') resolve(m);
      else for (let p = m.first; p <= m.last; p++) appendedAt.set(p, m.at);
    });
    writer.on('error', reject);
    writer.on('exit', (code) => reject(new Error(`live writer exited with ${code}`)));
  });
  const k = done.events;
  const behind = done.ticksLate;
  const liveSeconds = done.seconds;
  while ([...appendedAt.keys()].some((p) => !committedAt.has(p))) await new Promise((resolve) => setTimeout(resolve, 20));
  const lag = new LatencyRecorder();
  for (const [p, a] of appendedAt) lag.record(Math.max(0, (committedAt.get(p) as number) - a));
  const achievedRate = k / liveSeconds;
  log(`live: ${k.toLocaleString('en-US')} events at ${achievedRate.toFixed(0)}/s (${behind} ticks late); lag p50 ${lag.percentileMs(50).toFixed(1)} ms, p99 ${lag.percentileMs(99).toFixed(1)} ms`);
  log(`live batches: ${batches.count.toLocaleString('en-US')}, p50 ${batches.percentileMs(50).toFixed(1)} ms, p99 ${batches.percentileMs(99).toFixed(1)} ms, slowest ${batches.percentileMs(100).toFixed(1)} ms to apply and commit`);
  await runner.close();

  // Apply throughput in steady state, without feed reads: the next days appended, read back into
  // memory, and applied by a runner restarted on the same read model from that copy.
  // The head: the last live append (the year before it), or found by paging when there was no live phase.
  let head = 0;
  for (const p of appendedAt.keys()) if (p > head) head = p;
  if (head === 0) head = await lastPosition(store);
  for (const { stream, events } of applyEvents) {
    for (let i = 0; i < events.length; i += 2000) await store.append(stream, events.slice(i, i + 2000), { expectedVersion: 'any' });
  }
  const tail: RecordedEvent[] = [];
  for (let after = head; ; ) {
    const page = await store.readAll({ after, limit: 50_000 });
    if (page.length === 0) break;
    tail.push(...page);
    after = (page[page.length - 1] as RecordedEvent).position;
  }
  const applyRunner = new ProjectionRunner({
    store: inMemoryFeed(store, tail),
    db,
    projections: [analyticsProjection({ horizonDays: 0 })],
    batchSize: 20_000,
    pageSize: 10_000,
    catchUpBatchSize: 200_000,
  });
  const ta = performance.now();
  await applyRunner.start();
  await applyRunner.ready;
  const applyMs = performance.now() - ta;
  const applyEventsPerSec = (tail.length / applyMs) * 1000;
  log(`applied ${tail.length.toLocaleString('en-US')} events (the following days) from memory in ${(applyMs / 1000).toFixed(1)} s: ${applyEventsPerSec.toFixed(0)} events/s`);
  await applyRunner.close();

  await writeResult({
    bench: 'projections',
    command: 'npm run bench:projections',
    metrics: {
      applyEventsPerSec,
      lagP99Ms: lag.percentileMs(99),
      lagP50Ms: lag.percentileMs(50),
      liveEventsPerSec: achievedRate,
      rebuildEventsPerSec,
      rebuildEvents: total,
      analyticsP99Ms: analytics.percentileMs(99),
      analyticsP50Ms: analytics.percentileMs(50),
      spaces: leaves,
    },
    baselines: {
      sqlOverEvents: { analyticsP99Ms: baseline.percentileMs(99), analyticsP50Ms: baseline.percentileMs(50) },
    },
  });
  db.close();
  await store.close();
  if (process.env.BENCH_KEEP === undefined) await rm(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}

/** The store's last position, paging forwards through the feed (the port has no backwards read). */
async function lastPosition(store: EventStore): Promise<number> {
  let last = 0;
  for (;;) {
    const page = await store.readAll({ after: last, limit: 100_000 });
    if (page.length === 0) return last;
    last = (page[page.length - 1] as RecordedEvent).position;
  }
}

/** The store, except that the feed over `tail` (events in position order) is served from memory. */
function inMemoryFeed(store: EventStore, tail: readonly RecordedEvent[]): EventStore {
  const first = tail[0]?.position ?? Number.POSITIVE_INFINITY;
  const last = tail[tail.length - 1]?.position ?? 0;
  return {
    name: `${store.name} (feed from memory)`,
    append: (stream, events, options) => store.append(stream, events, options),
    readStream: (stream, options) => store.readStream(stream, options),
    streamVersion: (stream) => store.streamVersion(stream),
    async readAll({ after, limit }) {
      if (after < first - 1 || after >= last) return store.readAll(limit === undefined ? { after } : { after, limit });
      let lo = 0;
      let hi = tail.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((tail[mid] as RecordedEvent).position <= after) lo = mid + 1;
        else hi = mid;
      }
      return tail.slice(lo, limit === undefined ? undefined : lo + limit);
    },
    subscribe: (options) => store.subscribe(options),
    saveSnapshot: (snapshot) => store.saveSnapshot(snapshot),
    loadSnapshot: (stream) => store.loadSnapshot(stream),
    close: async () => {},
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
