/**
 * The runner's bookkeeping, in the read-model database itself so that a
 * projection's checkpoint commits in the same transaction as the rows it
 * describes: after a crash the tables and the checkpoint always agree, and an
 * event at or below the checkpoint is never applied twice.
 *
 * One row per projection and *slot*: `live` (serving queries) and, while a
 * rebuild runs, `shadow` (the next generation, filling from position 0).
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

export type SlotRole = 'live' | 'shadow';
export type SlotStatus = 'building' | 'live' | 'failed';

export interface SlotState {
  projection: string;
  role: SlotRole;
  version: number;
  generation: number;
  checkpoint: number;
  status: SlotStatus;
  /** `recordedAt` (epoch ms) of the last applied event. */
  lastRecordedAt: number | null;
  /** Wall-clock time of the last commit (epoch ms). */
  appliedAt: number | null;
  eventsApplied: number;
  error: string | null;
}

interface SlotRow {
  projection: string;
  role: SlotRole;
  version: number;
  generation: number;
  checkpoint: number;
  status: SlotStatus;
  last_recorded_at: number | null;
  applied_at: number | null;
  events_applied: number;
  error: string | null;
}

const toState = (r: SlotRow): SlotState => ({
  projection: r.projection,
  role: r.role,
  version: r.version,
  generation: r.generation,
  checkpoint: r.checkpoint,
  status: r.status,
  lastRecordedAt: r.last_recorded_at,
  appliedAt: r.applied_at,
  eventsApplied: r.events_applied,
  error: r.error,
});

/** Opens (creating if needed) the read-model database: WAL, so queries from other connections never wait for a batch. */
export function openReadModelDb(file: string, options: { readonly?: boolean } = {}): Db {
  const db = new Database(file, options.readonly === true ? { readonly: true, fileMustExist: true } : {});
  if (options.readonly !== true) {
    db.pragma('journal_mode = WAL');
    // A read model is rebuilt from the log; NORMAL keeps it consistent after a
    // crash (the WAL), at the price of maybe re-applying the last batches.
    db.pragma('synchronous = NORMAL');
    // A batch rewrites pages all over the fact tables: checkpointing every 1,000 pages (the
    // default) put several checkpoints, each with its fsyncs, inside one live batch. The
    // runner's WalCheckpointer checkpoints from another thread; this is only the backstop.
    db.pragma('wal_autocheckpoint = 65536');
  }
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  if (options.readonly !== true) ensureStateTable(db);
  return db;
}

export function ensureStateTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS projection_slots (
    projection       TEXT    NOT NULL,
    role             TEXT    NOT NULL CHECK (role IN ('live', 'shadow')),
    version          INTEGER NOT NULL,
    generation       INTEGER NOT NULL,
    checkpoint       INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    last_recorded_at INTEGER,
    applied_at       INTEGER,
    events_applied   INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    PRIMARY KEY (projection, role)
  ) WITHOUT ROWID`);
}

export class SlotStore {
  private readonly getStmt;
  private readonly listStmt;
  private readonly upsertStmt;
  private readonly checkpointStmt;
  private readonly deleteStmt;
  private readonly maxGenStmt;

  constructor(readonly db: Db) {
    ensureStateTable(db);
    this.getStmt = db.prepare<[string, SlotRole], SlotRow>('SELECT * FROM projection_slots WHERE projection = ? AND role = ?');
    this.listStmt = db.prepare<[], SlotRow>('SELECT * FROM projection_slots ORDER BY projection, role');
    this.upsertStmt = db.prepare(
      `INSERT INTO projection_slots (projection, role, version, generation, checkpoint, status, last_recorded_at, applied_at, events_applied, error)
       VALUES (@projection, @role, @version, @generation, @checkpoint, @status, @lastRecordedAt, @appliedAt, @eventsApplied, @error)
       ON CONFLICT (projection, role) DO UPDATE SET version = excluded.version, generation = excluded.generation,
         checkpoint = excluded.checkpoint, status = excluded.status, last_recorded_at = excluded.last_recorded_at,
         applied_at = excluded.applied_at, events_applied = excluded.events_applied, error = excluded.error`,
    );
    this.checkpointStmt = db.prepare(
      `UPDATE projection_slots SET checkpoint = ?, last_recorded_at = ?, applied_at = ?, events_applied = events_applied + ?
       WHERE projection = ? AND role = ? AND generation = ?`,
    );
    this.deleteStmt = db.prepare('DELETE FROM projection_slots WHERE projection = ? AND role = ?');
    this.maxGenStmt = db.prepare<[string], { g: number | null }>('SELECT MAX(generation) AS g FROM projection_slots WHERE projection = ?');
  }

  get(projection: string, role: SlotRole): SlotState | undefined {
    const row = this.getStmt.get(projection, role);
    return row === undefined ? undefined : toState(row);
  }

  list(): SlotState[] {
    return this.listStmt.all().map(toState);
  }

  put(s: SlotState): void {
    this.upsertStmt.run({
      projection: s.projection,
      role: s.role,
      version: s.version,
      generation: s.generation,
      checkpoint: s.checkpoint,
      status: s.status,
      lastRecordedAt: s.lastRecordedAt,
      appliedAt: s.appliedAt,
      eventsApplied: s.eventsApplied,
      error: s.error,
    });
  }

  /** Moves a slot's checkpoint; run inside the batch's transaction. */
  advance(s: SlotState, checkpoint: number, lastRecordedAt: number | null, appliedAt: number, events: number): void {
    this.checkpointStmt.run(checkpoint, lastRecordedAt, appliedAt, events, s.projection, s.role, s.generation);
    s.checkpoint = checkpoint;
    s.lastRecordedAt = lastRecordedAt;
    s.appliedAt = appliedAt;
    s.eventsApplied += events;
  }

  remove(projection: string, role: SlotRole): void {
    this.deleteStmt.run(projection, role);
  }

  nextGeneration(projection: string): number {
    return (this.maxGenStmt.get(projection)?.g ?? 0) + 1;
  }
}

/** The live generation of a projection, for readers in another connection or process. */
export function liveGeneration(db: Db, projection: string): { generation: number; status: SlotStatus; checkpoint: number } | undefined {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_slots'").get();
  if (exists === undefined) return undefined;
  const row = db
    .prepare<[string], { generation: number; status: SlotStatus; checkpoint: number }>(
      "SELECT generation, status, checkpoint FROM projection_slots WHERE projection = ? AND role = 'live'",
    )
    .get(projection);
  return row;
}
