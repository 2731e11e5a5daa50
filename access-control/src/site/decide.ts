/**
 * The access decider: `decide(command, state)` returns the events to record
 * or a refusal with a stable code. Pure: no clock (time is `meta.now`), no
 * randomness (ids, PINs and salts come in the command), no I/O.
 */
import { holderKey, type AccessEvent, type Holder } from '../events.js';
import { normalize, sameWindows, toDto, type Window } from '../credentials/windows.js';
import { ok, refuse, type AccessResult } from '../errors.js';
import {
  EMERGENCY_UNLOCK_SECONDS,
  MAX_COMMAND_TTL_SECONDS,
  MAX_UNLOCK_SECONDS,
  type AccessCommand,
  type AccessCommandOf,
} from './commands.js';
import { activeDoor, codeCollision, type AccessState } from './state.js';

type Decision = AccessResult<AccessEvent[]>;
const iso = (ms: number): string => new Date(ms).toISOString();

const MIN_REASON = 3;

function needReason(reason: string, field = 'reason'): Decision | undefined {
  return reason.trim().length < MIN_REASON
    ? refuse('VALIDATION_FAILED', `Say why (at least ${MIN_REASON} characters): it goes into the audit trail.`, { field })
    : undefined;
}

function unknownDoors(state: AccessState, doorIds: readonly string[]): Decision | undefined {
  const missing = doorIds.filter((id) => activeDoor(state, id) === undefined);
  return missing.length === 0
    ? undefined
    : refuse('UNKNOWN_DOOR', `Door ${missing.join(', ')} is not registered at site ${state.siteId}; register it first.`, {
        field: 'doorIds',
        details: { doorIds: missing },
      });
}

function collision(
  state: AccessState,
  target: { secretDigest: string; doorIds: readonly string[]; allDoors: boolean; windows: readonly Window[] },
  except?: string,
): Decision | undefined {
  const hit = codeCollision(state, target, except);
  return hit === undefined
    ? undefined
    : refuse('CODE_COLLISION', 'Another credential with the same code is valid at one of these doors at an overlapping time; draw another code.', {
        details: { doorId: hit.doorId },
      });
}

function initializeSite(cmd: AccessCommandOf<'InitializeSite'>, state: AccessState): Decision {
  if (state.siteId !== undefined) return refuse('ALREADY_EXISTS', `Access control of site ${state.siteId} is already initialised.`);
  return ok([{ type: 'AccessSiteInitialized', data: { siteId: cmd.data.siteId, kdf: cmd.data.kdf, by: cmd.meta.actor } }]);
}

function registerDoor(cmd: AccessCommandOf<'RegisterDoor'>, state: AccessState, siteId: string): Decision {
  const { doorId, spaceId, name } = cmd.data;
  if (activeDoor(state, doorId) !== undefined) return refuse('ALREADY_EXISTS', `Door ${doorId} is already registered.`, { field: 'doorId' });
  if (state.doors.has(doorId)) return refuse('ALREADY_EXISTS', `Door id ${doorId} belonged to a removed door; use a new id.`, { field: 'doorId' });
  return ok([{ type: 'DoorRegistered', data: { siteId, doorId, spaceId, name, by: cmd.meta.actor } }]);
}

function removeDoor(cmd: AccessCommandOf<'RemoveDoor'>, state: AccessState, siteId: string): Decision {
  const bad = unknownDoors(state, [cmd.data.doorId]) ?? needReason(cmd.data.reason);
  if (bad) return bad;
  return ok([{ type: 'DoorRemoved', data: { siteId, doorId: cmd.data.doorId, reason: cmd.data.reason, by: cmd.meta.actor } }]);
}

function provisionDevice(cmd: AccessCommandOf<'ProvisionDevice'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  if (state.devices.has(d.deviceId)) return refuse('ALREADY_EXISTS', `Device ${d.deviceId} already exists.`, { field: 'deviceId' });
  switch (d.kind) {
    case 'lock': {
      if (d.doorId === undefined) return refuse('VALIDATION_FAILED', 'A lock is provisioned for a door: give doorId.', { field: 'doorId' });
      const bad = unknownDoors(state, [d.doorId]);
      if (bad) return bad;
      break;
    }
    case 'occupancy_sensor':
      if (d.spaceId === undefined) return refuse('VALIDATION_FAILED', 'An occupancy sensor watches a space: give spaceId.', { field: 'spaceId' });
      break;
    case 'key_cabinet':
      if (d.cabinetId === undefined) return refuse('VALIDATION_FAILED', 'A key cabinet needs its cabinetId.', { field: 'cabinetId' });
      break;
  }
  return ok([
    {
      type: 'DeviceProvisioned',
      data: {
        siteId,
        deviceId: d.deviceId,
        kind: d.kind,
        ...(d.kind === 'lock' ? { doorId: d.doorId } : {}),
        ...(d.kind === 'occupancy_sensor' ? { spaceId: d.spaceId } : {}),
        ...(d.kind === 'key_cabinet' ? { cabinetId: d.cabinetId } : {}),
        name: d.name,
        secretDigest: d.secretDigest,
        by: cmd.meta.actor,
      },
    },
  ]);
}

function liveDevice(state: AccessState, deviceId: string): AccessResult<true> {
  const d = state.devices.get(deviceId);
  if (d === undefined) return refuse('UNKNOWN_DEVICE', `Device ${deviceId} does not exist at site ${state.siteId}.`, { field: 'deviceId' });
  if (d.decommissioned) return refuse('INVALID_STATE', `Device ${deviceId} is decommissioned; provision a new one.`);
  return ok(true);
}

function issueCredential(cmd: AccessCommandOf<'IssueCredential'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  if (state.credentials.has(d.credentialId)) return refuse('ALREADY_EXISTS', `Credential ${d.credentialId} already exists.`);
  const existing = state.byHolder.get(holderKey(d.holder));
  if (existing !== undefined) {
    return refuse('ALREADY_EXISTS', `This holder already has credential ${existing}; change or revoke it instead.`, {
      details: { credentialId: existing },
    });
  }
  const windows = normalize(d.windows);
  if (windows.length === 0) return refuse('VALIDATION_FAILED', 'A credential needs at least one validity window.', { field: 'windows' });
  const bad =
    (d.allDoors ? undefined : unknownDoors(state, d.doorIds)) ??
    collision(state, { secretDigest: d.secretDigest, doorIds: d.doorIds, allDoors: d.allDoors, windows });
  if (bad) return bad;
  return ok([
    {
      type: 'CredentialIssued',
      data: {
        siteId,
        credentialId: d.credentialId,
        method: d.method,
        holder: d.holder,
        secretDigest: d.secretDigest,
        offlineDigest: d.offlineDigest,
        doorIds: d.allDoors ? [] : [...new Set(d.doorIds)].sort(),
        allDoors: d.allDoors,
        windows: windows.map(toDto),
        reason: d.reason,
        by: cmd.meta.actor,
      },
    },
  ]);
}

function liveCredential(state: AccessState, credentialId: string) {
  const c = state.credentials.get(credentialId);
  if (c === undefined) return refuse('UNKNOWN_CREDENTIAL', `Credential ${credentialId} does not exist at site ${state.siteId}.`);
  if (c.revoked) return refuse('INVALID_STATE', `Credential ${credentialId} is revoked (${c.revokedReason ?? 'no reason'}); issue a new one.`);
  return ok(c);
}

function changeCredential(cmd: AccessCommandOf<'ChangeCredential'>, state: AccessState, siteId: string): Decision {
  const found = liveCredential(state, cmd.data.credentialId);
  if (!found.ok) return found;
  const c = found.value;
  const windows = normalize(cmd.data.windows);
  const doorIds = c.allDoors ? [] : [...new Set(cmd.data.doorIds)].sort();
  if (windows.length === 0) return refuse('VALIDATION_FAILED', 'A credential keeps at least one window; revoke it instead.', { field: 'windows' });
  const sameDoors = doorIds.length === c.doorIds.length && doorIds.every((id, i) => id === c.doorIds[i]);
  if (sameDoors && sameWindows(windows, c.windows)) return ok([]);
  const bad =
    (c.allDoors ? undefined : unknownDoors(state, doorIds)) ??
    collision(state, { secretDigest: c.secretDigest, doorIds, allDoors: c.allDoors, windows }, c.credentialId);
  if (bad) return bad;
  return ok([
    {
      type: 'CredentialChanged',
      data: { siteId, credentialId: c.credentialId, doorIds, windows: windows.map(toDto), reason: cmd.data.reason, by: cmd.meta.actor },
    },
  ]);
}

function rotateCode(cmd: AccessCommandOf<'RotateCode'>, state: AccessState, siteId: string): Decision {
  const found = liveCredential(state, cmd.data.credentialId);
  if (!found.ok) return found;
  const c = found.value;
  const bad = collision(state, { secretDigest: cmd.data.secretDigest, doorIds: c.doorIds, allDoors: c.allDoors, windows: c.windows }, c.credentialId);
  if (bad) return bad;
  return ok([
    {
      type: 'CredentialCodeRotated',
      data: {
        siteId,
        credentialId: c.credentialId,
        secretDigest: cmd.data.secretDigest,
        offlineDigest: cmd.data.offlineDigest,
        reason: cmd.data.reason,
        by: cmd.meta.actor,
      },
    },
  ]);
}

function revokeCredential(cmd: AccessCommandOf<'RevokeCredential'>, state: AccessState, siteId: string): Decision {
  const c = state.credentials.get(cmd.data.credentialId);
  if (c === undefined) return refuse('UNKNOWN_CREDENTIAL', `Credential ${cmd.data.credentialId} does not exist at site ${siteId}.`);
  if (c.revoked) return ok([]);
  return ok([{ type: 'CredentialRevoked', data: { siteId, credentialId: c.credentialId, reason: cmd.data.reason, by: cmd.meta.actor } }]);
}

function recordCodeHandedOver(cmd: AccessCommandOf<'RecordCodeHandedOver'>, state: AccessState, siteId: string): Decision {
  const found = liveCredential(state, cmd.data.credentialId);
  if (!found.ok) return found;
  if (found.value.handedOver) return ok([]);
  return ok([
    {
      type: 'AccessCodeHandedOver',
      data: { siteId, credentialId: cmd.data.credentialId, messageId: cmd.data.messageId, channel: cmd.data.channel, by: cmd.meta.actor },
    },
  ]);
}

function recordAllowList(cmd: AccessCommandOf<'RecordAllowListPublished'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  const door = activeDoor(state, d.doorId);
  if (door === undefined) return refuse('UNKNOWN_DOOR', `Door ${d.doorId} is not registered at site ${siteId}.`);
  const current = door.allowList?.version ?? 0;
  if (d.version !== current + 1) {
    return refuse('ALLOWLIST_VERSION_CONFLICT', `Door ${d.doorId} is at allow-list version ${current}; build version ${current + 1}.`, {
      details: { current },
    });
  }
  if (!(d.expiresAt > d.issuedAt)) return refuse('VALIDATION_FAILED', 'An allow-list must expire after it is issued.');
  return ok([
    {
      type: 'AllowListPublished',
      data: {
        siteId,
        doorId: d.doorId,
        version: d.version,
        issuedAt: iso(d.issuedAt),
        expiresAt: iso(d.expiresAt),
        entries: d.entries,
        sha256: d.sha256,
        by: cmd.meta.actor,
      },
    },
  ]);
}

function ttlOk(ttlSeconds: number): Decision | undefined {
  return Number.isInteger(ttlSeconds) && ttlSeconds >= 1 && ttlSeconds <= MAX_COMMAND_TTL_SECONDS
    ? undefined
    : refuse('VALIDATION_FAILED', `A door command expires 1-${MAX_COMMAND_TTL_SECONDS} s after it is issued.`, { field: 'ttlSeconds' });
}

function issueDoorCommand(cmd: AccessCommandOf<'IssueDoorCommand'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  if (state.commands.has(d.commandId)) return refuse('ALREADY_EXISTS', `Command ${d.commandId} was already issued.`);
  const bad = unknownDoors(state, [d.doorId]) ?? needReason(d.reason) ?? ttlOk(d.ttlSeconds);
  if (bad) return bad;
  if (d.action === 'unlock') {
    const s = d.durationSeconds;
    if (s === undefined || !Number.isInteger(s) || s < 1 || s > MAX_UNLOCK_SECONDS) {
      return refuse('VALIDATION_FAILED', `An unlock lasts 1-${MAX_UNLOCK_SECONDS} seconds; give durationSeconds.`, { field: 'durationSeconds' });
    }
  }
  return ok([
    {
      type: 'DoorCommandIssued',
      data: {
        siteId,
        doorId: d.doorId,
        commandId: d.commandId,
        action: d.action,
        ...(d.action === 'unlock' ? { durationSeconds: d.durationSeconds } : {}),
        issuedAt: iso(cmd.meta.now),
        expiresAt: iso(cmd.meta.now + d.ttlSeconds * 1000),
        emergency: false,
        reason: d.reason,
        by: cmd.meta.actor,
      },
    },
  ]);
}

/** One command per active door, with ids derived from the command's id: `<id>-1`, `<id>-2`, ... */
function commandsForEveryDoor(
  cmd: { meta: { now: number; actor: string }; data: { commandId: string; ttlSeconds: number; reason: string } },
  state: AccessState,
  siteId: string,
  action: 'unlock' | 'lock',
  durationSeconds: number | undefined,
): AccessEvent[] {
  const doors = [...state.doors.values()].filter((d) => !d.removed).map((d) => d.doorId).sort();
  return doors.map((doorId, i) => ({
    type: 'DoorCommandIssued' as const,
    data: {
      siteId,
      doorId,
      commandId: `${cmd.data.commandId}-${i + 1}`,
      action,
      ...(durationSeconds === undefined ? {} : { durationSeconds }),
      issuedAt: iso(cmd.meta.now),
      expiresAt: iso(cmd.meta.now + cmd.data.ttlSeconds * 1000),
      emergency: true,
      reason: cmd.data.reason,
      by: cmd.meta.actor,
    },
  }));
}

function startEmergencyOpen(cmd: AccessCommandOf<'StartEmergencyOpen'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  const bad = needReason(d.reason) ?? ttlOk(d.ttlSeconds);
  if (bad) return bad;
  if (state.emergency !== undefined) return refuse('INVALID_STATE', `Site ${siteId} is already in emergency open since ${iso(state.emergency.since)}.`);
  if (d.until !== undefined && d.until <= cmd.meta.now) return refuse('VALIDATION_FAILED', 'An emergency open ends in the future.', { field: 'until' });
  const seconds = d.until === undefined ? EMERGENCY_UNLOCK_SECONDS : Math.ceil((d.until - cmd.meta.now) / 1000);
  return ok([
    {
      type: 'EmergencyOpenStarted',
      data: { siteId, since: iso(cmd.meta.now), ...(d.until === undefined ? {} : { until: iso(d.until) }), reason: d.reason, by: cmd.meta.actor },
    },
    ...commandsForEveryDoor(cmd, state, siteId, 'unlock', Math.min(seconds, MAX_UNLOCK_SECONDS)),
  ]);
}

function endEmergencyOpen(cmd: AccessCommandOf<'EndEmergencyOpen'>, state: AccessState, siteId: string): Decision {
  const bad = needReason(cmd.data.reason) ?? ttlOk(cmd.data.ttlSeconds);
  if (bad) return bad;
  if (state.emergency === undefined) return refuse('INVALID_STATE', `Site ${siteId} is not in emergency open.`);
  return ok([
    { type: 'EmergencyOpenEnded', data: { siteId, at: iso(cmd.meta.now), reason: cmd.data.reason, by: cmd.meta.actor } },
    ...commandsForEveryDoor(cmd, state, siteId, 'lock', undefined),
  ]);
}

function registerKey(cmd: AccessCommandOf<'RegisterKey'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  if (state.keys.has(d.keyId)) return refuse('ALREADY_EXISTS', `Key ${d.keyId} already exists.`, { field: 'keyId' });
  const bad = unknownDoors(state, d.doorIds);
  if (bad) return bad;
  return ok([
    {
      type: 'KeyRegistered',
      data: {
        siteId,
        keyId: d.keyId,
        label: d.label,
        doorIds: [...new Set(d.doorIds)].sort(),
        ...(d.cabinetId === undefined ? {} : { cabinetId: d.cabinetId }),
        by: cmd.meta.actor,
      },
    },
  ]);
}

function keyOf(state: AccessState, keyId: string) {
  const key = state.keys.get(keyId);
  return key === undefined ? refuse('UNKNOWN_KEY', `Key ${keyId} is not in the inventory of site ${state.siteId}.`, { field: 'keyId' }) : ok(key);
}

function lendKey(cmd: AccessCommandOf<'LendKey'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  const found = keyOf(state, d.keyId);
  if (!found.ok) return found;
  const key = found.value;
  if (key.status === 'lost' || key.status === 'retired') return refuse('INVALID_STATE', `Key ${d.keyId} is ${key.status}; it cannot be lent.`);
  if (key.loanId !== undefined) return refuse('INVALID_STATE', `Key ${d.keyId} is already lent (loan ${key.loanId}); record its return first.`);
  if (state.loans.has(d.loanId)) return refuse('ALREADY_EXISTS', `Loan ${d.loanId} already exists.`);
  if (d.dueAt <= cmd.meta.now) return refuse('VALIDATION_FAILED', 'A loan is due in the future.', { field: 'dueAt' });
  return ok([{ type: 'KeyLent', data: { siteId, keyId: d.keyId, loanId: d.loanId, holder: d.holder, dueAt: iso(d.dueAt), by: cmd.meta.actor } }]);
}

function recordKeyTaken(cmd: AccessCommandOf<'RecordKeyTaken'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  const found = keyOf(state, d.keyId);
  if (!found.ok) return found;
  // Recorded whatever the key's status: a cabinet reporting a key we think is lost means it turned up.
  const key = found.value;
  return ok([
    {
      type: 'KeyTaken',
      data: {
        siteId,
        keyId: d.keyId,
        ...(key.loanId === undefined ? {} : { loanId: key.loanId }),
        ...(d.cabinetId === undefined ? {} : { cabinetId: d.cabinetId }),
        ...(d.credentialId === undefined ? {} : { credentialId: d.credentialId }),
        at: iso(d.at),
        by: cmd.meta.actor,
      },
    },
  ]);
}

function recordKeyReturned(cmd: AccessCommandOf<'RecordKeyReturned'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  const found = keyOf(state, d.keyId);
  if (!found.ok) return found;
  const key = found.value;
  return ok([
    {
      type: 'KeyReturned',
      data: {
        siteId,
        keyId: d.keyId,
        ...(key.loanId === undefined ? {} : { loanId: key.loanId }),
        ...(d.cabinetId === undefined ? {} : { cabinetId: d.cabinetId }),
        ...(d.credentialId === undefined ? {} : { credentialId: d.credentialId }),
        at: iso(d.at),
        by: cmd.meta.actor,
      },
    },
  ]);
}

function flagOverdueKeys(cmd: AccessCommandOf<'FlagOverdueKeys'>, state: AccessState, siteId: string): Decision {
  const now = cmd.meta.now;
  const events: AccessEvent[] = [];
  for (const loan of state.loans.values()) {
    if (loan.overdue || loan.returnedAt !== undefined || loan.dueAt > now) continue;
    const key = state.keys.get(loan.keyId);
    if (key === undefined || key.loanId !== loan.loanId) continue;
    events.push(
      { type: 'KeyOverdue', data: { siteId, keyId: loan.keyId, loanId: loan.loanId, dueAt: iso(loan.dueAt), detectedAt: iso(now) } },
      {
        type: 'AccessAlertRaised',
        data: {
          siteId,
          alert: 'key_overdue',
          keyId: loan.keyId,
          at: iso(now),
          message: `Key ${key.label} (${loan.keyId}) lent to ${describeHolder(loan.holder)} was due back at ${iso(loan.dueAt)}.`,
        },
      },
    );
  }
  return ok(events);
}

const describeHolder = (h: Holder): string =>
  h.type === 'reservation'
    ? `reservation ${h.reservationId} (${h.customerId})`
    : h.type === 'series'
      ? `series ${h.seriesId} (${h.customerId})`
      : `${h.role} ${h.staffId}`;

function markKeyLost(cmd: AccessCommandOf<'MarkKeyLost'>, state: AccessState, siteId: string): Decision {
  const d = cmd.data;
  const found = keyOf(state, d.keyId);
  if (!found.ok) return found;
  const key = found.value;
  const bad = needReason(d.reason);
  if (bad) return bad;
  if (key.status === 'lost') return refuse('INVALID_STATE', `Key ${d.keyId} is already marked lost.`);
  if (d.replacement !== undefined && state.keys.has(d.replacement.keyId)) {
    return refuse('ALREADY_EXISTS', `Key ${d.replacement.keyId} already exists; give the replacement a new id.`, { field: 'replacement.keyId' });
  }
  const events: AccessEvent[] = [
    { type: 'KeyMarkedLost', data: { siteId, keyId: d.keyId, reason: d.reason, by: cmd.meta.actor } },
    {
      type: 'AccessAlertRaised',
      data: {
        siteId,
        alert: 'key_lost',
        keyId: d.keyId,
        at: iso(cmd.meta.now),
        message: `Key ${key.label} (${d.keyId}) is lost: ${d.reason}. Doors to re-key: ${key.doorIds.join(', ') || 'none'}.`,
      },
    },
  ];
  if (d.replacement !== undefined) {
    events.push(
      {
        type: 'KeyRegistered',
        data: {
          siteId,
          keyId: d.replacement.keyId,
          label: d.replacement.label,
          doorIds: [...key.doorIds],
          ...(key.cabinetId === undefined ? {} : { cabinetId: key.cabinetId }),
          by: cmd.meta.actor,
        },
      },
      { type: 'DoorsRekeyed', data: { siteId, doorIds: [...key.doorIds], retiredKeyIds: [d.keyId], newKeyId: d.replacement.keyId, by: cmd.meta.actor } },
    );
  }
  return ok(events);
}

export function decide(command: AccessCommand, state: AccessState): Decision {
  if (command.type === 'InitializeSite') return initializeSite(command, state);
  const siteId = state.siteId;
  if (siteId === undefined) return refuse('SITE_NOT_INITIALIZED', 'Access control of this site is not initialised yet.');
  switch (command.type) {
    case 'RegisterDoor':
      return registerDoor(command, state, siteId);
    case 'RemoveDoor':
      return removeDoor(command, state, siteId);
    case 'ProvisionDevice':
      return provisionDevice(command, state, siteId);
    case 'RotateDeviceSecret': {
      const live = liveDevice(state, command.data.deviceId);
      if (!live.ok) return live;
      return ok([{ type: 'DeviceSecretRotated', data: { siteId, deviceId: command.data.deviceId, secretDigest: command.data.secretDigest, by: command.meta.actor } }]);
    }
    case 'DecommissionDevice': {
      const live = liveDevice(state, command.data.deviceId);
      if (!live.ok) return live;
      const bad = needReason(command.data.reason);
      if (bad) return bad;
      return ok([{ type: 'DeviceDecommissioned', data: { siteId, deviceId: command.data.deviceId, reason: command.data.reason, by: command.meta.actor } }]);
    }
    case 'IssueCredential':
      return issueCredential(command, state, siteId);
    case 'ChangeCredential':
      return changeCredential(command, state, siteId);
    case 'RotateCode':
      return rotateCode(command, state, siteId);
    case 'RevokeCredential':
      return revokeCredential(command, state, siteId);
    case 'RecordCodeHandedOver':
      return recordCodeHandedOver(command, state, siteId);
    case 'RecordAllowListPublished':
      return recordAllowList(command, state, siteId);
    case 'IssueDoorCommand':
      return issueDoorCommand(command, state, siteId);
    case 'StartEmergencyOpen':
      return startEmergencyOpen(command, state, siteId);
    case 'EndEmergencyOpen':
      return endEmergencyOpen(command, state, siteId);
    case 'RegisterKey':
      return registerKey(command, state, siteId);
    case 'LendKey':
      return lendKey(command, state, siteId);
    case 'RecordKeyTaken':
      return recordKeyTaken(command, state, siteId);
    case 'RecordKeyReturned':
      return recordKeyReturned(command, state, siteId);
    case 'FlagOverdueKeys':
      return flagOverdueKeys(command, state, siteId);
    case 'MarkKeyLost':
      return markKeyLost(command, state, siteId);
    default: {
      const exhaustive: never = command;
      throw new Error(`unhandled access command ${(exhaustive as { type: string }).type}`);
    }
  }
}
