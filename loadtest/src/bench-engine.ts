/**
 * bench:engine — conflict-checked decisions per second on one core.
 *
 * A realistic city: 300 sites, ~3,000 spaces (halls that split into three
 * sections, courts, saunas, rooms), a year of existing bookings (200,000), and
 * a stream of new requests of which ~30% hit a taken or concurrently requested
 * popular evening slot. Each decision runs every rule of the unit (opening
 * hours with DST, start interval, duration, booking window, customer group,
 * max active, the hierarchy-aware conflict index) and applies the events of an
 * accepted booking.
 *
 * Two figures:
 *  - decisionsPerSec: the deciders alone (decide + evolve), in one thread;
 *  - runtime*: the same commands through the engine (routing, partition actors,
 *    group commits) on the memory store, acknowledged.
 */
import { siteDecider, MemoryEventStore } from '@vuoro/engine';
import { measureReservations } from './measure.js';
import { writeResult } from './results.js';
import { VuoroSystem, requestCommand, seedStates } from './vuoro-system.js';
import { generateWorkload } from './workload.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300_000);
const t0 = performance.now();
const workload = generateWorkload({ seed: 42, sites: 300, existingBookings: 200_000, requests: REQUESTS });
console.log(`workload: ${workload.sites.length} sites, ${workload.sites.reduce((n, s) => n + s.spaces.length, 0)} spaces, ${workload.existing.length} existing bookings, ${workload.requests.length} requests (${Math.round(performance.now() - t0)} ms to generate)`);

// --- the deciders alone ------------------------------------------------------
const states = seedStates(workload);
const commands = workload.requests.map(requestCommand);
const NOW = Date.parse('2027-01-01T00:00:00Z');
for (const c of commands) c.meta.now = NOW;
const warm = Math.floor(commands.length * 0.2);
const decideRange = (from: number, to: number) => {
  let accepted = 0;
  const refused = new Map<string, number>();
  for (let i = from; i < to; i++) {
    const cmd = commands[i]!;
    const request = workload.requests[i]!;
    const state = states.get(request.siteId)!;
    const result = siteDecider.decide(cmd, state);
    if (result.ok) {
      accepted++;
      for (const e of result.value) siteDecider.evolve(state, e);
    } else refused.set(result.error.code, (refused.get(result.error.code) ?? 0) + 1);
  }
  return { accepted, refused };
};
decideRange(0, warm);
const t1 = performance.now();
const measured = decideRange(warm, commands.length);
const decideMs = performance.now() - t1;
const decisions = commands.length - warm;
const decisionsPerSec = decisions / (decideMs / 1000);
console.log(`deciders: ${decisions} decisions in ${decideMs.toFixed(0)} ms = ${Math.round(decisionsPerSec)}/s; accepted ${measured.accepted}, refused`, Object.fromEntries(measured.refused));

// --- the runtime on the memory store -----------------------------------------
const system = new VuoroSystem(new MemoryEventStore());
const runtime = await measureReservations(system, workload, { concurrency: 1024, maxDurationMs: 20_000, maxRequests: 150_000 });
const commits = system.commitSizes;
const meanBatch = commits.reduce((a, b) => a + b, 0) / Math.max(1, commits.length);
console.log(`runtime (memory store): ${Math.round(runtime.reservationsPerSec)} acknowledged/s, p50 ${runtime.p50Ms.toFixed(2)} ms, p99 ${runtime.p99Ms.toFixed(2)} ms, mean group commit ${meanBatch.toFixed(1)} commands, errors ${runtime.errors}`);
if (runtime.firstError) console.error('first error:', runtime.firstError);
await system.close();

await writeResult({
  bench: 'engine',
  command: 'npm run bench:engine',
  metrics: {
    decisionsPerSec,
    decisions,
    acceptedShare: measured.accepted / decisions,
    runtimeMemoryReservationsPerSec: runtime.reservationsPerSec,
    runtimeMemoryP50Ms: runtime.p50Ms,
    runtimeMemoryP99Ms: runtime.p99Ms,
    runtimeMeanGroupCommit: meanBatch,
    sites: workload.sites.length,
    existingBookings: workload.existing.length,
  },
  baselines: { target: { decisionsPerSec: 1_000_000 } },
});
