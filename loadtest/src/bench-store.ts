/**
 * bench:store — end-to-end acknowledged reservations per second and their
 * latency, Vuoro on SQLite and on NATS JetStream, side by side with the same
 * workload written the way an Emmett user would (a command handler per command
 * with expected stream version) on SQLite and on PostgreSQL.
 *
 * The Emmett baselines cut each site's stream by week (`site-week`), their
 * fastest correct layout (a per-site stream loads a year of bookings per
 * command); see loadtest/README.md.
 *
 * Protocol for every system (loadtest/src/measure.ts): seed the year of
 * existing bookings (not timed in the rate), a closed loop to find the maximum
 * rate, then an open loop at half that rate for the p50/p99 acknowledgement
 * latency (no coordinated omission).
 *
 *   npm run bench:store -- [--sites 300] [--existing 200000] [--phase-ms 8000]
 *     [--concurrency 2048] [--baseline-concurrency 8] [--only vuoro-sqlite,emmett-sqlite,...]
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsEventStore, SqliteEventStore } from '@vuoro/engine';
import { createEmmettPostgresSystem, createEmmettSqliteSystem } from './baselines.js';
import { measureLoadProfile, type LoadProfileResult, type ReservationSystem } from './measure.js';
import { formatNumber, writeResult, type Metrics } from './results.js';
import { VuoroSystem } from './vuoro-system.js';
import { generateWorkload } from './workload.js';

const { values: args } = parseArgs({
  options: {
    sites: { type: 'string', default: '300' },
    existing: { type: 'string', default: '200000' },
    requests: { type: 'string', default: '1200000' },
    'phase-ms': { type: 'string', default: '8000' },
    concurrency: { type: 'string', default: '2048' },
    'baseline-concurrency': { type: 'string', default: '8' },
    only: { type: 'string' },
    'nats-url': { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
  },
});
const num = (k: keyof typeof args): number => Number(args[k]);
const phaseMs = num('phase-ms');
const dir = mkdtempSync(join(tmpdir(), 'vuoro-bench-store-'));
const suffix = Math.random().toString(36).slice(2, 8);
const natsOptions = {
  servers: String(args['nats-url']),
  streamName: `BENCH_${suffix}`,
  subjectPrefix: `bench${suffix}`,
  commitsBucket: `BENCH_COMMITS_${suffix}`,
  snapshotsBucket: `BENCH_SNAP_${suffix}`,
};

const systems: { name: string; concurrency: number; create: () => Promise<ReservationSystem>; cleanup?: () => Promise<void> }[] = [
  { name: 'vuoro-sqlite', concurrency: num('concurrency'), create: async () => new VuoroSystem(await SqliteEventStore.open({ file: join(dir, 'vuoro.sqlite'), synchronous: 'FULL' })) },
  {
    name: 'vuoro-nats',
    concurrency: num('concurrency'),
    create: async () => new VuoroSystem(await NatsEventStore.connect(natsOptions)),
    cleanup: async () => {
      const { connect } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const nc = await connect({ servers: natsOptions.servers });
      const jsm = await jetstreamManager(nc);
      for (const name of [natsOptions.streamName, `KV_${natsOptions.commitsBucket}`, `KV_${natsOptions.snapshotsBucket}`]) {
        await jsm.streams.delete(name).catch(() => undefined);
      }
      await nc.close();
    },
  },
  { name: 'emmett-sqlite', concurrency: num('baseline-concurrency'), create: () => createEmmettSqliteSystem({ streams: 'site-week' }) },
  { name: 'emmett-postgres', concurrency: num('baseline-concurrency'), create: () => createEmmettPostgresSystem({ streams: 'site-week' }) },
];
const only = args.only?.split(',');
const selected = systems.filter((s) => only === undefined || only.includes(s.name));

const workload = generateWorkload({ seed: 42, sites: num('sites'), existingBookings: num('existing'), requests: num('requests') });
console.log(`workload: ${workload.stats.sites} sites, ${workload.stats.spaces} spaces, ${workload.stats.existingBookings} existing bookings, ${workload.stats.requests} requests`);

const results = new Map<string, LoadProfileResult>();
for (const s of selected) {
  console.log(`\n${s.name}: seed, ${phaseMs} ms closed loop at concurrency ${s.concurrency}, then ${phaseMs} ms open loop at half the rate`);
  const system = await s.create();
  try {
    const profile = await measureLoadProfile(system, workload, { concurrency: s.concurrency, phaseMs });
    results.set(s.name, profile);
    for (const [phase, r] of [['closed loop', profile.max], ['open loop ', profile.atRate]] as const) {
      console.log(
        `  ${phase}: ${formatNumber(r.reservationsPerSec)} acknowledged/s (${r.accepted} accepted, ${r.conflicts} conflicts, ${r.errors} errors), ` +
          `p50 ${formatNumber(r.p50Ms)} ms, p99 ${formatNumber(r.p99Ms)} ms${r.ratePerSec > 0 ? ` at ${formatNumber(r.ratePerSec)}/s offered` : ''}; seeded in ${formatNumber(r.seedMs)} ms`,
      );
      if (r.firstError !== undefined) console.log('  first error:', r.firstError);
    }
  } finally {
    await system.close();
    await s.cleanup?.();
  }
}
rmSync(dir, { recursive: true, force: true });

const get = (name: string) => results.get(name);
const metrics: Metrics = {};
const sqlite = get('vuoro-sqlite');
if (sqlite) Object.assign(metrics, { sqliteReservationsPerSec: sqlite.max.reservationsPerSec, sqliteP50Ms: sqlite.atRate.p50Ms, sqliteP99Ms: sqlite.atRate.p99Ms, sqliteMaxLoadP99Ms: sqlite.max.p99Ms });
const nats = get('vuoro-nats');
if (nats) Object.assign(metrics, { natsReservationsPerSec: nats.max.reservationsPerSec, natsP50Ms: nats.atRate.p50Ms, natsP99Ms: nats.atRate.p99Ms, natsMaxLoadP99Ms: nats.max.p99Ms });
const baselines: Record<string, Metrics> = {};
const es = get('emmett-sqlite');
if (es) baselines.emmettSqlite = { reservationsPerSec: es.max.reservationsPerSec, p50Ms: es.atRate.p50Ms, p99Ms: es.atRate.p99Ms };
const ep = get('emmett-postgres');
if (ep) baselines.emmettPostgres = { reservationsPerSec: ep.max.reservationsPerSec, p50Ms: ep.atRate.p50Ms, p99Ms: ep.atRate.p99Ms };
baselines.target = { sqliteReservationsPerSec: 100_000, sqliteP99Ms: 5, natsReservationsPerSec: 30_000 };
if (sqlite && es) console.log(`\nVuoro SQLite / Emmett SQLite: ${(sqlite.max.reservationsPerSec / es.max.reservationsPerSec).toFixed(1)}x`);
if (sqlite && ep) console.log(`Vuoro SQLite / Emmett PostgreSQL: ${(sqlite.max.reservationsPerSec / ep.max.reservationsPerSec).toFixed(1)}x`);
if (nats && ep) console.log(`Vuoro JetStream / Emmett PostgreSQL: ${(nats.max.reservationsPerSec / ep.max.reservationsPerSec).toFixed(1)}x`);
await writeResult({ bench: 'store', command: `npm run bench:store${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`, metrics, baselines });
