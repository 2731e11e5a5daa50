/**
 * For the MQTT integration tests: the booking engine and access control
 * (access-control's test harness) with the gateway on a real broker, and
 * real devices (the load test's simulator) provisioned through access control.
 */
import type { AccessControl, AccessControlOptions, TopicTree } from '@vuoro/access-control';
import { openHarness, type Harness } from '@vuoro/access-control/testing/harness.js';
import { PEPPER, SITE } from '@vuoro/access-control/testing/fixtures.js';
import { SimCabinet, SimLock, SimSensor, type SimOptions } from '@vuoro/loadtest/device-simulator.js';
import { startMqttGateway, type MqttConfig, type RunningMqttGateway } from './index.js';
import { silentLogger } from '@vuoro/access-control';

export interface TestGateway {
  h: Harness;
  mqtt: RunningMqttGateway;
  url: string;
  tree: TopicTree;
  lock(doorId: string, options?: Partial<SimOptions>): Promise<SimLock>;
  sensor(spaceId: string): Promise<SimSensor>;
  cabinet(cabinetId: string): Promise<SimCabinet>;
  /** Provisions a device and returns its credentials (without connecting). */
  provision(input: { kind: 'lock' | 'occupancy_sensor' | 'key_cabinet'; doorId?: string; spaceId?: string; cabinetId?: string }): Promise<{ deviceId: string; secret: string }>;
  close(): Promise<void>;
}

export async function startTestGateway(options: { now: number; config?: Partial<MqttConfig>; access?: Partial<AccessControlOptions> }): Promise<TestGateway> {
  let mqtt: RunningMqttGateway | undefined;
  const config: Partial<MqttConfig> = { MQTT_MODE: 'embedded', MQTT_HOST: '127.0.0.1', MQTT_PORT: 0, ...options.config };
  const h = await openHarness({
    now: options.now,
    ...options.access,
    openAccess: async (o: AccessControlOptions): Promise<AccessControl> => {
      await mqtt?.close();
      mqtt = await startMqttGateway({ store: o.store, log: silentLogger, env: {}, config, pepper: PEPPER, signer: o.signer, access: o });
      return mqtt.access;
    },
  });
  const running = (): RunningMqttGateway => {
    if (mqtt === undefined) throw new Error('gateway not started');
    return mqtt;
  };
  const url = (): string => running().urls[0] as string;
  const tree = running().tree;
  const devices: { close(): Promise<void> }[] = [];
  const provision: TestGateway['provision'] = async (input) => {
    const r = await h.access.provisionDevice(SITE, { ...input, name: `${input.kind} for tests` }, 'staff:stf_admin');
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return { deviceId: r.value.device.deviceId, secret: r.value.secret };
  };
  return {
    h,
    get mqtt() {
      return running();
    },
    get url() {
      return url();
    },
    tree,
    provision,
    async lock(doorId, more = {}) {
      const creds = await provision({ kind: 'lock', doorId });
      const lock = await SimLock.connect({ ...creds, siteId: SITE, doorId }, { url: url(), tree, clock: () => h.clock.now, trustedKeys: running().trustedKeys, ...more });
      devices.push(lock);
      return lock;
    },
    async sensor(spaceId) {
      const creds = await provision({ kind: 'occupancy_sensor', spaceId });
      const sensor = await SimSensor.connect({ ...creds, siteId: SITE, spaceId }, { url: url(), tree });
      devices.push(sensor);
      return sensor;
    },
    async cabinet(cabinetId) {
      const creds = await provision({ kind: 'key_cabinet', cabinetId });
      const cabinet = await SimCabinet.connect({ ...creds, siteId: SITE, cabinetId }, { url: url(), tree });
      devices.push(cabinet);
      return cabinet;
    },
    async close() {
      await Promise.all(devices.map((d) => d.close()));
      await mqtt?.close();
      await h.close();
    },
  };
}
