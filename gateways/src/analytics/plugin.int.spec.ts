/**
 * The analyst API over HTTP: buildApp (real SQLite event store and gateway
 * database) with `analyticsPlugin` and an in-process projection runner.
 * Figures as JSON and CSV (both ways of asking, both languages), the analyst
 * scope, problems for bad queries, lag gauges on /metrics, a rebuild through
 * the API, and the dashboard's files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, loadCatalogue, openStore, unitSchema, type CatalogueFile, type EventStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import { PARK } from '@vuoro/projections/testing/harness.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { openDb, type Db } from '../storage/db.js';
import { analyticsPlugin, startAnalytics, type Analytics } from './index.js';

const NOW = Date.parse('2027-03-01T08:00:00Z');
const CATALOGUE: CatalogueFile = {
  customerGroups: PARK.groups.map((g) => ({ freeOfCharge: false, ...g })),
  customers: [
    { customerId: 'cus_ann', name: 'Ann', customerGroupId: 'grp_residents' },
    { customerId: 'cus_acme', name: 'Acme Oy', customerGroupId: 'grp_companies' },
  ],
  sites: [{ siteId: PARK.siteId, name: 'Sports park', spaces: PARK.spaces, resources: [], units: PARK.units.map((u) => unitSchema.parse(u)) }],
};

let dir: TempDir;
let store: EventStore;
let engine: Engine;
let db: Db;
let app: FastifyInstance;
let analytics: Analytics;
let now = NOW;
let head = 0;
const keys = { analyst: '', staff: '', admin: '' };

const get = (url: string, key: string = keys.analyst, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
  app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}`, ...headers } });

const STAFF = { kind: 'staff' as const, staffId: 'stf_anna' };

async function book(id: string, unitId: string, customerId: string, groupId: string, start: string, end: string): Promise<void> {
  const o = await engine.execute(
    { type: 'RequestReservation', data: { reservationId: id, unitId, customer: { customerId, customerGroupId: groupId, freeOfCharge: false }, start, end, kind: 'behalf', confirm: true }, meta: { actor: STAFF } },
    { channel: 'staff-desk' },
  );
  if (!o.ok) throw new Error(o.error.message);
  const due = o.events.find((e) => e.type === 'ReservationPaymentRequired');
  if (due !== undefined) {
    const paid = await engine.execute({
      type: 'RecordPayment',
      data: { reservationId: id, paymentRef: `pay_${id}`, amountCents: (due.data as { amountCents: number }).amountCents },
      meta: { actor: STAFF },
    });
    if (!paid.ok) throw new Error(paid.error.message);
  }
}

beforeAll(async () => {
  dir = await tempDir('vuoro-analytics-http-');
  const storeFile = join(dir.path, 'vuoro.sqlite');
  store = await openStore({ kind: 'sqlite', file: storeFile });
  engine = await Engine.open({ store, clock: () => now, onEvents: (events) => (head = Math.max(head, ...events.map((e) => e.position))) });
  const report = await loadCatalogue(engine, CATALOGUE);
  if (report.refused.length > 0) throw new Error(JSON.stringify(report.refused));
  await book('res_1', 'unt_court1', 'cus_ann', 'grp_residents', '2027-03-08T18:00', '2027-03-08T19:30');
  await book('res_2', 'unt_hall', 'cus_acme', 'grp_companies', '2027-03-09T10:00', '2027-03-09T12:00');
  await book('res_3', 'unt_court1', 'cus_ann', 'grp_residents', '2027-03-10T17:00', '2027-03-10T18:00');
  const meeting = await engine.execute({
    type: 'RequestReservation',
    data: { reservationId: 'res_4', unitId: 'unt_meeting', customer: { customerId: 'cus_ann', customerGroupId: 'grp_residents', freeOfCharge: false }, start: '2027-03-11T12:00', end: '2027-03-11T13:00', kind: 'normal', confirm: true },
    meta: { actor: { kind: 'customer', customerId: 'cus_ann' } },
  });
  if (!meeting.ok) throw new Error(meeting.error.message);
  now = NOW + 30 * 3_600_000;
  const approved = await engine.execute({ type: 'ApproveReservation', data: { reservationId: 'res_4' }, meta: { actor: STAFF } });
  if (!approved.ok) throw new Error(approved.error.message);
  const occupied = await store.append(
    `access-log-${PARK.siteId}`,
    [
      { type: 'SpaceOccupancyRecorded', data: { siteId: PARK.siteId, spaceId: 'spc_court1', start: '2027-03-08T16:05:00Z', end: '2027-03-08T17:20:00Z', sensorIds: ['sen_1'] } },
      { type: 'SpaceOccupancyRecorded', data: { siteId: PARK.siteId, spaceId: 'spc_court1', start: '2027-03-09T08:00:00Z', end: '2027-03-09T09:00:00Z', sensorIds: ['sen_1'] } },
    ],
    { expectedVersion: 'any' },
  );
  head = Math.max(head, occupied.lastPosition);

  analytics = await startAnalytics({ store, dataDir: dir.path, storeFile, env: {}, clock: () => now });
  db = openDb(join(dir.path, 'gateway.sqlite'));
  app = await buildApp({ engine, db, clock: () => now, settings: { logLevel: 'silent', expiryIntervalMs: 0, rateLimitMax: 100_000, outbox: { pollMs: 0 } } });
  const dashboardDir = join(dir.path, 'dashboard');
  await mkdir(join(dashboardDir, 'assets'), { recursive: true });
  await writeFile(join(dashboardDir, 'index.html'), '<!doctype html><title>Vuoro</title><script type="module" src="/dashboard/assets/app-1234.js"></script>');
  await writeFile(join(dashboardDir, 'assets', 'app-1234.js'), 'console.log("hello");');
  await app.register(analyticsPlugin, { ...analytics.plugin, registry: app.vuoro.metrics.registry, dashboardDir });
  await app.ready();
  const k = app.vuoro.keys;
  k.createChannel({ channelId: 'chn_city', name: 'City analysts' });
  keys.analyst = k.createKey({ channelId: 'chn_city', name: 'analyst', scopes: ['analyst'] }).secret;
  keys.staff = k.createKey({ channelId: 'chn_city', name: 'desk', scopes: ['staff'], staffId: 'stf_anna' }).secret;
  keys.admin = k.createKey({ channelId: 'chn_city', name: 'admin', scopes: ['admin'] }).secret;
  await analytics.runner?.waitFor(head);
});

afterAll(async () => {
  await app?.close();
  await analytics?.close();
  await engine?.close();
  await store?.close();
  db?.close();
  await dir?.remove();
});

const RANGE = 'from=2027-03-08&to=2027-03-14';

describe('figures as JSON', () => {
  it('answers utilization grouped by space with the read model’s own figures', async () => {
    const res = await get(`/v1/analytics/utilization?${RANGE}&groupBy=space`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { rows: Record<string, unknown>[]; totals: Record<string, number>; columns: { key: string }[] };
    expect(body).toEqual(JSON.parse(JSON.stringify(analytics.readModel.utilization({ from: '2027-03-08', to: '2027-03-14', groupBy: ['space'] }))));
    const court = body.rows.find((r) => r.spaceId === 'spc_court1') as Record<string, number>;
    expect(court.bookedHours).toBe(2.5);
    // Monitored from 18:00 on the 8th; 1.5 h booked there, 1.25 h of it occupied; 1 h booked on the 10th, unused.
    expect(court.noShowHours).toBe(1.25);
    const hall = body.rows.find((r) => r.spaceId === 'spc_hall') as Record<string, number>;
    expect(hall.bookedHours).toBe(6); // two hours of the whole hall = three sections x two hours
  });

  it('splits booked hours by customer group, each row sharing the open hours', async () => {
    const res = await get(`/v1/analytics/utilization?${RANGE}&groupBy=customerGroup`);
    const rows = (res.json() as { rows: Record<string, number | string>[] }).rows;
    expect(rows.map((r) => [r.customerGroupId, r.bookedHours])).toEqual([
      ['grp_residents', 3.5],
      ['grp_companies', 6],
    ]);
    expect(rows[0]?.openHours).toBe(rows[1]?.openHours);
  });

  it('answers the cost of vacancy, no-shows, unbooked use and SLA', async () => {
    const cost = (await get(`/v1/analytics/cost-of-vacancy?${RANGE}&groupBy=site`)).json() as { rows: Record<string, number>[] };
    expect(cost.rows[0]?.costOfVacancyCents).toBeGreaterThan(0);
    expect(cost.rows[0]?.costOfVacancyCents).toBe((cost.rows[0]?.vacancyCostCents ?? 0) + (cost.rows[0]?.lostRevenueCents ?? 0));
    const unbooked = (await get(`/v1/analytics/unbooked-use?${RANGE}&spaceId=spc_court1`)).json() as { totals: Record<string, number> };
    // 18:05-19:20 on the 8th was booked; 10:00-11:00 on the 9th was not.
    expect(unbooked.totals.unbookedUseHours).toBe(1);
    const sla = (await get(`/v1/analytics/sla?from=2027-02-25&to=2027-03-14&asOf=2027-03-05T00:00:00Z&promiseHours=48`)).json() as {
      handling: { totals: Record<string, number> };
      devices: { onlineShare: number | null };
    };
    expect(sla.handling.totals).toMatchObject({ requests: 1, decided: 1, decidedWithinPromise: 1, withinPromiseShare: 1, medianHoursToDecision: 30 });
    const noShows = (await get(`/v1/analytics/no-shows?${RANGE}&asOf=2027-04-01T00:00:00Z`)).json() as { totals: Record<string, number> };
    expect(noShows.totals.reservations).toBe(4);
  });
});

describe('availability', () => {
  it('lists free time per unit and day, the booked hours taken out', async () => {
    const res = await get('/v1/analytics/availability?from=2027-03-08&to=2027-03-08&unitId=unt_court1');
    expect(res.statusCode).toBe(200);
    const [day] = (res.json() as { days: { openMinutes: number; freeMinutes: number; free: [string, string][] }[] }).days;
    // Monday: open 07-22, booked 18:00-19:30.
    expect(day?.openMinutes).toBe(15 * 60);
    expect(day?.freeMinutes).toBe(15 * 60 - 90);
    expect(day?.free).toEqual([
      ['2027-03-08T07:00:00.000+02:00', '2027-03-08T18:00:00.000+02:00'],
      ['2027-03-08T19:30:00.000+02:00', '2027-03-08T22:00:00.000+02:00'],
    ]);
  });
});

describe('figures as CSV', () => {
  it('answers CSV for ?format=csv and for Accept: text/csv, with English or Finnish headers', async () => {
    const json = (await get(`/v1/analytics/utilization?${RANGE}&groupBy=space`)).json() as { rows: Record<string, unknown>[] };
    const byFormat = await get(`/v1/analytics/utilization?${RANGE}&groupBy=space&format=csv`);
    expect(byFormat.statusCode).toBe(200);
    expect(byFormat.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(byFormat.headers['content-disposition']).toBe('attachment; filename="utilization_2027-03-08_2027-03-14.csv"');
    const lines = byFormat.body.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'Space id,Space,Open hours,Booked hours,Booked rate,Vacant open hours,Monitored open hours,Used hours (occupied),Used rate,Monitored booked hours,Booked hours without use,No-show rate,Unbooked use hours,Unbooked share of use',
    );
    expect(lines).toHaveLength(json.rows.length + 1);
    const court = lines.find((l) => l.startsWith('spc_court1,'));
    expect(court?.split(',')[3]).toBe('2.5');
    const byAccept = await get(`/v1/analytics/utilization?${RANGE}&groupBy=space`, keys.analyst, { accept: 'text/csv' });
    expect(byAccept.body).toBe(byFormat.body);
    const fi = await get(`/v1/analytics/utilization?${RANGE}&groupBy=space&format=csv&lang=fi`);
    expect(fi.body.replace(/^\uFEFF/, '').split('\r\n')[0]).toMatch(/^Tilan tunnus,Tila,Aukiolotunnit,Varatut tunnit,Varausaste,/);
  });

  it('exports reservations as CSV', async () => {
    const res = await get(`/v1/analytics/reservations?${RANGE}&format=csv`);
    const lines = res.body.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]?.startsWith('Reservation,Site id,Unit id,')).toBe(true);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['res_1', 'res_2', 'res_3', 'res_4']);
  });
});

describe('access and problems', () => {
  it('needs a key with the analyst scope', async () => {
    const none = await app.inject({ method: 'GET', url: `/v1/analytics/utilization?${RANGE}` });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    const staff = await get(`/v1/analytics/utilization?${RANGE}`, keys.staff);
    expect(staff.statusCode).toBe(403);
    expect(staff.json()).toMatchObject({ code: 'INSUFFICIENT_SCOPE' });
    expect((await get(`/v1/analytics/utilization?${RANGE}`, keys.admin)).statusCode).toBe(200);
  });

  it('explains bad queries as problems naming the field', async () => {
    const badDate = await get('/v1/analytics/utilization?from=2027-02-30&to=2027-03-01');
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'from' });
    const backwards = await get('/v1/analytics/utilization?from=2027-03-10&to=2027-03-01');
    expect(backwards.json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'to' });
    const dim = await get(`/v1/analytics/utilization?${RANGE}&groupBy=colour`);
    expect(dim.json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    const site = await get(`/v1/analytics/utilization?${RANGE}&siteId=sit_nowhere`);
    expect(site.json()).toMatchObject({ status: 404, code: 'UNKNOWN_SITE', field: 'siteId' });
    const grouped = await get(`/v1/analytics/cost-of-vacancy?${RANGE}&groupBy=customerGroup`);
    expect(grouped.json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'groupBy' });
  });
});

describe('operations', () => {
  it('reports projection lag and checkpoints on /metrics', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/vuoro_projection_lag_events\{projection="analytics"\} 0/);
    expect(res.body).toMatch(/vuoro_projection_lag_events\{projection="availability"\} 0/);
    expect(res.body).toMatch(/vuoro_projection_lag_seconds\{projection="analytics"\} 0/);
    expect(res.body).toMatch(new RegExp(`vuoro_projection_checkpoint\\{projection="analytics",role="live"\\} ${head}`));
  });

  it('shows requests waiting for handling, and those past the promise, on /metrics', async () => {
    const gauge = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await app.inject({ method: 'GET', url: '/metrics' })).body)?.[1]);
    expect(await gauge('vuoro_sla_handling_pending_requests')).toBe(0);
    const saved = now;
    try {
      const waiting = await engine.execute({
        type: 'RequestReservation',
        data: { reservationId: 'res_sla', unitId: 'unt_meeting', customer: { customerId: 'cus_ann', customerGroupId: 'grp_residents', freeOfCharge: false }, start: '2027-03-18T12:00', end: '2027-03-18T13:00', kind: 'normal', confirm: true },
        meta: { actor: { kind: 'customer', customerId: 'cus_ann' } },
      });
      if (!waiting.ok) throw new Error(waiting.error.message);
      await analytics.runner?.waitFor(head);
      expect(await gauge('vuoro_sla_handling_pending_requests')).toBe(1);
      expect(await gauge('vuoro_sla_handling_overdue_requests')).toBe(0);
      now += 73 * 3_600_000; // past the 72-hour promise
      expect(await gauge('vuoro_sla_handling_overdue_requests')).toBe(1);
      const denied = await engine.execute({ type: 'DenyReservation', data: { reservationId: 'res_sla', reason: 'closed for the test' }, meta: { actor: STAFF } });
      if (!denied.ok) throw new Error(denied.error.message);
      await analytics.runner?.waitFor(head);
      expect(await gauge('vuoro_sla_handling_pending_requests')).toBe(0);
      expect(await gauge('vuoro_sla_handling_overdue_requests')).toBe(0);
    } finally {
      now = saved;
    }
  });

  it('rebuilds the read model on request and keeps answering the same figures', async () => {
    const before = (await get(`/v1/analytics/utilization?${RANGE}&groupBy=space`)).json() as { rows: unknown[] };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/analytics/rebuild',
      headers: { authorization: `Bearer ${keys.admin}`, 'idempotency-key': 'rebuild-1', 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(202);
    await waitUntil(async () => {
      const status = (await get('/v1/analytics/status')).json() as { projections: { projection: string; generation: number; role: string }[] };
      const analyticsSlots = status.projections.filter((p) => p.projection === 'analytics');
      return analyticsSlots.length === 1 && analyticsSlots[0]?.role === 'live' && analyticsSlots[0].generation > 1;
    });
    const after = (await get(`/v1/analytics/utilization?${RANGE}&groupBy=space`)).json() as { rows: unknown[] };
    expect(after.rows).toEqual(before.rows);
    const forbidden = await app.inject({
      method: 'POST',
      url: '/v1/analytics/rebuild',
      headers: { authorization: `Bearer ${keys.analyst}`, 'idempotency-key': 'rebuild-2', 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(forbidden.statusCode).toBe(403);
  });

  it('serves the dashboard page and its assets, and nothing outside them', async () => {
    const page = await app.inject({ method: 'GET', url: '/dashboard' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const asset = await app.inject({ method: 'GET', url: '/dashboard/assets/app-1234.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ method: 'GET', url: '/dashboard/assets/..%2Findex.html' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/dashboard/assets/nothing.js' })).statusCode).toBe(404);
  });
});
