/**
 * The in-memory state of one site's access control, rebuilt from its
 * `access-<siteId>` stream. It is also the gateway's on-line index: a door's
 * credentials by digest, so an auth request is one hash and two map lookups.
 * Owned by one writer (the partition actor), so evolve updates it in place.
 */
import type { CredentialMethod, DeviceKind, DoorAction, Holder, Kdf } from '../events.js';
import { overlaps, type Window } from '../credentials/windows.js';

export interface DoorView {
  readonly doorId: string;
  readonly spaceId: string;
  name: string;
  removed: boolean;
  allowList: { version: number; issuedAt: number; expiresAt: number; sha256: string } | undefined;
  /** Keys that open this door and are in service. */
  readonly keyIds: Set<string>;
}

export interface DeviceView {
  readonly deviceId: string;
  readonly kind: DeviceKind;
  readonly doorId: string | undefined;
  readonly spaceId: string | undefined;
  readonly cabinetId: string | undefined;
  readonly name: string;
  secretDigest: string;
  decommissioned: boolean;
}

export interface CredentialView {
  readonly credentialId: string;
  readonly method: CredentialMethod;
  readonly holder: Holder;
  readonly holderKey: string;
  secretDigest: string;
  offlineDigest: string;
  doorIds: string[];
  readonly allDoors: boolean;
  /** Normalized (sorted, merged). */
  windows: Window[];
  revoked: boolean;
  revokedReason: string | undefined;
  /** The current code reached the customer's outbox (or staff saw it once). */
  handedOver: boolean;
  /** Bumped by every code rotation, so outbox messages of an old code are told apart. */
  codeVersion: number;
}

export interface CommandView {
  readonly commandId: string;
  readonly doorId: string;
  readonly action: DoorAction;
  readonly durationSeconds: number | undefined;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly emergency: boolean;
  readonly by: string;
  readonly reason: string;
}

export type KeyStatus = 'available' | 'lent' | 'out' | 'lost' | 'retired';

export interface KeyView {
  readonly keyId: string;
  readonly label: string;
  readonly doorIds: string[];
  readonly cabinetId: string | undefined;
  status: KeyStatus;
  /** The open loan, if the key is lent. */
  loanId: string | undefined;
  /** Who took it out (credential id), if known. */
  takenBy: string | undefined;
}

export interface LoanView {
  readonly loanId: string;
  readonly keyId: string;
  readonly holder: Holder;
  readonly dueAt: number;
  takenAt: number | undefined;
  returnedAt: number | undefined;
  overdue: boolean;
}

export interface AccessState {
  siteId: string | undefined;
  kdf: Kdf | undefined;
  readonly doors: Map<string, DoorView>;
  readonly devices: Map<string, DeviceView>;
  readonly credentials: Map<string, CredentialView>;
  /** holderKey -> id of the holder's live (not revoked) credential. */
  readonly byHolder: Map<string, string>;
  /** doorId (or SITE_WIDE) -> secretDigest -> credential ids. */
  readonly index: Map<string, Map<string, Set<string>>>;
  readonly commands: Map<string, CommandView>;
  emergency: { since: number; until: number | undefined; by: string; reason: string } | undefined;
  readonly keys: Map<string, KeyView>;
  readonly loans: Map<string, LoanView>;
}

/** Index bucket of credentials valid at every door of the site. */
export const SITE_WIDE = '*';

export const initialAccessState = (): AccessState => ({
  siteId: undefined,
  kdf: undefined,
  doors: new Map(),
  devices: new Map(),
  credentials: new Map(),
  byHolder: new Map(),
  index: new Map(),
  commands: new Map(),
  emergency: undefined,
  keys: new Map(),
  loans: new Map(),
});

export const activeDoor = (state: AccessState, doorId: string): DoorView | undefined => {
  const door = state.doors.get(doorId);
  return door === undefined || door.removed ? undefined : door;
};

export function indexAdd(state: AccessState, c: CredentialView): void {
  for (const bucket of c.allDoors ? [SITE_WIDE] : c.doorIds) {
    let byDigest = state.index.get(bucket);
    if (byDigest === undefined) {
      byDigest = new Map();
      state.index.set(bucket, byDigest);
    }
    let ids = byDigest.get(c.secretDigest);
    if (ids === undefined) {
      ids = new Set();
      byDigest.set(c.secretDigest, ids);
    }
    ids.add(c.credentialId);
  }
}

export function indexRemove(state: AccessState, c: CredentialView): void {
  for (const bucket of c.allDoors ? [SITE_WIDE] : c.doorIds) {
    const byDigest = state.index.get(bucket);
    const ids = byDigest?.get(c.secretDigest);
    if (byDigest === undefined || ids === undefined) continue;
    ids.delete(c.credentialId);
    if (ids.size === 0) byDigest.delete(c.secretDigest);
  }
}

/** Live credentials with this digest at a door: its own bucket plus the site-wide one. */
export function candidatesAt(state: AccessState, doorId: string, digest: string): CredentialView[] {
  const out: CredentialView[] = [];
  for (const bucket of [doorId, SITE_WIDE]) {
    const ids = state.index.get(bucket)?.get(digest);
    if (ids === undefined) continue;
    for (const id of ids) {
      const c = state.credentials.get(id);
      if (c !== undefined && !c.revoked) out.push(c);
    }
  }
  return out;
}

/**
 * Another live credential with the same code, valid at one of the same doors
 * at an overlapping time: the two would be indistinguishable at that door.
 */
export function codeCollision(
  state: AccessState,
  target: { secretDigest: string; doorIds: readonly string[]; allDoors: boolean; windows: readonly Window[] },
  exceptCredentialId?: string,
): { credentialId: string; doorId: string } | undefined {
  const doors = target.allDoors ? [...state.doors.keys()] : target.doorIds;
  const clash = (ids: Set<string> | undefined, doorId: string): { credentialId: string; doorId: string } | undefined => {
    for (const id of ids ?? []) {
      if (id === exceptCredentialId) continue;
      const other = state.credentials.get(id);
      if (other !== undefined && !other.revoked && overlaps(other.windows, target.windows)) return { credentialId: id, doorId };
    }
    return undefined;
  };
  for (const doorId of doors) {
    const hit = clash(state.index.get(doorId)?.get(target.secretDigest), doorId);
    if (hit) return hit;
  }
  return clash(state.index.get(SITE_WIDE)?.get(target.secretDigest), SITE_WIDE);
}

/** Doors a credential is valid at right now in the registry (site-wide ones: every active door). */
export function doorsOf(state: AccessState, c: CredentialView): string[] {
  if (c.allDoors) return [...state.doors.values()].filter((d) => !d.removed).map((d) => d.doorId);
  return c.doorIds.filter((id) => activeDoor(state, id) !== undefined);
}

/** The lock devices bound to a door. */
export function locksOf(state: AccessState, doorId: string): DeviceView[] {
  return [...state.devices.values()].filter((d) => d.kind === 'lock' && d.doorId === doorId && !d.decommissioned);
}
