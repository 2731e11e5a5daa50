/**
 * Keeps a read-model database's WAL short from a thread of its own (see
 * checkpointer.mjs). With it, SQLite's automatic checkpoints (which run
 * inside the committing transaction, on the projection's thread) are only a
 * backstop for a checkpointer that fell behind.
 */
import { Worker } from 'node:worker_threads';
import type { Database as Db } from 'better-sqlite3';

export class WalCheckpointer {
  private constructor(private readonly worker: Worker) {}

  /** Starts one for a file-backed database in WAL mode; undefined for anything else (in-memory, rollback journal). */
  static startFor(db: Db, options: { intervalMs?: number; onError?: (message: string) => void } = {}): WalCheckpointer | undefined {
    if (db.memory || db.readonly || String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return undefined;
    const worker = new Worker(new URL('./checkpointer.mjs', import.meta.url), { workerData: { file: db.name, intervalMs: options.intervalMs ?? 250 } });
    worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') options.onError?.(m.message ?? 'checkpoint failed');
    });
    worker.on('error', (error) => options.onError?.(error.message));
    worker.unref();
    return new WalCheckpointer(worker);
  }

  async close(): Promise<void> {
    // Unreferenced while running (it must not keep a process alive); referenced while it closes, or
    // the process could exit before the worker answers.
    this.worker.ref();
    const closed = new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.on('message', (m: { type: string }) => {
        if (m.type === 'closed') void this.worker.terminate();
      });
    });
    this.worker.postMessage({ type: 'close' });
    await closed;
  }
}
