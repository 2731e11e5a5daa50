/**
 * A channel's view of its outbox: which messages were sent, are waiting for
 * a retry, or were dead-lettered (with the last error), and a way to send a
 * dead-lettered one again once the channel's endpoint works.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/plugin.js';
import type { ApiContext } from '../context.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { cursor, decodeCursor, encodeCursor, instant, limit } from '../http/schemas.js';
import { formatInstant } from '@vuoro/engine';
import { MESSAGE_TYPES } from './derive.js';
import { MESSAGE_STATUSES, type OutboxMessage } from './outbox.js';

const messageSchema = z
  .object({
    messageId: z.string(),
    type: z.enum(MESSAGE_TYPES),
    reservationId: z.string().nullable(),
    status: z.enum(MESSAGE_STATUSES),
    attempts: z.number().int(),
    deliverAt: instant.describe('When it is (or was) due: the next attempt while pending'),
    lastError: z.string().nullable(),
    createdAt: instant,
    deliveredAt: instant.nullable(),
    payload: z.record(z.string(), z.unknown()).describe('Exactly what is POSTed to the webhook'),
  })
  .meta({ id: 'OutboxMessage' });

const dto = (m: OutboxMessage) => ({
  messageId: m.messageId,
  type: m.type,
  reservationId: m.reservationId,
  status: m.status,
  attempts: m.attempts,
  deliverAt: formatInstant(m.deliverAt),
  lastError: m.lastError,
  createdAt: formatInstant(m.createdAt),
  deliveredAt: m.deliveredAt === null ? null : formatInstant(m.deliveredAt),
  payload: m.payload,
});

const isBefore = (x: unknown): x is { createdAt: number; messageId: string } =>
  typeof x === 'object' && x !== null && typeof (x as { createdAt?: unknown }).createdAt === 'number' && typeof (x as { messageId?: unknown }).messageId === 'string';

export async function outboxRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const TAG = ['Messages'];

  r.get('/v1/messages', {
    schema: {
      tags: TAG,
      summary: 'Messages to your channel',
      description:
        'Newest first. Messages are POSTed to your channel’s webhook URL, signed with `Vuoro-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` using your channel’s webhook secret, with `Vuoro-Message-Id` to de-duplicate (delivery is at least once).',
      querystring: z.object({ status: z.enum(MESSAGE_STATUSES).optional(), cursor: cursor.optional(), limit: limit(200, 50) }).strict(),
      response: { 200: z.object({ items: z.array(messageSchema), nextCursor: z.string().nullable() }), ...problemResponses(400, 401, 403, 429) },
    },
    config: { scopes: ['book', 'staff'] },
    handler: async (req) => {
      const { channelId } = principalOf(req);
      const before = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor, isBefore);
      if (req.query.cursor !== undefined && before === undefined) {
        throw new ApiError('VALIDATION_FAILED', 'The cursor is not one this API gave out; start again without a cursor.', { field: 'cursor' });
      }
      const items = ctx.outbox.list(channelId, {
        ...(req.query.status === undefined ? {} : { status: req.query.status }),
        ...(before === undefined ? {} : { before }),
        limit: req.query.limit + 1,
      });
      const page = items.slice(0, req.query.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(dto),
        nextCursor: items.length > req.query.limit && last !== undefined ? encodeCursor({ createdAt: last.createdAt, messageId: last.messageId }) : null,
      };
    },
  });

  r.post('/v1/messages/:messageId/retry', {
    schema: {
      tags: TAG,
      summary: 'Send a dead-lettered or skipped message again',
      params: z.object({ messageId: z.string().max(100) }).strict(),
      response: { 200: messageSchema, ...problemResponses(401, 403, 404, 409, 429) },
    },
    config: { scopes: ['book', 'staff'], command: true },
    handler: async (req) => {
      const { channelId } = principalOf(req);
      const m = ctx.outbox.message(req.params.messageId);
      if (m === undefined || m.channelId !== channelId) {
        throw new ApiError('NOT_FOUND', `Message ${req.params.messageId} does not exist for your channel.`, { field: 'messageId' });
      }
      if (m.status !== 'dead' && m.status !== 'skipped') {
        throw new ApiError('INVALID_STATE', `Message ${m.messageId} is ${m.status}; only dead-lettered or skipped messages can be sent again.`);
      }
      const requeued = ctx.outbox.retry(m.messageId);
      if (requeued === undefined) throw new ApiError('NOT_FOUND', `Message ${req.params.messageId} does not exist.`);
      return dto(requeued);
    },
  });
}
