/**
 * SQLite event store (better-sqlite3, WAL): the embedded, durable default.
 *
 * One append is one IMMEDIATE transaction: it takes the write lock first, so
 * the idempotency lookup, the expected-version check, the inserts and the
 * stream version update all see and change one consistent state, also when
 * another connection or another process writes the same file. A writer that
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
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { CatchUpSubscription } from './catch-up.js';
import {
  assertAfter,
  assertAppendInput,
  assertReadOptions,
  recordedMetadata,
  StoreClosedError,
  toJson,
} from './common.js';
import { expectedVersionHolds, StoreUnavailableError, StreamVersionConflictError } from './port.js';
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
  result: AppendResult | undefined;
  error: unknown;
}

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
    commit: Statement<[string, string], string>;
    version: Statement<[string], number>;
    insertEvent: Statement<[string, number, string, number, string, string, string]>;
    upsertStream: Statement<[string, number]>;
    insertCommit: Statement<[string, string, string]>;
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
      commit: db.prepare<[string, string], string>('SELECT result FROM commits WHERE stream = ? AND commit_id = ?').pluck(),
      version: db.prepare<[string], number>('SELECT version FROM streams WHERE stream = ?').pluck(),
      insertEvent: db.prepare(
        `INSERT INTO events (stream, version, type, schema_version, data, metadata, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      upsertStream: db.prepare(
        'INSERT INTO streams (stream, version) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET version = excluded.version',
      ),
      insertCommit: db.prepare('INSERT INTO commits (stream, commit_id, result) VALUES (?, ?, ?)'),
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
    const sql = this.#sql;
    const append = db.transaction(
      (
        stream: string,
        events: readonly { type: string; schemaVersion: number; data: string; metadata: string }[],
        options: AppendOptions,
        recordedAt: string,
      ): AppendResult => {
        if (options.commitId !== undefined) {
          const previous = sql.commit.get(stream, options.commitId);
          if (previous !== undefined) return { ...(JSON.parse(previous) as AppendResult), duplicate: true };
        }
        const actual = sql.version.get(stream) ?? 0;
        if (!expectedVersionHolds(options.expectedVersion, actual)) {
          throw new StreamVersionConflictError(stream, options.expectedVersion, actual);
        }
        let firstPosition = 0;
        let lastPosition = 0;
        events.forEach((e, i) => {
          const info = sql.insertEvent.run(stream, actual + i + 1, e.type, e.schemaVersion, e.data, e.metadata, recordedAt);
          lastPosition = Number(info.lastInsertRowid);
          if (i === 0) firstPosition = lastPosition;
        });
        const result: AppendResult = {
          nextExpectedVersion: actual + events.length,
          firstPosition,
          lastPosition,
          duplicate: false,
        };
        sql.upsertStream.run(stream, result.nextExpectedVersion);
        if (options.commitId !== undefined) sql.insertCommit.run(stream, options.commitId, JSON.stringify(result));
        return result;
      },
    );
    // Appends queued in one turn of the event loop share one IMMEDIATE
    // transaction, hence one fsync: each runs in its own savepoint (a nested
    // better-sqlite3 transaction), so one append's version conflict rolls back
    // only that append. Many partitions committing at once then cost one disk
    // flush, which is what makes synchronous = FULL affordable.
    this.#appendBatch = db.transaction((batch: PendingAppend[]) => {
      for (const item of batch) {
        try {
          item.result = append(item.stream, item.rows, item.options, item.recordedAt);
        } catch (error) {
          item.error = error;
        }
      }
    });
  }

  readonly #appendBatch: { immediate(batch: PendingAppend[]): void };
  #queue: PendingAppend[] = [];
  #flushScheduled = false;

  #enqueue(item: PendingAppend): void {
    this.#queue.push(item);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    if (this.#closed) {
      for (const item of batch) item.reject(new StoreClosedError(this.name));
      return;
    }
    try {
      this.#appendBatch.immediate(batch);
    } catch (error) {
      const failure = isBusy(error)
        ? new StoreUnavailableError('append: the event store file stayed locked', { cause: error })
        : error;
      for (const item of batch) item.reject(failure);
      return;
    }
    let wrote = false;
    for (const item of batch) {
      if (item.result !== undefined) {
        wrote ||= !item.result.duplicate;
        item.resolve(item.result);
      } else {
        item.reject(item.error);
      }
    }
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
      this.#enqueue({ stream, rows, options, recordedAt, resolve, reject, result: undefined, error: undefined });
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
    this.#flush();
    this.#closed = true;
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
