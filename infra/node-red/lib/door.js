// @ts-check
/**
 * A vendor lock's messages to and from Vuoro's door topics (pure; the node
 * in vuoro-door.js does the I/O):
 *
 *   vendor credential (PIN typed, card read)  -> auth/req  {requestId, method, pin | card}
 *   auth/res/{id} {granted, reason, until}    -> to the lock: "open" | "deny" (+ msg.vuoro)
 *   cmd (signed unlock | lock | open)         -> to the lock: "unlock" | "lock" | "open", and events command_done / command_rejected
 *   vendor door event (open, closed, forced)  -> events {type: opened | closed | forced | held_open}
 *   vendor lock state (locked, unlocked)      -> state  {state: LOCKED | UNLOCKED | OPEN | JAMMED, online: true} (retained)
 *
 * Which vendor field means what is a mapping with defaults that fit
 * zigbee2mqtt locks and common keypads; every table is editable.
 */
'use strict';

const { randomBytes } = require('node:crypto');
const { CODES, fail, ok } = require('./errors');
const { DOOR_COMMAND_TYP } = require('./jws');
const { ID_PATTERN } = require('./topics');
const { table, deviceTime, firstPath, isRecord, pathList, payloadValue, stringMap } = require('./values');

const PIN_PATTERN = /^[0-9]{4,12}$/;
const CARD_PATTERN = /^[0-9A-F]{8,32}$/;
const DOOR_STATES = ['LOCKED', 'UNLOCKED', 'OPEN', 'JAMMED', 'UNKNOWN'];
const DOOR_EVENT_KINDS = ['opened', 'closed', 'forced', 'held_open', 'granted', 'denied', 'command_done', 'command_rejected', 'allowlist_applied', 'allowlist_rejected'];
const DOOR_ACTIONS = ['unlock', 'lock', 'open'];
/** access-control's lock/lock.ts: a command lives at most 5 minutes; device clocks may be 60 s off. */
const MAX_COMMAND_LIFETIME_MS = 5 * 60_000;
const MAX_SKEW_MS = 60_000;

const DEFAULT_EVENT_MAP = {
  open: 'opened',
  opened: 'opened',
  door_open: 'opened',
  door_opened: 'opened',
  close: 'closed',
  closed: 'closed',
  door_closed: 'closed',
  forced: 'forced',
  forced_open: 'forced',
  door_forced: 'forced',
  break_in: 'forced',
  held: 'held_open',
  held_open: 'held_open',
  door_held: 'held_open',
  door_held_open: 'held_open',
  ajar: 'held_open',
};
const DEFAULT_STATE_MAP = {
  lock: 'LOCKED',
  locked: 'LOCKED',
  unlock: 'UNLOCKED',
  unlocked: 'UNLOCKED',
  not_fully_locked: 'JAMMED',
  jammed: 'JAMMED',
  jam: 'JAMMED',
};
const DEFAULT_COMMAND_MAP = { unlock: 'unlock', lock: 'lock', open: 'open' };

const DEFAULTS = {
  pinPaths: ['pin', 'code', 'action_code'],
  cardPaths: ['card', 'uid', 'card_id', 'cardId', 'rfid'],
  vendorIdPaths: ['requestId', 'request_id', 'id'],
  eventPaths: ['event', 'type'],
  statePaths: ['lock_state', 'state'],
  contactPath: 'contact',
  timePaths: ['at', 'timestamp', 'time', 'last_seen'],
};

/**
 * @typedef {{
 *   pinPaths: string[], cardPaths: string[], vendorIdPaths: string[], eventPaths: string[], statePaths: string[],
 *   contactPath: string, eventMap: Record<string, string>, stateMap: Record<string, string>,
 *   commandMap: Record<string, string>, grant: unknown, deny: unknown
 * }} DoorMapping
 *
 * @typedef {{
 *   pin?: string, card?: string, requestId?: string, event?: string, state?: string, contact?: string,
 *   eventMap?: unknown, stateMap?: unknown, commandMap?: unknown, grant?: unknown, deny?: unknown
 * }} DoorMappingSettings what the editor stores (paths as comma lists, tables as JSON text)
 *
 * @typedef {{ kind: 'auth', method: 'pin' | 'card', secret: string, vendorRequestId?: unknown }
 *   | { kind: 'event', message: { type: string, at?: string | number } }
 *   | { kind: 'state', message: { state: string, online: true, at?: string | number } }} VendorMessage
 */

/**
 * @param {DoorMappingSettings} [s]
 * @returns {import('./errors').Result<DoorMapping>}
 */
function doorMapping(s = {}) {
  const eventMap = stringMap(s.eventMap, 'event mapping');
  if (!eventMap.ok) return eventMap;
  const stateMap = stringMap(s.stateMap, 'state mapping');
  if (!stateMap.ok) return stateMap;
  const commandMap = stringMap(s.commandMap, 'command mapping');
  if (!commandMap.ok) return commandMap;
  for (const [k, v] of Object.entries(eventMap.value)) {
    if (!DOOR_EVENT_KINDS.includes(v)) return fail(CODES.CONFIG_INVALID, `event mapping: "${k}" maps to "${v}", which is not one of ${DOOR_EVENT_KINDS.join(', ')}`);
  }
  for (const [k, v] of Object.entries(stateMap.value)) {
    if (!DOOR_STATES.includes(v)) return fail(CODES.CONFIG_INVALID, `state mapping: "${k}" maps to "${v}", which is not one of ${DOOR_STATES.join(', ')}`);
  }
  for (const k of Object.keys(commandMap.value)) {
    if (!DOOR_ACTIONS.includes(k)) return fail(CODES.CONFIG_INVALID, `command mapping: "${k}" is not a Vuoro door action (${DOOR_ACTIONS.join(', ')})`);
  }
  const blank = (/** @type {unknown} */ v) => v === undefined || v === null || v === '';
  return ok({
    pinPaths: pathList(s.pin, DEFAULTS.pinPaths),
    cardPaths: pathList(s.card, DEFAULTS.cardPaths),
    vendorIdPaths: pathList(s.requestId, DEFAULTS.vendorIdPaths),
    eventPaths: pathList(s.event, DEFAULTS.eventPaths),
    statePaths: pathList(s.state, DEFAULTS.statePaths),
    contactPath: s.contact?.trim() || DEFAULTS.contactPath,
    eventMap: table(DEFAULT_EVENT_MAP, eventMap.value),
    stateMap: table(DEFAULT_STATE_MAP, stateMap.value),
    commandMap: table(DEFAULT_COMMAND_MAP, commandMap.value),
    grant: blank(s.grant) ? 'open' : s.grant,
    deny: blank(s.deny) ? 'deny' : s.deny,
  });
}

/**
 * @param {unknown} v
 * @returns {import('./errors').Result<string>}
 */
function pinOf(v) {
  if (typeof v === 'number') return fail(CODES.CREDENTIAL_INVALID, 'the PIN arrived as a number, which loses leading zeros: send it as a string');
  if (typeof v !== 'string') return fail(CODES.CREDENTIAL_INVALID, `the PIN is ${v === null ? 'null' : typeof v}; expected 4-12 digits as a string`);
  const pin = v.trim();
  if (!PIN_PATTERN.test(pin)) return fail(CODES.CREDENTIAL_INVALID, `a PIN is 4-12 digits; got ${pin.length} characters`);
  return ok(pin);
}

/**
 * Card UIDs as readers print them ("04:a2:1b:..", "04 A2 1B", "04a21b..") to Vuoro's upper-case hex.
 * @param {unknown} v
 * @returns {import('./errors').Result<string>}
 */
function cardOf(v) {
  if (typeof v !== 'string') return fail(CODES.CREDENTIAL_INVALID, `the card UID is ${v === null ? 'null' : typeof v}; expected 8-32 hex digits as a string`);
  const card = v.trim().replace(/[:\- ]/g, '').toUpperCase();
  if (!CARD_PATTERN.test(card)) return fail(CODES.CREDENTIAL_INVALID, 'a card UID is 8-32 hex digits (separators ":", "-" and spaces are allowed)');
  return ok(card);
}

/**
 * What a vendor lock's message means.
 * @param {unknown} payload
 * @param {DoorMapping} m
 * @returns {import('./errors').Result<VendorMessage>}
 */
function classifyVendorMessage(payload, m) {
  const parsed = payloadValue(payload);
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) {
      const pin = pinOf(v);
      return pin.ok ? ok({ kind: 'auth', method: 'pin', secret: pin.value }) : pin;
    }
    return word(v, m, undefined);
  }
  if (!isRecord(v)) {
    return fail(CODES.DOOR_UNRECOGNISED, `a ${Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v} payload means nothing to the door node; send an object, a PIN string or an event word`);
  }
  const at = firstPath(v, DEFAULTS.timePaths);
  const time = at === undefined ? undefined : deviceTime(at.value);
  const pin = firstPath(v, m.pinPaths);
  const card = firstPath(v, m.cardPaths);
  if (pin !== undefined && card !== undefined) return fail(CODES.CREDENTIAL_INVALID, `both a PIN (${pin.path}) and a card (${card.path}) in one message; send one credential`);
  if (pin !== undefined || card !== undefined) {
    const secret = pin !== undefined ? pinOf(pin.value) : cardOf(card?.value);
    if (!secret.ok) return secret;
    const vendorId = firstPath(v, m.vendorIdPaths);
    return ok({ kind: 'auth', method: pin !== undefined ? 'pin' : 'card', secret: secret.value, ...(vendorId === undefined ? {} : { vendorRequestId: vendorId.value }) });
  }
  const event = firstPath(v, m.eventPaths);
  if (event !== undefined && typeof event.value === 'string' && m.eventMap[event.value.toLowerCase()] !== undefined) return word(event.value, m, time);
  const state = firstPath(v, m.statePaths);
  if (state !== undefined && typeof state.value === 'string') return word(state.value, m, time, 'state');
  const contact = firstPath(v, [m.contactPath]);
  if (contact !== undefined && typeof contact.value === 'boolean') {
    // zigbee2mqtt contact sensors: contact true = the door is shut.
    return ok({ kind: 'event', message: { type: contact.value ? 'closed' : 'opened', ...(time === undefined ? {} : { at: time }) } });
  }
  if (event !== undefined) return word(String(event.value), m, time, 'event');
  return fail(
    CODES.DOOR_UNRECOGNISED,
    `no credential (${[...m.pinPaths, ...m.cardPaths].join(', ')}), event (${m.eventPaths.join(', ')}), state (${m.statePaths.join(', ')}) or ${m.contactPath} in the message`,
  );
}

/**
 * @param {string} w @param {DoorMapping} m @param {string | number | undefined} at
 * @param {'event' | 'state'} [only]
 * @returns {import('./errors').Result<VendorMessage>}
 */
function word(w, m, at, only) {
  const key = w.trim().toLowerCase();
  const t = at === undefined ? {} : { at };
  const ev = m.eventMap[key] ?? (DOOR_EVENT_KINDS.includes(key) ? key : undefined);
  if (only !== 'state' && ev !== undefined) return ok({ kind: 'event', message: { type: ev, ...t } });
  const st = m.stateMap[key] ?? (DOOR_STATES.includes(w.trim().toUpperCase()) ? w.trim().toUpperCase() : undefined);
  if (only !== 'event' && st !== undefined) return ok({ kind: 'state', message: { state: st, online: true, ...t } });
  return fail(CODES.DOOR_UNRECOGNISED, `"${w.slice(0, 40)}" is not in the node's ${only ?? 'event or state'} mapping; add it there`);
}

/**
 * Our own request id, never the vendor's: the gateway answers a repeated id
 * with its first answer, and a vendor counter that restarts at 1 after a
 * reboot would otherwise be given yesterday's grant.
 */
const newRequestId = () => `nr_${randomBytes(12).toString('base64url')}`;

/**
 * @param {string} requestId @param {'pin' | 'card'} method @param {string} secret
 * @returns {{ requestId: string, method: 'pin' | 'card', pin?: string, card?: string }}
 */
const authRequest = (requestId, method, secret) => (method === 'pin' ? { requestId, method, pin: secret } : { requestId, method, card: secret });

/**
 * @typedef {{ granted: boolean, reason: string, until?: string, credentialId?: string, detail?: string }} Decision
 */

/**
 * Reads an auth/res payload; anything malformed is a deny (fail secure).
 * @param {unknown} payload
 * @returns {Decision}
 */
function decisionOf(payload) {
  const parsed = payloadValue(payload);
  const v = parsed.ok ? parsed.value : undefined;
  if (!isRecord(v) || typeof v.granted !== 'boolean' || typeof v.reason !== 'string') {
    return { granted: false, reason: 'invalid_response', detail: 'the answer from Vuoro was not a valid auth response; denied' };
  }
  return {
    granted: v.granted,
    reason: v.reason,
    ...(typeof v.until === 'string' ? { until: v.until } : {}),
    ...(typeof v.credentialId === 'string' ? { credentialId: v.credentialId } : {}),
  };
}

/**
 * @typedef {{ v: 1, commandId: string, siteId: string, doorId: string, action: 'unlock' | 'lock' | 'open',
 *   durationSeconds?: number, emergency: boolean, issuedAt: number, expiresAt: number }} DoorCommand
 */

const COMMAND_KEYS = new Set(['v', 'commandId', 'siteId', 'doorId', 'action', 'durationSeconds', 'emergency', 'issuedAt', 'expiresAt']);
const isMs = (/** @type {unknown} */ n) => typeof n === 'number' && Number.isInteger(n) && n >= 0;

/**
 * @param {unknown} p
 * @returns {p is DoorCommand}
 */
function isDoorCommand(p) {
  if (!isRecord(p) || Object.keys(p).some((k) => !COMMAND_KEYS.has(k))) return false;
  return (
    p.v === 1 &&
    typeof p.commandId === 'string' &&
    ID_PATTERN.test(p.commandId) &&
    typeof p.siteId === 'string' &&
    typeof p.doorId === 'string' &&
    typeof p.action === 'string' &&
    DOOR_ACTIONS.includes(p.action) &&
    (p.durationSeconds === undefined || (typeof p.durationSeconds === 'number' && Number.isInteger(p.durationSeconds) && p.durationSeconds >= 1)) &&
    typeof p.emergency === 'boolean' &&
    isMs(p.issuedAt) &&
    isMs(p.expiresAt)
  );
}

/**
 * Checks a signed door command as lock/lock.ts does: signature by a pinned
 * key, this door, not too long-lived, not from the future, not expired, not
 * seen before. `seen` (command id -> expiry) is the node's memory of
 * commands it ran.
 * @param {unknown} raw the cmd topic's payload
 * @param {{ keys: import('./jws').TrustedKeys, siteId: string, doorId: string, now: number, seen: Map<string, number> }} ctx
 * @returns {{ ok: true, command: DoorCommand } | { ok: false, reason: string, commandId?: string }}
 */
function verifyDoorCommand(raw, ctx) {
  const parsed = payloadValue(raw);
  if (!parsed.ok || !isRecord(parsed.value)) return { ok: false, reason: 'not_json' };
  const verified = ctx.keys.verify(parsed.value, DOOR_COMMAND_TYP);
  if (!verified.ok) return { ok: false, reason: verified.reason };
  const cmd = verified.payload;
  if (!isDoorCommand(cmd)) return { ok: false, reason: 'malformed' };
  const id = { commandId: cmd.commandId };
  if (cmd.siteId !== ctx.siteId || cmd.doorId !== ctx.doorId) return { ok: false, reason: 'wrong_door', ...id };
  if (cmd.expiresAt - cmd.issuedAt > MAX_COMMAND_LIFETIME_MS) return { ok: false, reason: 'too_long_lived', ...id };
  if (cmd.issuedAt > ctx.now + MAX_SKEW_MS) return { ok: false, reason: 'issued_in_future', ...id };
  if (ctx.now >= cmd.expiresAt) return { ok: false, reason: 'expired', ...id };
  for (const [seenId, expiresAt] of ctx.seen) if (ctx.now >= expiresAt + MAX_SKEW_MS) ctx.seen.delete(seenId);
  if (ctx.seen.has(cmd.commandId)) return { ok: false, reason: 'replayed', ...id };
  ctx.seen.set(cmd.commandId, cmd.expiresAt);
  return { ok: true, command: cmd };
}

module.exports = {
  doorMapping,
  classifyVendorMessage,
  newRequestId,
  authRequest,
  decisionOf,
  verifyDoorCommand,
  DEFAULT_EVENT_MAP,
  DEFAULT_STATE_MAP,
  DEFAULT_COMMAND_MAP,
  DOOR_STATES,
  DOOR_EVENT_KINDS,
};
