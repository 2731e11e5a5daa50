// The read-model database's WAL checkpointer, in a thread of its own: it
// copies committed pages from the WAL back into the database file (and
// fsyncs) on its own connection, so the projection thread's commits only
// append to the WAL and never stall on a checkpoint. PASSIVE: it never waits
// for readers or the writer; what it cannot copy now it copies next time.
import { clearInterval, setInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs } = workerData;
const db = new Database(file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');

const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message) });
  }
}, intervalMs);

parentPort.on('message', (message) => {
  if (message.type !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.postMessage({ type: 'closed' });
});
