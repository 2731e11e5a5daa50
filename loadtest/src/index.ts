// @vuoro/loadtest: the shared benchmark harness. Benches import from here so
// that every system is driven by the same workload, drivers and result format.
// The vitest contract suite lives at '@vuoro/loadtest/contract.ts' (not
// re-exported here, so benches do not load vitest).

export {
  generateWorkload,
  withRequestLimit,
  WORKLOAD_DEFAULTS,
  WORKLOAD_ZONE,
  type Booking,
  type BookingRequest,
  type Contention,
  type CustomerGroup,
  type ExistingBooking,
  type Site,
  type Space,
  type SpaceKind,
  type Unit,
  type Workload,
  type WorkloadOptions,
  type WorkloadStats,
} from './workload.js';
export { createRng, weightedSampler, type Rng } from './prng.js';
export {
  createLatencyRecorder,
  LatencyRecorder,
  runAtRate,
  runClosedLoop,
  type ClosedLoopOptions,
  type ClosedLoopResult,
  type LatencySummary,
  type LoadCall,
  type LoadRunResult,
  type RateRunOptions,
  type RateRunResult,
} from './latency.js';
export {
  measureLoadProfile,
  measureReservations,
  toMetrics,
  type Calendar,
  type LoadProfileOptions,
  type LoadProfileResult,
  type MeasureOptions,
  type MeasureResult,
  type ReservationSystem,
  type ReserveOutcome,
} from './measure.js';
export {
  formatNumber,
  formatResult,
  RESULTS_DIR,
  writeResult,
  type BenchResult,
  type Metrics,
  type WriteResultInput,
  type WriteResultOptions,
} from './results.js';
export {
  createEmmettPostgresSystem,
  createEmmettSqliteSystem,
  runEmmettPostgres,
  runEmmettSqlite,
  type EmmettPostgresOptions,
  type EmmettPostgresStoreOptions,
  type EmmettPostgresSystem,
  type EmmettSqliteOptions,
  type EmmettSqliteStoreOptions,
  type EmmettSqliteSystem,
} from './baselines.js';
