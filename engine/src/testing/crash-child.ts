/**
 * Child process of the crash test: books a contended workload on a SQLite
 * store as fast as it can and prints `ACK <reservationId>` only after the
 * runtime acknowledged it (i.e. after the group commit is durable). The parent
 * kills it with SIGKILL at a random moment.
 *
 * Usage: node --import tsx crash-child.ts <sqlite-file> <count>
 */
import { siteStream } from '../directory/directory.js';
import { siteCodec } from '../runtime/codecs.js';
import { PartitionActor } from '../runtime/partition.js';
import { siteDecider } from '../site/decider.js';
import { SITE, siteCatalogue } from '../site/fixtures.js';
import { SqliteEventStore } from '../store/sqlite.js';
import { StreamVersionConflictError } from '../store/port.js';
import { contendedBooking } from './workload.js';

const [file, countArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: crash-child.ts <sqlite-file> <count>');
const count = Number(countArg ?? 1000);
const store = await SqliteEventStore.open({ file, synchronous: 'FULL' });
const stream = siteStream(SITE);
try {
  await store.append(stream, siteCatalogue, { expectedVersion: 'no_stream' });
} catch (error) {
  if (!(error instanceof StreamVersionConflictError)) throw error;
}
const actor = await PartitionActor.load(stream, store, siteDecider, siteCodec, { snapshotEvery: 100 });
process.stdout.write('READY\n');
for (let i = 1; i <= count; i += 20) {
  const burst = Array.from({ length: Math.min(20, count - i + 1) }, (_, j) => contendedBooking(i + j, 1, { days: 70, hours: 5 }));
  const outcomes = await Promise.all(burst.map((b) => actor.submit(b)));
  const lines = outcomes
    .map((o, j) => (o.ok ? `ACK ${(burst[j]?.command.data as { reservationId: string }).reservationId}\n` : ''))
    .join('');
  process.stdout.write(lines);
}
await actor.close();
await store.close();
process.stdout.write('DONE\n');
