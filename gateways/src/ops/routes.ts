/**
 * Operations endpoints, outside `/v1` and without API keys (bind the service
 * to a private interface or put it behind a proxy that hides them):
 * `/health` (the process is up), `/ready` (the store answers and every
 * registered site partition is loaded), `/metrics` (Prometheus).
 */
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
});

export async function opsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ops = { public: true, rateLimit: false } as const;
  const { engine, metrics } = ctx;

  metrics.onScrape(() => {
    metrics.partitions.set(engine.partitions().length);
    for (const [status, n] of Object.entries(ctx.outbox.counts())) metrics.outboxMessages.set({ status }, n);
  });

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
      const base = { store: engine.store.name, partitions: engine.partitions().length, sites, outboxCheckpoint: ctx.outbox.checkpoint };
      const unavailable = (reason: string) => reply.code(503).send({ status: 'unavailable' as const, ...base, reason });
      if (ctx.closing.value) return unavailable('shutting down');
      try {
        await engine.store.streamVersion('directory');
      } catch (error) {
        return unavailable(`event store unreachable: ${error instanceof Error ? error.message : String(error)}`);
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
