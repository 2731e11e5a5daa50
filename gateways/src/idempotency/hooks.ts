/**
 * `Idempotency-Key` on every command (routes with `config.command`): a retry
 * with the same key and body gets the first answer (`Idempotent-Replayed:
 * true`) and changes nothing; the same key with a different request is a 422
 * IDEMPOTENCY_KEY_REUSED. Requests that fail validation never claim a key
 * (validation runs before this hook), and 5xx answers release it so a retry
 * runs again.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CUSTOMER_HEADER } from '../auth/acting.js';
import { ApiError } from '../http/problems.js';
import type { IdempotencyStore, StoredResponse } from './store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The idempotency claim of a command request, once made. */
    idempotency: { channelId: string; key: string; settled: boolean } | null;
  }
  interface FastifyContextConfig {
    /** The route is a command: it needs an Idempotency-Key. `redact` lists top-level body fields not to store (secrets shown once). */
    command?: boolean | { redact?: readonly string[] };
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const STORED_HEADERS = ['location', 'etag', 'content-type', 'vuoro-position'] as const;

/** Key order does not change a JSON body's meaning, so it does not change its fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprintOf(req: FastifyRequest): string {
  const customer = req.headers[CUSTOMER_HEADER];
  return createHash('sha256')
    .update(`${req.method}\n${req.url}\n${Array.isArray(customer) ? customer.join(',') : (customer ?? '')}\n${canonicalJson(req.body ?? null)}`)
    .digest('base64url');
}

/** The engine-side key for a command: namespaced by channel, so channels cannot collide. */
export const engineKeyOf = (req: FastifyRequest): string | undefined =>
  req.idempotency === null ? undefined : `${req.idempotency.channelId}:${req.idempotency.key}`;

function replay(reply: FastifyReply, stored: StoredResponse): FastifyReply {
  reply.code(stored.status);
  for (const [name, value] of Object.entries(stored.headers)) reply.header(name, value);
  reply.header('idempotent-replayed', 'true');
  return reply.send(stored.body);
}

function redacted(body: string, fields: readonly string[] | undefined): string {
  if (fields === undefined || fields.length === 0) return body;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    for (const f of fields) if (f in parsed) parsed[f] = null;
    return JSON.stringify(parsed);
  } catch {
    return body;
  }
}

export function installIdempotency(app: FastifyInstance, store: IdempotencyStore): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (req, reply) => {
    const command = req.routeOptions.config.command;
    if (command === undefined || command === false) return;
    const header = req.headers[IDEMPOTENCY_HEADER];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined || !KEY_PATTERN.test(key)) {
      throw new ApiError(
        'VALIDATION_FAILED',
        key === undefined
          ? 'Send an Idempotency-Key header with every command (a fresh random value, e.g. a UUID, reused only when you retry the same request).'
          : 'The Idempotency-Key must be 1-255 visible ASCII characters (e.g. a UUID).',
        { field: 'Idempotency-Key', errors: [{ field: 'Idempotency-Key', in: 'header', message: key === undefined ? 'required' : 'invalid' }] },
      );
    }
    const channelId = req.principal?.channelId ?? 'public';
    const fingerprint = fingerprintOf(req);
    for (;;) {
      const claim = store.begin(channelId, key, fingerprint);
      if (claim.kind === 'proceed') {
        req.idempotency = { channelId, key, settled: false };
        return;
      }
      if (claim.kind === 'mismatch') {
        throw new ApiError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was already used for a different request. Use a new key for a new request; reuse a key only to retry the very same request.',
          { field: 'Idempotency-Key' },
        );
      }
      if (claim.kind === 'replay') return replay(reply, claim.response);
      await claim.done;
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const claim = req.idempotency;
    if (claim === null || claim.settled) return payload;
    claim.settled = true;
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      store.abandon(claim.channelId, claim.key);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    const command = req.routeOptions.config.command;
    const redact = typeof command === 'object' ? command.redact : undefined;
    store.complete(claim.channelId, claim.key, { status: reply.statusCode, headers, body: redacted(payload, redact) });
    return payload;
  });

  // A response that never reached onSend (a lost connection mid-handler) must not leave the key claimed.
  app.addHook('onResponse', async (req) => {
    const claim = req.idempotency;
    if (claim !== null && !claim.settled) {
      claim.settled = true;
      store.abandon(claim.channelId, claim.key);
    }
  });
}
