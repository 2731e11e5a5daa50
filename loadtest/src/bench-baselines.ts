// bench:baselines — the two Emmett baselines on one workload, in one run:
// for each, seed the year of existing bookings (timed as seedMs), find the
// maximum acknowledged reservations/s with a closed loop at --concurrency, then
// measure latency with an open loop at half that rate. Writes
// loadtest/results/baselines.json.
//
//   npm run bench:baselines -w @vuoro/loadtest -- [--sites 300] [--existing 200000]
//     [--requests 20000] [--seed 42] [--concurrency 8] [--phase-ms 12000] [--only sqlite|postgres]
//     [--streams site|site-week]
//
// --streams site (the default) keeps a site's whole year in one stream, so each
// command loads about 700 events; site-week cuts the same boundary by week
// (a stronger Emmett design, at the cost of a much longer seed).

import { parseArgs } from 'node:util';
import { createEmmettPostgresSystem, createEmmettSqliteSystem } from './baselines.js';
import { measureLoadProfile, type LoadProfileResult, type ReservationSystem } from './measure.js';
import { formatNumber, writeResult, type Metrics } from './results.js';
import { generateWorkload, WORKLOAD_DEFAULTS, type Workload } from './workload.js';

const { values: args } = parseArgs({
  options: {
    sites: { type: 'string', default: String(WORKLOAD_DEFAULTS.sites) },
    existing: { type: 'string', default: String(WORKLOAD_DEFAULTS.existingBookings) },
    requests: { type: 'string', default: String(WORKLOAD_DEFAULTS.requests) },
    seed: { type: 'string', default: '42' },
    concurrency: { type: 'string', default: '8' },
    'phase-ms': { type: 'string', default: '12000' },
    only: { type: 'string' },
    streams: { type: 'string', default: 'site' },
  },
});

const int = (name: keyof typeof args): number => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`--${name} must be a non-negative integer`);
  return value;
};

const options = {
  seed: int('seed'),
  sites: int('sites'),
  existingBookings: int('existing'),
  requests: int('requests'),
};
const concurrency = int('concurrency');
const streams = args.streams;
if (streams !== 'site' && streams !== 'site-week') throw new RangeError('--streams must be site or site-week');
const phaseMs = int('phase-ms');

const candidates: { name: string; key: string; create: () => Promise<ReservationSystem> }[] = [
  { name: 'emmett-sqlite', key: 'sqlite', create: () => createEmmettSqliteSystem({ streams }) },
  { name: 'emmett-postgres', key: 'postgres', create: () => createEmmettPostgresSystem({ streams }) },
];
const selected = candidates.filter((c) => args.only === undefined || c.key === args.only || c.name === args.only);
if (selected.length === 0) throw new RangeError(`--only must be one of ${candidates.map((c) => c.key).join(', ')}`);

const t0 = performance.now();
const workload: Workload = generateWorkload(options);
const s = workload.stats;
console.log(
  `workload seed ${options.seed}: ${s.sites} sites, ${s.spaces} spaces, ${s.existingBookings} existing bookings ` +
    `(${pct(s.existingWeekdayEvening, s.existingBookings)} weekday evenings), ${s.requests} requests ` +
    `(${pct(s.requestsTaken + s.requestsConcurrent, s.requests)} contended) in ${formatNumber(performance.now() - t0)} ms`,
);

const baselines: Record<string, Metrics> = {};
for (const candidate of selected) {
  console.log(`\n${candidate.name} (${streams} streams): seeding, then ${phaseMs} ms closed loop at concurrency ${concurrency}, then ${phaseMs} ms open loop at half that rate`);
  const system = await candidate.create();
  let profile: LoadProfileResult;
  try {
    profile = await measureLoadProfile(system, workload, { concurrency, phaseMs });
  } finally {
    await system.close();
  }
  const { max, atRate } = profile;
  for (const [phase, r] of [['closed loop', max], ['open loop ', atRate]] as const) {
    console.log(
      `  ${phase}: ${formatNumber(r.reservationsPerSec)} reservations/s (${r.accepted} accepted, ${r.conflicts} conflicts, ` +
        `${r.errors} errors), p50 ${formatNumber(r.p50Ms)} ms, p99 ${formatNumber(r.p99Ms)} ms` +
        (r.ratePerSec > 0 ? ` at ${formatNumber(r.ratePerSec)}/s offered` : ''),
    );
    if (r.firstError !== undefined) console.log('  first error:', r.firstError);
  }
  baselines[candidate.name] = {
    reservationsPerSec: max.reservationsPerSec,
    acceptedPerSec: max.acceptedPerSec,
    p50Ms: max.p50Ms,
    p90Ms: max.p90Ms,
    p99Ms: max.p99Ms,
    maxMs: max.maxMs,
    accepted: max.accepted,
    conflicts: max.conflicts,
    errors: max.errors,
    'halfRate.ratePerSec': atRate.ratePerSec,
    'halfRate.reservationsPerSec': atRate.reservationsPerSec,
    'halfRate.p50Ms': atRate.p50Ms,
    'halfRate.p90Ms': atRate.p90Ms,
    'halfRate.p99Ms': atRate.p99Ms,
    'halfRate.errors': atRate.errors,
    seedMs: max.seedMs,
  };
}

const command = ['npm run bench:baselines -w @vuoro/loadtest --', ...process.argv.slice(2)].join(' ').replace(/ --$/, '');
console.log('');
await writeResult({
  // A partial or variant run gets its own file, so it never overwrites the full one.
  bench: ['baselines', ...(streams === 'site' ? [] : [streams]), ...(args.only === undefined ? [] : [args.only])].join('-'),
  command,
  metrics: {
    'workload.seed': options.seed,
    'workload.sites': s.sites,
    'workload.spaces': s.spaces,
    'workload.existingBookings': s.existingBookings,
    'workload.requests': s.requests,
    'workload.contendedShare': (s.requestsTaken + s.requestsConcurrent) / Math.max(1, s.requests),
    'run.concurrency': concurrency,
    'run.phaseMs': phaseMs,
    'run.weeklyStreams': streams === 'site-week' ? 1 : 0,
  },
  baselines,
});
console.log(`total ${formatNumber((performance.now() - t0) / 1000)} s`);

function pct(part: number, whole: number): string {
  return `${Math.round((100 * part) / Math.max(1, whole))}%`;
}
