/**
 * Projections in a process of their own: follows the event feed (NATS
 * JetStream in a distributed deployment, or the SQLite file) and writes the
 * read-model database, which the gateway then reads with PROJECTIONS=external.
 *
 *   STORE=nats NATS_URL=nats://127.0.0.1:4222 PROJECTIONS_DB=./data/projections.sqlite npx tsx projections/src/main.ts
 *
 * Environment:
 *   STORE             nats (default) | sqlite
 *   NATS_URL          default nats://127.0.0.1:4222
 *   NATS_STREAM       JetStream stream name (the store's default when unset)
 *   NATS_SUBJECT_PREFIX  subject prefix (the store's default when unset)
 *   SQLITE_FILE       the event store file when STORE=sqlite (default ./data/vuoro.sqlite)
 *   PROJECTIONS_DB    read-model database (default ./data/projections.sqlite)
 *   ANALYTICS_LIST_PRICE_GROUP  default grp_residents
 *   REBUILD           analytics: rebuild that projection once caught up (then keep following)
 *
 * Prints one JSON line per minute with the lag, and on SIGTERM/SIGINT
 * finishes the batch in hand and exits.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openStore, type StoreConfig } from '@vuoro/engine';
import { z } from 'zod';
import { analyticsProjection } from './analytics/projection.js';
import { sqliteHeadProbe } from './runtime/probes.js';
import { ProjectionRunner } from './runtime/runner.js';
import { openReadModelDb } from './runtime/state.js';

const env = z
  .object({
    STORE: z.enum(['nats', 'sqlite']).default('nats'),
    NATS_URL: z.string().default('nats://127.0.0.1:4222'),
    NATS_STREAM: z.string().optional(),
    NATS_SUBJECT_PREFIX: z.string().optional(),
    SQLITE_FILE: z.string().default('./data/vuoro.sqlite'),
    PROJECTIONS_DB: z.string().default('./data/projections.sqlite'),
    ANALYTICS_LIST_PRICE_GROUP: z.string().default('grp_residents'),
    REBUILD: z.enum(['analytics']).optional(),
    LAG_LOG_SECONDS: z.coerce.number().min(0).default(60),
  })
  .parse(process.env);

const log = (msg: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ at: new Date().toISOString(), msg, ...fields }));

async function main(): Promise<void> {
  const storeConfig: StoreConfig =
    env.STORE === 'nats'
      ? {
          kind: 'nats',
          servers: env.NATS_URL,
          ...(env.NATS_STREAM === undefined ? {} : { streamName: env.NATS_STREAM }),
          ...(env.NATS_SUBJECT_PREFIX === undefined ? {} : { subjectPrefix: env.NATS_SUBJECT_PREFIX }),
        }
      : { kind: 'sqlite', file: env.SQLITE_FILE };
  const store = await openStore(storeConfig);
  mkdirSync(dirname(env.PROJECTIONS_DB), { recursive: true });
  const db = openReadModelDb(env.PROJECTIONS_DB);
  const head = env.STORE === 'sqlite' ? sqliteHeadProbe(env.SQLITE_FILE) : undefined;
  const runner = new ProjectionRunner({
    store,
    db,
    projections: [analyticsProjection({ listPriceGroupId: env.ANALYTICS_LIST_PRICE_GROUP })],
    ...(head === undefined ? {} : { headProbe: head.probe }),
    onError: (projection, error) => log('projection failed', { projection, error: String(error) }),
  });
  await runner.start();
  log('projections started', { store: store.name, db: env.PROJECTIONS_DB });
  void runner.ready.then(async () => {
    log('caught up', { status: runner.status() });
    if (env.REBUILD !== undefined) log('rebuilt', { ...(await runner.rebuild(env.REBUILD)) });
  });
  const timer = env.LAG_LOG_SECONDS > 0 ? setInterval(() => void runner.lag().then((lag) => log('lag', { lag })), env.LAG_LOG_SECONDS * 1000) : undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    if (timer !== undefined) clearInterval(timer);
    await runner.close();
    head?.close();
    db.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
