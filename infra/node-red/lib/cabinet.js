// @ts-check
/**
 * A vendor key cabinet's messages to Vuoro's key events
 * (`sites/{site}/keys/{cabinet}/events`, access-control's
 * keyCabinetMessageSchema): `{type: key_taken | key_returned, keyId,
 * credential?}`. Vendors name slots, not keys, so a slot table turns "slot 3"
 * into the key id Vuoro lends out.
 */
'use strict';

const { CODES, fail, ok } = require('./errors');
const { ID_PATTERN } = require('./topics');
const { table, deviceTime, firstPath, isRecord, pathList, payloadValue, stringMap } = require('./values');

const PIN_PATTERN = /^[0-9]{4,12}$/;
const CARD_PATTERN = /^[0-9A-F]{8,32}$/;

const DEFAULT_KEY_EVENT_MAP = {
  key_taken: 'key_taken',
  taken: 'key_taken',
  take: 'key_taken',
  removed: 'key_taken',
  key_removed: 'key_taken',
  out: 'key_taken',
  key_returned: 'key_returned',
  returned: 'key_returned',
  return: 'key_returned',
  inserted: 'key_returned',
  key_inserted: 'key_returned',
  in: 'key_returned',
};

/**
 * @typedef {{ eventPaths: string[], keyPaths: string[], pinPaths: string[], cardPaths: string[],
 *   eventMap: Record<string, string>, keyMap: Record<string, string> }} CabinetMapping
 * @typedef {{ event?: string, key?: string, pin?: string, card?: string, eventMap?: unknown, keyMap?: unknown }} CabinetMappingSettings
 * @typedef {{ type: 'key_taken' | 'key_returned', keyId: string, at?: string | number,
 *   credential?: { method: 'pin' | 'card', pin?: string, card?: string } }} KeyEventMessage
 */

/**
 * @param {CabinetMappingSettings} [s]
 * @returns {import('./errors').Result<CabinetMapping>}
 */
function cabinetMapping(s = {}) {
  const eventMap = stringMap(s.eventMap, 'event mapping');
  if (!eventMap.ok) return eventMap;
  for (const [k, v] of Object.entries(eventMap.value)) {
    if (v !== 'key_taken' && v !== 'key_returned') return fail(CODES.CONFIG_INVALID, `event mapping: "${k}" maps to "${v}"; use key_taken or key_returned`);
  }
  const keyMap = stringMap(s.keyMap, 'slot to key mapping');
  if (!keyMap.ok) return keyMap;
  for (const [k, v] of Object.entries(keyMap.value)) {
    if (!ID_PATTERN.test(v)) return fail(CODES.CONFIG_INVALID, `slot to key mapping: "${k}" maps to "${v}", which is not a Vuoro key id`);
  }
  return ok({
    eventPaths: pathList(s.event, ['type', 'event', 'action']),
    keyPaths: pathList(s.key, ['keyId', 'key_id', 'key', 'slot']),
    pinPaths: pathList(s.pin, ['pin', 'code']),
    cardPaths: pathList(s.card, ['card', 'uid', 'card_id']),
    eventMap: table(DEFAULT_KEY_EVENT_MAP, eventMap.value),
    keyMap: keyMap.value,
  });
}

/**
 * @param {unknown} payload
 * @param {CabinetMapping} m
 * @returns {import('./errors').Result<KeyEventMessage>}
 */
function keyEventMessage(payload, m) {
  const parsed = payloadValue(payload);
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  if (!isRecord(v)) return fail(CODES.KEY_EVENT_INVALID, 'a key cabinet message is an object with an event and a key or slot, e.g. {"event":"taken","slot":3}');
  const event = firstPath(v, m.eventPaths);
  if (event === undefined || typeof event.value !== 'string') return fail(CODES.KEY_EVENT_INVALID, `no event in the message (looked at ${m.eventPaths.join(', ')})`);
  const type = m.eventMap[event.value.trim().toLowerCase()];
  if (type !== 'key_taken' && type !== 'key_returned') return fail(CODES.KEY_EVENT_INVALID, `"${event.value.slice(0, 40)}" is not in the node's event mapping; add it as key_taken or key_returned`);
  const key = firstPath(v, m.keyPaths);
  if (key === undefined || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
    return fail(CODES.KEY_EVENT_INVALID, `no key or slot in the message (looked at ${m.keyPaths.join(', ')})`);
  }
  const slot = String(key.value).trim().toLowerCase();
  const keyId = m.keyMap[slot] ?? String(key.value).trim();
  if (!ID_PATTERN.test(keyId)) {
    return fail(CODES.KEY_EVENT_INVALID, `"${String(key.value).slice(0, 40)}" is not a Vuoro key id and not in the slot to key mapping`);
  }
  /** @type {KeyEventMessage} */
  const out = { type, keyId };
  const at = firstPath(v, ['at', 'timestamp', 'time']);
  const time = at === undefined ? undefined : deviceTime(at.value);
  if (time !== undefined) out.at = time;
  const pin = firstPath(v, m.pinPaths);
  const card = firstPath(v, m.cardPaths);
  if (pin !== undefined && card !== undefined) return fail(CODES.CREDENTIAL_INVALID, 'both a PIN and a card in one message; send one credential');
  if (pin !== undefined) {
    if (typeof pin.value !== 'string' || !PIN_PATTERN.test(pin.value.trim())) return fail(CODES.CREDENTIAL_INVALID, 'a PIN is 4-12 digits, sent as a string');
    out.credential = { method: 'pin', pin: pin.value.trim() };
  } else if (card !== undefined) {
    const c = typeof card.value === 'string' ? card.value.trim().replace(/[:\- ]/g, '').toUpperCase() : '';
    if (!CARD_PATTERN.test(c)) return fail(CODES.CREDENTIAL_INVALID, 'a card UID is 8-32 hex digits, sent as a string');
    out.credential = { method: 'card', card: c };
  }
  return ok(out);
}

module.exports = { cabinetMapping, keyEventMessage, DEFAULT_KEY_EVENT_MAP };
