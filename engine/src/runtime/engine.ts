/**
 * The engine: the directory partition plus one actor per site partition, and
 * the routing of each command to the partition that decides it. Many
 * partitions run side by side; each commits on its own.
 *
 * Routing needs to know which site a unit or reservation belongs to; the
 * engine keeps those maps from the events its partitions load and commit.
 */
import { fail, type DomainError } from '../shared/result.js';
import {
  DIRECTORY_STREAM,
  directoryDecider,
  siteStream,
  type DirectoryCommand,
  type DirectoryEvent,
  type DirectoryState,
} from '../directory/directory.js';
import type { Actor, SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import type { SiteEvent } from '../site/events.js';
import type { SiteState } from '../site/state.js';
import type { EventStore, RecordedEvent } from '../store/port.js';
import { directoryCodec, siteCodec } from './codecs.js';
import { PartitionActor, type Outcome, type PartitionOptions } from './partition.js';

type WithoutNow<C> = C extends { meta: { now: number } } ? Omit<C, 'meta'> & { meta: { actor: Actor; now?: number } } : never;
export type SiteCommandInput = WithoutNow<SiteCommand>;
export type DirectoryCommandInput = WithoutNow<DirectoryCommand>;
export type EngineCommand = SiteCommandInput | DirectoryCommandInput;

export interface ExecuteOptions {
  idempotencyKey?: string;
  correlationId?: string;
  causationId?: string;
  /** Route to this site when the command itself does not say (e.g. a reservation not yet known to this node). */
  siteId?: string;
  /** The booking channel the command came through; recorded in the events' metadata. */
  channel?: string;
  /** Checked against the site's state right before the command is decided (site commands only); see `Envelope`. */
  precondition?: (state: SiteState) => DomainError | undefined;
}

export interface EngineOptions extends PartitionOptions {
  store: EventStore;
}

export type SiteActor = PartitionActor<SiteCommand, SiteEvent, SiteState>;
export type DirectoryActor = PartitionActor<DirectoryCommand, DirectoryEvent, DirectoryState>;

const DIRECTORY_TYPES = new Set(['DefineCustomerGroup', 'RegisterCustomer', 'RegisterSite']);

export class Engine {
  private readonly sites = new Map<string, Promise<SiteActor>>();
  private readonly unitSite = new Map<string, string>();
  private readonly reservationSite = new Map<string, string>();
  private readonly seriesSite = new Map<string, string>();

  private constructor(
    readonly store: EventStore,
    readonly directory: DirectoryActor,
    private readonly options: EngineOptions,
  ) {}

  /** Loads the directory and every registered site partition. */
  static async open(options: EngineOptions): Promise<Engine> {
    const directory = await PartitionActor.load(DIRECTORY_STREAM, options.store, directoryDecider, directoryCodec, options);
    const engine = new Engine(options.store, directory, options);
    const siteIds = directory.read((s) => [...s.sites.keys()]);
    await Promise.all(siteIds.map((id) => engine.site(id)));
    return engine;
  }

  /** Site ids of the partitions loaded on this engine. */
  partitions(): string[] {
    return [...this.sites.keys()];
  }

  siteOfUnit(unitId: string): string | undefined {
    return this.unitSite.get(unitId);
  }

  siteOfReservation(reservationId: string): string | undefined {
    return this.reservationSite.get(reservationId);
  }

  siteOfSeries(seriesId: string): string | undefined {
    return this.seriesSite.get(seriesId);
  }

  /** The actor of a site partition, loading it on first use. */
  site(siteId: string): Promise<SiteActor> {
    let actor = this.sites.get(siteId);
    if (actor === undefined) {
      actor = PartitionActor.load(siteStream(siteId), this.store, siteDecider, siteCodec, {
        ...this.options,
        onEvents: (events) => {
          this.track(siteId, events);
          this.options.onEvents?.(events);
        },
      }).then((a) => {
        a.read((state) => {
          for (const unitId of state.units.keys()) this.unitSite.set(unitId, siteId);
          for (const id of state.reservations.keys()) this.reservationSite.set(id, siteId);
          for (const id of state.series.keys()) this.seriesSite.set(id, siteId);
        });
        return a;
      });
      this.sites.set(siteId, actor);
      actor.catch(() => this.sites.delete(siteId));
    }
    return actor;
  }

  private track(siteId: string, events: RecordedEvent[]): void {
    for (const e of events) {
      const data = e.data as { unit?: { unitId: string }; reservationId?: string; seriesId?: string };
      if (e.type === 'UnitDefined' && data.unit) this.unitSite.set(data.unit.unitId, siteId);
      else if (e.type === 'SeriesCreated' && data.seriesId) this.seriesSite.set(data.seriesId, siteId);
      else if ((e.type === 'ReservationRequested' || e.type === 'TimeBlocked') && data.reservationId) {
        this.reservationSite.set(data.reservationId, siteId);
      }
    }
  }

  /** Which site partition decides a command, if it can be told. */
  routeOf(command: SiteCommandInput, options: ExecuteOptions = {}): string | undefined {
    if (options.siteId !== undefined) return options.siteId;
    const data = command.data as { site?: { siteId: string }; unitId?: string; reservationId?: string; seriesId?: string };
    if (command.type === 'DefineSite') return data.site?.siteId;
    if ((command.type === 'ChangeSeries' || command.type === 'CancelSeries') && data.seriesId !== undefined) {
      return this.seriesSite.get(data.seriesId);
    }
    if (command.type !== 'RequestReservation' && command.type !== 'BlockTime' && data.reservationId !== undefined) {
      const site = this.reservationSite.get(data.reservationId);
      if (site !== undefined) return site;
    }
    if (data.unitId !== undefined) return this.unitSite.get(data.unitId);
    return undefined;
  }

  async execute(command: EngineCommand, options: ExecuteOptions = {}): Promise<Outcome<SiteEvent | DirectoryEvent>> {
    const envelope = {
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
      ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
      ...(options.channel === undefined ? {} : { channel: options.channel }),
    };
    if (DIRECTORY_TYPES.has(command.type)) {
      return this.directory.submit({ ...envelope, command: withNow(command) as DirectoryCommand });
    }
    const siteCommand = command as SiteCommandInput;
    if (siteCommand.type === 'DefineSite') {
      // Register first, so a crash between the two steps leaves a known, empty partition, never an unknown one.
      const registered = await this.directory.submit({
        command: withNow({ type: 'RegisterSite', data: { site: siteCommand.data.site }, meta: siteCommand.meta }) as DirectoryCommand,
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: `${options.idempotencyKey}:register` }),
      });
      if (!registered.ok && registered.error.code !== 'ALREADY_EXISTS') return registered;
    }
    const siteId = this.routeOf(siteCommand, options);
    if (siteId === undefined) {
      const data = siteCommand.data as { unitId?: string; reservationId?: string; seriesId?: string };
      if (siteCommand.type === 'ChangeSeries' || siteCommand.type === 'CancelSeries') {
        return fail('UNKNOWN_SERIES', `Series ${data.seriesId ?? ''} does not exist.`, { field: 'seriesId' });
      }
      return data.unitId !== undefined
        ? fail('UNKNOWN_UNIT', `Reservation unit ${data.unitId} does not exist.`, { field: 'unitId' })
        : data.reservationId !== undefined
          ? fail('UNKNOWN_RESERVATION', `Reservation ${data.reservationId} does not exist.`, { field: 'reservationId' })
          : fail('WRONG_PARTITION', 'The command does not say which site it is for.');
    }
    if (siteCommand.type !== 'DefineSite' && !this.directory.read((s) => s.sites.has(siteId))) {
      return fail('UNKNOWN_SITE', `Site ${siteId} does not exist.`);
    }
    const actor = await this.site(siteId);
    return actor.submit({
      ...envelope,
      command: withNow(siteCommand) as SiteCommand,
      ...(options.precondition === undefined ? {} : { precondition: options.precondition }),
    });
  }

  async close(): Promise<void> {
    const actors = await Promise.allSettled([...this.sites.values()]);
    await Promise.all(actors.map((a) => (a.status === 'fulfilled' ? a.value.close() : undefined)));
    await this.directory.close();
  }
}

const withNow = <C extends { meta: { actor: Actor; now?: number } }>(c: C): C & { meta: { now: number } } => ({
  ...c,
  meta: { ...c.meta, now: c.meta.now ?? 0 },
});
