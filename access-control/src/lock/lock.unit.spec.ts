import { beforeAll, describe, expect, it } from 'vitest';
import { buildAllowList } from '../allowlist/build.js';
import type { DoorCommand } from '../allowlist/document.js';
import { offlineDigest, randomSalt, secretDigest } from '../crypto/codes.js';
import { ALLOWLIST_TYP, DOOR_COMMAND_TYP, Signer, type FlattenedJws } from '../crypto/jws.js';
import type { AccessEvent, Holder } from '../events.js';
import type { AccessState } from '../site/state.js';
import { stateOf } from '../testing/given.js';
import { DOORS, HOUR, KDF, MIN, PEPPER, SITE, T0, baseSite } from '../testing/fixtures.js';
import { LockController } from './lock.js';

const iso = (ms: number) => new Date(ms).toISOString();
const PIN = '593017';
const OTHER_PIN = '771245';
const start = T0;
const end = T0 + 2 * HOUR;
const lead = 15 * MIN;
const grace = 15 * MIN;
const signer = Signer.generate();
const forger = Signer.generate();

async function credential(credentialId: string, holder: Holder, pin: string, doorIds: string[], from: number, to: number): Promise<AccessEvent> {
  return {
    type: 'CredentialIssued',
    data: {
      siteId: SITE,
      credentialId,
      method: 'pin',
      holder,
      secretDigest: secretDigest(PEPPER, 'pin', pin),
      offlineDigest: await offlineDigest(KDF, 'pin', pin),
      doorIds,
      allDoors: false,
      windows: [{ start: iso(from), end: iso(to) }],
      reason: 'test',
      by: 'system:test',
    },
  };
}

let state: AccessState;
let history: AccessEvent[];
beforeAll(async () => {
  history = [
    ...baseSite,
    await credential('crd_1', { type: 'reservation', reservationId: 'res_1', customerId: 'cus_alice' }, PIN, [DOORS.hall], start - lead, end + grace),
    await credential('crd_2', { type: 'reservation', reservationId: 'res_2', customerId: 'cus_bob' }, OTHER_PIN, [DOORS.sauna], start, end),
  ];
  state = stateOf(history);
});

const list = (s: AccessState, version: number, now: number, doorId: string = DOORS.hall, by: Signer = signer): FlattenedJws =>
  by.sign(ALLOWLIST_TYP, buildAllowList(s, doorId, { now, version, ttlMs: 24 * HOUR, horizonMs: 24 * HOUR, doorSalt: randomSalt() }));

function lockAt(time: { now: number }, doorId: string = DOORS.hall): LockController {
  return new LockController({ siteId: SITE, doorId, trustedKeys: [signer.publicJwk], clock: () => time.now, lockout: { maxFailures: 3, windowMs: 5 * MIN, lockoutMs: 5 * MIN, maxLockoutMs: HOUR } });
}

describe('the lock, cut off from the server', () => {
  it('decides from its allow-list: the PIN opens in its window, lead and grace included, and not a minute outside', async () => {
    const time = { now: start - HOUR };
    const lock = lockAt(time);
    expect(lock.acceptAllowList(JSON.stringify(list(state, 1, time.now)))).toEqual({ ok: true, version: 1 });
    const at = async (t: number) => {
      time.now = t;
      return lock.decideOffline('pin', PIN);
    };
    expect(await at(start - lead - MIN)).toMatchObject({ granted: false, reason: 'not_yet_valid' });
    expect(await at(start - lead)).toMatchObject({ granted: true, credentialId: 'crd_1', until: end + grace });
    expect(await at(end + grace - 1)).toMatchObject({ granted: true });
    expect(await at(end + grace)).toMatchObject({ granted: false, reason: 'expired' });
    // Another door's code does not open this one.
    time.now = start + MIN;
    expect(await lock.decideOffline('pin', OTHER_PIN)).toMatchObject({ granted: false, reason: 'unknown_credential' });
    expect(lock.drainOfflineDecisions()).toHaveLength(5);
  });

  it('carries no PIN in clear, and the same PIN differs per door and per version', () => {
    const a = JSON.parse(Buffer.from(list(state, 1, start).payload, 'base64url').toString()) as { entries: { h: string }[] };
    const b = JSON.parse(Buffer.from(list(state, 2, start).payload, 'base64url').toString()) as { entries: { h: string }[] };
    expect(JSON.stringify(a)).not.toContain(PIN);
    expect(a.entries[0]?.h).not.toEqual(b.entries[0]?.h);
  });

  it('refuses a tampered list and keeps deciding from the one it had', async () => {
    const time = { now: start };
    const lock = lockAt(time);
    lock.acceptAllowList(list(state, 1, time.now));
    // Someone adds their own entry: copy crd_1's hash into a forever window.
    const genuine = list(state, 2, time.now);
    const doc = JSON.parse(Buffer.from(genuine.payload, 'base64url').toString()) as { entries: { w: number[][] }[] };
    const first = doc.entries[0];
    if (first === undefined) throw new Error('expected an entry');
    first.w = [[0, 9_999_999_999_999]];
    const tampered = { ...genuine, payload: Buffer.from(JSON.stringify(doc)).toString('base64url') };
    expect(lock.acceptAllowList(tampered)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(lock.acceptAllowList(list(state, 3, time.now, DOORS.hall, forger))).toEqual({ ok: false, reason: 'unknown_key' });
    expect(lock.acceptAllowList('{"protected":"x"')).toEqual({ ok: false, reason: 'not_json' });
    expect(lock.acceptAllowList({ protected: 'eyJhbGciOiJub25lIn0', payload: genuine.payload, signature: '' } as FlattenedJws)).toEqual({ ok: false, reason: 'malformed' });
    expect(lock.allowListVersion).toBe(1);
    time.now = end + grace + HOUR;
    expect(await lock.decideOffline('pin', PIN)).toMatchObject({ granted: false, reason: 'expired' });
  });

  it('refuses stale, foreign, expired and future lists', () => {
    const time = { now: start };
    const lock = lockAt(time);
    expect(lock.acceptAllowList(list(state, 5, time.now))).toEqual({ ok: true, version: 5 });
    expect(lock.acceptAllowList(list(state, 4, time.now))).toEqual({ ok: false, reason: 'stale_version' });
    expect(lock.acceptAllowList(list(state, 5, time.now))).toEqual({ ok: false, reason: 'stale_version' });
    expect(lock.acceptAllowList(list(state, 6, time.now, DOORS.sauna))).toEqual({ ok: false, reason: 'wrong_door' });
    expect(lock.acceptAllowList(list(state, 7, time.now - 25 * HOUR))).toEqual({ ok: false, reason: 'expired' });
    expect(lock.acceptAllowList(list(state, 8, time.now + 10 * MIN))).toEqual({ ok: false, reason: 'issued_in_future' });
    expect(lock.allowListVersion).toBe(5);
  });

  it('accepts the same list again (a retained redelivery)', () => {
    const lock = lockAt({ now: start });
    const l = list(state, 3, start);
    expect(lock.acceptAllowList(l)).toEqual({ ok: true, version: 3 });
    expect(lock.acceptAllowList(JSON.stringify(l))).toEqual({ ok: true, version: 3 });
  });

  it('denies everyone without a list, or once its list expired', async () => {
    const time = { now: start };
    const lock = lockAt(time);
    expect(await lock.decideOffline('pin', PIN)).toMatchObject({ granted: false, reason: 'no_allowlist' });
    lock.acceptAllowList(list(state, 1, start - 23 * HOUR));
    time.now = start + 2 * HOUR;
    expect(await lock.decideOffline('pin', PIN)).toMatchObject({ granted: false, reason: 'allowlist_expired' });
  });

  it('drops a revoked credential with the next version', async () => {
    const revoked = stateOf([...history, { type: 'CredentialRevoked', data: { siteId: SITE, credentialId: 'crd_1', reason: 'cancelled', by: 'x' } }]);
    const time = { now: start };
    const lock = lockAt(time);
    lock.acceptAllowList(list(state, 1, start));
    expect((await lock.decideOffline('pin', PIN)).granted).toBe(true);
    lock.acceptAllowList(list(revoked, 2, start));
    expect(await lock.decideOffline('pin', PIN)).toMatchObject({ granted: false, reason: 'unknown_credential' });
  });

  it('opens for everyone during an emergency open', async () => {
    const emergency = stateOf([...history, { type: 'EmergencyOpenStarted', data: { siteId: SITE, since: iso(start), reason: 'fire', by: 'staff:x' } }]);
    const lock = lockAt({ now: start + MIN });
    lock.acceptAllowList(list(emergency, 1, start + MIN));
    expect(await lock.decideOffline('pin', '102938')).toMatchObject({ granted: true, reason: 'emergency_open' });
    expect(lock.lockState()).toBe('UNLOCKED');
  });

  it('locks the keypad after repeated wrong codes', async () => {
    const time = { now: start };
    const lock = lockAt(time);
    lock.acceptAllowList(list(state, 1, start));
    for (const pin of ['111000', '111001', '111002']) await lock.decideOffline('pin', pin);
    expect(await lock.decideOffline('pin', PIN)).toMatchObject({ granted: false, reason: 'locked_out' });
    time.now = start + 6 * MIN;
    expect((await lock.decideOffline('pin', PIN)).granted).toBe(true);
  });
});

describe('door commands at the lock', () => {
  const command = (over: Partial<DoorCommand> = {}, by: Signer = signer): FlattenedJws =>
    by.sign(DOOR_COMMAND_TYP, {
      v: 1,
      commandId: 'cmd_1',
      siteId: SITE,
      doorId: DOORS.hall,
      action: 'unlock',
      durationSeconds: 120,
      emergency: false,
      issuedAt: start,
      expiresAt: start + 30_000,
      ...over,
    });

  it('runs a command once; a replay, a late delivery or another door’s command does nothing', () => {
    const time = { now: start + 1000 };
    const lock = lockAt(time);
    expect(lock.acceptCommand(command())).toMatchObject({ ok: true, command: { commandId: 'cmd_1', action: 'unlock' } });
    expect(lock.lockState()).toBe('UNLOCKED');
    expect(lock.acceptCommand(command())).toEqual({ ok: false, reason: 'replayed', commandId: 'cmd_1' });
    expect(lock.acceptCommand(command({ commandId: 'cmd_2', doorId: DOORS.sauna }))).toMatchObject({ ok: false, reason: 'wrong_door' });
    time.now = start + 30_000;
    expect(lock.acceptCommand(command({ commandId: 'cmd_3' }))).toMatchObject({ ok: false, reason: 'expired' });
    time.now = start + 121_000;
    expect(lock.lockState()).toBe('LOCKED');
  });

  it('refuses forged, tampered, long-lived and future commands', () => {
    const lock = lockAt({ now: start });
    expect(lock.acceptCommand(command({}, forger))).toMatchObject({ ok: false, reason: 'unknown_key' });
    const genuine = command({ action: 'lock' });
    const body = JSON.parse(Buffer.from(genuine.payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = { ...genuine, payload: Buffer.from(JSON.stringify({ ...body, action: 'unlock', durationSeconds: 86_400 })).toString('base64url') };
    expect(lock.acceptCommand(tampered)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(lock.acceptCommand(command({ commandId: 'cmd_9', expiresAt: start + 3_600_000 }))).toMatchObject({ ok: false, reason: 'too_long_lived' });
    expect(lock.acceptCommand(command({ commandId: 'cmd_8', issuedAt: start + 10 * MIN, expiresAt: start + 10 * MIN + 30_000 }))).toMatchObject({
      ok: false,
      reason: 'issued_in_future',
    });
    // An allow-list signature does not make a command.
    expect(lock.acceptCommand(signer.sign(ALLOWLIST_TYP, {}))).toMatchObject({ ok: false, reason: 'wrong_type' });
    expect(lock.lockState()).toBe('LOCKED');
  });
});
