import { describe, expect, it } from 'vitest';
import { secretDigest } from '../crypto/codes.js';
import type { AccessEvent, Holder } from '../events.js';
import { stateOf } from '../testing/given.js';
import { DOORS, HOUR, MIN, PEPPER, SITE, T0, baseSite } from '../testing/fixtures.js';
import { OnlineAuthorizer } from './online.js';

const iso = (ms: number) => new Date(ms).toISOString();
const holder: Holder = { type: 'reservation', reservationId: 'res_1', customerId: 'cus_alice' };
const PIN = '482913';
// The reservation is 18:00-20:00; the credential adds 15 minutes before and after.
const start = T0;
const end = T0 + 2 * HOUR;
const lead = 15 * MIN;
const grace = 15 * MIN;

const issued: AccessEvent = {
  type: 'CredentialIssued',
  data: {
    siteId: SITE,
    credentialId: 'crd_1',
    method: 'pin',
    holder,
    secretDigest: secretDigest(PEPPER, 'pin', PIN),
    offlineDigest: 'unused-in-online-decisions',
    doorIds: [DOORS.entrance, DOORS.hall],
    allDoors: false,
    windows: [{ start: iso(start - lead), end: iso(end + grace) }],
    reason: 'reservation confirmed',
    by: 'system:test',
  },
};
const card: AccessEvent = {
  type: 'CredentialIssued',
  data: {
    siteId: SITE,
    credentialId: 'crd_card',
    method: 'card',
    holder: { type: 'staff', staffId: 'stf_jani', role: 'janitor' },
    secretDigest: secretDigest(PEPPER, 'card', '04A1B2C3D4E5F6'),
    offlineDigest: 'unused-in-online-decisions',
    doorIds: [],
    allDoors: true,
    windows: [{ start: iso(T0 - 1000 * HOUR), end: iso(T0 + 1000 * HOUR) }],
    reason: 'janitor grant',
    by: 'system:test',
  },
};
const state = stateOf([...baseSite, issued, card]);

let n = 0;
const request = (body: Record<string, unknown>): string => JSON.stringify({ requestId: `req_${String(++n).padStart(6, '0')}`, method: 'pin', ...body });
const newAuthorizer = () => new OnlineAuthorizer({ pepper: PEPPER, maxSkewMs: 60_000, lockout: { maxFailures: 3, windowMs: 5 * MIN, lockoutMs: 5 * MIN, maxLockoutMs: 60 * MIN } });

function decide(a: OnlineAuthorizer, doorId: string, payload: string, now: number) {
  const out = a.handle(SITE, doorId, payload, state, now);
  if (out.kind !== 'decided') throw new Error(`expected a decision, got ${out.kind}`);
  return out;
}

describe('on-line decisions', () => {
  it('opens the door with the PIN from the lead time to the end of the grace period, and not a minute outside', () => {
    const a = newAuthorizer();
    const at = (t: number) => decide(a, DOORS.hall, request({ pin: PIN }), t).response;
    expect(at(start - lead - MIN)).toMatchObject({ granted: false, reason: 'not_yet_valid' });
    expect(at(start - lead)).toMatchObject({ granted: true, reason: 'granted', credentialId: 'crd_1', until: iso(end + grace) });
    expect(at(start + HOUR)).toMatchObject({ granted: true });
    expect(at(end + grace - 1)).toMatchObject({ granted: true });
    expect(at(end + grace)).toMatchObject({ granted: false, reason: 'expired' });
    expect(at(end + grace + MIN)).toMatchObject({ granted: false, reason: 'expired' });
  });

  it('opens only the doors on the path to the booked space', () => {
    const a = newAuthorizer();
    expect(decide(a, DOORS.entrance, request({ pin: PIN }), start).response.granted).toBe(true);
    expect(decide(a, DOORS.sauna, request({ pin: PIN }), start).response).toMatchObject({ granted: false, reason: 'unknown_credential' });
    expect(decide(a, 'door_elsewhere', request({ pin: PIN }), start).response).toMatchObject({ granted: false, reason: 'unknown_door' });
  });

  it('lets a janitor card open every door, any case of hex', () => {
    const a = newAuthorizer();
    expect(decide(a, DOORS.sauna, request({ method: 'card', card: '04a1b2c3d4e5f6' }), start).response).toMatchObject({ granted: true, credentialId: 'crd_card' });
  });

  it('records every decision as an audit event', () => {
    const a = newAuthorizer();
    const out = decide(a, DOORS.hall, request({ pin: '111222' }), start);
    expect(out.audit).toMatchObject({ type: 'AccessDecided', data: { siteId: SITE, doorId: DOORS.hall, granted: false, reason: 'unknown_credential', mode: 'online', method: 'pin' } });
  });

  it('locks the keypad out after repeated wrong codes, raises an alert, and lets cards in meanwhile', () => {
    const a = newAuthorizer();
    expect(decide(a, DOORS.hall, request({ pin: '000111' }), start).lockout).toBeUndefined();
    expect(decide(a, DOORS.hall, request({ pin: '000112' }), start + 1000).lockout).toBeUndefined();
    const third = decide(a, DOORS.hall, request({ pin: '000113' }), start + 2000);
    expect(third.lockout?.map((e) => e.type)).toEqual(['DoorLockedOut', 'AccessAlertRaised']);
    expect(third.lockout?.[1].data).toMatchObject({ alert: 'pin_lockout', doorId: DOORS.hall });
    // Even the right PIN waits out the lockout; another door is not affected.
    expect(decide(a, DOORS.hall, request({ pin: PIN }), start + 3000).response).toMatchObject({ granted: false, reason: 'locked_out' });
    expect(decide(a, DOORS.entrance, request({ pin: PIN }), start + 3000).response.granted).toBe(true);
    expect(decide(a, DOORS.hall, request({ method: 'card', card: '04A1B2C3D4E5F6' }), start + 3000).response.granted).toBe(true);
    expect(decide(a, DOORS.hall, request({ pin: PIN }), start + 2000 + 5 * MIN).response.granted).toBe(true);
  });

  it('answers a redelivered request with the first answer, once decided', () => {
    const a = newAuthorizer();
    const payload = request({ pin: PIN });
    const first = a.handle(SITE, DOORS.hall, payload, state, start);
    const again = a.handle(SITE, DOORS.hall, payload, state, start + 5000);
    expect(first.kind).toBe('decided');
    expect(again).toEqual({ kind: 'duplicate', response: (first as { response: unknown }).response });
    expect(a.stats.decided).toBe(1);
  });

  it('refuses a request whose device clock is too far off, and says the server time', () => {
    const a = newAuthorizer();
    const out = decide(a, DOORS.hall, request({ pin: PIN, at: iso(start - 10 * MIN) }), start);
    expect(out.response).toMatchObject({ granted: false, reason: 'clock_skew', serverTime: iso(start) });
    expect(decide(a, DOORS.hall, request({ pin: PIN, at: start - 30_000 }), start).response.granted).toBe(true);
  });

  it.each([
    ['not JSON', 'not json at all {', 'not_json'],
    ['an array', '[1,2,3]', 'invalid_payload'],
    ['a PIN with letters', JSON.stringify({ requestId: 'req_abcdef', method: 'pin', pin: '12ab56' }), 'invalid_payload'],
    ['a number for a PIN', JSON.stringify({ requestId: 'req_abcdef', method: 'pin', pin: 123456 }), 'invalid_payload'],
    ['both a PIN and a card', JSON.stringify({ requestId: 'req_abcdef', method: 'pin', pin: '123456', card: '04A1B2C3' }), 'invalid_payload'],
    ['a request id with a slash', JSON.stringify({ requestId: 'req/../x', method: 'pin', pin: '123456' }), 'invalid_payload'],
    ['a huge payload', JSON.stringify({ requestId: 'req_abcdef', method: 'pin', pin: '123456', junk: 'x'.repeat(10_000) }), 'too_large'],
  ])('refuses %s with a reason, without deciding', (_name, payload, reason) => {
    const a = newAuthorizer();
    const out = a.handle(SITE, DOORS.hall, payload, state, start);
    expect(out).toMatchObject({ kind: 'rejected', reason });
    expect(a.stats.decided).toBe(0);
  });

  it('still answers the lock when the request id can be read', () => {
    const a = newAuthorizer();
    const out = a.handle(SITE, DOORS.hall, JSON.stringify({ requestId: 'req_abcdef', method: 'pin', pin: 'x' }), state, start);
    expect(out).toMatchObject({ kind: 'rejected', response: { requestId: 'req_abcdef', granted: false, reason: 'invalid_request' } });
  });
});
