/** The nodes' copy of the topic tree builds exactly the topics access-control's TopicTree does. */
import { TopicTree } from '@vuoro/access-control';
import { describe, expect, it } from 'vitest';
import { topics } from './cjs.js';

describe('topic tree', () => {
  it.each(['vuoro/v1', 'test_ab12/vuoro/v1', 'city'])('matches access-control for prefix %s', (prefix) => {
    const ours = new topics.TopicTree(prefix);
    const theirs = new TopicTree(prefix);
    const [site, door, space, cabinet, device, req] = ['sit_a-1', 'door_B_2', 'spc_sauna', 'cab_lobby', 'dev_x9', 'nr_abcdefgh'];
    expect(ours.doorState(site, door)).toBe(theirs.doorState(site, door));
    expect(ours.doorCommand(site, door)).toBe(theirs.doorCommand(site, door));
    expect(ours.authRequest(site, door)).toBe(theirs.authRequest(site, door));
    expect(ours.authResponse(site, door, req)).toBe(theirs.authResponse(site, door, req));
    expect(ours.authResponses(site, door)).toBe(theirs.authResponses(site, door));
    expect(ours.doorEvents(site, door)).toBe(theirs.doorEvents(site, door));
    expect(ours.keyEvents(site, cabinet)).toBe(theirs.keyEvents(site, cabinet));
    expect(ours.occupancy(site, space)).toBe(theirs.occupancy(site, space));
    expect(ours.deviceStatus(site, device)).toBe(theirs.deviceStatus(site, device));
    expect(ours.authResponseId(theirs.authResponse(site, door, req), site, door)).toBe(theirs.parse(theirs.authResponse(site, door, req))?.kind === 'door' ? req : 'not parsed');
  });

  it('refuses the prefixes access-control refuses', () => {
    for (const bad of ['', '/vuoro', 'vuoro/', 'vuoro/+', 'a/#', '$SYS/x']) {
      expect(() => new TopicTree(bad)).toThrow(RangeError);
      expect(() => new topics.TopicTree(bad)).toThrow(RangeError);
    }
  });

  it('reads a request id only from its own door’s response topics', () => {
    const t = new topics.TopicTree();
    expect(t.authResponseId('vuoro/v1/sites/s/doors/d/auth/res/nr_abcdef', 's', 'd')).toBe('nr_abcdef');
    expect(t.authResponseId('vuoro/v1/sites/s/doors/other/auth/res/nr_abcdef', 's', 'd')).toBeUndefined();
    expect(t.authResponseId('vuoro/v1/sites/s/doors/d/auth/res/x/y', 's', 'd')).toBeUndefined();
    expect(t.authResponseId('vuoro/v1/sites/s/doors/d/auth/res/abc', 's', 'd')).toBeUndefined();
  });
});

describe('subscription filters (the shared connection routes messages by them)', () => {
  it('matches MQTT wildcards as the broker does', async () => {
    const { connection } = await import('./cjs.js');
    expect(connection.matches('vuoro/v1/sites/s/doors/d/auth/res/+', 'vuoro/v1/sites/s/doors/d/auth/res/nr_abcdef')).toBe(true);
    expect(connection.matches('vuoro/v1/sites/s/doors/d/auth/res/+', 'vuoro/v1/sites/s/doors/d/auth/res/a/b')).toBe(false);
    expect(connection.matches('vuoro/v1/sites/s/doors/d/cmd', 'vuoro/v1/sites/s/doors/d/cmd')).toBe(true);
    expect(connection.matches('vuoro/v1/sites/s/doors/d/cmd', 'vuoro/v1/sites/s/doors/e/cmd')).toBe(false);
    expect(connection.matches('vuoro/#', 'vuoro/v1/x')).toBe(true);
  });
});
