/**
 * When the booking node says "on" and "off", by the state the node is in:
 * before a booking, inside its lead time, during it, after it, and when the
 * booking goes away.
 */
import { describe, expect, it } from 'vitest';
import type { Reservation, Trigger } from '../lib/booking.js';
import { booking } from './cjs.js';

const MIN = 60_000;
/** Monday 2027-01-11 18:00 Helsinki (UTC+2). */
const T = Date.parse('2027-01-11T16:00:00Z');
const res = (id: string, start: number, end: number, over: Partial<Reservation> = {}): Reservation => ({
  reservationId: id,
  siteId: 'sit_test',
  unitId: 'unt_sauna',
  kind: 'behalf',
  state: 'confirmed',
  start: new Date(start).toISOString(),
  end: new Date(end).toISOString(),
  spaceIds: ['spc_sauna'],
  ...over,
});
const options = { spaceId: 'spc_sauna', states: ['confirmed'], leadMinutes: 30, endOffsetMinutes: 0 };
const sauna = res('res_1', T, T + 120 * MIN);
const at = (ts: readonly Trigger[]) => ts.map((t) => [t.event, new Date(t.at).toISOString(), t.reservation.reservationId, t.reason ?? null]);
const HELD = 'held back';

/** Runs the node's loop at the given instants: what it sends, in order. */
function run(times: number[], items: (now: number) => Reservation[], o = options) {
  const fired = new Map<string, Trigger>();
  const sent: (string | null)[][] = [];
  for (const now of times) {
    for (const t of booking.plan(items(now), now, o, fired).due) {
      fired.set(t.key, t);
      sent.push([new Date(now).toISOString(), ...at([t])[0]!, ...(t.covered === true ? [HELD] : [])]);
    }
  }
  return sent;
}

describe('before a booking', () => {
  it('plans "on" 30 minutes before the start and "off" at the end', () => {
    const p = booking.plan([sauna], T - 2 * 60 * MIN, options, new Map());
    expect(p.due).toEqual([]);
    expect(at(p.upcoming)).toEqual([
      ['start', '2027-01-11T15:30:00.000Z', 'res_1', null],
      ['end', '2027-01-11T18:00:00.000Z', 'res_1', null],
    ]);
  });

  it('honours the end offset, also a negative one', () => {
    expect(at(booking.plan([sauna], T - 60 * MIN, { ...options, endOffsetMinutes: 15 }, new Map()).upcoming)[1]).toEqual(['end', '2027-01-11T18:15:00.000Z', 'res_1', null]);
    expect(at(booking.plan([sauna], T - 60 * MIN, { ...options, endOffsetMinutes: -10 }, new Map()).upcoming)[1]).toEqual(['end', '2027-01-11T17:50:00.000Z', 'res_1', null]);
  });

  it('counts only the space’s bookings in the wanted states', () => {
    const others = [
      res('res_hall', T, T + 60 * MIN, { spaceIds: ['spc_hall'] }),
      res('res_held', T, T + 60 * MIN, { state: 'requested' }),
      res('res_gone', T, T + 60 * MIN, { state: 'cancelled' }),
    ];
    expect(booking.plan(others, T - 60 * MIN, options, new Map()).upcoming).toEqual([]);
    expect(booking.plan(others, T - 60 * MIN, { ...options, spaceId: 'spc_hall' }, new Map()).upcoming).toHaveLength(2);
    expect(booking.plan([sauna], T - 60 * MIN, { ...options, kinds: ['blocked'] }, new Map()).upcoming).toEqual([]);
  });
});

describe('through a booking', () => {
  it('sends "on" once at the lead time and "off" once at the end', () => {
    const times = [T - 31 * MIN, T - 30 * MIN, T - 29 * MIN, T, T + 119 * MIN, T + 120 * MIN, T + 121 * MIN];
    expect(run(times, () => [sauna])).toEqual([
      ['2027-01-11T15:30:00.000Z', 'start', '2027-01-11T15:30:00.000Z', 'res_1', null],
      ['2027-01-11T18:00:00.000Z', 'end', '2027-01-11T18:00:00.000Z', 'res_1', null],
    ]);
  });

  it('deployed inside the lead time or the booking, sends "on" at once', () => {
    expect(run([T + 10 * MIN], () => [sauna])).toEqual([['2027-01-11T16:10:00.000Z', 'start', '2027-01-11T15:30:00.000Z', 'res_1', null]]);
  });

  it('deployed after a booking, says nothing about it', () => {
    expect(run([T + 3 * 60 * MIN], () => [sauna])).toEqual([]);
  });

  it('back-to-back bookings: no "off" between them', () => {
    const second = res('res_2', T + 120 * MIN, T + 180 * MIN);
    const sent = run([T, T + 90 * MIN, T + 120 * MIN, T + 180 * MIN], () => [sauna, second]);
    expect(sent.map((s) => [s[1], s[3], s[5] ?? 'sent'])).toEqual([
      ['start', 'res_1', 'sent'],
      ['start', 'res_2', 'sent'],
      ['end', 'res_1', HELD],
      ['end', 'res_2', 'sent'],
    ]);
  });

  it('a poll that sees both at once holds the "off" back too', () => {
    const second = res('res_2', T + 120 * MIN, T + 180 * MIN);
    const sent = run([T, T + 120 * MIN], () => [sauna, second]);
    expect(sent.map((s) => [s[1], s[3], s[5] ?? 'sent'])).toEqual([
      ['start', 'res_1', 'sent'],
      ['start', 'res_2', 'sent'],
      ['end', 'res_1', HELD],
    ]);
  });
});

describe('when a booking goes away', () => {
  it('a cancelled booking that was switched on is switched off at once', () => {
    const sent = run([T - 10 * MIN, T + 5 * MIN], (now) => (now < T ? [sauna] : []));
    expect(sent).toEqual([
      ['2027-01-11T15:50:00.000Z', 'start', '2027-01-11T15:30:00.000Z', 'res_1', null],
      ['2027-01-11T16:05:00.000Z', 'end', '2027-01-11T16:05:00.000Z', 'res_1', 'cancelled_or_moved'],
    ]);
  });

  it('a booking moved a little is followed to its new time', () => {
    const moved = res('res_1', T + 60 * MIN, T + 180 * MIN);
    const sent = run([T - 10 * MIN, T + 45 * MIN], (now) => (now < T ? [sauna] : [moved]));
    // Moved within the lead time: the heating stays on; its "off" comes at the new end.
    expect(sent.map((s) => [s[1], s[2], s[4], s[5] ?? 'sent'])).toEqual([
      ['start', '2027-01-11T15:30:00.000Z', null, 'sent'],
      ['start', '2027-01-11T16:30:00.000Z', null, 'sent'],
      ['end', '2027-01-11T16:45:00.000Z', 'cancelled_or_moved', HELD],
    ]);
    expect(run([T - 10 * MIN, T + 45 * MIN, T + 180 * MIN], (now) => (now < T ? [sauna] : [moved])).at(-1)).toEqual([
      '2027-01-11T19:00:00.000Z',
      'end',
      '2027-01-11T19:00:00.000Z',
      'res_1',
      null,
    ]);
  });

  it('forgets pairs a day after they ended', () => {
    const fired = new Map<string, Trigger>();
    for (const t of booking.plan([sauna], T, options, fired).due) fired.set(t.key, t);
    for (const t of booking.plan([sauna], T + 120 * MIN, options, fired).due) fired.set(t.key, t);
    booking.forgetOld(fired, T + 25 * 60 * MIN);
    expect(fired.size).toBe(2);
    booking.forgetOld(fired, T + 27 * 60 * MIN);
    expect(fired.size).toBe(0);
  });
});

describe('lookups and Helsinki time', () => {
  it('finds the booking going on now and the next one', () => {
    const later = res('res_2', T + 24 * 60 * MIN, T + 25 * 60 * MIN);
    expect(booking.currentAndNext([later, sauna], T + MIN, options)).toEqual({ current: sauna, next: later });
    expect(booking.currentAndNext([later, sauna], T - MIN, options)).toEqual({ current: null, next: sauna });
    expect(booking.currentAndNext([], T, options)).toEqual({ current: null, next: null });
  });

  it('asks for Helsinki dates, not UTC ones', () => {
    // 23:30 in Helsinki on Monday is 21:30 UTC; 00:30 on Tuesday is still Monday in UTC.
    expect(booking.dateRange(Date.parse('2027-01-11T22:30:00Z'), 0)).toEqual({ from: '2027-01-12', to: '2027-01-12' });
    expect(booking.dateRange(Date.parse('2027-01-11T21:30:00Z'), 60 * MIN)).toEqual({ from: '2027-01-11', to: '2027-01-12' });
  });

  it('shows wall times with the offset of the day, across DST', () => {
    expect(booking.helsinkiWallTime(T)).toBe('2027-01-11T18:00+02:00');
    expect(booking.helsinkiWallTime(Date.parse('2027-06-01T15:00:00Z'))).toBe('2027-06-01T18:00+03:00');
    // 2027-03-28: 03:00 EET becomes 04:00 EEST; a booking 02:30-05:30 local is 3 hours of wall clock but 2 real hours.
    const spring = res('res_dst', Date.parse('2027-03-28T00:30:00Z'), Date.parse('2027-03-28T02:30:00Z'));
    expect(booking.describe(spring)).toMatchObject({ startLocal: '2027-03-28T02:30+02:00', endLocal: '2027-03-28T05:30+03:00' });
    const p = booking.plan([spring], Date.parse('2027-03-27T20:00:00Z'), options, new Map());
    expect(at(p.upcoming)).toEqual([
      ['start', '2027-03-28T00:00:00.000Z', 'res_dst', null],
      ['end', '2027-03-28T02:30:00.000Z', 'res_dst', null],
    ]);
  });
});
