/** The public surface of @vuoro/engine. */
export * from './shared/result.js';
export * from './shared/errors.js';
export * from './shared/ids.js';
export * from './calendar/index.js';
export * from './catalogue/schemas.js';
export * from './catalogue/pricing.js';
export { loadCatalogue, readCatalogueFile, type LoadReport } from './catalogue/load.js';
export * from './site/commands.js';
export * from './site/events.js';
export { siteDecider } from './site/decider.js';
export { HOLDS_SLOT, OPEN_STATES, RESERVATION_STATES, type ReservationState, type ReservationView, type SiteState } from './site/state.js';
export * from './directory/directory.js';
export * from './store/port.js';
export * from './store/index.js';
export { PartitionActor, type Envelope, type Outcome, type PartitionOptions } from './runtime/partition.js';
export {
  Engine,
  type EngineCommand,
  type EngineOptions,
  type ExecuteOptions,
  type ForwardedCommand,
  type Placement,
  type Precondition,
  type PreconditionSpec,
  type SiteCommandInput,
} from './runtime/engine.js';
export * from './cluster/index.js';
export * from './availability/index.js';
export * from './expiry/index.js';
export { customerUnitKey } from './site/state.js';
export { seriesPatternSchema, occurrencesOf, type SeriesPattern } from './series/pattern.js';
export { occurrenceId } from './series/decide.js';
export type { SeriesView } from './site/state.js';
