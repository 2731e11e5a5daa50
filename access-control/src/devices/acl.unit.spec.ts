import { describe, expect, it } from 'vitest';
import { TopicTree } from '../topics.js';
import { mayPublish, maySubscribe, mayWill, type DeviceIdentity } from './acl.js';

const tree = new TopicTree();
const lock: DeviceIdentity = { deviceId: 'dev_l1', siteId: 'sit_1', kind: 'lock', doorId: 'door_1' };
const sensor: DeviceIdentity = { deviceId: 'dev_s1', siteId: 'sit_1', kind: 'occupancy_sensor', spaceId: 'spc_1' };
const cabinet: DeviceIdentity = { deviceId: 'dev_c1', siteId: 'sit_1', kind: 'key_cabinet', cabinetId: 'cab_1' };

describe('device ACLs', () => {
  it('lets a lock publish only its own door’s state, requests and events', () => {
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/state', true).ok).toBe(true);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/auth/req', false).ok).toBe(true);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/events', false).ok).toBe(true);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_2/state', true).ok).toBe(false);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_2/doors/door_1/state', true).ok).toBe(false);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/cmd', false).ok).toBe(false);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/allowlist', true).ok).toBe(false);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/auth/res/req_123456', false).ok).toBe(false);
    expect(mayPublish(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/events', true)).toMatchObject({ ok: false });
    expect(mayPublish(tree, lock, '$SYS/broker/x', false).ok).toBe(false);
  });

  it('lets a lock subscribe only to its own commands, allow-list and responses', () => {
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/cmd').ok).toBe(true);
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/allowlist').ok).toBe(true);
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/auth/res/+').ok).toBe(true);
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/auth/res/req_123456').ok).toBe(true);
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_2/allowlist').ok).toBe(false);
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/+/allowlist').ok).toBe(false);
    expect(maySubscribe(tree, lock, 'vuoro/v1/#').ok).toBe(false);
    expect(maySubscribe(tree, lock, '#').ok).toBe(false);
    expect(maySubscribe(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/auth/req').ok).toBe(false);
  });

  it('keeps sensors and cabinets to their own topics', () => {
    expect(mayPublish(tree, sensor, 'vuoro/v1/sites/sit_1/spaces/spc_1/occupancy', false).ok).toBe(true);
    expect(mayPublish(tree, sensor, 'vuoro/v1/sites/sit_1/spaces/spc_2/occupancy', false).ok).toBe(false);
    expect(mayPublish(tree, sensor, 'vuoro/v1/sites/sit_1/devices/dev_s1/status', true).ok).toBe(true);
    expect(mayPublish(tree, sensor, 'vuoro/v1/sites/sit_1/devices/dev_c1/status', true).ok).toBe(false);
    expect(mayPublish(tree, cabinet, 'vuoro/v1/sites/sit_1/keys/cab_1/events', false).ok).toBe(true);
    expect(mayPublish(tree, cabinet, 'vuoro/v1/sites/sit_1/keys/cab_2/events', false).ok).toBe(false);
    expect(maySubscribe(tree, sensor, 'vuoro/v1/sites/sit_1/spaces/spc_1/occupancy').ok).toBe(false);
  });

  it('accepts a last will only on the device’s own state topic', () => {
    expect(mayWill(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_1/state').ok).toBe(true);
    expect(mayWill(tree, lock, 'vuoro/v1/sites/sit_1/doors/door_2/state').ok).toBe(false);
    expect(mayWill(tree, sensor, 'vuoro/v1/sites/sit_1/devices/dev_s1/status').ok).toBe(true);
  });
});

describe('topic tree', () => {
  it('reads its own topics and nothing else', () => {
    const t = new TopicTree('test-1/vuoro/v1');
    expect(t.parse(t.authResponse('sit_1', 'door_1', 'req_abcdef'))).toEqual({ kind: 'door', siteId: 'sit_1', doorId: 'door_1', leaf: 'auth_res', requestId: 'req_abcdef' });
    expect(t.parse(t.occupancy('sit_1', 'spc_1'))).toEqual({ kind: 'occupancy', siteId: 'sit_1', spaceId: 'spc_1' });
    expect(t.parse(t.keyEvents('sit_1', 'cab_1'))).toEqual({ kind: 'key_cabinet', siteId: 'sit_1', cabinetId: 'cab_1', leaf: 'events' });
    expect(t.parse('vuoro/v1/sites/sit_1/doors/door_1/state')).toBeUndefined();
    expect(t.parse('test-1/vuoro/v1/sites/sit_1/doors/door_1/unknown')).toBeUndefined();
    expect(t.parse('test-1/vuoro/v1/sites/sit 1/doors/door_1/state')).toBeUndefined();
    expect(() => new TopicTree('a/#')).toThrow();
  });
});
