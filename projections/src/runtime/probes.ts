/**
 * Head probes: how many events an event store holds after a position, for
 * the "events behind" lag figure. The port has no such question (a feed
 * reader only needs the next page), so each adapter that can answer it
 * cheaply gets a probe here.
 */
import Database from 'better-sqlite3';

/** Counts events after a position in the SQLite event store file (positions are rowids: a range count). */
export function sqliteHeadProbe(file: string): { probe: (after: number) => Promise<number>; close: () => void } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 2000');
  const count = db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM events WHERE position > ?');
  return {
    probe: async (after) => count.get(after)?.n ?? 0,
    close: () => db.close(),
  };
}
