/** Sensor messages to occupancy readings, checked against access-control's schema and reading. */
import { occupancyMessageSchema, readingOf } from '@vuoro/access-control';
import { describe, expect, it } from 'vitest';
import { errors, occupancy } from './cjs.js';

const { CODES } = errors;

describe('occupancy readings', () => {
  it.each([
    [{ occupancy: true, battery: 97, linkquality: 120 }, {}, { occupied: true }],
    [{ presence: false }, {}, { occupied: false }],
    [{ people_count: 3 }, {}, { occupied: true, peopleCount: 3 }],
    [{ count: 0 }, {}, { occupied: false, peopleCount: 0 }],
    [{ occupied: true, peopleCount: 12 }, {}, { occupied: true, peopleCount: 12 }],
    [{ occupancy: true, last_seen: '2027-01-11T18:00:00+02:00' }, {}, { occupied: true, at: '2027-01-11T18:00:00+02:00' }],
    [{ occupancy: true, last_seen: 1_800_000_000_000 }, {}, { occupied: true, at: 1_800_000_000_000 }],
    [{ occupancy: true, last_seen: 'yesterday' }, {}, { occupied: true }],
    [true, {}, { occupied: true }],
    ['OFF', {}, { occupied: false }],
    [7, {}, { occupied: true, peopleCount: 7 }],
    ['{"presence":true}', {}, { occupied: true }],
    [Buffer.from('{"people_count":2}'), {}, { occupied: true, peopleCount: 2 }],
    [{ state: { presence: 'detected' } }, { property: 'state.presence' }, { occupied: true }],
    [{ zone1: 4 }, { property: 'zone1', sensorId: 'radar_1' }, { occupied: true, peopleCount: 4, sensorId: 'radar_1' }],
  ])('%j (%j)', (payload, options, expected) => {
    const r = occupancy.occupancyMessage(payload, options);
    expect(r).toEqual({ ok: true, value: expected });
    if (!r.ok) return;
    const parsed = occupancyMessageSchema.safeParse(r.value);
    expect(parsed.success).toBe(true);
    if (parsed.success) expect(readingOf(parsed.data)).toMatchObject({ occupied: expected.occupied, peopleCount: 'peopleCount' in expected ? expected.peopleCount : undefined });
  });

  it.each([
    [{ occupancy: 'maybe' }, {}, CODES.OCCUPANCY_INVALID, /occupancy is "maybe"/],
    [{ people_count: -1 }, {}, CODES.OCCUPANCY_INVALID, /whole number/],
    [{ people_count: 1.5 }, {}, CODES.OCCUPANCY_INVALID, /whole number/],
    [{ count: 1e9 }, {}, CODES.OCCUPANCY_INVALID, /100000/],
    [{ count: '3' }, {}, CODES.OCCUPANCY_INVALID, /must be a number/],
    [{ people_count: Number.NaN }, {}, CODES.OCCUPANCY_INVALID, /whole number/],
    [{}, {}, CODES.OCCUPANCY_INVALID, /no occupancy/],
    [{ battery: 90 }, {}, CODES.OCCUPANCY_INVALID, /no occupancy/],
    [null, {}, CODES.OCCUPANCY_INVALID, /null/],
    [[true], {}, CODES.OCCUPANCY_INVALID, /object/],
    ['banana', {}, CODES.OCCUPANCY_INVALID, /banana/],
    ['{"occupancy":', {}, CODES.NOT_JSON, /JSON/],
    [Buffer.alloc(10_000, 0x20), {}, CODES.TOO_LARGE, /10000 bytes/],
    [{ occupancy: true }, { property: 'state.presence' }, CODES.OCCUPANCY_INVALID, /no "state.presence"/],
    [JSON.parse('{"__proto__":{"occupancy":true}}'), {}, CODES.OCCUPANCY_INVALID, /no occupancy/],
  ])('refuses %j', (payload, options, code, message) => {
    const r = occupancy.occupancyMessage(payload, options);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('refuses a sensor id that cannot be an id', () => {
    expect(occupancy.sensorIdProblem('radar/1')).toMatch(/letters, digits/);
    expect(occupancy.sensorIdProblem('')).toBeUndefined();
  });
});
