/**
 * A small site for access-control tests: a sports hall building with an
 * entrance, the hall (door), a section of it (no door of its own), and a
 * sauna with its own outside door. Times around a Monday evening in Helsinki.
 */
import type { AccessEvent, Kdf } from '../events.js';
import type { AccessCommand } from '../site/commands.js';

export const SITE = 'sit_test';
export const KDF: Kdf = { alg: 'pbkdf2-sha256', iterations: 1000, salt: 'c2l0ZS1zYWx0LWZvci10ZXN0cw' };
export const PEPPER = Buffer.from('0123456789abcdef0123456789abcdef');

export const SPACES = {
  building: 'spc_building',
  hall: 'spc_hall',
  hallA: 'spc_hall_a',
  sauna: 'spc_sauna',
} as const;

export const DOORS = {
  entrance: 'door_entrance',
  hall: 'door_hall',
  sauna: 'door_sauna',
} as const;

export const MIN = 60_000;
export const HOUR = 60 * MIN;
/** Monday 2027-01-11 18:00 Helsinki (UTC+2). */
export const T0 = Date.parse('2027-01-11T16:00:00Z');

const by = 'staff:stf_admin';

export const siteInitialized: AccessEvent = { type: 'AccessSiteInitialized', data: { siteId: SITE, kdf: KDF, by } };
export const doorsRegistered: AccessEvent[] = [
  { type: 'DoorRegistered', data: { siteId: SITE, doorId: DOORS.entrance, spaceId: SPACES.building, name: 'Main entrance', by } },
  { type: 'DoorRegistered', data: { siteId: SITE, doorId: DOORS.hall, spaceId: SPACES.hall, name: 'Hall door', by } },
  { type: 'DoorRegistered', data: { siteId: SITE, doorId: DOORS.sauna, spaceId: SPACES.sauna, name: 'Sauna door', by } },
];
export const baseSite: AccessEvent[] = [siteInitialized, ...doorsRegistered];

export const at = (now: number, actor = by) => ({ now, actor });

export const cmd = <C extends AccessCommand>(c: C): C => c;
