/**
 * The WAL checkpointer copies committed pages into the database file from
 * its own thread, so the projection's commits never run a checkpoint; it
 * starts only where there is a WAL to checkpoint, and closes cleanly.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { WalCheckpointer } from './checkpointer.js';
import { openReadModelDb } from './state.js';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

describe('WAL checkpointer', () => {
  it('moves committed pages from the WAL into the database file while the writer only appends', async () => {
    dir = await tempDir('vuoro-checkpointer-');
    const file = join(dir.path, 'read-models.sqlite');
    const db = openReadModelDb(file);
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const put = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    // About 2,000 pages: far below wal_autocheckpoint, so only the checkpointer can move them.
    db.transaction(() => {
      for (let k = 0; k < 4_000; k++) put.run(k, Buffer.alloc(2_000, k % 251));
    })();
    const before = statSync(file).size;
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(4_000_000);

    const checkpointer = WalCheckpointer.startFor(db, { intervalMs: 20 });
    expect(checkpointer).toBeDefined();
    while (statSync(file).size <= before + 4_000_000) await new Promise((resolve) => setTimeout(resolve, 20));
    await checkpointer?.close();

    // Every row is there, read through a fresh connection (from the database file and what is left of the WAL).
    db.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT COUNT(*) AS n, SUM(length(v)) AS bytes FROM t').get()).toEqual({ n: 4_000, bytes: 8_000_000 });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
  });

  it('starts only for a file in WAL mode', () => {
    const memory = new Database(':memory:');
    expect(WalCheckpointer.startFor(memory)).toBeUndefined();
    memory.close();
  });
});
