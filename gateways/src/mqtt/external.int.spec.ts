/**
 * External-broker mode: the gateway is a client of Mosquitto (the one on
 * 127.0.0.1:1883, or, if that is down, a private `mosquitto` started on a free
 * port), under a topic prefix unique to this run, with the same devices.
 * Device ACLs are the broker's job here (issue 8 writes its config), so these
 * tests cover the gateway's side: decisions, revocation, offline fallback,
 * last will, occupancy and hostile input. Retained messages this run left on
 * the broker are cleared afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { DOORS, HOUR, MIN, SITE, SPACES, T0 } from '@vuoro/access-control/testing/fixtures.js';
import { UNITS } from '@vuoro/access-control/testing/harness.js';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { sleep, waitUntil } from '@vuoro/engine/testing/wait.js';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testing.js';
import { freePort } from '@vuoro/engine/testing/ports.js';

const start = T0 + 6 * HOUR;
const end = start + 2 * HOUR;
const LEAD = 15 * MIN;
const GRACE = 15 * MIN;

// MQTT_TEST_URL picks another broker; an unreachable one makes the suite start its own.
let url = process.env.MQTT_TEST_URL ?? 'mqtt://127.0.0.1:1883';
let ownBroker: ChildProcess | undefined;
let dir: TempDir | undefined;
const prefixes: string[] = [];

const reachable = (u: string): Promise<boolean> =>
  new Promise((resolve) => {
    const c = mqtt.connect(u, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    c.once('connect', () => {
      c.end(true);
      resolve(true);
    });
    c.once('error', () => resolve(false));
    c.once('close', () => resolve(false));
  });


beforeAll(async () => {
  if (await reachable(url)) return;
  // Mosquitto on 1883 is down: run our own rather than skip.
  dir = await tempDir('vuoro-mosquitto-');
  const port = await freePort();
  writeFileSync(dir.file('mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  ownBroker = spawn('mosquitto', ['-c', dir.file('mosquitto.conf')], { stdio: 'ignore' });
  url = `mqtt://127.0.0.1:${port}`;
  await waitUntil(() => reachable(url), 50);
});

afterAll(async () => {
  // Clear every retained message this run left (allow-lists, door states, device statuses).
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  const retained = new Set<string>();
  c.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) retained.add(topic);
  });
  for (const p of prefixes) await c.subscribeAsync(`${p}/#`);
  await sleep(300);
  for (const topic of retained) await c.publishAsync(topic, '', { retain: true, qos: 1 });
  await c.endAsync();
  if (ownBroker !== undefined) {
    ownBroker.kill('SIGTERM');
    await new Promise((resolve) => ownBroker?.once('exit', resolve));
  }
  await dir?.remove();
});

let g: TestGateway | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

async function external(): Promise<TestGateway> {
  const prefix = `test-${randomUUID().slice(0, 8)}/vuoro/v1`;
  prefixes.push(prefix);
  g = await startTestGateway({ now: T0, config: { MQTT_MODE: 'external', MQTT_URL: url, MQTT_TOPIC_PREFIX: prefix } });
  await g.h.registerDoors();
  return g;
}

async function booked(t: TestGateway): Promise<{ code: string; credentialId: string }> {
  await t.h.book('res_1', UNITS.sauna, start, end);
  await t.h.settle();
  const c = t.h.access.credentialOf(SITE, 'res:res_1');
  const code = t.h.mailer.codeFor(c?.credentialId ?? '');
  if (c === undefined || code === undefined) throw new Error('no credential issued');
  return { code, credentialId: c.credentialId };
}

describe('MQTT gateway as a client of Mosquitto', () => {
  it("opens the door with a booked customer's PIN in its window and not a minute outside it", async () => {
    const t = await external();
    const { code, credentialId } = await booked(t);
    const lock = await t.lock(DOORS.sauna);
    const at = async (time: number) => {
      t.h.clock.now = time;
      return lock.present('pin', code);
    };
    expect(await at(start - LEAD - MIN)).toMatchObject({ granted: false, reason: 'not_yet_valid', mode: 'online' });
    expect(await at(start - LEAD)).toMatchObject({ granted: true, mode: 'online', credentialId });
    expect(await at(end + GRACE - 1000)).toMatchObject({ granted: true, mode: 'online' });
    expect(await at(end + GRACE)).toMatchObject({ granted: false, reason: 'expired', mode: 'online' });
  });

  it('revokes a cancelled reservation on line and in the retained allow-list', async () => {
    const t = await external();
    const { code, credentialId } = await booked(t);
    const lock = await t.lock(DOORS.sauna);
    await waitUntil(() => lock.controller.allowList?.entries.some((e) => e.id === credentialId) === true);
    const version = lock.controller.allowListVersion;
    await t.h.cancel('res_1');
    await t.h.settle();
    await lock.waitForAllowList(version + 1);
    expect(lock.controller.allowList?.entries).toEqual([]);
    t.h.clock.now = start;
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, reason: 'unknown_credential', mode: 'online' });
  });

  it('a lock cut off decides from its allow-list; its last will, via Mosquitto, marks the door offline', async () => {
    const t = await external();
    const { code, credentialId } = await booked(t);
    const lock = await t.lock(DOORS.sauna);
    await waitUntil(() => lock.controller.allowList?.entries.some((e) => e.id === credentialId) === true);
    await waitUntil(() => t.h.access.doorStatus(SITE, DOORS.sauna)?.online === true);
    await lock.cutOff();
    await waitUntil(() => t.h.access.doorStatus(SITE, DOORS.sauna)?.online === false);
    t.h.clock.now = start;
    expect(await lock.present('pin', code)).toMatchObject({ granted: true, mode: 'offline', credentialId });
    t.h.clock.now = end + GRACE;
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, reason: 'expired', mode: 'offline' });
  });

  it('turns occupancy readings into intervals', async () => {
    const t = await external();
    const sensor = await t.sensor(SPACES.hall);
    for (const [minute, reading] of [
      [0, { occupancy: true }],
      [10, { people_count: 4 }],
      [20, { presence: true }],
      [30, { occupancy: false, people_count: 0 }],
    ] as const) {
      t.h.clock.now = T0 + minute * MIN;
      // The gateway hears Mosquitto's copy asynchronously: let it take each reading before time moves on.
      const before = t.mqtt.gateway?.stats.received ?? 0;
      await sensor.report(reading);
      await waitUntil(() => (t.mqtt.gateway?.stats.received ?? 0) > before);
    }
    t.h.clock.now = T0 + 40 * MIN;
    await t.h.access.tick();
    await waitUntil(async () => (await t.h.access.accessLog(SITE)).some((e) => e.type === 'SpaceOccupancyRecorded'));
    const interval = (await t.h.access.accessLog(SITE)).find((e) => e.type === 'SpaceOccupancyRecorded')?.data;
    expect(interval).toMatchObject({ spaceId: SPACES.hall, start: new Date(T0).toISOString(), end: new Date(T0 + 30 * MIN).toISOString(), peakPeopleCount: 4 });
  });

  it('keeps answering through hostile payloads', async () => {
    const t = await external();
    const { code } = await booked(t);
    const lock = await t.lock(DOORS.sauna);
    t.h.clock.now = start;
    const raw = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
    const req = t.tree.authRequest(SITE, DOORS.sauna);
    await raw.publishAsync(req, 'not json', { qos: 1 });
    await raw.publishAsync(req, JSON.stringify({ requestId: 'req_hostile', method: 'pin', pin: ['1'] }), { qos: 1 });
    await raw.publishAsync(req, JSON.stringify({ requestId: 'req_huge01', method: 'pin', pin: '123456', pad: 'x'.repeat(100_000) }), { qos: 1 });
    await raw.publishAsync(`${t.tree.prefix}/sites/${SITE}/doors/${DOORS.sauna}/auth/req/extra`, '{}', { qos: 1 });
    await raw.publishAsync(t.tree.doorEvents(SITE, DOORS.sauna), '{"type":"opened"}', { qos: 1, retain: true });
    await raw.publishAsync(t.tree.occupancy(SITE, 'spc_nowhere'), '{"occupancy":true}', { qos: 1 });
    // (A retained event reaches a gateway already subscribed as a plain message, MQTT-3.3.1-9; a gateway that subscribes later gets it flagged retained and refuses it.)
    await waitUntil(() => (t.mqtt.gateway?.stats.rejected ?? 0) >= 4);
    expect(await lock.present('pin', code)).toMatchObject({ granted: true, mode: 'online' });
    const counts = [...t.h.access.stats.rejected.entries()];
    expect(counts).toEqual(expect.arrayContaining([['not_json', 1], ['invalid_payload', 1], ['too_large', 1], ['unknown_space', 1]]));
    await raw.endAsync();
  });
});
