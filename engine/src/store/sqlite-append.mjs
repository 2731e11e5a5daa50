// The SQLite append path, shared by the store's inline writer and its writer
// thread (sqlite-writer.mjs). Plain JavaScript so a worker thread can load it
// without a TypeScript loader; types in sqlite-append.d.mts.
//
// A batch of appends (possibly to many streams) is one IMMEDIATE transaction,
// hence one fsync; each append runs in its own savepoint (a nested
// better-sqlite3 transaction), so one append's version conflict rolls back
// only that append.

const holds = (expected, actual) =>
  expected === 'any' ? true : expected === 'no_stream' ? actual === 0 : expected === 'stream_exists' ? actual > 0 : actual === expected;

class Conflict extends Error {
  constructor(conflict) {
    super('version conflict');
    this.conflict = conflict;
  }
}

/** @param {import('better-sqlite3').Database} db */
export function createAppender(db) {
  const sql = {
    commit: db.prepare('SELECT result FROM commits WHERE stream = ? AND commit_id = ?').pluck(),
    version: db.prepare('SELECT version FROM streams WHERE stream = ?').pluck(),
    insertEvent: db.prepare(
      `INSERT INTO events (stream, version, type, schema_version, data, metadata, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertStream: db.prepare(
      'INSERT INTO streams (stream, version) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET version = excluded.version',
    ),
    insertCommit: db.prepare('INSERT INTO commits (stream, commit_id, result) VALUES (?, ?, ?)'),
  };
  const appendOne = db.transaction((item) => {
    const { stream, rows, expectedVersion, commitId, recordedAt } = item;
    if (commitId !== undefined) {
      const previous = sql.commit.get(stream, commitId);
      if (previous !== undefined) return { ...JSON.parse(previous), duplicate: true };
    }
    const actual = sql.version.get(stream) ?? 0;
    if (!holds(expectedVersion, actual)) throw new Conflict({ stream, expected: expectedVersion, actual });
    let firstPosition = 0;
    let lastPosition = 0;
    for (let i = 0; i < rows.length; i++) {
      const e = rows[i];
      const info = sql.insertEvent.run(stream, actual + i + 1, e.type, e.schemaVersion, e.data, e.metadata, recordedAt);
      lastPosition = Number(info.lastInsertRowid);
      if (i === 0) firstPosition = lastPosition;
    }
    const result = { nextExpectedVersion: actual + rows.length, firstPosition, lastPosition, duplicate: false };
    sql.upsertStream.run(stream, result.nextExpectedVersion);
    if (commitId !== undefined) sql.insertCommit.run(stream, commitId, JSON.stringify(result));
    return result;
  });
  const appendBatch = db.transaction((batch) =>
    batch.map((item) => {
      try {
        return { result: appendOne(item) };
      } catch (error) {
        if (error instanceof Conflict) return { conflict: error.conflict };
        return { error: { message: String(error && error.message), code: error && error.code } };
      }
    }),
  );
  return (batch) => appendBatch.immediate(batch);
}

export const isBusyError = (error) =>
  typeof error === 'object' && error !== null && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED');
