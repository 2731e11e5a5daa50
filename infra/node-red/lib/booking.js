// @ts-check
/**
 * When to tell a space's heating or lights about a booking (pure; the node
 * in vuoro-booking.js polls the API and keeps the timers):
 *
 *   start trigger  at start − lead (30 min by default): "on"
 *   end trigger    at end + offset (0 by default; negative = before the end): "off"
 *
 * A node deployed inside a booking's lead window still sends "on" at once;
 * "off" follows every "on" it sent, also when the booking is cancelled or
 * moved in between (then it goes out at once, with the reason), unless
 * another booking of the space is on by then. Instants are
 * UTC milliseconds; calendar dates (the API's `from`/`to`) and the wall
 * times shown to people are Europe/Helsinki.
 */
'use strict';

const ZONE = 'Europe/Helsinki';

const dateFormat = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
const wallFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'longOffset',
});

/** The Helsinki calendar date of an instant, `YYYY-MM-DD`. @param {number} ms */
const helsinkiDate = (ms) => dateFormat.format(ms);

/**
 * The Helsinki wall time of an instant with its offset, `2027-03-28T18:00+03:00`.
 * @param {number} ms
 */
function helsinkiWallTime(ms) {
  /** @type {Record<string, string>} */
  const p = {};
  for (const part of wallFormat.formatToParts(ms)) p[part.type] = part.value;
  const offset = (p.timeZoneName ?? 'GMT').replace('GMT', '') || '+00:00';
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}${offset}`;
}

/** @typedef {{ reservationId: string, siteId: string, unitId: string | null, kind: string, state: string, start: string, end: string, spaceIds: string[] }} Reservation */

/**
 * @typedef {{ key: string, pairKey: string, event: 'start' | 'end', at: number, until: number, reservation: Reservation,
 *   reason?: 'cancelled_or_moved', covered?: boolean }} Trigger
 * `until`: for a start trigger, when its end trigger falls (an "on" after that is pointless).
 * `covered`: an end while another booking is on; recorded as done, not sent.
 */

/**
 * @typedef {{ spaceId?: string, unitId?: string, states: string[], kinds?: string[], leadMinutes: number, endOffsetMinutes: number }} BookingOptions
 */

/**
 * The reservations this node is about: its space (booking a space's parent
 * or a section lists the space itself in spaceIds only when it is booked) or
 * its unit, in the wanted states and kinds.
 * @param {readonly Reservation[]} items @param {BookingOptions} o
 */
function relevant(items, o) {
  return items.filter(
    (r) =>
      o.states.includes(r.state) &&
      (o.kinds === undefined || o.kinds.length === 0 || o.kinds.includes(r.kind)) &&
      (o.spaceId === undefined || o.spaceId === '' || r.spaceIds.includes(o.spaceId)) &&
      (o.unitId === undefined || o.unitId === '' || r.unitId === o.unitId),
  );
}

/** @param {Reservation} r @param {BookingOptions} o @returns {[Trigger, Trigger]} */
function triggersOf(r, o) {
  const start = Date.parse(r.start);
  const end = Date.parse(r.end);
  const pairKey = `${r.reservationId}|${start}|${end}`;
  const on = start - Math.round(o.leadMinutes * 60_000);
  const off = end + Math.round(o.endOffsetMinutes * 60_000);
  return [
    { key: `${pairKey}|start`, pairKey, event: 'start', at: on, until: off, reservation: r },
    { key: `${pairKey}|end`, pairKey, event: 'end', at: off, until: off, reservation: r },
  ];
}

/**
 * What to send now and what later.
 * @param {readonly Reservation[]} items the API's answer (any reservations)
 * @param {number} now
 * @param {BookingOptions} o
 * @param {ReadonlyMap<string, Trigger>} fired triggers already sent, by key
 * @returns {{ due: Trigger[], upcoming: Trigger[] }}
 */
function plan(items, now, o, fired) {
  /** @type {Trigger[]} */
  const due = [];
  /** @type {Trigger[]} */
  const upcoming = [];
  const live = new Set();
  for (const r of relevant(items, o)) {
    if (Number.isNaN(Date.parse(r.start)) || Number.isNaN(Date.parse(r.end))) continue;
    for (const t of triggersOf(r, o)) {
      live.add(t.key);
      if (fired.has(t.key)) continue;
      if (t.at > now) upcoming.push(t);
      else if (t.event === 'start' ? now < t.until : fired.has(`${t.pairKey}|start`)) due.push(t);
    }
  }
  for (const t of fired.values()) {
    if (t.event !== 'start' || live.has(t.key) || fired.has(`${t.pairKey}|end`)) continue;
    due.push({ ...t, key: `${t.pairKey}|end`, event: 'end', at: now, reason: 'cancelled_or_moved' });
  }
  // An "off" while another booking of the space is still on (back to back, overlapping lead time,
  // a booking moved within its window) would switch the heating off under that booking: held back.
  const on = [...fired.values(), ...due].filter((t) => t.event === 'start' && now < t.until && !fired.has(`${t.pairKey}|end`));
  for (const t of due) if (t.event === 'end' && on.some((s) => s.pairKey !== t.pairKey)) t.covered = true;
  due.sort((a, b) => a.at - b.at || (a.event === 'end' ? -1 : 1));
  upcoming.sort((a, b) => a.at - b.at);
  return { due, upcoming };
}

/**
 * Forgets pairs that ended more than a day ago (the memory of a long-running node stays small).
 * @param {Map<string, Trigger>} fired @param {number} now
 */
function forgetOld(fired, now) {
  for (const [key, t] of fired) if (t.until < now - 24 * 3_600_000) fired.delete(key);
}

/**
 * The booking going on now and the next one, for a lookup.
 * @param {readonly Reservation[]} items @param {number} now @param {BookingOptions} o
 * @returns {{ current: Reservation | null, next: Reservation | null }}
 */
function currentAndNext(items, now, o) {
  const mine = relevant(items, o).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const current = mine.find((r) => Date.parse(r.start) <= now && now < Date.parse(r.end)) ?? null;
  const next = mine.find((r) => Date.parse(r.start) > now) ?? null;
  return { current, next };
}

/**
 * The date range (Helsinki) to ask the API for: today through the day the
 * furthest trigger or lookup could fall on.
 * @param {number} now @param {number} aheadMs
 */
const dateRange = (now, aheadMs) => ({ from: helsinkiDate(now), to: helsinkiDate(now + Math.max(0, aheadMs)) });

/**
 * A reservation as the flow sees it: the API's fields plus Helsinki wall times.
 * @param {Reservation} r
 */
const describe = (r) => ({
  reservationId: r.reservationId,
  unitId: r.unitId,
  spaceIds: r.spaceIds,
  kind: r.kind,
  state: r.state,
  start: r.start,
  end: r.end,
  startLocal: helsinkiWallTime(Date.parse(r.start)),
  endLocal: helsinkiWallTime(Date.parse(r.end)),
});

module.exports = { ZONE, helsinkiDate, helsinkiWallTime, relevant, triggersOf, plan, forgetOld, currentAndNext, dateRange, describe };
