// The Emmett baselines, loaded on first use: importing @vuoro/loadtest for the
// workload or the drivers does not load SQLite, PostgreSQL or either Emmett.
// The baselines are separate npm projects (see scripts/install-baselines.ts);
// if one is missing, `npm run install:baselines -w @vuoro/loadtest` installs it.

import type { MeasureResult } from './measure.js';
import type { Workload } from './workload.js';
import type {
  EmmettSqliteOptions,
  EmmettSqliteStoreOptions,
  EmmettSqliteSystem,
} from '../baselines/emmett-sqlite/src/index.js';
import type {
  EmmettPostgresOptions,
  EmmettPostgresStoreOptions,
  EmmettPostgresSystem,
} from '../baselines/emmett-postgres/src/index.js';

export type {
  EmmettSqliteOptions,
  EmmettSqliteStoreOptions,
  EmmettSqliteSystem,
  EmmettPostgresOptions,
  EmmettPostgresStoreOptions,
  EmmettPostgresSystem,
};

const sqlite = () => import('../baselines/emmett-sqlite/src/index.js');
const postgres = () => import('../baselines/emmett-postgres/src/index.js');

/** Emmett 0.38.5 + emmett-sqlite on a temp file: seeds the workload, then measures its request stream. */
export async function runEmmettSqlite(workload: Workload, options?: EmmettSqliteOptions): Promise<MeasureResult> {
  return (await sqlite()).runEmmettSqlite(workload, options);
}

/** Emmett 0.42.0 + emmett-postgresql in a fresh schema: seeds the workload, then measures its request stream. */
export async function runEmmettPostgres(workload: Workload, options?: EmmettPostgresOptions): Promise<MeasureResult> {
  return (await postgres()).runEmmettPostgres(workload, options);
}

export async function createEmmettSqliteSystem(options?: EmmettSqliteStoreOptions): Promise<EmmettSqliteSystem> {
  return (await sqlite()).createEmmettSqliteSystem(options);
}

export async function createEmmettPostgresSystem(options?: EmmettPostgresStoreOptions): Promise<EmmettPostgresSystem> {
  return (await postgres()).createEmmettPostgresSystem(options);
}
