/**
 * bench:cluster — Vuoro on a 3-node NATS JetStream cluster (R3 stream and
 * buckets) with 1, 2 and 3 Vuoro nodes, each a process of its own, against
 * the single-node SQLite default on the same workload in the same run.
 *
 * Each Vuoro node process runs the engine in cluster mode and drives its
 * share of the booking requests through its own `engine.execute` (no HTTP:
 * bench:api measures that layer), for every site, so a request for a site
 * another node owns is forwarded to it, as in production.
 *
 * - nodes{1,2,3}PerSec: acknowledged reservations per second (confirmed or
 *   refused because the slot is taken, each durable) in a closed loop.
 * - p99Ms: acknowledgement latency at half the 3-node rate (open loop).
 * - failoverSeconds: a node is SIGKILLed; from then until the last of its
 *   partitions answers a command again (through a surviving node).
 * - cpuMsPerReservation*: CPU time per acknowledged reservation in the Vuoro
 *   processes and in the NATS servers, the inputs of loadtest/SCALING.md.
 *
 *   npm run bench:cluster -- [--sites 60] [--existing 30000] [--phase-ms 8000]
 *     [--concurrency 256] [--lease-ttl-ms 5000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NatsEventStore, openClusterEngine, SqliteEventStore, siteStream, type ClusterEngine } from '@vuoro/engine';
import { startNatsCluster, type NatsCluster } from '@vuoro/engine/testing/nats-cluster.js';
import { runAtRate, runClosedLoop, type LoadRunResult } from './latency.js';
import { measureLoadProfile } from './measure.js';
import { formatNumber, writeResult, type Metrics } from './results.js';
import { requestCommand, seedEvents, VuoroSystem } from './vuoro-system.js';
import { generateWorkload, type BookingRequest } from './workload.js';

const { values: args } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    sites: { type: 'string', default: '60' },
    existing: { type: 'string', default: '30000' },
    requests: { type: 'string', default: '450000' },
    'phase-ms': { type: 'string', default: '8000' },
    concurrency: { type: 'string', default: '256' },
    'lease-ttl-ms': { type: 'string', default: '5000' },
  },
});
const num = (k: keyof typeof args): number => Number(args[k]);
const CLOCK = () => Date.parse('2027-01-01T00:00:00Z');
const workloadOptions = { seed: 42, sites: num('sites'), existingBookings: num('existing'), requests: num('requests') };

// --- a Vuoro node (child process) -------------------------------------------

type ChildCommand =
  | { type: 'closed'; from: number; count: number; concurrency: number; ms: number }
  | { type: 'rate'; from: number; perSec: number; ms: number }
  | { type: 'probe'; sites: string[] }
  | { type: 'status' };

interface RunReport {
  acked: number;
  failed: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  cpuMs: number;
  firstError?: string;
}

async function child(): Promise<void> {
  const nodeId = process.env.BENCH_NODE_ID as string;
  const workload = generateWorkload(workloadOptions);
  const cluster: ClusterEngine = await openClusterEngine({
    servers: process.env.BENCH_NATS_URL as string,
    nodeId,
    leaseTtlMs: num('lease-ttl-ms'),
    engine: { clock: CLOCK, forwardTimeoutMs: 60_000 },
  });
  const reserve = async (r: BookingRequest): Promise<void> => {
    const outcome = await cluster.engine.execute(requestCommand(r), { idempotencyKey: r.requestId });
    if (!outcome.ok && outcome.error.code !== 'SLOT_CONFLICT') throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
  };
  const report = (r: LoadRunResult, cpu: NodeJS.CpuUsage): RunReport => ({
    acked: r.completed,
    failed: r.failed,
    elapsedMs: r.elapsedMs,
    p50Ms: r.latency.p50Ms,
    p99Ms: r.latency.p99Ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(r.firstError === undefined ? {} : { firstError: String(r.firstError) }),
  });
  process.on('message', (message: ChildCommand) => {
    void (async () => {
      const cpu = process.cpuUsage();
      if (message.type === 'closed') {
        const r = await runClosedLoop({ concurrency: message.concurrency, count: message.count, maxDurationMs: message.ms }, (i) =>
          reserve(workload.requests[message.from + i] as BookingRequest),
        );
        process.send?.({ type: 'ran', report: report(r, process.cpuUsage(cpu)) });
      } else if (message.type === 'rate') {
        const r = await runAtRate(message.perSec, message.ms, (i) => reserve(workload.requests[message.from + i] as BookingRequest));
        process.send?.({ type: 'ran', report: report(r, process.cpuUsage(cpu)) });
      } else if (message.type === 'probe') {
        // One booking per site of the dead node, all sent at once: the engine retries each until a new owner answers.
        const t0 = performance.now();
        const unused = workload.requests.slice(-20_000);
        const seconds = await Promise.all(
          message.sites.map(async (siteId) => {
            const r = unused.find((q) => q.siteId === siteId);
            if (r !== undefined) await reserve({ ...r, requestId: `${r.requestId}-probe` });
            return (performance.now() - t0) / 1000;
          }),
        );
        process.send?.({ type: 'probed', seconds: Math.max(0, ...seconds) });
      } else {
        process.send?.({ type: 'status', status: cluster.node.status() });
      }
    })();
  });
  process.send?.({ type: 'up' });
}

if (args.child) {
  await child();
} else {
  await main();
}

// --- the coordinator ----------------------------------------------------------

interface NodeProcess {
  nodeId: string;
  proc: ChildProcess;
  ask<T>(command: ChildCommand, reply: string): Promise<T>;
}

function startNode(nodeId: string, natsUrl: string): Promise<NodeProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_NODE_ID: nodeId, BENCH_NATS_URL: natsUrl },
  });
  const node: NodeProcess = {
    nodeId,
    proc,
    ask: (command, reply) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`node ${nodeId} exited (${code})`));
        const onMessage = (m: { type: string }) => {
          if (m.type !== reply) return;
          proc.off('message', onMessage);
          proc.off('exit', onExit);
          resolve(m as never);
        };
        proc.on('message', onMessage);
        proc.once('exit', onExit);
        proc.send(command);
      }),
  };
  return new Promise((resolve, reject) => {
    proc.once('message', () => resolve(node));
    proc.once('exit', (code) => reject(new Error(`node ${nodeId} did not start (${code})`)));
  });
}

/** CPU time (ms) a process has used so far, from /proc (Linux). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return 0;
  }
}

async function waitBalanced(nodes: NodeProcess[], partitions: number): Promise<void> {
  for (;;) {
    const statuses = await Promise.all(nodes.map((n) => n.ask<{ status: { owned: string[]; liveNodes: string[] } }>({ type: 'status' }, 'status')));
    const owned = statuses.flatMap((s) => s.status.owned);
    if (owned.length === partitions && new Set(owned).size === partitions && statuses.every((s) => s.status.owned.length > 0 && s.status.liveNodes.length === nodes.length)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const phaseMs = num('phase-ms');
  const concurrency = num('concurrency');
  const workload = generateWorkload(workloadOptions);
  console.log(`workload: ${workload.stats.sites} sites, ${workload.stats.existingBookings} existing bookings, ${workload.stats.requests} requests`);
  const metrics: Metrics = {};
  const baselines: Record<string, Metrics> = {};

  // Baseline: the single-node default (SQLite, in process), same workload and protocol.
  const dir = mkdtempSync(join(tmpdir(), 'vuoro-bench-cluster-'));
  {
    console.log(`\nsqlite single node: ${phaseMs} ms closed loop at concurrency ${concurrency}, then half the rate`);
    const system = new VuoroSystem(await SqliteEventStore.open({ file: join(dir, 'vuoro.sqlite'), synchronous: 'FULL' }));
    try {
      const profile = await measureLoadProfile(system, workload, { concurrency, phaseMs });
      baselines.sqliteSingleNode = { reservationsPerSec: profile.max.reservationsPerSec, p99Ms: profile.atRate.p99Ms };
      console.log(`  ${formatNumber(profile.max.reservationsPerSec)} acknowledged/s; p99 ${formatNumber(profile.atRate.p99Ms)} ms at half rate`);
    } finally {
      await system.close();
    }
  }

  let cluster: NatsCluster | undefined;
  const nodes: NodeProcess[] = [];
  try {
    cluster = await startNatsCluster();
    const natsUrl = (i: number) => [cluster!.urls[i % 3], ...cluster!.urls.filter((_, j) => j !== i % 3)].join(',');
    // Seed the catalogue and the existing bookings straight into the replicated stream (not timed).
    const seeder = await NatsEventStore.connect({ servers: cluster.urls, replicas: 3, retryForMs: 10_000 });
    const t0 = performance.now();
    await seeder.append('directory', workload.sites.map((s) => ({ type: 'SiteRegistered', data: { site: { siteId: s.id, name: s.id } } })), { expectedVersion: 'no_stream' });
    for (const [siteId, events] of seedEvents({ sites: workload.sites, existing: workload.existing })) {
      for (let i = 0; i < events.length; i += 2000) await seeder.append(siteStream(siteId), events.slice(i, i + 2000), { expectedVersion: i });
    }
    await seeder.close();
    console.log(`\nseeded the R3 stream in ${formatNumber(performance.now() - t0)} ms`);
    const partitions = workload.sites.length + 1;
    let from = 0;

    for (const n of [1, 2, 3]) {
      nodes.push(await startNode(`bench-${n}`, natsUrl(n - 1)));
      await waitBalanced(nodes, partitions);
      const natsCpu0 = cluster.servers.map((s) => cpuMsOf(s.pid));
      // 100,000 requests per phase (more than a phase sends here), split between the nodes.
      const per = Math.floor(100_000 / n);
      const reports = await Promise.all(
        nodes.map((node, i) =>
          node.ask<{ report: RunReport }>({ type: 'closed', from: from + i * per, count: per, concurrency: Math.ceil(concurrency / n), ms: phaseMs }, 'ran'),
        ),
      );
      from += 100_000;
      const natsCpu = cluster.servers.reduce((sum, s, i) => sum + cpuMsOf(s.pid) - (natsCpu0[i] ?? 0), 0);
      const acked = reports.reduce((s, r) => s + r.report.acked, 0);
      const seconds = Math.max(...reports.map((r) => r.report.elapsedMs)) / 1000;
      const vuoroCpu = reports.reduce((s, r) => s + r.report.cpuMs, 0);
      metrics[`nodes${n}PerSec`] = acked / seconds;
      metrics[`cpuMsPerReservationVuoro${n}`] = vuoroCpu / Math.max(1, acked);
      metrics[`cpuMsPerReservationNats${n}`] = natsCpu / Math.max(1, acked);
      const failed = reports.reduce((s, r) => s + r.report.failed, 0);
      console.log(
        `${n} node(s): ${formatNumber(acked / seconds)} acknowledged/s (${acked} in ${seconds.toFixed(1)} s, ${failed} failed), ` +
          `CPU per reservation: Vuoro ${(vuoroCpu / Math.max(1, acked)).toFixed(3)} ms, NATS ${(natsCpu / Math.max(1, acked)).toFixed(3)} ms`,
      );
      const firstError = reports.find((r) => r.report.firstError !== undefined)?.report.firstError;
      if (firstError !== undefined) console.log('  first error:', firstError);
    }
    metrics.reservationsPerSec = metrics.nodes3PerSec ?? 0;

    // Latency at half the 3-node rate, open loop.
    const rate = (metrics.nodes3PerSec ?? 0) / 2 / nodes.length;
    const open = await Promise.all(nodes.map((node, i) => node.ask<{ report: RunReport }>({ type: 'rate', from: from + i * 30_000, perSec: rate, ms: phaseMs }, 'ran')));
    from += 90_000;
    metrics.p99Ms = Math.max(...open.map((r) => r.report.p99Ms));
    metrics.p50Ms = Math.max(...open.map((r) => r.report.p50Ms));
    console.log(`open loop at ${formatNumber(rate * nodes.length)}/s: p50 ${formatNumber(metrics.p50Ms)} ms, p99 ${formatNumber(metrics.p99Ms)} ms`);

    // Failover: kill the third node, then one booking per site it owned, through the first node.
    const victim = nodes[2] as NodeProcess;
    const { status } = await victim.ask<{ status: { owned: string[] } }>({ type: 'status' }, 'status');
    const sites = status.owned.filter((p) => p.startsWith('site-')).map((p) => p.slice('site-'.length));
    victim.proc.kill('SIGKILL');
    const probe = await (nodes[0] as NodeProcess).ask<{ seconds: number }>({ type: 'probe', sites }, 'probed');
    nodes.splice(2, 1);
    metrics.failoverSeconds = probe.seconds;
    metrics.leaseTtlSeconds = num('lease-ttl-ms') / 1000;
    console.log(`failover: ${sites.length} partitions of the killed node serve again after ${probe.seconds.toFixed(2)} s (lease TTL ${metrics.leaseTtlSeconds} s)`);
    metrics.partitions = partitions;
  } finally {
    for (const n of nodes) n.proc.kill('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  await writeResult({
    bench: 'cluster',
    command: `npm run bench:cluster${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    metrics,
    baselines,
  });
}
