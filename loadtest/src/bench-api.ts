/**
 * bench:api — the command API over HTTP on loopback, driven by autocannon
 * (the k6 scripts in loadtest/k6/ describe the same scenarios for machines
 * where k6 runs).
 *
 * The script starts two servers as child processes (gateways/src/bench/server.ts):
 * the real gateway on the SQLite store with FULL sync and a generated city
 * (4 sites x 25 units), and a bare fastify route returning a constant — the
 * framework's floor on this machine, measured in the same run. Then:
 *
 *  - empty route, closed loop            -> baselines.fastifyEmpty.reqPerSec
 *  - bookings, closed loop, every request a new free slot (201s)
 *                                        -> bookingsPerSec (answered booking commands per second)
 *  - bookings at half that rate, open loop -> bookingP99Ms
 *    (our own driver, `runAtRate`: calls start on an even schedule and latency
 *    counts from the scheduled start, so queueing cannot hide; autocannon's
 *    rate option sends each second's quota in a burst, which measures the
 *    closed loop again)
 *  - availability search (a site, a unit type, an evening window), closed loop -> searchPerSec
 *  - search at half that rate, open loop  -> searchP99Ms
 *  - booking spike: everyone asks for the same few popular evening slots (mostly 409s)
 *  - a mixed day of channel traffic (searches, unit availability, bookings, reads)
 *
 * Each phase runs BENCH_SECONDS (default 10). Targets from issue 3: bookings
 * at >= 30 % of the empty route's rate, booking p99 < 20 ms at half load,
 * search p99 < 10 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runAtRate, type RateRunResult } from './latency.js';
import { writeResult, type Metrics } from './results.js';

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  overallRate?: number;
  requests?: AutocannonRequest[];
  headers?: Record<string, string>;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  duration: number;
  non2xx: number;
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Bookings share group commits, so their maximum is reached with more clients in flight than a plain GET needs. */
const BOOKING_CONNECTIONS = Number(process.env.BENCH_BOOKING_CONNECTIONS ?? 64);
const SERVER = fileURLToPath(new URL('../../gateways/src/bench/server.ts', import.meta.url));

interface BenchCity {
  url: string;
  key?: string;
  customerId?: string;
  sites?: { siteId: string; unitIds: string[] }[];
  unitTypes?: string[];
}

async function start(args: string[]): Promise<{ child: ChildProcess; info: BenchCity; stderr: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  let out = '';
  const info = await new Promise<BenchCity>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as BenchCity);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code}): ${stderr.join('')}`)));
  });
  return { child, info, stderr };
}

async function stop(p: { child: ChildProcess }): Promise<void> {
  p.child.kill('SIGTERM');
  await once(p.child, 'exit');
}

const count = (r: AutocannonResult, status: number): number => r.statusCodeStats[String(status)]?.count ?? 0;
const perSec = (n: number, r: AutocannonResult): number => n / r.duration;
const describeRun = (name: string, r: AutocannonResult): string =>
  `${name}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, statuses ${JSON.stringify(Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])))}, errors ${r.errors}, timeouts ${r.timeouts}`;

/** One HTTP call on a keep-alive pool; rejects on an answer outside `ok`. */
const pool = new Agent({ keepAlive: true, maxSockets: 256 });
function call(base: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, ok: number[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: pool }, (res) => {
      res.resume();
      res.on('end', () => (ok.includes(res.statusCode ?? 0) ? resolve(res.statusCode ?? 0) : reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The server's own request-duration histogram for one route (cumulative bucket counts by upper bound). */
async function serverHistogram(base: string, method: string, route: string): Promise<Map<number, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    request(`${base}/metrics`, { agent: pool }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
  const buckets = new Map<number, number>();
  const pattern = /^vuoro_http_request_duration_seconds_bucket\{le="([^"]+)",method="([^"]+)",route="([^"]+)"\} (\d+)$/gm;
  for (const m of text.matchAll(pattern)) {
    if (m[2] === method && m[3] === route) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[4]));
  }
  return buckets;
}

/** The bucket bound (ms) under which `q` of the requests between two scrapes were answered, as the server measured them. */
function serverQuantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  }
  return Infinity;
}

const describeOpen = (name: string, r: RateRunResult): string =>
  `${name}: ${Math.round(r.completedPerSec)}/s of ${r.ratePerSec}/s scheduled, p50 ${r.latency.p50Ms.toFixed(2)} ms, p99 ${r.latency.p99Ms.toFixed(2)} ms, max ${r.latency.maxMs.toFixed(1)} ms, failed ${r.failed}, dropped ${r.dropped}`;

function assertOpenClean(name: string, r: RateRunResult): void {
  if (r.failed > 0 || r.dropped > 0 || r.unfinished > 0) {
    throw new Error(`${name}: ${r.failed} failed, ${r.dropped} dropped, ${r.unfinished} unfinished (${String(r.firstError)})`);
  }
}

function assertClean(name: string, r: AutocannonResult, allowed: number[]): void {
  const unexpected = Object.keys(r.statusCodeStats).filter((s) => !allowed.includes(Number(s)));
  if (unexpected.length > 0 || r.errors > 0) {
    throw new Error(`${name}: unexpected answers ${unexpected.join(', ')} / ${r.errors} errors — the numbers would not mean what they say`);
  }
}

const ISO_DAY = 86_400_000;
const dayString = (offset: number): string => new Date(Date.now() + offset * ISO_DAY).toISOString().slice(0, 10);

// ---------------------------------------------------------------------------

console.log(`bench:api — ${SECONDS} s per phase, ${CONNECTIONS} connections (${BOOKING_CONNECTIONS} for the booking maximum), loopback only`);

const empty = await start(['--empty']);
const emptyRun = await autocannon({ url: empty.info.url, connections: CONNECTIONS, duration: SECONDS });
await stop(empty);
console.log(describeRun('empty fastify route', emptyRun));

const vuoro = await start([]);
const { url, key, customerId, sites = [], unitTypes = [] } = vuoro.info;
const auth = { authorization: `Bearer ${key}`, 'vuoro-customer': customerId ?? '', 'content-type': 'application/json' };
const units = sites.flatMap((s) => s.unitIds);

/** Every booking its own free slot: unit x day (from tomorrow) x hour (06-22 starts). */
let slot = 0;
const nextFreeSlot = (): { unitId: string; start: string; end: string } => {
  const n = slot++;
  const unitId = units[n % units.length] as string;
  const k = Math.floor(n / units.length);
  const hour = 6 + (k % 17);
  const day = dayString(1 + Math.floor(k / 17));
  return { unitId, start: `${day}T${String(hour).padStart(2, '0')}:00`, end: `${day}T${String(hour + 1).padStart(2, '0')}:00` };
};
const booking = (): AutocannonRequest => ({
  method: 'POST',
  path: '/v1/reservations',
  headers: auth,
  setupRequest: (req) => ({ ...req, headers: { ...auth, 'idempotency-key': randomUUID() }, body: JSON.stringify(nextFreeSlot()) }),
});

let searches = 0;
const search = (): AutocannonRequest => ({
  method: 'GET',
  headers: auth,
  setupRequest: (req) => {
    const n = searches++;
    const site = sites[n % sites.length]?.siteId ?? '';
    const type = unitTypes[n % unitTypes.length] ?? 'sports_hall';
    const day = dayString(1 + (n % 28));
    return { ...req, path: `/v1/availability?siteId=${site}&unitType=${type}&from=${day}&to=${day}&durationMinutes=60&fromTime=16:00&toTime=22:00&limitPerUnit=4&maxUnits=10` };
  },
});
const unitAvailability = (): AutocannonRequest => ({
  method: 'GET',
  headers: auth,
  setupRequest: (req) => {
    const n = searches++;
    const day = dayString(1 + (n % 28));
    return { ...req, path: `/v1/units/${units[n % units.length]}/availability?from=${day}&to=${dayString(1 + (n % 28) + 6)}&durationMinutes=60` };
  },
});

try {
  const warm = await autocannon({ url, connections: CONNECTIONS, duration: Math.min(3, SECONDS), requests: [booking(), search()] });
  assertClean('warm-up', warm, [200, 201]);

  const bookRun = await autocannon({ url, connections: BOOKING_CONNECTIONS, duration: SECONDS, requests: [booking()] });
  console.log(describeRun('bookings (closed loop)', bookRun));
  assertClean('bookings', bookRun, [201]);
  const bookingsPerSec = perSec(count(bookRun, 201), bookRun);

  const bookBefore = await serverHistogram(url, 'POST', '/v1/reservations');
  const bookHalf = await runAtRate(Math.max(1, Math.floor(bookingsPerSec / 2)), SECONDS * 1000, () =>
    call(url, 'POST', '/v1/reservations', { ...auth, 'idempotency-key': randomUUID() }, JSON.stringify(nextFreeSlot()), [201]),
  );
  const bookServerP99 = serverQuantileMs(bookBefore, await serverHistogram(url, 'POST', '/v1/reservations'), 0.99);
  console.log(`${describeOpen('bookings at half rate (open loop)', bookHalf)}; server-side p99 <= ${bookServerP99} ms`);
  assertOpenClean('bookings at half rate', bookHalf);

  const searchRun = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, requests: [search()] });
  console.log(describeRun('availability search (closed loop)', searchRun));
  assertClean('search', searchRun, [200]);
  const searchPerSec = perSec(count(searchRun, 200), searchRun);

  const searchPath = (search().setupRequest as (r: AutocannonRequest, c: Record<string, unknown>) => AutocannonRequest);
  const searchBefore = await serverHistogram(url, 'GET', '/v1/availability');
  const searchHalf = await runAtRate(Math.max(1, Math.floor(searchPerSec / 2)), SECONDS * 1000, () =>
    call(url, 'GET', searchPath({}, {}).path as string, auth, undefined, [200]),
  );
  const searchServerP99 = serverQuantileMs(searchBefore, await serverHistogram(url, 'GET', '/v1/availability'), 0.99);
  console.log(`${describeOpen('search at half rate (open loop)', searchHalf)}; server-side p99 <= ${searchServerP99} ms`);
  assertOpenClean('search at half rate', searchHalf);

  // A spike on popular evening slots: 12 slots (3 units x 2 evenings x 2 hours) asked for by everyone at once.
  const hot = [0, 1, 2].flatMap((u) => [20, 21].flatMap((d) => [18, 19].map((h) => ({ unitId: units[u] as string, start: `${dayString(d)}T${h}:00`, end: `${dayString(d)}T${h + 1}:00` }))));
  let spikeN = 0;
  const spikeRun = await autocannon({
    url,
    connections: CONNECTIONS * 4,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/v1/reservations',
        headers: auth,
        setupRequest: (req) => ({ ...req, headers: { ...auth, 'idempotency-key': randomUUID() }, body: JSON.stringify(hot[spikeN++ % hot.length]) }),
      },
    ],
  });
  console.log(describeRun('booking spike on popular evening slots', spikeRun));
  assertClean('spike', spikeRun, [201, 409]);

  // A mixed day of channel traffic: 12 searches, 4 unit calendars, 3 bookings, 1 read per 20 requests.
  const mix: AutocannonRequest[] = [
    ...Array.from({ length: 12 }, search),
    ...Array.from({ length: 4 }, unitAvailability),
    ...Array.from({ length: 3 }, booking),
    { method: 'GET', path: '/v1/reservations?limit=20', headers: auth },
  ];
  const mixedRun = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, requests: mix });
  console.log(describeRun('mixed day', mixedRun));
  assertClean('mixed day', mixedRun, [200, 201]);

  const metrics: Metrics = {
    bookingsPerSec,
    bookingP50Ms: bookHalf.latency.p50Ms,
    bookingP99Ms: bookHalf.latency.p99Ms,
    bookingRateAtHalfLoad: bookHalf.completedPerSec,
    // How late the open-loop driver started its last call: large values mean the machine starved the driver itself.
    bookingDriverLagMs: bookHalf.finalScheduleLagMs,
    bookingClosedLoopP99Ms: bookRun.latency.p99,
    // Upper bound of the server's own histogram bucket holding the p99 (left out if beyond the last bucket).
    ...(Number.isFinite(bookServerP99) ? { bookingServerP99MsBound: bookServerP99 } : {}),
    searchPerSec,
    searchP50Ms: searchHalf.latency.p50Ms,
    searchP99Ms: searchHalf.latency.p99Ms,
    searchDriverLagMs: searchHalf.finalScheduleLagMs,
    searchClosedLoopP99Ms: searchRun.latency.p99,
    ...(Number.isFinite(searchServerP99) ? { searchServerP99MsBound: searchServerP99 } : {}),
    spikeRequestsPerSec: spikeRun.requests.average,
    spikeAccepted: count(spikeRun, 201),
    spikeConflicts: count(spikeRun, 409),
    spikeP99Ms: spikeRun.latency.p99,
    mixedPerSec: mixedRun.requests.average,
    mixedP99Ms: mixedRun.latency.p99,
    bookingsVsEmptyRoute: bookingsPerSec / emptyRun.requests.average,
    connections: CONNECTIONS,
    bookingConnections: BOOKING_CONNECTIONS,
    secondsPerPhase: SECONDS,
  };
  await writeResult({
    bench: 'api',
    command: 'npm run bench:api',
    metrics,
    baselines: { fastifyEmpty: { reqPerSec: emptyRun.requests.average, p99Ms: emptyRun.latency.p99 } },
  });
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    [
      `targets: bookings >= 30% of the empty route: ${(100 * (metrics.bookingsVsEmptyRoute ?? 0)).toFixed(1)}% (${verdict((metrics.bookingsVsEmptyRoute ?? 0) >= 0.3)})`,
      `         booking p99 < 20 ms at half load: ${(metrics.bookingP99Ms ?? 0).toFixed(2)} ms (${verdict((metrics.bookingP99Ms ?? Infinity) < 20)})`,
      `         search p99 < 10 ms at half load: ${(metrics.searchP99Ms ?? 0).toFixed(2)} ms (${verdict((metrics.searchP99Ms ?? Infinity) < 10)})`,
    ].join('\n'),
  );
} finally {
  pool.destroy();
  await stop(vuoro);
  const commits = vuoro.stderr.join('').split('\n').find((l) => l.includes('groupCommit'));
  if (commits !== undefined) console.log(`server: ${commits}`);
}
