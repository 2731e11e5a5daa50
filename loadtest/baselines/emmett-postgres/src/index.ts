// Baseline: the booking decider on Emmett 0.42.0 with its PostgreSQL event
// store (@event-driven-io/emmett-postgresql 0.42.0); one stream per site
// (default) or per site and week.
//
// Every run gets a fresh schema (dropped and recreated; search_path points the
// store at it), so runs never see each other's events and the test database's
// other tables are left alone. Commands run concurrently on the store's pool;
// two commands on the same site race on the expected stream version and the
// loser is re-decided on fresh state (Emmett's retry on version conflict).

import {
  asyncRetry,
  DeciderCommandHandler,
  IllegalStateError,
  isExpectedVersionConflictError,
  NotFoundError,
  type AsyncRetryOptions,
} from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import {
  measureReservations,
  type Calendar,
  type MeasureOptions,
  type MeasureResult,
  type ReservationSystem,
  type ReserveOutcome,
} from '../../../src/measure.js';
import type { BookingRequest, Workload } from '../../../src/workload.js';
import { planSeed, toReservationDetails } from '../../shared/reservations.js';
import { scheduleStreamId, type StreamGranularity } from '../../shared/siteSchedule.js';
import { decider, type ReserveSlot, type SiteScheduleEvent, type SiteScheduleOpened } from './businessLogic.js';

export const DEFAULT_CONNECTION_STRING =
  process.env['VUORO_BENCH_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface EmmettPostgresStoreOptions {
  /** Server and database (default $VUORO_BENCH_PG_URL or postgresql://postgres@127.0.0.1:5432/test). */
  connectionString?: string;
  /** Schema the store lives in; dropped and recreated on start (default vuoro_bench_emmett). */
  schema?: string;
  /** Leave the schema in place on close, to inspect it (default: drop it). */
  keepSchema?: boolean;
  /** One stream per site (default) or per site and week. */
  streams?: StreamGranularity;
  /** Streams written at once while seeding (default 4). */
  seedConcurrency?: number;
  /** Events per append while seeding (default 250). */
  seedBatchSize?: number;
}

export type EmmettPostgresOptions = MeasureOptions & EmmettPostgresStoreOptions;

/** Retry a command whose stream moved on underneath it, re-deciding on fresh state; never retry a refusal. */
const versionConflictRetry: AsyncRetryOptions = {
  retries: 10,
  minTimeout: 2,
  maxTimeout: 50,
  factor: 2,
  randomize: true,
  shouldRetryError: isExpectedVersionConflictError,
};

const handle = DeciderCommandHandler(decider);

export interface EmmettPostgresSystem extends ReservationSystem {
  schema: string;
}

export async function createEmmettPostgresSystem(options: EmmettPostgresStoreOptions = {}): Promise<EmmettPostgresSystem> {
  const connectionString = options.connectionString ?? DEFAULT_CONNECTION_STRING;
  const schema = options.schema ?? 'vuoro_bench_emmett';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new RangeError(`schema "${schema}" must match [a-z_][a-z0-9_]*`);
  const seedBatchSize = options.seedBatchSize ?? 250;
  const streams = options.streams ?? 'site';
  const knownSites = new Set<string>();
  const opening = (siteId: string): SiteScheduleOpened => ({
    type: 'SiteScheduleOpened',
    data: { siteId, openedAt: new Date().toISOString() },
  });
  const append = (streamId: string, events: SiteScheduleEvent[]) =>
    asyncRetry(() => eventStore.appendToStream(streamId, events), versionConflictRetry);

  await adminQuery(connectionString, `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};`);
  const eventStore = getPostgreSQLEventStore(withSearchPath(connectionString, schema), {
    schema: { autoMigration: 'CreateOrUpdate' },
  });
  // Create the tables now, so the first measured command does not pay for it.
  await eventStore.schema.migrate();

  return {
    schema,

    async seed({ sites, existing }: Calendar) {
      for (const site of sites) knownSites.add(site.id);
      // A stream starts with SiteScheduleOpened, then holds its bookings.
      const plan = planSeed(streams, sites, existing);
      let next = 0;
      const writer = async () => {
        for (let p = next++; p < plan.length; p = next++) {
          const { streamId, siteId, bookings } = plan[p] as (typeof plan)[number];
          const events: SiteScheduleEvent[] = [
            opening(siteId),
            ...bookings.map(
              (b): SiteScheduleEvent => ({
                type: 'ReservationConfirmed',
                data: { ...toReservationDetails(b.reservationId, b), confirmedAt: new Date(0).toISOString() },
              }),
            ),
          ];
          for (let i = 0; i < events.length; i += seedBatchSize) await append(streamId, events.slice(i, i + seedBatchSize));
        }
      };
      await Promise.all(Array.from({ length: options.seedConcurrency ?? 4 }, writer));
    },

    async reserve(request: BookingRequest): Promise<ReserveOutcome> {
      const streamId = scheduleStreamId(streams, request.siteId, request.startMs);
      const command: ReserveSlot = {
        type: 'ReserveSlot',
        data: toReservationDetails(`res_${request.requestId}`, request),
        metadata: { now: new Date() },
      };
      const decideOn = async (): Promise<ReserveOutcome> => {
        try {
          await handle(eventStore, streamId, command, { retry: versionConflictRetry });
          return 'accepted';
        } catch (error) {
          if (error instanceof IllegalStateError) return 'conflict';
          throw error;
        }
      };
      try {
        return await decideOn();
      } catch (error) {
        if (!(error instanceof NotFoundError) || !knownSites.has(request.siteId)) throw error;
        // The first booking of a week stream opens it, then is decided on the opened stream.
        // Racing openers at worst append a second SiteScheduleOpened, which changes nothing:
        // the bookings themselves are then checked against a numeric stream version.
        await append(streamId, [opening(request.siteId)]);
        return decideOn();
      }
    },

    async close() {
      await eventStore.close();
      if (!options.keepSchema) await adminQuery(connectionString, `DROP SCHEMA IF EXISTS ${schema} CASCADE;`);
    },
  };
}

/** Seeds the workload's existing bookings, then measures the request stream (see MeasureOptions). */
export async function runEmmettPostgres(workload: Workload, options: EmmettPostgresOptions = {}): Promise<MeasureResult> {
  const system = await createEmmettPostgresSystem(options);
  try {
    return await measureReservations(system, workload, options);
  } finally {
    await system.close();
  }
}

/** Points every pooled connection at `schema` (libpq's `options` parameter, which node-postgres honours). */
function withSearchPath(connectionString: string, schema: string): string {
  const separator = connectionString.includes('?') ? '&' : '?';
  return `${connectionString}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function adminQuery(connectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    // Quiet the NOTICE a DROP ... IF EXISTS of a missing schema sends.
    await client.query(`SET client_min_messages = warning; ${sql}`);
  } finally {
    await client.end();
  }
}
