/**
 * A Vuoro node in a cluster: the engine's `Placement`. It decides which
 * partitions (the directory and each site) this node owns, and keeps that
 * true with leases:
 *
 * - Every node writes a heartbeat into `VUORO_NODES` (max age = lease TTL);
 *   the keys there are the live nodes.
 * - Each partition's preferred owner is the rendezvous-hash winner among the
 *   live nodes. A node acquires the leases of the partitions it is preferred
 *   for (and of any partition left without an owner for a few rounds),
 *   catches the partition up from the store and starts deciding; it releases
 *   a partition whose preferred owner is another live node (rebalancing when
 *   a node joins), after it has stopped deciding it.
 * - Leases are renewed every TTL/3. A node stops deciding a partition the
 *   moment a renewal fails, and also when it has not renewed for 2/3 of the
 *   TTL (a renewal may hang): it stops before the servers let the lease
 *   expire, so two nodes deciding one partition at once needs a clock that
 *   runs more than 1.5x slow. If it happens anyway, the stream's expected
 *   version refuses the stale owner's append.
 * - A dead node's leases expire on the servers; the preferred owners among
 *   the survivors take them over (a failover) and reload them (their follower
 *   copies are current up to the feed, so only the tail is read).
 *
 * Commands for partitions owned elsewhere are forwarded (forwarding.ts).
 */
import { randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DIRECTORY_STREAM, siteStream } from '../directory/directory.js';
import type { Engine, ForwardedCommand, Placement } from '../runtime/engine.js';
import { Forwarding } from './forwarding.js';
import { LeaseBucket, LeaseLostError, type LeaseHolder } from './leases.js';
import { preferredOwner } from './rendezvous.js';

export interface ClusterNodeOptions {
  servers: string | string[];
  /** Unique and stable per node (e.g. the host name); default a random id. */
  nodeId?: string;
  /** A lease nobody renews expires after this long. Default 6,000 ms. */
  leaseTtlMs?: number;
  /** Replicas of the lease and heartbeat buckets. Default 3. */
  replicas?: number;
  /** Subject prefix of forwarded commands. Default `vuoro`. */
  subjectPrefix?: string;
  leaseBucket?: string;
  nodesBucket?: string;
  /** Timeout of one forwarded request. Default 5,000 ms. */
  forwardTimeoutMs?: number;
  /** Rounds a partition may stay without an owner before any node takes it. Default 3. */
  orphanRounds?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface ClusterStatus {
  nodeId: string;
  /** This node can write the lease bucket (it reaches a quorum of the servers). */
  healthy: boolean;
  /** Milliseconds since this node's last successful heartbeat. */
  heartbeatAgeMs: number;
  liveNodes: string[];
  /** Streams of the partitions this node decides. */
  owned: string[];
  /** Partitions with no owner that this node knows of. */
  unowned: string[];
  /** Stream -> node id, from the lease bucket. */
  holders: Record<string, string>;
}

export interface ClusterStats {
  forwarded: number;
  /** Partitions taken over after their holder's lease expired (a dead or cut-off node). */
  failovers: number;
  acquired: number;
  released: number;
  /** Leases this node lost (renewal refused or not possible in time). */
  lost: number;
}

interface Held {
  revision: number;
  renewedAt: number;
  since: number;
  stopServing: () => void;
}

const now = (): number => performance.now();

export class ClusterNode implements Placement {
  readonly nodeId: string;
  readonly stats: ClusterStats = { forwarded: 0, failovers: 0, acquired: 0, released: 0, lost: 0 };
  private engine: Engine | undefined;
  private readonly held = new Map<string, Held>();
  private readonly acquiring = new Set<string>();
  private readonly holders = new Map<string, LeaseHolder>();
  private readonly orphanFor = new Map<string, number>();
  private live = new Set<string>();
  private lastHeartbeat = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopping = false;
  private watch: { stop(): void } | undefined;
  private readonly ttl: number;
  private readonly log: NonNullable<ClusterNodeOptions['log']>;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly leases: LeaseBucket,
    private readonly nodes: KV,
    private readonly forwarding: Forwarding,
    private readonly options: ClusterNodeOptions,
  ) {
    this.nodeId = options.nodeId ?? `node-${randomUUID().slice(0, 8)}`;
    this.ttl = options.leaseTtlMs ?? 6000;
    this.log = options.log ?? (() => undefined);
  }

  static async connect(options: ClusterNodeOptions): Promise<ClusterNode> {
    const ttl = options.leaseTtlMs ?? 6000;
    const servers = typeof options.servers === 'string' ? options.servers.split(',').map((s) => s.trim()) : options.servers;
    const nc = await connect({ servers, name: `vuoro-cluster-${options.nodeId ?? ''}`, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000, noRandomize: true });
    try {
      // Creating replicated buckets takes a while; the rounds' requests then use a shorter timeout.
      const setup = jetstream(nc, { timeout: 10_000 });
      const replicas = options.replicas ?? 3;
      const leaseBucket = options.leaseBucket ?? 'VUORO_LEASES';
      const nodesBucket = options.nodesBucket ?? 'VUORO_NODES';
      await LeaseBucket.open(setup, { bucket: leaseBucket, ttlMs: ttl, replicas, timeoutMs: 10_000 });
      await new Kvm(setup).create(nodesBucket, { history: 1, ttl, replicas, timeout: 10_000 });
      const js = jetstream(nc, { timeout: Math.max(1000, Math.floor(ttl / 2)) });
      const leases = await LeaseBucket.open(js, { bucket: leaseBucket, ttlMs: ttl, replicas, timeoutMs: 5000 });
      const nodes = await new Kvm(js).open(nodesBucket);
      const forwarding = new Forwarding(nc, options.subjectPrefix ?? 'vuoro', options.forwardTimeoutMs ?? 5000);
      return new ClusterNode(nc, js, leases, nodes, forwarding, options);
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  // --- Placement ------------------------------------------------------------

  owns(stream: string): boolean {
    return this.held.has(stream);
  }

  async forward(stream: string, command: ForwardedCommand) {
    const outcome = await this.forwarding.request(stream, command);
    if (outcome !== undefined) this.stats.forwarded++;
    return outcome;
  }

  // --- lifecycle ------------------------------------------------------------

  /** Starts heartbeats and lease work for an engine opened with `placement: this node`. */
  async start(engine: Engine): Promise<void> {
    this.engine = engine;
    this.watch = await this.leases.watch((partition, holder) => {
      this.holders.set(partition, holder);
      // A released partition this node prefers: take it now rather than at the next round.
      if (holder.operation !== 'PUT' && !this.stopping && preferredOwner(partition, this.live) === this.nodeId) this.kick();
    });
    await this.round();
    this.timer = setInterval(() => this.kick(), Math.max(100, Math.floor(this.ttl / 3)));
    this.timer.unref();
  }

  /** Hands every partition over (stop deciding, release the lease) and disconnects. Call before closing the engine. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.ticking;
    await Promise.all([...this.held.keys()].map((p) => this.release(p)));
    await this.nodes.delete(this.nodeId).catch(() => undefined);
    this.watch?.stop();
    await this.nc.close().catch(() => undefined);
  }

  status(): ClusterStatus {
    const partitions = this.partitions();
    const holders: Record<string, string> = {};
    for (const p of partitions) {
      const h = this.holders.get(p);
      if (h !== undefined && h.operation === 'PUT') holders[p] = h.nodeId;
    }
    for (const p of this.held.keys()) holders[p] = this.nodeId;
    const age = now() - this.lastHeartbeat;
    return {
      nodeId: this.nodeId,
      healthy: age < this.ttl,
      heartbeatAgeMs: Number.isFinite(age) ? Math.round(age) : -1,
      liveNodes: [...this.live].sort(),
      owned: [...this.held.keys()].sort(),
      unowned: partitions.filter((p) => holders[p] === undefined || !this.live.has(holders[p] as string)).sort(),
      holders,
    };
  }

  // --- rounds ---------------------------------------------------------------

  private kick(): void {
    if (this.stopping) return;
    // Even while a round hangs on an unreachable server: stop deciding what was not renewed in time.
    void this.dropUnrenewed();
    if (this.ticking !== undefined) return;
    this.ticking = this.round()
      .catch((error: unknown) => this.log('cluster round failed', { err: error instanceof Error ? error.message : String(error) }))
      .finally(() => {
        this.ticking = undefined;
      });
  }

  /** Stops deciding whatever could not be renewed in time: it may expire on the servers any moment. */
  private async dropUnrenewed(): Promise<void> {
    const stale = [...this.held].filter(([, h]) => now() - h.renewedAt > (this.ttl * 2) / 3).map(([p]) => p);
    await Promise.all(stale.map((p) => this.lose(p, 'not renewed in time')));
  }

  private partitions(): string[] {
    const sites = this.engine?.directory.read((s) => [...s.sites.keys()]) ?? [];
    return [DIRECTORY_STREAM, ...sites.map(siteStream)];
  }

  private async round(): Promise<void> {
    await this.dropUnrenewed();

    try {
      await this.nodes.put(this.nodeId, String(Date.now()));
      this.lastHeartbeat = now();
      const live = new Set<string>();
      for await (const key of await this.nodes.keys()) live.add(key);
      live.add(this.nodeId);
      this.live = live;
    } catch (error) {
      // Without a quorum nothing below can succeed; renewals will fail and drop the leases.
      this.log('heartbeat failed', { err: error instanceof Error ? error.message : String(error) });
    }

    await this.renewAll();
    if (this.stopping) return;

    const wanted: string[] = [];
    for (const p of this.partitions()) {
      const preferred = preferredOwner(p, this.live);
      if (this.held.has(p)) {
        const h = this.held.get(p) as Held;
        // Rebalance: give the partition to its preferred owner once that node is live (and not at once, to avoid flapping).
        if (preferred !== this.nodeId && preferred !== undefined && now() - h.since > this.ttl) await this.release(p);
        continue;
      }
      // The watch sees acquisitions and releases but not expiry, so the preferred owner simply tries (the
      // create is refused while the lease lives); others step in only for a partition left ownerless a while.
      const holder = this.holders.get(p);
      const ownerless =
        holder === undefined || holder.operation !== 'PUT' || holder.nodeId === this.nodeId || !this.live.has(holder.nodeId);
      const rounds = ownerless ? (this.orphanFor.get(p) ?? 0) + 1 : 0;
      this.orphanFor.set(p, rounds);
      if (preferred === this.nodeId || rounds > (this.options.orphanRounds ?? 3)) wanted.push(p);
    }
    // A few at a time: each is a quorum write and a catch-up read.
    for (let i = 0; i < wanted.length; i += 16) {
      await Promise.all(wanted.slice(i, i + 16).map((p) => this.acquire(p)));
    }
  }

  private async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held].map(async ([p, h]) => {
        const sentAt = now();
        try {
          h.revision = await this.leases.renew(p, this.nodeId, h.revision);
          h.renewedAt = sentAt;
        } catch (error) {
          if (error instanceof LeaseLostError) await this.lose(p, 'lease taken or expired');
          // Otherwise the servers are away: keep deciding until 2/3 of the TTL, the next round checks.
        }
      }),
    );
  }

  private async acquire(p: string): Promise<void> {
    if (this.acquiring.has(p) || this.held.has(p) || this.engine === undefined) return;
    this.acquiring.add(p);
    try {
      const before = this.holders.get(p);
      const startedAt = now();
      const revision = await this.leases.acquire(p, this.nodeId).catch(() => undefined);
      if (revision === undefined) return;
      try {
        await this.engine.promote(p);
      } catch (error) {
        this.log('could not take over a partition', { partition: p, err: error instanceof Error ? error.message : String(error) });
        await this.engine.demote(p).catch(() => undefined);
        await this.leases.release(p, revision).catch(() => undefined);
        return;
      }
      const engine = this.engine;
      const stopServing = this.forwarding.serve(p, (command) => engine.decideForwarded(p, command));
      this.held.set(p, { revision, renewedAt: startedAt, since: now(), stopServing });
      this.orphanFor.delete(p);
      this.stats.acquired++;
      // Held by another node that never released it: its lease ran out (it died or was cut off).
      if (before !== undefined && before.operation === 'PUT' && before.nodeId !== this.nodeId) {
        this.stats.failovers++;
        this.log('took over a partition', { partition: p, from: before.nodeId });
      }
    } finally {
      this.acquiring.delete(p);
    }
  }

  /** The lease is gone or going: stop deciding at once. */
  private async lose(p: string, reason: string): Promise<void> {
    const h = this.held.get(p);
    if (h === undefined) return;
    this.held.delete(p);
    h.stopServing();
    this.stats.lost++;
    this.log('lost a partition', { partition: p, reason });
    await this.engine?.demote(p);
  }

  /** Graceful hand-over: stop deciding, wait for the commit in flight, then delete the lease. */
  private async release(p: string): Promise<void> {
    const h = this.held.get(p);
    if (h === undefined) return;
    this.held.delete(p);
    h.stopServing();
    await this.engine?.demote(p);
    await this.leases.release(p, h.revision).catch(() => undefined);
    this.stats.released++;
  }

  /** For tests: the JetStream client this node uses. */
  get jetstream(): JetStreamClient {
    return this.js;
  }
}
