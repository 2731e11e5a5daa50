/**
 * Signed documents for locks: allow-lists and door commands travel as JWS in
 * the flattened JSON serialization (RFC 7515 section 7.2.2) with EdDSA over
 * Ed25519 (RFC 8037):
 *
 *   {"protected":"<b64url header>","payload":"<b64url JSON>","signature":"<b64url>"}
 *
 * The signature covers the exact bytes sent, so no JSON canonicalisation is
 * needed, and a lock with any JOSE library (or 60 lines of C around an
 * Ed25519 primitive) can verify it. Keys are named by their RFC 7638 JWK
 * thumbprint; a lock pins the public keys it trusts when it is provisioned,
 * which also lets the server rotate keys (publish with the new one once every
 * lock trusts both).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
}

export const flattenedJwsSchema = z
  .object({ protected: z.string().min(1), payload: z.string().min(1), signature: z.string().min(1) })
  .strict();
export type FlattenedJws = z.infer<typeof flattenedJwsSchema>;

const jwkThumbprint = (x: string): string =>
  createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');

export function publicJwkOf(key: KeyObject): PublicJwk {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 key');
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwkThumbprint(jwk.x) };
}

export class Signer {
  readonly publicJwk: PublicJwk;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
      throw new TypeError('the signing key must be an Ed25519 private key');
    }
    this.publicJwk = publicJwkOf(privateKey);
  }

  static generate(): Signer {
    return new Signer(generateKeyPairSync('ed25519').privateKey);
  }

  static fromPem(pem: string | Buffer): Signer {
    return new Signer(createPrivateKey(pem));
  }

  toPem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  get kid(): string {
    return this.publicJwk.kid;
  }

  sign(typ: string, payload: unknown): FlattenedJws {
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: this.kid, typ })).toString('base64url');
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signature = sign(null, Buffer.from(`${header}.${body}`), this.privateKey).toString('base64url');
    return { protected: header, payload: body, signature };
  }
}

export type VerifyFailure = 'malformed' | 'unknown_key' | 'wrong_type' | 'bad_signature';

/** Keys a verifier trusts, by kid. */
export class TrustedKeys {
  private readonly keys = new Map<string, KeyObject>();

  constructor(jwks: readonly PublicJwk[]) {
    for (const jwk of jwks) {
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
      this.keys.set(jwkThumbprint(jwk.x), key);
    }
  }

  get size(): number {
    return this.keys.size;
  }

  /** Verifies a flattened JWS of the expected `typ`; returns the payload's JSON text. */
  verify(jws: unknown, typ: string): { ok: true; payload: unknown } | { ok: false; reason: VerifyFailure } {
    const parsed = flattenedJwsSchema.safeParse(jws);
    if (!parsed.success) return { ok: false, reason: 'malformed' };
    const { protected: header, payload, signature } = parsed.data;
    let h: { alg?: unknown; kid?: unknown; typ?: unknown };
    try {
      h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as typeof h;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (h === null || typeof h !== 'object' || h.alg !== 'EdDSA' || typeof h.kid !== 'string') return { ok: false, reason: 'malformed' };
    if (h.typ !== typ) return { ok: false, reason: 'wrong_type' };
    const key = this.keys.get(h.kid);
    if (key === undefined) return { ok: false, reason: 'unknown_key' };
    const good = verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'));
    if (!good) return { ok: false, reason: 'bad_signature' };
    try {
      return { ok: true, payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
  }
}

export const ALLOWLIST_TYP = 'vuoro-allowlist+json';
export const DOOR_COMMAND_TYP = 'vuoro-door-command+json';
