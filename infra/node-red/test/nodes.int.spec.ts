/**
 * Each node in node-red-node-test-helper, talking to the real Vuoro MQTT
 * gateway (startTestGateway: embedded broker, access control, engine) or
 * the real HTTP API. Nothing here fakes Vuoro.
 */
import { DOORS, SITE, SPACES } from '@vuoro/access-control/testing/fixtures.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import { startTestGateway, type TestGateway } from '@vuoro/gateways/mqtt/testing.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MIN, bookedSauna, collect, errorsOf, helper, nextSlot, nodes, startApi, vendorBroker, wrongPinFor, type FlowNode, type RunningApi } from './fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const configFor = (g: TestGateway, over: Record<string, unknown> = {}): FlowNode => ({
  id: 'cfg',
  type: 'vuoro-config',
  siteId: SITE,
  brokerUrl: g.url,
  topicPrefix: g.tree.prefix,
  trustedKeys: JSON.stringify({ keys: g.mqtt.trustedKeys }),
  reconnectSeconds: 1,
  ...over,
});

async function logOf(g: TestGateway, type: string): Promise<Record<string, unknown>[]> {
  await g.h.settle();
  return (await g.h.access.accessLog(SITE, { limit: 10_000 })).filter((e) => e.type === type).map((e) => e.data as Record<string, unknown>);
}

describe('vuoro-door', () => {
  async function doorFlow(over: Record<string, unknown> = {}) {
    const booked = await bookedSauna();
    cleanups.push(() => booked.g.close());
    const creds = await booked.g.provision({ kind: 'lock', doorId: DOORS.sauna });
    await helper.load(
      [nodes.config, nodes.door],
      [configFor(booked.g), { id: 'door', type: 'vuoro-door', vuoro: 'cfg', doorId: DOORS.sauna, outTopic: 'acme/lock/1/set', wires: [['out']], ...over }, { id: 'out', type: 'helper' }],
      { cfg: { deviceId: creds.deviceId, deviceSecret: creds.secret } },
    );
    await waitUntil(() => booked.g.h.access.doorStatus(SITE, DOORS.sauna)?.online === true);
    return { ...booked, door: helper.getNode('door'), out: collect(helper.getNode('out')) };
  }

  it('opens for the booked PIN in its window, denies a wrong one, and correlates by the vendor id', async () => {
    const { g, code, credentialId, start, door, out } = await doorFlow();
    g.h.clock.now = start;
    door.receive({ payload: { code, id: 41 }, topic: 'acme/lock/1/keypad' });
    expect(await out.next()).toMatchObject({
      topic: 'acme/lock/1/set',
      payload: 'open',
      vuoro: { kind: 'decision', granted: true, reason: 'granted', credentialId, vendorRequestId: 41, method: 'pin' },
    });
    door.receive({ payload: { code: wrongPinFor(code), id: 42 } });
    expect(await out.next()).toMatchObject({ payload: 'deny', vuoro: { granted: false, reason: 'unknown_credential', vendorRequestId: 42 } });
    g.h.clock.now = start - 60 * MIN;
    door.receive({ payload: code });
    expect(await out.next()).toMatchObject({ payload: 'deny', vuoro: { granted: false, reason: 'not_yet_valid' } });
    const decisions = await logOf(g, 'AccessDecided');
    expect(decisions.map((d) => [d.doorId, d.granted, d.reason])).toEqual([
      [DOORS.sauna, true, 'granted'],
      [DOORS.sauna, false, 'unknown_credential'],
      [DOORS.sauna, false, 'not_yet_valid'],
    ]);
  });

  it('denies a credential that cannot be valid without asking, with a stable error code', async () => {
    const { g, door, out } = await doorFlow({ grant: '{"cmd":"UNLATCH"}', grantType: 'json', deny: 'BEEP' });
    const errors = errorsOf(door);
    door.receive({ payload: { pin: 1234 } });
    expect(await out.next()).toMatchObject({ payload: 'BEEP', vuoro: { granted: false, reason: 'invalid_request', error: { code: 'VUORO_CREDENTIAL_INVALID' } } });
    door.receive({ payload: '{"pin":' });
    door.receive({ payload: { event: 'teleported' } });
    await waitUntil(() => errors.length === 3);
    expect(errors.map((e) => e.split(':')[0])).toEqual(['VUORO_CREDENTIAL_INVALID', 'VUORO_NOT_JSON', 'VUORO_DOOR_UNRECOGNISED']);
    expect(out.msgs).toHaveLength(1);
    expect(await logOf(g, 'AccessDecided')).toEqual([]);
  });

  it('reports the vendor lock’s events and state to Vuoro', async () => {
    const { g, door } = await doorFlow();
    door.receive({ payload: { event: 'door_open' } });
    door.receive({ payload: { contact: true } });
    door.receive({ payload: { event: 'FORCED' } });
    await waitUntil(async () => (await logOf(g, 'DoorEventReported')).length >= 3);
    expect((await logOf(g, 'DoorEventReported')).map((e) => e.event)).toEqual(['opened', 'closed', 'forced']);
    door.receive({ payload: { state: 'UNLOCK' } });
    await waitUntil(() => g.h.access.doorStatus(SITE, DOORS.sauna)?.state === 'UNLOCKED');
    door.receive({ payload: 'jammed' });
    await waitUntil(() => g.h.access.doorStatus(SITE, DOORS.sauna)?.state === 'JAMMED');
  });

  it('passes on a signed remote command once, and reports it done', async () => {
    const { g, out } = await doorFlow({ commandMap: '{"open":"UNLATCH"}' });
    g.h.clock.now = Date.now();
    const r = await g.h.access.doorCommand(SITE, DOORS.sauna, { action: 'open', reason: 'let the plumber in' }, 'staff:stf_ville');
    expect(r.ok).toBe(true);
    expect(await out.next()).toMatchObject({ topic: 'acme/lock/1/set', payload: 'UNLATCH', vuoro: { kind: 'command', action: 'open', emergency: false } });
    await waitUntil(async () => (await logOf(g, 'DoorEventReported')).some((e) => e.event === 'command_done'));
    expect(out.msgs).toHaveLength(1);
  });

  it('refuses remote commands when it trusts no signing key', async () => {
    const { g, door, out } = await doorFlow();
    await helper.unload();
    // The same door, redeployed with a config node that pins another key.
    const creds = await g.provision({ kind: 'lock', doorId: DOORS.sauna });
    await helper.load(
      [nodes.config, nodes.door],
      [
        configFor(g, { trustedKeys: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}' }),
        { id: 'door', type: 'vuoro-door', vuoro: 'cfg', doorId: DOORS.sauna, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { cfg: { deviceId: creds.deviceId, deviceSecret: creds.secret } },
    );
    void door;
    void out;
    const errors = errorsOf(helper.getNode('door'));
    const out2 = collect(helper.getNode('out'));
    await waitUntil(() => g.h.access.doorStatus(SITE, DOORS.sauna)?.online === true);
    g.h.clock.now = Date.now();
    await g.h.access.doorCommand(SITE, DOORS.sauna, { action: 'unlock', durationSeconds: 60, reason: 'test' }, 'staff:stf_ville');
    await waitUntil(async () => (await logOf(g, 'DoorEventReported')).some((e) => e.event === 'command_rejected'));
    expect(errors.some((e) => e.startsWith('VUORO_COMMAND_REJECTED: door command refused: unknown_key'))).toBe(true);
    expect(out2.msgs).toEqual([]);
  });

  it('denies with reason "timeout" when nobody answers in time', async () => {
    // A broker without Vuoro behind it: the request goes out and no answer comes.
    const broker = await vendorBroker();
    cleanups.push(() => broker.close());
    await helper.load(
      [nodes.config, nodes.door],
      [
        { id: 'cfg', type: 'vuoro-config', siteId: SITE, brokerUrl: broker.url },
        { id: 'door', type: 'vuoro-door', vuoro: 'cfg', doorId: DOORS.sauna, authTimeout: 0.3, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { cfg: { deviceId: 'dev_lonely', deviceSecret: 'x' } },
    );
    const door = helper.getNode('door');
    const out = collect(helper.getNode('out'));
    const errors = errorsOf(door);
    await waitUntil(async () => {
      const seen = out.msgs.length;
      door.receive({ payload: { pin: '482913' } });
      await waitUntil(() => out.msgs.length > seen);
      return out.msgs.at(-1)?.vuoro !== undefined && (out.msgs.at(-1)?.vuoro as { reason: string }).reason === 'timeout';
    });
    expect(out.msgs.at(-1)).toMatchObject({ payload: 'deny', vuoro: { granted: false, reason: 'timeout', detail: expect.stringMatching(/no answer from Vuoro in 0.3 s/) } });
    expect(errors.some((e) => e.startsWith('VUORO_AUTH_TIMEOUT'))).toBe(true);
  });

  it('denies at once while not connected', async () => {
    await helper.load(
      [nodes.config, nodes.door],
      [
        { id: 'cfg', type: 'vuoro-config', siteId: SITE, brokerUrl: 'mqtt://127.0.0.1:1' },
        { id: 'door', type: 'vuoro-door', vuoro: 'cfg', doorId: DOORS.sauna, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { cfg: { deviceId: 'dev_x', deviceSecret: 'x' } },
    );
    const out = collect(helper.getNode('out'));
    helper.getNode('door').receive({ payload: { pin: '482913' } });
    expect(await out.next()).toMatchObject({ payload: 'deny', vuoro: { reason: 'not_connected', error: { code: 'VUORO_NOT_CONNECTED' } } });
  });

  it('reports unusable settings instead of running', async () => {
    await helper.load([nodes.config, nodes.door], [configFor({ url: 'mqtt://127.0.0.1:1', tree: { prefix: 'vuoro/v1' }, mqtt: { trustedKeys: [] } } as unknown as TestGateway), { id: 'door', type: 'vuoro-door', vuoro: 'cfg', doorId: 'door/../x', wires: [[]] }], {
      cfg: { deviceId: 'dev_x', deviceSecret: 'x' },
    });
    const door = helper.getNode('door');
    const errors = errorsOf(door);
    door.receive({ payload: { pin: '482913' } });
    await waitUntil(() => errors.length >= 1);
    expect(errors[0]).toMatch(/^VUORO_CONFIG_INVALID: the door id "door\/..\/x" may only have/);
  });
});

describe('vuoro-occupancy', () => {
  it('turns zigbee2mqtt and people counter messages into occupied intervals in Vuoro', async () => {
    const g = await startTestGateway({ now: Date.now() });
    cleanups.push(() => g.close());
    const creds = await g.provision({ kind: 'occupancy_sensor', spaceId: SPACES.hall });
    await helper.load(
      [nodes.config, nodes.occupancy],
      [configFor(g), { id: 'occ', type: 'vuoro-occupancy', vuoro: 'cfg', spaceId: SPACES.hall, wires: [['out']] }, { id: 'out', type: 'helper' }],
      { cfg: { deviceId: creds.deviceId, deviceSecret: creds.secret } },
    );
    await waitUntil(() => g.h.access.deviceStatus(creds.deviceId)?.online === true);
    const occ = helper.getNode('occ');
    const out = collect(helper.getNode('out'));
    const errors = errorsOf(occ);
    const t0 = g.h.clock.now;
    const read = async (minute: number, payload: unknown) => {
      g.h.clock.now = t0 + minute * MIN;
      const before = g.mqtt.gateway?.stats.received ?? 0;
      occ.receive({ payload });
      await waitUntil(() => (g.mqtt.gateway?.stats.received ?? 0) > before);
    };
    await read(0, { occupancy: true, battery: 80, linkquality: 90 });
    expect(out.msgs[0]).toMatchObject({ topic: g.tree.occupancy(SITE, SPACES.hall), payload: { occupied: true } });
    await read(10, { people_count: 9 });
    await read(30, 'ON');
    await read(55, { presence: false });
    occ.receive({ payload: { occupancy: 'maybe' } });
    await waitUntil(() => errors.length === 1);
    expect(errors[0]).toMatch(/^VUORO_OCCUPANCY_INVALID: occupancy is "maybe"/);
    g.h.clock.now = t0 + 61 * MIN;
    await g.h.access.tick();
    expect(await logOf(g, 'SpaceOccupancyRecorded')).toEqual([
      { siteId: SITE, spaceId: SPACES.hall, start: new Date(t0).toISOString(), end: new Date(t0 + 55 * MIN).toISOString(), peakPeopleCount: 9, sensorIds: [creds.deviceId] },
    ]);
    expect([...g.h.access.stats.rejected.keys()]).toEqual([]);
    // Redeploy: the device is marked offline by the node itself, not left online.
    await helper.unload();
    await waitUntil(() => g.h.access.deviceStatus(creds.deviceId)?.online === false);
  });
});

describe('vuoro-key-cabinet', () => {
  it('reports a key taken with the booked PIN and returned, by slot', async () => {
    const { g, code, credentialId, start } = await bookedSauna();
    cleanups.push(() => g.close());
    await g.h.access.registerKey(SITE, { keyId: 'key_sauna_1', label: 'Sauna key 1', doorIds: [DOORS.sauna], cabinetId: 'cab_lobby' }, 'staff:stf_desk');
    expect((await g.h.access.lendKey(SITE, 'key_sauna_1', { reservationId: 'res_1' }, 'staff:stf_desk')).ok).toBe(true);
    const creds = await g.provision({ kind: 'key_cabinet', cabinetId: 'cab_lobby' });
    await helper.load(
      [nodes.config, nodes.cabinet],
      [configFor(g), { id: 'cab', type: 'vuoro-key-cabinet', vuoro: 'cfg', cabinetId: 'cab_lobby', keyMap: '{"3":"key_sauna_1"}', wires: [['out']] }, { id: 'out', type: 'helper' }],
      { cfg: { deviceId: creds.deviceId, deviceSecret: creds.secret } },
    );
    await waitUntil(() => g.h.access.deviceStatus(creds.deviceId)?.online === true);
    const cab = helper.getNode('cab');
    const out = collect(helper.getNode('out'));
    const errors = errorsOf(cab);
    g.h.clock.now = start;
    cab.receive({ payload: { event: 'REMOVED', slot: 3, pin: code } });
    await waitUntil(() => g.h.access.state(SITE)?.keys.get('key_sauna_1')?.takenBy === credentialId);
    expect(out.msgs[0]).toMatchObject({ payload: { type: 'key_taken', keyId: 'key_sauna_1' } });
    expect(JSON.stringify(out.msgs[0])).not.toContain(code);
    cab.receive({ payload: { event: 'exploded', slot: 3 } });
    cab.receive({ payload: '{"event":"inserted","slot":"3"}' });
    await waitUntil(() => g.h.access.state(SITE)?.keys.get('key_sauna_1')?.status === 'available');
    expect(errors).toEqual([expect.stringMatching(/^VUORO_KEY_EVENT_INVALID: "exploded" is not in the node's event mapping/)]);
  });
});

describe('vuoro-booking', () => {
  let api: RunningApi;
  async function bookingFlow(over: Record<string, unknown>) {
    api = await startApi();
    cleanups.push(() => api.close());
    return (flowOver: Record<string, unknown>) =>
      helper.load(
        [nodes.config, nodes.booking],
        [
          { id: 'cfg', type: 'vuoro-config', siteId: SITE, apiUrl: api.url },
          { id: 'b', type: 'vuoro-booking', vuoro: 'cfg', spaceId: SPACES.sauna, wires: [['on'], ['answer']], ...over, ...flowOver },
          { id: 'on', type: 'helper' },
          { id: 'answer', type: 'helper' },
        ],
        { cfg: { apiKey: api.staffKey } },
      );
  }

  it('says "on" before a booking starts and "off" at its end', async () => {
    const load = await bookingFlow({});
    const start = nextSlot(2 * MIN);
    const end = start + 15 * MIN;
    await api.book('res_heat', start, end);
    // Lead and end offset chosen so both fall a moment after the deploy (the node runs on the wall clock).
    const now = Date.now();
    await load({ leadMinutes: (start - (now + 1500)) / MIN, endOffsetMinutes: -(end - (now + 3000)) / MIN, startPayload: '{"heating":21}', startPayloadType: 'json' });
    const on = collect(helper.getNode('on'));
    expect(await on.next()).toMatchObject({ topic: 'start', payload: { heating: 21 }, reservation: { reservationId: 'res_heat', spaceIds: [SPACES.sauna] }, vuoro: { event: 'start' } });
    expect(await on.next()).toMatchObject({ topic: 'end', payload: 'off', reservation: { reservationId: 'res_heat' }, vuoro: { event: 'end' } });
    expect((on.msgs[0]?.reservation as { startLocal: string }).startLocal).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}\+0[23]:00$/);
    expect(on.msgs).toHaveLength(2);
  });

  it('looks up the booking going on now and the next one', async () => {
    const load = await bookingFlow({});
    const start = nextSlot(60 * MIN);
    await api.book('res_next', start, start + 30 * MIN);
    await load({});
    const answer = collect(helper.getNode('answer'));
    helper.getNode('b').receive({ payload: 'now?' });
    expect(await answer.next()).toMatchObject({ payload: { current: null, next: { reservationId: 'res_next', start: expect.any(String) } }, vuoro: { kind: 'booking_lookup', occupied: false } });
  });

  it('reports the API’s problem with its code when the key is refused', async () => {
    const load = await bookingFlow({});
    await helper.unload();
    await helper.load(
      [nodes.config, nodes.booking],
      [
        { id: 'cfg', type: 'vuoro-config', siteId: SITE, apiUrl: api.url },
        { id: 'b', type: 'vuoro-booking', vuoro: 'cfg', spaceId: SPACES.sauna, wires: [[], ['answer']] },
        { id: 'answer', type: 'helper' },
      ],
      { cfg: { apiKey: 'not-a-key' } },
    );
    void load;
    const b = helper.getNode('b');
    const errors = errorsOf(b);
    b.receive({ payload: 'now?' });
    await waitUntil(() => errors.some((e) => e.includes('401')));
    expect(errors.find((e) => e.includes('401'))).toMatch(/^VUORO_API_ERROR: 401 \w+ from GET \/v1\/reservations/);
  });
});
