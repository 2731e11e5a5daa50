import { describe, expect, it } from 'vitest';
import type { AccessEvent, Holder } from '../events.js';
import { given, stateOf } from '../testing/given.js';
import { DOORS, HOUR, KDF, MIN, SITE, SPACES, T0, at, baseSite, siteInitialized } from '../testing/fixtures.js';
import { SITE_WIDE } from './state.js';

const alice: Holder = { type: 'reservation', reservationId: 'res_1', customerId: 'cus_alice' };
const bob: Holder = { type: 'reservation', reservationId: 'res_2', customerId: 'cus_bob' };
const janitor: Holder = { type: 'staff', staffId: 'stf_jani', role: 'janitor' };
const w = (fromH: number, toH: number) => ({ start: T0 + fromH * HOUR, end: T0 + toH * HOUR });
const iso = (ms: number) => new Date(ms).toISOString();

const issued = (credentialId: string, holder: Holder, digest: string, doorIds: string[], windows: { start: number; end: number }[], allDoors = false): AccessEvent => ({
  type: 'CredentialIssued',
  data: {
    siteId: SITE,
    credentialId,
    method: 'pin',
    holder,
    secretDigest: digest,
    offlineDigest: `${digest}-offline`,
    doorIds: allDoors ? [] : doorIds,
    allDoors,
    windows: windows.map((x) => ({ start: iso(x.start), end: iso(x.end) })),
    reason: 'test',
    by: 'system:test',
  },
});

const issue = (credentialId: string, holder: Holder, digest: string, doorIds: string[], windows: { start: number; end: number }[], allDoors = false) => ({
  type: 'IssueCredential' as const,
  data: { credentialId, method: 'pin' as const, holder, secretDigest: digest, offlineDigest: `${digest}-offline`, doorIds, allDoors, windows, reason: 'test' },
  meta: at(T0, 'system:test'),
});

describe('access decider', () => {
  describe('before the site is initialised', () => {
    it('refuses everything but initialisation', () => {
      given([]).when({ type: 'RegisterDoor', data: { doorId: 'd1', spaceId: 's1', name: 'Door' }, meta: at(T0) }).thenFails('SITE_NOT_INITIALIZED');
      given([]).when({ type: 'InitializeSite', data: { siteId: SITE, kdf: KDF }, meta: at(T0) }).then([siteInitialized]);
    });

    it('initialises a site once', () => {
      given([siteInitialized]).when({ type: 'InitializeSite', data: { siteId: SITE, kdf: KDF }, meta: at(T0) }).thenFails('ALREADY_EXISTS');
    });
  });

  describe('doors', () => {
    it('registers a door on a space, once', () => {
      given([siteInitialized])
        .when({ type: 'RegisterDoor', data: { doorId: 'door_x', spaceId: SPACES.hall, name: 'Side door' }, meta: at(T0) })
        .then([{ type: 'DoorRegistered', data: { siteId: SITE, doorId: 'door_x', spaceId: SPACES.hall, name: 'Side door', by: 'staff:stf_admin' } }]);
      given(baseSite).when({ type: 'RegisterDoor', data: { doorId: DOORS.hall, spaceId: SPACES.hall, name: 'Again' }, meta: at(T0) }).thenFails('ALREADY_EXISTS');
    });

    it('does not reuse the id of a removed door, and wants a reason to remove one', () => {
      given(baseSite).when({ type: 'RemoveDoor', data: { doorId: DOORS.sauna, reason: '' }, meta: at(T0) }).thenFails('VALIDATION_FAILED');
      const removed: AccessEvent = { type: 'DoorRemoved', data: { siteId: SITE, doorId: DOORS.sauna, reason: 'wall rebuilt', by: 'staff:stf_admin' } };
      given([...baseSite, removed])
        .when({ type: 'RegisterDoor', data: { doorId: DOORS.sauna, spaceId: SPACES.sauna, name: 'New sauna door' }, meta: at(T0) })
        .thenFails('ALREADY_EXISTS');
    });
  });

  describe('devices', () => {
    it('provisions a lock for a registered door only', () => {
      given(baseSite)
        .when({ type: 'ProvisionDevice', data: { deviceId: 'dev_l1', kind: 'lock', doorId: DOORS.hall, name: 'Hall lock', secretDigest: 'digest-of-secret-1' }, meta: at(T0) })
        .then((events) => expect(events[0]).toMatchObject({ type: 'DeviceProvisioned', data: { deviceId: 'dev_l1', kind: 'lock', doorId: DOORS.hall } }));
      given(baseSite)
        .when({ type: 'ProvisionDevice', data: { deviceId: 'dev_l2', kind: 'lock', doorId: 'door_nowhere', name: 'Lock', secretDigest: 'digest-of-secret-2' }, meta: at(T0) })
        .thenFails('UNKNOWN_DOOR');
      given(baseSite)
        .when({ type: 'ProvisionDevice', data: { deviceId: 'dev_l3', kind: 'lock', name: 'Lock', secretDigest: 'digest-of-secret-3' }, meta: at(T0) })
        .thenFails('VALIDATION_FAILED', (e) => expect(e.field).toBe('doorId'));
    });

    it('keeps only the fields of the device kind', () => {
      given(baseSite)
        .when({ type: 'ProvisionDevice', data: { deviceId: 'dev_s1', kind: 'occupancy_sensor', spaceId: SPACES.hall, doorId: DOORS.hall, name: 'PIR', secretDigest: 'digest-of-secret-4' }, meta: at(T0) })
        .then((events) => expect(events[0]?.data).not.toHaveProperty('doorId'));
    });

    it('refuses to decommission a device twice', () => {
      const provisioned: AccessEvent = {
        type: 'DeviceProvisioned',
        data: { siteId: SITE, deviceId: 'dev_l1', kind: 'lock', doorId: DOORS.hall, name: 'Hall lock', secretDigest: 'digest-of-secret-1', by: 'x' },
      };
      const gone: AccessEvent = { type: 'DeviceDecommissioned', data: { siteId: SITE, deviceId: 'dev_l1', reason: 'broken', by: 'x' } };
      given([...baseSite, provisioned, gone]).when({ type: 'DecommissionDevice', data: { deviceId: 'dev_l1', reason: 'again' }, meta: at(T0) }).thenFails('INVALID_STATE');
      given([...baseSite, provisioned, gone]).when({ type: 'RotateDeviceSecret', data: { deviceId: 'dev_l1', secretDigest: 'new-digest-xxxxxxx' }, meta: at(T0) }).thenFails('INVALID_STATE');
    });
  });

  describe('credentials', () => {
    it('issues a credential with its doors and merged windows', () => {
      given(baseSite)
        .when(issue('crd_1', alice, 'digest-A', [DOORS.hall, DOORS.entrance], [w(0, 1), w(1, 2), w(5, 6)]))
        .then((events) =>
          expect(events[0]).toMatchObject({
            type: 'CredentialIssued',
            data: { doorIds: [DOORS.entrance, DOORS.hall], windows: [{ start: iso(T0), end: iso(T0 + 2 * HOUR) }, { start: iso(T0 + 5 * HOUR), end: iso(T0 + 6 * HOUR) }] },
          }),
        );
    });

    it('gives a holder one live credential', () => {
      given([...baseSite, issued('crd_1', alice, 'digest-A', [DOORS.hall], [w(0, 1)])])
        .when(issue('crd_2', alice, 'digest-B', [DOORS.hall], [w(0, 1)]))
        .thenFails('ALREADY_EXISTS', (e) => expect(e.details).toEqual({ credentialId: 'crd_1' }));
    });

    it('refuses a code already valid at one of the doors at an overlapping time', () => {
      const history = [...baseSite, issued('crd_1', alice, 'digest-A', [DOORS.entrance, DOORS.hall], [w(0, 2)])];
      given(history).when(issue('crd_2', bob, 'digest-A', [DOORS.entrance, DOORS.sauna], [w(1, 3)])).thenFails('CODE_COLLISION');
      // The same code elsewhere, or at another time, is fine.
      given(history).when(issue('crd_2', bob, 'digest-A', [DOORS.sauna], [w(1, 3)])).then((e) => expect(e).toHaveLength(1));
      given(history).when(issue('crd_2', bob, 'digest-A', [DOORS.hall], [w(2, 3)])).then((e) => expect(e).toHaveLength(1));
    });

    it('counts a site-wide grant as present at every door', () => {
      const history = [...baseSite, issued('crd_j', janitor, 'digest-J', [], [w(-100, 100)], true)];
      given(history).when(issue('crd_2', bob, 'digest-J', [DOORS.sauna], [w(1, 3)])).thenFails('CODE_COLLISION');
      expect(stateOf(history).index.get(SITE_WIDE)?.get('digest-J')).toEqual(new Set(['crd_j']));
    });

    it('refuses a revoked credential’s code no more', () => {
      const revoked: AccessEvent = { type: 'CredentialRevoked', data: { siteId: SITE, credentialId: 'crd_1', reason: 'cancelled', by: 'x' } };
      given([...baseSite, issued('crd_1', alice, 'digest-A', [DOORS.hall], [w(0, 2)]), revoked])
        .when(issue('crd_2', bob, 'digest-A', [DOORS.hall], [w(0, 2)]))
        .then((e) => expect(e).toHaveLength(1));
    });

    it('moves a credential and changes nothing when nothing moved', () => {
      const history = [...baseSite, issued('crd_1', alice, 'digest-A', [DOORS.hall], [w(0, 2)])];
      given(history)
        .when({ type: 'ChangeCredential', data: { credentialId: 'crd_1', doorIds: [DOORS.hall], windows: [w(0, 2)], reason: 'same' }, meta: at(T0) })
        .then([]);
      const state = given(history)
        .when({ type: 'ChangeCredential', data: { credentialId: 'crd_1', doorIds: [DOORS.sauna], windows: [w(3, 4)], reason: 'moved' }, meta: at(T0) })
        .state();
      expect(state.index.get(DOORS.hall)?.get('digest-A')).toBeUndefined();
      expect(state.index.get(DOORS.sauna)?.get('digest-A')).toEqual(new Set(['crd_1']));
      expect(state.credentials.get('crd_1')?.windows).toEqual([w(3, 4)]);
    });

    it('revokes idempotently and frees the holder', () => {
      const history = [...baseSite, issued('crd_1', alice, 'digest-A', [DOORS.hall], [w(0, 2)])];
      const state = given(history).when({ type: 'RevokeCredential', data: { credentialId: 'crd_1', reason: 'cancelled' }, meta: at(T0) }).state();
      expect(state.byHolder.has('res:res_1')).toBe(false);
      expect(state.index.get(DOORS.hall)?.get('digest-A')).toBeUndefined();
      const again = [...history, { type: 'CredentialRevoked', data: { siteId: SITE, credentialId: 'crd_1', reason: 'cancelled', by: 'x' } } as AccessEvent];
      given(again).when({ type: 'RevokeCredential', data: { credentialId: 'crd_1', reason: 'again' }, meta: at(T0) }).then([]);
      given(again)
        .when({ type: 'ChangeCredential', data: { credentialId: 'crd_1', doorIds: [DOORS.hall], windows: [w(0, 3)], reason: 'x' }, meta: at(T0) })
        .thenFails('INVALID_STATE');
    });

    it('replaces a code only with one free at the credential’s doors and times', () => {
      const history = [...baseSite, issued('crd_1', alice, 'digest-A', [DOORS.hall], [w(0, 2)]), issued('crd_2', bob, 'digest-B', [DOORS.hall], [w(1, 3)])];
      given(history)
        .when({ type: 'RotateCode', data: { credentialId: 'crd_1', secretDigest: 'digest-B', offlineDigest: 'off-B-xxxxxxxxxxxx', reason: 'lost' }, meta: at(T0) })
        .thenFails('CODE_COLLISION');
      const state = given(history)
        .when({ type: 'RotateCode', data: { credentialId: 'crd_1', secretDigest: 'digest-C', offlineDigest: 'off-C-xxxxxxxxxxxx', reason: 'lost' }, meta: at(T0) })
        .state();
      expect(state.credentials.get('crd_1')).toMatchObject({ secretDigest: 'digest-C', codeVersion: 2, handedOver: false });
    });
  });

  describe('allow-lists', () => {
    it('records versions one after another', () => {
      const publish = (version: number) => ({
        type: 'RecordAllowListPublished' as const,
        data: { doorId: DOORS.hall, version, issuedAt: T0, expiresAt: T0 + HOUR, entries: 0, sha256: 'abc' },
        meta: at(T0),
      });
      given(baseSite).when(publish(1)).then((e) => expect(e[0]).toMatchObject({ type: 'AllowListPublished', data: { version: 1 } }));
      given(baseSite).when(publish(2)).thenFails('ALLOWLIST_VERSION_CONFLICT', (e) => expect(e.details).toEqual({ current: 0 }));
    });
  });

  describe('door commands', () => {
    it('needs a reason, a duration for an unlock, and a short expiry', () => {
      const unlock = (data: Partial<{ durationSeconds: number; ttlSeconds: number; reason: string }>) => ({
        type: 'IssueDoorCommand' as const,
        data: { commandId: 'cmd_1', doorId: DOORS.hall, action: 'unlock' as const, ttlSeconds: 30, reason: 'delivery of mats', durationSeconds: 60, ...data },
        meta: at(T0, 'staff:stf_ville'),
      });
      given(baseSite).when(unlock({ reason: ' ' })).thenFails('VALIDATION_FAILED');
      given(baseSite).when(unlock({ durationSeconds: 0 })).thenFails('VALIDATION_FAILED');
      given(baseSite).when(unlock({ ttlSeconds: 3600 })).thenFails('VALIDATION_FAILED');
      given(baseSite)
        .when(unlock({}))
        .then([
          {
            type: 'DoorCommandIssued',
            data: {
              siteId: SITE,
              doorId: DOORS.hall,
              commandId: 'cmd_1',
              action: 'unlock',
              durationSeconds: 60,
              issuedAt: iso(T0),
              expiresAt: iso(T0 + 30_000),
              emergency: false,
              reason: 'delivery of mats',
              by: 'staff:stf_ville',
            },
          },
        ]);
    });

    it('opens every door in an emergency, once, and locks them when it ends', () => {
      const start = given(baseSite).when({ type: 'StartEmergencyOpen', data: { commandId: 'cmd_e', ttlSeconds: 30, reason: 'fire alarm' }, meta: at(T0, 'staff:stf_ville') });
      const events = start.then((e) => e);
      expect(events[0]).toMatchObject({ type: 'EmergencyOpenStarted', data: { by: 'staff:stf_ville', reason: 'fire alarm' } });
      expect(events.slice(1).map((e) => [e.type, (e.data as { doorId: string; action: string }).doorId, (e.data as { action: string }).action])).toEqual([
        ['DoorCommandIssued', DOORS.entrance, 'unlock'],
        ['DoorCommandIssued', DOORS.hall, 'unlock'],
        ['DoorCommandIssued', DOORS.sauna, 'unlock'],
      ]);
      const during = [...baseSite, ...events];
      given(during).when({ type: 'StartEmergencyOpen', data: { commandId: 'cmd_f', ttlSeconds: 30, reason: 'again' }, meta: at(T0) }).thenFails('INVALID_STATE');
      given(during)
        .when({ type: 'EndEmergencyOpen', data: { commandId: 'cmd_g', ttlSeconds: 30, reason: 'all clear' }, meta: at(T0 + HOUR) })
        .then((e) => expect(e.map((x) => x.type)).toEqual(['EmergencyOpenEnded', 'DoorCommandIssued', 'DoorCommandIssued', 'DoorCommandIssued']));
      given(baseSite).when({ type: 'EndEmergencyOpen', data: { commandId: 'cmd_g', ttlSeconds: 30, reason: 'all clear' }, meta: at(T0) }).thenFails('INVALID_STATE');
    });
  });

  describe('keys', () => {
    const key: AccessEvent = { type: 'KeyRegistered', data: { siteId: SITE, keyId: 'key_1', label: 'Sauna key 1', doorIds: [DOORS.sauna], by: 'x' } };
    const lent: AccessEvent = { type: 'KeyLent', data: { siteId: SITE, keyId: 'key_1', loanId: 'loan_1', holder: alice, dueAt: iso(T0 + 2 * HOUR), by: 'x' } };

    it('registers keys for registered doors', () => {
      given(baseSite).when({ type: 'RegisterKey', data: { keyId: 'key_1', label: 'Key', doorIds: ['door_nowhere'] }, meta: at(T0) }).thenFails('UNKNOWN_DOOR');
    });

    it('lends a key once, into the future', () => {
      given([...baseSite, key]).when({ type: 'LendKey', data: { keyId: 'key_1', loanId: 'loan_1', holder: alice, dueAt: T0 - MIN }, meta: at(T0) }).thenFails('VALIDATION_FAILED');
      given([...baseSite, key, lent]).when({ type: 'LendKey', data: { keyId: 'key_1', loanId: 'loan_2', holder: bob, dueAt: T0 + HOUR }, meta: at(T0) }).thenFails('INVALID_STATE');
    });

    it('raises an alert for a key not returned when due, once', () => {
      const history = [...baseSite, key, lent];
      given(history).when({ type: 'FlagOverdueKeys', data: {}, meta: at(T0 + 2 * HOUR - 1) }).then([]);
      const events = given(history).when({ type: 'FlagOverdueKeys', data: {}, meta: at(T0 + 2 * HOUR) }).then((e) => e);
      expect(events.map((e) => e.type)).toEqual(['KeyOverdue', 'AccessAlertRaised']);
      expect(events[1]?.data).toMatchObject({ alert: 'key_overdue', keyId: 'key_1' });
      given([...history, ...events]).when({ type: 'FlagOverdueKeys', data: {}, meta: at(T0 + 3 * HOUR) }).then([]);
      const returned: AccessEvent = { type: 'KeyReturned', data: { siteId: SITE, keyId: 'key_1', loanId: 'loan_1', at: iso(T0 + HOUR), by: 'x' } };
      given([...history, returned]).when({ type: 'FlagOverdueKeys', data: {}, meta: at(T0 + 3 * HOUR) }).then([]);
    });

    it('marks a lost key and re-keys its doors with a replacement', () => {
      const state = given([...baseSite, key, lent])
        .when({ type: 'MarkKeyLost', data: { keyId: 'key_1', reason: 'customer lost it in the sea', replacement: { keyId: 'key_2', label: 'Sauna key 2' } }, meta: at(T0) })
        .state();
      expect(state.keys.get('key_1')?.status).toBe('lost');
      expect(state.keys.get('key_2')?.status).toBe('available');
      expect([...(state.doors.get(DOORS.sauna)?.keyIds ?? [])]).toEqual(['key_2']);
      expect(state.loans.get('loan_1')?.returnedAt).toBeDefined();
    });
  });
});
