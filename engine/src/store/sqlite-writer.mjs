// The SQLite store's writer thread: it owns the write connection, so the
// fsync of a commit (synchronous = FULL) blocks this thread, not the event
// loop that decides commands. While a batch is being made durable, the main
// thread goes on deciding, and everything decided meanwhile becomes the next
// batch: group commits grow with load instead of the loop stalling on disk.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { createAppender, isBusyError } from './sqlite-append.mjs';

const { file, synchronous, busyTimeoutMs } = workerData;
const db = new Database(file);
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronous}`);
const append = createAppender(db);

parentPort.on('message', (message) => {
  if (message.type === 'close') {
    db.close();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  try {
    parentPort.postMessage({ type: 'appended', id: message.id, outcomes: append(message.batch) });
  } catch (error) {
    parentPort.postMessage({
      type: 'appended',
      id: message.id,
      failure: { busy: isBusyError(error), message: String(error && error.message) },
    });
  }
});
parentPort.postMessage({ type: 'ready' });
