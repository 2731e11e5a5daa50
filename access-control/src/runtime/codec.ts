/**
 * How the engine's partition runtime (`PartitionActor`) runs the access
 * decider: reading stored events, stamping time, event metadata, snapshots.
 *
 * The runtime is typed for the engine's booking errors; the access decider
 * refuses with its own codes (errors.ts) of the same shape, which the runtime
 * passes through untouched. The casts below are that one seam.
 */
import type { RecordedEvent } from '@vuoro/engine';
import type { PartitionCodec, PartitionDecider } from '@vuoro/engine/runtime/partition.js';
import { parseAccessEvent, type AccessEvent } from '../events.js';
import type { AccessCommand } from '../site/commands.js';
import { accessDecider } from '../site/decider.js';
import { indexAdd, initialAccessState, type AccessState } from '../site/state.js';

export const accessPartitionDecider = accessDecider as unknown as PartitionDecider<AccessCommand, AccessEvent, AccessState>;

export const ACCESS_SNAPSHOT_SCHEMA = 'access-site/1';

/** Maps and sets as tagged arrays, so the state survives JSON. */
function encode(value: unknown): unknown {
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [k, encode(v)]) };
  if (value instanceof Set) return { $set: [...value].map(encode) };
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o.$map)) return new Map((o.$map as [unknown, unknown][]).map(([k, v]) => [k, decode(v)]));
    if (Array.isArray(o.$set)) return new Set((o.$set as unknown[]).map(decode));
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

export function saveAccessState(state: AccessState): unknown {
  // The on-line index is derived from the credentials: rebuilt on load, not stored.
  const { index: _index, ...rest } = state;
  return encode(rest);
}

export function loadAccessState(data: unknown): AccessState {
  const loaded = { ...initialAccessState(), ...(decode(data) as Partial<AccessState>), index: new Map() } as AccessState;
  for (const c of loaded.credentials.values()) {
    c.revokedReason ??= undefined;
    if (!c.revoked) indexAdd(loaded, c);
  }
  for (const d of loaded.doors.values()) d.allowList ??= undefined;
  return loaded;
}

export const accessCodec: PartitionCodec<AccessCommand, AccessEvent, AccessState> = {
  upcast: (recorded: RecordedEvent) => parseAccessEvent(recorded.type, recorded.data),
  stamp: (command, now) => ({ ...command, meta: { ...command.meta, now } }) as AccessCommand,
  metadataOf: (command) => ({ actor: command.meta.actor }),
  commandType: (command) => command.type,
  snapshot: { schema: ACCESS_SNAPSHOT_SCHEMA, save: saveAccessState, load: loadAccessState },
};
