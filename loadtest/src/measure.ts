// The contract a system under test fulfils, and the one measurement loop that
// drives every system (the Emmett baselines, and Vuoro's runtime in
// bench:engine) so their numbers are comparable: same workload, same driver,
// same definition of "a reservation per second".

import { runAtRate, runClosedLoop, type LoadRunResult } from './latency.js';
import type { BookingRequest, ExistingBooking, Site, Workload } from './workload.js';

/** Every request gets a definite answer: confirmed, or refused because the slot is taken. */
export type ReserveOutcome = 'accepted' | 'conflict';

/** What a system knows before the measured stream starts: the catalogue and the bookings already made. */
export interface Calendar {
  sites: readonly Site[];
  existing: readonly ExistingBooking[];
}

export interface ReservationSystem {
  /** Loads the catalogue and existing bookings before the measured stream (timed separately as seedMs). */
  seed(calendar: Calendar): Promise<void>;
  /** Decides one request and resolves once the decision is durable (acknowledged). Rejects only on failure. */
  reserve(request: BookingRequest): Promise<ReserveOutcome>;
  close(): Promise<void>;
}

export interface MeasureOptions {
  /** Requests in flight at once in the closed-loop run (default 8). Ignored when ratePerSec is set. */
  concurrency?: number;
  /** Drive an open loop at this many requests per second instead of a closed loop. */
  ratePerSec?: number;
  /** Index of the first workload request to send (default 0): a later phase continues the same stream. */
  firstRequest?: number;
  /** Use at most this many of the workload's requests (default: all). */
  maxRequests?: number;
  /** Stop issuing requests after this long (default 30 s). */
  maxDurationMs?: number;
  /** Seed the existing bookings first (default true). */
  seed?: boolean;
}

export interface MeasureResult {
  /** Acknowledged requests (accepted + conflicts) per second of the measured run. */
  reservationsPerSec: number;
  /** Accepted (confirmed) reservations per second. */
  acceptedPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  accepted: number;
  conflicts: number;
  /** Requests that failed (no answer): retries exhausted, lost connection, dropped by the open-loop driver. */
  errors: number;
  requests: number;
  elapsedMs: number;
  seedMs: number;
  seededBookings: number;
  concurrency: number;
  ratePerSec: number;
  /** The first failure, to explain a non-zero `errors`. */
  firstError?: unknown;
}

export async function measureReservations(
  system: ReservationSystem,
  workload: Workload,
  options: MeasureOptions = {},
): Promise<MeasureResult> {
  const first = options.firstRequest ?? 0;
  const requests = workload.requests.slice(first, first + (options.maxRequests ?? workload.requests.length));
  if (requests.length === 0) throw new RangeError(`no requests left in the workload from index ${first}`);
  const maxDurationMs = options.maxDurationMs ?? 30_000;
  let seedMs = 0;
  let seededBookings = 0;
  if (options.seed ?? true) {
    const t0 = performance.now();
    await system.seed({ sites: workload.sites, existing: workload.existing });
    seedMs = performance.now() - t0;
    seededBookings = workload.existing.length;
  }

  let accepted = 0;
  let conflicts = 0;
  const call = async (i: number) => {
    const outcome = await system.reserve(requests[i] as BookingRequest);
    if (outcome === 'accepted') accepted++;
    else conflicts++;
  };

  let run: LoadRunResult;
  let dropped = 0;
  let concurrency = 0;
  let ratePerSec = 0;
  if (options.ratePerSec !== undefined) {
    ratePerSec = options.ratePerSec;
    const rated = await runAtRate(ratePerSec, maxDurationMs, call, { maxCalls: requests.length });
    dropped = rated.dropped + rated.unfinished;
    run = rated;
  } else {
    concurrency = options.concurrency ?? 8;
    run = await runClosedLoop({ concurrency, count: requests.length, maxDurationMs }, call);
  }
  if (run.firstError !== undefined && run.completed === 0) {
    throw new Error('every request failed', { cause: run.firstError });
  }
  const seconds = run.elapsedMs / 1000;
  return {
    reservationsPerSec: seconds > 0 ? (accepted + conflicts) / seconds : 0,
    acceptedPerSec: seconds > 0 ? accepted / seconds : 0,
    p50Ms: run.latency.p50Ms,
    p90Ms: run.latency.p90Ms,
    p99Ms: run.latency.p99Ms,
    maxMs: run.latency.maxMs,
    accepted,
    conflicts,
    errors: run.failed + dropped,
    requests: accepted + conflicts + run.failed + dropped,
    elapsedMs: run.elapsedMs,
    seedMs,
    seededBookings,
    concurrency,
    ratePerSec,
    ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
  };
}

/** The numeric fields of a MeasureResult, as a results-file metrics record. */
export function toMetrics(result: MeasureResult): Record<string, number> {
  return Object.fromEntries(
    Object.entries(result).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  );
}

export interface LoadProfileOptions {
  /** Closed-loop concurrency for the maximum-throughput phase (default 8). */
  concurrency?: number;
  /** Length of each phase (default 15 s). */
  phaseMs?: number;
  /** Fraction of the measured maximum to drive the open-loop phase at (default 0.5). */
  rateFraction?: number;
  /** Seed the existing bookings first (default true). */
  seed?: boolean;
}

export interface LoadProfileResult {
  /** Closed loop: the most acknowledged reservations per second the system sustains. */
  max: MeasureResult;
  /** Open loop at rateFraction × max: latency under load without coordinated omission. */
  atRate: MeasureResult;
}

/**
 * The standard two-phase protocol: find the maximum with a closed loop, then
 * measure latency with an open loop at a fraction of it. The second phase
 * continues the request stream where the first stopped, on the same state.
 */
export async function measureLoadProfile(
  system: ReservationSystem,
  workload: Workload,
  options: LoadProfileOptions = {},
): Promise<LoadProfileResult> {
  const phaseMs = options.phaseMs ?? 15_000;
  const max = await measureReservations(system, workload, {
    concurrency: options.concurrency ?? 8,
    maxDurationMs: phaseMs,
    seed: options.seed ?? true,
  });
  const ratePerSec = Math.max(1, max.reservationsPerSec * (options.rateFraction ?? 0.5));
  const atRate = await measureReservations(system, workload, {
    ratePerSec,
    maxDurationMs: phaseMs,
    firstRequest: max.requests,
    seed: false,
  });
  return { max, atRate };
}
