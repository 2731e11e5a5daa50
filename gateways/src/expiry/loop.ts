/**
 * The expiry loop: every `intervalMs`, finds holds and unpaid reservations
 * past their deadline in each partition (`dueForExpiry`, from memory) and
 * sends `ExpireReservation` for each, so their slots free up. `sweep(now)`
 * can also be called directly (tests, an operator).
 *
 * Expiry commands carry no idempotency key on purpose: expiring is naturally
 * idempotent (a second attempt is refused as INVALID_STATE), and a key would
 * make the engine remember an early NOT_YET_EXPIRED refusal for the key.
 */
import { dueForExpiry, type Engine } from '@vuoro/engine';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../ops/metrics.js';

const EXPIRY = { kind: 'system', name: 'expiry' } as const;

export interface SweepReport {
  due: number;
  expired: number;
  /** Refused by the decider (e.g. paid or cancelled meanwhile, or its clock is behind ours). */
  refused: { reservationId: string; code: string }[];
}

export class ExpiryLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepReport> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly options: { intervalMs: number; clock: () => number; metrics: Metrics; log: FastifyBaseLogger },
  ) {}

  /** Expires everything due at `now` in every loaded partition. */
  async sweep(now: number = this.options.clock()): Promise<SweepReport> {
    const report: SweepReport = { due: 0, expired: 0, refused: [] };
    for (const siteId of this.engine.partitions()) {
      const actor = await this.engine.site(siteId);
      const due = actor.read((s) => dueForExpiry(s, now));
      report.due += due.length;
      // Sent together, so one partition commits them in one group commit.
      const outcomes = await Promise.all(
        due.map((d) =>
          this.engine
            .execute({ type: 'ExpireReservation', data: { reservationId: d.reservationId }, meta: { actor: EXPIRY } }, { siteId, channel: 'system' })
            .then((o) => ({ d, o })),
        ),
      );
      for (const { d, o } of outcomes) {
        this.options.metrics.commands.inc({ type: 'ExpireReservation', outcome: o.ok ? 'ok' : o.error.code });
        if (o.ok) {
          report.expired++;
          this.options.metrics.expirations.inc({ reason: d.reason });
        } else {
          report.refused.push({ reservationId: d.reservationId, code: o.error.code });
        }
      }
    }
    if (report.expired > 0 || report.refused.length > 0) this.options.log.info(report, 'expiry sweep');
    return report;
  }

  start(): void {
    if (this.timer !== undefined || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.sweep()
        .catch((error: unknown) => {
          this.options.log.error({ err: error }, 'expiry sweep failed');
          return { due: 0, expired: 0, refused: [] };
        })
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
