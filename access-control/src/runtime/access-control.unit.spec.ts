/**
 * Access control running against the booking engine over an in-memory
 * store: reservations become credentials, codes reach the mailer, changes
 * move or revoke them at once, allow-lists follow, and a restart keeps it all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALLOWLIST_TYP, DOOR_COMMAND_TYP, TrustedKeys, type FlattenedJws } from '../crypto/jws.js';
import type { AllowList, DoorCommand } from '../allowlist/document.js';
import { LockController } from '../lock/lock.js';
import { DOORS, HOUR, MIN, SITE, SPACES, T0 } from '../testing/fixtures.js';
import { UNITS, openHarness, type Harness } from '../testing/harness.js';
import type { AccessOutbound } from './access-control.js';

const DAY = 24 * HOUR;
const start = T0 + 2 * DAY;
const end = start + 2 * HOUR;

/** Captures what would go to the broker. */
class Captured implements AccessOutbound {
  readonly lists = new Map<string, FlattenedJws | null>();
  readonly commands: { doorId: string; jws: FlattenedJws }[] = [];
  readonly disconnected: string[] = [];
  allowList(_siteId: string, doorId: string, jws: FlattenedJws | null): void {
    this.lists.set(doorId, jws);
  }
  doorCommand(_siteId: string, doorId: string, jws: FlattenedJws): void {
    this.commands.push({ doorId, jws });
  }
  disconnectDevice(deviceId: string): void {
    this.disconnected.push(deviceId);
  }
}

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const request = (pin: string, id: string) => JSON.stringify({ requestId: id, method: 'pin', pin });

function listOf(out: Captured, keys: TrustedKeys, doorId: string): AllowList {
  const v = keys.verify(out.lists.get(doorId), ALLOWLIST_TYP);
  if (!v.ok) throw new Error(`allow-list of ${doorId}: ${v.reason}`);
  return v.payload as AllowList;
}

async function setUp(): Promise<{ out: Captured; keys: TrustedKeys }> {
  h = await openHarness({ now: T0 });
  const out = new Captured();
  h.access.attach(out);
  await h.registerDoors();
  await h.settle();
  return { out, keys: new TrustedKeys([h.signer.publicJwk]) };
}

describe('access control with the booking engine', () => {
  it('issues a code for a confirmed access-code reservation, valid at the doors on the path to its space', async () => {
    const { out, keys } = await setUp();
    await h.book('res_1', UNITS.hallA, start, end);
    await h.settle();
    const c = h.access.credentialOf(SITE, 'res:res_1');
    expect(c?.doorIds).toEqual([DOORS.entrance, DOORS.hall]);
    expect(c?.windows).toEqual([{ start: start - 15 * MIN, end: end + 15 * MIN }]);
    const message = h.mailer.messages.find((m) => m.credentialId === c?.credentialId);
    expect(message).toMatchObject({ customerId: 'cus_club', reservationIds: ['res_1'], reason: 'issued' });
    expect(message?.code).toMatch(/^\d{6}$/);
    expect(message?.doors.map((d) => d.name)).toEqual(['Main entrance', 'Hall door']);
    expect(c?.handedOver).toBe(true);
    // The code is nowhere in the event store.
    const all = JSON.stringify(await h.store.readAll({ after: 0 }));
    expect(all).not.toContain(`"${message?.code}"`);
    // It opens the hall door in its window, not the sauna.
    h.clock.now = start;
    expect(h.access.authorize(SITE, DOORS.hall, request(message?.code ?? '', 'req_000001'))).toMatchObject({ kind: 'decided', response: { granted: true } });
    expect(h.access.authorize(SITE, DOORS.sauna, request(message?.code ?? '', 'req_000002'))).toMatchObject({ kind: 'decided', response: { granted: false } });
    // The allow-lists of both doors carry it; the sauna's does not.
    expect(listOf(out, keys, DOORS.hall).entries.map((e) => e.id)).toEqual([c?.credentialId]);
    expect(listOf(out, keys, DOORS.entrance).entries.map((e) => e.id)).toEqual([c?.credentialId]);
    expect(listOf(out, keys, DOORS.sauna).entries).toEqual([]);
  });

  it('issues nothing for a unit opened with a physical key', async () => {
    await setUp();
    await h.book('res_k', UNITS.keyed, start, end);
    await h.settle();
    expect(h.access.credentialOf(SITE, 'res:res_k')).toBeUndefined();
    expect(h.mailer.messages).toEqual([]);
  });

  it('revokes the code at once when the reservation is cancelled, on line and in the allow-list', async () => {
    const { out, keys } = await setUp();
    await h.book('res_1', UNITS.sauna, start, end);
    await h.settle();
    const c = h.access.credentialOf(SITE, 'res:res_1');
    const code = h.mailer.codeFor(c?.credentialId ?? '') ?? '';
    const before = listOf(out, keys, DOORS.sauna);
    expect(before.entries).toHaveLength(1);
    await h.cancel('res_1');
    await h.settle();
    expect(h.access.credentialOf(SITE, 'res:res_1')).toBeUndefined();
    expect(h.access.state(SITE)?.credentials.get(c?.credentialId ?? '')).toMatchObject({ revoked: true, revokedReason: 'reservation res_1 cancelled: plans changed' });
    h.clock.now = start;
    expect(h.access.authorize(SITE, DOORS.sauna, request(code, 'req_000003'))).toMatchObject({ response: { granted: false, reason: 'unknown_credential' } });
    const after = listOf(out, keys, DOORS.sauna);
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.entries).toEqual([]);
  });

  it('moves the code with the reservation, same code', async () => {
    await setUp();
    await h.book('res_1', UNITS.sauna, start, end);
    await h.settle();
    const c = h.access.credentialOf(SITE, 'res:res_1');
    await h.move('res_1', start + DAY, end + DAY);
    await h.settle();
    const moved = h.access.credentialOf(SITE, 'res:res_1');
    expect(moved?.credentialId).toBe(c?.credentialId);
    expect(moved?.windows).toEqual([{ start: start + DAY - 15 * MIN, end: end + DAY + 15 * MIN }]);
    const code = h.mailer.codeFor(c?.credentialId ?? '') ?? '';
    h.clock.now = start;
    expect(h.access.authorize(SITE, DOORS.sauna, request(code, 'req_000004'))).toMatchObject({ response: { granted: false, reason: 'not_yet_valid' } });
    h.clock.now = start + DAY;
    expect(h.access.authorize(SITE, DOORS.sauna, request(code, 'req_000005'))).toMatchObject({ response: { granted: true } });
    expect(h.mailer.messages).toHaveLength(1);
  });

  it('gives a series one code for all its occurrences', async () => {
    await setUp();
    const outcome = await h.engine.execute({
      type: 'CreateSeries',
      data: {
        seriesId: 'ser_1',
        unitId: UNITS.hallA,
        customer: { customerId: 'cus_club', customerGroupId: 'grp_free', freeOfCharge: true },
        pattern: { weekdays: [3], startTime: '18:00', endTime: '19:30', fromDate: '2027-01-13', toDate: '2027-02-03', everyWeeks: 1 },
        kind: 'seasonal',
      },
      meta: { actor: { kind: 'staff', staffId: 'stf_desk' } },
    });
    expect(outcome.ok ? 'ok' : outcome.error.message).toBe('ok');
    await h.settle();
    const c = h.access.credentialOf(SITE, 'ser:ser_1');
    expect(c?.holder).toEqual({ type: 'series', seriesId: 'ser_1', customerId: 'cus_club' });
    expect(c?.windows).toHaveLength(4);
    expect(h.mailer.messages).toHaveLength(1);
    expect(h.mailer.messages[0]?.reservationIds).toHaveLength(4);
    // Cancelling the series from a date drops those windows, keeps the code.
    const cancel = await h.engine.execute(
      { type: 'CancelSeries', data: { seriesId: 'ser_1', fromDate: '2027-01-27', reason: 'season ended early' }, meta: { actor: { kind: 'staff', staffId: 'stf_desk' } } },
      { siteId: SITE },
    );
    expect(cancel.ok ? 'ok' : cancel.error.message).toBe('ok');
    await h.settle();
    expect(h.access.credentialOf(SITE, 'ser:ser_1')?.windows).toHaveLength(2);
  });

  it('sends commands signed, and an emergency open to every door, with who and why', async () => {
    const { out, keys } = await setUp();
    const unlocked = await h.access.doorCommand(SITE, DOORS.hall, { action: 'unlock', durationSeconds: 600, reason: 'caretaker lets in the floor cleaners' }, 'staff:stf_ville');
    expect(unlocked.ok).toBe(true);
    await h.settle();
    const cmd = keys.verify(out.commands[0]?.jws, DOOR_COMMAND_TYP);
    expect(cmd).toMatchObject({ ok: true, payload: { doorId: DOORS.hall, action: 'unlock', durationSeconds: 600, emergency: false } });
    const lock = new LockController({ siteId: SITE, doorId: DOORS.hall, trustedKeys: [h.signer.publicJwk], clock: () => h.clock.now });
    expect(lock.acceptCommand(out.commands[0]?.jws as FlattenedJws)).toMatchObject({ ok: true });
    expect(lock.acceptCommand(out.commands[0]?.jws as FlattenedJws)).toMatchObject({ ok: false, reason: 'replayed' });

    const emergency = await h.access.startEmergencyOpen(SITE, { reason: 'fire alarm in the boiler room' }, 'staff:stf_ville');
    expect(emergency.ok && emergency.value.commandIds).toHaveLength(3);
    await h.settle();
    expect(out.commands.slice(1).map((c) => c.doorId).sort()).toEqual([DOORS.entrance, DOORS.hall, DOORS.sauna]);
    expect(listOf(out, keys, DOORS.sauna).emergency).toEqual({ since: h.clock.now, until: null });
    const audit = (await h.store.readStream(`access-${SITE}`)).filter((e) => e.type === 'DoorCommandIssued' || e.type === 'EmergencyOpenStarted');
    expect(audit.map((e) => [e.type, (e.data as { by: string }).by, (e.data as { reason: string }).reason])).toContainEqual([
      'EmergencyOpenStarted',
      'staff:stf_ville',
      'fire alarm in the boiler room',
    ]);
    expect((out.commands[0] && (keys.verify(out.commands[0].jws, DOOR_COMMAND_TYP) as { payload: DoorCommand }).payload.expiresAt) ?? 0).toBe(h.clock.now + 30_000);
  });

  it('flags a key not returned in time, once', async () => {
    await setUp();
    await h.book('res_1', UNITS.sauna, start, end);
    await h.settle();
    await h.access.registerKey(SITE, { keyId: 'key_sauna', label: 'Sauna key', doorIds: [DOORS.sauna] }, 'staff:stf_desk');
    const lent = await h.access.lendKey(SITE, 'key_sauna', { reservationId: 'res_1' }, 'staff:stf_desk');
    expect(lent).toMatchObject({ ok: true, value: { dueAt: new Date(end + 15 * MIN).toISOString() } });
    for (const t of [end, end + 15 * MIN - 1, end + 15 * MIN, end + 20 * MIN]) {
      h.clock.now = t;
      await h.access.tick();
    }
    const alerts = (await h.store.readStream(`access-${SITE}`)).filter((e) => e.type === 'AccessAlertRaised');
    expect(alerts.map((e) => (e.data as { alert: string }).alert)).toEqual(['key_overdue']);
  });

  it('keeps credentials across a restart and replaces a code that never reached the customer', async () => {
    await setUp();
    h.mailer.failNext = 1;
    await h.book('res_1', UNITS.sauna, start, end);
    await h.settle();
    const c = h.access.credentialOf(SITE, 'res:res_1');
    expect(c?.handedOver).toBe(false);
    expect(h.mailer.messages).toHaveLength(0);
    const access = await h.reopenAccess();
    access.useMailer(h.mailer);
    await h.settle();
    const again = access.credentialOf(SITE, 'res:res_1');
    expect(again?.credentialId).toBe(c?.credentialId);
    expect(again?.codeVersion).toBe(2);
    expect(again?.handedOver).toBe(true);
    expect(h.mailer.messages.map((m) => m.reason)).toEqual(['replaced']);
    h.clock.now = start;
    expect(access.authorize(SITE, DOORS.sauna, request(h.mailer.messages[0]?.code ?? '', 'req_000009'))).toMatchObject({ response: { granted: true } });
    // The restart issued nothing twice.
    expect([...(access.state(SITE)?.credentials.values() ?? [])]).toHaveLength(1);
  });

  it('records door events, state changes and alerts in the access log, and rejects bad reports with a reason', async () => {
    await setUp();
    expect(h.access.reportDoorEvent(SITE, DOORS.hall, JSON.stringify({ type: 'forced', at: h.clock.now }))).toEqual({ ok: true });
    expect(h.access.reportDoorEvent(SITE, DOORS.hall, JSON.stringify({ type: 'opened' }))).toEqual({ ok: true });
    expect(h.access.reportDoorState(SITE, DOORS.hall, JSON.stringify({ state: 'LOCKED', online: true }))).toEqual({ ok: true });
    expect(h.access.reportDoorState(SITE, DOORS.hall, JSON.stringify({ state: 'UNKNOWN', online: false }))).toEqual({ ok: true });
    expect(h.access.reportDoorEvent(SITE, DOORS.hall, '{"type":"exploded"}')).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(h.access.reportDoorEvent(SITE, 'door_nope', '{"type":"opened"}')).toMatchObject({ ok: false, reason: 'unknown_door' });
    expect(h.access.reportDoorEvent(SITE, DOORS.hall, JSON.stringify({ type: 'opened', at: h.clock.now - HOUR }))).toMatchObject({ ok: false, reason: 'clock_skew' });
    await h.settle();
    const log = await h.access.accessLog(SITE);
    expect(log.map((e) => e.type)).toEqual(['DoorEventReported', 'AccessAlertRaised', 'DoorEventReported', 'DoorStateReported', 'DoorStateReported', 'AccessAlertRaised']);
    expect(log.filter((e) => e.type === 'AccessAlertRaised').map((e) => (e.data as { alert: string }).alert)).toEqual(['door_forced', 'device_offline']);
  });

  it('debounces occupancy readings (zigbee2mqtt style too) into intervals in the access log', async () => {
    await setUp();
    const t = h.clock.now;
    const read = (minute: number, payload: object) => {
      h.clock.now = t + minute * MIN;
      return h.access.reportOccupancy(SITE, SPACES.hall, JSON.stringify(payload), 'dev_pir');
    };
    expect(read(0, { occupancy: true })).toEqual({ ok: true });
    expect(read(10, { people_count: 7 })).toEqual({ ok: true });
    expect(read(20, { presence: false, people_count: 0 })).toEqual({ ok: true });
    expect(read(21, { banana: true })).toMatchObject({ ok: false, reason: 'invalid_payload' });
    expect(h.access.reportOccupancy(SITE, 'spc_nowhere', '{"occupancy":true}')).toMatchObject({ ok: false, reason: 'unknown_space' });
    h.clock.now = t + 30 * MIN;
    await h.access.tick();
    await h.settle();
    const intervals = (await h.access.accessLog(SITE)).filter((e) => e.type === 'SpaceOccupancyRecorded');
    expect(intervals.map((e) => e.data)).toEqual([
      { siteId: SITE, spaceId: SPACES.hall, start: new Date(t).toISOString(), end: new Date(t + 20 * MIN).toISOString(), peakPeopleCount: 7, sensorIds: ['dev_pir'] },
    ]);
  });
});
