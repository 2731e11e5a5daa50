/**
 * bench:access — access control over MQTT with 10,000 connected locks, on
 * loopback.
 *
 * Two processes (the machine has two cores):
 *  - the gateway (this file with the argument `gateway`): the booking engine
 *    on SQLite, access control and the MQTT gateway on the embedded aedes
 *    broker; a generated city of BENCH_DOORS rooms (100 per site), one door
 *    per room, one lock per door, and one confirmed booking per room. The
 *    credentials come the real way: reservation events -> credential sync ->
 *    the mailer port, which here writes the codes to a file for the simulator.
 *  - the simulator (this process): BENCH_DOORS `SimLock`s (mqtt.js, device
 *    credentials, last will, subscriptions to their command, allow-list and
 *    answer topics), connected in batches; each checks its signed allow-list.
 *
 * Phases (each BENCH_SECONDS long):
 *  1. auth, closed loop (BENCH_CONCURRENCY, default 128, requests in flight, random locks,
 *     99 % valid codes)                               -> metrics.authPerSec
 *  2. auth, open loop at half that rate              -> metrics.authP50Ms / authP99Ms
 *  3. echo through the same broker and connections (a server-side subscriber
 *     republishes each message to the sender's reply topic), closed loop and
 *     then at the same rate as phase 2               -> baselines.brokerEcho
 *
 * Writes loadtest/results/access.json. Targets (issue 5): 10,000 doors, 5,000
 * decisions per second, p99 under 20 ms, within 2x of the echo floor.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { TopicTree, type PublicJwk } from '@vuoro/access-control';
import { createRng } from './prng.js';
import { runAtRate, runClosedLoop } from './latency.js';
import { writeResult } from './results.js';
import { SimLock, connectInBatches } from './device-simulator.js';

const DOORS = Number(process.env.BENCH_DOORS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 128);
const ROOMS_PER_SITE = 100;
const ECHO_PREFIX = 'bench/echo';

interface LockSpec {
  deviceId: string;
  secret: string;
  siteId: string;
  doorId: string;
  pin: string;
}

interface Ready {
  url: string;
  trustedKeys: PublicJwk[];
  locksFile: string;
  setupSeconds: number;
}

// --------------------------------------------------------------------------------------------
// Optional CPU profiles of the measured phases only (BENCH_PROFILE_DIR): setup would drown them.

const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
let session: Session | undefined;
async function profileStart(): Promise<void> {
  if (PROFILE_DIR === undefined) return;
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
async function profileStop(name: string): Promise<void> {
  if (session === undefined || PROFILE_DIR === undefined) return;
  const { profile } = await session.post('Profiler.stop');
  await writeFile(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
  session = undefined;
}

// --------------------------------------------------------------------------------------------
// The gateway process.

async function gatewayRole(): Promise<void> {
  const [{ Engine, loadCatalogue, openStore, catalogueFileSchema }, { startMqttGateway }, { silentLogger }] = await Promise.all([
    import('@vuoro/engine'),
    import('@vuoro/gateways/mqtt/index.js'),
    import('@vuoro/access-control'),
  ]);
  const dir = process.env.BENCH_DIR as string;
  const t0 = performance.now();
  const store = await openStore(
    process.env.BENCH_STORE === 'memory' ? { kind: 'memory' } : { kind: 'sqlite', file: join(dir, 'vuoro.sqlite'), synchronous: process.env.BENCH_SQLITE_SYNC === 'FULL' ? 'FULL' : 'NORMAL' },
  );
  const engine = await Engine.open({ store });
  const sites = Math.ceil(DOORS / ROOMS_PER_SITE);
  const allDay = [{ from: '00:00', to: '24:00' }];
  const rules = {
    openingHours: { weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay }, holidays: 'open' },
    startIntervalMinutes: 15,
    minDurationMinutes: 15,
    maxDurationMinutes: 600,
    bookingWindow: { minDaysAhead: 0, maxDaysAhead: 30 },
    cancellationDeadlineHours: 0,
    accessType: 'access_code',
  };
  const rooms: { siteId: string; spaceId: string; unitId: string }[] = [];
  const catalogue = catalogueFileSchema.parse({
    customerGroups: [{ customerGroupId: 'grp_bench', name: 'Bench', freeOfCharge: true }],
    customers: [{ customerId: 'cus_bench', name: 'Bench club', customerGroupId: 'grp_bench' }],
    sites: Array.from({ length: sites }, (_, s) => {
      const siteId = `sit_b${s}`;
      const count = Math.min(ROOMS_PER_SITE, DOORS - s * ROOMS_PER_SITE);
      const spaces = [{ spaceId: `spc_b${s}`, name: `Building ${s}` }];
      const units = [];
      for (let r = 0; r < count; r++) {
        const room = { siteId, spaceId: `spc_b${s}_r${r}`, unitId: `unt_b${s}_r${r}` };
        rooms.push(room);
        spaces.push({ spaceId: room.spaceId, parentId: `spc_b${s}`, name: `Room ${r}` } as { spaceId: string; name: string });
        units.push({ unitId: room.unitId, name: `Room ${r}`, unitType: 'meeting_room', spaceIds: [room.spaceId], rules });
      }
      return { siteId, name: `Site ${s}`, spaces, units };
    }),
  });
  await loadCatalogue(engine, catalogue);
  const codes = new Map<string, string>();
  const mqtt = await startMqttGateway({
    store,
    log: { ...silentLogger, error: (obj: object, msg?: string) => console.error(msg, obj) },
    env: {},
    config: { MQTT_MODE: 'embedded', MQTT_HOST: '127.0.0.1', MQTT_PORT: 0, DATA_DIR: dir },
    // A light KDF so that issuing 10,000 credentials takes seconds (it costs nothing per decision).
    access: { kdf: { alg: 'pbkdf2-sha256', iterations: 1000 }, tickMs: 0 },
    wrapHooks: (hooks) => ({
      ...hooks,
      authorizePublish: (client, packet, cb) =>
        client !== null && packet.topic === `${ECHO_PREFIX}/${client.id}/req` && !packet.retain ? cb(null) : hooks.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => (sub.topic === `${ECHO_PREFIX}/${client.id}/res` ? cb(null, sub) : hooks.authorizeSubscribe(client, sub, cb)),
    }),
  });
  const { access } = mqtt;
  access.useMailer({
    send: async (m) => {
      codes.set(m.reservationIds[0] ?? '', m.code);
      return { delivered: true, messageId: `bench_${m.credentialId}` };
    },
  });
  // The echo floor: a server-side subscriber that sends every message straight back.
  const aedes = mqtt.broker?.aedes;
  if (aedes === undefined) throw new Error('the bench needs the embedded broker');
  await new Promise<void>((resolve) =>
    aedes.subscribe(
      `${ECHO_PREFIX}/+/req`,
      (packet, cb) => {
        aedes.publish({ cmd: 'publish', topic: `${packet.topic.slice(0, -3)}res`, payload: packet.payload, qos: 0, retain: false, dup: false }, () => undefined);
        cb();
      },
      resolve,
    ),
  );

  const chunk = async <T, R>(items: readonly T[], size: number, f: (x: T) => Promise<R>): Promise<R[]> => {
    const out: R[] = [];
    for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
    return out;
  };
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };
  await chunk(rooms, 500, async (room) => must(await access.registerDoor(room.siteId, { doorId: `door_${room.spaceId.slice(4)}`, spaceId: room.spaceId, name: `Door of ${room.spaceId}` }, 'system:bench')));
  const devices = await chunk(rooms, 500, async (room) => {
    const doorId = `door_${room.spaceId.slice(4)}`;
    const p = must(await access.provisionDevice(room.siteId, { kind: 'lock', doorId, name: `Lock ${doorId}`, deviceId: `dev_${room.spaceId.slice(4)}` }, 'system:bench'));
    return { deviceId: p.device.deviceId, secret: p.secret, siteId: room.siteId, doorId };
  });
  // The next quarter hour: the code is valid from 15 minutes before it, so it is valid now.
  const start = Math.ceil(Date.now() / 900_000) * 900_000;
  await chunk(rooms, 500, async (room) => {
    const outcome = await engine.execute({
      type: 'RequestReservation',
      data: {
        reservationId: `res_${room.spaceId.slice(4)}`,
        unitId: room.unitId,
        customer: { customerId: 'cus_bench', customerGroupId: 'grp_bench', freeOfCharge: true },
        start,
        end: start + 3 * 3_600_000,
        kind: 'behalf',
        confirm: true,
      },
      meta: { actor: { kind: 'staff', staffId: 'stf_bench' } },
    });
    if (!outcome.ok) throw new Error(outcome.error.message);
  });
  const last = (await store.readAll({ after: 0, limit: 1_000_000 })).at(-1)?.position ?? 0;
  await access.sync?.caughtUp(last);
  await access.settled();
  const specs: LockSpec[] = devices.map((d) => ({ ...d, pin: codes.get(`res_${d.doorId.slice(5)}`) ?? '' }));
  if (specs.some((s) => s.pin === '')) throw new Error('some rooms got no code');
  const locksFile = join(dir, 'locks.json');
  await writeFile(locksFile, JSON.stringify(specs));
  const ready: Ready = { url: mqtt.urls[0] as string, trustedKeys: mqtt.trustedKeys, locksFile, setupSeconds: (performance.now() - t0) / 1000 };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);

  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'reset') loop.reset();
    else if (line === 'profile-start') await profileStart();
    else if (line === 'profile-stop') await profileStop('gateway');
    else if (line === 'stats') {
      await access.eventLog.drain();
      const cpu = process.cpuUsage();
      process.stdout.write(
        `STATS ${JSON.stringify({
          decided: access.authorizer.stats.decided,
          granted: access.authorizer.stats.granted,
          logAppended: access.eventLog.stats.appended,
          logBatches: access.eventLog.stats.batches,
          logDropped: access.eventLog.stats.dropped,
          allowListsPublished: access.allowLists.stats.published,
          connected: aedes.connectedClients,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          rssMb: process.memoryUsage().rss / 1e6,
          loopDelayP99Ms: loop.percentile(99) / 1e6,
          loopDelayMaxMs: loop.max / 1e6,
        })}\n`,
      );
    } else if (line === 'stop') break;
  }
  await mqtt.close();
  await engine.close();
  await store.close();
  process.exit(0);
}

// --------------------------------------------------------------------------------------------
// The simulator and driver.

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('bench:access took more than 15 minutes; giving up');
    process.exit(2);
  }, 15 * 60_000);
  deadline.unref();
  const dir = await mkdtemp(join(tmpdir(), 'vuoro-bench-access-'));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'gateway'], {
    env: { ...process.env, BENCH_DIR: dir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map<string, (payload: string) => void>();
  lines.on('line', (line) => {
    const [tag, ...rest] = line.split(' ');
    const resolve = tag === undefined ? undefined : waiting.get(tag);
    if (resolve !== undefined) {
      waiting.delete(tag as string);
      resolve(rest.join(' '));
    } else console.log(`[gateway] ${line}`);
  });
  const next = (tag: string): Promise<string> => new Promise((resolve) => waiting.set(tag, resolve));
  const exited = once(child, 'exit');

  try {
    console.log(`bench:access: setting up ${DOORS} doors, locks and bookings in the gateway process...`);
    const ready = JSON.parse(await next('READY')) as Ready;
    console.log(`gateway ready in ${ready.setupSeconds.toFixed(1)} s at ${ready.url}`);
    const specs = JSON.parse(await readFile(ready.locksFile, 'utf8')) as LockSpec[];
    const tree = new TopicTree();
    const t0 = performance.now();
    const locks = await connectInBatches(
      specs,
      250,
      (s) => SimLock.connect({ deviceId: s.deviceId, secret: s.secret, siteId: s.siteId, doorId: s.doorId }, { url: ready.url, tree, trustedKeys: ready.trustedKeys, mqtt: { keepalive: 300, reconnectPeriod: 0 } }),
      (done) => {
        if (done % 2000 === 0 || done === specs.length) console.log(`  ${done} locks connected`);
      },
    );
    const connectSeconds = (performance.now() - t0) / 1000;
    await Promise.all(locks.map((l) => l.waitForAllowList(1)));
    const listSeconds = (performance.now() - t0) / 1000;
    console.log(`${locks.length} locks connected in ${connectSeconds.toFixed(1)} s; every lock holds a verified allow-list after ${listSeconds.toFixed(1)} s`);

    // Echo plumbing: each lock's connection also gets a reply topic.
    const echoWaiters = new Map<string, () => void>();
    await connectInBatches(locks, 500, async (lock) => {
      lock.client.on('message', (topic, payload) => {
        if (!topic.startsWith(ECHO_PREFIX)) return;
        const resolve = echoWaiters.get(payload.toString());
        if (resolve !== undefined) {
          echoWaiters.delete(payload.toString());
          resolve();
        }
      });
      await lock.client.subscribeAsync(`${ECHO_PREFIX}/${lock.credentials.deviceId}/res`, { qos: 0 });
    });

    const rng = createRng(42);
    const picks = Array.from({ length: 4096 }, () => rng.int(locks.length));
    let wrong = 0;
    let denied = 0;
    const auth = async (i: number): Promise<void> => {
      const k = picks[i % picks.length] as number;
      const lock = locks[(k + i) % locks.length] as SimLock;
      const spec = specs[(k + i) % specs.length] as LockSpec;
      const bad = i % 100 === 99;
      if (bad) wrong++;
      // One door, one credential: changing the first digit gives a code that opens nothing.
      const pin = bad ? `${(Number(spec.pin[0]) + 1) % 10}${spec.pin.slice(1)}` : spec.pin;
      const answer = await lock.present('pin', pin, { timeoutMs: 10_000 });
      if (answer.mode !== 'online') throw new Error('no answer from the gateway within 10 s');
      if (!answer.granted) denied++;
    };
    const echo = async (i: number): Promise<void> => {
      const lock = locks[((picks[i % picks.length] as number) + i) % locks.length] as SimLock;
      const id = `${i}.${randomBytes(4).toString('hex')}`;
      const done = new Promise<void>((resolve) => echoWaiters.set(id, resolve));
      lock.client.publish(`${ECHO_PREFIX}/${lock.credentials.deviceId}/req`, id, { qos: 0 });
      await done;
    };

    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    console.log('warming up...');
    await runClosedLoop({ concurrency: 64, count: 5000, maxDurationMs: 20_000 }, auth);
    await runClosedLoop({ concurrency: 64, count: 5000, maxDurationMs: 20_000 }, echo);
    wrong = 0;
    denied = 0;
    child.stdin.write('reset\nprofile-start\n');
    await profileStart();

    console.log(`auth, closed loop (${CONCURRENCY} in flight, ${SECONDS} s)...`);
    const authMax = await runClosedLoop({ concurrency: CONCURRENCY, count: 10_000_000, maxDurationMs: SECONDS * 1000 }, auth);
    const authRate = authMax.completedPerSec;
    console.log(`  ${authRate.toFixed(0)} decisions/s, p99 ${authMax.latency.p99Ms.toFixed(2)} ms, failed ${authMax.failed}`);
    const deniedShare = authMax.completed > 0 ? denied / authMax.completed : 0;
    const wrongShare = authMax.completed > 0 ? wrong / authMax.completed : 0;

    const half = Math.max(1, Math.floor(authRate / 2));
    console.log(`auth at ${half}/s (open loop, ${SECONDS} s)...`);
    const authHalf = await runAtRate(half, SECONDS * 1000, auth, { drainTimeoutMs: 15_000 });
    console.log(`  p50 ${authHalf.latency.p50Ms.toFixed(2)} ms, p99 ${authHalf.latency.p99Ms.toFixed(2)} ms, failed ${authHalf.failed}, dropped ${authHalf.dropped}`);

    console.log(`echo, closed loop (${CONCURRENCY} in flight, ${SECONDS} s)...`);
    const echoMax = await runClosedLoop({ concurrency: CONCURRENCY, count: 10_000_000, maxDurationMs: SECONDS * 1000 }, echo);
    console.log(`  ${echoMax.completedPerSec.toFixed(0)} msg/s`);
    console.log(`echo at ${half}/s (open loop, ${SECONDS} s)...`);
    const echoHalf = await runAtRate(half, SECONDS * 1000, echo, { drainTimeoutMs: 15_000 });
    console.log(`  p50 ${echoHalf.latency.p50Ms.toFixed(2)} ms, p99 ${echoHalf.latency.p99Ms.toFixed(2)} ms`);

    child.stdin.write('profile-stop\n');
    await profileStop('simulator');
    child.stdin.write('stats\n');
    const stats = JSON.parse(await next('STATS')) as Record<string, number>;
    console.log(`event loop delay: gateway p99 ${stats.loopDelayP99Ms?.toFixed(1)} ms, max ${stats.loopDelayMaxMs?.toFixed(1)} ms; simulator p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`);
    await writeResult({
      bench: 'access',
      command: 'npm run bench:access',
      metrics: {
        doors: locks.length,
        connectedLocks: stats.connected ?? 0,
        connectSeconds,
        allowListsSeconds: listSeconds,
        setupSeconds: ready.setupSeconds,
        authPerSec: authRate,
        authClosedLoopP99Ms: authMax.latency.p99Ms,
        authRatePerSec: half,
        authP50Ms: authHalf.latency.p50Ms,
        authP99Ms: authHalf.latency.p99Ms,
        authP999Ms: authHalf.latency.p999Ms,
        authFailed: authMax.failed + authHalf.failed + authHalf.dropped,
        wrongCodeShare: wrongShare,
        deniedShare,
        // Every decision is in the access log: the log holds them plus the locks' state and connectivity events.
        decisions: stats.decided ?? 0,
        logEventsAppended: stats.logAppended ?? 0,
        gatewayCpuSeconds: stats.cpuSeconds ?? 0,
        logDropped: stats.logDropped ?? 0,
        gatewayRssMb: stats.rssMb ?? 0,
        concurrency: CONCURRENCY,
        phaseSeconds: SECONDS,
      },
      baselines: {
        brokerEcho: {
          msgPerSec: echoMax.completedPerSec,
          p50Ms: echoHalf.latency.p50Ms,
          p99Ms: echoHalf.latency.p99Ms,
          ratePerSec: half,
        },
      },
    });
    console.log(`ratios: auth p99 / echo p99 = ${(authHalf.latency.p99Ms / Math.max(echoHalf.latency.p99Ms, 0.001)).toFixed(2)}, echo rate / auth rate = ${(echoMax.completedPerSec / authRate).toFixed(2)}`);
    await connectInBatches(locks, 1000, (l) => l.client.endAsync(true).catch(() => undefined));
  } finally {
    child.stdin.write('stop\n');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'gateway') {
  gatewayRole().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
