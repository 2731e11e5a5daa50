/**
 * In-memory event store: unit tests and benchmarks of pure logic.
 *
 * Layout: one array per stream (index = version - 1) and one global array
 * (index = position - 1, so positions have no gaps). Reads are slices.
 *
 * Copying, made explicit because it is the hot path: on append each event's
 * `data` and `metadata` go through one JSON round trip (so the memory store
 * accepts and returns exactly what the durable adapters do: a Date becomes a
 * string, `undefined` fields vanish, a BigInt is refused) and the recorded
 * event is deep-frozen. Reads then hand out the frozen objects themselves,
 * without copying: a caller that tries to mutate an event gets a TypeError in
 * strict mode instead of silently changing history for everyone else.
 * Snapshots are kept as JSON text and parsed on every load, because a loaded
 * state is a starting point callers may well mutate.
 */
import { CatchUpSubscription } from './catch-up.js';
import {
  assertAfter,
  assertAppendInput,
  assertReadOptions,
  recordedMetadata,
  StoreClosedError,
  toJson,
} from './common.js';
import { expectedVersionHolds, StreamVersionConflictError } from './port.js';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  EventToAppend,
  RecordedEvent,
  Snapshot,
  SubscribeOptions,
  Subscription,
} from './port.js';

export interface MemoryEventStoreOptions {
  /** Clock for `recordedAt`; tests pass a fixed one. */
  now?: () => Date;
}

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

/** A JSON round trip: the same values the durable adapters would give back. */
const jsonCopy = <T>(value: T, what: string): T => JSON.parse(toJson(value, what)) as T;

export class MemoryEventStore implements EventStore {
  readonly name = 'memory';
  readonly #streams = new Map<string, RecordedEvent[]>();
  readonly #all: RecordedEvent[] = [];
  readonly #commits = new Map<string, Map<string, AppendResult>>();
  readonly #snapshots = new Map<string, { version: number; schema: string; json: string }>();
  readonly #wakers = new Set<() => void>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #now: () => Date;
  #closed = false;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  async append(stream: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    this.#assertOpen();
    assertAppendInput(stream, events);
    const previous = options.commitId === undefined ? undefined : this.#commits.get(stream)?.get(options.commitId);
    if (previous !== undefined) return { ...previous, duplicate: true };

    const existing = this.#streams.get(stream);
    const actual = existing?.length ?? 0;
    if (!expectedVersionHolds(options.expectedVersion, actual)) {
      throw new StreamVersionConflictError(stream, options.expectedVersion, actual);
    }
    // Build every recorded event before touching the store: a value JSON
    // refuses (BigInt, a cycle) must leave the store as it was.
    const recordedAt = this.#now().toISOString();
    const firstPosition = this.#all.length + 1;
    // One JSON round trip for the whole commit: cheaper than one per value.
    const copies = jsonCopy(
      events.map((e) => [e.data, e.metadata ?? null] as const),
      `data or metadata of a commit to ${stream}`,
    );
    const recorded = events.map((e, i): RecordedEvent => {
      const [data, metadata] = copies[i]!;
      return deepFreeze({
        stream,
        version: actual + i + 1,
        position: firstPosition + i,
        type: e.type,
        data,
        schemaVersion: e.schemaVersion ?? 1,
        metadata: recordedMetadata(metadata ?? undefined, recordedAt),
      });
    });
    const target = existing ?? [];
    if (existing === undefined) this.#streams.set(stream, target);
    for (const e of recorded) {
      target.push(e);
      this.#all.push(e);
    }
    const result: AppendResult = {
      nextExpectedVersion: actual + recorded.length,
      firstPosition,
      lastPosition: firstPosition + recorded.length - 1,
      duplicate: false,
    };
    if (options.commitId !== undefined) {
      let commits = this.#commits.get(stream);
      if (commits === undefined) this.#commits.set(stream, (commits = new Map()));
      commits.set(options.commitId, result);
    }
    for (const wake of this.#wakers) wake();
    return { ...result };
  }

  async readStream(stream: string, options: { fromVersion?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    this.#assertOpen();
    const fromVersion = options.fromVersion ?? 1;
    assertReadOptions(fromVersion, options.limit);
    const events = this.#streams.get(stream);
    if (events === undefined) return [];
    const start = fromVersion - 1;
    return events.slice(start, options.limit === undefined ? undefined : start + options.limit);
  }

  async streamVersion(stream: string): Promise<number> {
    this.#assertOpen();
    return this.#streams.get(stream)?.length ?? 0;
  }

  async readAll(options: { after: number; limit?: number }): Promise<RecordedEvent[]> {
    this.#assertOpen();
    assertAfter(options.after);
    assertReadOptions(1, options.limit);
    return this.#page(options.after, options.limit);
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#assertOpen();
    assertAfter(options.after);
    const subscription = new CatchUpSubscription(
      {
        readPage: (after) => this.#page(after, 1000),
        onAppend: (wake) => {
          this.#wakers.add(wake);
          return () => this.#wakers.delete(wake);
        },
      },
      options,
    );
    this.#subscriptions.add(subscription);
    void subscription.done.then(() => this.#subscriptions.delete(subscription));
    return subscription;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen();
    this.#snapshots.set(snapshot.stream, {
      version: snapshot.version,
      schema: snapshot.schema,
      json: toJson(snapshot.state, `snapshot state of ${snapshot.stream}`),
    });
  }

  async loadSnapshot(stream: string): Promise<Snapshot | undefined> {
    this.#assertOpen();
    const stored = this.#snapshots.get(stream);
    if (stored === undefined) return undefined;
    return { stream, version: stored.version, schema: stored.schema, state: JSON.parse(stored.json) as unknown };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }

  #page(after: number, limit: number | undefined): RecordedEvent[] {
    // Positions are 1-based and gapless, so position p sits at index p - 1.
    return this.#all.slice(after, limit === undefined ? undefined : after + limit);
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.name);
  }
}
