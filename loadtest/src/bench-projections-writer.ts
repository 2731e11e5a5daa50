/**
 * The live load of `bench:projections`, in a thread of its own: appends
 * `rate` events per second to the SQLite event store file as the booking
 * side would (one append per stream per 10 ms tick, writers not waiting for
 * each other), and reports when each append returned, so the main thread
 * measures projection lag without sharing its event loop with the writers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteEventStore, type EventToAppend } from '@vuoro/engine';

export interface WriterInput {
  file: string;
  rate: number;
  events: { stream: string; event: EventToAppend }[];
}

export type WriterMessage =
  | { type: 'appended'; first: number; last: number; at: number }
  | { type: 'done'; events: number; seconds: number; ticksLate: number };

async function run(input: WriterInput): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('bench-projections-writer runs as a worker thread');
  const store = await SqliteEventStore.open({ file: input.file, synchronous: 'NORMAL' });
  const tick = 10;
  const perTick = Math.max(1, Math.round((input.rate * tick) / 1000));
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let k = 0;
  let late = 0;
  while (k < input.events.length) {
    const wait = t0 + (k / perTick) * tick - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    else if (wait < -tick) late++;
    const byStream = new Map<string, EventToAppend[]>();
    for (const { stream, event } of input.events.slice(k, k + perTick)) {
      const list = byStream.get(stream);
      if (list === undefined) byStream.set(stream, [event]);
      else list.push(event);
    }
    k = Math.min(k + perTick, input.events.length);
    for (const [stream, events] of byStream) {
      const append: Promise<void> = store.append(stream, events, { expectedVersion: 'any' }).then((res) => {
        port.postMessage({ type: 'appended', first: res.firstPosition, last: res.lastPosition, at: performance.timeOrigin + performance.now() } satisfies WriterMessage);
        inFlight.delete(append);
      });
      inFlight.add(append);
    }
    if (inFlight.size > 5_000) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  port.postMessage({ type: 'done', events: k, seconds, ticksLate: late } satisfies WriterMessage);
}

run(workerData as WriterInput).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
