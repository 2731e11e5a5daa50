/**
 * `GET /v1/events?after=<position>`: the store's global feed as server-sent
 * events, for channels that prefer to pull. Each event's SSE `id` is its
 * position, so a client that reconnects with `Last-Event-ID` (browsers do)
 * resumes exactly where it left off.
 *
 * Filtered to what the key may see: staff everything; analysts the sites'
 * events; a booking channel the events of reservations it made.
 */
import { once } from 'node:events';
import type { RecordedEvent } from '@vuoro/engine';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { hasScope, principalOf } from '../auth/plugin.js';
import type { ApiKey } from '../auth/keys.js';
import type { ApiContext } from '../context.js';
import { ApiError, problemResponses } from '../http/problems.js';

const feedEvent = z
  .object({
    position: z.number().int(),
    stream: z.string(),
    siteId: z.string().nullable(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    recordedAt: z.string(),
    actor: z.string().optional().describe('Staff and analysts only'),
    channel: z.string().optional().describe('Staff and analysts only'),
  })
  .meta({ id: 'FeedEvent', description: 'One SSE `data:` line; the SSE `id` is the position and the SSE `event` the type' });

export async function eventRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.withTypeProvider<ZodTypeProvider>().get('/v1/events', {
    schema: {
      tags: ['Events'],
      summary: 'Server-sent events from the global feed',
      description:
        'Streams `text/event-stream`: past events after `after` (or the Last-Event-ID header), then live ones. `id:` is the feed position, `event:` the event type, `data:` a FeedEvent as JSON. Comment lines keep the connection alive. Booking channels see the events of reservations they made; staff see everything.',
      querystring: z.object({ after: z.coerce.number().int().min(0).optional().describe('Deliver events after this position (default 0, or Last-Event-ID)') }).strict(),
      headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,15}$/).optional() }),
      response: { 200: feedEvent.describe('text/event-stream of FeedEvent'), ...problemResponses(400, 401, 403, 429, 503) },
    },
    config: { scopes: ['book', 'staff', 'analyst'] },
    handler: async (req, reply) => {
      if (ctx.closing.value) throw new ApiError('SHUTTING_DOWN', 'The service is restarting; reconnect in a moment with Last-Event-ID.');
      const key = principalOf(req);
      const header = req.headers['last-event-id'];
      const after = req.query.after ?? (typeof header === 'string' ? Number(header) : 0);
      const visible = visibility(key, ctx);
      const staffView = hasScope(key, 'staff') || hasScope(key, 'analyst');

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      res.write('retry: 2000\n\n');
      open.add(res);
      ctx.metrics.sseClients.inc();

      const subscription = ctx.engine.store.subscribe({
        after,
        handler: async (event) => {
          if (res.destroyed || res.writableEnded) return;
          if (!(await visible(event))) return;
          const frame = {
            position: event.position,
            stream: event.stream,
            siteId: event.stream.startsWith('site-') ? event.stream.slice(5) : null,
            type: event.type,
            data: event.data as Record<string, unknown>,
            recordedAt: event.metadata.recordedAt,
            ...(staffView && typeof event.metadata.actor === 'string' ? { actor: event.metadata.actor } : {}),
            ...(staffView && typeof event.metadata.channel === 'string' ? { channel: event.metadata.channel } : {}),
          };
          if (!res.write(`id: ${event.position}\nevent: ${event.type}\ndata: ${JSON.stringify(frame)}\n\n`)) {
            await Promise.race([once(res, 'drain'), once(res, 'close')]);
          }
        },
      });
      const heartbeat = setInterval(() => {
        if (!res.writableEnded) res.write(': keep-alive\n\n');
      }, ctx.settings.sseHeartbeatMs);
      heartbeat.unref();
      let cleaned = false;
      const cleanup = (): void => {
        if (cleaned) return;
        cleaned = true;
        clearInterval(heartbeat);
        open.delete(res);
        ctx.metrics.sseClients.dec();
        void subscription.close();
        if (!res.writableEnded) res.end();
      };
      res.on('close', cleanup);
      void subscription.done.then(() => {
        if (subscription.failure !== undefined) req.log.warn({ err: subscription.failure }, 'event stream ended by the store');
        cleanup();
      });
    },
  });
}

/** Whether a key may see an event. */
function visibility(key: ApiKey, ctx: ApiContext): (e: RecordedEvent) => boolean | Promise<boolean> {
  if (hasScope(key, 'staff')) return () => true;
  if (hasScope(key, 'analyst')) return (e) => e.stream.startsWith('site-');
  // A booking channel: its own reservations only. Who made a reservation is in its first event's
  // metadata; later events are matched through the outbox, which learns it from that first event.
  const channelId = key.channelId;
  return async (e) => {
    if (!e.stream.startsWith('site-')) return false;
    if (e.type === 'ReservationRequested') return e.metadata.channel === channelId;
    const reservationId = (e.data as { reservationId?: unknown }).reservationId;
    if (typeof reservationId !== 'string') return false;
    let owner = ctx.outbox.ownerOf(reservationId);
    if (owner === undefined) {
      await ctx.outbox.caughtUp(e.position);
      owner = ctx.outbox.ownerOf(reservationId);
    }
    return owner === channelId;
  };
}
