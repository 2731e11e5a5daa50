/**
 * What a projection is, as the runner sees it: a name, a version, a set of
 * SQLite tables, and a handler that applies events to them.
 *
 * A projection's tables exist once per *generation*: the live one serves
 * queries while a rebuild fills the next one from position 0; the runner then
 * swaps them. A projection never names a physical table itself: it asks its
 * context for `table('reservations')` and gets e.g.
 * `analytics__reservations__g3`.
 */
import type { Database } from 'better-sqlite3';
import type { RecordedEvent } from '@vuoro/engine';

export interface ProjectionContext {
  readonly db: Database;
  readonly projection: string;
  readonly generation: number;
  /** The physical name of one of the projection's tables in this generation. */
  table(name: string): string;
}

export interface ProjectionHandler {
  /**
   * Applies one event. Called inside the batch's transaction, in feed order,
   * only for events after the stored checkpoint; must not read a clock (the
   * event's own times are the only time), so a replay builds the same tables.
   */
  apply(event: RecordedEvent): void;
  /** End of a batch, still inside its transaction, before the checkpoint is written: flush buffered writes. */
  endBatch(): void;
  /** The batch's transaction rolled back: forget anything cached from it. */
  abortBatch(): void;
}

export interface Projection {
  readonly name: string;
  /**
   * Bumped whenever the tables or the meaning of a figure change; a stored read
   * model of another version is built afresh.
   */
  readonly version: number;
  /** Logical table names (dropped with their generation). */
  readonly tables: readonly string[];
  /** Creates the tables of one generation. */
  createTables(ctx: ProjectionContext): void;
  /** Prepares a handler over one generation's tables (loads whatever working state it keeps in memory). */
  open(ctx: ProjectionContext): ProjectionHandler;
}

export const physicalTable = (projection: string, table: string, generation: number): string =>
  `${projection}__${table}__g${generation}`;

export const contextFor = (db: Database, projection: string, generation: number): ProjectionContext => ({
  db,
  projection,
  generation,
  table: (name) => physicalTable(projection, name, generation),
});
