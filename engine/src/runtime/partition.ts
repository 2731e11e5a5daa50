/**
 * A partition actor: the single writer of one partition stream (by default a
 * site). It holds the partition's state in memory, decides commands one after
 * another without locks, and appends everything decided in one tick as one
 * group commit, acknowledging each command only after that commit is durable.
 *
 * Safety does not rest on being the only writer: every append carries the
 * expected stream version, so if two actors believe they own the partition,
 * one append fails with a version conflict; that actor reloads from the store
 * and decides the same commands again against the fresh state.
 *
 * Roles (cluster mode, see engine/src/cluster/): a *leader* decides and
 * commits; a *follower* decides nothing (`submit` answers `notOwner`, and the
 * engine forwards the command to the partition's owner) but keeps a read-only
 * copy of the state current from the replicated feed (`follow`), so reads and
 * routing work on every node and a takeover (`promote`) only reads the tail.
 * `demote` stops deciding at once: queued commands are handed back for
 * forwarding, the commit in flight finishes or fails on the expected version.
 *
 * Idempotency: each command may carry a key. Successful outcomes are durable
 * (the key is in the metadata of the events it produced, and in snapshots), so
 * a retry returns the first outcome, also after a restart. Refusals are
 * remembered in memory only (bounded): re-deciding a refused command later is
 * harmless, as a refusal wrote nothing.
 */
import { randomUUID } from 'node:crypto';
import { fail, type DomainError, type Result } from '../shared/result.js';
import {
  StreamVersionConflictError,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
  type Snapshot,
} from '../store/port.js';

export interface PartitionDecider<C, E, S> {
  decide(command: C, state: S): Result<E[]>;
  evolve(state: S, event: E): S;
  initialState(): S;
}

export interface PartitionCodec<C, E extends { type: string; data: unknown }, S> {
  /** Turns a stored event (possibly an older schema version) into the current shape. */
  upcast(event: RecordedEvent): E | undefined;
  /** Stamps the decision time into a command (deciders read no clock). */
  stamp(command: C, now: number): C;
  /** Metadata recorded with the events a command produced (actor, channel...). */
  metadataOf(command: C): EventMetadata;
  commandType(command: C): string;
  /** The schema version new events of this type are written with (see upcast.ts). */
  schemaVersionOf?(eventType: string): number;
  /** Snapshot (de)serialisation; `schema` changes whenever the shape does, and old snapshots are then ignored. */
  snapshot?: { schema: string; save(state: S): unknown; load(data: unknown): S };
}

export interface Envelope<C, S = never> {
  command: C;
  /** Scoped to the partition; the edge namespaces it by channel. */
  idempotencyKey?: string;
  correlationId?: string;
  causationId?: string;
  /** The booking channel the command came through; recorded as `metadata.channel`. */
  channel?: string;
  /**
   * Checked against the state right before the command is decided, in the
   * partition's order, so nothing can change in between (an HTTP `If-Match`).
   * A refusal writes nothing and is not remembered under the idempotency key.
   */
  precondition?: (state: S) => DomainError | undefined;
}

export type Outcome<E> =
  | {
      ok: true;
      events: RecordedEvent<string, E extends { data: infer D } ? D : unknown>[];
      /** True when this is the stored outcome of an earlier command with the same key. */
      duplicate: boolean;
    }
  | { ok: false; error: DomainError };

export type PartitionRole = 'leader' | 'follower';

/** `details` of the refusal a follower gives: the command was not decided here; send it to the owner. */
export const NOT_OWNER = { notOwner: true } as const;
export const isNotOwner = (o: Outcome<unknown>): boolean => !o.ok && o.error.details?.notOwner === true;

export interface PartitionOptions {
  /** Leader (default): decides commands. Follower: keeps a copy from `follow` and refuses commands with NOT_OWNER. */
  role?: PartitionRole;
  /** Take a snapshot after this many events since the last one. 0 = never. */
  snapshotEvery?: number;
  clock?: () => number;
  /** Upper bound on commands in one group commit. */
  maxBatch?: number;
  /** How often a batch is re-decided after losing a version race before giving up. */
  maxConflictRetries?: number;
  onCommit?: (info: { stream: string; commands: number; events: number; ms: number }) => void;
  onEvents?: (events: RecordedEvent[]) => void;
}

interface Pending<C, E, S> {
  env: Envelope<C, S>;
  resolve: (o: Outcome<E>) => void;
  attempts: number;
}

/** What a key produced: a version range in the stream, and the command type for reuse checks. */
interface KeyRecord {
  from: number;
  to: number;
  commandType: string;
}

const REFUSAL_MEMORY = 10_000;

export class PartitionActor<C, E extends { type: string; data: unknown }, S> {
  private state: S;
  private version = 0;
  private snapshotVersion = 0;
  private readonly keys = new Map<string, KeyRecord>();
  private readonly refusals = new Map<string, { commandType: string; error: DomainError }>();
  private queue: Pending<C, E, S>[] = [];
  private scheduled = false;
  private inFlight = false;
  private closed = false;
  private role: PartitionRole;
  /** Serialises follower work (applying the feed, catching up, promotion). */
  private following: Promise<void> = Promise.resolve();
  private readonly clock: () => number;
  private readonly maxBatch: number;
  private readonly maxConflictRetries: number;
  readonly stats = { commits: 0, commands: 0, events: 0, conflicts: 0, reloads: 0 };

  private constructor(
    readonly stream: string,
    private readonly store: EventStore,
    private readonly decider: PartitionDecider<C, E, S>,
    private readonly codec: PartitionCodec<C, E, S>,
    private readonly options: PartitionOptions,
  ) {
    this.state = decider.initialState();
    this.role = options.role ?? 'leader';
    this.clock = options.clock ?? Date.now;
    this.maxBatch = options.maxBatch ?? 4096;
    this.maxConflictRetries = options.maxConflictRetries ?? 5;
  }

  static async load<C, E extends { type: string; data: unknown }, S>(
    stream: string,
    store: EventStore,
    decider: PartitionDecider<C, E, S>,
    codec: PartitionCodec<C, E, S>,
    options: PartitionOptions = {},
  ): Promise<PartitionActor<C, E, S>> {
    const actor = new PartitionActor(stream, store, decider, codec, options);
    await actor.reload();
    return actor;
  }

  get currentVersion(): number {
    return this.version;
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /** Read access for queries that run on the partition's thread (availability, lookups). Do not mutate. */
  read<T>(f: (state: S) => T): T {
    return f(this.state);
  }

  /** Decides and commits one command; resolves once its events are durable, or with the refusal. */
  submit(env: Envelope<C, S>): Promise<Outcome<E>> {
    if (this.closed) return Promise.resolve(fail('PARTITION_UNAVAILABLE', 'This partition is shutting down; retry.'));
    if (this.role === 'follower') return Promise.resolve(this.notOwner());
    return new Promise((resolve) => {
      this.queue.push({ env, resolve, attempts: 0 });
      this.schedule();
    });
  }

  /** Stops accepting commands and waits for the commit in flight. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  // --- roles (cluster mode) -------------------------------------------------

  /**
   * Applies committed events of this partition from the feed (or from an
   * owner's answer), in version order: versions already held are skipped, a
   * gap reads the missing tail from the store. A leader ignores the feed: a
   * write it did not make shows up as a version conflict on its next append.
   * Resolves once the events are applied (or found already applied).
   */
  follow(events: readonly RecordedEvent[]): Promise<void> {
    return this.serially(async () => {
      if (this.role === 'leader') return;
      const fresh = events.filter((e) => e.version > this.version);
      const first = fresh[0];
      if (first === undefined) return;
      if (first.version === this.version + 1 && this.version >= 0) this.applyRecorded(fresh);
      if (fresh[fresh.length - 1]!.version > this.version) await this.catchUp();
    });
  }

  /** Becomes the leader: reads the tail written since the copy was last current, then decides. */
  async promote(): Promise<void> {
    await this.serially(async () => {
      if (this.role === 'leader') return;
      await this.catchUp();
      this.role = 'leader';
    });
    this.schedule();
  }

  /** Stops deciding: queued commands get NOT_OWNER (the engine forwards them); waits for the commit in flight. */
  async demote(): Promise<void> {
    this.role = 'follower';
    this.handBack();
    while (this.inFlight && !this.reloading) await new Promise((r) => setTimeout(r, 2));
    this.handBack();
  }

  private serially(f: () => Promise<void>): Promise<void> {
    const run = this.following.then(f);
    this.following = run.catch(() => undefined);
    return run;
  }

  /** Reads the stream's tail from the store (a full reload when the copy is unusable). */
  private async catchUp(): Promise<void> {
    if (this.version < 0) await this.reload();
    for (;;) {
      const tail = await this.store.readStream(this.stream, { fromVersion: this.version + 1, limit: 10_000 });
      this.applyRecorded(tail);
      if (tail.length < 10_000) return;
    }
  }

  private applyRecorded(events: readonly RecordedEvent[]): void {
    const applied: RecordedEvent[] = [];
    for (const recorded of events) {
      if (recorded.version !== this.version + 1) break;
      this.rememberKey(recorded);
      const event = this.codec.upcast(recorded);
      if (event !== undefined) this.state = this.decider.evolve(this.state, event);
      this.version = recorded.version;
      applied.push(recorded);
    }
    if (applied.length > 0) this.options.onEvents?.(applied);
  }

  private notOwner(): Outcome<E> {
    return fail('PARTITION_UNAVAILABLE', 'This node does not decide this partition now; the command goes to its owner.', {
      details: { ...NOT_OWNER, stream: this.stream },
    });
  }

  private handBack(): void {
    const queued = this.queue;
    this.queue = [];
    for (const item of queued) item.resolve(this.notOwner());
  }

  private schedule(): void {
    if (this.role === 'follower') {
      this.handBack();
      return;
    }
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Rebuilds the state from the latest snapshot plus the stream's tail. */
  async reload(): Promise<void> {
    this.stats.reloads++;
    let state = this.decider.initialState();
    let version = 0;
    this.keys.clear();
    const snap = this.codec.snapshot ? await this.store.loadSnapshot(this.stream) : undefined;
    if (snap !== undefined && this.codec.snapshot !== undefined && snap.schema === this.codec.snapshot.schema) {
      const data = snap.state as { state: unknown; keys: [string, KeyRecord][] };
      state = this.codec.snapshot.load(data.state);
      for (const [k, r] of data.keys) this.keys.set(k, r);
      version = snap.version;
    }
    for (;;) {
      const tail = await this.store.readStream(this.stream, { fromVersion: version + 1, limit: 10_000 });
      for (const recorded of tail) {
        this.rememberKey(recorded);
        const event = this.codec.upcast(recorded);
        if (event !== undefined) state = this.decider.evolve(state, event);
        version = recorded.version;
      }
      if (tail.length < 10_000) break;
    }
    this.state = state;
    this.version = version;
    this.snapshotVersion = snap?.version ?? 0;
  }

  private rememberKey(recorded: RecordedEvent): void {
    const key = recorded.metadata.idempotencyKey;
    if (typeof key !== 'string') return;
    const existing = this.keys.get(key);
    if (existing !== undefined && existing.to === recorded.version - 1) existing.to = recorded.version;
    else if (existing === undefined) {
      const commandType = typeof recorded.metadata.commandType === 'string' ? recorded.metadata.commandType : '';
      this.keys.set(key, { from: recorded.version, to: recorded.version, commandType });
    }
  }

  private async flush(): Promise<void> {
    if (this.role === 'follower') return this.handBack();
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      await this.commitBatch(batch);
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }

  private async commitBatch(batch: Pending<C, E, S>[]): Promise<void> {
    const started = performance.now();
    const now = this.clock();
    const decidedAt = new Date(now).toISOString();
    const toAppend: { type: string; data: unknown; schemaVersion: number; metadata: EventMetadata }[] = [];
    /** Per command in the batch: where its events sit in `toAppend`, or its immediate outcome. */
    const slots: ({ from: number; to: number } | { done: Promise<Outcome<E>> | Outcome<E> })[] = [];
    const batchKeys = new Map<string, number>();
    for (const item of batch) {
      const key = item.env.idempotencyKey;
      const type = this.codec.commandType(item.env.command);
      if (key !== undefined) {
        const reused = this.checkKey(key, type, batchKeys, slots);
        if (reused !== undefined) {
          slots.push(reused);
          continue;
        }
      }
      const unmet = item.env.precondition?.(this.state);
      if (unmet !== undefined) {
        slots.push({ done: { ok: false, error: unmet } });
        continue;
      }
      const command = this.codec.stamp(item.env.command, now);
      const decision = this.decider.decide(command, this.state);
      if (!decision.ok) {
        if (key !== undefined) this.rememberRefusal(key, type, decision.error);
        slots.push({ done: decision });
        continue;
      }
      const from = toAppend.length;
      const metadata: EventMetadata = {
        ...this.codec.metadataOf(command),
        commandType: type,
        decidedAt,
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(item.env.channel === undefined ? {} : { channel: item.env.channel }),
        ...(item.env.correlationId === undefined ? {} : { correlationId: item.env.correlationId }),
        ...(item.env.causationId === undefined ? {} : { causationId: item.env.causationId }),
      };
      for (const event of decision.value) {
        this.state = this.decider.evolve(this.state, event);
        toAppend.push({ type: event.type, data: event.data, schemaVersion: this.codec.schemaVersionOf?.(event.type) ?? 1, metadata });
      }
      if (key !== undefined) batchKeys.set(key, slots.length);
      slots.push({ from, to: toAppend.length });
    }

    if (toAppend.length === 0) {
      await this.settle(batch, slots, []);
      return;
    }
    let recorded: RecordedEvent[];
    try {
      recorded = await this.append(toAppend);
    } catch (error) {
      await this.recover(batch, error);
      return;
    }
    this.stats.commits++;
    this.stats.commands += batch.length;
    this.stats.events += recorded.length;
    for (const r of recorded) this.rememberKey(r);
    // Observers (routing maps, projections) see the events before callers are
    // answered, so a caller's next command can already be routed by them.
    this.options.onEvents?.(recorded);
    await this.settle(batch, slots, recorded);
    this.options.onCommit?.({
      stream: this.stream,
      commands: batch.length,
      events: recorded.length,
      ms: performance.now() - started,
    });
    this.maybeSnapshot();
  }

  /** A key seen before: the stored outcome, a reuse error, or the slot of a twin earlier in this batch. */
  private checkKey(
    key: string,
    type: string,
    batchKeys: Map<string, number>,
    slots: ({ from: number; to: number } | { done: Promise<Outcome<E>> | Outcome<E> })[],
  ): { done: Promise<Outcome<E>> | Outcome<E> } | { from: number; to: number } | undefined {
    const reuse = (): Outcome<E> =>
      fail('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different command; use a new key.');
    const stored = this.keys.get(key);
    if (stored !== undefined) {
      if (stored.commandType !== '' && stored.commandType !== type) return { done: reuse() };
      return { done: this.storedOutcome(stored) };
    }
    const twin = batchKeys.get(key);
    if (twin !== undefined) {
      const slot = slots[twin];
      return slot !== undefined && 'from' in slot ? { ...slot } : undefined;
    }
    const refused = this.refusals.get(key);
    if (refused !== undefined) {
      return { done: refused.commandType === type ? { ok: false, error: refused.error } : reuse() };
    }
    return undefined;
  }

  private async storedOutcome(stored: KeyRecord): Promise<Outcome<E>> {
    let events: RecordedEvent[];
    try {
      events = await this.store.readStream(this.stream, {
        fromVersion: stored.from,
        limit: stored.to - stored.from + 1,
      });
    } catch {
      // The outcome is durable; only reading it back failed. Never let this escape a commit (or the process).
      return fail('STORE_UNAVAILABLE', 'This command was already done; its outcome could not be read just now. Retry with the same idempotency key.');
    }
    return { ok: true, events: events as RecordedEvent<string, never>[], duplicate: true };
  }

  private rememberRefusal(key: string, commandType: string, error: DomainError): void {
    if (this.refusals.size >= REFUSAL_MEMORY) {
      const oldest = this.refusals.keys().next();
      if (!oldest.done) this.refusals.delete(oldest.value);
    }
    this.refusals.set(key, { commandType, error });
  }

  private async append(events: { type: string; data: unknown; schemaVersion: number; metadata: EventMetadata }[]): Promise<RecordedEvent[]> {
    const commitId = randomUUID();
    const result = await this.store.append(this.stream, events, { expectedVersion: this.version, commitId });
    const first = this.version + 1;
    this.version = result.nextExpectedVersion;
    // Rebuild the recorded events locally rather than reading them back: the
    // store confirmed versions and positions, and the data is what we sent.
    // A commit's events have consecutive positions (port.ts).
    const recordedAt = new Date().toISOString();
    return events.map((e, i) => ({
      stream: this.stream,
      version: first + i,
      position: result.firstPosition + i,
      type: e.type,
      data: e.data,
      schemaVersion: e.schemaVersion,
      metadata: { ...e.metadata, recordedAt },
    }));
  }

  /**
   * The append failed. The in-memory state already contains the batch's
   * events, so it is rebuilt from the store. A lost version race re-decides the
   * batch; an unknown failure may still have committed, so each command whose
   * key is now in the log gets its stored outcome and the rest get
   * STORE_UNAVAILABLE (nothing was promised to them).
   */
  private async recover(batch: Pending<C, E, S>[], error: unknown): Promise<void> {
    try {
      await this.reload();
    } catch {
      // The store is down: keep the stale state out of use until a reload works.
      this.state = this.decider.initialState();
      this.version = -1;
      for (const item of batch) item.resolve(fail('STORE_UNAVAILABLE', 'The event store is unreachable; retry shortly.'));
      this.scheduleReload();
      return;
    }
    if (error instanceof StreamVersionConflictError) {
      this.stats.conflicts++;
      const retry = batch.filter((item) => {
        item.attempts++;
        if (item.attempts <= this.maxConflictRetries) return true;
        item.resolve(fail('CONCURRENCY_CONFLICT', 'Another writer keeps changing this site; retry.'));
        return false;
      });
      this.queue.unshift(...retry);
      return;
    }
    for (const item of batch) {
      const key = item.env.idempotencyKey;
      const stored = key === undefined ? undefined : this.keys.get(key);
      if (stored !== undefined) item.resolve(await this.storedOutcome(stored));
      else item.resolve(fail('STORE_UNAVAILABLE', 'The reservation could not be saved; retry with the same idempotency key.'));
    }
  }

  private reloading = false;
  private scheduleReload(): void {
    if (this.reloading) return;
    this.reloading = true;
    this.inFlight = true;
    const attempt = (): void => {
      this.reload().then(
        () => {
          this.reloading = false;
          this.inFlight = false;
          this.schedule();
        },
        () => setTimeout(attempt, 500),
      );
    };
    setTimeout(attempt, 100);
  }

  private async settle(
    batch: Pending<C, E, S>[],
    slots: ({ from: number; to: number } | { done: Promise<Outcome<E>> | Outcome<E> })[],
    recorded: RecordedEvent[],
  ): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const slot = slots[i];
      const item = batch[i];
      if (slot === undefined || item === undefined) continue;
      if ('done' in slot) {
        item.resolve(await slot.done);
      } else {
        item.resolve({ ok: true, events: recorded.slice(slot.from, slot.to) as RecordedEvent<string, never>[], duplicate: false });
      }
    }
  }

  private maybeSnapshot(): void {
    const every = this.options.snapshotEvery ?? 0;
    const codec = this.codec.snapshot;
    if (every <= 0 || codec === undefined || this.version - this.snapshotVersion < every) return;
    this.snapshotVersion = this.version;
    const snapshot: Snapshot = {
      stream: this.stream,
      version: this.version,
      schema: codec.schema,
      state: { state: codec.save(this.state), keys: [...this.keys] },
    };
    // A failed snapshot only costs recovery time; the log is the truth.
    this.store.saveSnapshot(snapshot).catch(() => {
      this.snapshotVersion = 0;
    });
  }
}
