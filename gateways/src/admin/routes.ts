/**
 * Key management (scope `admin`): channels, their webhook URLs, and API keys
 * with scopes. A key's secret and a channel's webhook secret are shown once,
 * in the answer to the request that created them; an idempotent replay of
 * that request gets the same answer with the secret blanked out (the gateway
 * keeps only the key's hash).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SCOPES, type ApiKey, type Channel } from '../auth/keys.js';
import type { ApiContext } from '../context.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { id } from '../http/schemas.js';

const TAG = ['Administration'];
const COMMON = problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 429);

const webhookUrl = z
  .url({ protocol: /^https?$/, message: 'an http(s) URL' })
  .max(2000)
  .nullable()
  .describe('Where outbox messages are POSTed; null: the channel pulls GET /v1/events instead');

const channelSchema = z
  .object({ channelId: z.string(), name: z.string(), webhookUrl: z.string().nullable(), createdAt: z.string() })
  .meta({ id: 'Channel' });

const keySchema = z
  .object({
    keyId: z.string(),
    channelId: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    staffId: z.string().nullable(),
    hint: z.string().describe('The last characters of the secret'),
    rateLimit: z.number().int().nullable(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

const channelDto = (c: Channel) => ({ ...c, createdAt: new Date(c.createdAt).toISOString() });
const keyDto = (k: ApiKey) => ({
  ...k,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

export async function adminRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { keys } = ctx;

  r.post('/v1/admin/channels', {
    schema: {
      tags: TAG,
      summary: 'Create a booking channel',
      description: 'Answers with the channel’s webhook secret, once: keep it to verify the signatures of the messages Vuoro sends.',
      body: z.object({ channelId: id.optional(), name: z.string().trim().min(1).max(200), webhookUrl: webhookUrl.optional() }).strict(),
      response: { 201: z.object({ channel: channelSchema, webhookSecret: z.string().nullable() }), ...COMMON },
    },
    config: { scopes: ['admin'], command: { redact: ['webhookSecret'] } },
    handler: async (req, reply) => {
      if (req.body.channelId !== undefined && keys.channel(req.body.channelId) !== undefined) {
        throw new ApiError('ALREADY_EXISTS', `Channel ${req.body.channelId} already exists.`, { field: 'channelId' });
      }
      const { channel, webhookSecret } = keys.createChannel({
        ...(req.body.channelId === undefined ? {} : { channelId: req.body.channelId }),
        name: req.body.name,
        webhookUrl: req.body.webhookUrl ?? null,
      });
      reply.code(201);
      return { channel: channelDto(channel), webhookSecret };
    },
  });

  r.get('/v1/admin/channels', {
    schema: { tags: TAG, summary: 'List channels', response: { 200: z.object({ items: z.array(channelSchema) }), ...COMMON } },
    config: { scopes: ['admin'] },
    handler: async () => ({ items: keys.channels().map(channelDto) }),
  });

  r.patch('/v1/admin/channels/:channelId', {
    schema: {
      tags: TAG,
      summary: 'Rename a channel or change its webhook URL',
      params: z.object({ channelId: id }).strict(),
      body: z.object({ name: z.string().trim().min(1).max(200).optional(), webhookUrl: webhookUrl.optional() }).strict(),
      response: { 200: channelSchema, ...COMMON },
    },
    config: { scopes: ['admin'], command: true },
    handler: async (req) => {
      const updated = keys.updateChannel(req.params.channelId, {
        ...(req.body.name === undefined ? {} : { name: req.body.name }),
        ...(req.body.webhookUrl === undefined ? {} : { webhookUrl: req.body.webhookUrl }),
      });
      if (updated === undefined) throw new ApiError('NOT_FOUND', `Channel ${req.params.channelId} does not exist.`, { field: 'channelId' });
      return channelDto(updated);
    },
  });

  r.post('/v1/admin/keys', {
    schema: {
      tags: TAG,
      summary: 'Create an API key',
      description:
        'Scopes: `book` (act for customers named in Vuoro-Customer), `staff` (booking office actions, acting as `staffId`), `analyst`, `device-admin`, `admin`. The secret is in this answer only; store it safely.',
      body: z
        .object({
          channelId: id,
          name: z.string().trim().min(1).max(200),
          scopes: z.array(z.enum(SCOPES)).min(1),
          staffId: id.optional().describe('Who staff actions are recorded as; defaults to an id derived from the key'),
          rateLimit: z.number().int().min(1).max(1_000_000).optional().describe('Requests per rate-limit window; default: the server’s'),
        })
        .strict(),
      response: { 201: z.object({ key: keySchema, secret: z.string().nullable() }), ...COMMON },
    },
    config: { scopes: ['admin'], command: { redact: ['secret'] } },
    handler: async (req, reply) => {
      if (keys.channel(req.body.channelId) === undefined) {
        throw new ApiError('NOT_FOUND', `Channel ${req.body.channelId} does not exist; create it first.`, { field: 'channelId' });
      }
      const { key, secret } = keys.createKey({
        channelId: req.body.channelId,
        name: req.body.name,
        scopes: req.body.scopes,
        staffId: req.body.staffId ?? null,
        rateLimit: req.body.rateLimit ?? null,
      });
      reply.code(201);
      return { key: keyDto(key), secret };
    },
  });

  r.get('/v1/admin/keys', {
    schema: {
      tags: TAG,
      summary: 'List API keys',
      querystring: z.object({ channelId: id.optional() }).strict(),
      response: { 200: z.object({ items: z.array(keySchema) }), ...COMMON },
    },
    config: { scopes: ['admin'] },
    handler: async (req) => ({ items: keys.keys(req.query.channelId).map(keyDto) }),
  });

  r.delete('/v1/admin/keys/:keyId', {
    schema: {
      tags: TAG,
      summary: 'Revoke an API key',
      description: 'Takes effect at once. Revoking a revoked key changes nothing.',
      params: z.object({ keyId: id }).strict(),
      response: { 200: keySchema, ...COMMON },
    },
    config: { scopes: ['admin'], command: true },
    handler: async (req) => {
      if (keys.key(req.params.keyId) === undefined) throw new ApiError('NOT_FOUND', `Key ${req.params.keyId} does not exist.`, { field: 'keyId' });
      const revoked = keys.revoke(req.params.keyId);
      if (revoked === undefined) throw new ApiError('NOT_FOUND', `Key ${req.params.keyId} does not exist.`);
      return keyDto(revoked);
    },
  });
}
