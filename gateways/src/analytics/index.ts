/**
 * Analytics for the composition root: `startAnalytics` opens the read-model
 * database and, unless projections run in a process of their own, starts the
 * projection runner on the engine's store; `analyticsPlugin` serves the
 * analyst API and the dashboard from it.
 *
 *   const analytics = await startAnalytics({ store, dataDir: config.DATA_DIR, storeFile });
 *   await app.register(analyticsPlugin, { ...analytics.plugin, registry: metrics.registry });
 *   ... on shutdown: await analytics.close();
 *
 * Environment (all optional):
 *   PROJECTIONS                    in-process (default) | external (a `projections/src/main.ts` process writes the database)
 *   PROJECTIONS_DB                 read-model database file (default <DATA_DIR>/projections.sqlite)
 *   ANALYTICS_HANDLING_PROMISE_HOURS  SLA promise from a request needing handling to a decision (default 72)
 *   ANALYTICS_DOOR_PROMISE_MS      door command round-trip promise (default 3000)
 *   ANALYTICS_LIST_PRICE_GROUP     customer group whose price is the list price (default grp_residents)
 */
import { join } from 'node:path';
import type { EventStore } from '@vuoro/engine';
import {
  AnalyticsReadModel,
  AvailabilityReadModel,
  ProjectionObserver,
  ProjectionRunner,
  analyticsProjection,
  availabilityProjection,
  openReadModelDb,
  sqliteHeadProbe,
} from '@vuoro/projections';
import { z } from 'zod';
import type { AnalyticsPluginOptions } from './plugin.js';

export { analyticsPlugin, type AnalyticsPluginOptions } from './plugin.js';
export { registerProjectionMetrics, type LagSource } from './metrics.js';

const envSchema = z.object({
  PROJECTIONS: z.enum(['in-process', 'external']).default('in-process'),
  PROJECTIONS_DB: z.string().optional(),
  ANALYTICS_HANDLING_PROMISE_HOURS: z.coerce.number().min(0).default(72),
  ANALYTICS_DOOR_PROMISE_MS: z.coerce.number().int().min(0).default(3000),
  ANALYTICS_LIST_PRICE_GROUP: z.string().default('grp_residents'),
});

export interface StartAnalyticsOptions {
  store: EventStore;
  dataDir: string;
  /** The SQLite event store file, when that is the store (for the "events behind" figure). */
  storeFile?: string;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
  onError?: (projection: string, error: unknown) => void;
}

export interface Analytics {
  readModel: AnalyticsReadModel;
  availability: AvailabilityReadModel;
  runner: ProjectionRunner | undefined;
  /** Spread into `analyticsPlugin`'s options. */
  plugin: AnalyticsPluginOptions;
  close(): Promise<void>;
}

export async function startAnalytics(options: StartAnalyticsOptions): Promise<Analytics> {
  const parsed = envSchema.safeParse(options.env ?? process.env);
  if (!parsed.success) {
    throw new Error(`Invalid analytics configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const env = parsed.data;
  const file = env.PROJECTIONS_DB ?? join(options.dataDir, 'projections.sqlite');
  const head = options.storeFile === undefined ? undefined : sqliteHeadProbe(options.storeFile);
  const readOptions = {
    handlingPromiseHours: env.ANALYTICS_HANDLING_PROMISE_HOURS,
    doorCommandPromiseMs: env.ANALYTICS_DOOR_PROMISE_MS,
    listPriceGroupId: env.ANALYTICS_LIST_PRICE_GROUP,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  };
  if (env.PROJECTIONS === 'external') {
    const db = openReadModelDb(file, { readonly: true });
    const observer = new ProjectionObserver(db, options.store, { ...(head === undefined ? {} : { headProbe: head.probe }) });
    const readModel = new AnalyticsReadModel(db, readOptions);
    const availability = new AvailabilityReadModel(db);
    return {
      readModel,
      availability,
      runner: undefined,
      plugin: { readModel, availability, lagSource: observer },
      close: async () => {
        head?.close();
        db.close();
      },
    };
  }
  const db = openReadModelDb(file);
  const runner = new ProjectionRunner({
    store: options.store,
    db,
    projections: [analyticsProjection({ listPriceGroupId: env.ANALYTICS_LIST_PRICE_GROUP }), availabilityProjection()],
    ...(head === undefined ? {} : { headProbe: head.probe }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  await runner.start();
  const readModel = new AnalyticsReadModel(db, readOptions);
  const availability = new AvailabilityReadModel(db);
  return {
    readModel,
    availability,
    runner,
    plugin: { readModel, availability, runner },
    close: async () => {
      await runner.close();
      head?.close();
      db.close();
    },
  };
}
