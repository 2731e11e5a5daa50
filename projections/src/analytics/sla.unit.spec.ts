/**
 * Service level figures with hand-checked numbers: the handling promise
 * (decided in time, decided late, waiting past the promise, withdrawn), door
 * command round trips (answered, late, never answered) and the share of time
 * devices were on line.
 */
import { describe, expect, it } from 'vitest';
import { STAFF, definePark, harness } from '../testing/harness.js';

const H = 3_600_000;
const T0 = Date.parse('2027-03-01T07:00:00Z'); // Monday 09:00 in Helsinki

describe('SLA', () => {
  it('judges handling against the promise, and door commands and devices as they report', { timeout: 0 }, async () => {
    const h = await harness({ start: T0 });
    try {
      await definePark(h);
      const request = async (id: string, day: number) => {
        h.setNow(T0);
        const o = await h.exec({
          type: 'RequestReservation',
          data: { reservationId: id, unitId: 'unt_meeting', customer: { customerId: 'cus_ann', customerGroupId: 'grp_residents', freeOfCharge: false }, start: Date.parse(`2027-03-${10 + day}T10:00:00Z`), end: Date.parse(`2027-03-${10 + day}T11:00:00Z`), kind: 'normal', confirm: true },
          meta: { actor: { kind: 'customer', customerId: 'cus_ann' } },
        });
        expect(o.ok && o.events.some((e) => e.type === 'ReservationHandlingRequired')).toBe(true);
      };
      await request('res_fast', 0); // approved after 5 h
      await request('res_slow', 1); // denied after 80 h
      await request('res_waiting', 2); // still waiting
      await request('res_withdrawn', 3); // cancelled by the customer before a decision
      h.setNow(T0 + 5 * H);
      await h.exec({ type: 'ApproveReservation', data: { reservationId: 'res_fast' }, meta: { actor: STAFF } });
      h.setNow(T0 + 10 * H);
      await h.exec({ type: 'CancelReservation', data: { reservationId: 'res_withdrawn', reason: '' }, meta: { actor: { kind: 'customer', customerId: 'cus_ann' } } });
      h.setNow(T0 + 80 * H);
      await h.exec({ type: 'DenyReservation', data: { reservationId: 'res_slow', reason: 'no' }, meta: { actor: STAFF } });

      const iso = (ms: number) => new Date(ms).toISOString();
      const command = (id: string, at: number) => ({
        type: 'DoorCommandIssued',
        data: { siteId: 'sit_park', doorId: 'door_1', commandId: id, action: 'unlock', issuedAt: iso(at), expiresAt: iso(at + 60_000), emergency: false, reason: '', by: 'staff:stf_test' },
      });
      const done = (id: string, at: number) => ({
        type: 'DoorEventReported',
        data: { siteId: 'sit_park', doorId: 'door_1', event: 'command_done', at: iso(at), receivedAt: iso(at), commandId: id },
      });
      await h.log('sit_park', [command('cmd_1', T0), command('cmd_2', T0 + H), command('cmd_3', T0 + 2 * H)]);
      await h.log('sit_park', [done('cmd_1', T0 + 500), done('cmd_2', T0 + H + 5000)]);
      await h.log('sit_park', [
        { type: 'DeviceProvisioned', data: { siteId: 'sit_park', deviceId: 'dev_lock', kind: 'lock', doorId: 'door_1', name: 'Lock', secretDigest: 'x'.repeat(32), by: 'staff:stf_test' } },
        { type: 'DeviceConnectivityChanged', data: { siteId: 'sit_park', deviceId: 'dev_lock', online: true, at: iso(T0), reason: 'connected' } },
        { type: 'DeviceConnectivityChanged', data: { siteId: 'sit_park', deviceId: 'dev_lock', online: false, at: iso(T0 + 6 * H), reason: 'last will' } },
        { type: 'DeviceConnectivityChanged', data: { siteId: 'sit_park', deviceId: 'dev_lock', online: false, at: iso(T0 + 7 * H), reason: 'repeated' } },
        { type: 'DeviceConnectivityChanged', data: { siteId: 'sit_park', deviceId: 'dev_lock', online: true, at: iso(T0 + 8 * H), reason: 'back' } },
      ]);
      await h.sync();

      const asOf = T0 + 100 * H;
      const sla = h.read.sla({ from: '2027-03-01', to: '2027-03-01', groupBy: [], asOf, promiseHours: 72 });
      expect(sla.handling.totals).toEqual({
        requests: 4,
        decided: 2,
        approved: 1,
        denied: 1,
        withdrawn: 1,
        pending: 1,
        overduePending: 1,
        decidedWithinPromise: 1,
        // In time: res_fast. Broken: res_slow (late) and res_waiting (past 72 h and counting).
        withinPromiseShare: 0.3333,
        medianHoursToDecision: 5,
        p90HoursToDecision: 80,
      });
      // Judged as of two days in, only res_fast was decided and nothing was overdue yet.
      const early = h.read.sla({ from: '2027-03-01', to: '2027-03-01', groupBy: [], asOf: T0 + 48 * H, promiseHours: 72 });
      expect(early.handling.totals).toMatchObject({ decided: 1, pending: 2, overduePending: 0, withdrawn: 1, withinPromiseShare: 1 });

      expect(sla.doorCommands).toEqual({
        promiseMs: 3000,
        issued: 3,
        done: 2,
        rejected: 0,
        unanswered: 1,
        withinPromise: 1,
        withinPromiseShare: 0.3333,
        medianRoundTripMs: 500,
        p95RoundTripMs: 5000,
      });
      // The day 00:00-24:00 Helsinki; tracked from 09:00: on line 6 h, off 2 h, on line again for the rest of the day (7 h).
      expect(sla.devices.trackedHours).toBe(15);
      expect(sla.devices.onlineShare).toBeCloseTo(13 / 15, 4);
      expect(sla.devices.byKind).toEqual([{ kind: 'lock', onlineShare: 0.8667, trackedHours: 15 }]);
    } finally {
      await h.close();
    }
  });
});
