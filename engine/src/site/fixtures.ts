/**
 * A small sports park used by the decider tests and examples: a hall that
 * splits into three sections, a tennis court with a price list, a sauna with
 * cleaning buffers, a meeting room that needs approval, and a cottage open
 * round the clock (for DST cases).
 */
import type { UnitInput } from '../catalogue/schemas.js';
import { unitRulesSchema, unitSchema } from '../catalogue/schemas.js';
import type { CommandMeta } from './commands.js';
import type { SiteEvent } from './events.js';

export const SITE = 'sit_park';
export const STAFF: CommandMeta['actor'] = { kind: 'staff', staffId: 'stf_anna' };
export const SYSTEM: CommandMeta['actor'] = { kind: 'system', name: 'test' };
export const ALICE = { customerId: 'cus_alice', customerGroupId: 'grp_residents', freeOfCharge: false };
export const BOB = { customerId: 'cus_bob', customerGroupId: 'grp_residents', freeOfCharge: false };
export const YOUTH_CLUB = { customerId: 'cus_youth', customerGroupId: 'grp_youth', freeOfCharge: true };
export const asCustomer = (c: { customerId: string }): CommandMeta['actor'] => ({ kind: 'customer', customerId: c.customerId });

const weekdays = [{ from: '07:00', to: '22:00' }];
const weekend = [{ from: '09:00', to: '20:00' }];
export const standardHours = {
  weekly: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays, sat: weekend, sun: weekend },
};

const baseRules = {
  openingHours: standardHours,
  startIntervalMinutes: 30,
  minDurationMinutes: 60,
  maxDurationMinutes: 180,
  bookingWindow: { minDaysAhead: 0, maxDaysAhead: 90 },
  cancellationDeadlineHours: 24,
};

const unit = (u: UnitInput) => unitSchema.parse(u);

export const UNITS = {
  hall: unit({ unitId: 'unt_hall', name: 'Hall (whole)', unitType: 'sports_hall', spaceIds: ['spc_hall'], rules: baseRules }),
  hallA: unit({ unitId: 'unt_hall_a', name: 'Hall section A', unitType: 'sports_hall', spaceIds: ['spc_hall_a'], rules: baseRules }),
  hallB: unit({ unitId: 'unt_hall_b', name: 'Hall section B', unitType: 'sports_hall', spaceIds: ['spc_hall_b'], rules: baseRules }),
  court: unit({
    unitId: 'unt_court1',
    name: 'Tennis court 1',
    unitType: 'tennis_court',
    spaceIds: ['spc_court1'],
    rules: { ...baseRules, maxActivePerCustomer: 2, allowedCustomerGroups: ['grp_residents', 'grp_youth'] },
    prices: [
      { customerGroupId: 'grp_residents', validFrom: '2026-01-01', basis: 'per_hour', amountCents: 2000, vatBasisPoints: 1400 },
      { customerGroupId: 'grp_residents', validFrom: '2027-06-01', basis: 'per_hour', amountCents: 2400, vatBasisPoints: 1400 },
      { customerGroupId: 'grp_youth', validFrom: '2026-01-01', basis: 'per_hour', amountCents: 1000, vatBasisPoints: 1400 },
    ],
  }),
  sauna: unit({
    unitId: 'unt_sauna',
    name: 'Lakeside sauna',
    unitType: 'sauna',
    spaceIds: ['spc_sauna'],
    rules: { ...baseRules, bufferBeforeMinutes: 15, bufferAfterMinutes: 30, accessType: 'access_code' },
  }),
  meeting: unit({
    unitId: 'unt_meeting',
    name: 'Meeting room',
    unitType: 'meeting_room',
    spaceIds: ['spc_meeting'],
    resourceIds: ['rsc_projector'],
    rules: { ...baseRules, requiresHandling: true, startIntervalMinutes: 60 },
  }),
  cottage: unit({
    unitId: 'unt_cottage',
    name: 'Cottage',
    unitType: 'cottage',
    spaceIds: ['spc_cottage'],
    rules: unitRulesSchema.parse({
      ...baseRules,
      openingHours: {
        weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ from: '00:00', to: '24:00' }]])),
        holidays: 'open',
      },
      startIntervalMinutes: 30,
      minDurationMinutes: 30,
      maxDurationMinutes: 24 * 60,
      bookingWindow: { minDaysAhead: 0, maxDaysAhead: 3650 },
    }),
  }),
};

export const siteCatalogue: SiteEvent[] = [
  { type: 'SiteDefined', data: { site: { siteId: SITE, name: 'Sports park' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall', name: 'Hall' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall_a', parentId: 'spc_hall', name: 'Hall A' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall_b', parentId: 'spc_hall', name: 'Hall B' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_hall_c', parentId: 'spc_hall', name: 'Hall C' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_court1', name: 'Court 1' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_sauna', name: 'Sauna' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_meeting', name: 'Meeting room' } } },
  { type: 'SpaceDefined', data: { space: { spaceId: 'spc_cottage', name: 'Cottage' } } },
  { type: 'ResourceDefined', data: { resource: { resourceId: 'rsc_projector', name: 'Projector' } } },
  ...Object.values(UNITS).map((u): SiteEvent => ({ type: 'UnitDefined', data: { unit: u } })),
];
