/**
 * Applies an access event to the site's state, in place (see state.ts).
 * Evolve never refuses: the event happened. Log events (decisions, door
 * events, alerts) change nothing here.
 */
import { holderKey, type AccessEvent } from '../events.js';
import { fromDto, normalize } from '../credentials/windows.js';
import { indexAdd, indexRemove, type AccessState, type CredentialView } from './state.js';

function replaceIndexed(state: AccessState, c: CredentialView, change: (c: CredentialView) => void): void {
  if (!c.revoked) indexRemove(state, c);
  change(c);
  if (!c.revoked) indexAdd(state, c);
}

export function evolve(state: AccessState, event: AccessEvent): AccessState {
  switch (event.type) {
    case 'AccessSiteInitialized':
      state.siteId = event.data.siteId;
      state.kdf = event.data.kdf;
      return state;
    case 'DoorRegistered': {
      const { doorId, spaceId, name } = event.data;
      state.doors.set(doorId, { doorId, spaceId, name, removed: false, allowList: undefined, keyIds: new Set() });
      return state;
    }
    case 'DoorRemoved': {
      const door = state.doors.get(event.data.doorId);
      if (door) door.removed = true;
      return state;
    }
    case 'DeviceProvisioned': {
      const d = event.data;
      state.devices.set(d.deviceId, {
        deviceId: d.deviceId,
        kind: d.kind,
        doorId: d.doorId,
        spaceId: d.spaceId,
        cabinetId: d.cabinetId,
        name: d.name,
        secretDigest: d.secretDigest,
        decommissioned: false,
      });
      return state;
    }
    case 'DeviceSecretRotated': {
      const d = state.devices.get(event.data.deviceId);
      if (d) d.secretDigest = event.data.secretDigest;
      return state;
    }
    case 'DeviceDecommissioned': {
      const d = state.devices.get(event.data.deviceId);
      if (d) d.decommissioned = true;
      return state;
    }
    case 'CredentialIssued': {
      const e = event.data;
      const c: CredentialView = {
        credentialId: e.credentialId,
        method: e.method,
        holder: e.holder,
        holderKey: holderKey(e.holder),
        secretDigest: e.secretDigest,
        offlineDigest: e.offlineDigest,
        doorIds: [...e.doorIds],
        allDoors: e.allDoors,
        windows: normalize(e.windows.map(fromDto)),
        revoked: false,
        revokedReason: undefined,
        handedOver: false,
        codeVersion: 1,
      };
      state.credentials.set(c.credentialId, c);
      state.byHolder.set(c.holderKey, c.credentialId);
      indexAdd(state, c);
      return state;
    }
    case 'CredentialChanged': {
      const c = state.credentials.get(event.data.credentialId);
      if (c)
        replaceIndexed(state, c, (x) => {
          x.doorIds = [...event.data.doorIds];
          x.windows = normalize(event.data.windows.map(fromDto));
        });
      return state;
    }
    case 'CredentialCodeRotated': {
      const c = state.credentials.get(event.data.credentialId);
      if (c)
        replaceIndexed(state, c, (x) => {
          x.secretDigest = event.data.secretDigest;
          x.offlineDigest = event.data.offlineDigest;
          x.handedOver = false;
          x.codeVersion++;
        });
      return state;
    }
    case 'CredentialRevoked': {
      const c = state.credentials.get(event.data.credentialId);
      if (c && !c.revoked) {
        indexRemove(state, c);
        c.revoked = true;
        c.revokedReason = event.data.reason;
        if (state.byHolder.get(c.holderKey) === c.credentialId) state.byHolder.delete(c.holderKey);
      }
      return state;
    }
    case 'AccessCodeHandedOver': {
      const c = state.credentials.get(event.data.credentialId);
      if (c) c.handedOver = true;
      return state;
    }
    case 'AllowListPublished': {
      const door = state.doors.get(event.data.doorId);
      if (door) {
        door.allowList = {
          version: event.data.version,
          issuedAt: Date.parse(event.data.issuedAt),
          expiresAt: Date.parse(event.data.expiresAt),
          sha256: event.data.sha256,
        };
      }
      return state;
    }
    case 'DoorCommandIssued': {
      const e = event.data;
      state.commands.set(e.commandId, {
        commandId: e.commandId,
        doorId: e.doorId,
        action: e.action,
        durationSeconds: e.durationSeconds,
        issuedAt: Date.parse(e.issuedAt),
        expiresAt: Date.parse(e.expiresAt),
        emergency: e.emergency,
        by: e.by,
        reason: e.reason,
      });
      return state;
    }
    case 'EmergencyOpenStarted':
      state.emergency = {
        since: Date.parse(event.data.since),
        until: event.data.until === undefined ? undefined : Date.parse(event.data.until),
        by: event.data.by,
        reason: event.data.reason,
      };
      return state;
    case 'EmergencyOpenEnded':
      state.emergency = undefined;
      return state;
    case 'KeyRegistered': {
      const e = event.data;
      state.keys.set(e.keyId, {
        keyId: e.keyId,
        label: e.label,
        doorIds: [...e.doorIds],
        cabinetId: e.cabinetId,
        status: 'available',
        loanId: undefined,
        takenBy: undefined,
      });
      for (const doorId of e.doorIds) state.doors.get(doorId)?.keyIds.add(e.keyId);
      return state;
    }
    case 'KeyLent': {
      const e = event.data;
      state.loans.set(e.loanId, {
        loanId: e.loanId,
        keyId: e.keyId,
        holder: e.holder,
        dueAt: Date.parse(e.dueAt),
        takenAt: undefined,
        returnedAt: undefined,
        overdue: false,
      });
      const key = state.keys.get(e.keyId);
      if (key) {
        key.status = 'lent';
        key.loanId = e.loanId;
      }
      return state;
    }
    case 'KeyTaken': {
      const key = state.keys.get(event.data.keyId);
      if (key) {
        key.takenBy = event.data.credentialId;
        if (key.status === 'available') key.status = 'out';
      }
      const loan = event.data.loanId === undefined ? undefined : state.loans.get(event.data.loanId);
      if (loan && loan.takenAt === undefined) loan.takenAt = Date.parse(event.data.at);
      return state;
    }
    case 'KeyReturned': {
      const key = state.keys.get(event.data.keyId);
      if (key && (key.status === 'lent' || key.status === 'out')) {
        key.status = 'available';
        key.loanId = undefined;
        key.takenBy = undefined;
      }
      const loan = event.data.loanId === undefined ? undefined : state.loans.get(event.data.loanId);
      if (loan) loan.returnedAt = Date.parse(event.data.at);
      return state;
    }
    case 'KeyOverdue': {
      const loan = state.loans.get(event.data.loanId);
      if (loan) loan.overdue = true;
      return state;
    }
    case 'KeyMarkedLost': {
      const key = state.keys.get(event.data.keyId);
      if (key) {
        key.status = 'lost';
        const loan = key.loanId === undefined ? undefined : state.loans.get(key.loanId);
        // The loan ends: the key will not come back.
        if (loan && loan.returnedAt === undefined) loan.returnedAt = loan.dueAt;
        key.loanId = undefined;
      }
      return state;
    }
    case 'DoorsRekeyed': {
      for (const keyId of event.data.retiredKeyIds) {
        const key = state.keys.get(keyId);
        if (key && key.status !== 'lost') key.status = 'retired';
        for (const door of state.doors.values()) door.keyIds.delete(keyId);
      }
      for (const doorId of event.data.doorIds) state.doors.get(doorId)?.keyIds.add(event.data.newKeyId);
      return state;
    }
    case 'AccessDecided':
    case 'DoorEventReported':
    case 'DoorStateReported':
    case 'DeviceConnectivityChanged':
    case 'DoorLockedOut':
    case 'AccessAlertRaised':
    case 'SpaceOccupancyStarted':
    case 'SpaceOccupancyRecorded':
      return state;
    default: {
      const exhaustive: never = event;
      throw new Error(`unhandled access event ${(exhaustive as { type: string }).type}`);
    }
  }
}
