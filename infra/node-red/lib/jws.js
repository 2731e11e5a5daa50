// @ts-check
/**
 * Verifying Vuoro's signed door commands: flattened JWS, EdDSA over Ed25519,
 * keys named by their RFC 7638 thumbprint, as access-control's crypto/jws.ts
 * signs them. The node pins the keys (`GET /v1/access/signing-keys`) the way
 * a lock does; an unsigned or foreign command never reaches a vendor lock.
 */
'use strict';

const { createHash, createPublicKey, verify } = require('node:crypto');
const { isRecord } = require('./values');

const DOOR_COMMAND_TYP = 'vuoro-door-command+json';

/** @param {string} x */
const thumbprint = (x) => createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');

/**
 * The keys from the editor's JSON: a JWKS `{"keys":[...]}` as the API gives
 * it, an array of JWKs, or one JWK.
 * @param {unknown} input
 * @returns {{ ok: true, keys: TrustedKeys } | { ok: false, message: string }}
 */
function parseTrustedKeys(input) {
  let v = input;
  if (typeof input === 'string') {
    if (input.trim() === '') return { ok: true, keys: new TrustedKeys([]) };
    try {
      v = JSON.parse(input);
    } catch {
      return { ok: false, message: 'trusted keys are not valid JSON: paste the answer of GET /v1/access/signing-keys' };
    }
  }
  const list = isRecord(v) && Array.isArray(v.keys) ? v.keys : Array.isArray(v) ? v : isRecord(v) ? [v] : undefined;
  if (list === undefined) return { ok: false, message: 'trusted keys must be a JWKS {"keys":[...]} or a list of Ed25519 JWKs' };
  /** @type {string[]} */
  const xs = [];
  for (const k of list) {
    if (!isRecord(k) || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(k.x)) {
      return { ok: false, message: 'each trusted key must be an Ed25519 JWK {"kty":"OKP","crv":"Ed25519","x":"..."}' };
    }
    xs.push(k.x);
  }
  return { ok: true, keys: new TrustedKeys(xs) };
}

class TrustedKeys {
  /** @param {readonly string[]} xs the keys' `x` values */
  constructor(xs) {
    /** @type {Map<string, import('node:crypto').KeyObject>} */
    this.keys = new Map();
    for (const x of xs) this.keys.set(thumbprint(x), createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }));
  }

  get size() {
    return this.keys.size;
  }

  /**
   * @param {unknown} jws
   * @param {string} typ
   * @returns {{ ok: true, payload: unknown } | { ok: false, reason: 'malformed' | 'unknown_key' | 'wrong_type' | 'bad_signature' }}
   */
  verify(jws, typ) {
    if (!isRecord(jws) || Object.keys(jws).length !== 3) return { ok: false, reason: 'malformed' };
    const { protected: header, payload, signature } = jws;
    if (typeof header !== 'string' || typeof payload !== 'string' || typeof signature !== 'string' || header === '' || payload === '' || signature === '') {
      return { ok: false, reason: 'malformed' };
    }
    /** @type {unknown} */
    let h;
    try {
      h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!isRecord(h) || h.alg !== 'EdDSA' || typeof h.kid !== 'string') return { ok: false, reason: 'malformed' };
    if (h.typ !== typ) return { ok: false, reason: 'wrong_type' };
    const key = this.keys.get(h.kid);
    if (key === undefined) return { ok: false, reason: 'unknown_key' };
    if (!verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) return { ok: false, reason: 'bad_signature' };
    try {
      return { ok: true, payload: /** @type {unknown} */ (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))) };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
  }
}

module.exports = { TrustedKeys, parseTrustedKeys, DOOR_COMMAND_TYP };
