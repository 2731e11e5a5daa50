import { describe, expect, it } from 'vitest';
import { defaultKdf, deviceSecretDigest, doorHash, drawPin, isGuessablePin, newDeviceSecret, offlineDigest, sameDigest, secretDigest } from './codes.js';

describe('access codes', () => {
  it('draws PINs of the asked length that are not guessable', () => {
    for (let i = 0; i < 500; i++) {
      const pin = drawPin(6);
      expect(pin).toMatch(/^\d{6}$/);
      expect(isGuessablePin(pin)).toBe(false);
    }
    expect(drawPin(8)).toMatch(/^\d{8}$/);
    expect(() => drawPin(4)).toThrow(RangeError);
  });

  it('spreads PINs evenly over the digits (no bias from ids or clocks)', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) for (const ch of drawPin(6)) counts[Number(ch)]! += 1;
    // 12,000 digits: each digit about 1,200; a fair draw stays well within ±20 %.
    for (const c of counts) expect(Math.abs(c - 1200)).toBeLessThan(240);
  });

  it('knows the guessable ones', () => {
    for (const p of ['000000', '111111', '123456', '987654', '901234']) expect(isGuessablePin(p)).toBe(true);
    for (const p of ['482913', '100000', '123457']) expect(isGuessablePin(p)).toBe(false);
  });

  it('digests depend on the pepper, the method and the code', () => {
    const pepper = Buffer.alloc(32, 1);
    expect(secretDigest(pepper, 'pin', '482913')).toBe(secretDigest(pepper, 'pin', '482913'));
    expect(secretDigest(pepper, 'pin', '482913')).not.toBe(secretDigest(Buffer.alloc(32, 2), 'pin', '482913'));
    expect(secretDigest(pepper, 'card', '04aabb')).toBe(secretDigest(pepper, 'card', '04AABB'));
    expect(secretDigest(pepper, 'pin', '482913')).not.toContain('482913');
  });

  it('derives door entries from the site KDF, different per door salt', async () => {
    const kdf = defaultKdf({ iterations: 1000 });
    const d = await offlineDigest(kdf, 'pin', '482913');
    expect(await offlineDigest(kdf, 'pin', '482913')).toBe(d);
    expect(doorHash('c2FsdC1vbmUtMTIzNDU2Nzg', d)).not.toBe(doorHash('c2FsdC10d28tMTIzNDU2Nzg', d));
    const scrypt = defaultKdf({ alg: 'scrypt', N: 1024 });
    expect(await offlineDigest(scrypt, 'pin', '482913')).not.toBe(d);
  });

  it('checks device secrets in constant time against their digest', () => {
    const pepper = Buffer.alloc(32, 3);
    const secret = newDeviceSecret();
    const digest = deviceSecretDigest(pepper, secret);
    expect(sameDigest(deviceSecretDigest(pepper, secret), digest)).toBe(true);
    expect(sameDigest(deviceSecretDigest(pepper, `${secret}x`), digest)).toBe(false);
    expect(sameDigest('short', digest)).toBe(false);
  });
});
