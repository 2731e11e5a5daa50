/**
 * infra/mosquitto/vuoro.conf with the files the export writes, on Debian's
 * real Mosquitto (a private one on a free loopback port): the gateway works
 * through it as MQTT_USERNAME, each device reaches its own topics and no
 * other device's, wrong credentials are refused, and a decommissioned
 * device is cut off after the next export and reload. Mosquitto missing is a
 * failure, not a skip (CI installs it: `.ci/run`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { DOORS, SITE, T0 } from '@vuoro/access-control/testing/fixtures.js';
import { SqliteEventStore } from '@vuoro/engine';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { sleep, waitUntil } from '@vuoro/engine/testing/wait.js';
import { SimLock } from '@vuoro/loadtest/device-simulator.js';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testing.js';
import { freePort } from '@vuoro/engine/testing/ports.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'gateways/src/mqtt/mosquitto-export-cli.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const GATEWAY = { user: 'vuoro-gateway', password: 'correct horse battery staple' };

const mosquittoBinary = (): string => {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('which', ['mosquitto'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('mosquitto is not installed: `apt-get install mosquitto` (Debian, 2.x). This test needs the real broker and does not skip.');
  }
};


let dir: TempDir;
let broker: ChildProcess;
let url: string;
let g: TestGateway;
const devices: { deviceId: string; secret: string }[] = [];
let lockA: { deviceId: string; secret: string };
let lockB: { deviceId: string; secret: string };
let sensor: { deviceId: string; secret: string };
const clients: MqttClient[] = [];

/** Runs the export CLI the way an operator does (environment as in vuoro.env). */
const exportFiles = (secrets?: string): { missing: string[]; hashed: number; kept: number } => {
  const args = [CLI, '--out', dir.file('mosquitto')];
  if (secrets !== undefined) {
    writeFileSync(dir.file('secrets.txt'), secrets);
    args.push('--secrets', dir.file('secrets.txt'));
  }
  const out = execFileSync(TSX, args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dir.path,
      STORE: 'sqlite',
      MQTT_USERNAME: GATEWAY.user,
      MQTT_PASSWORD: GATEWAY.password,
      MQTT_TOPIC_PREFIX: 'vuoro/v1',
      ACCESS_PEPPER_FILE: dir.file('pepper'),
    },
  });
  return JSON.parse(out) as { missing: string[]; hashed: number; kept: number };
};

/** SIGHUP: Mosquitto re-reads the password and ACL files; resolves once `probe` holds. */
const reload = async (probe: () => Promise<boolean>): Promise<void> => {
  broker.kill('SIGHUP');
  await waitUntil(probe, 50);
};

const connect = (username: string, password: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> =>
  mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, username, password, clientId: username, ...extra }).then((c) => {
    clients.push(c);
    return c;
  });

const refusal = async (username: string | undefined, password: string | undefined): Promise<number | undefined> => {
  try {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) });
    await c.endAsync();
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code;
  }
};

let brokerFailure: Error | undefined;
const canConnect = async (user: string, password: string): Promise<boolean> => {
  if (brokerFailure !== undefined) throw brokerFailure;
  return (await refusal(user, password)) === undefined;
};

beforeAll(async () => {
  const binary = mosquittoBinary();
  dir = await tempDir('vuoro-mosquitto-export-');
  // The pepper the test harness uses, where the CLI reads it, so given secrets are checked against the registry.
  const { PEPPER } = await import('@vuoro/access-control/testing/fixtures.js');
  writeFileSync(dir.file('pepper'), `${PEPPER.toString('base64url')}\n`);
  // The real store file the export reads (DATA_DIR/vuoro.sqlite), shared with the gateway under test.
  const store = await SqliteEventStore.open({ file: dir.file('vuoro.sqlite') });
  exportFiles(); // the gateway's own user first: it must log in before any device exists

  const port = await freePort();
  const conf = readFileSync(join(ROOT, 'infra/mosquitto/vuoro.conf'), 'utf8')
    .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${port} 127.0.0.1`)
    .replace(/^password_file .*$/m, `password_file ${dir.file('mosquitto/passwd')}`)
    .replace(/^acl_file .*$/m, `acl_file ${dir.file('mosquitto/acl')}`);
  expect(conf).toContain(`listener ${port} 127.0.0.1`);
  // `user`: run as root (CI), Mosquitto would drop to the `mosquitto` user, which cannot read this private temp dir.
  writeFileSync(dir.file('mosquitto.conf'), `${conf}\npersistence false\nlog_dest stderr\nuser ${userInfo().username}\n`);
  broker = spawn(binary, ['-c', dir.file('mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  broker.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  broker.once('exit', (code) => {
    if (code !== 0 && code !== null) brokerFailure = new Error(`mosquitto exited with ${code}:\n${log}`);
  });
  url = `mqtt://127.0.0.1:${port}`;
  await waitUntil(() => canConnect(GATEWAY.user, GATEWAY.password), 50);

  g = await startTestGateway({
    now: T0,
    config: { MQTT_MODE: 'external', MQTT_URL: url, MQTT_USERNAME: GATEWAY.user, MQTT_PASSWORD: GATEWAY.password, MQTT_TOPIC_PREFIX: 'vuoro/v1' },
    access: { store },
  });
  await g.h.registerDoors();
  lockA = await g.provision({ kind: 'lock', doorId: DOORS.sauna });
  lockB = await g.provision({ kind: 'lock', doorId: DOORS.hall });
  sensor = await g.provision({ kind: 'occupancy_sensor', spaceId: 'spc_hall' });
  devices.push(lockA, lockB, sensor);
  const summary = exportFiles(devices.map((d) => `${d.deviceId} ${d.secret}`).join('\n'));
  expect(summary).toMatchObject({ hashed: 3, kept: 0, missing: [] });
  await reload(() => canConnect(lockA.deviceId, lockA.secret));
});

afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await g?.close();
  if (broker !== undefined && broker.exitCode === null) {
    broker.kill('SIGTERM');
    await new Promise((done) => broker.once('exit', done));
  }
  await dir?.remove();
});

/** Resolves with the messages a client receives on `filter` within a short window after `act`. */
const collect = async (c: MqttClient, filter: string, act: () => Promise<void> = async () => undefined): Promise<string[]> => {
  const got: string[] = [];
  const on = (topic: string): void => {
    got.push(topic);
  };
  c.on('message', on);
  await c.subscribeAsync(filter, { qos: 1 });
  await act();
  await sleep(300);
  c.off('message', on);
  await c.unsubscribeAsync(filter);
  return got;
};

describe('Mosquitto with the exported password and ACL files', () => {
  it('carries a PIN check between a lock and the gateway (the gateway user reads requests and writes answers and allow-lists)', async () => {
    await g.h.book('res_1', 'unt_sauna', T0 + 2 * 3_600_000, T0 + 4 * 3_600_000);
    await g.h.settle();
    const credential = g.h.access.credentialOf(SITE, 'res:res_1');
    const code = g.h.mailer.codeFor(credential?.credentialId ?? '');
    expect(code).toBeDefined();
    const lock = await SimLock.connect({ ...lockA, siteId: SITE, doorId: DOORS.sauna }, { url, tree: g.tree, clock: () => g.h.clock.now, trustedKeys: g.mqtt.trustedKeys, mqtt: { reconnectPeriod: 0 } });
    try {
      // The retained allow-list the gateway published reaches the lock.
      await waitUntil(() => lock.controller.allowList?.entries.some((e) => e.id === credential?.credentialId) === true, 20);
      g.h.clock.now = T0 + 2 * 3_600_000;
      expect(await lock.present('pin', code as string)).toMatchObject({ granted: true, mode: 'online', credentialId: credential?.credentialId });
      expect(await lock.present('pin', '000000')).toMatchObject({ granted: false, mode: 'online' });
      await waitUntil(() => g.h.access.doorStatus(SITE, DOORS.sauna)?.online === true, 20);
    } finally {
      await lock.close();
    }
  });

  it("keeps a lock to its own door: another door's commands, allow-list and answers never reach it", async () => {
    const a = await connect(lockA.deviceId, lockA.secret);
    const other = g.tree.allowList(SITE, DOORS.hall);
    const own = g.tree.allowList(SITE, DOORS.sauna);
    // Both doors have a retained allow-list on the broker: only its own is delivered.
    expect(await collect(a, own)).toEqual([own]);
    expect(await collect(a, other)).toEqual([]);
    // A wildcard gets only what the ACL lets it read: its own retained allow-list.
    expect(await collect(a, `${g.tree.prefix}/#`)).toEqual([own]);
    const cmd = g.tree.doorCommand(SITE, DOORS.hall);
    // Published by the gateway itself (a second login as MQTT_USERNAME would take over its client id).
    const transport = g.mqtt.gateway?.transport;
    expect(await collect(a, cmd, async () => void (await transport?.publish(cmd, '{}', { qos: 1, retain: false })))).toEqual([]);
  });

  it("drops what a device publishes outside its topics, and passes what it publishes on its own", async () => {
    const a = await connect(lockA.deviceId, lockA.secret);
    const s = await connect(sensor.deviceId, sensor.secret);
    const before = (await g.h.access.accessLog(SITE)).length;
    const received = g.mqtt.gateway?.stats.received ?? 0;
    // Forged: lock A reports the hall door (lock B's) forced, asks for the hall door, and writes a door command; the sensor poses as a lock.
    await a.publishAsync(g.tree.doorEvents(SITE, DOORS.hall), JSON.stringify({ type: 'forced' }), { qos: 1 });
    await a.publishAsync(g.tree.authRequest(SITE, DOORS.hall), JSON.stringify({ requestId: 'req_forged1', method: 'pin', pin: '123456' }), { qos: 1 });
    await s.publishAsync(g.tree.doorEvents(SITE, DOORS.sauna), JSON.stringify({ type: 'forced' }), { qos: 1 });
    // Allowed: lock A's own door event, which the gateway must see after (and only) the above.
    await a.publishAsync(g.tree.doorEvents(SITE, DOORS.sauna), JSON.stringify({ type: 'held_open' }), { qos: 1 });
    await waitUntil(() => (g.mqtt.gateway?.stats.received ?? 0) > received, 20);
    await sleep(300);
    expect(g.mqtt.gateway?.stats.received).toBe(received + 1);
    await waitUntil(async () => (await g.h.access.accessLog(SITE)).length > before, 20);
    const added = (await g.h.access.accessLog(SITE)).slice(before);
    const doorEvents = added.filter((e) => e.type === 'DoorEventReported').map((e) => e.data as { doorId: string; event: string });
    expect(doorEvents).toEqual([{ ...doorEvents[0], doorId: DOORS.sauna, event: 'held_open' }]);
  });

  it('refuses a wrong secret, an unknown user and anonymous clients; a client id cannot take over another device', async () => {
    expect(await refusal(lockA.deviceId, 'not-the-secret')).toBe(5);
    expect(await refusal(lockA.deviceId, lockB.secret)).toBe(5);
    expect(await refusal('dev_nobody', lockA.secret)).toBe(5);
    expect(await refusal(undefined, undefined)).toBe(5);
    expect(await refusal(GATEWAY.user, 'wrong')).toBe(5);
    const a = await connect(lockA.deviceId, lockA.secret);
    // Lock B asks for lock A's client id: Mosquitto gives it its username instead, and A stays connected.
    const b = await connect(lockB.deviceId, lockB.secret, { clientId: lockA.deviceId });
    await sleep(300);
    expect(a.connected).toBe(true);
    expect(b.connected).toBe(true);
  });

  it('cuts off a decommissioned device at the next export and reload, and keeps the others without their secrets', async () => {
    const b = await connect(lockB.deviceId, lockB.secret);
    const r = await g.h.access.decommissionDevice(SITE, lockB.deviceId, 'replaced by a new lock', 'staff:stf_admin');
    expect(r.ok).toBe(true);
    const summary = exportFiles(); // no secrets: the others keep their lines, unchanged digests
    expect(summary).toMatchObject({ hashed: 0, kept: 2, missing: [] });
    await reload(async () => !(await canConnect(lockB.deviceId, lockB.secret)));
    await waitUntil(() => !b.connected, 20);
    expect(await canConnect(lockA.deviceId, lockA.secret)).toBe(true);
    expect(await canConnect(sensor.deviceId, sensor.secret)).toBe(true);
    expect(readFileSync(dir.file('mosquitto/acl'), 'utf8')).not.toContain(lockB.deviceId);
  });

  it('drops a rotated secret until the new one is given, and refuses a secret that is not the current one', async () => {
    const rotated = await g.h.access.rotateDeviceSecret(SITE, sensor.deviceId, 'staff:stf_admin');
    if (!rotated.ok) throw new Error(rotated.error.message);
    expect(exportFiles()).toMatchObject({ missing: [sensor.deviceId] });
    expect(() => exportFiles(`${sensor.deviceId} ${sensor.secret}`)).toThrow(/MOSQUITTO_SECRET_MISMATCH/);
    expect(exportFiles(`${sensor.deviceId} ${rotated.value.secret}`)).toMatchObject({ hashed: 1, kept: 1, missing: [] });
    await reload(() => canConnect(sensor.deviceId, rotated.value.secret));
    expect(await canConnect(sensor.deviceId, sensor.secret)).toBe(false);
  });
});
