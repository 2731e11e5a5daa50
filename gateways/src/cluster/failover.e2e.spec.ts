/**
 * Failover under booking load, end to end: a 3-node NATS JetStream cluster
 * started by the test on loopback, three Vuoro nodes (the real main.ts,
 * CLUSTER=true) sharing the sites, and clients booking over HTTP through any
 * node. One NATS server is SIGKILLed, later one Vuoro node; the load goes on
 * (clients retry a failed request on another node with the same
 * Idempotency-Key, as a booking channel would). Afterwards:
 *
 * - every acknowledged reservation is in the log exactly once,
 * - no two confirmed reservations conflict,
 * - every idempotent retry returned the first answer,
 * - every surviving node's reservations, and its analytics projection, converge
 *   to a rebuild from the stream.
 */
import {
  HOLDS_SLOT,
  NatsEventStore,
  PartitionActor,
  siteDecider,
  siteStream,
  type EventStore,
  type RecordedEvent,
  type SiteState,
} from '@vuoro/engine';
import { siteCodec } from '@vuoro/engine/runtime/codecs.js';
import { expectEachOnce, expectNoDoubleBooking } from '@vuoro/engine/testing/invariants.js';
import { startNatsCluster, type NatsCluster } from '@vuoro/engine/testing/nats-cluster.js';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVuoroNode, waitReady, type VuoroNode } from './testing.js';

const UNITS = [
  { siteId: 'sit_kontula_sports_park', unitId: 'unt_kontula_hall' },
  { siteId: 'sit_kontula_sports_park', unitId: 'unt_kontula_hall_a' },
  { siteId: 'sit_kontula_sports_park', unitId: 'unt_kontula_hall_b' },
  { siteId: 'sit_uutela_recreation', unitId: 'unt_uutela_rantasauna' },
  { siteId: 'sit_uutela_recreation', unitId: 'unt_uutela_savusauna' },
  { siteId: 'sit_itakeskus_youth_centre', unitId: 'unt_itakeskus_game_room' },
];
const CUSTOMERS = ['cus_alice', 'cus_bob', 'cus_kontula_fc_juniors', 'cus_kaiku_choir', 'cus_kontula_school', 'cus_city_youth_services', 'cus_nordic_code'];
const WORKERS = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  reservationId?: string;
  code?: string;
}

interface Request {
  key: string;
  body: { unitId: string; start: string; end: string; customerId: string };
  first?: Answer;
}

/** A dense, deterministic stream of bookings in the coming days' opening hours, so many of them collide. */
function request(i: number): Request {
  const r = (i * 1_103_515_245 + 12_345) >>> 0;
  const unit = UNITS[r % UNITS.length]!;
  // Helsinki wall times (the API takes them without an offset), 2 to 41 days ahead, 10:00 to 18:00.
  const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Helsinki' }).format(new Date());
  const day = new Date(Date.parse(`${today}T00:00:00Z`) + (2 + ((r >>> 8) % 40)) * 86_400_000).toISOString().slice(0, 10);
  const hour = 10 + ((r >>> 12) % 9);
  const minutes = unit.unitId.includes('sauna') ? 90 : 60;
  const wall = (m: number) => `${day}T${String(hour + Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return {
    key: `failover-${i}`,
    body: { unitId: unit.unitId, start: wall(0), end: wall(minutes), customerId: CUSTOMERS[(r >>> 16) % CUSTOMERS.length]! },
  };
}

let lastFailure = '';

async function post(node: VuoroNode, req: Request): Promise<Answer | undefined> {
  try {
    const res = await fetch(`${node.url}/v1/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.key}`, 'content-type': 'application/json', 'idempotency-key': req.key },
      body: JSON.stringify(req.body),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { reservationId?: string; code?: string };
    if (res.status >= 500) {
      lastFailure = `${node.nodeId} ${res.status} ${JSON.stringify(body)}`;
      return undefined;
    }
    return { status: res.status, ...(body.reservationId === undefined ? {} : { reservationId: body.reservationId }), ...(body.code === undefined ? {} : { code: body.code }) };
  } catch (error) {
    lastFailure = `${node.nodeId} ${String(error)}`;
    return undefined; // the node died or the connection broke: retry elsewhere
  }
}

async function listed(node: VuoroNode, siteId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let cursor: string | null = null; ; ) {
    const res: Response = await fetch(`${node.url}/v1/reservations?siteId=${siteId}&limit=200${cursor === null ? '' : `&cursor=${cursor}`}`, {
      headers: { authorization: `Bearer ${node.key}` },
    });
    const page = (await res.json()) as { items: { reservationId: string; state: string }[]; nextCursor: string | null };
    for (const r of page.items) out.set(r.reservationId, r.state);
    cursor = page.nextCursor;
    if (cursor === null) return out;
  }
}

/** The node's analytics read model (its own projection of the replicated feed): reservation id -> state, for a site. */
async function projected(node: VuoroNode, analystKey: string, siteId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Helsinki' }).format(new Date());
  const to = new Date(Date.parse(`${today}T00:00:00Z`) + 60 * 86_400_000).toISOString().slice(0, 10);
  for (let after: string | undefined; ; ) {
    const res = await fetch(`${node.url}/v1/analytics/reservations?from=${today}&to=${to}&siteId=${siteId}&limit=10000${after === undefined ? '' : `&after=${after}`}`, {
      headers: { authorization: `Bearer ${analystKey}` },
    });
    if (res.status !== 200) return out; // not ready yet: the caller polls
    const page = (await res.json()) as { rows: { reservationId: string; state: string }[] };
    for (const r of page.rows) out.set(r.reservationId, r.state);
    if (page.rows.length < 10_000) return out;
    after = page.rows[page.rows.length - 1]?.reservationId;
  }
}

/** An analyst key on a node: API keys are per node (its gateway database); its first admin key is in its log. */
async function analystKeyOf(node: VuoroNode): Promise<string> {
  const admin = /FIRST ADMIN KEY \(shown once, store it now\): (\S+)/.exec(node.output())?.[1];
  if (admin === undefined) throw new Error(`${node.nodeId} printed no admin key:\n${node.output()}`);
  const res = await fetch(`${node.url}/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'idempotency-key': `analyst-${node.nodeId}` },
    body: JSON.stringify({ channelId: 'chn_admin', name: 'failover test analyst', scopes: ['analyst'] }),
  });
  const body = (await res.json()) as { secret: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.secret;
}

describe('a Vuoro cluster under booking load', { timeout: 300_000 }, () => {
  let cluster: NatsCluster;
  let dir: TempDir;
  const nodes: VuoroNode[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
    dir = await tempDir('vuoro-failover-');
    // Each Vuoro node prefers its own NATS server, and fails over to the others.
    const natsUrl = (i: number) => [cluster.urls[i], ...cluster.urls.filter((_, j) => j !== i)].join(',');
    nodes.push(await startVuoroNode({ nodeId: 'vuoro-1', natsUrl: natsUrl(0), dataDir: dir.file('n1'), loadCatalogue: true }));
    await waitReady(nodes[0]!, 1);
    nodes.push(await startVuoroNode({ nodeId: 'vuoro-2', natsUrl: natsUrl(1), dataDir: dir.file('n2') }));
    nodes.push(await startVuoroNode({ nodeId: 'vuoro-3', natsUrl: natsUrl(2), dataDir: dir.file('n3') }));
    for (const n of nodes) await waitReady(n, 3);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await cluster?.stop();
    await dir?.remove();
  });

  it('loses no acknowledged booking and books nothing twice when a NATS server and a Vuoro node die', async () => {
    const sent: Request[] = [];
    const alive = () => nodes.filter((n) => n.running);
    let stop = false;
    let next = 0;
    let attempts = 0;
    let retried = 0;

    /** Sends until a definitive answer, moving to another node after a failure (same key). */
    const settle = async (req: Request, from: number): Promise<Answer> => {
      for (let attempt = 0; ; attempt++) {
        const candidates = alive();
        const node = candidates[(from + attempt) % candidates.length];
        if (node === undefined) throw new Error('no Vuoro node left');
        attempts++;
        const answer = await post(node, req);
        if (answer !== undefined) return answer;
        retried++;
        if (attempt % 50 === 49) console.info(`request ${req.key}: ${attempt + 1} attempts, last: ${lastFailure}`);
        await sleep(100);
      }
    };
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        const req = request(next++);
        sent.push(req);
        req.first = await settle(req, w + next);
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    const acked = () => sent.filter((r) => r.first?.status === 201).length;
    const expected: { dead?: VuoroNode } = {};
    /** Waits until 30 more bookings were acknowledged (the test's timeout is the limit), and says how long that took. */
    const goesOn = async (what: string): Promise<void> => {
      const [from, t0] = [acked(), Date.now()];
      while (acked() < from + 30) {
        const died = nodes.find((n) => !n.running && n !== expected.dead);
        if (died !== undefined) throw new Error(`${died.nodeId} died:\n${died.output()}`);
        await sleep(50);
      }
      console.info(`${what}: 30 more bookings acknowledged after ${((Date.now() - t0) / 1000).toFixed(1)} s`, { acked: acked(), sent: sent.length, retried });
    };
    await goesOn('3 NATS servers, 3 Vuoro nodes');

    await cluster.servers[1]!.kill('SIGKILL');
    await goesOn('NATS server 2 killed');
    await sleep(3000);

    const victim = nodes[2]!;
    const ready = (await (await fetch(`${victim.url}/ready`)).json()) as { cluster: { owned: string[] } };
    expected.dead = victim;
    await victim.kill('SIGKILL');
    await goesOn('Vuoro node 3 killed');
    await sleep(3000);
    stop = true;
    await load;
    console.info('load stopped');

    // Its partitions have a new owner among the survivors. (They count a takeover as a failover when
    // their lease watch saw the dead node hold it; a watch that lost its consumer with the killed
    // server counts it as a plain acquisition, so the counter is reported, not asserted.)
    const survivors = alive();
    let failovers = 0;
    // Until the dead node's leases have expired, the survivors still see it as their owner: wait for the takeover.
    for (;;) {
      failovers = 0;
      const ownedNow = new Set<string>();
      for (const n of survivors) {
        const r = (await (await fetch(`${n.url}/ready`)).json()) as { status: string; cluster: { owned: string[]; unowned: string[]; failovers: number } };
        if (r.status !== 'ready' || r.cluster.unowned.length > 0) continue;
        failovers += r.cluster.failovers;
        for (const p of r.cluster.owned) ownedNow.add(p);
      }
      if (ready.cluster.owned.every((p) => ownedNow.has(p))) break;
      await sleep(200);
    }
    console.info(`failovers counted by the survivors: ${failovers} (the dead node owned ${ready.cluster.owned.length})`);
    const metrics = await (await fetch(`${survivors[0]!.url}/metrics`)).text();
    if (!metrics.includes('vuoro_partitions_owned')) console.info(survivors[0]!.output().split('\n').filter((l) => l.includes('request failed')).slice(-2).join('\n'));
    expect(metrics).toMatch(/vuoro_partitions_owned \d+/);
    expect(metrics).toMatch(/vuoro_forwarded_commands_total [1-9]/);
    expect(metrics).toMatch(/vuoro_replication_lag_operations\{replica="vuoro-n\d"\} \d+/);

    // Every idempotent retry returns the first answer, on any node.
    const sample = sent.filter((_, i) => i % Math.ceil(sent.length / 150) === 0);
    for (const [i, req] of sample.entries()) {
      const again = await settle({ ...req }, i);
      expect({ key: req.key, ...again }).toEqual({ key: req.key, ...req.first });
    }

    // The log: every acknowledged reservation exactly once, no two holding reservations in conflict.
    const admin: EventStore = await NatsEventStore.connect({ servers: cluster.urls.filter((_, i) => i !== 1), retryForMs: 60_000 });
    try {
      const all: RecordedEvent[] = [];
      const rebuilt = new Map<string, SiteState>();
      for (const siteId of new Set(UNITS.map((u) => u.siteId))) {
        all.push(...(await admin.readStream(siteStream(siteId))));
        const actor = await PartitionActor.load(siteStream(siteId), admin, siteDecider, { ...siteCodec, snapshot: undefined });
        actor.read(expectNoDoubleBooking);
        rebuilt.set(siteId, actor.read((s) => s));
      }
      const acknowledged = sent.filter((r) => r.first?.status === 201).map((r) => r.first!.reservationId!);
      expectEachOnce(all, acknowledged);
      const confirmed = acknowledged.filter((id) => [...rebuilt.values()].some((s) => HOLDS_SLOT.has(s.reservations.get(id)?.state ?? 'denied')));
      expect(confirmed.length).toBe(acknowledged.length);

      // Every surviving node's read side converges to the rebuild: its follower copies (the reservation
      // list) and its own analytics projection of the replicated feed.
      for (const n of survivors) {
        const analyst = await analystKeyOf(n);
        for (const [siteId, state] of rebuilt) {
          const expected = new Map([...state.reservations.values()].map((r) => [r.id, r.state as string]));
          const same = (seen: Map<string, string>) => seen.size === expected.size && [...expected].every(([id, st]) => seen.get(id) === st);
          const converges = async (what: string, read: () => Promise<Map<string, string>>) => {
            for (let t = 0; ; t++) {
              const seen = await read();
              if (same(seen)) return;
              if (t === 300) {
                const differ = [...expected].filter(([id, st]) => seen.get(id) !== st).slice(0, 5);
                throw new Error(`${n.nodeId} ${what} of ${siteId}: ${seen.size} reservations, the log has ${expected.size}; e.g. ${JSON.stringify(differ.map(([id, st]) => [id, st, seen.get(id)]))}`);
              }
              await sleep(200);
            }
          };
          await converges('reservation list', () => listed(n, siteId));
          await converges('analytics projection', () => projected(n, analyst, siteId));
        }
      }
      console.info('failover load:', { requests: sent.length, acknowledged: acknowledged.length, attempts, retried, failovers });
      for (const n of nodes) console.info(n.nodeId, n.output().split('\n').filter((l) => l.includes('"component":"cluster"')).slice(-12).join('\n'));
    } finally {
      await admin.close();
    }
  });
});
