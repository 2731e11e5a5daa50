import type { RecordedEvent } from '@vuoro/engine';
import { describe, expect, it } from 'vitest';
import { derive, reminderAt, type ReservationInfo } from './derive.js';

let position = 0;
const event = (type: string, data: Record<string, unknown>, metadata: Record<string, unknown> = {}): RecordedEvent => ({
  stream: 'site-sit_park',
  version: ++position,
  position,
  type,
  data,
  schemaVersion: 1,
  metadata: { recordedAt: '2027-01-04T08:00:00.000Z', decidedAt: '2027-01-04T08:00:00.000Z', ...metadata },
});

const requested = event(
  'ReservationRequested',
  { reservationId: 'res_1', unitId: 'unt_a', customerId: 'cus_a', start: '2027-01-11T16:00:00.000Z', end: '2027-01-11T17:00:00.000Z', price: { amountCents: 2000 } },
  { channel: 'chn_web' },
);

function known(): ReservationInfo {
  const d = derive(requested, undefined, { reminderHour: 10 });
  if (d.info === undefined) throw new Error('no info');
  return d.info;
}

describe('messages derived from events', () => {
  it('learns who made a reservation from its first event, and sends nothing yet', () => {
    const d = derive(requested, undefined, { reminderHour: 10 });
    expect(d.messages).toEqual([]);
    expect(d.info).toMatchObject({ reservationId: 'res_1', channelId: 'chn_web', siteId: 'sit_park', state: 'requested', amountCents: 2000 });
  });

  it('confirms, and schedules a reminder at 10:00 Helsinki time the day before', () => {
    const d = derive(event('ReservationConfirmed', { reservationId: 'res_1' }), known(), { reminderHour: 10 });
    expect(d.messages.map((m) => [m.type, new Date(m.deliverAt).toISOString()])).toEqual([
      ['reservation.confirmed', '2027-01-04T08:00:00.000Z'],
      ['reservation.reminder', '2027-01-10T08:00:00.000Z'],
    ]);
    expect(d.messages[0]?.payload).toMatchObject({ type: 'reservation.confirmed', reservation: { start: '2027-01-11T18:00:00.000+02:00', state: 'confirmed' } });
  });

  it('sends no reminder when the day before has already passed', () => {
    const soon = { ...known(), start: Date.parse('2027-01-04T16:00:00Z') };
    const d = derive(event('ReservationConfirmed', { reservationId: 'res_1' }), soon, { reminderHour: 10 });
    expect(d.messages.map((m) => m.type)).toEqual(['reservation.confirmed']);
  });

  it('tells of cancellations, denials and expiries alike, and cancels the pending reminder', () => {
    for (const [type, reason] of [
      ['ReservationCancelled', 'cancelled'],
      ['ReservationDenied', 'denied'],
      ['ReservationExpired', 'expired'],
    ] as const) {
      const d = derive(event(type, { reservationId: 'res_1', reason: type === 'ReservationExpired' ? 'payment' : 'busy', by: 'staff:x' }), known(), { reminderHour: 10 });
      expect(d.messages.map((m) => [m.type, m.payload.reason])).toEqual([['reservation.cancelled', reason]]);
      expect(d.cancelReminders).toBe('res_1');
    }
  });

  it('moves the reminder with the reservation', () => {
    const confirmed = { ...known(), state: 'confirmed' };
    const d = derive(event('ReservationModified', { reservationId: 'res_1', start: '2027-01-20T16:00:00.000Z', end: '2027-01-20T17:00:00.000Z', price: { amountCents: 2000 } }), confirmed, { reminderHour: 10 });
    expect(d.cancelReminders).toBe('res_1');
    expect(d.messages.map((m) => m.type)).toEqual(['reservation.changed', 'reservation.reminder']);
  });

  it('sends nothing for reservations no channel made, and ignores the directory', () => {
    const system = derive({ ...requested, metadata: { ...requested.metadata, channel: 'system' } }, undefined, { reminderHour: 10 });
    expect(system.info?.channelId).toBeNull();
    expect(derive(event('ReservationConfirmed', { reservationId: 'res_1' }), system.info, { reminderHour: 10 }).messages).toEqual([]);
    expect(derive({ ...requested, stream: 'directory' }, undefined, { reminderHour: 10 })).toEqual({ messages: [] });
  });

  it('puts the reminder hour in Helsinki wall time across the DST change', () => {
    expect(new Date(reminderAt(Date.parse('2027-03-29T08:00:00Z'), 10)).toISOString()).toBe('2027-03-28T07:00:00.000Z');
    expect(new Date(reminderAt(Date.parse('2027-03-28T08:00:00Z'), 10)).toISOString()).toBe('2027-03-27T08:00:00.000Z');
  });
});
