/**
 * EventStoreDB / KurrentDB adapter (@eventstore/db-client 6.2), for sites
 * that already run it. It could not be run against a server on the machine it
 * was written on: `eventstoredb.int.spec.ts` runs the contract suite when
 * EVENTSTORE_URL is set, and the pure mappings below have unit tests.
 *
 * Names: a Vuoro stream `site-42` is the EventStoreDB stream
 * `<streamPrefix>site-42` (default prefix `vuoro-`), so Vuoro's feed can be
 * told apart from other applications' streams in the same database.
 *
 * Versions: our version N is their revision N - 1; expected version
 * 'no_stream' / 0 -> NO_STREAM, 'stream_exists' -> STREAM_EXISTS, 'any' ->
 * ANY, N -> revision N - 1. WrongExpectedVersionError becomes
 * StreamVersionConflictError with the actual version mapped back.
 *
 * Positions: the event's commit position in the transaction log, as a
 * number (safe up to 8 PiB of log). EventStoreDB gives each event of an
 * append its own position (commit = prepare), so positions strictly increase
 * in $all; resuming reads from { commit: after, prepare: after } and skips
 * anything at or before `after`.
 *
 * Idempotency: with a commitId, event i gets the id uuidv5(stream, commitId,
 * i), so a retry carries the same ids and EventStoreDB itself answers it as
 * already written (guaranteed for a numeric or no_stream expected version;
 * best effort for 'any' and 'stream_exists', where the server only consults
 * a cache of recent ids). Each attempt also stamps a random `$vuoroAttempt`
 * in the metadata: reading back the commit's first event tells whether this
 * attempt wrote it (duplicate: false) or an earlier one did (duplicate: true).
 *
 * Snapshots: stream `$snapshot-<their stream>` with $maxCount 1 (only the
 * newest survives scavenging); a `$` stream needs an admin connection.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AppendExpectedRevision,
  CurrentRevision,
  JSONType,
  Position,
  ReadPosition,
  ResolvedEvent,
} from '@eventstore/db-client';
import { assertAfter, assertAppendInput, assertReadOptions, StoreClosedError, toJson } from './common.js';
import { CommitTooLargeError, StoreUnavailableError, StreamVersionConflictError } from './port.js';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  EventToAppend,
  ExpectedVersion,
  RecordedEvent,
  Snapshot,
  SubscribeOptions,
  Subscription,
} from './port.js';

export interface EventStoreDbEventStoreOptions {
  /** Connection string, e.g. `esdb://localhost:2113?tls=false`. */
  url: string;
  /** Prefix of every Vuoro stream in the database. Default `vuoro-`. */
  streamPrefix?: string;
  /** Prefix of snapshot streams (before the prefixed stream name). Default `$snapshot-`. */
  snapshotPrefix?: string;
  /** Clock for `recordedAt`. */
  now?: () => Date;
}

/** Our expected version as EventStoreDB's expected revision. */
export const toExpectedRevision = (expected: ExpectedVersion): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected === 0 ? NO_STREAM : BigInt(expected - 1);
  }
};

/** EventStoreDB's current revision as our version (NO_STREAM = 0). */
export const fromCurrentRevision = (revision: CurrentRevision): number =>
  revision === NO_STREAM ? 0 : Number(revision) + 1;

/** RFC 4122 name-based UUID (version 5, SHA-1). */
export const uuidV5 = (name: string, namespace: string): string => {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** Namespace of Vuoro event ids (a fixed random UUID; changing it breaks idempotency of retries). */
export const VUORO_EVENT_ID_NAMESPACE = '8f0c1d2e-5b7a-4c39-9e61-3a4f2b6d7c80';

export const eventIdFor = (stream: string, commitId: string, index: number): string =>
  uuidV5(`${stream}\u0000${commitId}\u0000${index}`, VUORO_EVENT_ID_NAMESPACE);

export const toNumericPosition = (position: Position): number => Number(position.commit);

export const fromNumericPosition = (after: number): ReadPosition =>
  after === 0 ? START : { commit: BigInt(after), prepare: BigInt(after) };

interface StoredMetadata extends EventMetadata {
  recordedAt: string;
  $vuoroSchemaVersion?: number;
  $vuoroAttempt?: string;
}

const SNAPSHOT_EVENT_TYPE = 'vuoro-snapshot';
const READ_PAGE = 500;

const UNAVAILABLE_TYPES = new Set(['timeout', 'deadline-exceeded', 'unavailable', 'cancelled', 'not-leader']);

/** The client's command errors carry a `type` (ErrorType); these mean the server could not be used. */
const isUnavailable = (error: unknown): boolean => {
  const type: unknown = error instanceof Error ? (error as Error & { type?: unknown }).type : undefined;
  return typeof type === 'string' && UNAVAILABLE_TYPES.has(type);
};

const mapError = (what: string, error: unknown): unknown => {
  if (isUnavailable(error) || (error instanceof Error && /ECONNREFUSED|UNAVAILABLE|14 /.test(error.message))) {
    return new StoreUnavailableError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return error;
};

export class EventStoreDbEventStore implements EventStore {
  readonly name: string;
  readonly #client: EventStoreDBClient;
  readonly #prefix: string;
  readonly #snapshotPrefix: string;
  readonly #now: () => Date;
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    this.#client = EventStoreDBClient.connectionString(options.url);
    this.#prefix = options.streamPrefix ?? 'vuoro-';
    this.#snapshotPrefix = options.snapshotPrefix ?? '$snapshot-';
    this.#now = options.now ?? (() => new Date());
    this.name = `eventstoredb:${this.#prefix}`;
  }

  /** Opens the client and checks the server answers. */
  static async connect(options: EventStoreDbEventStoreOptions): Promise<EventStoreDbEventStore> {
    const store = new EventStoreDbEventStore(options);
    try {
      for await (const _ of store.#client.readAll({ maxCount: 1, direction: BACKWARDS, fromPosition: END })) break;
    } catch (error) {
      await store.#client.dispose();
      throw mapError(`cannot reach EventStoreDB at ${options.url}`, error);
    }
    return store;
  }

  async append(stream: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    this.#assertOpen();
    assertAppendInput(stream, events);
    const attempt = randomUUID();
    const recordedAt = this.#now().toISOString();
    const data = events.map((e, i) => {
      const metadata: StoredMetadata = {
        ...e.metadata,
        recordedAt,
        // Only the first event is read back, so only it carries the stamp
        // (one append is bounded by the server's max append size, 1 MiB by default).
        ...(i === 0 ? { $vuoroAttempt: attempt } : {}),
        ...(e.schemaVersion === undefined || e.schemaVersion === 1 ? {} : { $vuoroSchemaVersion: e.schemaVersion }),
      };
      // Serialize here so a value JSON refuses fails before the network call.
      toJson(e.data, `data of event ${i} (${e.type})`);
      toJson(metadata, `metadata of event ${i} (${e.type})`);
      return jsonEvent({
        id: options.commitId === undefined ? randomUUID() : eventIdFor(stream, options.commitId, i),
        type: e.type,
        // The client JSON-encodes `data`; any JSON value works, its type is narrower than ours.
        data: e.data as JSONType,
        metadata,
      });
    });
    const name = this.#prefix + stream;
    let nextRevision: bigint;
    try {
      const result = await this.#client.appendToStream(name, data, {
        expectedRevision: toExpectedRevision(options.expectedVersion),
      });
      nextRevision = result.nextExpectedRevision;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new StreamVersionConflictError(stream, options.expectedVersion, fromCurrentRevision(error.actualVersion));
      }
      if (error instanceof MaxAppendSizeExceededError) {
        throw new CommitTooLargeError(stream, `larger than the server's max append size (${error.maxAppendSize} bytes)`);
      }
      throw isUnavailable(error)
        ? new StoreUnavailableError(`append to ${stream}: outcome unknown`, { cause: error })
        : mapError(`append to ${stream}`, error);
    }
    // Read back the first and last event of the commit: their positions are
    // the result, and the first one's attempt stamp says whether we wrote it.
    const lastVersion = Number(nextRevision) + 1;
    const firstVersion = lastVersion - events.length + 1;
    const [first, last] = await Promise.all([
      this.#readOne(name, BigInt(firstVersion - 1)),
      events.length === 1 ? undefined : this.#readOne(name, BigInt(lastVersion - 1)),
    ]);
    const expectedFirstId = data[0]!.id;
    if (first?.event === undefined || (options.commitId !== undefined && first.event.id !== expectedFirstId)) {
      throw new StoreUnavailableError(`append to ${stream}: written, but the commit could not be read back`);
    }
    const firstPosition = this.#positionOf(first);
    const lastPosition = last === undefined ? firstPosition : this.#positionOf(last);
    const writtenBy = (first.event.metadata as StoredMetadata | undefined)?.$vuoroAttempt;
    return { nextExpectedVersion: lastVersion, firstPosition, lastPosition, duplicate: writtenBy !== attempt };
  }

  async readStream(stream: string, options: { fromVersion?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    this.#assertOpen();
    const fromVersion = options.fromVersion ?? 1;
    assertReadOptions(fromVersion, options.limit);
    if (options.limit === 0) return [];
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.#client.readStream(this.#prefix + stream, {
        fromRevision: BigInt(fromVersion - 1),
        direction: FORWARDS,
        ...(options.limit === undefined ? {} : { maxCount: options.limit }),
      })) {
        const e = this.#toRecorded(resolved);
        if (e !== undefined) out.push(e);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw mapError(`readStream ${stream}`, error);
    }
    return out;
  }

  async streamVersion(stream: string): Promise<number> {
    this.#assertOpen();
    try {
      for await (const resolved of this.#client.readStream(this.#prefix + stream, {
        fromRevision: END,
        direction: BACKWARDS,
        maxCount: 1,
      })) {
        if (resolved.event !== undefined) return Number(resolved.event.revision) + 1;
      }
      return 0;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return 0;
      throw mapError(`streamVersion ${stream}`, error);
    }
  }

  async readAll(options: { after: number; limit?: number }): Promise<RecordedEvent[]> {
    this.#assertOpen();
    assertAfter(options.after);
    assertReadOptions(1, options.limit);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: RecordedEvent[] = [];
    let from = options.after;
    // $all holds other streams too; filter here and page until enough.
    while (out.length < limit) {
      let raw = 0;
      try {
        for await (const resolved of this.#client.readAll({
          fromPosition: fromNumericPosition(from),
          direction: FORWARDS,
          maxCount: READ_PAGE,
        })) {
          raw++;
          if (resolved.event === undefined) continue;
          const position = toNumericPosition(resolved.event.position);
          if (position <= from) continue;
          from = position;
          const e = this.#toRecorded(resolved);
          if (e !== undefined && e.position > options.after) out.push(e);
          if (out.length >= limit) break;
        }
      } catch (error) {
        throw mapError('readAll', error);
      }
      if (raw < READ_PAGE) break;
    }
    return out;
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#assertOpen();
    assertAfter(options.after);
    const client = this.#client;
    const source = client.subscribeToAll({
      fromPosition: fromNumericPosition(options.after),
      filter: this.#prefix === '' ? excludeSystemEvents() : streamNameFilter({ prefixes: [this.#prefix] }),
    });
    let failure: unknown;
    let closed = false;
    const run = async (): Promise<void> => {
      try {
        for await (const resolved of source) {
          if (closed) return;
          const e = this.#toRecorded(resolved);
          if (e === undefined || e.position <= options.after) continue;
          try {
            await options.handler(e);
          } catch (error) {
            failure = error;
            return;
          }
        }
      } catch (error) {
        if (!closed) failure = mapError('subscription', error);
      } finally {
        await source.unsubscribe().catch(() => undefined);
      }
    };
    const done = run();
    const subscription: Subscription = {
      done,
      get failure() {
        return failure;
      },
      close: async () => {
        closed = true;
        await source.unsubscribe().catch(() => undefined);
        await done;
      },
    };
    this.#subscriptions.add(subscription);
    void done.then(() => this.#subscriptions.delete(subscription));
    return subscription;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen();
    const name = this.#snapshotPrefix + this.#prefix + snapshot.stream;
    toJson(snapshot.state, `snapshot state of ${snapshot.stream}`);
    try {
      const result = await this.#client.appendToStream(
        name,
        jsonEvent({
          type: SNAPSHOT_EVENT_TYPE,
          data: { version: snapshot.version, schema: snapshot.schema, state: snapshot.state },
          metadata: { savedAt: this.#now().toISOString() },
        }),
      );
      // First save: keep only the newest snapshot.
      if (result.nextExpectedRevision === 0n) await this.#client.setStreamMetadata(name, { maxCount: 1 });
    } catch (error) {
      throw mapError(`saveSnapshot ${snapshot.stream}`, error);
    }
  }

  async loadSnapshot(stream: string): Promise<Snapshot | undefined> {
    this.#assertOpen();
    const resolved = await this.#readOne(this.#snapshotPrefix + this.#prefix + stream, END, BACKWARDS);
    if (resolved?.event === undefined || !resolved.event.isJson) return undefined;
    const data = resolved.event.data as { version: number; schema: string; state: unknown };
    return { stream, version: data.version, schema: data.schema, state: data.state };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await this.#client.dispose();
  }

  async #readOne(name: string, revision: bigint | typeof END, direction: typeof FORWARDS | typeof BACKWARDS = FORWARDS) {
    try {
      for await (const resolved of this.#client.readStream(name, { fromRevision: revision, direction, maxCount: 1 })) {
        return resolved;
      }
      return undefined;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw mapError(`read ${name}`, error);
    }
  }

  #positionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): number {
    const position = resolved.event?.position;
    if (position === undefined) throw new StoreUnavailableError('EventStoreDB returned an event without a position');
    return toNumericPosition(position);
  }

  /** Our event from theirs; undefined for what is not a Vuoro event (system, other prefix, binary). */
  #toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
    const e = resolved.event;
    if (e === undefined || !e.isJson || e.type.startsWith('$') || e.streamId.startsWith('$')) return undefined;
    if (!e.streamId.startsWith(this.#prefix)) return undefined;
    const { $vuoroAttempt: _attempt, $vuoroSchemaVersion, ...metadata } = (e.metadata ?? {}) as StoredMetadata;
    return {
      stream: e.streamId.slice(this.#prefix.length),
      version: Number(e.revision) + 1,
      position: this.#positionOf(resolved),
      type: e.type,
      data: e.data,
      schemaVersion: $vuoroSchemaVersion ?? 1,
      metadata: { ...metadata, recordedAt: metadata.recordedAt ?? e.created.toISOString() },
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.name);
  }
}
