import { describe, expect, it } from 'vitest';
import { OccupancyTracker, type OccupancyEvent } from './debounce.js';

const MIN = 60_000;
const T = Date.parse('2027-01-11T16:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const policy = { minOccupiedMs: 2 * MIN, vacantAfterMs: 5 * MIN, staleAfterMs: 30 * MIN };

function feed(tracker: OccupancyTracker, readings: [minute: number, occupied: boolean, sensor?: string, count?: number][]): OccupancyEvent[] {
  const out: OccupancyEvent[] = [];
  for (const [m, occupied, sensor = 'dev_pir1', count] of readings) {
    const r = tracker.reading('sit_1', 'spc_hall', sensor, { occupied, peopleCount: count, at: T + m * MIN });
    if (r !== 'stale') out.push(...r);
  }
  return out;
}

const recorded = (events: OccupancyEvent[]) =>
  events.filter((e) => e.type === 'SpaceOccupancyRecorded').map((e) => [e.data.start, (e.data as { end: string }).end]);

describe('occupancy debouncing', () => {
  it('turns a flapping PIR into one interval that ends when the vacancy began', () => {
    const t = new OccupancyTracker(policy);
    const events = feed(t, [
      [0, true],
      [1, false],
      [2, true],
      [4, false],
      [5, true],
      [15, true],
      [28, true],
      [40, true],
      [41, false],
    ]);
    events.push(...t.tick(T + 46 * MIN));
    expect(events.map((e) => e.type)).toEqual(['SpaceOccupancyStarted', 'SpaceOccupancyRecorded']);
    expect(recorded(events)).toEqual([[iso(T), iso(T + 41 * MIN)]]);
  });

  it('drops a blip shorter than the minimum', () => {
    const t = new OccupancyTracker(policy);
    const events = feed(t, [
      [0, true],
      [1, false],
    ]);
    events.push(...t.tick(T + 60 * MIN));
    expect(events).toEqual([]);
  });

  it('starts an interval once occupancy lasted the minimum, even without a new reading', () => {
    const t = new OccupancyTracker(policy);
    feed(t, [[0, true]]);
    expect(t.tick(T + MIN)).toEqual([]);
    expect(t.tick(T + 2 * MIN)).toEqual([{ type: 'SpaceOccupancyStarted', data: { siteId: 'sit_1', spaceId: 'spc_hall', start: iso(T), sensorIds: ['dev_pir1'] } }]);
  });

  it('keeps the space occupied while any sensor says so, and records the peak count', () => {
    const t = new OccupancyTracker(policy);
    const events = feed(t, [
      [0, true, 'dev_pir1'],
      [1, true, 'dev_counter', 3],
      [10, false, 'dev_pir1'],
      [20, true, 'dev_counter', 12],
      [30, false, 'dev_counter', 0],
    ]);
    events.push(...t.tick(T + 40 * MIN));
    const interval = events.find((e) => e.type === 'SpaceOccupancyRecorded');
    expect(interval?.data).toEqual({ siteId: 'sit_1', spaceId: 'spc_hall', start: iso(T), end: iso(T + 30 * MIN), peakPeopleCount: 12, sensorIds: ['dev_counter', 'dev_pir1'] });
  });

  it('closes an interval at the last reading when every sensor went silent', () => {
    const t = new OccupancyTracker(policy);
    feed(t, [
      [0, true],
      [10, true],
    ]);
    const events = t.tick(T + 45 * MIN);
    expect(recorded(events)).toEqual([[iso(T), iso(T + 10 * MIN)]]);
  });

  it('ignores a reading older than the sensor’s last one', () => {
    const t = new OccupancyTracker(policy);
    feed(t, [[10, true]]);
    expect(t.reading('sit_1', 'spc_hall', 'dev_pir1', { occupied: false, at: T + 5 * MIN })).toBe('stale');
  });
});
