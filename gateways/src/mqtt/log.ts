/**
 * Logging of refused input without letting a hostile device flood the log:
 * per kind of refusal, the first `burst` in each window are logged in full,
 * the rest only counted, and the count is logged when the window turns.
 * Every refusal is counted (`counts`) whatever was logged.
 */
import type { AccessLogger } from '@vuoro/access-control';

export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();
  readonly counts = new Map<string, number>();

  constructor(
    readonly log: AccessLogger,
    private readonly burst = 20,
    private readonly windowMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  warn(kind: string, obj: Record<string, unknown>, msg: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const now = this.clock();
    let w = this.windows.get(kind);
    if (w === undefined || now - w.start >= this.windowMs) {
      if (w !== undefined && w.suppressed > 0) this.log.warn({ kind, suppressed: w.suppressed }, `${w.suppressed} more '${kind}' refusals in the last minute (not logged one by one)`);
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(kind, w);
    }
    if (w.logged < this.burst) {
      w.logged++;
      this.log.warn({ kind, ...obj }, msg);
    } else w.suppressed++;
  }

  count(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }
}
