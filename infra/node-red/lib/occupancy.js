// @ts-check
/**
 * Sensor messages in, Vuoro occupancy readings out: the message a sensor
 * publishes on `sites/{site}/spaces/{space}/occupancy` (access-control's
 * occupancyMessageSchema, in its own words `occupied` / `peopleCount`).
 *
 * Accepted: zigbee2mqtt `{occupancy:true}` (PIR) and `{presence:true}`
 * (mmWave), people counters `{people_count:3}` or `{count:3}`, our own
 * `{occupied, peopleCount}`, and plain `true`/`false`, `"ON"`/`"OFF"`,
 * numbers. A property path picks one field out of anything else.
 */
'use strict';

const { CODES, fail, ok } = require('./errors');
const { ID_PATTERN } = require('./topics');
const { deviceTime, getPath, isRecord, payloadValue } = require('./values');

const FLAG_FIELDS = ['occupied', 'occupancy', 'presence'];
const COUNT_FIELDS = ['peopleCount', 'people_count', 'count', 'people'];
const TIME_FIELDS = ['at', 'timestamp', 'last_seen'];
const MAX_PEOPLE = 100_000;

const TRUE_WORDS = new Set(['true', 'on', 'occupied', 'detected', 'yes']);
const FALSE_WORDS = new Set(['false', 'off', 'vacant', 'clear', 'no']);

/**
 * @typedef {{ occupied: boolean, peopleCount?: number, at?: string | number, sensorId?: string }} OccupancyMessage
 * @typedef {{ property?: string, sensorId?: string }} OccupancyOptions
 */

/**
 * One value as a flag or a count.
 * @param {unknown} v @param {string} where
 * @returns {import('./errors').Result<{ flag?: boolean, count?: number }>}
 */
function interpret(v, where) {
  if (typeof v === 'boolean') return ok({ flag: v });
  if (typeof v === 'number') return count(v, where);
  if (typeof v === 'string') {
    const w = v.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return ok({ flag: true });
    if (FALSE_WORDS.has(w)) return ok({ flag: false });
    if (/^\d{1,6}$/.test(w)) return count(Number(w), where);
    return fail(CODES.OCCUPANCY_INVALID, `${where} is "${v.slice(0, 40)}": send true/false, ON/OFF or a people count`);
  }
  return fail(CODES.OCCUPANCY_INVALID, `${where} is ${v === null ? 'null' : typeof v}: send true/false, ON/OFF or a people count`);
}

/** @param {number} n @param {string} where @returns {import('./errors').Result<{ count: number }>} */
function count(n, where) {
  if (!Number.isInteger(n) || n < 0 || n > MAX_PEOPLE) return fail(CODES.OCCUPANCY_INVALID, `${where} is ${n}: a people count is a whole number from 0 to ${MAX_PEOPLE}`);
  return ok({ count: n });
}

/**
 * @param {unknown} payload what arrived in msg.payload
 * @param {OccupancyOptions} [options]
 * @returns {import('./errors').Result<OccupancyMessage>}
 */
function occupancyMessage(payload, options = {}) {
  const parsed = payloadValue(payload);
  if (!parsed.ok) return parsed;
  const value = parsed.value;
  const property = options.property?.trim() ?? '';
  /** @type {boolean | undefined} */
  let flag;
  /** @type {number | undefined} */
  let people;
  if (property !== '') {
    const v = getPath(value, property);
    if (v === undefined) return fail(CODES.OCCUPANCY_INVALID, `the message has no "${property}" (the node's property setting)`);
    const r = interpret(v, property);
    if (!r.ok) return r;
    ({ flag, count: people } = r.value);
  } else if (isRecord(value)) {
    for (const f of FLAG_FIELDS) {
      if (value[f] === undefined || flag !== undefined) continue;
      const r = interpret(value[f], f);
      if (!r.ok) return r;
      if (r.value.flag === undefined) return fail(CODES.OCCUPANCY_INVALID, `${f} must be true or false`);
      flag = r.value.flag;
    }
    for (const f of COUNT_FIELDS) {
      if (value[f] === undefined || people !== undefined) continue;
      const v = value[f];
      const r = typeof v === 'number' ? count(v, f) : fail(CODES.OCCUPANCY_INVALID, `${f} must be a number`);
      if (!r.ok) return r;
      people = r.value.count;
    }
    if (flag === undefined && people === undefined) {
      return fail(CODES.OCCUPANCY_INVALID, 'no occupancy in the message: expected occupancy, presence, occupied, people_count or count (or set the property path)');
    }
  } else {
    const r = interpret(value, 'the payload');
    if (!r.ok) return r;
    ({ flag, count: people } = r.value);
  }
  /** @type {OccupancyMessage} */
  const out = { occupied: flag ?? (people !== undefined && people > 0) };
  if (people !== undefined) out.peopleCount = people;
  if (isRecord(value)) {
    for (const f of TIME_FIELDS) {
      const t = deviceTime(value[f]);
      if (t !== undefined) {
        out.at = t;
        break;
      }
    }
  }
  if (options.sensorId !== undefined && options.sensorId !== '') out.sensorId = options.sensorId;
  return ok(out);
}

/** @param {string | undefined} sensorId @returns {string | undefined} a problem with it */
const sensorIdProblem = (sensorId) =>
  sensorId === undefined || sensorId === '' || ID_PATTERN.test(sensorId) ? undefined : `sensor id "${sensorId}" may only have letters, digits, "_" and "-"`;

module.exports = { occupancyMessage, sensorIdProblem, MAX_PEOPLE };
