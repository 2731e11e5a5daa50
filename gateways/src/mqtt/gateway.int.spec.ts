/**
 * The MQTT gateway on the embedded aedes broker, with real mqtt.js devices
 * (the load test's simulator running the lock library), the booking engine
 * and access control behind it. Time is the harness's clock, moved by the
 * tests; nothing here waits on a timer of its own.
 */
import { execFileSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import type { AllowList, FlattenedJws } from '@vuoro/access-control';
import { DOORS, HOUR, MIN, SITE, SPACES, T0 } from '@vuoro/access-control/testing/fixtures.js';
import { UNITS } from '@vuoro/access-control/testing/harness.js';
import { tempDir } from '@vuoro/engine/testing/tmp.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { IndexedRetainedPersistence } from './persistence.js';
import { startTestGateway, type TestGateway } from './testing.js';

// Later the same day: well within the allow-lists' validity (48 h), so no refresh is needed on the way.
const start = T0 + 6 * HOUR;
const end = start + 2 * HOUR;
const LEAD = 15 * MIN;
const GRACE = 15 * MIN;

let g: TestGateway | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

async function bookedSauna(): Promise<{ g: TestGateway; code: string; credentialId: string }> {
  g = await startTestGateway({ now: T0 });
  await g.h.registerDoors();
  await g.h.book('res_1', UNITS.sauna, start, end);
  await g.h.settle();
  const c = g.h.access.credentialOf(SITE, 'res:res_1');
  const code = g.h.mailer.codeFor(c?.credentialId ?? '');
  if (c === undefined || code === undefined) throw new Error('no credential issued');
  return { g, code, credentialId: c.credentialId };
}

async function logOf(t: TestGateway, type: string): Promise<Record<string, unknown>[]> {
  await t.h.settle();
  return (await t.h.access.accessLog(SITE, { limit: 10_000 })).filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);
}

describe('MQTT gateway, embedded broker', () => {
  it("opens the door with a booked customer's PIN in its window and not a minute outside it (lead and grace included)", async () => {
    const { g, code, credentialId } = await bookedSauna();
    const lock = await g.lock(DOORS.sauna);
    const at = async (t: number) => {
      g.h.clock.now = t;
      return lock.present('pin', code);
    };
    expect(await at(start - LEAD - MIN)).toMatchObject({ granted: false, reason: 'not_yet_valid', mode: 'online' });
    expect(await at(start - LEAD)).toMatchObject({ granted: true, reason: 'granted', mode: 'online', credentialId, until: end + GRACE });
    expect(await at(start + HOUR)).toMatchObject({ granted: true, mode: 'online' });
    expect(await at(end + GRACE - 1000)).toMatchObject({ granted: true, mode: 'online' });
    expect(await at(end + GRACE)).toMatchObject({ granted: false, reason: 'expired', mode: 'online' });
    expect(await at(end + GRACE + MIN)).toMatchObject({ granted: false, reason: 'expired', mode: 'online' });
    // The hall door knows nothing of a sauna code.
    const hall = await g.lock(DOORS.hall);
    g.h.clock.now = start;
    expect(await hall.present('pin', code)).toMatchObject({ granted: false, reason: 'unknown_credential' });
    const decisions = await logOf(g, 'AccessDecided');
    expect(decisions.map((d) => [d.doorId, d.granted, d.reason])).toEqual([
      [DOORS.sauna, false, 'not_yet_valid'],
      [DOORS.sauna, true, 'granted'],
      [DOORS.sauna, true, 'granted'],
      [DOORS.sauna, true, 'granted'],
      [DOORS.sauna, false, 'expired'],
      [DOORS.sauna, false, 'expired'],
      [DOORS.hall, false, 'unknown_credential'],
    ]);
  });

  it('revokes a cancelled reservation at once: on line and in the retained allow-list', async () => {
    const { g, code, credentialId } = await bookedSauna();
    const lock = await g.lock(DOORS.sauna);
    await lock.waitForAllowList(1);
    const before = lock.controller.allowList;
    expect(before?.entries.map((e) => e.id)).toEqual([credentialId]);
    await g.h.cancel('res_1');
    await g.h.settle();
    await lock.waitForAllowList((before?.version ?? 0) + 1);
    expect(lock.controller.allowList?.entries).toEqual([]);
    g.h.clock.now = start;
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, reason: 'unknown_credential', mode: 'online' });
    // A lock that connects now gets the current (empty) list from the retained message.
    const late = await g.lock(DOORS.sauna);
    await late.waitForAllowList(lock.controller.allowListVersion);
    expect(late.controller.allowList?.entries).toEqual([]);
  });

  it('a lock cut off from the server decides from its allow-list, refuses a tampered one, and its last will marks it offline', async () => {
    const { g, code, credentialId } = await bookedSauna();
    const lock = await g.lock(DOORS.sauna);
    await lock.waitForAllowList(1);
    await waitUntil(() => g?.h.access.doorStatus(SITE, DOORS.sauna)?.online === true);
    await lock.cutOff();
    await waitUntil(() => g?.h.access.doorStatus(SITE, DOORS.sauna)?.online === false);
    g.h.clock.now = start - LEAD - MIN;
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, reason: 'not_yet_valid', mode: 'offline' });
    g.h.clock.now = start;
    expect(await lock.present('pin', code)).toMatchObject({ granted: true, mode: 'offline', credentialId });
    expect(await lock.present('pin', '620471')).toMatchObject({ granted: false, reason: 'unknown_credential', mode: 'offline' });
    g.h.clock.now = end + GRACE;
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, reason: 'expired', mode: 'offline' });
    // Someone on the wire widens the window of the entry: the signature no longer holds.
    const genuine = g.mqtt.access.state(SITE)?.doors.get(DOORS.sauna)?.allowList;
    expect(genuine?.version).toBe(lock.controller.allowListVersion);
    const doc = structuredClone(lock.controller.allowList) as AllowList;
    doc.version += 1;
    for (const e of doc.entries) e.w = [[0, 99_999_999_999_999]];
    const forged: FlattenedJws = { protected: Buffer.from('{"alg":"EdDSA","kid":"x","typ":"vuoro-allowlist+json"}').toString('base64url'), payload: Buffer.from(JSON.stringify(doc)).toString('base64url'), signature: 'AAAA' };
    expect(lock.controller.acceptAllowList(forged)).toMatchObject({ ok: false });
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, mode: 'offline' });
    const states = await logOf(g, 'DoorStateReported');
    expect(states.at(-1)).toMatchObject({ doorId: DOORS.sauna, online: false, state: 'UNKNOWN' });
    // The broker keeps the will as the door's retained state: whoever subscribes next sees the lock offline.
    const retained: unknown[] = [];
    const persistence = (g.mqtt.broker?.aedes as unknown as { persistence: IndexedRetainedPersistence }).persistence;
    for await (const p of persistence.createRetainedStream(g.tree.doorState(SITE, DOORS.sauna))) retained.push(JSON.parse((p as { payload: Buffer }).payload.toString()));
    expect(retained).toEqual([{ state: 'UNKNOWN', online: false }]);
    const alerts = await logOf(g, 'AccessAlertRaised');
    expect(alerts.map((a) => a.alert)).toContain('device_offline');
  });

  it('reports offline decisions when the lock is back', async () => {
    const { g, code, credentialId } = await bookedSauna();
    const lock = await g.lock(DOORS.sauna);
    await lock.waitForAllowList(1);
    g.h.clock.now = start;
    await lock.cutOff();
    expect(await lock.present('pin', code)).toMatchObject({ granted: true, mode: 'offline' });
    expect(await lock.present('pin', '620471')).toMatchObject({ granted: false, mode: 'offline' });
    await lock.reconnect();
    await waitUntil(async () => (await logOf(g as TestGateway, 'AccessDecided')).filter((d) => d.mode === 'offline').length === 2);
    const offline = (await logOf(g, 'AccessDecided')).filter((d) => d.mode === 'offline');
    expect(offline).toEqual([
      expect.objectContaining({ doorId: DOORS.sauna, granted: true, credentialId, mode: 'offline', at: new Date(start).toISOString() }),
      expect.objectContaining({ doorId: DOORS.sauna, granted: false, reason: 'unknown_credential', mode: 'offline' }),
    ]);
    await waitUntil(() => g?.h.access.doorStatus(SITE, DOORS.sauna)?.online === true);
  });

  it('confines each device to its own topics', async () => {
    g = await startTestGateway({ now: T0 });
    await g.h.registerDoors();
    await g.h.settle();
    const hall = await g.lock(DOORS.hall);
    const sauna = await g.lock(DOORS.sauna);
    await sauna.waitForAllowList(1);
    // Reading another door's allow-list: refused in the SUBACK (granted QoS 128), nothing arrives.
    const received: string[] = [];
    hall.client.on('message', (topic) => received.push(topic));
    await expect(hall.client.subscribeAsync(g.tree.allowList(SITE, DOORS.sauna), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(hall.client.subscribeAsync('#', { qos: 0 })).rejects.toThrow(/Subscribe error/);
    await expect(hall.client.subscribeAsync(`${g.tree.prefix}/sites/+/doors/+/allowlist`, { qos: 0 })).rejects.toThrow(/Subscribe error/);
    await g.h.access.doorCommand(SITE, DOORS.sauna, { action: 'open', reason: 'let the plumber in' }, 'staff:stf_ville');
    await waitUntil(() => sauna.commandLog.length === 1);
    await waitUntil(() => g?.h.access.doorStatus(SITE, DOORS.sauna)?.state === 'UNLOCKED');
    expect(received.filter((t) => !t.includes(`/doors/${DOORS.hall}/`))).toEqual([]);
    // Writing another door's state: the connection is closed, and the door's state is not what it wrote.
    const closed = new Promise<void>((resolve) => hall.client.once('close', () => resolve()));
    hall.client.publish(g.tree.doorState(SITE, DOORS.sauna), JSON.stringify({ state: 'JAMMED', online: true }), { qos: 0, retain: true });
    await closed;
    expect(g.h.access.doorStatus(SITE, DOORS.sauna)?.state).toBe('UNLOCKED');
    // A lock cannot send commands, not even to its own door.
    const cmdClosed = new Promise<void>((resolve) => sauna.client.once('close', () => resolve()));
    sauna.client.publish(g.tree.doorCommand(SITE, DOORS.sauna), '{"action":"unlock"}', { qos: 0 });
    await cmdClosed;
    // A sensor cannot pose as a lock.
    const sensor = await g.sensor(SPACES.hall);
    const sensorClosed = new Promise<void>((resolve) => sensor.client.once('close', () => resolve()));
    sensor.client.publish(g.tree.authRequest(SITE, DOORS.hall), JSON.stringify({ requestId: 'req_sensor1', method: 'pin', pin: '123456' }), { qos: 0 });
    await sensorClosed;
    const stats = g.mqtt.deviceAuth?.stats;
    expect(stats).toMatchObject({ refusedSubscriptions: 3, refusedPublishes: 3 });
    expect(g.mqtt.log.count('publish_refused')).toBe(3);
  });

  it('refuses connections with a wrong secret, someone else’s client id, or a will on another door', async () => {
    g = await startTestGateway({ now: T0 });
    await g.h.registerDoors();
    const creds = await g.provision({ kind: 'lock', doorId: DOORS.hall });
    const attempt = (options: mqtt.IClientOptions) =>
      new Promise<string>((resolve) => {
        const c = mqtt.connect(g?.url ?? '', { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000, ...options });
        c.once('connect', () => {
          c.end(true);
          resolve('connected');
        });
        c.once('error', (e) => {
          c.end(true);
          resolve(e.message);
        });
        c.once('close', () => resolve('closed without an answer'));
      });
    expect(await attempt({ clientId: creds.deviceId, username: creds.deviceId, password: 'wrong' })).toMatch(/Bad username or password/);
    expect(await attempt({ clientId: creds.deviceId })).toMatch(/Bad username or password/);
    expect(await attempt({ clientId: 'someone_else', username: creds.deviceId, password: creds.secret })).toMatch(/Not authorized/);
    expect(
      await attempt({ clientId: creds.deviceId, username: creds.deviceId, password: creds.secret, will: { topic: g.tree.doorState(SITE, DOORS.sauna), payload: Buffer.from('x'), qos: 0, retain: true } }),
    ).toMatch(/Not authorized/);
    expect(await attempt({ clientId: creds.deviceId, username: creds.deviceId, password: creds.secret })).toBe('connected');
    // A decommissioned device is cut off and cannot come back.
    const lock = await g.lock(DOORS.sauna);
    const gone = new Promise<void>((resolve) => lock.client.once('close', () => resolve()));
    const r = await g.h.access.decommissionDevice(SITE, lock.credentials.deviceId, 'stolen from the wall', 'staff:stf_admin');
    expect(r.ok).toBe(true);
    await gone;
    expect(await attempt({ clientId: lock.credentials.deviceId, username: lock.credentials.deviceId, password: lock.credentials.secret })).toMatch(/Bad username or password/);
  });

  it('delivers remote and emergency unlocks to the locks once, and audits who, why and what the lock did', async () => {
    g = await startTestGateway({ now: T0 });
    await g.h.registerDoors();
    const hall = await g.lock(DOORS.hall);
    const sauna = await g.lock(DOORS.sauna);
    const entrance = await g.lock(DOORS.entrance);
    const r = await g.h.access.doorCommand(SITE, DOORS.hall, { action: 'unlock', durationSeconds: 900, reason: 'volleyball nets delivered' }, 'staff:stf_ville');
    expect(r.ok).toBe(true);
    await waitUntil(() => hall.commandLog.length === 1);
    expect(hall.commandLog[0]).toMatchObject({ ok: true, action: 'unlock' });
    expect(hall.controller.lockState()).toBe('UNLOCKED');
    // The broker redelivers the same command: the lock does nothing and says so.
    const issued = (await g.h.store.readStream(`access-${SITE}`)).filter((e) => e.type === 'DoorCommandIssued');
    const commandId = (issued[0]?.data as { commandId: string }).commandId;
    await waitUntil(async () => (await logOf(g as TestGateway, 'DoorEventReported')).some((e) => e.event === 'command_done' && e.commandId === commandId));

    const emergency = await g.h.access.startEmergencyOpen(SITE, { reason: 'fire alarm, evacuate' }, 'staff:stf_ville');
    expect(emergency.ok).toBe(true);
    await waitUntil(() => sauna.commandLog.length === 1 && entrance.commandLog.length === 1 && hall.commandLog.length === 2);
    expect(sauna.controller.lockState()).toBe('UNLOCKED');
    await sauna.waitForAllowList(2);
    expect(sauna.controller.allowList?.emergency).not.toBeNull();
    const state = await g.h.store.readStream(`access-${SITE}`);
    const audit = state.filter((e) => e.type === 'DoorCommandIssued' || e.type === 'EmergencyOpenStarted').map((e) => e.data as { by: string; reason: string; emergency?: boolean; action?: string });
    expect(audit.map((a) => [a.by, a.reason])).toEqual([
      ['staff:stf_ville', 'volleyball nets delivered'],
      ['staff:stf_ville', 'fire alarm, evacuate'],
      ['staff:stf_ville', 'fire alarm, evacuate'],
      ['staff:stf_ville', 'fire alarm, evacuate'],
      ['staff:stf_ville', 'fire alarm, evacuate'],
    ]);
    // A replayed command (someone re-sends a captured one) is refused by the lock and raises an alert.
    const captured = (g.mqtt.access as unknown as { options: { signer: { sign(t: string, p: unknown): FlattenedJws } } }).options.signer.sign('vuoro-door-command+json', {
      v: 1,
      commandId,
      siteId: SITE,
      doorId: DOORS.hall,
      action: 'unlock',
      durationSeconds: 900,
      emergency: false,
      issuedAt: g.h.clock.now,
      expiresAt: g.h.clock.now + 30_000,
    });
    await g.mqtt.gateway?.transport.publish(g.tree.doorCommand(SITE, DOORS.hall), JSON.stringify(captured), { qos: 1, retain: false });
    await waitUntil(() => hall.commandLog.length === 3);
    expect(hall.commandLog[2]).toMatchObject({ ok: false, reason: 'replayed', commandId });
    await waitUntil(async () => (await logOf(g as TestGateway, 'AccessAlertRaised')).some((a) => a.alert === 'command_rejected'));
  });

  it('raises an alert for a key taken from the cabinet and not returned in time', async () => {
    const { g, code, credentialId } = await bookedSauna();
    await g.h.access.registerKey(SITE, { keyId: 'key_sauna_1', label: 'Sauna key 1', doorIds: [DOORS.sauna], cabinetId: 'cab_lobby' }, 'staff:stf_desk');
    const loan = await g.h.access.lendKey(SITE, 'key_sauna_1', { reservationId: 'res_1' }, 'staff:stf_desk');
    expect(loan.ok).toBe(true);
    const cabinet = await g.cabinet('cab_lobby');
    g.h.clock.now = start;
    await cabinet.keyTaken('key_sauna_1', { method: 'pin', pin: code });
    await waitUntil(() => g?.h.access.state(SITE)?.keys.get('key_sauna_1')?.takenBy === credentialId);
    g.h.clock.now = end + GRACE + MIN;
    await g.h.access.tick();
    const alerts = (await g.h.store.readStream(`access-${SITE}`)).filter((e) => e.type === 'AccessAlertRaised').map((e) => e.data as { alert: string; keyId: string });
    expect(alerts).toEqual([expect.objectContaining({ alert: 'key_overdue', keyId: 'key_sauna_1' })]);
    // Returned: the next check finds nothing more to say.
    await cabinet.keyReturned('key_sauna_1');
    await waitUntil(() => g?.h.access.state(SITE)?.keys.get('key_sauna_1')?.status === 'available');
  });

  it('turns occupancy readings (zigbee2mqtt style) into occupied intervals', async () => {
    g = await startTestGateway({ now: T0 });
    const sensor = await g.sensor(SPACES.hall);
    const read = async (minute: number, reading: Record<string, unknown>) => {
      if (g === undefined) return;
      g.h.clock.now = T0 + minute * MIN;
      await sensor.report(reading);
    };
    await read(0, { occupancy: true });
    await read(3, { occupancy: false });
    await read(4, { occupancy: true, people_count: 9 });
    await read(20, { occupancy: true });
    await read(35, { presence: true });
    await read(50, { presence: true });
    await read(55, { occupancy: false, people_count: 0 });
    await read(56, { nonsense: 1 });
    g.h.clock.now = T0 + 61 * MIN;
    await waitUntil(() => (g?.mqtt.gateway?.stats.received ?? 0) >= 9);
    await g.h.access.tick();
    const intervals = await logOf(g, 'SpaceOccupancyRecorded');
    expect(intervals).toEqual([
      { siteId: SITE, spaceId: SPACES.hall, start: new Date(T0).toISOString(), end: new Date(T0 + 55 * MIN).toISOString(), peakPeopleCount: 9, sensorIds: [sensor.credentials.deviceId] },
    ]);
  });

  it('keeps serving everyone else through hostile payloads of every kind', async () => {
    const { g, code } = await bookedSauna();
    const lock = await g.lock(DOORS.sauna);
    const victim = await g.lock(DOORS.hall);
    g.h.clock.now = start;
    const ok = async () => expect(await lock.present('pin', code)).toMatchObject({ granted: true, mode: 'online' });
    await ok();
    // Not JSON, wrong types, missing fields, a path in the request id: refused, answered when the id is readable.
    expect(await victim.rawRequest('{"requestId":"req_badtyp","method":"pin","pin":123456}', 'req_badtyp')).toMatchObject({ granted: false, reason: 'invalid_request' });
    victim.client.publish(g.tree.authRequest(SITE, DOORS.hall), 'not json {{{', { qos: 0 });
    victim.client.publish(g.tree.authRequest(SITE, DOORS.hall), '[]', { qos: 0 });
    victim.client.publish(g.tree.doorEvents(SITE, DOORS.hall), '{"type":"teleported"}', { qos: 0 });
    victim.client.publish(g.tree.doorState(SITE, DOORS.hall), '{"state":42}', { qos: 0, retain: true });
    await ok();
    // A clock far off: refused with the server's time; a replayed request id: the first answer again.
    expect(await lock.present('pin', code, { at: start - HOUR })).toMatchObject({ granted: false, reason: 'clock_skew' });
    const first = await lock.present('pin', code, { requestId: 'req_replay1', at: start });
    g.h.clock.now = start + MIN;
    expect(await lock.present('pin', code, { requestId: 'req_replay1', at: start })).toEqual(first);
    // Replayed later, after the answer is forgotten: the device time gives it away.
    g.h.clock.now = end + HOUR;
    expect(await lock.present('pin', code, { requestId: 'req_replay1', at: start })).toMatchObject({ granted: false, reason: 'clock_skew' });
    g.h.clock.now = start;
    // An expired credential is just a denial.
    g.h.clock.now = end + GRACE;
    expect(await lock.present('pin', code)).toMatchObject({ granted: false, reason: 'expired' });
    g.h.clock.now = start;
    // A payload over the device limit: that device is disconnected, nobody else.
    const closed = new Promise<void>((resolve) => victim.client.once('close', () => resolve()));
    victim.client.publish(g.tree.doorEvents(SITE, DOORS.hall), JSON.stringify({ type: 'opened', junk: 'x'.repeat(8000) }), { qos: 0 });
    await closed;
    await ok();
    // Raw garbage bytes and a packet announcing 200 MB on a bare socket: cut by the broker.
    for (const bytes of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01])]) {
      await new Promise<void>((resolve) => {
        const s = tcpConnect(Number(new URL(g?.url ?? '').port), '127.0.0.1', () => s.write(bytes));
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    }
    expect(g.mqtt.broker?.guardRefusals).toBeGreaterThanOrEqual(2);
    await ok();
    await waitUntil(() => (g?.mqtt.gateway?.stats.rejected ?? 0) >= 5);
    const rejected = [...g.h.access.stats.rejected.keys()].sort();
    expect(rejected).toEqual(expect.arrayContaining(['invalid_payload', 'not_json']));
  });

  it('serves devices over TLS with the configured certificate', async () => {
    const dir = await tempDir('vuoro-tls-');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', dir.file('key.pem'), '-out', dir.file('cert.pem')], { stdio: 'ignore' });
      g = await startTestGateway({ now: T0, config: { MQTT_TLS_PORT: 0, MQTT_TLS_CERT_FILE: dir.file('cert.pem'), MQTT_TLS_KEY_FILE: dir.file('key.pem') } });
      await g.h.registerDoors();
      const tlsUrl = g.mqtt.urls.find((u) => u.startsWith('mqtts://'));
      expect(tlsUrl).toBeDefined();
      const { readFileSync } = await import('node:fs');
      const lock = await g.lock(DOORS.hall, { url: tlsUrl ?? '', mqtt: { ca: readFileSync(dir.file('cert.pem')), rejectUnauthorized: true } });
      await lock.waitForAllowList(1);
      expect(lock.controller.allowList?.doorId).toBe(DOORS.hall);
      g.h.clock.now = T0 + MIN;
      expect(await lock.present('card', '04A1B2C3D4E5F6')).toMatchObject({ granted: false, reason: 'unknown_credential', mode: 'online' });
      // A client that does not trust the certificate gets nowhere.
      const untrusting = await new Promise<string>((resolve) => {
        const c = mqtt.connect(tlsUrl ?? '', { protocolVersion: 4, reconnectPeriod: 0, rejectUnauthorized: true });
        c.once('connect', () => resolve('connected'));
        c.once('error', (e) => resolve(e.message));
        c.once('close', () => resolve('closed'));
      });
      expect(untrusting).not.toBe('connected');
    } finally {
      await dir.remove();
    }
  });
});
