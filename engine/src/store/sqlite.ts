/**
 * SQLite event store (better-sqlite3, WAL): the embedded, durable default.
 *
 * Writes go through one IMMEDIATE transaction per group of appends (all
 * appends queued while the previous group was being made durable, across
 * streams), each append in its own savepoint: it takes the write lock first,
 * so the idempotency lookup, the expected-version check, the inserts and the
 * stream version update all see and change one consistent state, also when
 * another connection or another process writes the same file. A writer
 * thread (sqlite-writer.mjs) owns the write connection, so the commit's fsync
 * never blocks the event loop; reads use this thread's own connection (WAL
 * readers do not wait for the writer). The SQL of the append path is in
 * sqlite-append.mjs. A writer that
 * finds the lock taken waits up to `busyTimeoutMs` (SQLite's busy handler)
 * before it gives up with `StoreUnavailableError`.
 *
 * Positions are the events table's rowid. Writers are serialized by the write
 * lock and every new rowid is larger than any committed one, so positions grow
 * in commit order: a subscriber that has seen position p can never later find
 * a commit below p.
 *
 * Durability: `synchronous = FULL` (default) fsyncs the WAL on every commit,
 * so an append whose promise resolved survives a killed process and a power
 * cut. `NORMAL` skips that fsync (the WAL is synced at checkpoints): commits
 * still survive the process being killed (they are in the OS page cache), but
 * the last ones may be lost if the machine loses power or the kernel crashes,
 * for roughly 2-10x more small appends per second. Use it only where the
 * runtime can re-decide lost commands.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { CatchUpSubscription } from './catch-up.js';
import { createAppender, isBusyError, type AppendItem, type AppendOutcome } from './sqlite-append.mjs';
import {
  assertAfter,
  assertAppendInput,
  assertReadOptions,
  recordedMetadata,
  StoreClosedError,
  toJson,
} from './common.js';
import { StoreUnavailableError, StreamVersionConflictError } from './port.js';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  EventToAppend,
  RecordedEvent,
  Snapshot,
  SubscribeOptions,
  Subscription,
} from './port.js';

/** Where `npm start` keeps its events when nothing else is configured (relative to the working directory). */
export const DEFAULT_SQLITE_FILE = './data/vuoro-events.db';

export interface SqliteEventStoreOptions {
  /** Database file; its directory is created if missing. */
  file: string;
  /** See the file comment: FULL (default) survives power loss, NORMAL only process death. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * `worker` (default for a file): a writer thread owns the write connection,
   * so a commit's fsync does not block the event loop and group commits grow
   * with load. `inline`: appends run on this thread (always for ':memory:').
   */
  writer?: 'worker' | 'inline';
  /** How long a writer waits for another connection's write lock. Default 5,000 ms. */
  busyTimeoutMs?: number;
  /** How often subscriptions look for appends made by other processes. Default 100 ms. */
  pollIntervalMs?: number;
  /** Page size of subscription catch-up reads. Default 500. */
  pageSize?: number;
  /** Clock for `recordedAt`. */
  now?: () => Date;
}

/**
 * Schema changes, applied in order and recorded in schema_migrations. Append
 * new ones at the end; never edit one that has shipped.
 */
const MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'events, streams, commits, snapshots',
    sql: `
      CREATE TABLE events (
        position       INTEGER PRIMARY KEY,
        stream         TEXT    NOT NULL,
        version        INTEGER NOT NULL,
        type           TEXT    NOT NULL,
        schema_version INTEGER NOT NULL DEFAULT 1,
        data           TEXT    NOT NULL,
        metadata       TEXT    NOT NULL,
        recorded_at    TEXT    NOT NULL,
        UNIQUE (stream, version)
      );
      CREATE TABLE streams (
        stream  TEXT    PRIMARY KEY,
        version INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE commits (
        stream    TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        result    TEXT NOT NULL,
        PRIMARY KEY (stream, commit_id)
      ) WITHOUT ROWID;
      CREATE TABLE snapshots (
        stream   TEXT    PRIMARY KEY,
        version  INTEGER NOT NULL,
        schema   TEXT    NOT NULL,
        state    TEXT    NOT NULL,
        saved_at TEXT    NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

interface EventRow {
  position: number;
  stream: string;
  version: number;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
}

const toRecorded = (row: EventRow): RecordedEvent => ({
  stream: row.stream,
  version: row.version,
  position: row.position,
  type: row.type,
  data: JSON.parse(row.data) as unknown,
  schemaVersion: row.schema_version,
  metadata: JSON.parse(row.metadata) as EventMetadata & { recordedAt: string },
});

/** better-sqlite3 reports a lock it could not get within busy_timeout with these codes. */
const isBusy = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { code?: unknown }).code === 'string' &&
  /^SQLITE_(BUSY|LOCKED)/.test((error as { code: string }).code);

const migrate = (db: Db): void => {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
  )`);
  const current = db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)');
  for (const m of MIGRATIONS) {
    // Re-checked inside the write transaction: two processes opening a new
    // file at once must not both apply a migration.
    db.transaction(() => {
      if ((current.get() as number) >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.description, new Date().toISOString());
    }).immediate();
  }
  const newest = current.get() as number;
  if (newest > SQLITE_SCHEMA_VERSION) {
    throw new Error(`event store file is at schema ${newest}, newer than this code (${SQLITE_SCHEMA_VERSION})`);
  }
};

interface PendingAppend {
  stream: string;
  rows: readonly { type: string; schemaVersion: number; data: string; metadata: string }[];
  options: AppendOptions;
  recordedAt: string;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

type WriterMessage =
  | { type: 'ready' }
  | { type: 'closed' }
  | { type: 'appended'; id: number; outcomes?: AppendOutcome[]; failure?: { busy: boolean; message: string } };

export class SqliteEventStore implements EventStore {
  readonly name: string;
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #pollIntervalMs: number;
  readonly #pageSize: number;
  readonly #wakers = new Set<() => void>();
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;
  readonly #sql: {
    version: Statement<[string], number>;
    readStream: Statement<[string, number, number], EventRow>;
    readAll: Statement<[number, number], EventRow>;
    saveSnapshot: Statement<[string, number, string, string, string]>;
    loadSnapshot: Statement<[string], { version: number; schema: string; state: string }>;
  };

  private constructor(db: Db, options: SqliteEventStoreOptions) {
    this.#db = db;
    this.name = `sqlite:${options.file}`;
    this.#now = options.now ?? (() => new Date());
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#pageSize = options.pageSize ?? 500;
    this.#sql = {
      version: db.prepare<[string], number>('SELECT version FROM streams WHERE stream = ?').pluck(),
      readStream: db.prepare(
        `SELECT position, stream, version, type, schema_version, data, metadata FROM events
         WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
      ),
      readAll: db.prepare(
        `SELECT position, stream, version, type, schema_version, data, metadata FROM events
         WHERE position > ? ORDER BY position LIMIT ?`,
      ),
      saveSnapshot: db.prepare(
        `INSERT INTO snapshots (stream, version, schema, state, saved_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (stream) DO UPDATE SET version = excluded.version, schema = excluded.schema,
           state = excluded.state, saved_at = excluded.saved_at`,
      ),
      loadSnapshot: db.prepare('SELECT version, schema, state FROM snapshots WHERE stream = ?'),
    };
    this.#appendInline = createAppender(db);
    if (options.writer !== 'inline' && options.file !== ':memory:') {
      this.#writer = new Worker(new URL('./sqlite-writer.mjs', import.meta.url), {
        workerData: { file: options.file, synchronous: options.synchronous ?? 'FULL', busyTimeoutMs: Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000)) },
      });
      this.#writer.on('message', (message: WriterMessage) => this.#onWriterMessage(message));
      this.#writer.on('error', (error) => this.#failInFlight(new StoreUnavailableError('the SQLite writer thread failed', { cause: error })));
      this.#writer.unref();
    }
  }

  readonly #appendInline: (batch: readonly AppendItem[]) => AppendOutcome[];
  /** The writer thread (a file store); undefined = appends run inline on this thread. */
  readonly #writer: Worker | undefined;
  #queue: PendingAppend[] = [];
  #flushScheduled = false;
  /** The batch the writer thread is making durable; at most one at a time. */
  #inFlight: PendingAppend[] | undefined;
  #batchId = 0;
  #writerClosed: (() => void) | undefined;

  #enqueue(item: PendingAppend): void {
    this.#queue.push(item);
    if (this.#flushScheduled || this.#inFlight !== undefined) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Hands everything queued to the writer (or writes it inline), as one transaction. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#inFlight !== undefined || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    if (this.#closed) {
      for (const item of batch) item.reject(new StoreClosedError(this.name));
      return;
    }
    const items: AppendItem[] = batch.map((p) => ({
      stream: p.stream,
      rows: p.rows,
      expectedVersion: p.options.expectedVersion,
      commitId: p.options.commitId,
      recordedAt: p.recordedAt,
    }));
    if (this.#writer !== undefined) {
      this.#inFlight = batch;
      this.#writer.ref();
      this.#writer.postMessage({ type: 'append', id: ++this.#batchId, batch: items });
      return;
    }
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.#appendInline(items);
    } catch (error) {
      this.#failBatch(batch, isBusyError(error) ? new StoreUnavailableError('append: the event store file stayed locked', { cause: error }) : error);
      return;
    }
    this.#settle(batch, outcomes);
  }

  #onWriterMessage(message: WriterMessage): void {
    if (message.type === 'closed') {
      this.#writerClosed?.();
      return;
    }
    if (message.type !== 'appended') return;
    const batch = this.#inFlight ?? [];
    this.#inFlight = undefined;
    this.#writer?.unref();
    if (message.failure !== undefined) {
      this.#failBatch(
        batch,
        new StoreUnavailableError(message.failure.busy ? 'append: the event store file stayed locked' : `append failed: ${message.failure.message}`),
      );
    } else {
      this.#settle(batch, message.outcomes ?? []);
    }
    // Everything that queued while the writer was busy is the next group commit.
    if (this.#queue.length > 0 && !this.#flushScheduled) this.#flush();
  }

  #failInFlight(error: unknown): void {
    const batch = this.#inFlight ?? [];
    this.#inFlight = undefined;
    this.#failBatch(batch, error);
  }

  #failBatch(batch: PendingAppend[], error: unknown): void {
    for (const item of batch) item.reject(error);
  }

  #settle(batch: PendingAppend[], outcomes: readonly AppendOutcome[]): void {
    let wrote = false;
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) item.reject(new StoreUnavailableError('append: no answer from the writer'));
      else if ('result' in outcome) {
        wrote ||= !outcome.result.duplicate;
        item.resolve(outcome.result);
      } else if ('conflict' in outcome) {
        item.reject(new StreamVersionConflictError(outcome.conflict.stream, outcome.conflict.expected, outcome.conflict.actual));
      } else {
        item.reject(new Error(`append to ${item.stream} failed: ${outcome.error.message}`));
      }
    });
    if (wrote) for (const wake of this.#wakers) wake();
  }

  static async open(options: SqliteEventStoreOptions): Promise<SqliteEventStore> {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    const db = new Database(options.file);
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      migrate(db);
      return new SqliteEventStore(db, options);
    } catch (error) {
      db.close();
      if (isBusy(error)) throw new StoreUnavailableError(`event store ${options.file} is locked`, { cause: error });
      throw error;
    }
  }

  /** The applied schema version (from schema_migrations). */
  schemaVersion(): number {
    this.#assertOpen();
    return this.#db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number;
  }

  async append(stream: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    this.#assertOpen();
    assertAppendInput(stream, events);
    // Serialize before the transaction: a value JSON refuses must fail the
    // append before anything is written, and the lock is held for less time.
    const recordedAt = this.#now().toISOString();
    const rows = events.map((e, i) => ({
      type: e.type,
      schemaVersion: e.schemaVersion ?? 1,
      data: toJson(e.data, `data of event ${i} (${e.type})`),
      metadata: toJson(recordedMetadata(e.metadata, recordedAt), `metadata of event ${i} (${e.type})`),
    }));
    return new Promise((resolve, reject) => {
      this.#enqueue({ stream, rows, options, recordedAt, resolve, reject });
    });
  }

  async readStream(stream: string, options: { fromVersion?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    this.#assertOpen();
    const fromVersion = options.fromVersion ?? 1;
    assertReadOptions(fromVersion, options.limit);
    return this.#sql.readStream.all(stream, fromVersion, options.limit ?? -1).map(toRecorded);
  }

  async streamVersion(stream: string): Promise<number> {
    this.#assertOpen();
    return this.#sql.version.get(stream) ?? 0;
  }

  async readAll(options: { after: number; limit?: number }): Promise<RecordedEvent[]> {
    this.#assertOpen();
    assertAfter(options.after);
    assertReadOptions(1, options.limit);
    return this.#readPage(options.after, options.limit ?? -1);
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#assertOpen();
    assertAfter(options.after);
    const subscription = new CatchUpSubscription(
      {
        readPage: (after) => {
          this.#assertOpen();
          return this.#readPage(after, this.#pageSize);
        },
        onAppend: (wake) => {
          this.#wakers.add(wake);
          return () => this.#wakers.delete(wake);
        },
        pollIntervalMs: this.#pollIntervalMs,
      },
      options,
    );
    this.#subscriptions.add(subscription);
    void subscription.done.then(() => this.#subscriptions.delete(subscription));
    return subscription;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen();
    const state = toJson(snapshot.state, `snapshot state of ${snapshot.stream}`);
    try {
      this.#sql.saveSnapshot.run(snapshot.stream, snapshot.version, snapshot.schema, state, this.#now().toISOString());
    } catch (error) {
      if (isBusy(error)) throw new StoreUnavailableError('saveSnapshot: the event store file stayed locked', { cause: error });
      throw error;
    }
  }

  async loadSnapshot(stream: string): Promise<Snapshot | undefined> {
    this.#assertOpen();
    const row = this.#sql.loadSnapshot.get(stream);
    if (row === undefined) return undefined;
    return { stream, version: row.version, schema: row.schema, state: JSON.parse(row.state) as unknown };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Appends already accepted are written, not dropped.
    while (this.#inFlight !== undefined || this.#queue.length > 0) {
      if (this.#inFlight === undefined) this.#flush();
      else await new Promise((r) => setTimeout(r, 1));
    }
    this.#closed = true;
    if (this.#writer !== undefined) {
      const closed = new Promise<void>((r) => (this.#writerClosed = r));
      this.#writer.ref();
      this.#writer.postMessage({ type: 'close' });
      await closed;
      await this.#writer.terminate();
    }
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#db.close();
  }

  #readPage(after: number, limit: number): RecordedEvent[] {
    try {
      return this.#sql.readAll.all(after, limit).map(toRecorded);
    } catch (error) {
      if (isBusy(error)) throw new StoreUnavailableError('readAll: the event store file stayed locked', { cause: error });
      throw error;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.name);
  }
}
