/**
 * Operations endpoints, outside `/v1` and without API keys (bind the service
 * to a private interface or put it behind a proxy that hides them):
 * `/health` (the process is up), `/ready` (the store answers and every
 * registered site partition is loaded; in cluster mode also which partitions
 * this node owns and whether it reaches a quorum of the NATS cluster),
 * `/metrics` (Prometheus).
 */
import { ClusterNode, NatsEventStore } from '@vuoro/engine';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiContext } from '../context.js';

const readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  store: z.string(),
  partitions: z.number().int(),
  sites: z.number().int(),
  outboxCheckpoint: z.number().int(),
  reason: z.string().optional(),
  cluster: z
    .object({
      nodeId: z.string(),
      healthy: z.boolean().describe('This node reaches a quorum of the NATS cluster'),
      heartbeatAgeMs: z.number().int(),
      liveNodes: z.array(z.string()),
      owned: z.array(z.string()).describe('Partitions (streams) this node decides'),
      unowned: z.array(z.string()).describe('Partitions without a live owner right now (a failover is under way)'),
      owners: z.record(z.string(), z.string()).describe('Partition -> the node that decides it'),
      forwardedCommands: z.number().int(),
      failovers: z.number().int(),
      followedPosition: z.number().int().describe('Feed position this node\'s follower copies have applied'),
    })
    .optional(),
});

export async function opsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ops = { public: true, rateLimit: false } as const;
  const { engine, metrics } = ctx;
  const cluster = engine.placement instanceof ClusterNode ? engine.placement : undefined;
  const counted = { forwarded: 0, failovers: 0 };

  metrics.onScrape(async () => {
    metrics.partitions.set(engine.partitions().length);
    for (const [status, n] of Object.entries(ctx.outbox.counts())) metrics.outboxMessages.set({ status }, n);
    if (cluster === undefined) return;
    const status = cluster.status();
    metrics.partitionsOwned.set(status.owned.length);
    metrics.clusterNodes.set(status.liveNodes.length);
    metrics.clusterHealthy.set(status.healthy ? 1 : 0);
    metrics.forwardedCommands.inc(cluster.stats.forwarded - counted.forwarded);
    metrics.failovers.inc(cluster.stats.failovers - counted.failovers);
    counted.forwarded = cluster.stats.forwarded;
    counted.failovers = cluster.stats.failovers;
    if (engine.store instanceof NatsEventStore) {
      // A scrape during a leader election must still answer: the lag is then simply not updated.
      const replication = await engine.store.replication().catch(() => undefined);
      for (const r of replication?.replicas ?? []) {
        if (Number.isFinite(r.lag)) metrics.replicationLag.set({ replica: r.name }, r.lag);
        metrics.replicaCurrent.set({ replica: r.name }, r.current ? 1 : 0);
      }
    }
  });

  const clusterInfo = () => {
    if (cluster === undefined) return {};
    const { holders, ...status } = cluster.status();
    return {
      cluster: {
        ...status,
        owners: holders,
        forwardedCommands: cluster.stats.forwarded,
        failovers: cluster.stats.failovers,
        followedPosition: engine.followedPosition,
      },
    };
  };

  r.get('/health', {
    schema: { tags: ['Operations'], summary: 'The process is up', security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
    config: ops,
    handler: async () => ({ status: 'ok' as const }),
  });

  r.get('/ready', {
    schema: {
      tags: ['Operations'],
      summary: 'Ready to serve: store reachable, partitions loaded',
      security: [],
      response: { 200: readiness, 503: readiness },
    },
    config: ops,
    handler: async (_req, reply) => {
      const sites = engine.directory.read((s) => s.sites.size);
      const base = { store: engine.store.name, partitions: engine.partitions().length, sites, outboxCheckpoint: ctx.outbox.checkpoint, ...clusterInfo() };
      const unavailable = (reason: string) => reply.code(503).send({ status: 'unavailable' as const, ...base, reason });
      if (ctx.closing.value) return unavailable('shutting down');
      if (cluster !== undefined) {
        // The heartbeat is a quorum write: it says more than one read, and it never waits out the store's retries.
        if (!cluster.status().healthy) return unavailable('this node cannot reach a quorum of the NATS cluster');
      } else {
        try {
          await engine.store.streamVersion('directory');
        } catch (error) {
          return unavailable(`event store unreachable: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (base.partitions < sites) return unavailable(`${base.partitions} of ${sites} site partitions loaded`);
      return { status: 'ready' as const, ...base };
    },
  });

  app.get('/metrics', { schema: { tags: ['Operations'], summary: 'Prometheus metrics', security: [] }, config: ops }, async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
