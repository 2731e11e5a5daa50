/**
 * What the route plugins share: the engine and the gateway's own services.
 * Built once by `buildApp` and handed to each plugin as its options.
 */
import type { Engine } from '@vuoro/engine';
import type { KeyStore } from './auth/keys.js';
import type { ExpiryLoop } from './expiry/loop.js';
import type { IdempotencyStore } from './idempotency/store.js';
import type { Metrics } from './ops/metrics.js';
import type { Outbox } from './outbox/outbox.js';

export interface ApiSettings {
  /** Longest date range one availability search may cover. */
  maxSearchDays: number;
  paymentWebhookSecret: string | undefined;
  paymentWebhookToleranceSeconds: number;
  /** How often an SSE stream sends a keep-alive comment. */
  sseHeartbeatMs: number;
}

export interface ApiContext {
  engine: Engine;
  keys: KeyStore;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  outbox: Outbox;
  expiry: ExpiryLoop;
  clock: () => number;
  settings: ApiSettings;
  /** Set when the service is closing: new SSE streams are refused, open ones end. */
  closing: { value: boolean };
}
