/** The public surface of @vuoro/gateways: the HTTP service and what composes it. */
export { buildApp, DEFAULT_SETTINGS, type AppDeps, type GatewaySettings, type VuoroServices } from './app.js';
export { appSettings, readConfig, type Config } from './config.js';
export { openDb, type Db } from './storage/db.js';
export { Metrics } from './ops/metrics.js';
export { KeyStore, SCOPES, type ApiKey, type Channel, type Scope } from './auth/keys.js';
export { ensureAdminKey, rotateDemoKey } from './auth/bootstrap.js';
export { sign, verify, SIGNATURE_HEADER } from './http/signature.js';
export { problemTypeOf, EDGE_CODES, type Problem } from './http/problems.js';
