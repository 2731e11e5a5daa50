// @ts-check
/**
 * Reading what vendors send: payloads as objects, strings or buffers,
 * properties by dotted path, device times. Nothing here throws on hostile
 * input; it answers with a Result.
 */
'use strict';

const { CODES, fail, ok } = require('./errors');

/** access-control's MAX_DEVICE_PAYLOAD_BYTES: the gateway refuses bigger publishes and drops the connection. */
const MAX_PAYLOAD_BYTES = 4096;

/**
 * A payload as a JS value: objects, numbers and booleans as they are; strings
 * and buffers parsed as JSON when they look like JSON, else kept as text.
 * @param {unknown} payload
 * @returns {import('./errors').Result<unknown>}
 */
function payloadValue(payload) {
  if (Buffer.isBuffer(payload) || payload instanceof Uint8Array) {
    if (payload.byteLength > MAX_PAYLOAD_BYTES) return fail(CODES.TOO_LARGE, `payload of ${payload.byteLength} bytes; at most ${MAX_PAYLOAD_BYTES}`);
    return payloadValue(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  }
  if (typeof payload === 'string') {
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) return fail(CODES.TOO_LARGE, `payload of ${Buffer.byteLength(payload)} bytes; at most ${MAX_PAYLOAD_BYTES}`);
    const text = payload.trim();
    if (text.startsWith('{') || text.startsWith('[')) {
      try {
        return ok(/** @type {unknown} */ (JSON.parse(text)));
      } catch {
        return fail(CODES.NOT_JSON, 'the payload starts like JSON but is not valid JSON');
      }
    }
    return ok(text);
  }
  return ok(payload);
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isRecord = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A property by dotted path (`a.b.c`); own properties only, so `__proto__`
 * or `constructor` in a path read nothing.
 * @param {unknown} value @param {string} path
 * @returns {unknown}
 */
function getPath(value, path) {
  let cur = value;
  for (const part of path.split('.')) {
    if (part === '') continue;
    if (!isRecord(cur) || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/**
 * The first of several comma-separated paths that is present.
 * @param {unknown} value @param {readonly string[]} paths
 * @returns {{ path: string, value: unknown } | undefined}
 */
function firstPath(value, paths) {
  for (const path of paths) {
    const v = getPath(value, path);
    if (v !== undefined && v !== null) return { path, value: v };
  }
  return undefined;
}

/** @param {string | undefined} list @param {readonly string[]} fallback @returns {string[]} */
function pathList(list, fallback) {
  if (list === undefined || list.trim() === '') return [...fallback];
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const MIN_MS = 946_684_800_000;
const MAX_MS = 32_503_680_000_000;

/**
 * A device time the gateway accepts (ISO 8601 with offset, or epoch ms in
 * 2000..3000), or undefined: the server's clock decides when a vendor's
 * time is missing or odd, so an odd time is dropped rather than refused.
 * Epoch seconds (zigbee2mqtt can send them) are turned into ms.
 * @param {unknown} t
 * @returns {string | number | undefined}
 */
function deviceTime(t) {
  if (typeof t === 'string' && ISO_WITH_OFFSET.test(t) && !Number.isNaN(Date.parse(t))) return t;
  if (typeof t === 'number' && Number.isInteger(t)) {
    if (t >= MIN_MS && t <= MAX_MS) return t;
    if (t * 1000 >= MIN_MS && t * 1000 <= MAX_MS) return t * 1000;
  }
  return undefined;
}

/**
 * A JSON object setting from the editor (a mapping table); `{}` when empty.
 * @param {unknown} text @param {string} name
 * @returns {import('./errors').Result<Record<string, string>>}
 */
function stringMap(text, name) {
  if (text === undefined || text === null || (typeof text === 'string' && text.trim() === '')) return ok({});
  let v = text;
  if (typeof text === 'string') {
    try {
      v = JSON.parse(text);
    } catch {
      return fail(CODES.CONFIG_INVALID, `${name} is not valid JSON; write an object like {"vendor value": "vuoro value"}`);
    }
  }
  if (!isRecord(v)) return fail(CODES.CONFIG_INVALID, `${name} must be a JSON object like {"vendor value": "vuoro value"}`);
  /** @type {Record<string, string>} */
  const out = Object.create(null);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') return fail(CODES.CONFIG_INVALID, `${name}: the value for "${k}" must be a string`);
    out[k.toLowerCase()] = val;
  }
  return ok(out);
}

/**
 * A lookup table without a prototype, so a vendor sending "constructor" or
 * "__proto__" finds nothing in it.
 * @param {...Record<string, string>} parts
 * @returns {Record<string, string>}
 */
const table = (...parts) => Object.assign(Object.create(null), ...parts);

module.exports = { table, MAX_PAYLOAD_BYTES, payloadValue, isRecord, getPath, firstPath, pathList, deviceTime, stringMap };
