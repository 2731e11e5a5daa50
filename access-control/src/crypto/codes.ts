/**
 * Access codes and their digests. A PIN exists in clear only twice: when it
 * is drawn (and handed to the customer's outbox), and when a person types it
 * at a door. Everything stored or distributed is a digest:
 *
 * - secretDigest = HMAC-SHA256(pepper, "pin:123456"): the key of the gateway's
 *   on-line index. Fast (microseconds per request), and worthless without the
 *   pepper, which lives outside the event store.
 * - offlineDigest = KDF_site("pin:123456"): PBKDF2 (or scrypt) with the site's
 *   salt. A lock computes it from what was typed, so the server keeps it (it
 *   cannot be derived later without the PIN) and derives per-door entries:
 * - doorHash = HMAC-SHA256(doorSalt, offlineDigest), truncated to 128 bits,
 *   with a fresh random salt in every allow-list version: the same PIN looks
 *   different at every door and in every version.
 *
 * A six-digit PIN has only a million values, so an allow-list taken from a
 * lock can be searched at the KDF's cost; that is why lists are short-lived,
 * readable only by their own lock (broker ACL), and why keypads lock out.
 *
 * Device secrets are 256-bit random strings, so a fast keyed hash is as good
 * as a slow KDF for them, and keeps 10,000 locks reconnecting at once cheap.
 */
import { createHmac, pbkdf2, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import type { CredentialMethod, Kdf } from '../events.js';

export const MIN_PIN_DIGITS = 6;
export const MAX_PIN_DIGITS = 12;

/** PINs people guess first: one digit repeated, or a straight run up or down. */
export function isGuessablePin(pin: string): boolean {
  if (/^(\d)\1+$/.test(pin)) return true;
  let up = true;
  let down = true;
  for (let i = 1; i < pin.length; i++) {
    const d = pin.charCodeAt(i) - pin.charCodeAt(i - 1);
    if (d !== 1 && d !== -9) up = false;
    if (d !== -1 && d !== 9) down = false;
  }
  return up || down;
}

/** A uniformly random PIN (crypto.randomInt), never derived from ids; guessable ones are drawn again. */
export function drawPin(digits = MIN_PIN_DIGITS): string {
  if (!Number.isInteger(digits) || digits < MIN_PIN_DIGITS || digits > MAX_PIN_DIGITS) {
    throw new RangeError(`a PIN has ${MIN_PIN_DIGITS}-${MAX_PIN_DIGITS} digits, not ${digits}`);
  }
  for (;;) {
    let pin = '';
    // randomInt's range is below 2^48: draw in chunks of 6 digits.
    for (let left = digits; left > 0; left -= 6) {
      const n = Math.min(6, left);
      pin += String(randomInt(0, 10 ** n)).padStart(n, '0');
    }
    if (!isGuessablePin(pin)) return pin;
  }
}

export const randomSalt = (bytes = 16): string => randomBytes(bytes).toString('base64url');
export const newPepper = (): Buffer => randomBytes(32);

const material = (method: CredentialMethod, secret: string): string => `${method}:${method === 'card' ? secret.toUpperCase() : secret}`;

/** The on-line index key of a presented credential. */
export function secretDigest(pepper: Buffer, method: CredentialMethod, secret: string): string {
  return createHmac('sha256', pepper).update(material(method, secret)).digest('base64url');
}

const SCRYPT_MAXMEM = 256 * 1024 * 1024;

/** The site KDF of a presented credential (what a lock computes from what was typed). */
export function offlineDigest(kdf: Kdf, method: CredentialMethod, secret: string): Promise<string> {
  const input = material(method, secret);
  const salt = Buffer.from(kdf.salt, 'base64url');
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, key: Buffer): void => (error ? reject(error) : resolve(key.toString('base64url')));
    if (kdf.alg === 'pbkdf2-sha256') pbkdf2(input, salt, kdf.iterations, 32, 'sha256', done);
    else scrypt(input, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: SCRYPT_MAXMEM }, done);
  });
}

/** An allow-list entry: the offline digest under the list's door salt, 128 bits. */
export function doorHash(doorSalt: string, offline: string): string {
  return createHmac('sha256', Buffer.from(doorSalt, 'base64url'))
    .update(Buffer.from(offline, 'base64url'))
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

export const newDeviceSecret = (): string => randomBytes(32).toString('base64url');

export function deviceSecretDigest(pepper: Buffer, secret: string): string {
  return createHmac('sha256', pepper).update(`device:${secret}`).digest('base64url');
}

/** Constant-time comparison of two digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function defaultKdf(options: { alg?: Kdf['alg']; iterations?: number; N?: number } = {}): Kdf {
  return options.alg === 'scrypt'
    ? { alg: 'scrypt', N: options.N ?? 2 ** 14, r: 8, p: 1, salt: randomSalt() }
    : { alg: 'pbkdf2-sha256', iterations: options.iterations ?? 20_000, salt: randomSalt() };
}
