/**
 * Input checks and encoding shared by the adapters, so that every adapter
 * refuses the same inputs the same way (the contract suite relies on it).
 */
import type { EventMetadata, EventToAppend } from './port.js';

/** Checks done before anything is written, so a bad commit writes nothing. */
export const assertAppendInput = (stream: string, events: readonly EventToAppend[]): void => {
  if (typeof stream !== 'string' || stream.length === 0) {
    throw new TypeError('append: stream must be a non-empty string');
  }
  if (events.length === 0) {
    // An empty commit has no position and no version to report: refuse it
    // rather than invent one.
    throw new RangeError(`append to ${stream}: at least one event is needed`);
  }
  for (const e of events) {
    if (typeof e.type !== 'string' || e.type.length === 0) {
      throw new TypeError(`append to ${stream}: every event needs a non-empty type`);
    }
    if (e.data === undefined) {
      // JSON has no undefined: storing it would read back as null or nothing, depending on the adapter.
      throw new TypeError(`append to ${stream}: data of ${e.type} is undefined (use null or {})`);
    }
    if (e.schemaVersion !== undefined && (!Number.isInteger(e.schemaVersion) || e.schemaVersion < 1)) {
      throw new RangeError(`append to ${stream}: schemaVersion must be a positive integer`);
    }
  }
};

/**
 * JSON text of a value, refusing what JSON cannot carry faithfully (BigInt,
 * cycles: JSON.stringify throws) and top-level `undefined`, which would
 * otherwise be stored as nothing and read back as a different value.
 */
export const toJson = (value: unknown, what: string): string => {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not JSON-serializable`);
  return text;
};

/** The metadata a recorded event carries: the caller's, plus the store's `recordedAt`. */
export const recordedMetadata = (
  metadata: EventMetadata | undefined,
  recordedAt: string,
): EventMetadata & { recordedAt: string } => ({ ...metadata, recordedAt });

export const isPositiveSafeInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

export const assertReadOptions = (fromVersion: number, limit: number | undefined): void => {
  if (!Number.isSafeInteger(fromVersion) || fromVersion < 1) {
    throw new RangeError('readStream: fromVersion must be an integer >= 1');
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new RangeError('limit must be an integer >= 0');
  }
};

export const assertAfter = (after: number): void => {
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError('after must be an integer >= 0');
};

export class StoreClosedError extends Error {
  readonly code = 'STORE_CLOSED' as const;
  constructor(name: string) {
    super(`event store ${name} is closed`);
    this.name = 'StoreClosedError';
  }
}
