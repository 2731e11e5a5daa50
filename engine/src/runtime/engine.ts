/**
 * The engine: the directory partition plus one actor per site partition, and
 * the routing of each command to the partition that decides it. Many
 * partitions run side by side; each commits on its own.
 *
 * Routing needs to know which site a unit or reservation belongs to; the
 * engine keeps those maps from the events its partitions load and commit.
 *
 * Who decides a partition is the `placement`'s business (the seam for
 * cluster mode, engine/src/cluster/): without one, every partition is decided
 * here. With one, every partition is loaded as a follower copy that follows
 * the store's feed (so routing and reads work on every node); the placement
 * promotes the partitions this node owns, and a command for a partition owned
 * elsewhere is forwarded to its owner, retried with the same idempotency key
 * until an owner answers.
 */
import { randomUUID } from 'node:crypto';
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
import type { EventStore, RecordedEvent, Subscription } from '../store/port.js';
import { directoryCodec, siteCodec } from './codecs.js';
import { PartitionActor, isNotOwner, type Outcome, type PartitionOptions } from './partition.js';

type WithoutNow<C> = C extends { meta: { now: number } } ? Omit<C, 'meta'> & { meta: { actor: Actor; now?: number } } : never;
export type SiteCommandInput = WithoutNow<SiteCommand>;
export type DirectoryCommandInput = WithoutNow<DirectoryCommand>;
export type EngineCommand = SiteCommandInput | DirectoryCommandInput;

/** A precondition that can travel to another node: the owner rebuilds it from `EngineOptions.preconditions`. */
export interface PreconditionSpec {
  name: string;
  args: unknown;
}

export type Precondition = ((state: SiteState) => DomainError | undefined) & { spec?: PreconditionSpec };

/** A command on its way to the owner of its partition (JSON on the wire). */
export interface ForwardedCommand {
  command: SiteCommand | DirectoryCommand;
  idempotencyKey?: string;
  correlationId?: string;
  causationId?: string;
  channel?: string;
  precondition?: PreconditionSpec;
}

/** Who decides which partition (the cluster seam; partitions are named by their stream). */
export interface Placement {
  /** True while this node decides the partition. */
  owns(stream: string): boolean;
  /**
   * One attempt to have the partition's owner decide the command. Undefined
   * when no owner answered (none yet, or it moved or died meanwhile): the
   * engine retries, with the same idempotency key.
   */
  forward(stream: string, command: ForwardedCommand): Promise<Outcome<SiteEvent | DirectoryEvent> | undefined>;
}

export interface ExecuteOptions {
  idempotencyKey?: string;
  correlationId?: string;
  causationId?: string;
  /** Route to this site when the command itself does not say (e.g. a reservation not yet known to this node). */
  siteId?: string;
  /** The booking channel the command came through; recorded in the events' metadata. */
  channel?: string;
  /** Checked against the site's state right before the command is decided (site commands only); see `Envelope`. */
  precondition?: Precondition;
}

export interface EngineOptions extends PartitionOptions {
  store: EventStore;
  /** Cluster mode: who decides which partition. Without it every partition is decided here. */
  placement?: Placement;
  /** With a placement: the feed position the follower copies follow from (the store's head before opening). */
  followFrom?: number;
  /** With a placement: how long a command waits for an owner before PARTITION_UNAVAILABLE. Default 30,000 ms. */
  forwardTimeoutMs?: number;
  /** Named preconditions, so a forwarded command's precondition can be rebuilt on its owner. */
  preconditions?: Record<string, (args: unknown) => (state: SiteState) => DomainError | undefined>;
}

export type SiteActor = PartitionActor<SiteCommand, SiteEvent, SiteState>;
export type DirectoryActor = PartitionActor<DirectoryCommand, DirectoryEvent, DirectoryState>;

const DIRECTORY_TYPES = new Set(['DefineCustomerGroup', 'RegisterCustomer', 'RegisterSite']);

export class Engine {
  private readonly sites = new Map<string, Promise<SiteActor>>();
  private readonly unitSite = new Map<string, string>();
  private readonly reservationSite = new Map<string, string>();
  private readonly seriesSite = new Map<string, string>();
  private feed: Subscription | undefined;
  private feedPosition = 0;
  private closed = false;

  private constructor(
    readonly store: EventStore,
    readonly directory: DirectoryActor,
    private readonly options: EngineOptions,
  ) {}

  /** Loads the directory and every registered site partition (as follower copies under a placement). */
  static async open(options: EngineOptions): Promise<Engine> {
    const directory = await PartitionActor.load(DIRECTORY_STREAM, options.store, directoryDecider, directoryCodec, {
      ...options,
      role: Engine.roleOf(options, DIRECTORY_STREAM),
    });
    const engine = new Engine(options.store, directory, options);
    const siteIds = directory.read((s) => [...s.sites.keys()]);
    await Promise.all(siteIds.map((id) => engine.site(id)));
    if (options.placement !== undefined) engine.follow(options.followFrom ?? 0);
    return engine;
  }

  private static roleOf(options: EngineOptions, stream: string): 'leader' | 'follower' {
    return options.placement === undefined || options.placement.owns(stream) ? 'leader' : 'follower';
  }

  /** Who decides which partition (cluster mode); undefined when this engine decides them all. */
  get placement(): Placement | undefined {
    return this.options.placement;
  }

  /** The actor of a partition named by its stream (the directory or a site), loading a site on first use. */
  async partition(stream: string): Promise<SiteActor | DirectoryActor | undefined> {
    if (stream === DIRECTORY_STREAM) return this.directory;
    return stream.startsWith('site-') ? this.site(stream.slice('site-'.length)) : undefined;
  }

  /** Cluster mode: this node now decides the partition (after catching up with its stream). */
  async promote(stream: string): Promise<void> {
    await (await this.partition(stream))?.promote();
  }

  /** Cluster mode: this node stops deciding the partition at once (queued commands go to the new owner). */
  async demote(stream: string): Promise<void> {
    const actor = stream === DIRECTORY_STREAM ? this.directory : await this.sites.get(stream.slice('site-'.length))?.catch(() => undefined);
    await actor?.demote();
  }

  /**
   * Decides a command forwarded by another node, if this node owns its
   * partition (otherwise the NOT_OWNER refusal tells the sender to retry).
   */
  async decideForwarded(stream: string, forwarded: ForwardedCommand): Promise<Outcome<SiteEvent | DirectoryEvent>> {
    const actor = await this.partition(stream);
    if (actor === undefined) return fail('WRONG_PARTITION', `No partition ${stream}.`);
    const { precondition, command, ...envelope } = forwarded;
    let check: Precondition | undefined;
    if (precondition !== undefined) {
      const factory = this.options.preconditions?.[precondition.name];
      if (factory === undefined) return fail('PARTITION_UNAVAILABLE', `This node does not know the precondition ${precondition.name}; upgrade it.`);
      check = factory(precondition.args);
    }
    if (stream === DIRECTORY_STREAM) return (actor as DirectoryActor).submit({ ...envelope, command: command as DirectoryCommand });
    return (actor as SiteActor).submit({ ...envelope, command: command as SiteCommand, ...(check === undefined ? {} : { precondition: check }) });
  }

  /**
   * Follower copies apply the feed. A subscription that fails is reopened
   * from where it stopped; one that stalls (a consumer lost with the server
   * that held it) is the store's to notice and replace (see NatsSubscription).
   */
  private follow(after: number): void {
    this.feedPosition = after;
    const open = (): void => {
      if (this.closed) return;
      const sub = this.store.subscribe({
        after: this.feedPosition,
        handler: async (e) => {
          const actor = e.stream === DIRECTORY_STREAM ? this.directory : e.stream.startsWith('site-') ? await this.site(e.stream.slice(5)).catch(() => undefined) : undefined;
          if (actor !== undefined) await actor.follow([e]).catch(() => undefined);
          this.feedPosition = e.position;
        },
      });
      this.feed = sub;
      void sub.done.then(() => {
        if (!this.closed && this.feed === sub) setTimeout(open, 250);
      });
    };
    open();
  }

  /** The feed position the follower copies have applied (cluster mode). */
  get followedPosition(): number {
    return this.feedPosition;
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
        role: Engine.roleOf(this.options, siteStream(siteId)),
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
      return this.decide(DIRECTORY_STREAM, this.directory, { ...envelope, command: withNow(command) as DirectoryCommand });
    }
    const siteCommand = command as SiteCommandInput;
    if (siteCommand.type === 'DefineSite') {
      // Register first, so a crash between the two steps leaves a known, empty partition, never an unknown one.
      const registered = await this.decide(DIRECTORY_STREAM, this.directory, {
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
    return this.decide(siteStream(siteId), actor, {
      ...envelope,
      command: withNow(siteCommand) as SiteCommand,
      ...(options.precondition === undefined ? {} : { precondition: options.precondition }),
    });
  }

  /**
   * Decides here when this node owns the partition, otherwise forwards to the
   * owner; retries until one answers. A forwarded command always carries an
   * idempotency key (one is made up if the caller gave none), so a retry after
   * a lost answer returns the first outcome instead of deciding twice.
   */
  private async decide<C extends SiteCommand | DirectoryCommand, E extends SiteEvent | DirectoryEvent, S>(
    stream: string,
    actor: PartitionActor<C, E, S>,
    envelope: { command: C; idempotencyKey?: string; correlationId?: string; causationId?: string; channel?: string; precondition?: Precondition },
  ): Promise<Outcome<E>> {
    const placement = this.options.placement;
    if (placement === undefined) return actor.submit(envelope as Parameters<typeof actor.submit>[0]);
    const deadline = Date.now() + (this.options.forwardTimeoutMs ?? 30_000);
    let env = envelope;
    for (let attempt = 0; ; attempt++) {
      if (placement.owns(stream)) {
        const outcome = await actor.submit(env as Parameters<typeof actor.submit>[0]);
        if (!isNotOwner(outcome)) return outcome;
      } else {
        if (env.precondition !== undefined && env.precondition.spec === undefined) {
          return fail('PARTITION_UNAVAILABLE', 'This conditional request can only be decided on the node that owns the site right now; retry.');
        }
        if (env.idempotencyKey === undefined) env = { ...env, idempotencyKey: `fwd:${randomUUID()}` };
        const { precondition, ...rest } = env;
        const outcome = await placement.forward(stream, { ...rest, ...(precondition?.spec === undefined ? {} : { precondition: precondition.spec }) });
        if (outcome !== undefined && !isNotOwner(outcome)) {
          // Read your writes on this node: its copy has the events before the caller is answered.
          if (outcome.ok) await actor.follow(outcome.events).catch(() => undefined);
          return outcome as Outcome<E>;
        }
      }
      if (Date.now() >= deadline || this.closed) {
        return fail('PARTITION_UNAVAILABLE', 'No node decides this partition right now (a failover is under way); retry with the same idempotency key.');
      }
      await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** Math.min(attempt, 4), 400)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.feed?.close();
    const actors = await Promise.allSettled([...this.sites.values()]);
    await Promise.all(actors.map((a) => (a.status === 'fulfilled' ? a.value.close() : undefined)));
    await this.directory.close();
  }
}

const withNow = <C extends { meta: { actor: Actor; now?: number } }>(c: C): C & { meta: { now: number } } => ({
  ...c,
  meta: { ...c.meta, now: c.meta.now ?? 0 },
});
