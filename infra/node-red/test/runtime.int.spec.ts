/**
 * The package in a real Node-RED runtime (node-red as a library, a temp user
 * dir, the admin API on a loopback port), with a flow that wires a vendor's
 * keypad lock (an mqtt.js client on the vendor's own broker, in the vendor's
 * own topics and words) through vuoro-door to the real Vuoro MQTT gateway.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DOORS, SITE } from '@vuoro/access-control/testing/fixtures.js';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import type { TestGateway } from '@vuoro/gateways/mqtt/testing.js';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireCjs } from './cjs.js';
import { bookedSauna, vendorBroker, wrongPinFor } from './fixtures.js';

interface NodeRedRuntime {
  init(server: Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: (req: unknown, res: unknown) => void;
}

const RED = requireCjs('node-red') as NodeRedRuntime;
const packageDir = join(import.meta.dirname, '..');

let g: TestGateway;
let code: string;
let start: number;
let userDir: TempDir;
let broker: Awaited<ReturnType<typeof vendorBroker>>;
let server: Server;
let admin: string;
let lock: MqttClient;
const lockHeard: string[] = [];

beforeAll(async () => {
  ({ g, code, start } = await bookedSauna());
  broker = await vendorBroker();
  userDir = await tempDir('vuoro-node-red-user-');
  const device = await g.provision({ kind: 'lock', doorId: DOORS.sauna });
  const flows = [
    { id: 'tab', type: 'tab', label: 'Sauna door' },
    { id: 'vendor', type: 'mqtt-broker', name: 'Acme bridge', broker: '127.0.0.1', port: String(broker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'vuoro', type: 'vuoro-config', name: 'Sauna lock', siteId: SITE, brokerUrl: g.url, topicPrefix: g.tree.prefix, trustedKeys: JSON.stringify({ keys: g.mqtt.trustedKeys }) },
    { id: 'keypad', type: 'mqtt in', z: 'tab', topic: 'acme/lock/sauna/keypad', qos: '1', datatype: 'json', broker: 'vendor', nl: false, rap: true, inputs: 0, wires: [['door']] },
    {
      id: 'door',
      type: 'vuoro-door',
      z: 'tab',
      vuoro: 'vuoro',
      doorId: DOORS.sauna,
      pinProperty: 'entered',
      requestIdProperty: 'seq',
      outTopic: 'acme/lock/sauna/cmd',
      grant: 'UNLATCH',
      grantType: 'str',
      deny: 'REFUSE',
      denyType: 'str',
      wires: [['latch']],
    },
    { id: 'latch', type: 'mqtt out', z: 'tab', topic: '', qos: '1', retain: 'false', broker: 'vendor', wires: [] },
  ];
  await writeFile(join(userDir.path, 'flows.json'), JSON.stringify(flows));
  // credentialSecret: false keeps credentials in clear, so the test can write them as a user's editor would have saved them.
  await writeFile(join(userDir.path, 'flows_cred.json'), JSON.stringify({ vuoro: { deviceId: device.deviceId, deviceSecret: device.secret } }));
  server = createServer((req, res) => RED.httpAdmin(req, res));
  RED.init(server, {
    userDir: userDir.path,
    nodesDir: [packageDir],
    flowFile: 'flows.json',
    credentialSecret: false,
    httpAdminRoot: '/',
    httpNodeRoot: false,
    uiHost: '127.0.0.1',
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    telemetry: { enabled: false },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const subscribed = new Promise<void>((resolve) =>
    broker.aedes.on('subscribe', (subs) => {
      if (subs.some((s) => s.topic === 'acme/lock/sauna/keypad')) resolve();
    }),
  );
  await RED.start();
  await subscribed;
  await waitUntil(() => g.h.access.doorStatus(SITE, DOORS.sauna)?.online === true);
  lock = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'acme-lock-sauna', reconnectPeriod: 0 });
  lock.on('message', (_topic, payload) => lockHeard.push(payload.toString()));
  await lock.subscribeAsync('acme/lock/sauna/cmd', { qos: 1 });
});

afterAll(async () => {
  await lock?.endAsync(true);
  await RED.stop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await broker?.close();
  await g?.close();
  await userDir?.remove();
});

/** The vendor's keypad: someone types a PIN; the lock waits for what its bridge says. */
async function typePin(pin: string, seq: number): Promise<string> {
  const before = lockHeard.length;
  await lock.publishAsync('acme/lock/sauna/keypad', JSON.stringify({ entered: pin, seq, battery: 88 }), { qos: 1 });
  await waitUntil(() => lockHeard.length > before);
  return lockHeard[before] as string;
}

describe('Node-RED runtime with the Vuoro nodes', () => {
  it('loads the package’s nodes, help and icons', async () => {
    const res = await fetch(`${admin}/nodes`, { headers: { accept: 'application/json' } });
    const list = (await res.json()) as { module: string; types: string[] }[];
    const ours = list.filter((n) => n.module === '@vuoro/node-red-contrib-vuoro').flatMap((n) => n.types);
    expect(ours.sort()).toEqual(['vuoro-booking', 'vuoro-config', 'vuoro-door', 'vuoro-key-cabinet', 'vuoro-occupancy']);
    const html = await (await fetch(`${admin}/nodes`, { headers: { accept: 'text/html' } })).text();
    for (const type of ours) expect(html).toContain(`data-help-name="${type}"`);
    const icon = await fetch(`${admin}/icons/@vuoro/node-red-contrib-vuoro/vuoro-door.svg`);
    expect(icon.status).toBe(200);
    expect(await icon.text()).toContain('<svg');
  });

  it('opens the vendor lock for the booked PIN and keeps it shut for a wrong one', async () => {
    g.h.clock.now = start;
    expect(await typePin(code, 1)).toBe('UNLATCH');
    expect(await typePin(wrongPinFor(code), 2)).toBe('REFUSE');
    await g.h.settle();
    const decisions = (await g.h.access.accessLog(SITE, { limit: 1000 })).filter((e) => e.type === 'AccessDecided').map((e) => e.data as { doorId: string; granted: boolean; reason: string });
    expect(decisions.map((d) => [d.doorId, d.granted, d.reason])).toEqual([
      [DOORS.sauna, true, 'granted'],
      [DOORS.sauna, false, 'unknown_credential'],
    ]);
  });
});
