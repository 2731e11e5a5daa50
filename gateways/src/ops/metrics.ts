/**
 * Prometheus metrics (prom-client), one registry per service instance so
 * several instances in one process (tests) do not mix their numbers.
 *
 * Create the metrics before the engine, so the engine's `onCommit` can feed
 * the group commit histogram: `Engine.open({ ..., onCommit: metrics.onCommit })`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface CommitInfo {
  stream: string;
  commands: number;
  events: number;
  ms: number;
}

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'vuoro_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'vuoro_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly commands = new Counter({
    name: 'vuoro_commands_total',
    help: 'Commands sent to the engine, by type and outcome (ok, duplicate, or the refusal code)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly commitSize = new Histogram({
    name: 'vuoro_group_commit_commands',
    help: 'Commands per group commit of a partition',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
    registers: [this.registry],
  });

  readonly commitDuration = new Histogram({
    name: 'vuoro_group_commit_duration_seconds',
    help: 'Time from deciding a batch to its durable append',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly partitions = new Gauge({
    name: 'vuoro_partitions',
    help: 'Site partitions loaded on this node',
    registers: [this.registry],
  });

  readonly outboxMessages = new Gauge({
    name: 'vuoro_outbox_messages',
    help: 'Outbox messages by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'vuoro_webhook_deliveries_total',
    help: 'Webhook delivery attempts to channels, by outcome (delivered, retry, dead)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly expirations = new Counter({
    name: 'vuoro_expirations_total',
    help: 'Reservations expired by the expiry loop, by reason (hold, payment)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly sseClients = new Gauge({
    name: 'vuoro_sse_clients',
    help: 'Open server-sent event streams',
    registers: [this.registry],
  });

  // Cluster mode (CLUSTER=true); absent from a single node's scrape until set.
  readonly partitionsOwned = new Gauge({
    name: 'vuoro_partitions_owned',
    help: 'Partitions (sites and the directory) this node decides; the others it follows and forwards to',
    registers: [this.registry],
  });

  readonly forwardedCommands = new Counter({
    name: 'vuoro_forwarded_commands_total',
    help: 'Commands this node forwarded to the owner of their partition and got an answer for',
    registers: [this.registry],
  });

  readonly failovers = new Counter({
    name: 'vuoro_failovers_total',
    help: 'Partitions this node took over after their owner stopped renewing its lease (died or was cut off)',
    registers: [this.registry],
  });

  readonly clusterNodes = new Gauge({
    name: 'vuoro_cluster_nodes',
    help: 'Live Vuoro nodes (with a current heartbeat) as this node sees them',
    registers: [this.registry],
  });

  readonly clusterHealthy = new Gauge({
    name: 'vuoro_cluster_healthy',
    help: '1 while this node reaches a quorum of the NATS cluster (its heartbeat was written within the lease TTL)',
    registers: [this.registry],
  });

  readonly replicationLag = new Gauge({
    name: 'vuoro_replication_lag_operations',
    help: 'Operations each replica of the event stream is behind its leader (JetStream stream info)',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  readonly replicaCurrent = new Gauge({
    name: 'vuoro_replication_replica_current',
    help: '1 when a replica of the event stream is current with its leader',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  private readonly collectors: (() => void | Promise<void>)[] = [];

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'vuoro_process_' });
  }

  /** Pass to `Engine.open({ onCommit })`. */
  readonly onCommit = (info: CommitInfo): void => {
    this.commitSize.observe(info.commands);
    this.commitDuration.observe(info.ms / 1000);
  };

  /** Runs `collect` before each scrape (gauges read from live state; may be async). */
  onScrape(collect: () => void | Promise<void>): void {
    this.collectors.push(collect);
  }

  async render(): Promise<string> {
    await Promise.all(this.collectors.map((c) => c()));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
