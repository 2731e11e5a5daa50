/**
 * The HTTP service, built by `buildApp(deps)` so tests drive it with
 * `app.inject()` or real HTTP and `main.ts` with real adapters. So far it
 * serves operations endpoints; the command API (issue 3) plugs in here.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Engine } from '@vuoro/engine';

export interface AppDeps {
  engine: Engine;
  logLevel?: string;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: deps.logLevel ?? 'info' }, genReqId: () => crypto.randomUUID() });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    try {
      await deps.engine.store.streamVersion('directory');
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', store: deps.engine.store.name, error: String(error) });
    }
    return { status: 'ready', store: deps.engine.store.name, partitions: deps.engine.partitions().length };
  });
  return app;
}
