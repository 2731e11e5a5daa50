import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/tmp.js';
import type { TempDir } from '../testing/tmp.js';
import { waitUntil } from '../testing/wait.js';
import { eventStoreContract } from './contract.js';
import type { AppendResult, RecordedEvent } from './port.js';
import { StreamVersionConflictError } from './port.js';
import { SQLITE_SCHEMA_VERSION, SqliteEventStore } from './sqlite.js';

eventStoreContract('sqlite', async () => {
  const dir = await tempDir('vuoro-sqlite-');
  const file = dir.file('data/events.db');
  const opened = [await SqliteEventStore.open({ file })];
  return {
    store: opened[0]!,
    reopen: async () => {
      await opened[opened.length - 1]!.close();
      const next = await SqliteEventStore.open({ file });
      opened.push(next);
      return next;
    },
    cleanup: async () => {
      for (const s of opened) await s.close();
      await dir.remove();
    },
  };
});

const writerScript = fileURLToPath(new URL('../testing/fixtures/sqlite-writer.ts', import.meta.url));

interface WriterRun {
  acks: AppendResult[];
  conflicts: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/** Starts a writer process (see the fixture) and collects the commits it reports as acknowledged. */
const startWriter = (file: string, stream: string, commits: number, perCommit: number, sync = 'FULL'): WriterRun => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', writerScript, file, stream, String(commits), String(perCommit), sync],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const run: WriterRun = {
    acks: [],
    conflicts: 0,
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    kill: () => child.kill('SIGKILL'),
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message: { ack?: AppendResult; conflicts?: number };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return; // the half-written line of a killed process
    }
    if (message.ack !== undefined) run.acks.push(message.ack);
    if (message.conflicts !== undefined) run.conflicts = message.conflicts;
  });
  return run;
};

describe('SqliteEventStore', () => {
  let dir: TempDir;
  let file: string;
  const stores: SqliteEventStore[] = [];
  const open = async (options: Partial<Parameters<typeof SqliteEventStore.open>[0]> = {}) => {
    const store = await SqliteEventStore.open({ file, ...options });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await tempDir('vuoro-sqlite-');
    file = dir.file('data/events.db');
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await dir.remove();
  });

  describe('schema', () => {
    it('creates the tables and records the schema version in schema_migrations', async () => {
      const store = await open();
      expect(store.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
      await store.close();
      const db = new Database(file, { readonly: true });
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      expect(tables).toEqual(['commits', 'events', 'schema_migrations', 'snapshots', 'streams']);
      expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual([1]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    });

    it('applies migrations once, however often the file is opened', async () => {
      await (await open()).close();
      await (await open()).close();
      const db = new Database(file, { readonly: true });
      expect(db.prepare('SELECT count(*) FROM schema_migrations').pluck().get()).toBe(1);
      db.close();
    });

    it('refuses a file written by a newer schema rather than misreading it', async () => {
      await (await open()).close();
      const db = new Database(file);
      db.prepare("INSERT INTO schema_migrations VALUES (999, 'from the future', '2030-01-01')").run();
      db.close();
      await expect(SqliteEventStore.open({ file })).rejects.toThrow(/schema 999/);
    });

    it('creates the directory of the file', async () => {
      const store = await SqliteEventStore.open({ file: dir.file('a/b/c/events.db') });
      stores.push(store);
      expect(await store.streamVersion('x')).toBe(0);
    });

    it('accepts synchronous NORMAL as an option', async () => {
      const store = await open({ synchronous: 'NORMAL' });
      await store.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream' });
      expect(await store.streamVersion('s')).toBe(1);
    });
  });

  describe('two instances on one file', () => {
    it('check expected versions against each other', async () => {
      const a = await open();
      const b = await open();
      await a.append('site-1', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream' });
      const error = await b.append('site-1', [{ type: 'Y', data: {} }], { expectedVersion: 'no_stream' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamVersionConflictError);
      expect((error as StreamVersionConflictError).actual).toBe(1);
      await b.append('site-1', [{ type: 'Y', data: {} }], { expectedVersion: 1 });
      expect((await a.readStream('site-1')).map((e) => e.type)).toEqual(['X', 'Y']);
    });

    it('share commit ids, so a retry through the other instance is still a duplicate', async () => {
      const a = await open();
      const b = await open();
      const first = await a.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream', commitId: 'c1' });
      expect(await b.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream', commitId: 'c1' })).toEqual({
        ...first,
        duplicate: true,
      });
    });

    it("deliver one instance's appends to the other's subscribers (by polling)", async () => {
      const a = await open({ pollIntervalMs: 20 });
      const b = await open();
      const seen: RecordedEvent[] = [];
      const subscription = a.subscribe({ after: 0, handler: (e) => void seen.push(e) });
      await b.append('s', [{ type: 'FromB', data: {} }], { expectedVersion: 'no_stream' });
      await waitUntil(() => seen.length >= 1);
      expect(seen[0]!.type).toBe('FromB');
      await subscription.close();
    });

    it('report a write lock held longer than busy_timeout as StoreUnavailableError', async () => {
      const store = await open({ busyTimeoutMs: 50 });
      const locker = new Database(file);
      locker.pragma('busy_timeout = 0');
      locker.prepare('BEGIN IMMEDIATE').run();
      try {
        const error = await store.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'any' }).catch((e: unknown) => e);
        expect(error).toMatchObject({ name: 'StoreUnavailableError', code: 'STORE_UNAVAILABLE' });
      } finally {
        locker.prepare('ROLLBACK').run();
        locker.close();
      }
      expect(await store.streamVersion('s')).toBe(0);
    });
  });

  describe('processes', () => {
    it('lets two processes append to one stream with expected versions without losing or doubling a commit', async () => {
      await (await open()).close();
      const runs = [startWriter(file, 'shared', 150, 2), startWriter(file, 'shared', 150, 2)];
      const exits = await Promise.all(runs.map((r) => r.exit));
      expect(exits.map((e) => e.code)).toEqual([0, 0]);
      const store = await open();
      const events = await store.readStream('shared');
      expect(events).toHaveLength(600);
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
      // Each commit's two events stay together and in order.
      for (let i = 0; i < events.length; i += 2) {
        expect(events[i]!.data).toMatchObject({ i: 0 });
        expect(events[i + 1]!.data).toMatchObject({ i: 1, pid: (events[i]!.data as { pid: number }).pid });
      }
      const acked = runs.flatMap((r) => r.acks).map((a) => a.nextExpectedVersion).sort((x, y) => x - y);
      expect(acked).toEqual(Array.from({ length: 300 }, (_, i) => (i + 1) * 2));
    });

    it.each(['FULL', 'NORMAL'])(
      'keeps every acknowledged commit when the writing process is killed (synchronous %s)',
      async (sync) => {
        await (await open()).close();
        const run = startWriter(file, 'crash', 1_000_000, 3, sync);
        await waitUntil(() => run.acks.length >= 200);
        run.kill();
        const exit = await run.exit;
        expect(exit.signal).toBe('SIGKILL');
        const acks = [...run.acks];
        const store = await open();
        const version = await store.streamVersion('crash');
        const last = acks[acks.length - 1]!;
        // Everything acknowledged is there; at most the commit in flight when killed is extra.
        expect(version).toBeGreaterThanOrEqual(last.nextExpectedVersion);
        expect(version - last.nextExpectedVersion).toBeLessThanOrEqual(3);
        const events = await store.readStream('crash');
        expect(events.map((e) => e.version)).toEqual(Array.from({ length: version }, (_, i) => i + 1));
        for (const ack of acks) {
          expect(events[ack.nextExpectedVersion - 1]!.position).toBe(ack.lastPosition);
        }
        // The store still takes writes after the crash.
        await store.append('crash', [{ type: 'After', data: {} }], { expectedVersion: version });
      },
    );
  });
});
