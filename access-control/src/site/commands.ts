/**
 * Commands to a site's access control. They are built by the runtime (from
 * reservation events, the HTTP API and MQTT messages), which has already
 * validated their shape and done everything random (ids, PINs, salts) and
 * slow (digests); the decider checks the rules. Time is an input:
 * `meta.now` is stamped by the partition runtime.
 */
import type { CredentialMethod, DeviceKind, DoorAction, Holder, Kdf } from '../events.js';
import type { Window } from '../credentials/windows.js';

export interface AccessMeta {
  /** Epoch ms at which the command is decided. */
  now: number;
  /** Who acts: `staff:stf_1`, `apikey:desk`, `system:credential-sync`, `device:dev_1`. */
  actor: string;
}

type Cmd<T extends string, D> = { type: T; data: D; meta: AccessMeta };

export type AccessCommand =
  | Cmd<'InitializeSite', { siteId: string; kdf: Kdf }>
  | Cmd<'RegisterDoor', { doorId: string; spaceId: string; name: string }>
  | Cmd<'RemoveDoor', { doorId: string; reason: string }>
  | Cmd<
      'ProvisionDevice',
      { deviceId: string; kind: DeviceKind; doorId?: string; spaceId?: string; cabinetId?: string; name: string; secretDigest: string }
    >
  | Cmd<'RotateDeviceSecret', { deviceId: string; secretDigest: string }>
  | Cmd<'DecommissionDevice', { deviceId: string; reason: string }>
  | Cmd<
      'IssueCredential',
      {
        credentialId: string;
        method: CredentialMethod;
        holder: Holder;
        secretDigest: string;
        offlineDigest: string;
        doorIds: string[];
        allDoors: boolean;
        windows: Window[];
        reason: string;
      }
    >
  | Cmd<'ChangeCredential', { credentialId: string; doorIds: string[]; windows: Window[]; reason: string }>
  | Cmd<'RotateCode', { credentialId: string; secretDigest: string; offlineDigest: string; reason: string }>
  | Cmd<'RevokeCredential', { credentialId: string; reason: string }>
  | Cmd<'RecordCodeHandedOver', { credentialId: string; messageId: string; channel: 'outbox' | 'api' }>
  | Cmd<'RecordAllowListPublished', { doorId: string; version: number; issuedAt: number; expiresAt: number; entries: number; sha256: string }>
  | Cmd<
      'IssueDoorCommand',
      { commandId: string; doorId: string; action: DoorAction; durationSeconds?: number; ttlSeconds: number; reason: string }
    >
  | Cmd<'StartEmergencyOpen', { commandId: string; until?: number; ttlSeconds: number; reason: string }>
  | Cmd<'EndEmergencyOpen', { commandId: string; ttlSeconds: number; reason: string }>
  | Cmd<'RegisterKey', { keyId: string; label: string; doorIds: string[]; cabinetId?: string }>
  | Cmd<'LendKey', { keyId: string; loanId: string; holder: Holder; dueAt: number }>
  | Cmd<'RecordKeyTaken', { keyId: string; cabinetId?: string; credentialId?: string; at: number }>
  | Cmd<'RecordKeyReturned', { keyId: string; cabinetId?: string; credentialId?: string; at: number }>
  | Cmd<'FlagOverdueKeys', Record<string, never>>
  | Cmd<'MarkKeyLost', { keyId: string; reason: string; replacement?: { keyId: string; label: string } }>;

export type AccessCommandType = AccessCommand['type'];
export type AccessCommandOf<K extends AccessCommandType> = Extract<AccessCommand, { type: K }>;

/** Longest an unlock may last (a day); an emergency open lasts until it is ended. */
export const MAX_UNLOCK_SECONDS = 24 * 3600;
/** How long a door command stays deliverable at most; a lock ignores it after its expiry. */
export const MAX_COMMAND_TTL_SECONDS = 300;
/** Emergency open without an end time re-arms every lock for this long; ending it locks them again. */
export const EMERGENCY_UNLOCK_SECONDS = 12 * 3600;
