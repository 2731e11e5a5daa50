/** The public surface of @vuoro/projections. */
export { ProjectionRunner, type CommitInfo, type LagView, type RebuildReport, type RunnerOptions, type SlotStatusView } from './runtime/runner.js';
export { ProjectionObserver } from './runtime/observer.js';
export { sqliteHeadProbe } from './runtime/probes.js';
export { openReadModelDb, liveGeneration, type SlotState } from './runtime/state.js';
export { physicalTable, type Projection, type ProjectionContext, type ProjectionHandler } from './runtime/projection.js';
export { analyticsProjection, ANALYTICS_VERSION, type AnalyticsProjectionOptions } from './analytics/projection.js';
export { AnalyticsReadModel, QueryError, type AnalyticsFilter, type AnalyticsQuery, type Dimensions, type ReadModelOptions, type SlaReport } from './analytics/read-model.js';
export { DIMENSIONS, DIMENSION_COLUMNS, toCsv, type Column, type Dimension, type Report, type Row } from './analytics/report.js';
export { availabilityProjection, AvailabilityReadModel, type UnitDay } from './availability/projection.js';
export { DEFAULT_SEASONS, type SeasonConfig } from './time/buckets.js';
export { DASHBOARD_DIST, buildDashboard } from './dashboard.js';
