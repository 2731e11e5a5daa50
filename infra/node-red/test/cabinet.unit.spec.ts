/** Key cabinet messages to Vuoro key events, checked against access-control's schema. */
import { keyCabinetMessageSchema } from '@vuoro/access-control';
import { describe, expect, it } from 'vitest';
import { cabinet, errors } from './cjs.js';

const { CODES } = errors;
const mapping = (s = {}) => {
  const m = cabinet.cabinetMapping(s);
  if (!m.ok) throw new Error(m.message);
  return m.value;
};
const slots = mapping({ keyMap: '{"2":"key_sauna_1","A7":"key_hall_1"}' });

describe('key cabinet events', () => {
  it.each([
    [{ event: 'taken', slot: 2, pin: '482913' }, { type: 'key_taken', keyId: 'key_sauna_1', credential: { method: 'pin', pin: '482913' } }],
    [{ type: 'key_returned', keyId: 'key_sauna_1' }, { type: 'key_returned', keyId: 'key_sauna_1' }],
    [{ action: 'INSERTED', slot: 'a7', at: 1_800_000_000_000 }, { type: 'key_returned', keyId: 'key_hall_1', at: 1_800_000_000_000 }],
    ['{"event":"out","key":"key_x","uid":"04:a2:1b:9c"}', { type: 'key_taken', keyId: 'key_x', credential: { method: 'card', card: '04A21B9C' } }],
  ])('%j', (payload, expected) => {
    const r = cabinet.keyEventMessage(payload, slots);
    expect(r).toEqual({ ok: true, value: expected });
    if (r.ok) expect(keyCabinetMessageSchema.safeParse(r.value).success).toBe(true);
  });

  it.each([
    [{ slot: 2 }, CODES.KEY_EVENT_INVALID, /no event/],
    [{ event: 'exploded', slot: 2 }, CODES.KEY_EVENT_INVALID, /not in the node's event mapping/],
    [{ event: 'constructor', slot: 2 }, CODES.KEY_EVENT_INVALID, /not in the node's event mapping/],
    [{ event: 'taken' }, CODES.KEY_EVENT_INVALID, /no key or slot/],
    [{ event: 'taken', slot: '../../doors/x' }, CODES.KEY_EVENT_INVALID, /not a Vuoro key id/],
    [{ event: 'taken', slot: { $ne: 1 } }, CODES.KEY_EVENT_INVALID, /no key or slot/],
    [{ event: 'taken', slot: 2, pin: 482913 }, CODES.CREDENTIAL_INVALID, /PIN/],
    [{ event: 'taken', slot: 2, pin: '1', card: '04A21B9C' }, CODES.CREDENTIAL_INVALID, /one credential/],
    ['taken', CODES.KEY_EVENT_INVALID, /object/],
    ['{"event":', CODES.NOT_JSON, /JSON/],
  ])('refuses %j', (payload, code, message) => {
    const r = cabinet.keyEventMessage(payload, slots);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('refuses unusable tables', () => {
    expect(cabinet.cabinetMapping({ keyMap: '{"1":"key/1"}' })).toMatchObject({ ok: false, code: CODES.CONFIG_INVALID });
    expect(cabinet.cabinetMapping({ eventMap: '{"x":"key_lost"}' })).toMatchObject({ ok: false, code: CODES.CONFIG_INVALID });
  });
});
