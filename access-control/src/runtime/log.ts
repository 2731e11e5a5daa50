/**
 * The access log writer: decisions, door events, states, connectivity,
 * lockouts, alerts and occupancy intervals go to `access-log-<siteId>` in
 * batches (many events per append), so recording every decision costs the
 * gateway a push onto an array, not a store round trip per decision.
 *
 * Appends use `expectedVersion: 'any'`: the log only grows, nothing is
 * decided on its version. If the store is down, batches are retried with
 * backoff; the buffer is bounded, and what would overflow it is dropped,
 * counted and reported (memory must not grow without limit while the store is
 * away; the counter and the error log say exactly how much is missing).
 */
import type { EventStore, EventToAppend } from '@vuoro/engine';
import { accessLogStream, type LogEvent } from '../events.js';
import type { AccessLogger } from './logger.js';

export interface EventLogOptions {
  /** Flush at most this long after the first buffered event. */
  flushMs?: number;
  /** Events per append at most. */
  maxBatch?: number;
  /** Buffered events at most (all sites). */
  maxBuffered?: number;
  log: AccessLogger;
}

export class EventLog {
  private readonly buffers = new Map<string, EventToAppend[]>();
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private failures = 0;
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private idleWaiters: (() => void)[] = [];
  readonly stats = { appended: 0, dropped: 0, batches: 0, failedAppends: 0 };

  constructor(
    private readonly store: EventStore,
    private readonly options: EventLogOptions,
  ) {
    this.flushMs = options.flushMs ?? 25;
    this.maxBatch = options.maxBatch ?? 2000;
    this.maxBuffered = options.maxBuffered ?? 500_000;
  }

  append(events: readonly LogEvent[], actor = 'system:access-gateway'): void {
    if (this.closed) {
      this.stats.dropped += events.length;
      return;
    }
    for (const e of events) {
      if (this.buffered >= this.maxBuffered) {
        this.stats.dropped++;
        if (this.stats.dropped === 1 || this.stats.dropped % 10_000 === 0) {
          this.options.log.error({ dropped: this.stats.dropped }, 'access log buffer full (the event store is not keeping up or is down): dropping log events');
        }
        continue;
      }
      let buffer = this.buffers.get(e.data.siteId);
      if (buffer === undefined) {
        buffer = [];
        this.buffers.set(e.data.siteId, buffer);
      }
      buffer.push({ type: e.type, data: e.data, metadata: { actor } });
      this.buffered++;
    }
    this.schedule();
  }

  get pending(): number {
    return this.buffered;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.flushing !== undefined || this.buffered === 0) return;
    const delay = this.failures === 0 ? this.flushMs : Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.buffered === 0) for (const w of this.idleWaiters.splice(0)) w();
        this.schedule();
      });
    }, delay);
  }

  private async flush(): Promise<void> {
    for (const [siteId, buffer] of this.buffers) {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, this.maxBatch);
        try {
          await this.store.append(accessLogStream(siteId), batch, { expectedVersion: 'any' });
        } catch (error) {
          this.failures++;
          this.stats.failedAppends++;
          this.options.log.warn({ err: error, siteId, events: batch.length, attempt: this.failures }, 'access log append failed; retrying');
          return;
        }
        this.failures = 0;
        buffer.splice(0, batch.length);
        this.buffered -= batch.length;
        this.stats.appended += batch.length;
        this.stats.batches++;
      }
    }
  }

  /** Resolves once everything buffered so far is stored (or the log is closed). */
  async drain(): Promise<void> {
    if (this.buffered === 0 && this.flushing === undefined) return;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      if (this.timer === undefined && this.flushing === undefined) this.schedule();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.flushing;
    if (this.buffered > 0) await this.flush();
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
