/**
 * The access metrics operators alert on (metrics.ts), read from the registry
 * the way Prometheus scrapes it, with a real lock on the embedded broker:
 * on line / off line, a forced door, a wrong PIN, a door command's round trip.
 */
import { DOORS, PEPPER, SITE, T0 } from '@vuoro/access-control/testing/fixtures.js';
import { openHarness, type Harness } from '@vuoro/access-control/testing/harness.js';
import { silentLogger, type AccessControlOptions } from '@vuoro/access-control';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import { SimLock } from '@vuoro/loadtest/device-simulator.js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqttGateway, type RunningMqttGateway } from './index.js';

let h: Harness;
let mqtt: RunningMqttGateway | undefined;
const registry = new Registry();

/** One sample's value, as scraped; undefined when the series does not exist. */
const sample = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
  const metric = registry.getSingleMetric(name.replace(/_(bucket|count|sum)$/, ''));
  const values = (await metric?.get())?.values ?? [];
  const hit = values.find((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name ? Object.entries(labels).every(([k, x]) => String((v.labels as Record<string, unknown>)[k]) === x) : false);
  return hit?.value;
};

beforeAll(async () => {
  h = await openHarness({
    now: T0,
    openAccess: async (o: AccessControlOptions) => {
      await mqtt?.close();
      mqtt = await startMqttGateway({ store: o.store, log: silentLogger, env: {}, config: { MQTT_MODE: 'embedded', MQTT_HOST: '127.0.0.1', MQTT_PORT: 0 }, pepper: PEPPER, signer: o.signer, access: o, registry, clock: () => h.clock.now });
      return mqtt.access;
    },
  });
  await h.registerDoors();
});

afterAll(async () => {
  await mqtt?.close();
  await h?.close();
});

describe('access metrics on the service registry', () => {
  it('counts what a lock reports and tracks whether it is on line', async () => {
    const gw = mqtt as RunningMqttGateway;
    const r = await h.access.provisionDevice(SITE, { kind: 'lock', doorId: DOORS.sauna, name: 'Sauna lock' }, 'staff:stf_admin');
    if (!r.ok) throw new Error(r.error.message);
    const labels = { site_id: SITE, door_id: DOORS.sauna };
    // Registered doors have their counters from the first scrape, at 0.
    expect(await sample('vuoro_access_door_alerts_total', { ...labels, alert: 'door_forced' })).toBe(0);
    expect(await sample('vuoro_access_pin_failures_total', { ...labels, mode: 'online' })).toBe(0);
    expect(await sample('vuoro_access_device_online', { device_id: r.value.device.deviceId })).toBe(0);

    const lock = await SimLock.connect({ deviceId: r.value.device.deviceId, secret: r.value.secret, siteId: SITE, doorId: DOORS.sauna }, { url: gw.urls[0] as string, tree: gw.tree, clock: () => h.clock.now, trustedKeys: gw.trustedKeys });
    await waitUntil(async () => (await sample('vuoro_access_device_online', { device_id: r.value.device.deviceId })) === 1);

    await lock.report('forced');
    await waitUntil(async () => (await sample('vuoro_access_door_alerts_total', { ...labels, alert: 'door_forced' })) === 1);
    expect(await sample('vuoro_access_door_alerts_total', { site_id: SITE, door_id: DOORS.hall, alert: 'door_forced' })).toBe(0);

    expect(await lock.present('pin', '999999')).toMatchObject({ granted: false, mode: 'online' });
    expect(await lock.present('pin', '999998')).toMatchObject({ granted: false, mode: 'online' });
    expect(await sample('vuoro_access_pin_failures_total', { ...labels, mode: 'online' })).toBe(2);

    const issued = await h.access.doorCommand(SITE, DOORS.sauna, { action: 'unlock', durationSeconds: 5, reason: 'metrics test' }, 'staff:stf_admin');
    expect(issued.ok).toBe(true);
    await waitUntil(async () => (await sample('vuoro_access_door_command_round_trip_seconds_count', { site_id: SITE })) === 1);
    expect(await sample('vuoro_access_door_commands_total', { site_id: SITE })).toBe(1);
    expect(await sample('vuoro_access_door_command_round_trip_seconds_bucket', { site_id: SITE, le: '3' })).toBe(1);
    expect(await sample('vuoro_mqtt_messages_total', { outcome: 'received' })).toBeGreaterThanOrEqual(4);

    await lock.close();
    await waitUntil(async () => (await sample('vuoro_access_device_online', { device_id: r.value.device.deviceId })) === 0);
    const text = await registry.metrics();
    expect(text).toContain(`vuoro_access_device_online{site_id="${SITE}",device_id="${r.value.device.deviceId}",kind="lock"} 0`);
  });
});
