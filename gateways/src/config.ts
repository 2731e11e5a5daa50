/**
 * Configuration by environment variables, validated once at start with clear
 * errors. Defaults run the whole system embedded: SQLite under ./data and the
 * demo catalogue. Every variable is documented in gateways/README.md.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { AppDeps } from './app.js';

const bool = (fallback: 'true' | 'false') => z.enum(['true', 'false']).default(fallback).transform((v) => v === 'true');
const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: int(8080, 0, 65535),
  DATA_DIR: z.string().default('./data'),
  STORE: z.enum(['sqlite', 'memory', 'nats', 'eventstoredb']).default('sqlite'),
  SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /** One server, or several comma-separated (this node's own server first). */
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Replicas of the JetStream stream and buckets when Vuoro creates them (3 on a 3-node cluster). */
  NATS_REPLICAS: int(1, 1, 5),
  /** Several Vuoro nodes share the partitions over a NATS cluster (needs STORE=nats); see engine/src/cluster/README.md. */
  CLUSTER: bool('false'),
  /** This node's name in the cluster: unique and stable (default: host name and port). */
  NODE_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)').optional(),
  /** A partition lease nobody renews expires after this long: the failover time is about this plus a few seconds. */
  LEASE_TTL_MS: int(6000, 2000, 600_000),
  EVENTSTORE_URL: z.string().optional(),
  CATALOGUE_FILE: z.string().default(resolve(import.meta.dirname, '../../infra/demo-catalogue.json')),
  /** Load the catalogue file at start (idempotent: an existing store is left as it is). */
  LOAD_CATALOGUE: bool('true'),
  SNAPSHOT_EVERY: int(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** Create a demo channel with a book+staff key at start and print the key (and an admin key when none exists). */
  DEMO_KEYS: bool('true'),
  /** Trust X-Forwarded-* from a proxy in front (for client addresses in logs and IP rate limits). */
  TRUST_PROXY: bool('false'),
  BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  RATE_LIMIT_MAX: int(600, 1),
  RATE_LIMIT_WINDOW_MS: int(60_000, 1000),
  IDEMPOTENCY_TTL_HOURS: int(48, 1),
  MAX_SEARCH_DAYS: int(31, 1, 366),
  SSE_HEARTBEAT_MS: int(15_000, 1000),

  /** Shared secret of the payment provider's webhook; webhooks are refused while unset. */
  PAYMENT_WEBHOOK_SECRET: z.string().min(16, 'use at least 16 characters').optional(),
  PAYMENT_WEBHOOK_TOLERANCE_SECONDS: int(300, 1),
  /** How often holds and unpaid reservations past their deadline are expired; 0 = never. */
  EXPIRY_INTERVAL_MS: int(15_000),

  OUTBOX_POLL_MS: int(1000),
  OUTBOX_MAX_ATTEMPTS: int(10, 1),
  OUTBOX_BACKOFF_MS: int(2000, 1),
  OUTBOX_MAX_BACKOFF_MS: int(3_600_000, 1),
  OUTBOX_CONCURRENCY: int(8, 1, 256),
  WEBHOOK_TIMEOUT_MS: int(5000, 100),
  /** Hour (Helsinki time) of the day before a reservation at which its reminder goes out. */
  REMINDER_HOUR: int(10, 0, 23),
});

export type Config = z.infer<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return parsed.data;
}

/** The HTTP service's settings from the configuration. */
export function appSettings(config: Config): NonNullable<AppDeps['settings']> {
  return {
    logLevel: config.LOG_LEVEL,
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT_BYTES,
    rateLimitMax: config.RATE_LIMIT_MAX,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
    idempotencyTtlHours: config.IDEMPOTENCY_TTL_HOURS,
    maxSearchDays: config.MAX_SEARCH_DAYS,
    sseHeartbeatMs: config.SSE_HEARTBEAT_MS,
    paymentWebhookSecret: config.PAYMENT_WEBHOOK_SECRET,
    paymentWebhookToleranceSeconds: config.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
    expiryIntervalMs: config.EXPIRY_INTERVAL_MS,
    outbox: {
      pollMs: config.OUTBOX_POLL_MS,
      maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
      backoffMs: config.OUTBOX_BACKOFF_MS,
      maxBackoffMs: config.OUTBOX_MAX_BACKOFF_MS,
      concurrency: config.OUTBOX_CONCURRENCY,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      reminderHour: config.REMINDER_HOUR,
    },
  };
}
