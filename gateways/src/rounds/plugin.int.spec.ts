/**
 * Seasonal rounds over HTTP: the command API (buildApp, real SQLite event
 * store and gateway database) with `roundsPlugin`. A booking channel applies
 * for its customer, staff run the allocator, adjust, approve into series and
 * publish; problems, scopes and idempotency behave as on every command.
 */
import { join } from 'node:path';
import { Engine, loadCatalogue, openStore, type CatalogueFile, type EventStore, type Space } from '@vuoro/engine';
import { SITE, UNITS, siteCatalogue } from '@vuoro/engine/site/fixtures.js';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { openDb, type Db } from '../storage/db.js';

const NOW = Date.parse('2027-05-03T09:00:00Z');
const spaces: Space[] = siteCatalogue.flatMap((e) => (e.type === 'SpaceDefined' ? [e.data.space] : []));
const resources = siteCatalogue.flatMap((e) => (e.type === 'ResourceDefined' ? [e.data.resource] : []));
const CATALOGUE: CatalogueFile = {
  customerGroups: [
    { customerGroupId: 'grp_youth', name: 'Youth associations', freeOfCharge: true },
    { customerGroupId: 'grp_assoc', name: 'Associations', freeOfCharge: false },
  ],
  customers: [
    { customerId: 'cus_juniors', name: 'Kontula Juniors', customerGroupId: 'grp_youth' },
    { customerId: 'cus_choir', name: 'Choir', customerGroupId: 'grp_assoc' },
  ],
  sites: [{ siteId: SITE, name: 'Sports park', spaces, resources, units: Object.values(UNITS) }],
};

let dir: TempDir;
let store: EventStore;
let engine: Engine;
let db: Db;
let app: FastifyInstance;
const keys = { staff: '', shop: '' };

let idem = 0;
async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${key}`,
      ...(method === 'GET' ? {} : { 'idempotency-key': `k-${++idem}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

const json = <T = Record<string, unknown>>(res: LightMyRequestResponse): T => res.json() as T;

beforeAll(async () => {
  dir = await tempDir('vuoro-rounds-http-');
  store = await openStore({ kind: 'sqlite', file: join(dir.path, 'vuoro.sqlite') });
  engine = await Engine.open({ store, clock: () => NOW });
  const report = await loadCatalogue(engine, CATALOGUE);
  if (report.refused.length > 0) throw new Error(JSON.stringify(report.refused));
  db = openDb(join(dir.path, 'gateway.sqlite'));
  app = await buildApp({ engine, db, clock: () => NOW, settings: { logLevel: 'silent', expiryIntervalMs: 0, rateLimitMax: 100_000, outbox: { pollMs: 0 } } });
  // buildApp registers roundsPlugin with the same context as every other route plugin.
  await app.ready();
  const k = app.vuoro.keys;
  k.createChannel({ channelId: 'chn_desk', name: 'Booking office' });
  keys.staff = k.createKey({ channelId: 'chn_desk', name: 'desk', scopes: ['staff'], staffId: 'stf_anna' }).secret;
  k.createChannel({ channelId: 'chn_portal', name: 'Association portal' });
  keys.shop = k.createKey({ channelId: 'chn_portal', name: 'portal', scopes: ['book'] }).secret;
});

afterAll(async () => {
  await app?.close();
  await engine?.close();
  await store?.close();
  db?.close();
  await dir?.remove();
});

const section = (over: Record<string, unknown> = {}) => ({
  name: 'U12 floorball',
  wishedPerWeek: 2,
  minDurationMinutes: 60,
  maxDurationMinutes: 120,
  unitOptions: [UNITS.hallA.unitId, UNITS.hallB.unitId],
  timeWindows: [1, 2, 3].map((weekday) => ({ weekday, from: '17:00', to: '21:00', priority: 'primary' })),
  ...over,
});

describe('seasonal rounds over HTTP', () => {
  let roundId = '';
  let proposalId = '';

  it('lets staff create and open a round; customers may not', async () => {
    const body = { name: 'Autumn 2027', season: { fromDate: '2027-10-04', toDate: '2027-12-19' }, unitIds: [UNITS.hall.unitId, UNITS.hallA.unitId, UNITS.hallB.unitId, UNITS.meeting.unitId] };
    const denied = await call('POST', '/v1/rounds', keys.shop, body, { 'vuoro-customer': 'cus_juniors' });
    expect(denied.statusCode).toBe(403);
    const created = await call('POST', '/v1/rounds', keys.staff, body);
    expect(created.statusCode).toBe(201);
    const round = json<{ roundId: string; status: string; criteria: { priorityCategories: unknown[] } }>(created);
    roundId = round.roundId;
    expect(round.status).toBe('draft');
    expect(round.criteria.priorityCategories).toHaveLength(4);
    expect(created.headers.location).toBe(`/v1/rounds/${roundId}`);
    const unknownUnit = await call('POST', '/v1/rounds', keys.staff, { ...body, unitIds: ['unt_pool'] });
    expect(unknownUnit.statusCode).toBe(404);
    expect(json(unknownUnit)).toMatchObject({ code: 'UNKNOWN_UNIT', type: 'https://vuoro.dev/problems/unknown-unit' });
    expect((await call('POST', `/v1/rounds/${roundId}/open`, keys.staff)).statusCode).toBe(200);
  });

  it('takes applications from a channel for its customer, and explains every problem with a form', async () => {
    const bad = await call(
      'POST',
      `/v1/rounds/${roundId}/applications`,
      keys.shop,
      { priorityCategoryId: 'children_youth', contact: { name: 'Aino', email: 'aino@example.org' }, sections: [section({ unitOptions: ['unt_court1'], wishedPerWeek: 4 })] },
      { 'vuoro-customer': 'cus_juniors' },
    );
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const problem = json<{ code: string; details: { issues: { code: string }[] } }>(bad);
    expect(problem.code).toBe('UNIT_NOT_IN_ROUND');
    expect(problem.details.issues.map((i) => i.code)).toEqual(['UNIT_NOT_IN_ROUND', 'TOO_FEW_WEEKDAYS']);

    const first = { priorityCategoryId: 'children_youth', organisationName: 'Kontula Juniors', contact: { name: 'Aino', email: 'aino@example.org' }, sections: [section()] };
    const headers = { 'vuoro-customer': 'cus_juniors', 'idempotency-key': 'apply-juniors' };
    const ok = await app.inject({ method: 'POST', url: `/v1/rounds/${roundId}/applications`, headers: { authorization: `Bearer ${keys.shop}`, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(first) });
    expect(ok.statusCode).toBe(201);
    const application = json<{ applicationId: string; application: { applicant: { customerGroupId: string; freeOfCharge: boolean } } }>(ok);
    // The customer's group and terms come from the directory, not from the request.
    expect(application.application.applicant).toMatchObject({ customerGroupId: 'grp_youth', freeOfCharge: true });
    const retry = await app.inject({ method: 'POST', url: `/v1/rounds/${roundId}/applications`, headers: { authorization: `Bearer ${keys.shop}`, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(first) });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(json(retry)).toEqual(json(ok));

    const choir = await call(
      'POST',
      `/v1/rounds/${roundId}/applications`,
      keys.staff,
      {
        customerId: 'cus_choir',
        priorityCategoryId: 'local_association',
        contact: { name: 'Kalle', email: 'kalle@example.org' },
        sections: [section({ name: 'Rehearsal', wishedPerWeek: 1, minDurationMinutes: 90, maxDurationMinutes: 90, unitOptions: [UNITS.meeting.unitId], timeWindows: [{ weekday: 2, from: '18:00', to: '21:00', priority: 'primary' }] })],
      },
    );
    expect(choir.statusCode).toBe(201);

    const own = await call('GET', `/v1/rounds/${roundId}/applications`, keys.shop, undefined, { 'vuoro-customer': 'cus_juniors' });
    expect(json<{ items: unknown[] }>(own).items).toHaveLength(1);
    const all = await call('GET', `/v1/rounds/${roundId}/applications`, keys.staff);
    expect(json<{ items: unknown[] }>(all).items).toHaveLength(2);
  });

  it('runs the allocator and reports objective, bound and gap with an explanation per section', async () => {
    expect((await call('POST', `/v1/rounds/${roundId}/close`, keys.staff)).statusCode).toBe(200);
    const early = await call('POST', `/v1/rounds/${roundId}/proposals`, keys.staff, {});
    expect(json(early)).toMatchObject({ code: 'INVALID_STATE' });
    expect((await call('POST', `/v1/rounds/${roundId}/start-allocation`, keys.staff)).statusCode).toBe(200);
    const proposed = await call('POST', `/v1/rounds/${roundId}/proposals`, keys.staff, { solver: 'auto' });
    expect(proposed.statusCode).toBe(201);
    const summary = json<{ proposalId: string; allocations: number; metrics: { objective: number; bound: number; gap: number; applicantsServed: number } }>(proposed);
    proposalId = summary.proposalId;
    expect(summary.allocations).toBe(3);
    expect(summary.metrics.applicantsServed).toBe(2);
    expect(summary.metrics.bound).toBeGreaterThanOrEqual(summary.metrics.objective - 1e-9);
    const sections = json<{ items: { status: string; notes: unknown[] }[] }>(await call('GET', `/v1/rounds/${roundId}/proposal/sections`, keys.staff));
    expect(sections.items.map((s) => s.status).sort()).toEqual(['allocated', 'allocated']);
    const page1 = json<{ items: { allocationId: string; notes: { code: string }[] }[]; nextCursor: string | null }>(await call('GET', `/v1/rounds/${roundId}/proposal/allocations?limit=2`, keys.staff));
    expect(page1.items).toHaveLength(2);
    expect(page1.items.every((a) => a.notes.some((n) => n.code === 'FIRST_SLOT' || n.code === 'ADDITIONAL_SLOT'))).toBe(true);
    const page2 = json<{ items: unknown[]; nextCursor: string | null }>(await call('GET', `/v1/rounds/${roundId}/proposal/allocations?limit=2&cursor=${page1.nextCursor}`, keys.staff));
    expect(page2.items).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    expect((await call('GET', `/v1/rounds/${roundId}/proposal/allocations`, keys.shop, undefined, { 'vuoro-customer': 'cus_juniors' })).statusCode).toBe(403);
  });

  it('lets staff lock, refuses a move that clashes through the hall hierarchy, and re-runs around the lock', async () => {
    const allocations = json<{ items: { allocationId: string; sectionId: string; unitId: string; weekday: number; startTime: string; endTime: string }[] }>(
      await call('GET', `/v1/rounds/${roundId}/proposal/allocations`, keys.staff),
    ).items;
    const junior = allocations.find((a) => a.unitId !== UNITS.meeting.unitId)!;
    const locked = await call('POST', `/v1/rounds/${roundId}/allocations/${junior.allocationId}/lock`, keys.staff);
    expect(json(locked)).toMatchObject({ locked: true });
    const other = allocations.find((a) => a.unitId !== UNITS.meeting.unitId && a.allocationId !== junior.allocationId)!;
    const clash = await call('POST', `/v1/rounds/${roundId}/allocations/${other.allocationId}/move`, keys.staff, { unitId: UNITS.hall.unitId, weekday: junior.weekday, startTime: junior.startTime, endTime: junior.endTime });
    expect(clash.statusCode).toBe(409);
    expect(json(clash)).toMatchObject({ code: 'SLOT_CONFLICT' });
    const stale = await call('POST', `/v1/rounds/${roundId}/approve`, keys.staff, { proposalId: 'prp_old' });
    expect(json(stale)).toMatchObject({ code: 'STALE_PROPOSAL' });
    const rerun = await call('POST', `/v1/rounds/${roundId}/proposals`, keys.staff, { solver: 'heuristic', bound: false });
    expect(rerun.statusCode).toBe(201);
    proposalId = json<{ proposalId: string }>(rerun).proposalId;
    const after = json<{ items: { allocationId: string; locked: boolean; startTime: string }[] }>(await call('GET', `/v1/rounds/${roundId}/proposal/allocations`, keys.staff)).items;
    expect(after.find((a) => a.allocationId === junior.allocationId)).toMatchObject({ locked: true, startTime: junior.startTime });
  });

  it('approves into series, reporting rejected occurrences, publishes, and shows the applicant its result', async () => {
    const early = await call('GET', `/v1/rounds/${roundId}/applications`, keys.shop, undefined, { 'vuoro-customer': 'cus_juniors' });
    const applicationId = json<{ items: { applicationId: string }[] }>(early).items[0]!.applicationId;
    const hidden = await call('GET', `/v1/rounds/${roundId}/applications/${applicationId}/result`, keys.shop, undefined, { 'vuoro-customer': 'cus_juniors' });
    expect(json(hidden)).toMatchObject({ code: 'INVALID_STATE' });

    const approved = await call('POST', `/v1/rounds/${roundId}/approve`, keys.staff, { proposalId });
    expect(approved.statusCode).toBe(200);
    const report = json<{ complete: boolean; totals: { seriesCreated: number; occurrencesRejected: number }; series: { weekday: number; rejected: { date: string; reason: string }[] }[] }>(approved);
    expect(report.complete).toBe(true);
    expect(report.totals.seriesCreated).toBe(3);
    // Independence Day (Monday 6 December) is a holiday: every Monday series lists it.
    for (const s of report.series.filter((x) => x.weekday === 1)) expect(s.rejected).toContainEqual(expect.objectContaining({ date: '2027-12-06', reason: 'HOLIDAY' }));
    expect(json(await call('GET', `/v1/rounds/${roundId}/approval`, keys.staff))).toEqual(report);

    expect((await call('POST', `/v1/rounds/${roundId}/publish`, keys.staff)).statusCode).toBe(200);
    const result = await call('GET', `/v1/rounds/${roundId}/applications/${applicationId}/result`, keys.shop, undefined, { 'vuoro-customer': 'cus_juniors' });
    expect(result.statusCode).toBe(200);
    const mine = json<{ sections: { status: string }[]; allocations: { customerId: string }[] }>(result);
    expect(mine.sections).toHaveLength(1);
    expect(mine.allocations.length).toBeGreaterThan(0);
    expect(mine.allocations.every((a) => a.customerId === 'cus_juniors')).toBe(true);
    const reservations = await call('GET', `/v1/reservations?kind=seasonal&customerId=cus_juniors`, keys.staff);
    expect(json<{ items: unknown[] }>(reservations).items.length).toBeGreaterThan(0);
  });

  it('answers unknown rounds and missing keys with problems', async () => {
    expect(json(await call('GET', '/v1/rounds/rnd_nope', keys.staff))).toMatchObject({ code: 'UNKNOWN_ROUND', status: 404 });
    const noKey = await app.inject({ method: 'POST', url: `/v1/rounds/${roundId}/close`, headers: { authorization: `Bearer ${keys.staff}` } });
    expect(json(noKey)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'Idempotency-Key' });
  });
});
