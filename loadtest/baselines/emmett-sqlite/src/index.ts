// Baseline: the booking decider on Emmett 0.38.5 with its SQLite event store
// (@event-driven-io/emmett-sqlite 0.38.5, node-sqlite3) on a temp-file
// database; one stream per site (default) or per site and week.
//
// emmett-sqlite 0.38.5 keeps one shared connection per store and, for a file
// database, opens it before and closes it after every operation; two commands
// in flight at once close each other's connection (and nest each other's
// transactions). So commands run one at a time through an in-process queue,
// which is what a correct single-process SQLite deployment of it has to do
// anyway (SQLite has one writer). The driver's concurrency still applies: it
// sets how many requests wait in that queue, and their latency includes the wait.
//
// The system also holds one idle connection of its own for its lifetime. Without
// it, each emmett-sqlite close is the last connection, which checkpoints and
// deletes the WAL under an exclusive lock while the next operation's connection
// already runs its unawaited `PRAGMA journal_mode = WAL`; that PRAGMA then fails
// with SQLITE_BUSY as an unhandled 'error' event and kills the process (seen
// when seeding about 16,000 week streams).

import {
  asyncRetry,
  DeciderCommandHandler,
  IllegalStateError,
  isExpectedVersionConflictError,
  NotFoundError,
  type AsyncRetryOptions,
} from '@event-driven-io/emmett';
import { getSQLiteEventStore, isSQLiteError } from '@event-driven-io/emmett-sqlite';
import { mkdtemp, rm } from 'node:fs/promises';
import sqlite3 from 'sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export interface EmmettSqliteStoreOptions {
  /** Database file (default: a new file in a fresh temp directory, removed on close). */
  fileName?: string;
  /** One stream per site (default) or per site and week. */
  streams?: StreamGranularity;
  /** Events per append while seeding (default 250). */
  seedBatchSize?: number;
}

export type EmmettSqliteOptions = MeasureOptions & EmmettSqliteStoreOptions;

/**
 * Retry a command whose stream moved on underneath it, re-deciding on fresh
 * state; never retry a refusal. SQLITE_BUSY is retried too: emmett-sqlite
 * 0.38.5 fires `PRAGMA journal_mode = WAL` without awaiting it on every new
 * connection, and now and then a COMMIT meets it still running
 * ("cannot commit transaction - SQL statements in progress").
 */
const SQLITE_BUSY = 5;
const transientRetry: AsyncRetryOptions = {
  retries: 10,
  minTimeout: 2,
  maxTimeout: 50,
  factor: 2,
  randomize: true,
  shouldRetryError: (error) =>
    isExpectedVersionConflictError(error) || (isSQLiteError(error) && error.errno === SQLITE_BUSY),
};

const handle = DeciderCommandHandler(decider);

export interface EmmettSqliteSystem extends ReservationSystem {
  fileName: string;
}

export async function createEmmettSqliteSystem(options: EmmettSqliteStoreOptions = {}): Promise<EmmettSqliteSystem> {
  const tempDir = options.fileName === undefined ? await mkdtemp(join(tmpdir(), 'vuoro-emmett-sqlite-')) : undefined;
  const fileName = options.fileName ?? join(tempDir as string, 'events.sqlite');
  const keeper = await openKeeperConnection(fileName);
  const eventStore = getSQLiteEventStore({ fileName, schema: { autoMigration: 'CreateOrUpdate' } });
  const streams = options.streams ?? 'site';
  const seedBatchSize = options.seedBatchSize ?? 250;
  const knownSites = new Set<string>();
  const opening = (siteId: string): SiteScheduleOpened => ({
    type: 'SiteScheduleOpened',
    data: { siteId, openedAt: new Date().toISOString() },
  });

  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const append = (streamId: string, events: SiteScheduleEvent[]) =>
    asyncRetry(() => eventStore.appendToStream(streamId, events), transientRetry);

  return {
    fileName,

    async seed({ sites, existing }: Calendar) {
      for (const site of sites) knownSites.add(site.id);
      // A stream starts with SiteScheduleOpened, then holds its bookings.
      for (const { streamId, siteId, bookings } of planSeed(streams, sites, existing)) {
        const events: SiteScheduleEvent[] = [
          opening(siteId),
          ...bookings.map(
            (b): SiteScheduleEvent => ({
              type: 'ReservationConfirmed',
              data: { ...toReservationDetails(b.reservationId, b), confirmedAt: new Date(0).toISOString() },
            }),
          ),
        ];
        for (let i = 0; i < events.length; i += seedBatchSize) {
          const batch = events.slice(i, i + seedBatchSize);
          await oneAtATime(() => append(streamId, batch));
        }
      }
    },

    reserve(request: BookingRequest): Promise<ReserveOutcome> {
      const streamId = scheduleStreamId(streams, request.siteId, request.startMs);
      const command: ReserveSlot = {
        type: 'ReserveSlot',
        data: toReservationDetails(`res_${request.requestId}`, request),
        metadata: { now: new Date() },
      };
      const decideOn = async (): Promise<ReserveOutcome> => {
        try {
          await handle(eventStore, streamId, command, { retry: transientRetry });
          return 'accepted';
        } catch (error) {
          if (error instanceof IllegalStateError) return 'conflict';
          throw error;
        }
      };
      return oneAtATime(async () => {
        try {
          return await decideOn();
        } catch (error) {
          if (!(error instanceof NotFoundError) || !knownSites.has(request.siteId)) throw error;
          // The first booking of a week stream opens it, then is decided on the opened stream.
          await append(streamId, [opening(request.siteId)]);
          return decideOn();
        }
      });
    },

    async close() {
      await queue;
      await new Promise<void>((resolve, reject) => keeper.close((error) => (error ? reject(error) : resolve())));
      if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    },
  };
}

/** Seeds the workload's existing bookings, then measures the request stream (see MeasureOptions). */
export async function runEmmettSqlite(workload: Workload, options: EmmettSqliteOptions = {}): Promise<MeasureResult> {
  const system = await createEmmettSqliteSystem(options);
  try {
    return await measureReservations(system, workload, options);
  } finally {
    await system.close();
  }
}

/** An idle connection that keeps the database in WAL mode and keeps its WAL between emmett-sqlite's connections. */
function openKeeperConnection(fileName: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(fileName, (openError) => {
      if (openError) return reject(openError);
      db.run('PRAGMA journal_mode = WAL;', (pragmaError) => (pragmaError ? reject(pragmaError) : resolve(db)));
    });
  });
}
