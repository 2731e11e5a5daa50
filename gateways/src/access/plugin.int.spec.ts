/**
 * Access control over HTTP, end to end: the command API (buildApp, real
 * SQLite event store and gateway database) with `accessPlugin`, the MQTT
 * gateway on the embedded broker, and a real lock provisioned through the
 * API. Bookings made by a channel get their door code through the outbox.
 */
import { join } from 'node:path';
import { Signer, silentLogger } from '@vuoro/access-control';
import { DOORS, HOUR, MIN, PEPPER, SITE, SPACES, T0 } from '@vuoro/access-control/testing/fixtures.js';
import { UNITS, testCatalogue } from '@vuoro/access-control/testing/harness.js';
import { Engine, loadCatalogue, openStore, type EventStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import { SimLock } from '@vuoro/loadtest/device-simulator.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { startMqttGateway, type RunningMqttGateway } from '../mqtt/index.js';
import { openDb, type Db } from '../storage/db.js';
import { outboxDoorCodes } from './door-codes.js';
import { accessPlugin } from './plugin.js';

const clock = { now: T0 };
let dir: TempDir;
let store: EventStore;
let engine: Engine;
let db: Db;
let app: FastifyInstance;
let mqtt: RunningMqttGateway;
const keys = { admin: '', staff: '', shop: '' };
const devices: SimLock[] = [];

let idem = 0;
async function call(method: 'GET' | 'POST', url: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${key}`,
      ...(method === 'POST' ? { 'idempotency-key': `k-${++idem}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

beforeAll(async () => {
  dir = await tempDir('vuoro-access-http-');
  store = await openStore({ kind: 'sqlite', file: join(dir.path, 'vuoro.sqlite') });
  engine = await Engine.open({ store, clock: () => clock.now });
  await loadCatalogue(engine, testCatalogue);
  db = openDb(join(dir.path, 'gateway.sqlite'));
  app = await buildApp({ engine, db, clock: () => clock.now, settings: { logLevel: 'silent', expiryIntervalMs: 0, rateLimitMax: 100_000, outbox: { pollMs: 0 } } });
  mqtt = await startMqttGateway({
    store,
    log: silentLogger,
    env: {},
    config: { MQTT_MODE: 'embedded', MQTT_PORT: 0 },
    pepper: PEPPER,
    signer: Signer.generate(),
    clock: () => clock.now,
    access: { kdf: { iterations: 1000 }, tickMs: 0, logFlushMs: 1 },
  });
  await app.register(accessPlugin, { access: mqtt.access, doorCodes: outboxDoorCodes(db, app.vuoro.outbox, () => clock.now), mqtt: { urls: mqtt.urls, tree: mqtt.tree } });
  await app.ready();
  const k = app.vuoro.keys;
  k.createChannel({ channelId: 'chn_ops', name: 'Facility management' });
  keys.admin = k.createKey({ channelId: 'chn_ops', name: 'device admin', scopes: ['device-admin'] }).secret;
  keys.staff = k.createKey({ channelId: 'chn_ops', name: 'caretaker', scopes: ['staff'], staffId: 'stf_ville' }).secret;
  k.createChannel({ channelId: 'chn_shop', name: 'Web shop' });
  keys.shop = k.createKey({ channelId: 'chn_shop', name: 'shop', scopes: ['book'] }).secret;
});

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await app?.close();
  await mqtt?.close();
  await engine?.close();
  await store?.close();
  db?.close();
  await dir?.remove();
});

async function lockFor(doorId: string): Promise<SimLock> {
  const res = await call('POST', `/v1/access/sites/${SITE}/devices`, keys.admin, { kind: 'lock', name: `Lock of ${doorId}`, doorId });
  expect(res.statusCode).toBe(201);
  const body = res.json<{ device: { deviceId: string }; secret: string }>();
  const lock = await SimLock.connect({ deviceId: body.device.deviceId, secret: body.secret, siteId: SITE, doorId }, { url: mqtt.urls[0] ?? '', tree: mqtt.tree, clock: () => clock.now, trustedKeys: mqtt.trustedKeys });
  devices.push(lock);
  return lock;
}

describe('access control over HTTP', () => {
  it('registers doors and provisions devices with device-admin, showing the secret once', async () => {
    for (const [doorId, spaceId, name] of [
      [DOORS.entrance, SPACES.building, 'Main entrance'],
      [DOORS.hall, SPACES.hall, 'Hall door'],
      [DOORS.sauna, SPACES.sauna, 'Sauna door'],
    ] as const) {
      const res = await call('POST', `/v1/access/sites/${SITE}/doors`, keys.admin, { doorId, spaceId, name });
      expect(res.statusCode).toBe(201);
    }
    expect((await call('POST', `/v1/access/sites/${SITE}/doors`, keys.admin, { doorId: DOORS.hall, spaceId: SPACES.hall, name: 'Again' })).json()).toMatchObject({ status: 409, code: 'ALREADY_EXISTS' });
    expect((await call('POST', `/v1/access/sites/${SITE}/doors`, keys.admin, { spaceId: 'spc_nowhere', name: 'Ghost' })).json()).toMatchObject({ status: 404, code: 'UNKNOWN_SPACE' });
    expect((await call('POST', `/v1/access/sites/${SITE}/doors`, keys.staff, { spaceId: SPACES.hall, name: 'x' })).json()).toMatchObject({ status: 403, code: 'INSUFFICIENT_SCOPE' });

    const res = await app.inject({
      method: 'POST',
      url: `/v1/access/sites/${SITE}/devices`,
      headers: { authorization: `Bearer ${keys.admin}`, 'idempotency-key': 'provision-sauna-lock', 'content-type': 'application/json' },
      payload: JSON.stringify({ kind: 'lock', name: 'Sauna lock', doorId: DOORS.sauna }),
    });
    expect(res.statusCode).toBe(201);
    const body = res.json<{ device: { deviceId: string }; secret: string; mqtt: { publish: string[]; subscribe: string[]; will: string }; trustedKeys: unknown[] }>();
    expect(body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.mqtt.subscribe).toEqual([mqtt.tree.doorCommand(SITE, DOORS.sauna), mqtt.tree.allowList(SITE, DOORS.sauna), mqtt.tree.authResponses(SITE, DOORS.sauna)]);
    expect(body.mqtt.will).toBe(mqtt.tree.doorState(SITE, DOORS.sauna));
    expect(body.trustedKeys).toEqual(mqtt.trustedKeys);
    const replay = await app.inject({
      method: 'POST',
      url: `/v1/access/sites/${SITE}/devices`,
      headers: { authorization: `Bearer ${keys.admin}`, 'idempotency-key': 'provision-sauna-lock', 'content-type': 'application/json' },
      payload: JSON.stringify({ kind: 'lock', name: 'Sauna lock', doorId: DOORS.sauna }),
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<{ secret: string | null; device: { deviceId: string } }>()).toMatchObject({ secret: null, device: { deviceId: body.device.deviceId } });
    const listed = (await call('GET', `/v1/access/sites/${SITE}/devices`, keys.admin)).body;
    expect(listed).toContain(body.device.deviceId);
    expect(listed).not.toContain(body.secret);
    expect(JSON.stringify(await store.readAll({ after: 0 }))).not.toContain(body.secret);
    // The secret works once over MQTT; after a rotation only the new one does.
    const lock = await SimLock.connect({ deviceId: body.device.deviceId, secret: body.secret, siteId: SITE, doorId: DOORS.sauna }, { url: mqtt.urls[0] ?? '', tree: mqtt.tree, trustedKeys: mqtt.trustedKeys, clock: () => clock.now });
    const dropped = new Promise<void>((resolve) => lock.client.once('close', () => resolve()));
    const rotated = await call('POST', `/v1/access/sites/${SITE}/devices/${body.device.deviceId}/rotate-secret`, keys.admin);
    expect(rotated.statusCode).toBe(200);
    await dropped;
    await lock.close();
    await expect(SimLock.connect({ deviceId: body.device.deviceId, secret: body.secret, siteId: SITE, doorId: DOORS.sauna }, { url: mqtt.urls[0] ?? '', tree: mqtt.tree, trustedKeys: mqtt.trustedKeys, mqtt: { reconnectPeriod: 0 } })).rejects.toThrow();
  });

  it("sends the door code of a channel's booking through the outbox, and the code opens the doors on the path", async () => {
    const hallLock = await lockFor(DOORS.hall);
    const start = T0 + 4 * HOUR;
    const booked = await call('POST', '/v1/reservations', keys.shop, { unitId: UNITS.hallA, start: new Date(start).toISOString(), end: new Date(start + 2 * HOUR).toISOString() }, { 'vuoro-customer': 'cus_club' });
    expect(booked.statusCode).toBe(201);
    const reservationId = booked.json<{ reservationId: string }>().reservationId;
    await mqtt.access.sync?.caughtUp((await store.readAll({ after: 0 })).at(-1)?.position ?? 0);
    await mqtt.access.settled();
    const messages = app.vuoro.outbox.list('chn_shop', { limit: 50 });
    const doorCode = messages.find((m) => m.type === 'access.door_code');
    expect(doorCode?.reservationId).toBe(reservationId);
    expect(doorCode?.payload).toMatchObject({ type: 'access.door_code', customerId: 'cus_club', reservationId, doors: [{ doorId: DOORS.entrance, name: 'Main entrance' }, { doorId: DOORS.hall, name: 'Hall door' }] });
    const code = doorCode?.payload.code as string;
    expect(code).toMatch(/^\d{6}$/);
    clock.now = start - 15 * MIN;
    expect(await hallLock.present('pin', code)).toMatchObject({ granted: true, mode: 'online' });
    clock.now = T0;
  });

  it('unlocks, locks and opens doors for staff, recording who and why', async () => {
    const lock = await lockFor(DOORS.entrance);
    expect((await call('POST', `/v1/access/sites/${SITE}/doors/${DOORS.entrance}/unlock`, keys.staff, { durationSeconds: 600 })).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await call('POST', `/v1/access/sites/${SITE}/doors/${DOORS.entrance}/unlock`, keys.admin, { durationSeconds: 600, reason: 'x'.repeat(10) })).statusCode).toBe(403);
    const res = await call('POST', `/v1/access/sites/${SITE}/doors/${DOORS.entrance}/unlock`, keys.staff, { durationSeconds: 600, reason: 'chairs delivered for the concert' });
    expect(res.statusCode).toBe(202);
    const { commandId } = res.json<{ commandId: string }>();
    await waitUntil(() => lock.commandLog.length === 1);
    expect(lock.controller.lockState()).toBe('UNLOCKED');
    expect((await call('POST', `/v1/access/sites/${SITE}/doors/${DOORS.entrance}/lock`, keys.staff, { reason: 'delivery done' })).statusCode).toBe(202);
    await waitUntil(() => lock.commandLog.length === 2);
    expect(lock.controller.lockState()).toBe('LOCKED');
    const commands = (await call('GET', `/v1/access/sites/${SITE}/commands`, keys.staff)).json<{ items: { commandId: string; by: string; reason: string; action: string }[] }>().items;
    expect(commands.find((c) => c.commandId === commandId)).toMatchObject({ by: 'staff:stf_ville', reason: 'chairs delivered for the concert', action: 'unlock' });
    expect((await call('POST', `/v1/access/sites/${SITE}/doors/door_nowhere/open`, keys.staff, { reason: 'let me in' })).json()).toMatchObject({ status: 404, code: 'UNKNOWN_DOOR' });
  });

  it('opens every door in an emergency and locks them again, audited', async () => {
    const started = await call('POST', `/v1/access/sites/${SITE}/emergency-open`, keys.staff, { reason: 'fire alarm in the hall' });
    expect(started.statusCode).toBe(202);
    expect(started.json<{ commandIds: string[] }>().commandIds).toHaveLength(3);
    expect((await call('POST', `/v1/access/sites/${SITE}/emergency-open`, keys.staff, { reason: 'again' })).json()).toMatchObject({ status: 409, code: 'INVALID_STATE' });
    const ended = await call('POST', `/v1/access/sites/${SITE}/emergency-open/end`, keys.staff, { reason: 'fire brigade gave the all clear' });
    expect(ended.statusCode).toBe(202);
    const stream = await store.readStream(`access-${SITE}`);
    expect(stream.filter((e) => e.type.startsWith('EmergencyOpen')).map((e) => [e.type, (e.data as { by: string }).by, (e.data as { reason: string }).reason])).toEqual([
      ['EmergencyOpenStarted', 'staff:stf_ville', 'fire alarm in the hall'],
      ['EmergencyOpenEnded', 'staff:stf_ville', 'fire brigade gave the all clear'],
    ]);
  });

  it('grants a janitor a PIN for every door, shown once', async () => {
    const res = await call('POST', `/v1/access/sites/${SITE}/staff-credentials`, keys.staff, {
      staffId: 'stf_jani',
      role: 'janitor',
      method: 'pin',
      allDoors: true,
      validFrom: new Date(T0).toISOString(),
      validUntil: new Date(T0 + 30 * 24 * HOUR).toISOString(),
    });
    expect(res.statusCode).toBe(201);
    const { pin, credentialId } = res.json<{ pin: string; credentialId: string }>();
    expect(pin).toMatch(/^\d{6}$/);
    await mqtt.access.settled();
    const hall = devices.find((d) => d.doorId === DOORS.hall) as SimLock;
    expect(await hall.present('pin', pin)).toMatchObject({ granted: true, credentialId });
    const revoked = await call('POST', `/v1/access/sites/${SITE}/credentials/${credentialId}/revoke`, keys.staff, { reason: 'contract ended' });
    expect(revoked.statusCode).toBe(204);
    expect(await hall.present('pin', pin)).toMatchObject({ granted: false });
  });

  it('lends a key against a reservation and flags it overdue; a lost key is re-keyed', async () => {
    const key = await call('POST', `/v1/access/sites/${SITE}/keys`, keys.staff, { keyId: 'key_hall_1', label: 'Hall key 1', doorIds: [DOORS.hall] });
    expect(key.statusCode).toBe(201);
    const reservationId = mqtt.access.planner.holdersOf(SITE)[0]?.holderKey.slice(4) ?? '';
    const lent = await call('POST', `/v1/access/sites/${SITE}/keys/key_hall_1/lend`, keys.staff, { reservationId });
    const loan = lent.json<{ status: string; loan: { dueAt: string; overdue: boolean } }>();
    expect(loan).toMatchObject({ status: 'lent', loan: { overdue: false } });
    // Due at the end of the booking (18:00 + 2 h, Helsinki) plus the grace period; shown with the Helsinki offset.
    expect(loan.loan.dueAt).toBe('2027-01-12T00:15:00.000+02:00');
    clock.now = T0 + 7 * HOUR;
    await mqtt.access.tick();
    const after = (await call('GET', `/v1/access/sites/${SITE}/keys`, keys.staff)).json<{ items: { keyId: string; loan: { overdue: boolean } | null }[] }>();
    expect(after.items.find((k) => k.keyId === 'key_hall_1')?.loan?.overdue).toBe(true);
    const lost = await call('POST', `/v1/access/sites/${SITE}/keys/key_hall_1/lost`, keys.staff, { reason: 'customer lost it', replacement: { keyId: 'key_hall_2', label: 'Hall key 2' } });
    expect(lost.json()).toMatchObject({ status: 'lost' });
    const doors = (await call('GET', `/v1/access/sites/${SITE}/doors`, keys.admin)).json<{ items: { doorId: string; keyIds: string[]; needsRekey: boolean }[] }>();
    expect(doors.items.find((d) => d.doorId === DOORS.hall)).toMatchObject({ keyIds: ['key_hall_2'], needsRekey: false });
    clock.now = T0;
  });

  it('shows the access log and status', async () => {
    await mqtt.access.settled();
    const log = (await call('GET', `/v1/access/sites/${SITE}/log?limit=1000`, keys.staff)).json<{ items: { type: string }[] }>();
    expect(log.items.map((e) => e.type)).toEqual(expect.arrayContaining(['AccessDecided', 'DoorEventReported', 'DoorStateReported', 'DeviceConnectivityChanged']));
    const status = (await call('GET', '/v1/access/status', keys.admin)).json<{ doors: number; devicesOnline: number }>();
    expect(status).toMatchObject({ doors: 3 });
    expect(status.devicesOnline).toBeGreaterThanOrEqual(2);
  });
});
