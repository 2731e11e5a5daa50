/**
 * The door mapping: what vendor locks send, what Vuoro receives (checked
 * against access-control's own schemas), and signed commands checked as a
 * Vuoro lock checks them.
 */
import { Signer, authRequestSchema, doorEventMessageSchema, doorStateMessageSchema } from '@vuoro/access-control';
import { describe, expect, it } from 'vitest';
import { door, errors, jws } from './cjs.js';

const { CODES } = errors;
const mapping = (settings = {}) => {
  const m = door.doorMapping(settings);
  if (!m.ok) throw new Error(m.message);
  return m.value;
};
const m = mapping();
const classify = (payload: unknown, map = m) => door.classifyVendorMessage(payload, map);

describe('vendor credentials become Vuoro auth requests', () => {
  it.each([
    [{ pin: '482913' }, 'pin', '482913', undefined],
    [{ code: '0042', id: 17 }, 'pin', '0042', 17],
    [{ action: 'disarm', action_code: '482913' }, 'pin', '482913', undefined],
    ['482913', 'pin', '482913', undefined],
    [Buffer.from('{"uid":"04:a2:1b:9c:5d:6e:7f"}'), 'card', '04A21B9C5D6E7F', undefined],
    [{ card: '04 A2 1B 9C', request_id: 'abc' }, 'card', '04A21B9C', 'abc'],
  ])('%j -> %s %s', (payload, method, secret, vendorRequestId) => {
    const r = classify(payload);
    expect(r).toEqual({ ok: true, value: { kind: 'auth', method, secret, ...(vendorRequestId === undefined ? {} : { vendorRequestId }) } });
  });

  it('sends requests that the gateway accepts, each with a fresh id of our own', () => {
    const a = door.authRequest(door.newRequestId(), 'pin', '482913');
    const b = door.authRequest(door.newRequestId(), 'card', '04A21B9C');
    expect(authRequestSchema.safeParse(a).success).toBe(true);
    expect(authRequestSchema.safeParse(b).success).toBe(true);
    expect(a.requestId).not.toBe(b.requestId);
  });

  it('follows a custom field path', () => {
    expect(classify({ keypad: { entry: '7788' } }, mapping({ pin: 'keypad.entry' }))).toMatchObject({ ok: true, value: { kind: 'auth', secret: '7788' } });
  });
});

describe('vendor events and states', () => {
  it.each([
    [{ event: 'door_open' }, { kind: 'event', message: { type: 'opened' } }],
    [{ type: 'forced' }, { kind: 'event', message: { type: 'forced' } }],
    ['closed', { kind: 'event', message: { type: 'closed' } }],
    [{ event: 'AJAR', timestamp: '2027-01-11T18:00:00+02:00' }, { kind: 'event', message: { type: 'held_open', at: '2027-01-11T18:00:00+02:00' } }],
    [{ contact: false }, { kind: 'event', message: { type: 'opened' } }],
    [{ contact: true, last_seen: 1_800_000_000 }, { kind: 'event', message: { type: 'closed', at: 1_800_000_000_000 } }],
    [{ state: 'LOCK' }, { kind: 'state', message: { state: 'LOCKED', online: true } }],
    [{ lock_state: 'unlocked', state: 'UNLOCK' }, { kind: 'state', message: { state: 'UNLOCKED', online: true } }],
    ['jammed', { kind: 'state', message: { state: 'JAMMED', online: true } }],
  ])('%j', (payload, expected) => {
    const r = classify(payload);
    expect(r).toEqual({ ok: true, value: expected });
    if (!r.ok) return;
    const schema = r.value.kind === 'state' ? doorStateMessageSchema : doorEventMessageSchema;
    expect(schema.safeParse(r.value.kind === 'auth' ? undefined : r.value.message).success).toBe(true);
  });

  it('adds to the default tables rather than replacing them', () => {
    const custom = mapping({ eventMap: '{"DOOR_SENSOR_TRIPPED":"forced"}', stateMap: '{"secured":"LOCKED"}' });
    expect(classify({ event: 'DOOR_SENSOR_TRIPPED' }, custom)).toMatchObject({ ok: true, value: { message: { type: 'forced' } } });
    expect(classify({ state: 'secured' }, custom)).toMatchObject({ ok: true, value: { message: { state: 'LOCKED' } } });
    expect(classify({ event: 'door_open' }, custom)).toMatchObject({ ok: true, value: { message: { type: 'opened' } } });
  });
});

describe('hostile and malformed vendor payloads: a clear error with a stable code, never a throw', () => {
  it.each([
    [{ pin: 482913 }, CODES.CREDENTIAL_INVALID, /leading zeros/],
    [{ pin: '12' }, CODES.CREDENTIAL_INVALID, /4-12 digits/],
    ['1234567890123', CODES.CREDENTIAL_INVALID, /4-12 digits/],
    [{ pin: '12a4' }, CODES.CREDENTIAL_INVALID, /4-12 digits/],
    [{ pin: '1234', card: '04A21B9C' }, CODES.CREDENTIAL_INVALID, /one credential/],
    [{ uid: 'zz:zz' }, CODES.CREDENTIAL_INVALID, /hex/],
    [{ pin: { $gt: '' } }, CODES.CREDENTIAL_INVALID, /object/],
    ['{"pin":', CODES.NOT_JSON, /not valid JSON/],
    [Buffer.alloc(5000, 0x7b), CODES.TOO_LARGE, /5000 bytes/],
    ['x'.repeat(5000), CODES.TOO_LARGE, /at most 4096/],
    [[], CODES.DOOR_UNRECOGNISED, /list/],
    [null, CODES.DOOR_UNRECOGNISED, /null/],
    [42, CODES.DOOR_UNRECOGNISED, /number/],
    [undefined, CODES.DOOR_UNRECOGNISED, /undefined/],
    [{ event: 'teleported' }, CODES.DOOR_UNRECOGNISED, /"teleported" is not in the node's event mapping/],
    [{ state: 'levitating' }, CODES.DOOR_UNRECOGNISED, /state mapping/],
    [{ hello: 'world' }, CODES.DOOR_UNRECOGNISED, /no credential/],
    [JSON.parse('{"__proto__":{"pin":"1234"}}'), CODES.DOOR_UNRECOGNISED, /no credential/],
    ['toString', CODES.DOOR_UNRECOGNISED, /mapping/],
    ['constructor', CODES.DOOR_UNRECOGNISED, /mapping/],
    [{ event: '__proto__' }, CODES.DOOR_UNRECOGNISED, /mapping/],
    [{ state: 'hasOwnProperty' }, CODES.DOOR_UNRECOGNISED, /mapping/],
  ])('%j -> %s', (payload, code, message) => {
    const r = classify(payload);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('refuses unusable mapping settings', () => {
    expect(door.doorMapping({ eventMap: '{"x":"teleported"}' })).toMatchObject({ ok: false, code: CODES.CONFIG_INVALID });
    expect(door.doorMapping({ stateMap: '{not json' })).toMatchObject({ ok: false, code: CODES.CONFIG_INVALID });
    expect(door.doorMapping({ stateMap: '["LOCKED"]' })).toMatchObject({ ok: false, code: CODES.CONFIG_INVALID });
    expect(door.doorMapping({ commandMap: '{"explode":"BOOM"}' })).toMatchObject({ ok: false, code: CODES.CONFIG_INVALID });
  });

  it('reads a garbled or missing answer from Vuoro as a deny', () => {
    expect(door.decisionOf('{"requestId":"r","granted":true,"reason":"granted","serverTime":"2027-01-11T18:00:00+02:00"}')).toEqual({ granted: true, reason: 'granted' });
    for (const bad of ['garbage', '{"granted":"yes","reason":"granted"}', '{}', '[]', 'null', Buffer.alloc(0)]) {
      expect(door.decisionOf(bad)).toMatchObject({ granted: false, reason: 'invalid_response' });
    }
  });
});

describe('signed door commands', () => {
  const signer = Signer.generate();
  const keys = (() => {
    const k = jws.parseTrustedKeys(JSON.stringify({ keys: [signer.publicJwk] }));
    if (!k.ok) throw new Error(k.message);
    return k.keys;
  })();
  const now = Date.parse('2027-01-11T16:00:00Z');
  const command = (over: Record<string, unknown> = {}) => ({
    v: 1,
    commandId: `cmd_${Math.random().toString(36).slice(2)}`,
    siteId: 'sit_test',
    doorId: 'door_sauna',
    action: 'unlock',
    durationSeconds: 900,
    emergency: false,
    issuedAt: now,
    expiresAt: now + 30_000,
    ...over,
  });
  const check = (payload: unknown, seen = new Map<string, number>(), at = now) =>
    door.verifyDoorCommand(typeof payload === 'string' ? payload : JSON.stringify(payload), { keys, siteId: 'sit_test', doorId: 'door_sauna', now: at, seen });

  it('passes a command signed by a pinned key for this door, once', () => {
    const c = command();
    const signed = signer.sign('vuoro-door-command+json', c);
    const seen = new Map<string, number>();
    expect(check(signed, seen)).toEqual({ ok: true, command: c });
    expect(check(signed, seen)).toEqual({ ok: false, reason: 'replayed', commandId: c.commandId });
  });

  it.each([
    ['wrong_door', command({ doorId: 'door_hall' })],
    ['expired', command({ issuedAt: now - 60_000, expiresAt: now })],
    ['issued_in_future', command({ issuedAt: now + 120_000, expiresAt: now + 150_000 })],
    ['too_long_lived', command({ expiresAt: now + 10 * 60_000 })],
    ['malformed', command({ action: 'explode' })],
    ['malformed', command({ extra: true })],
  ])('refuses %s', (reason, c) => {
    expect(check(signer.sign('vuoro-door-command+json', c))).toMatchObject({ ok: false, reason });
  });

  it('refuses what a pinned key did not sign', () => {
    const c = command();
    expect(check(Signer.generate().sign('vuoro-door-command+json', c))).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(check(signer.sign('vuoro-allowlist+json', c))).toMatchObject({ ok: false, reason: 'wrong_type' });
    const signed = signer.sign('vuoro-door-command+json', c);
    const tampered = { ...signed, payload: Buffer.from(JSON.stringify({ ...c, durationSeconds: 86_400 })).toString('base64url') };
    expect(check(tampered)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(check('{"action":"unlock"}')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(check('unlock')).toMatchObject({ ok: false, reason: 'not_json' });
    expect(check({ protected: '!!', payload: 'x', signature: 'y' })).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('reads trusted keys as the API gives them, and refuses anything else', () => {
    expect(jws.parseTrustedKeys([signer.publicJwk])).toMatchObject({ ok: true });
    expect(jws.parseTrustedKeys('')).toMatchObject({ ok: true });
    expect(jws.parseTrustedKeys('{"keys":[{"kty":"RSA","n":"x"}]}')).toMatchObject({ ok: false });
    expect(jws.parseTrustedKeys('not json')).toMatchObject({ ok: false });
  });
});
