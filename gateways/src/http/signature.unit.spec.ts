import { describe, expect, it } from 'vitest';
import { sign, verify } from './signature.js';

const SECRET = 'whsec_test';
const NOW = 1_800_000_000;

describe('webhook signatures', () => {
  it('verifies what it signs, within the tolerance', () => {
    const body = '{"a":1}';
    expect(verify(SECRET, body, sign(SECRET, body, NOW), NOW + 299, 300)).toEqual({ ok: true });
    expect(verify(SECRET, Buffer.from(body), sign(SECRET, body, NOW), NOW, 300)).toEqual({ ok: true });
  });

  it('refuses another body, another secret, an old timestamp, and malformed headers, saying why', () => {
    const header = sign(SECRET, '{"a":1}', NOW);
    expect(verify(SECRET, '{"a":2}', header, NOW, 300)).toEqual({ ok: false, reason: 'the signature does not match the body' });
    expect(verify('other', '{"a":1}', header, NOW, 300).ok).toBe(false);
    expect(verify(SECRET, '{"a":1}', header, NOW + 301, 300)).toMatchObject({ ok: false, reason: expect.stringMatching(/timestamp/) });
    expect(verify(SECRET, '{"a":1}', undefined, NOW, 300)).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
    expect(verify(SECRET, '{"a":1}', 'v1=abc', NOW, 300)).toMatchObject({ ok: false, reason: expect.stringMatching(/form/) });
    // The timestamp is signed: moving it breaks the signature.
    expect(verify(SECRET, '{"a":1}', header.replace(`t=${NOW}`, `t=${NOW + 1}`), NOW, 300).ok).toBe(false);
  });

  it('accepts any one valid signature while a secret is being rotated', () => {
    const body = 'x';
    const fresh = sign(SECRET, body, NOW);
    const old = sign('previous', body, NOW);
    expect(verify(SECRET, body, `${old},${fresh.split(',')[1]}`, NOW, 300)).toEqual({ ok: true });
  });
});
