import type { SiteEvent } from '@vuoro/engine';
import { describe, expect, it } from 'vitest';
import { CredentialPlanner } from './planner.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T = Date.parse('2027-01-11T16:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const SITE = 'sit_1';

const rules = (accessType: 'access_code' | 'physical_key') =>
  ({ accessType }) as unknown as Extract<SiteEvent, { type: 'UnitDefined' }>['data']['unit']['rules'];

const catalogue: SiteEvent[] = [
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_building', name: 'Building' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall', parentId: 'spc_building', name: 'Hall' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall_a', parentId: 'spc_hall', name: 'Hall A' } } },
  { type: 'UnitDefined', data: { unit: { unitId: 'unt_a', name: 'Hall A', unitType: 'sports_hall', spaceIds: ['spc_hall_a'], resourceIds: [], rules: rules('access_code'), prices: [] } } },
  { type: 'UnitDefined', data: { unit: { unitId: 'unt_keyed', name: 'Keyed', unitType: 'sauna', spaceIds: ['spc_hall'], resourceIds: [], rules: rules('physical_key'), prices: [] } } },
];

const requested = (reservationId: string, unitId: string, from: number, to: number, seriesId?: string): SiteEvent => ({
  type: 'ReservationRequested',
  data: {
    reservationId,
    unitId,
    spaceIds: unitId === 'unt_a' ? ['spc_hall_a'] : ['spc_hall'],
    resourceIds: [],
    customerId: 'cus_club',
    customerGroupId: 'grp_x',
    kind: seriesId === undefined ? 'normal' : 'seasonal',
    start: iso(from),
    end: iso(to),
    bufferBeforeMinutes: 0,
    bufferAfterMinutes: 0,
    price: { amountCents: 0, vatCents: 0, vatBasisPoints: 0, source: 'free_group' },
    holdExpiresAt: iso(from),
    ...(seriesId === undefined ? {} : { seriesId }),
  },
});
const confirmed = (reservationId: string): SiteEvent => ({ type: 'ReservationConfirmed', data: { reservationId } });

function planner(events: SiteEvent[]) {
  const p = new CredentialPlanner({ leadMs: 15 * MIN, graceMs: 15 * MIN });
  const touched = events.flatMap((e) => p.applySiteEvent(SITE, e));
  return { p, touched };
}

describe('credential planner', () => {
  it('wants a credential for a confirmed access-code reservation, from start minus lead to end plus grace', () => {
    const { p, touched } = planner([...catalogue, requested('res_1', 'unt_a', T, T + HOUR), confirmed('res_1')]);
    expect(touched).toEqual([{ siteId: SITE, holderKey: 'res:res_1' }]);
    expect(p.desired({ siteId: SITE, holderKey: 'res:res_1' })).toEqual({
      siteId: SITE,
      holderKey: 'res:res_1',
      holder: { type: 'reservation', reservationId: 'res_1', customerId: 'cus_club' },
      spaceIds: ['spc_hall_a'],
      windows: [{ start: T - 15 * MIN, end: T + HOUR + 15 * MIN }],
    });
    expect(p.pathOf(SITE, 'spc_hall_a')).toEqual(['spc_hall_a', 'spc_hall', 'spc_building']);
  });

  it('wants nothing before confirmation, for other access types, or after a cancellation', () => {
    expect(planner([...catalogue, requested('res_1', 'unt_a', T, T + HOUR)]).p.desired({ siteId: SITE, holderKey: 'res:res_1' })).toBeUndefined();
    expect(planner([...catalogue, requested('res_2', 'unt_keyed', T, T + HOUR), confirmed('res_2')]).p.desired({ siteId: SITE, holderKey: 'res:res_2' })).toBeUndefined();
    const { p, touched } = planner([
      ...catalogue,
      requested('res_1', 'unt_a', T, T + HOUR),
      confirmed('res_1'),
      { type: 'ReservationCancelled', data: { reservationId: 'res_1', by: 'customer:cus_club', reason: 'ill' } },
    ]);
    expect(touched).toHaveLength(2);
    expect(p.desired({ siteId: SITE, holderKey: 'res:res_1' })).toBeUndefined();
    expect(p.lastChangeOf({ siteId: SITE, holderKey: 'res:res_1' })).toBe('reservation res_1 cancelled: ill');
  });

  it('gives a series one credential with a window per occurrence, and follows its changes', () => {
    const weeks = [0, 1, 2].map((k) => T + k * 7 * 24 * HOUR);
    const events: SiteEvent[] = [...catalogue];
    weeks.forEach((t, k) => events.push(requested(`ser_1_1_${k}`, 'unt_a', t, t + HOUR, 'ser_1'), confirmed(`ser_1_1_${k}`)));
    const { p } = planner(events);
    const ref = { siteId: SITE, holderKey: 'ser:ser_1' };
    expect(p.desired(ref)?.holder).toEqual({ type: 'series', seriesId: 'ser_1', customerId: 'cus_club' });
    expect(p.desired(ref)?.windows).toHaveLength(3);
    p.applySiteEvent(SITE, { type: 'ReservationCancelled', data: { reservationId: 'ser_1_1_1', by: 'staff:x', reason: 'series changed' } });
    p.applySiteEvent(SITE, { type: 'ReservationModified', data: { reservationId: 'ser_1_1_2', start: iso((weeks[2] ?? 0) + HOUR), end: iso((weeks[2] ?? 0) + 2 * HOUR), price: { amountCents: 0, vatCents: 0, vatBasisPoints: 0, source: 'free_group' } } });
    expect(p.desired(ref)?.windows).toEqual([
      { start: T - 15 * MIN, end: T + HOUR + 15 * MIN },
      { start: (weeks[2] ?? 0) + HOUR - 15 * MIN, end: (weeks[2] ?? 0) + 2 * HOUR + 15 * MIN },
    ]);
  });

  it('saves and loads its model, and forgets what ended long ago', () => {
    const { p } = planner([...catalogue, requested('res_1', 'unt_a', T, T + HOUR), confirmed('res_1'), requested('res_3', 'unt_a', T + 48 * HOUR, T + 49 * HOUR), confirmed('res_3')]);
    const copy = CredentialPlanner.load(JSON.parse(JSON.stringify(p.save())), p.policy);
    expect(copy.desired({ siteId: SITE, holderKey: 'res:res_1' })).toEqual(p.desired({ siteId: SITE, holderKey: 'res:res_1' }));
    expect(copy.prune(T + 24 * HOUR)).toBe(1);
    expect(copy.desired({ siteId: SITE, holderKey: 'res:res_1' })).toBeUndefined();
    expect(copy.desired({ siteId: SITE, holderKey: 'res:res_3' })).toBeDefined();
  });
});
