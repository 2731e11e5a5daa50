/**
 * The outbox: messages to booking channels, derived from committed events
 * and delivered to each channel's webhook URL.
 *
 * Deriving: a subscription to the store's global feed from a checkpoint kept
 * in the gateway database; each event's messages and the new checkpoint are
 * written in one transaction, so a crash neither loses nor repeats one.
 *
 * Delivering: due messages are POSTed as JSON, signed like the payment
 * webhook (`Vuoro-Signature`, with the channel's webhook secret), with
 * `Vuoro-Message-Id` for the receiver's de-duplication (delivery is at least
 * once). A non-2xx answer or a network error is retried with exponential
 * backoff and jitter; after `maxAttempts` the message is dead-lettered and
 * can be retried by hand. Channels without a webhook URL pull instead
 * (`GET /v1/events`): no messages are kept for them (one that loses its URL
 * later has its pending messages marked skipped).
 */
import { createHash } from 'node:crypto';
import type { EventStore, RecordedEvent, Subscription } from '@vuoro/engine';
import type { FastifyBaseLogger } from 'fastify';
import type { KeyStore } from '../auth/keys.js';
import { sign, SIGNATURE_HEADER } from '../http/signature.js';
import type { Metrics } from '../ops/metrics.js';
import type { Db } from '../storage/db.js';
import { derive, type MessageType, type ReservationInfo } from './derive.js';

export const MESSAGE_STATUSES = ['pending', 'delivered', 'dead', 'cancelled', 'skipped'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface OutboxOptions {
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  /** How often due messages are looked for (new messages also wake the dispatcher). */
  pollMs: number;
  /** Hour (Helsinki) of the day before a reservation at which its reminder goes out. */
  reminderHour: number;
  /** Deliveries in flight at once. */
  concurrency: number;
}

export interface OutboxMessage {
  messageId: string;
  channelId: string;
  type: MessageType;
  reservationId: string | null;
  status: MessageStatus;
  attempts: number;
  deliverAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  payload: Record<string, unknown>;
}

interface MessageRow {
  message_id: string;
  channel_id: string;
  type: MessageType;
  reservation_id: string | null;
  status: MessageStatus;
  attempts: number;
  deliver_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  payload: string;
}

interface InfoRow {
  reservation_id: string;
  channel_id: string | null;
  site_id: string;
  unit_id: string | null;
  customer_id: string | null;
  start_at: number;
  end_at: number;
  amount_cents: number;
  state: string;
}

const CHECKPOINT = 'outbox';

const toMessage = (r: MessageRow): OutboxMessage => ({
  messageId: r.message_id,
  channelId: r.channel_id,
  type: r.type,
  reservationId: r.reservation_id,
  status: r.status,
  attempts: r.attempts,
  deliverAt: r.deliver_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
});

const toInfo = (r: InfoRow): ReservationInfo => ({
  reservationId: r.reservation_id,
  channelId: r.channel_id,
  siteId: r.site_id,
  unitId: r.unit_id,
  customerId: r.customer_id,
  start: r.start_at,
  end: r.end_at,
  amountCents: r.amount_cents,
  state: r.state,
});

export interface DispatchReport {
  delivered: number;
  retried: number;
  dead: number;
  skipped: number;
}

export class Outbox {
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dispatching: Promise<DispatchReport> | undefined;
  private wakeAgain = false;
  private stopped = false;
  private readonly sql;
  /** Resolves waiters of `caughtUp(position)`. */
  private readonly positionWaiters: { position: number; resolve: () => void }[] = [];
  private position: number;
  /** The last position handed to `consume` (applied or still buffered). */
  private queued: number;
  private buffer: RecordedEvent[] = [];
  private flushScheduled = false;

  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly options: OutboxOptions,
    private readonly deps: {
      clock: () => number;
      metrics: Metrics;
      log: FastifyBaseLogger;
      fetch?: typeof fetch;
      /**
       * Whether this node delivers now (default: always). In a cluster every node derives the same
       * messages from the replicated feed; only one delivers, or each channel would get every message
       * once per node. A node that stops delivering leaves its messages pending.
       */
      delivers?: () => boolean;
    },
  ) {
    this.sql = {
      checkpoint: db.prepare<[string], { position: number }>('SELECT position FROM checkpoints WHERE name = ?'),
      setCheckpoint: db.prepare('INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position'),
      info: db.prepare<[string], InfoRow>('SELECT * FROM reservations WHERE reservation_id = ?'),
      putInfo: db.prepare(
        `INSERT INTO reservations (reservation_id, channel_id, site_id, unit_id, customer_id, start_at, end_at, amount_cents, state)
         VALUES (@reservationId, @channelId, @siteId, @unitId, @customerId, @start, @end, @amountCents, @state)
         ON CONFLICT(reservation_id) DO UPDATE SET start_at = excluded.start_at, end_at = excluded.end_at,
           amount_cents = excluded.amount_cents, state = excluded.state`,
      ),
      insert: db.prepare(
        `INSERT OR IGNORE INTO outbox (message_id, channel_id, type, reservation_id, dedupe_key, payload, status, deliver_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      ),
      cancelReminders: db.prepare("UPDATE outbox SET status = 'cancelled' WHERE reservation_id = ? AND type = 'reservation.reminder' AND status = 'pending'"),
      due: db.prepare<[number, number], MessageRow>("SELECT * FROM outbox WHERE status = 'pending' AND deliver_at <= ? ORDER BY deliver_at, created_at LIMIT ?"),
      nextDue: db.prepare<[], { deliver_at: number }>("SELECT deliver_at FROM outbox WHERE status = 'pending' ORDER BY deliver_at LIMIT 1"),
      delivered: db.prepare("UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE message_id = ?"),
      failed: db.prepare('UPDATE outbox SET status = ?, attempts = ?, deliver_at = ?, last_error = ? WHERE message_id = ?'),
      skipped: db.prepare("UPDATE outbox SET status = 'skipped', last_error = ? WHERE message_id = ?"),
      byId: db.prepare<[string], MessageRow>('SELECT * FROM outbox WHERE message_id = ?'),
      requeue: db.prepare("UPDATE outbox SET status = 'pending', attempts = 0, deliver_at = ?, last_error = NULL WHERE message_id = ?"),
      counts: db.prepare<[], { status: MessageStatus; n: number }>('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status'),
    };
    this.position = this.sql.checkpoint.get(CHECKPOINT)?.position ?? 0;
    this.queued = this.position;
  }

  /** The last feed position the outbox has processed. */
  get checkpoint(): number {
    return this.position;
  }

  /** The channel that made a reservation, as the events tell (null: none, e.g. the catalogue loader). */
  ownerOf(reservationId: string): string | null | undefined {
    const row = this.sql.info.get(reservationId);
    return row === undefined ? undefined : row.channel_id;
  }

  /**
   * Takes one event from the feed. Events are buffered and applied once per
   * event-loop turn, in one transaction with the checkpoint: a busy feed
   * costs one write, not one per event. A crash before the write replays the
   * events from the stored checkpoint, and replays derive the same messages
   * (their de-duplication keys are unique), so none is lost or doubled.
   */
  readonly consume = (event: RecordedEvent): void => {
    if (event.position <= this.queued) return;
    this.queued = event.position;
    this.buffer.push(event);
    if (this.buffer.length >= 1000) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  };

  private flush(): void {
    this.flushScheduled = false;
    const events = this.buffer;
    if (events.length === 0) return;
    this.buffer = [];
    let created = 0;
    const now = this.deps.clock();
    this.db.transaction(() => {
      for (const event of events) {
        const reservationId = (event.data as { reservationId?: unknown }).reservationId;
        const known = typeof reservationId === 'string' ? this.sql.info.get(reservationId) : undefined;
        const d = derive(event, known === undefined ? undefined : toInfo(known), { reminderHour: this.options.reminderHour });
        if (d.info !== undefined) this.sql.putInfo.run(d.info);
        if (d.cancelReminders !== undefined) this.sql.cancelReminders.run(d.cancelReminders);
        for (const m of d.messages) {
          // Channels without a webhook URL pull the event feed instead; nothing to keep for them.
          if (this.keys.channel(m.channelId)?.webhookUrl == null) continue;
          // Derived from what the message is, not drawn at random: every node of a cluster (and a rebuild
          // of this database) names the same message the same, so a receiver can drop a second delivery.
          const messageId = `msg_${createHash('sha256').update(`${m.channelId}\u0000${m.dedupeKey}`).digest('hex').slice(0, 32)}`;
          const payload = JSON.stringify({ messageId, ...m.payload });
          created += this.sql.insert.run(messageId, m.channelId, m.type, m.reservationId, m.dedupeKey, payload, m.deliverAt, now).changes;
        }
      }
      this.sql.setCheckpoint.run(CHECKPOINT, (events[events.length - 1] as RecordedEvent).position);
    })();
    this.position = (events[events.length - 1] as RecordedEvent).position;
    this.releaseWaiters();
    if (created > 0) this.wake();
  }

  /** Resolves once the outbox has processed the feed up to `position`. */
  caughtUp(position: number): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    return new Promise((resolve) => this.positionWaiters.push({ position, resolve }));
  }

  private releaseWaiters(): void {
    for (let i = this.positionWaiters.length - 1; i >= 0; i--) {
      const w = this.positionWaiters[i];
      if (w !== undefined && w.position <= this.position) {
        this.positionWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Follows the feed from the checkpoint and starts delivering. */
  start(store: EventStore): void {
    this.stopped = false;
    this.follow(store);
    if (this.options.pollMs > 0) {
      this.timer = setInterval(() => this.wake(), this.options.pollMs);
      this.timer.unref();
    }
  }

  private follow(store: EventStore): void {
    this.flush();
    this.queued = this.position;
    const sub = store.subscribe({ after: this.position, handler: this.consume });
    this.subscription = sub;
    void sub.done.then(() => {
      if (this.stopped || this.subscription !== sub) return;
      this.deps.log.error({ err: sub.failure }, 'outbox subscription stopped; resubscribing from the checkpoint');
      setTimeout(() => {
        if (!this.stopped) this.follow(store);
      }, 1000).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.close();
    this.flush();
    await this.dispatching;
  }

  /** Asks for a delivery round soon (coalesced with one in progress). */
  wake(): void {
    if (this.stopped) return;
    if (this.dispatching !== undefined) {
      this.wakeAgain = true;
      return;
    }
    this.dispatching = this.dispatch()
      .catch((error: unknown) => {
        this.deps.log.error({ err: error }, 'outbox delivery round failed');
        return { delivered: 0, retried: 0, dead: 0, skipped: 0 };
      })
      .finally(() => {
        this.dispatching = undefined;
        if (this.wakeAgain) {
          this.wakeAgain = false;
          this.wake();
        }
      });
  }

  /** Delivers every message due at `now` (one round); callable directly in tests. */
  async dispatch(now: number = this.deps.clock()): Promise<DispatchReport> {
    const report: DispatchReport = { delivered: 0, retried: 0, dead: 0, skipped: 0 };
    if (this.deps.delivers?.() === false) return report;
    for (;;) {
      const due = this.sql.due.all(now, 100);
      if (due.length === 0) return report;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < due.length) {
          const row = due[next++] as MessageRow;
          await this.deliver(row, now, report);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.options.concurrency, due.length) }, worker));
      if (due.length < 100) return report;
    }
  }

  private async deliver(row: MessageRow, now: number, report: DispatchReport): Promise<void> {
    const channel = this.keys.channel(row.channel_id);
    const secret = this.keys.webhookSecretOf(row.channel_id);
    if (channel === undefined || channel.webhookUrl === null || secret === undefined) {
      this.sql.skipped.run('the channel has no webhook URL (it pulls GET /v1/events)', row.message_id);
      report.skipped++;
      return;
    }
    let error: string | undefined;
    try {
      const response = await (this.deps.fetch ?? fetch)(channel.webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: sign(secret, row.payload, this.deps.clock() / 1000),
          'vuoro-message-id': row.message_id,
          'vuoro-message-type': row.type,
          'user-agent': 'vuoro-outbox/1',
        },
        body: row.payload,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) error = `HTTP ${response.status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    if (error === undefined) {
      this.sql.delivered.run(this.deps.clock(), row.message_id);
      this.deps.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
      report.delivered++;
      return;
    }
    const attempts = row.attempts + 1;
    if (attempts >= this.options.maxAttempts) {
      this.sql.failed.run('dead', attempts, row.deliver_at, error, row.message_id);
      this.deps.metrics.webhookDeliveries.inc({ outcome: 'dead' });
      this.deps.log.warn({ messageId: row.message_id, channelId: row.channel_id, attempts, error }, 'outbox message dead-lettered');
      report.dead++;
      return;
    }
    this.sql.failed.run('pending', attempts, now + this.backoff(attempts), error, row.message_id);
    this.deps.metrics.webhookDeliveries.inc({ outcome: 'retry' });
    report.retried++;
  }

  /** Exponential backoff with ±20 % jitter, so retries of many messages do not arrive in lockstep. */
  backoff(attempts: number): number {
    const base = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (attempts - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  message(messageId: string): OutboxMessage | undefined {
    const row = this.sql.byId.get(messageId);
    return row === undefined ? undefined : toMessage(row);
  }

  /** A channel's messages, newest first, with a cursor. */
  list(channelId: string, filter: { status?: MessageStatus; before?: { createdAt: number; messageId: string }; limit: number }): OutboxMessage[] {
    const where = ['channel_id = ?'];
    const args: (string | number)[] = [channelId];
    if (filter.status !== undefined) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.before !== undefined) {
      where.push('(created_at < ? OR (created_at = ? AND message_id < ?))');
      args.push(filter.before.createdAt, filter.before.createdAt, filter.before.messageId);
    }
    const rows = this.db
      .prepare(`SELECT * FROM outbox WHERE ${where.join(' AND ')} ORDER BY created_at DESC, message_id DESC LIMIT ?`)
      .all(...args, filter.limit) as MessageRow[];
    return rows.map(toMessage);
  }

  /** Puts a dead-lettered or skipped message back in the queue, due now. */
  retry(messageId: string): OutboxMessage | undefined {
    this.sql.requeue.run(this.deps.clock(), messageId);
    this.wake();
    return this.message(messageId);
  }

  counts(): Record<MessageStatus, number> {
    const out = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
    for (const { status, n } of this.sql.counts.all()) out[status] = n;
    return out;
  }

  /** When the next pending message falls due (for operators and tests). */
  nextDueAt(): number | undefined {
    return this.sql.nextDue.get()?.deliver_at;
  }
}
