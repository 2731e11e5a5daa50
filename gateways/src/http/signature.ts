/**
 * Webhook signatures, both ways: the payment provider signs what it sends us,
 * and Vuoro signs what it delivers to channels. One scheme for both:
 *
 *   Vuoro-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
 *
 * The timestamp is signed too, so a captured request cannot be replayed
 * outside the tolerance window. Several `v1=` values may be sent while a
 * secret is being rotated; one valid one suffices.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'vuoro-signature';

export function sign(secret: string, body: string, nowSeconds: number): string {
  const t = Math.floor(nowSeconds);
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verify(secret: string, body: string | Buffer, header: string | undefined, nowSeconds: number, toleranceSeconds: number): SignatureCheck {
  if (header === undefined || header.length === 0) return { ok: false, reason: 'the Vuoro-Signature header is missing' };
  let t: number | undefined;
  const macs: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v !== undefined && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/i.test(v)) macs.push(v.toLowerCase());
  }
  if (t === undefined || macs.length === 0) return { ok: false, reason: 'the Vuoro-Signature header is not of the form t=<unix seconds>,v1=<hex>' };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) {
    return { ok: false, reason: `the signature timestamp is more than ${toleranceSeconds} s away from our clock` };
  }
  const expected = createHmac('sha256', secret)
    .update(`${t}.`)
    .update(body)
    .digest();
  const matches = macs.some((m) => {
    const given = Buffer.from(m, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true } : { ok: false, reason: 'the signature does not match the body' };
}
