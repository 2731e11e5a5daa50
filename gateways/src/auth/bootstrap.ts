/**
 * Keys a fresh installation needs: the first admin key (created only when no
 * live admin key exists) and, for the demo, a `book` + `staff` key of a demo
 * channel. Secrets are stored hashed, so a key can be printed only when it is
 * created: the demo key is therefore replaced at every start (the previous
 * one revoked).
 */
import type { KeyStore } from './keys.js';

export const ADMIN_CHANNEL = 'chn_admin';
export const DEMO_CHANNEL = 'chn_demo';
const DEMO_KEY_NAME = 'demo key (replaced at every start)';

export function ensureAdminKey(keys: KeyStore): { keyId: string; secret: string } | undefined {
  if (keys.hasLiveAdminKey()) return undefined;
  if (keys.channel(ADMIN_CHANNEL) === undefined) keys.createChannel({ channelId: ADMIN_CHANNEL, name: 'Administration' });
  const { key, secret } = keys.createKey({ channelId: ADMIN_CHANNEL, name: 'first admin key', scopes: ['admin'] });
  return { keyId: key.keyId, secret };
}

export function rotateDemoKey(keys: KeyStore): { keyId: string; secret: string; staffId: string | null } {
  if (keys.channel(DEMO_CHANNEL) === undefined) keys.createChannel({ channelId: DEMO_CHANNEL, name: 'Demo channel' });
  for (const k of keys.keys(DEMO_CHANNEL)) if (k.name === DEMO_KEY_NAME && k.revokedAt === null) keys.revoke(k.keyId);
  const { key, secret } = keys.createKey({ channelId: DEMO_CHANNEL, name: DEMO_KEY_NAME, scopes: ['book', 'staff'], staffId: 'stf_demo' });
  return { keyId: key.keyId, secret, staffId: key.staffId };
}
