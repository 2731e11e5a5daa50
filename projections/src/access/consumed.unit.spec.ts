/**
 * The access-control events projections read, against the shapes
 * @vuoro/access-control publishes: every event valid there is read here with
 * the same values, so a change over there shows up as a failing test, not as
 * silently missing occupancy.
 */
import { ACCESS_EVENT_SCHEMAS } from '@vuoro/access-control';
import { describe, expect, it } from 'vitest';
import { parseConsumedAccessEvent, type CONSUMED_ACCESS_EVENTS } from './consumed.js';

const AT = '2027-03-08T16:05:00.000Z';
const samples: Record<keyof typeof CONSUMED_ACCESS_EVENTS, Record<string, unknown>> = {
  SpaceOccupancyRecorded: { siteId: 'sit_park', spaceId: 'spc_court1', start: AT, end: '2027-03-08T17:20:00.000Z', peakPeopleCount: 4, sensorIds: ['dev_s1'] },
  DeviceProvisioned: {
    siteId: 'sit_park',
    deviceId: 'dev_s1',
    kind: 'occupancy_sensor',
    spaceId: 'spc_court1',
    name: 'Court sensor',
    secretDigest: 'a'.repeat(64),
    by: 'staff:stf_anna',
  },
  DeviceDecommissioned: { siteId: 'sit_park', deviceId: 'dev_s1', reason: 'replaced', by: 'staff:stf_anna' },
  DeviceConnectivityChanged: { siteId: 'sit_park', deviceId: 'dev_s1', online: false, at: AT, reason: 'last will' },
  DoorCommandIssued: {
    siteId: 'sit_park',
    doorId: 'door_main',
    commandId: 'cmd_1',
    action: 'unlock',
    durationSeconds: 10,
    issuedAt: AT,
    expiresAt: '2027-03-08T16:06:00.000Z',
    emergency: false,
    reason: 'let the team in',
    by: 'staff:stf_anna',
  },
  DoorEventReported: { siteId: 'sit_park', doorId: 'door_main', event: 'command_done', at: AT, receivedAt: '2027-03-08T16:05:01.200Z', commandId: 'cmd_1' },
};

describe('access-control events as projections read them', () => {
  for (const [type, data] of Object.entries(samples) as [keyof typeof CONSUMED_ACCESS_EVENTS, Record<string, unknown>][]) {
    it(`${type}: valid as published, read with the same values`, () => {
      const published = ACCESS_EVENT_SCHEMAS[type].safeParse(data);
      expect(published.success, JSON.stringify(published.error?.issues)).toBe(true);
      const read = parseConsumedAccessEvent(type, published.data);
      expect(read?.type).toBe(type);
      for (const [k, v] of Object.entries(read?.data ?? {})) expect(v).toEqual((published.data as Record<string, unknown>)[k]);
    });
  }

  it('ignores what it does not read, and what does not validate', () => {
    expect(parseConsumedAccessEvent('AccessDecided', { siteId: 'sit_park' })).toBeUndefined();
    expect(parseConsumedAccessEvent('SpaceOccupancyRecorded', { siteId: 'sit_park', spaceId: 'spc_court1', start: 'yesterday', end: AT, sensorIds: [] })).toBeUndefined();
  });
});
