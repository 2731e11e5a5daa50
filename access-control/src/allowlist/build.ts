/**
 * Builds a door's allow-list from the site's state: every live credential
 * valid at the door (its own and the site-wide ones), with the windows that
 * have not ended, clipped to the list's horizon. Pure: the salt, the time and
 * the version come in; signing happens outside (runtime/allowlists.ts).
 */
import { doorHash } from '../crypto/codes.js';
import { clip } from '../credentials/windows.js';
import { SITE_WIDE, type AccessState, type CredentialView } from '../site/state.js';
import type { AllowList, AllowListEntry } from './document.js';

export interface BuildOptions {
  now: number;
  version: number;
  /** The list is valid until now + ttlMs; a lock that hears nothing newer denies after that. */
  ttlMs: number;
  /** Windows beyond now + horizonMs are left out (they come with a later version). */
  horizonMs: number;
  doorSalt: string;
}

/** Credentials that open a door at some time: its own index bucket and the site-wide one. */
export function credentialsAtDoor(state: AccessState, doorId: string): CredentialView[] {
  const out: CredentialView[] = [];
  for (const bucket of [doorId, SITE_WIDE]) {
    for (const ids of state.index.get(bucket)?.values() ?? []) {
      for (const id of ids) {
        const c = state.credentials.get(id);
        if (c !== undefined && !c.revoked) out.push(c);
      }
    }
  }
  return out;
}

export function buildAllowList(state: AccessState, doorId: string, o: BuildOptions): AllowList {
  if (state.siteId === undefined || state.kdf === undefined) throw new Error('access control of the site is not initialised');
  const entries: AllowListEntry[] = [];
  for (const c of credentialsAtDoor(state, doorId)) {
    const windows = clip(c.windows, o.now, o.now + o.horizonMs);
    if (windows.length === 0) continue;
    entries.push({ id: c.credentialId, m: c.method, h: doorHash(o.doorSalt, c.offlineDigest), w: windows.map((w) => [w.start, w.end]) });
  }
  // A stable order, so a lock (and a test) can diff two versions.
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const e = state.emergency;
  return {
    v: 1,
    siteId: state.siteId,
    doorId,
    version: o.version,
    issuedAt: o.now,
    expiresAt: o.now + o.ttlMs,
    kdf: state.kdf,
    doorSalt: o.doorSalt,
    emergency: e === undefined ? null : { since: e.since, until: e.until ?? null },
    entries,
  };
}
