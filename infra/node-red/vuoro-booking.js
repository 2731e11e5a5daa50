// @ts-check
/**
 * vuoro-booking: a space's (or unit's) bookings from Vuoro's HTTP API.
 *
 * Output 1, on its own: "on" `lead` minutes before each booking starts and
 * "off" at its end (plus an offset), for heating, ventilation and lights.
 * Output 2, for each input message: the booking going on now and the next.
 *
 * Polls `GET /v1/reservations` (a key with scope `staff`) every `poll`
 * seconds for Helsinki dates from today to as far as the next trigger can
 * be; the timers run between polls, so a booking made or cancelled shows up
 * within one poll.
 */
'use strict';

const { listReservations } = require('./lib/api');
const { currentAndNext, dateRange, describe, forgetOld, helsinkiWallTime, plan } = require('./lib/booking');
const { CODES } = require('./lib/errors');
const { configOf, idProblem, misconfigured, report } = require('./lib/node-kit');

const MAX_TIMER_MS = 2 ** 31 - 1;

/** @param {import('./lib/node-red').NodeAPI} RED */
module.exports = function register(RED) {
  /** @this {import('./lib/node-red').Node} @param {import('./lib/node-red').NodeDef} def */
  function VuoroBooking(def) {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  /** @param {import('./lib/node-red').Node} node @param {import('./lib/node-red').NodeDef} def */
  function setUp(node, def) {
    const c = configOf(RED, node, def.vuoro, { needsApi: true });
    const trim = (/** @type {unknown} */ v) => (typeof v === 'string' ? v.trim() : '');
    const num = (/** @type {unknown} */ v, /** @type {number} */ fallback) => (v === undefined || v === '' ? fallback : Number(v));
    const spaceId = trim(def.spaceId);
    const unitId = trim(def.unitId);
    const leadMinutes = num(def.leadMinutes, 30);
    const endOffsetMinutes = num(def.endOffsetMinutes, 0);
    const pollSeconds = num(def.pollSeconds, 60);
    const lookaheadDays = num(def.lookaheadDays, 7);
    const states = (trim(def.states) || 'confirmed').split(',').map((x) => x.trim()).filter(Boolean);
    const kinds = trim(def.kinds).split(',').map((x) => x.trim()).filter(Boolean);
    const problem = !c.ok
      ? c.message
      : c.config.siteId === '' && unitId === ''
        ? 'set the site id in the Vuoro config node, or a unit id here'
        : spaceId === '' && unitId === ''
          ? 'set a space id or a unit id'
          : ((spaceId === '' ? undefined : idProblem(spaceId, 'space id')) ??
            (unitId === '' ? undefined : idProblem(unitId, 'unit id')) ??
            (Number.isFinite(leadMinutes) && leadMinutes >= 0 && leadMinutes <= 24 * 60 ? undefined : 'minutes before the start: 0 to 1440') ??
            (Number.isFinite(endOffsetMinutes) && Math.abs(endOffsetMinutes) <= 24 * 60 ? undefined : 'minutes after the end: -1440 to 1440') ??
            (Number.isFinite(pollSeconds) && pollSeconds >= 10 && pollSeconds <= 3600 ? undefined : 'poll every 10 to 3600 seconds') ??
            (Number.isInteger(lookaheadDays) && lookaheadDays >= 1 && lookaheadDays <= 31 ? undefined : 'look ahead 1 to 31 days'));
    if (!c.ok || problem !== undefined) return misconfigured(node, problem ?? 'invalid settings');
    const config = c.config;
    const conn = { apiUrl: config.apiUrl, apiKey: config.apiKey };
    /** @type {import('./lib/booking').BookingOptions} */
    const options = { spaceId, unitId, states, kinds, leadMinutes, endOffsetMinutes };
    const startPayload = (/** @type {import('./lib/node-red').NodeMessage} */ msg) => RED.util.evaluateNodeProperty(def.startPayload ?? 'on', trim(def.startPayloadType) || 'str', node, msg);
    const endPayload = (/** @type {import('./lib/node-red').NodeMessage} */ msg) => RED.util.evaluateNodeProperty(def.endPayload ?? 'off', trim(def.endPayloadType) || 'str', node, msg);
    const pollMs = pollSeconds * 1000;

    /** @type {import('./lib/booking').Reservation[]} */
    let known = [];
    /** @type {Map<string, import('./lib/booking').Trigger>} */
    const fired = new Map();
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    /** @type {NodeJS.Timeout | undefined} */
    let poller;
    let closed = false;
    let lastError = '';

    /** @param {number} from @param {number} aheadMs */
    const query = (from, aheadMs) => {
      const range = dateRange(from, aheadMs);
      return {
        ...(unitId === '' ? { siteId: config.siteId } : { unitId }),
        state: states.join(','),
        ...(kinds.length === 0 ? {} : { kind: kinds.join(',') }),
        from: range.from,
        to: range.to,
      };
    };

    const tick = () => {
      if (closed) return;
      clearTimeout(timer);
      const now = Date.now();
      const { due, upcoming } = plan(known, now, options, fired);
      for (const t of due) {
        fired.set(t.key, t);
        if (t.covered === true) continue;
        const msg = {
          topic: t.event,
          vuoro: {
            kind: 'booking',
            event: t.event,
            at: new Date(t.at).toISOString(),
            atLocal: helsinkiWallTime(t.at),
            ...(t.reason === undefined ? {} : { reason: t.reason }),
          },
          reservation: describe(t.reservation),
        };
        node.send([{ ...msg, payload: t.event === 'start' ? startPayload(msg) : endPayload(msg) }, null]);
      }
      forgetOld(fired, now);
      const next = upcoming[0];
      if (next !== undefined) timer = setTimeout(tick, Math.min(MAX_TIMER_MS, Math.max(0, next.at - now)));
      const on = [...fired.values()].filter((t) => t.event === 'start' && !fired.has(`${t.pairKey}|end`)).length;
      const nextText = next === undefined ? 'nothing planned' : `next ${next.event} ${helsinkiWallTime(next.at).slice(11, 16)}`;
      node.status({ fill: on > 0 ? 'green' : 'grey', shape: 'dot', text: `${on > 0 ? 'on; ' : ''}${nextText}` });
    };

    const poll = async () => {
      const now = Date.now();
      // From far enough back for an end trigger after the end, to far enough ahead for the next start trigger.
      const back = Math.max(0, endOffsetMinutes) * 60_000;
      try {
        known = await listReservations(conn, query(now - back, back + leadMinutes * 60_000 + pollMs + 3_600_000));
        lastError = '';
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (message !== lastError) report(node, CODES.API_ERROR, message);
        lastError = message;
        node.status({ fill: 'red', shape: 'ring', text: message.slice(0, 60) });
        return;
      }
      tick();
    };

    const loop = () => {
      if (closed) return;
      void poll().finally(() => {
        if (!closed) poller = setTimeout(loop, pollMs);
      });
    };
    loop();

    node.on('input', (msg, send, done) => {
      const now = Date.now();
      listReservations(conn, query(now, lookaheadDays * 86_400_000)).then(
        (items) => {
          const { current, next } = currentAndNext(items, now, options);
          msg.payload = { current: current === null ? null : describe(current), next: next === null ? null : describe(next) };
          msg.vuoro = { kind: 'booking_lookup', occupied: current !== null, at: new Date(now).toISOString(), atLocal: helsinkiWallTime(now) };
          send([null, msg]);
          done();
        },
        (/** @type {Error} */ e) => {
          report(node, CODES.API_ERROR, e.message, msg);
          done();
        },
      );
    });

    node.on('close', (_removed, done) => {
      closed = true;
      clearTimeout(timer);
      clearTimeout(poller);
      done();
    });
  }

  RED.nodes.registerType('vuoro-booking', VuoroBooking);
};
