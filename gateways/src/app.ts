/**
 * The HTTP service, built by `buildApp(deps)` so tests drive it with
 * `app.inject()` or real HTTP and `main.ts` with real adapters. It wires the
 * cross-cutting concerns (errors, authentication, rate limits, idempotency,
 * metrics, OpenAPI) on the root instance and registers one plugin per
 * capability.
 *
 * Lifecycle: `app.ready()` starts the outbox (following the event feed) and
 * the expiry loop; `app.close()` refuses new work, ends event streams,
 * finishes requests in flight and stops both. The engine, its store and the
 * gateway database belong to the caller, who closes them afterwards.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { DIRECTORY_STREAM, type Engine } from '@vuoro/engine';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { adminRoutes } from './admin/routes.js';
import { KeyStore } from './auth/keys.js';
import { installAuth } from './auth/plugin.js';
import { availabilityRoutes } from './availability/routes.js';
import { catalogueRoutes } from './catalogue/routes.js';
import type { ApiContext } from './context.js';
import { eventRoutes } from './events/routes.js';
import { ExpiryLoop } from './expiry/loop.js';
import { ApiError } from './http/problems.js';
import { installErrorHandling } from './http/errors.js';
import { installIdempotency } from './idempotency/hooks.js';
import { IdempotencyStore } from './idempotency/store.js';
import { Metrics } from './ops/metrics.js';
import { opsRoutes } from './ops/routes.js';
import { Outbox, type OutboxOptions } from './outbox/outbox.js';
import { outboxRoutes } from './outbox/routes.js';
import { paymentRoutes } from './payments/routes.js';
import { reservationRoutes } from './reservations/routes.js';
import { roundsPlugin } from './rounds/plugin.js';
import { seriesRoutes } from './series/routes.js';
import type { Db } from './storage/db.js';

export interface GatewaySettings {
  logLevel: string;
  trustProxy: boolean;
  bodyLimit: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  idempotencyTtlHours: number;
  maxSearchDays: number;
  sseHeartbeatMs: number;
  paymentWebhookSecret: string | undefined;
  paymentWebhookToleranceSeconds: number;
  /** 0 = no timer (call `app.vuoro.expiry.sweep()` yourself). */
  expiryIntervalMs: number;
  outbox: OutboxOptions;
}

export const DEFAULT_SETTINGS: GatewaySettings = {
  logLevel: 'info',
  trustProxy: false,
  bodyLimit: 64 * 1024,
  rateLimitMax: 600,
  rateLimitWindowMs: 60_000,
  idempotencyTtlHours: 48,
  maxSearchDays: 31,
  sseHeartbeatMs: 15_000,
  paymentWebhookSecret: undefined,
  paymentWebhookToleranceSeconds: 300,
  expiryIntervalMs: 15_000,
  outbox: { maxAttempts: 10, backoffMs: 2000, maxBackoffMs: 3_600_000, timeoutMs: 5000, pollMs: 1000, reminderHour: 10, concurrency: 8 },
};

export interface AppDeps {
  engine: Engine;
  /** The gateway database (`openDb`). */
  db: Db;
  settings?: Partial<Omit<GatewaySettings, 'outbox'>> & { outbox?: Partial<OutboxOptions> };
  /** The same clock the engine was opened with (tests move both). */
  clock?: () => number;
  /** Created before the engine so `Engine.open({ onCommit: metrics.onCommit })` feeds it. */
  metrics?: Metrics;
  /** How the outbox reaches channels' webhooks (tests may pass their own). */
  fetch?: typeof fetch;
}

export interface VuoroServices {
  keys: KeyStore;
  idempotency: IdempotencyStore;
  outbox: Outbox;
  expiry: ExpiryLoop;
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    vuoro: VuoroServices;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const settings: GatewaySettings = {
    ...DEFAULT_SETTINGS,
    ...deps.settings,
    outbox: { ...DEFAULT_SETTINGS.outbox, ...deps.settings?.outbox },
  };
  const clock = deps.clock ?? Date.now;
  const metrics = deps.metrics ?? new Metrics();

  const app = Fastify({
    logger: { level: settings.logLevel },
    bodyLimit: settings.bodyLimit,
    trustProxy: settings.trustProxy,
    // Keep serving requests that arrive on open connections while closing (answered below with a
    // problem), so a rolling restart never cuts a client off mid-conversation with a bare 503.
    return503OnClosing: false,
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is a 415, not a string that fails validation further on.
  app.removeContentTypeParser('text/plain');

  const keys = new KeyStore(deps.db, clock);
  const idempotency = new IdempotencyStore(deps.db, clock);
  const outbox = new Outbox(deps.db, keys, settings.outbox, {
    clock,
    metrics,
    log: app.log.child({ component: 'outbox' }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    // In a cluster, the node that decides the directory partition (one at a time, by lease) delivers;
    // after a failover its successor delivers what is still pending in its own copy (at least once).
    delivers: () => deps.engine.placement?.owns(DIRECTORY_STREAM) ?? true,
  });
  const expiry = new ExpiryLoop(deps.engine, { intervalMs: settings.expiryIntervalMs, clock, metrics, log: app.log.child({ component: 'expiry' }) });
  const ctx: ApiContext = {
    engine: deps.engine,
    keys,
    idempotency,
    metrics,
    outbox,
    expiry,
    clock,
    settings: {
      maxSearchDays: settings.maxSearchDays,
      paymentWebhookSecret: settings.paymentWebhookSecret,
      paymentWebhookToleranceSeconds: settings.paymentWebhookToleranceSeconds,
      sseHeartbeatMs: settings.sseHeartbeatMs,
    },
    closing: { value: false },
  };
  app.decorate('vuoro', { keys, idempotency, outbox, expiry, metrics });

  installErrorHandling(app, settings.bodyLimit);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (ctx.closing.value) {
      reply.header('retry-after', '2').header('connection', 'close');
      throw new ApiError('SHUTTING_DOWN', 'The service is restarting; retry in a moment (with the same Idempotency-Key for commands).');
    }
  });
  // Responses finishing during shutdown close their connection, so keep-alive clients do not hold the server open.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (ctx.closing.value) reply.header('connection', 'close');
    return payload;
  });
  installAuth(app, { keys });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(rateLimit, {
    global: true,
    max: (req) => req.principal?.rateLimit ?? settings.rateLimitMax,
    timeWindow: settings.rateLimitWindowMs,
    keyGenerator: (req) => (req.principal === null ? `ip:${req.ip}` : `key:${req.principal.keyId}`),
    errorResponseBuilder: (_req, context) =>
      new ApiError('RATE_LIMITED', `Too many requests: this API key may make ${context.max} requests per ${context.after === '' ? 'window' : context.after}. Retry after the time in Retry-After.`, {
        details: { limit: context.max, retryAfterMs: context.ttl },
      }),
  });
  installIdempotency(app, idempotency);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Vuoro command API',
        version: '1.0.0',
        description:
          'Booking channels search availability, book, pay and cancel; booking office staff approve, deny, block time and book on behalf of customers. Errors are RFC 9457 problem+json with a stable `code`. Every command needs an `Idempotency-Key`. Times: ISO 8601 with offset, or Helsinki wall time without one; money in integer cents (EUR).',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' } } },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'Reservations' },
        { name: 'Availability' },
        { name: 'Catalogue' },
        { name: 'Payments' },
        { name: 'Events' },
        { name: 'Messages' },
        { name: 'Administration' },
        { name: 'Operations' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true }, config: { public: true, rateLimit: false } }, async () => app.swagger());

  await app.register(opsRoutes, ctx);
  await app.register(adminRoutes, ctx);
  await app.register(catalogueRoutes, ctx);
  await app.register(availabilityRoutes, ctx);
  await app.register(reservationRoutes, ctx);
  await app.register(paymentRoutes, ctx);
  await app.register(outboxRoutes, ctx);
  await app.register(eventRoutes, ctx);
  await app.register(seriesRoutes, ctx);
  await app.register(roundsPlugin, ctx);

  let purge: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    outbox.start(deps.engine.store);
    expiry.start();
    const ttl = settings.idempotencyTtlHours * 3_600_000;
    idempotency.purge(ttl);
    purge = setInterval(() => idempotency.purge(ttl), 3_600_000);
    purge.unref();
  });
  app.addHook('preClose', async () => {
    ctx.closing.value = true;
  });
  app.addHook('onClose', async () => {
    if (purge !== undefined) clearInterval(purge);
    await expiry.stop();
    await outbox.stop();
    idempotency.flush();
  });
  return app;
}
