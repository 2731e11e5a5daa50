/**
 * The event store port: one small interface, several adapters (memory, SQLite,
 * NATS JetStream, EventStoreDB), and one contract suite (`contract.ts`) that
 * every adapter passes. Nothing above this file knows which adapter runs.
 *
 * Versions: a stream's first event has version 1; a stream that does not exist
 * has version 0. Positions: the global feed is totally ordered by `position`
 * (1, 2, 3, ... per store, possibly with gaps between commits, but the events
 * of one append have consecutive positions); a subscriber resumes with
 * `after: lastSeenPosition`.
 */

export interface EventMetadata {
  /** The command (or message) that caused this event. */
  causationId?: string;
  /** Ties together everything done for one user request. */
  correlationId?: string;
  /** The idempotency key of the command that produced the event. */
  idempotencyKey?: string;
  /** Who acted: `customer:cus_1`, `staff:stf_9`, `system:expiry`. */
  actor?: string;
  /** Which booking channel the command came through. */
  channel?: string;
  /** When the command was decided (ISO 8601, UTC). The store adds `recordedAt`. */
  decidedAt?: string;
  [key: string]: unknown;
}

export interface EventToAppend<T extends string = string, D = unknown> {
  type: T;
  data: D;
  /** Schema version of `data` (see `events/upcast.ts`); defaults to 1. */
  schemaVersion?: number;
  metadata?: EventMetadata;
}

export interface RecordedEvent<T extends string = string, D = unknown> {
  stream: string;
  /** 1-based version within the stream. */
  version: number;
  /** Position in the store's global feed; strictly increasing, may have gaps. */
  position: number;
  type: T;
  data: D;
  schemaVersion: number;
  metadata: EventMetadata & { recordedAt: string };
}

/** `no_stream`: must not exist. `stream_exists`: must exist. number: exact version (0 = no stream). `any`: no check. */
export type ExpectedVersion = 'no_stream' | 'stream_exists' | 'any' | number;

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  /**
   * Idempotent append: a second append with the same `commitId` to the same
   * stream writes nothing and returns the first append's result with
   * `duplicate: true` (also after a restart). Used by the runtime to retry a
   * group commit whose acknowledgement was lost.
   */
  commitId?: string;
}

export interface AppendResult {
  /** Stream version after the append (the last event's version). */
  nextExpectedVersion: number;
  /** Global position of the first and last appended events. */
  firstPosition: number;
  lastPosition: number;
  duplicate: boolean;
}

export interface Snapshot<S = unknown> {
  stream: string;
  /** The stream version the state reflects. */
  version: number;
  /** Schema tag of `state`, so a runtime can ignore snapshots it cannot read. */
  schema: string;
  state: S;
}

export interface Subscription {
  /**
   * Stops delivery; resolves once the handler will not be called again (so it
   * waits for a handler call in progress: do not await it inside the handler).
   */
  close(): Promise<void>;
  /** Resolves when delivery fails for good (e.g. the handler threw), and also once `close()` has stopped it. */
  readonly done: Promise<void>;
  /** Why delivery stopped, once `done` has resolved after a failure (the handler's error, or the store's). */
  readonly failure?: unknown;
}

export interface SubscribeOptions {
  /** Deliver events with position > after. 0 = from the beginning. */
  after: number;
  /** Called in position order, one at a time; the next event waits for the returned promise. */
  handler: (event: RecordedEvent) => void | Promise<void>;
}

export interface EventStore {
  readonly name: string;
  append(stream: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult>;
  /** Events of one stream with version >= fromVersion (default 1), in order. */
  readStream(stream: string, options?: { fromVersion?: number; limit?: number }): Promise<RecordedEvent[]>;
  /** Current version of a stream (0 if none). */
  streamVersion(stream: string): Promise<number>;
  /** The global feed: events with position > after, in order, at most `limit`. */
  readAll(options: { after: number; limit?: number }): Promise<RecordedEvent[]>;
  /** Catch up from `after`, then follow live appends. */
  subscribe(options: SubscribeOptions): Subscription;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  loadSnapshot(stream: string): Promise<Snapshot | undefined>;
  close(): Promise<void>;
}

/** Thrown by `append` when `expectedVersion` does not hold. The caller reloads and re-decides. */
export class StreamVersionConflictError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT' as const;
  constructor(
    readonly stream: string,
    readonly expected: ExpectedVersion,
    readonly actual: number | undefined,
  ) {
    super(`stream ${stream}: expected version ${String(expected)}, actual ${actual ?? 'unknown'}`);
    this.name = 'StreamVersionConflictError';
  }
}

/** Thrown when the store cannot be reached or did not confirm a write. The outcome of the write is unknown. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Thrown by `append` when one commit cannot be stored as one unit (e.g. over
 * NATS's maximum message size). Nothing was written; the caller splits the
 * commit, since retrying it unchanged cannot succeed.
 */
export class CommitTooLargeError extends Error {
  readonly code = 'COMMIT_TOO_LARGE' as const;
  constructor(
    readonly stream: string,
    message: string,
  ) {
    super(`stream ${stream}: ${message}`);
    this.name = 'CommitTooLargeError';
  }
}

export const expectedVersionHolds = (expected: ExpectedVersion, actual: number): boolean => {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === 0;
    case 'stream_exists':
      return actual > 0;
    default:
      return actual === expected;
  }
};
