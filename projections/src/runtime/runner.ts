/**
 * The projection runner: feeds the global event feed to projections and keeps
 * their checkpoints.
 *
 * - Live: one subscription from the lowest live checkpoint. Events queue per
 *   projection and are applied in batches, each batch in one SQLite
 *   transaction that also moves the checkpoint, so a crash never leaves rows
 *   and checkpoint disagreeing, and an event at or below the checkpoint is
 *   skipped (replaying it changes nothing).
 * - Catch-up: a projection far behind (new, or a new version) reads the feed
 *   in pages with `readAll` before the subscription takes over.
 * - Rebuild: a *shadow* generation of the tables fills from position 0 in
 *   pages, yielding between pages, while the live generation keeps applying
 *   events and serving queries. When the shadow reaches the head, the live
 *   projection pauses, the shadow takes the few events that queued meanwhile,
 *   and one transaction makes it live; the old tables are dropped.
 * - Lag: events received but not applied, the store's head (through an
 *   optional probe) and the age of the oldest unapplied event.
 *
 * Works with any `EventStore`: in process over SQLite or memory, or in a
 * process of its own fed by NATS JetStream (see `main.ts`).
 */
import type { Database as Db } from 'better-sqlite3';
import type { EventStore, RecordedEvent, Subscription } from '@vuoro/engine';
import { contextFor, physicalTable, type Projection, type ProjectionHandler } from './projection.js';
import { WalCheckpointer } from './checkpointer.js';
import { SlotStore, type SlotRole, type SlotState } from './state.js';

export interface CommitInfo {
  projection: string;
  role: SlotRole;
  generation: number;
  events: readonly RecordedEvent[];
  /** Events actually applied (those above the checkpoint). */
  applied: number;
  /** Wall-clock time the transaction committed (epoch ms). */
  committedAt: number;
  ms: number;
}

export interface RunnerOptions {
  store: EventStore;
  db: Db;
  projections: readonly Projection[];
  /** Most events applied in one transaction (default 5,000). */
  batchSize?: number;
  /** Events read per page when catching up or rebuilding (default 5,000). */
  pageSize?: number;
  /**
   * Most events in one transaction of a catch-up or rebuild (default 50,000):
   * bigger than live batches, so the writes of events far apart in the feed
   * (a booking, and weeks later its use) meet in one flush.
   */
  catchUpBatchSize?: number;
  /** Wall clock, only for lag figures and `appliedAt`; projections never see it. */
  clock?: () => number;
  /** Events in the store after a position (for the "events behind" figure); see `probes.ts`. */
  headProbe?: (after: number) => Promise<number>;
  onCommit?: (info: CommitInfo) => void;
  onError?: (projection: string, error: unknown) => void;
}

export interface SlotStatusView {
  projection: string;
  role: SlotRole;
  version: number;
  generation: number;
  status: SlotState['status'];
  checkpoint: number;
  eventsApplied: number;
  queued: number;
  lastRecordedAt: number | null;
  appliedAt: number | null;
  error: string | null;
}

export interface LagView {
  projection: string;
  checkpoint: number;
  /** Events in the feed that this projection has not applied yet. */
  eventsBehind: number;
  /** Age of the oldest event not applied yet (0 when caught up). */
  msBehind: number;
  status: SlotState['status'];
}

interface Slot {
  readonly projection: Projection;
  readonly state: SlotState;
  handler: ProjectionHandler;
  queue: RecordedEvent[];
  /** Highest position queued or applied. */
  enqueued: number;
  paused: boolean;
  /** Lowest `recordedAt` among queued events is the first one's; kept for lag. */
}

const recordedAtOf = (e: RecordedEvent): number => {
  const t = Date.parse(e.metadata.recordedAt);
  return Number.isFinite(t) ? t : 0;
};

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ProjectionRunner {
  private readonly slots = new Map<string, Slot>();
  private readonly shadows = new Map<string, Slot>();
  private readonly slotStore: SlotStore;
  private readonly batchSize: number;
  private readonly pageSize: number;
  private readonly catchUpBatchSize: number;
  private readonly clock: () => number;
  private subscription: Subscription | undefined;
  private drainScheduled = false;
  private closed = false;
  private received = 0;
  private readonly waiters: { position: number; resolve: () => void }[] = [];
  private readonly rebuilding = new Map<string, Promise<RebuildReport>>();
  /** Resolves once every live projection has caught up with the feed as it was at start. */
  ready: Promise<void> = Promise.resolve();
  private readonly checkpointer: WalCheckpointer | undefined;

  constructor(private readonly options: RunnerOptions) {
    this.slotStore = new SlotStore(options.db);
    this.batchSize = options.batchSize ?? 5_000;
    this.pageSize = options.pageSize ?? 5_000;
    this.catchUpBatchSize = Math.max(options.catchUpBatchSize ?? 50_000, this.batchSize);
    this.clock = options.clock ?? Date.now;
    const names = new Set<string>();
    for (const p of options.projections) {
      if (!/^[a-z][a-z0-9_]*$/.test(p.name)) throw new RangeError(`projection name '${p.name}' must be lower-case letters, digits and _`);
      if (names.has(p.name)) throw new RangeError(`two projections are named '${p.name}'`);
      names.add(p.name);
    }
    this.checkpointer = WalCheckpointer.startFor(options.db, { onError: (message) => options.onError?.('*', new Error(`WAL checkpoint: ${message}`)) });
  }

  get db(): Db {
    return this.options.db;
  }

  /**
   * Opens every projection (creating its tables, or starting afresh when the
   * stored version differs), resumes an interrupted rebuild, and starts
   * following the feed. Returns at once; `ready` resolves when caught up.
   */
  async start(): Promise<void> {
    for (const projection of this.options.projections) this.openLive(projection);
    this.ready = this.catchUpThenFollow();
    for (const projection of this.options.projections) {
      if (this.slotStore.get(projection.name, 'shadow') !== undefined) void this.rebuild(projection.name).catch(() => undefined);
    }
    this.ready.catch(() => undefined);
  }

  private openLive(projection: Projection): void {
    let state = this.slotStore.get(projection.name, 'live');
    if (state !== undefined && state.version !== projection.version) {
      // Another version's tables mean something else: build this version from zero.
      this.dropGeneration(projection, state.generation);
      this.slotStore.remove(projection.name, 'live');
      state = undefined;
    }
    if (state === undefined) {
      state = this.createGeneration(projection, 'live');
    }
    const ctx = contextFor(this.db, projection.name, state.generation);
    this.slots.set(projection.name, {
      projection,
      state,
      handler: projection.open(ctx),
      queue: [],
      enqueued: state.checkpoint,
      paused: false,
    });
  }

  private createGeneration(projection: Projection, role: SlotRole): SlotState {
    const generation = this.slotStore.nextGeneration(projection.name);
    const state: SlotState = {
      projection: projection.name,
      role,
      version: projection.version,
      generation,
      checkpoint: 0,
      status: role === 'live' ? 'live' : 'building',
      lastRecordedAt: null,
      appliedAt: null,
      eventsApplied: 0,
      error: null,
    };
    this.db.transaction(() => {
      projection.createTables(contextFor(this.db, projection.name, generation));
      this.slotStore.put(state);
    })();
    return state;
  }

  private dropGeneration(projection: Projection, generation: number): void {
    this.db.transaction(() => {
      for (const t of projection.tables) this.db.exec(`DROP TABLE IF EXISTS "${physicalTable(projection.name, t, generation)}"`);
    })();
  }

  private async catchUpThenFollow(): Promise<void> {
    // Page through the feed while far behind: bigger transactions than the subscription's.
    for (;;) {
      if (this.closed) return;
      const from = this.lowestLiveCheckpoint();
      const page = await this.options.store.readAll({ after: from, limit: this.pageSize });
      // Caught up when a page brings nothing new (an at-least-once feed may repeat what was applied).
      if (page.length === 0 || (page[page.length - 1] as RecordedEvent).position <= from) break;
      for (const e of page) this.enqueue(e);
      if (this.longestQueue() >= this.catchUpBatchSize || page.length < this.pageSize) this.drain(this.catchUpBatchSize);
      await yieldToEventLoop();
    }
    this.drain(this.catchUpBatchSize);
    if (this.closed) return;
    const after = Math.max(this.lowestLiveCheckpoint(), 0);
    this.received = Math.max(this.received, after);
    this.subscription = this.options.store.subscribe({
      after,
      handler: (event) => {
        this.enqueue(event);
        if (this.longestQueue() >= this.batchSize) this.drain();
        else this.scheduleDrain();
      },
    });
    void this.subscription.done.then(() => {
      if (!this.closed && this.subscription?.failure !== undefined) this.options.onError?.('*', this.subscription.failure);
    });
  }

  private lowestLiveCheckpoint(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.slots.values()) if (s.state.status !== 'failed') min = Math.min(min, s.enqueued);
    return Number.isFinite(min) ? min : 0;
  }

  private longestQueue(): number {
    let n = 0;
    for (const s of this.slots.values()) n = Math.max(n, s.queue.length);
    return n;
  }

  private enqueue(event: RecordedEvent): void {
    this.received = Math.max(this.received, event.position);
    for (const s of this.slots.values()) {
      if (s.state.status === 'failed' || event.position <= s.enqueued) continue;
      s.queue.push(event);
      s.enqueued = event.position;
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Applies every queued event of every live, unpaused projection. */
  private drain(size = this.batchSize): void {
    for (const slot of this.slots.values()) {
      if (slot.paused || slot.state.status === 'failed') continue;
      while (slot.queue.length > 0) {
        const batch = slot.queue.length <= size ? slot.queue : slot.queue.slice(0, size);
        slot.queue = slot.queue.length <= size ? [] : slot.queue.slice(size);
        if (!this.applyBatch(slot, batch)) break;
      }
    }
    this.wakeWaiters();
  }

  /** One transaction: the events above the checkpoint, then the new checkpoint. False when the projection failed. */
  private applyBatch(slot: Slot, events: readonly RecordedEvent[]): boolean {
    const started = this.clock();
    let applied = 0;
    let last: RecordedEvent | undefined;
    try {
      this.db.transaction(() => {
        for (const e of events) {
          if (e.position <= slot.state.checkpoint) continue;
          slot.handler.apply(e);
          applied++;
          last = e;
        }
        if (last === undefined) return;
        slot.handler.endBatch();
        this.slotStore.advance(slot.state, last.position, recordedAtOf(last), this.clock(), applied);
      })();
    } catch (error) {
      slot.handler.abortBatch();
      // The transaction rolled back; the in-memory checkpoint may have moved with it.
      const stored = this.slotStore.get(slot.projection.name, slot.state.role);
      if (stored !== undefined) Object.assign(slot.state, stored);
      slot.state.status = 'failed';
      slot.state.error = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
      this.slotStore.put(slot.state);
      slot.queue = [];
      this.options.onError?.(slot.projection.name, error);
      return false;
    }
    if (applied > 0) {
      const committedAt = this.clock();
      this.options.onCommit?.({
        projection: slot.projection.name,
        role: slot.state.role,
        generation: slot.state.generation,
        events,
        applied,
        committedAt,
        ms: committedAt - started,
      });
    }
    return true;
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const reached = this.lowestAppliedCheckpoint();
    for (let k = this.waiters.length - 1; k >= 0; k--) {
      const w = this.waiters[k]!;
      if (w.position <= reached) {
        this.waiters.splice(k, 1);
        w.resolve();
      }
    }
  }

  private lowestAppliedCheckpoint(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.slots.values()) if (s.state.status !== 'failed') min = Math.min(min, s.state.checkpoint);
    return Number.isFinite(min) ? min : 0;
  }

  /** Resolves once every live projection has applied the event at `position` (read-your-writes for tests and tools). */
  waitFor(position: number): Promise<void> {
    if (position <= this.lowestAppliedCheckpoint()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  /**
   * Rebuilds a projection from position 0 into a new generation while the
   * current one keeps serving, then swaps them. Resumes a shadow left by a
   * previous run. Concurrent calls share one rebuild.
   */
  rebuild(name: string): Promise<RebuildReport> {
    let running = this.rebuilding.get(name);
    if (running === undefined) {
      running = this.runRebuild(name).finally(() => this.rebuilding.delete(name));
      this.rebuilding.set(name, running);
    }
    return running;
  }

  private async runRebuild(name: string): Promise<RebuildReport> {
    const live = this.slots.get(name);
    if (live === undefined) throw new RangeError(`no projection named '${name}'`);
    const projection = live.projection;
    const startedAt = this.clock();
    let state = this.slotStore.get(name, 'shadow');
    if (state !== undefined && state.version !== projection.version) {
      this.dropGeneration(projection, state.generation);
      this.slotStore.remove(name, 'shadow');
      state = undefined;
    }
    state ??= this.createGeneration(projection, 'shadow');
    const shadow: Slot = {
      projection,
      state,
      handler: projection.open(contextFor(this.db, name, state.generation)),
      queue: [],
      enqueued: state.checkpoint,
      paused: false,
    };
    this.shadows.set(name, shadow);
    const fromCheckpoint = state.checkpoint;
    try {
      await this.pageInto(shadow);
      // Swap: hold the live projection still, take what arrived meanwhile, flip in one transaction.
      const current = this.slots.get(name) as Slot;
      current.paused = true;
      try {
        await this.pageInto(shadow);
        const pending = current.queue.filter((e) => e.position > shadow.state.checkpoint);
        for (let k = 0; k < pending.length; k += this.batchSize) {
          if (!this.applyBatch(shadow, pending.slice(k, k + this.batchSize))) throw new Error(shadow.state.error ?? 'rebuild failed');
        }
        const old = current.state;
        this.db.transaction(() => {
          this.slotStore.remove(name, 'live');
          this.slotStore.remove(name, 'shadow');
          shadow.state.role = 'live';
          shadow.state.status = 'live';
          this.slotStore.put(shadow.state);
          for (const t of projection.tables) this.db.exec(`DROP TABLE IF EXISTS "${physicalTable(name, t, old.generation)}"`);
        })();
        this.slots.set(name, {
          projection,
          state: shadow.state,
          handler: shadow.handler,
          queue: [],
          enqueued: Math.max(shadow.state.checkpoint, current.enqueued),
          paused: false,
        });
        return {
          projection: name,
          generation: shadow.state.generation,
          events: shadow.state.eventsApplied,
          resumedFrom: fromCheckpoint,
          ms: this.clock() - startedAt,
        };
      } finally {
        current.paused = false;
        this.scheduleDrain();
      }
    } finally {
      this.shadows.delete(name);
    }
  }

  /** Reads the feed after the slot's checkpoint until a page brings nothing new, applying in catch-up batches. */
  private async pageInto(slot: Slot): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error('runner closed during a rebuild');
      let batch: RecordedEvent[] = [];
      let after = slot.state.checkpoint;
      let done = false;
      while (batch.length < this.catchUpBatchSize) {
        const page = await this.options.store.readAll({ after, limit: this.pageSize });
        const last = page[page.length - 1];
        if (last === undefined || last.position <= after) {
          done = true;
          break;
        }
        batch = batch.length === 0 ? page : batch.concat(page);
        after = last.position;
        await yieldToEventLoop();
      }
      if (batch.length > 0 && !this.applyBatch(slot, batch)) throw new Error(slot.state.error ?? 'rebuild failed');
      if (done) return;
    }
  }

  status(): SlotStatusView[] {
    const out: SlotStatusView[] = [];
    for (const s of [...this.slots.values(), ...this.shadows.values()]) {
      out.push({
        projection: s.projection.name,
        role: s.state.role,
        version: s.state.version,
        generation: s.state.generation,
        status: s.state.status,
        checkpoint: s.state.checkpoint,
        eventsApplied: s.state.eventsApplied,
        queued: s.queue.length,
        lastRecordedAt: s.state.lastRecordedAt,
        appliedAt: s.state.appliedAt,
        error: s.state.error,
      });
    }
    return out;
  }

  /** How far each live projection is behind the feed. Reads the store (one event, plus the head probe). */
  async lag(): Promise<LagView[]> {
    const out: LagView[] = [];
    const now = this.clock();
    for (const s of this.slots.values()) {
      const next = s.queue[0] ?? (await this.options.store.readAll({ after: s.state.checkpoint, limit: 1 }))[0];
      let eventsBehind = s.queue.length + Math.max(0, this.received - s.enqueued);
      if (this.options.headProbe !== undefined) eventsBehind = await this.options.headProbe(s.state.checkpoint);
      else if (next !== undefined && eventsBehind === 0) eventsBehind = 1;
      out.push({
        projection: s.projection.name,
        checkpoint: s.state.checkpoint,
        eventsBehind,
        msBehind: next === undefined ? 0 : Math.max(0, now - recordedAtOf(next)),
        status: s.state.status,
      });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscription?.close();
    await this.ready.catch(() => undefined);
    await Promise.allSettled([...this.rebuilding.values()]);
    this.drain();
    for (const w of this.waiters.splice(0)) w.resolve();
    await this.checkpointer?.close();
  }
}

export interface RebuildReport {
  projection: string;
  generation: number;
  /** Events the new generation applied. */
  events: number;
  /** 0 for a rebuild from scratch; the shadow's checkpoint when an interrupted one resumed. */
  resumedFrom: number;
  ms: number;
}
