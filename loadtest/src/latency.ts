// Latency recording and the two load drivers every bench uses:
//
// - runClosedLoop: N workers, each starts its next call when the previous one
//   finishes. Measures maximum throughput at a given concurrency.
// - runAtRate: an open-loop driver that starts calls on a fixed schedule,
//   whether or not earlier calls have finished. Latency is measured from the
//   *scheduled* start, so a stalled system cannot hide its queueing delay
//   (no coordinated omission). Use it at, say, half the closed-loop maximum to
//   get honest latencies under load.
//
// Both are bounded in count and in time, and stop by themselves.

import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** An HDR histogram of latencies with microsecond resolution (3 significant digits, up to an hour). */
export class LatencyRecorder {
  private readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

  record(ms: number): void {
    this.histogram.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentileMs(percentile: number): number {
    if (this.histogram.totalCount === 0) return 0;
    return this.histogram.getValueAtPercentile(percentile) / 1000;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    if (h.totalCount === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    return {
      count: h.totalCount,
      meanMs: h.mean / 1000,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: h.maxValue / 1000,
    };
  }
}

export function createLatencyRecorder(): LatencyRecorder {
  return new LatencyRecorder();
}

/** The call under load; `i` is its index in the run (0-based). */
export type LoadCall = (i: number) => Promise<unknown>;

export interface ClosedLoopOptions {
  /** Calls in flight at once. */
  concurrency: number;
  /** Total calls at most. */
  count: number;
  /** No new call starts after this long (default 60 s). */
  maxDurationMs?: number;
}

export interface LoadRunResult {
  /** Calls that resolved. */
  completed: number;
  /** Calls that rejected (their latency is not recorded). */
  failed: number;
  elapsedMs: number;
  /** Resolved calls per second of elapsed time. */
  completedPerSec: number;
  latency: LatencySummary;
  firstError?: unknown;
}

export interface ClosedLoopResult extends LoadRunResult {
  started: number;
  /** True if the time limit stopped the run before `count` calls started. */
  stoppedByTime: boolean;
}

export async function runClosedLoop(options: ClosedLoopOptions, fn: LoadCall): Promise<ClosedLoopResult> {
  const { concurrency, count } = options;
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${concurrency}`);
  const maxDurationMs = options.maxDurationMs ?? 60_000;
  const recorder = new LatencyRecorder();
  let next = 0;
  let completed = 0;
  let failed = 0;
  let firstError: unknown;
  let stoppedByTime = false;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      if (performance.now() - t0 >= maxDurationMs) {
        stoppedByTime = true;
        return;
      }
      const i = next++;
      const start = performance.now();
      try {
        await fn(i);
        recorder.record(performance.now() - start);
        completed++;
      } catch (error) {
        failed++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, count)) }, worker));
  const elapsedMs = performance.now() - t0;
  return {
    started: next,
    completed,
    failed,
    elapsedMs,
    completedPerSec: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
    latency: recorder.summary(),
    stoppedByTime,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

export interface RateRunOptions {
  /** Cap on scheduled calls, below ratePerSec × durationMs. */
  maxCalls?: number;
  /**
   * A scheduled call is dropped (not started, counted in `dropped`) when this
   * many are already in flight: it bounds memory when the system falls far behind.
   * Default 10,000.
   */
  maxInFlight?: number;
  /** How long to wait for in-flight calls after the schedule ends (default 10 s). */
  drainTimeoutMs?: number;
}

export interface RateRunResult extends LoadRunResult {
  ratePerSec: number;
  scheduled: number;
  started: number;
  dropped: number;
  /** Calls still running when the drain timeout ran out. */
  unfinished: number;
  /** How late the last call started against its schedule: the driver's own lag. */
  finalScheduleLagMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts `fn` at `ratePerSec` for `durationMs`, independent of completions.
 * Latency of each call is measured from the moment it was scheduled to start.
 */
export async function runAtRate(
  ratePerSec: number,
  durationMs: number,
  fn: LoadCall,
  options: RateRunOptions = {},
): Promise<RateRunResult> {
  if (!(ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${ratePerSec}`);
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${durationMs}`);
  const scheduled = Math.min(options.maxCalls ?? Number.POSITIVE_INFINITY, Math.floor((ratePerSec * durationMs) / 1000));
  const maxInFlight = options.maxInFlight ?? 10_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const intervalMs = 1000 / ratePerSec;
  const recorder = new LatencyRecorder();
  let started = 0;
  let completed = 0;
  let failed = 0;
  let dropped = 0;
  let inFlight = 0;
  let firstError: unknown;
  let finalScheduleLagMs = 0;
  let onIdle: (() => void) | undefined;

  const t0 = performance.now();
  const launch = (i: number, intendedAt: number) => {
    if (inFlight >= maxInFlight) {
      dropped++;
      return;
    }
    inFlight++;
    started++;
    let call: Promise<unknown>;
    try {
      call = fn(i);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      () => {
        recorder.record(performance.now() - intendedAt);
        completed++;
      },
      (error: unknown) => {
        failed++;
        firstError ??= error;
      },
    ).finally(() => {
      inFlight--;
      if (inFlight === 0) onIdle?.();
    });
  };

  for (let i = 0; i < scheduled; ) {
    const now = performance.now();
    const dueAt = t0 + i * intervalMs;
    if (dueAt > now) {
      // setTimeout has ~1 ms granularity: at high rates every call that fell due while sleeping starts at once.
      await sleep(Math.max(0, Math.floor(dueAt - now)));
      continue;
    }
    // Start everything that is due; being late is charged to the calls' latency.
    while (i < scheduled && t0 + i * intervalMs <= performance.now()) {
      const intendedAt = t0 + i * intervalMs;
      finalScheduleLagMs = performance.now() - intendedAt;
      launch(i, intendedAt);
      i++;
    }
  }

  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainTimeoutMs);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const elapsedMs = performance.now() - t0;
  return {
    ratePerSec,
    scheduled,
    started,
    completed,
    failed,
    dropped,
    unfinished: inFlight,
    elapsedMs,
    completedPerSec: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
    latency: recorder.summary(),
    finalScheduleLagMs,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
