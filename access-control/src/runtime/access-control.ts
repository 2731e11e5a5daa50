/**
 * Access control as a running service, transport-free: the MQTT gateway and
 * the HTTP API call it; it calls back through two ports, `AccessOutbound`
 * (allow-lists and door commands to the locks) and `DoorCodeMailer` (codes to
 * customers).
 *
 * - One partition actor per site runs the access decider over
 *   `access-<siteId>` (the engine's single-writer runtime: group commits,
 *   optimistic concurrency, snapshots). Its state is the on-line index.
 * - The credential sync follows the booking engine's feed and keeps
 *   credentials in step with reservations (credential-sync.ts).
 * - Device reports and decisions are recorded in `access-log-<siteId>`
 *   (log.ts), occupancy readings debounced into intervals first.
 * - A timer (`tickMs`) flags overdue keys, refreshes ageing allow-lists,
 *   ends timed emergency opens and closes silent occupancy intervals.
 */
import { newId, PartitionActor, type EventStore, type RecordedEvent } from '@vuoro/engine';
import { randomUUID } from 'node:crypto';
import { defaultKdf, deviceSecretDigest, drawPin, newDeviceSecret, offlineDigest, sameDigest, secretDigest } from '../crypto/codes.js';
import { DOOR_COMMAND_TYP, type FlattenedJws, type PublicJwk, type Signer } from '../crypto/jws.js';
import { CredentialPlanner, DEFAULT_PLANNER_POLICY, type PlannerPolicy } from '../credentials/planner.js';
import { normalize, type Window } from '../credentials/windows.js';
import { OnlineAuthorizer, type AuthOutcome } from '../decisions/online.js';
import type { LockoutPolicy } from '../decisions/lockout.js';
import type { DeviceIdentity } from '../devices/acl.js';
import { refuse, ok, type AccessError, type AccessResult } from '../errors.js';
import {
  ACCESS_DIRECTORY_STREAM,
  accessLogStream,
  accessStream,
  holderKey,
  type AccessEvent,
  type AccessEventOf,
  type CredentialMethod,
  type DeviceKind,
  type DoorAction,
  type DoorState,
  type Holder,
  type Kdf,
  type LogEvent,
  type StaffRole,
} from '../events.js';
import {
  credentialSecretOf,
  deviceStatusMessageSchema,
  deviceTimeToMs,
  doorEventMessageSchema,
  doorStateMessageSchema,
  keyCabinetMessageSchema,
  occupancyMessageSchema,
  parseDevicePayload,
  readingOf,
  type InputRejection,
} from '../messages.js';
import { DEFAULT_OCCUPANCY_POLICY, OccupancyTracker, type OccupancyPolicy } from '../occupancy/debounce.js';
import type { DoorCommand } from '../allowlist/document.js';
import type { AccessCommand } from '../site/commands.js';
import { activeDoor, doorsOf, type AccessState, type CredentialView } from '../site/state.js';
import { AllowListPublisher, DEFAULT_ALLOWLIST_POLICY, type AllowListPolicy } from './allowlists.js';
import { accessCodec, accessPartitionDecider } from './codec.js';
import { CredentialSync } from './credential-sync.js';
import { EventLog } from './log.js';
import { silentLogger, type AccessLogger } from './logger.js';
import type { DoorCodeMailer } from './mailer.js';
import type { AccessActor } from './types.js';

export interface AccessOutbound {
  /** Publish a door's signed allow-list, retained; null clears it (the door is gone). */
  allowList(siteId: string, doorId: string, jws: FlattenedJws | null): Promise<void> | void;
  /** Publish a signed command to a door's lock (not retained). */
  doorCommand(siteId: string, doorId: string, jws: FlattenedJws): Promise<void> | void;
  /** Drop a device's connection (decommissioned, or its secret rotated). */
  disconnectDevice?(deviceId: string, reason: string): void;
}

export interface AccessControlOptions {
  store: EventStore;
  /** Server secret for PIN and device-secret digests; keep it outside the event store. */
  pepper: Buffer;
  /** Signs allow-lists and door commands; locks pin its public key. */
  signer: Signer;
  /** Further public keys locks should trust (a key rotation in progress). */
  extraTrustedKeys?: PublicJwk[];
  clock?: () => number;
  log?: AccessLogger;
  /** KDF of new sites' offline digests. */
  kdf?: { alg?: Kdf['alg']; iterations?: number; N?: number };
  pinDigits?: number;
  planner?: PlannerPolicy;
  allowList?: Partial<AllowListPolicy>;
  /** How long a door command stays deliverable. */
  commandTtlSeconds?: number;
  lockout?: LockoutPolicy;
  /** Device times further off than this are refused (auth requests, readings). */
  maxSkewMs?: number;
  occupancy?: OccupancyPolicy;
  /** Period of the housekeeping timer; 0 = none (call `tick()`). */
  tickMs?: number;
  snapshotEvery?: number;
  /** Follow the booking engine's feed and issue credentials for reservations (default true). */
  credentialSync?: boolean;
  /** Save the sync's checkpoint after this many feed events. */
  checkpointEvery?: number;
  logFlushMs?: number;
}

export interface DoorStatus {
  state: DoorState;
  online: boolean;
  at: number;
}

export interface ProvisionedDevice {
  device: DeviceIdentity & { name: string };
  /** Shown once; only its digest is kept. */
  secret: string;
}

const SYSTEM = 'system:access-control';
const iso = (ms: number): string => new Date(ms).toISOString();

export class AccessControl {
  private readonly actors = new Map<string, Promise<AccessActor>>();
  private readonly ready = new Map<string, AccessActor>();
  private readonly listed = new Set<string>();
  private readonly deviceSite = new Map<string, string>();
  /** `${siteId}/${credentialId}` -> the doors it was valid at when last seen ('*' = every door). */
  private readonly credentialDoors = new Map<string, string[] | '*'>();
  private readonly doorStatuses = new Map<string, DoorStatus>();
  private readonly deviceOnline = new Map<string, { online: boolean; at: number }>();
  private outbound: AccessOutbound | undefined;
  private mailer: DoorCodeMailer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly clock: () => number;
  readonly log: AccessLogger;
  readonly eventLog: EventLog;
  readonly authorizer: OnlineAuthorizer;
  readonly occupancy: OccupancyTracker;
  readonly planner: CredentialPlanner;
  readonly allowLists: AllowListPublisher;
  readonly sync: CredentialSync | undefined;
  readonly trustedKeys: PublicJwk[];
  readonly commandTtlSeconds: number;
  readonly maxSkewMs: number;
  readonly pinDigits: number;
  readonly stats = { rejected: new Map<InputRejection, number>(), commandsPublished: 0, commandsUnsent: 0 };

  private constructor(private readonly options: AccessControlOptions) {
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? silentLogger;
    this.commandTtlSeconds = options.commandTtlSeconds ?? 30;
    this.maxSkewMs = options.maxSkewMs ?? 60_000;
    this.pinDigits = options.pinDigits ?? 6;
    this.trustedKeys = [options.signer.publicJwk, ...(options.extraTrustedKeys ?? [])];
    this.eventLog = new EventLog(options.store, { log: this.log, ...(options.logFlushMs === undefined ? {} : { flushMs: options.logFlushMs }) });
    this.authorizer = new OnlineAuthorizer({
      pepper: options.pepper,
      maxSkewMs: this.maxSkewMs,
      ...(options.lockout === undefined ? {} : { lockout: options.lockout }),
    });
    this.occupancy = new OccupancyTracker(options.occupancy ?? DEFAULT_OCCUPANCY_POLICY);
    this.planner = new CredentialPlanner(options.planner ?? DEFAULT_PLANNER_POLICY);
    this.allowLists = new AllowListPublisher({
      actorOf: (siteId) => this.ready.get(siteId),
      signer: options.signer,
      clock: this.clock,
      policy: { ...DEFAULT_ALLOWLIST_POLICY, ...options.allowList },
      publish: async (siteId, doorId, jws) => {
        await this.outbound?.allowList(siteId, doorId, jws);
      },
      log: this.log,
    });
    this.sync =
      options.credentialSync === false
        ? undefined
        : new CredentialSync(this, options.store, {
            clock: this.clock,
            log: this.log,
            ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
          });
  }

  /** Loads every site with access control, starts following the booking feed and the housekeeping timer. */
  static async open(options: AccessControlOptions): Promise<AccessControl> {
    const access = new AccessControl(options);
    const listing = await options.store.readStream(ACCESS_DIRECTORY_STREAM);
    for (const e of listing) {
      const siteId = (e.data as { siteId?: unknown }).siteId;
      if (typeof siteId === 'string') access.listed.add(siteId);
    }
    await Promise.all([...access.listed].map((siteId) => access.actor(siteId)));
    await access.sync?.start();
    const tickMs = options.tickMs ?? 30_000;
    if (tickMs > 0) {
      access.timer = setInterval(() => {
        access.tick().catch((error: unknown) => access.log.error({ err: error }, 'access control housekeeping failed'));
      }, tickMs);
      access.timer.unref();
    }
    return access;
  }

  // --- wiring ----------------------------------------------------------------

  /** Connects the locks' side: starts publishing allow-lists (every door's, fresh) and commands. */
  attach(outbound: AccessOutbound): void {
    this.outbound = outbound;
    for (const [siteId, actor] of this.ready) {
      this.allowLists.markDirty(siteId, actor.read((s) => [...s.doors.values()].filter((d) => !d.removed).map((d) => d.doorId)));
    }
    this.allowLists.enable();
  }

  detach(): void {
    this.outbound = undefined;
    this.allowLists.disable();
  }

  /** Connects the customers' side: door codes go out through this mailer (and codes never handed over are replaced and sent). */
  useMailer(mailer: DoorCodeMailer): void {
    this.mailer = mailer;
    this.sync?.deliverPendingCodes();
  }

  get doorCodeMailer(): DoorCodeMailer | undefined {
    return this.mailer;
  }

  // --- sites ---------------------------------------------------------------

  siteIds(): string[] {
    return [...this.ready.keys()];
  }

  /** A site's state, for reads on the caller's thread (do not mutate). */
  state(siteId: string): AccessState | undefined {
    return this.ready.get(siteId)?.read((s) => s);
  }

  readyActor(siteId: string): AccessActor | undefined {
    return this.ready.get(siteId);
  }

  private actor(siteId: string): Promise<AccessActor> {
    let actor = this.actors.get(siteId);
    if (actor === undefined) {
      actor = PartitionActor.load(accessStream(siteId), this.options.store, accessPartitionDecider, accessCodec, {
        clock: this.clock,
        snapshotEvery: this.options.snapshotEvery ?? 5000,
        onEvents: (events) => this.react(siteId, events),
      }).then((a) => {
        this.ready.set(siteId, a);
        a.read((s) => {
          for (const d of s.devices.values()) this.deviceSite.set(d.deviceId, siteId);
          for (const c of s.credentials.values()) this.credentialDoors.set(`${siteId}/${c.credentialId}`, c.allDoors ? '*' : [...c.doorIds]);
        });
        return a;
      });
      this.actors.set(siteId, actor);
      actor.catch(() => this.actors.delete(siteId));
    }
    return actor;
  }

  /** The site's actor, initialising its access control on first use. */
  async ensureSite(siteId: string): Promise<AccessActor> {
    const actor = await this.actor(siteId);
    if (actor.read((s) => s.siteId) === undefined) {
      const outcome = await actor.submit({
        command: { type: 'InitializeSite', data: { siteId, kdf: defaultKdf(this.options.kdf) }, meta: { now: 0, actor: SYSTEM } },
      });
      if (!outcome.ok && (outcome.error as unknown as AccessError).code !== 'ALREADY_EXISTS') {
        throw new Error(`could not initialise access control of site ${siteId}: ${outcome.error.message}`);
      }
    }
    if (!this.listed.has(siteId)) {
      this.listed.add(siteId);
      await this.options.store.append(ACCESS_DIRECTORY_STREAM, [{ type: 'AccessSiteListed', data: { siteId } }], { expectedVersion: 'any' });
    }
    return actor;
  }

  /** Submits a command to a site's decider (initialising the site when needed). */
  async submit(siteId: string, command: Omit<AccessCommand, 'meta'>, actor: string): Promise<AccessResult<RecordedEvent[]>> {
    if (this.closed) return refuse('PARTITION_UNAVAILABLE', 'Access control is shutting down; retry.');
    const a = await this.ensureSite(siteId);
    const outcome = await a.submit({ command: { ...command, meta: { now: 0, actor } } as AccessCommand });
    if (!outcome.ok) return { ok: false, error: outcome.error as unknown as AccessError };
    return ok(outcome.events as RecordedEvent[]);
  }

  /** After a commit: what the locks must hear about it. */
  private react(siteId: string, events: RecordedEvent[]): void {
    const state = this.ready.get(siteId)?.read((s) => s);
    const allDoors = (): string[] => (state === undefined ? [] : [...state.doors.values()].filter((d) => !d.removed).map((d) => d.doorId));
    for (const e of events) {
      const data = e.data as Record<string, unknown>;
      switch (e.type) {
        case 'DoorRegistered':
          this.allowLists.markDirty(siteId, [data.doorId as string]);
          this.sync?.touchSite(siteId);
          // A new door joins every site-wide credential's list: nothing else to do, it is built from the state.
          break;
        case 'DoorRemoved':
          this.allowLists.markCleared(siteId, data.doorId as string);
          this.sync?.touchSite(siteId);
          break;
        case 'DeviceProvisioned':
          this.deviceSite.set(data.deviceId as string, siteId);
          break;
        case 'DeviceDecommissioned':
          this.outbound?.disconnectDevice?.(data.deviceId as string, 'decommissioned');
          break;
        case 'DeviceSecretRotated':
          this.outbound?.disconnectDevice?.(data.deviceId as string, 'secret rotated');
          break;
        case 'CredentialIssued':
        case 'CredentialChanged':
        case 'CredentialCodeRotated':
        case 'CredentialRevoked': {
          const key = `${siteId}/${data.credentialId as string}`;
          const before = this.credentialDoors.get(key);
          const c = state?.credentials.get(data.credentialId as string);
          const after: string[] | '*' = c === undefined || c.revoked ? [] : c.allDoors ? '*' : [...c.doorIds];
          this.credentialDoors.set(key, after);
          const dirty = new Set<string>();
          for (const doors of [before, after]) {
            if (doors === '*') for (const d of allDoors()) dirty.add(d);
            else for (const d of doors ?? []) dirty.add(d);
          }
          this.allowLists.markDirty(siteId, dirty);
          break;
        }
        case 'EmergencyOpenStarted':
        case 'EmergencyOpenEnded':
          this.allowLists.markDirty(siteId, allDoors());
          this.log.warn({ siteId, event: e.type, by: data.by, reason: data.reason }, `emergency open ${e.type === 'EmergencyOpenStarted' ? 'started' : 'ended'}`);
          break;
        case 'DoorCommandIssued':
          this.publishCommand(e as RecordedEvent<'DoorCommandIssued', AccessEventOf<'DoorCommandIssued'>['data']>);
          break;
        case 'AccessAlertRaised':
        case 'KeyOverdue':
          this.log.warn({ siteId, alert: e.type, ...data }, 'access alert');
          break;
        default:
          break;
      }
    }
  }

  private publishCommand(e: RecordedEvent<'DoorCommandIssued', AccessEventOf<'DoorCommandIssued'>['data']>): void {
    const d = e.data;
    const doc: DoorCommand = {
      v: 1,
      commandId: d.commandId,
      siteId: d.siteId,
      doorId: d.doorId,
      action: d.action,
      ...(d.durationSeconds === undefined ? {} : { durationSeconds: d.durationSeconds }),
      emergency: d.emergency,
      issuedAt: Date.parse(d.issuedAt),
      expiresAt: Date.parse(d.expiresAt),
    };
    if (this.outbound === undefined) {
      this.stats.commandsUnsent++;
      this.log.warn({ commandId: d.commandId, doorId: d.doorId }, 'door command issued while no broker is attached: not delivered');
      return;
    }
    const jws = this.options.signer.sign(DOOR_COMMAND_TYP, doc);
    Promise.resolve(this.outbound.doorCommand(d.siteId, d.doorId, jws)).then(
      () => {
        this.stats.commandsPublished++;
      },
      (error: unknown) => this.log.error({ err: error, commandId: d.commandId }, 'door command could not be published'),
    );
  }

  // --- devices -----------------------------------------------------------------

  /** A device by id, with its site (for MQTT authentication). */
  device(deviceId: string): (DeviceIdentity & { name: string; secretDigest: string; decommissioned: boolean }) | undefined {
    const siteId = this.deviceSite.get(deviceId);
    const d = siteId === undefined ? undefined : this.ready.get(siteId)?.read((s) => s.devices.get(deviceId));
    if (siteId === undefined || d === undefined) return undefined;
    return {
      deviceId: d.deviceId,
      siteId,
      kind: d.kind,
      doorId: d.doorId,
      spaceId: d.spaceId,
      cabinetId: d.cabinetId,
      name: d.name,
      secretDigest: d.secretDigest,
      decommissioned: d.decommissioned,
    };
  }

  /** The on-line index key of a presented credential (HMAC under the pepper). */
  codeDigest(method: CredentialMethod, secret: string): string {
    return secretDigest(this.options.pepper, method, secret);
  }

  /** Checks a device's MQTT credentials (constant time); the device if they hold. */
  authenticateDevice(deviceId: string, secret: string): DeviceIdentity | undefined {
    const d = this.device(deviceId);
    if (d === undefined || d.decommissioned) return undefined;
    if (!sameDigest(deviceSecretDigest(this.options.pepper, secret), d.secretDigest)) return undefined;
    return { deviceId: d.deviceId, siteId: d.siteId, kind: d.kind, doorId: d.doorId, spaceId: d.spaceId, cabinetId: d.cabinetId };
  }

  async provisionDevice(
    siteId: string,
    input: { deviceId?: string; kind: DeviceKind; doorId?: string; spaceId?: string; cabinetId?: string; name: string },
    actor: string,
  ): Promise<AccessResult<ProvisionedDevice>> {
    if (input.kind === 'occupancy_sensor' && input.spaceId !== undefined) {
      const bad = this.checkSpace(siteId, input.spaceId);
      if (bad) return bad;
    }
    const deviceId = input.deviceId ?? `dev_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const secret = newDeviceSecret();
    const r = await this.submit(
      siteId,
      {
        type: 'ProvisionDevice',
        data: {
          deviceId,
          kind: input.kind,
          name: input.name,
          secretDigest: deviceSecretDigest(this.options.pepper, secret),
          ...(input.doorId === undefined ? {} : { doorId: input.doorId }),
          ...(input.spaceId === undefined ? {} : { spaceId: input.spaceId }),
          ...(input.cabinetId === undefined ? {} : { cabinetId: input.cabinetId }),
        },
      },
      actor,
    );
    if (!r.ok) return r;
    const d = this.device(deviceId);
    if (d === undefined) throw new Error(`device ${deviceId} missing after provisioning`);
    return ok({
      device: { deviceId, siteId, kind: d.kind, doorId: d.doorId, spaceId: d.spaceId, cabinetId: d.cabinetId, name: d.name },
      secret,
    });
  }

  async rotateDeviceSecret(siteId: string, deviceId: string, actor: string): Promise<AccessResult<{ secret: string }>> {
    const secret = newDeviceSecret();
    const r = await this.submit(siteId, { type: 'RotateDeviceSecret', data: { deviceId, secretDigest: deviceSecretDigest(this.options.pepper, secret) } }, actor);
    return r.ok ? ok({ secret }) : r;
  }

  async decommissionDevice(siteId: string, deviceId: string, reason: string, actor: string): Promise<AccessResult<RecordedEvent[]>> {
    return this.submit(siteId, { type: 'DecommissionDevice', data: { deviceId, reason } }, actor);
  }

  deviceStatus(deviceId: string): { online: boolean; at: number } | undefined {
    return this.deviceOnline.get(deviceId);
  }

  doorStatus(siteId: string, doorId: string): DoorStatus | undefined {
    return this.doorStatuses.get(`${siteId}/${doorId}`);
  }

  // --- doors ---------------------------------------------------------------------

  private checkSpace(siteId: string, spaceId: string): { ok: false; error: AccessError } | undefined {
    if (this.sync === undefined) return undefined;
    if (!this.planner.hasSite(siteId)) return refuse('UNKNOWN_SITE', `Site ${siteId} does not exist in the catalogue.`);
    if (!this.planner.hasSpace(siteId, spaceId)) {
      return refuse('UNKNOWN_SPACE', `Space ${spaceId} does not exist at site ${siteId}.`, { field: 'spaceId' });
    }
    return undefined;
  }

  async registerDoor(siteId: string, input: { doorId?: string; spaceId: string; name: string }, actor: string): Promise<AccessResult<{ doorId: string }>> {
    const bad = this.checkSpace(siteId, input.spaceId);
    if (bad) return bad;
    const doorId = input.doorId ?? `door_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const r = await this.submit(siteId, { type: 'RegisterDoor', data: { doorId, spaceId: input.spaceId, name: input.name } }, actor);
    return r.ok ? ok({ doorId }) : r;
  }

  async removeDoor(siteId: string, doorId: string, reason: string, actor: string): Promise<AccessResult<RecordedEvent[]>> {
    return this.submit(siteId, { type: 'RemoveDoor', data: { doorId, reason } }, actor);
  }

  /** Doors on the path to these spaces: each space's own and its ancestors' (the building entrance, the hall door). */
  doorsForSpaces(siteId: string, spaceIds: readonly string[]): string[] {
    const state = this.state(siteId);
    if (state === undefined) return [];
    const path = new Set<string>();
    for (const s of spaceIds) {
      const p = this.planner.pathOf(siteId, s);
      for (const x of p.length === 0 ? [s] : p) path.add(x);
    }
    return [...state.doors.values()]
      .filter((d) => !d.removed && path.has(d.spaceId))
      .map((d) => d.doorId)
      .sort();
  }

  async doorCommand(
    siteId: string,
    doorId: string,
    input: { action: DoorAction; durationSeconds?: number; reason: string },
    actor: string,
  ): Promise<AccessResult<{ commandId: string; expiresAt: string }>> {
    const commandId = newId('command');
    const r = await this.submit(
      siteId,
      {
        type: 'IssueDoorCommand',
        data: {
          commandId,
          doorId,
          action: input.action,
          ttlSeconds: this.commandTtlSeconds,
          reason: input.reason,
          ...(input.durationSeconds === undefined ? {} : { durationSeconds: input.durationSeconds }),
        },
      },
      actor,
    );
    if (!r.ok) return r;
    const issued = r.value[0]?.data as { expiresAt: string };
    return ok({ commandId, expiresAt: issued.expiresAt });
  }

  async startEmergencyOpen(siteId: string, input: { reason: string; until?: number }, actor: string): Promise<AccessResult<{ commandIds: string[] }>> {
    const r = await this.submit(
      siteId,
      {
        type: 'StartEmergencyOpen',
        data: { commandId: newId('command'), ttlSeconds: this.commandTtlSeconds, reason: input.reason, ...(input.until === undefined ? {} : { until: input.until }) },
      },
      actor,
    );
    if (!r.ok) return r;
    return ok({ commandIds: r.value.filter((e) => e.type === 'DoorCommandIssued').map((e) => (e.data as { commandId: string }).commandId) });
  }

  async endEmergencyOpen(siteId: string, reason: string, actor: string): Promise<AccessResult<{ commandIds: string[] }>> {
    const r = await this.submit(siteId, { type: 'EndEmergencyOpen', data: { commandId: newId('command'), ttlSeconds: this.commandTtlSeconds, reason } }, actor);
    if (!r.ok) return r;
    return ok({ commandIds: r.value.filter((e) => e.type === 'DoorCommandIssued').map((e) => (e.data as { commandId: string }).commandId) });
  }

  // --- credentials ---------------------------------------------------------------

  /**
   * A staff or janitor grant: a card (its UID) or a PIN drawn here and shown
   * once to the caller, valid at the given doors (or every door of the site)
   * from `validFrom` to `validUntil`.
   */
  async issueStaffCredential(
    siteId: string,
    input: {
      staffId: string;
      role: StaffRole;
      name?: string;
      method: CredentialMethod;
      card?: string;
      doorIds?: string[];
      allDoors: boolean;
      validFrom: number;
      validUntil: number;
    },
    actor: string,
  ): Promise<AccessResult<{ credentialId: string; pin?: string }>> {
    const actorState = await this.ensureSite(siteId);
    const kdf = actorState.read((s) => s.kdf) as Kdf;
    const holder: Holder = { type: 'staff', staffId: input.staffId, role: input.role, ...(input.name === undefined ? {} : { name: input.name }) };
    const windows: Window[] = normalize([{ start: input.validFrom, end: input.validUntil }]);
    if (windows.length === 0) return refuse('VALIDATION_FAILED', 'validUntil must be after validFrom.', { field: 'validUntil' });
    const doorIds = input.allDoors ? [] : [...new Set(input.doorIds ?? [])];
    if (!input.allDoors && doorIds.length === 0) return refuse('VALIDATION_FAILED', 'Name the doors (doorIds) or grant every door (allDoors: true).', { field: 'doorIds' });
    if (input.method === 'card' && input.card === undefined) return refuse('VALIDATION_FAILED', 'A card grant needs the card UID.', { field: 'card' });
    for (let attempt = 0; attempt < 10; attempt++) {
      const secret = input.method === 'pin' ? drawPin(this.pinDigits) : credentialSecretOf({ method: 'card', card: input.card });
      const credentialId = newCredentialId();
      const r = await this.submit(
        siteId,
        {
          type: 'IssueCredential',
          data: {
            credentialId,
            method: input.method,
            holder,
            secretDigest: secretDigest(this.options.pepper, input.method, secret),
            offlineDigest: await offlineDigest(kdf, input.method, secret),
            doorIds,
            allDoors: input.allDoors,
            windows,
            reason: `${input.role} grant`,
          },
        },
        actor,
      );
      if (!r.ok) {
        if (r.error.code === 'CODE_COLLISION' && input.method === 'pin') continue;
        return r;
      }
      if (input.method === 'pin') {
        await this.submit(siteId, { type: 'RecordCodeHandedOver', data: { credentialId, messageId: `api:${credentialId}`, channel: 'api' } }, actor);
        return ok({ credentialId, pin: secret });
      }
      return ok({ credentialId });
    }
    return refuse('CODE_COLLISION', 'Could not draw a PIN that is free at these doors; try again.');
  }

  async revokeCredential(siteId: string, credentialId: string, reason: string, actor: string): Promise<AccessResult<RecordedEvent[]>> {
    return this.submit(siteId, { type: 'RevokeCredential', data: { credentialId, reason } }, actor);
  }

  /** The live credential of a holder (`res:<id>`, `ser:<id>`, `stf:<id>`), if any. */
  credentialOf(siteId: string, key: string): CredentialView | undefined {
    const state = this.state(siteId);
    const id = state?.byHolder.get(key);
    return id === undefined ? undefined : state?.credentials.get(id);
  }

  credentialOfHolder(siteId: string, holder: Holder): CredentialView | undefined {
    return this.credentialOf(siteId, holderKey(holder));
  }

  /** Doors a credential opens, resolved against the registry. */
  doorsOfCredential(siteId: string, c: CredentialView): string[] {
    const state = this.state(siteId);
    return state === undefined ? [] : doorsOf(state, c);
  }

  // --- keys (avainpalvelu) ---------------------------------------------------------

  async registerKey(siteId: string, input: { keyId?: string; label: string; doorIds: string[]; cabinetId?: string }, actor: string): Promise<AccessResult<{ keyId: string }>> {
    const keyId = input.keyId ?? `key_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const r = await this.submit(
      siteId,
      { type: 'RegisterKey', data: { keyId, label: input.label, doorIds: input.doorIds, ...(input.cabinetId === undefined ? {} : { cabinetId: input.cabinetId }) } },
      actor,
    );
    return r.ok ? ok({ keyId }) : r;
  }

  /**
   * Lends a key against a reservation, a series or a staff member. Without a
   * due time, it is due at the end of the holder's current (or next) window:
   * the reservation's end plus the grace period.
   */
  async lendKey(
    siteId: string,
    keyId: string,
    input: { reservationId?: string; seriesId?: string; staffId?: string; dueAt?: number },
    actor: string,
  ): Promise<AccessResult<{ loanId: string; dueAt: string }>> {
    const resolved = this.holderFor(siteId, input);
    if (!resolved.ok) return resolved;
    const { holder, windows } = resolved.value;
    const now = this.clock();
    let dueAt = input.dueAt;
    if (dueAt === undefined) {
      const w = windows.find((x) => x.end > now);
      if (w === undefined) return refuse('VALIDATION_FAILED', 'The holder has no current or coming booking to lend against; give dueAt.', { field: 'dueAt' });
      dueAt = w.end;
    }
    const loanId = `loan_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const r = await this.submit(siteId, { type: 'LendKey', data: { keyId, loanId, holder, dueAt } }, actor);
    return r.ok ? ok({ loanId, dueAt: iso(dueAt) }) : r;
  }

  private holderFor(
    siteId: string,
    input: { reservationId?: string; seriesId?: string; staffId?: string },
  ): AccessResult<{ holder: Holder; windows: Window[] }> {
    if (input.staffId !== undefined) return ok({ holder: { type: 'staff', staffId: input.staffId, role: 'staff' }, windows: [] });
    const key = input.seriesId !== undefined ? `ser:${input.seriesId}` : input.reservationId !== undefined ? `res:${input.reservationId}` : undefined;
    if (key === undefined) return refuse('VALIDATION_FAILED', 'Lend against a reservationId, a seriesId or a staffId.', { field: 'reservationId' });
    const desired = this.planner.desired({ siteId, holderKey: key });
    if (desired !== undefined) return ok({ holder: desired.holder, windows: desired.windows });
    const ids = this.planner.reservationsOf({ siteId, holderKey: key });
    if (ids.length === 0) {
      return refuse('UNKNOWN_RESERVATION', `${input.seriesId !== undefined ? 'Series' : 'Reservation'} ${input.seriesId ?? input.reservationId} is not a confirmed booking at site ${siteId}.`);
    }
    return refuse('INVALID_STATE', 'The booking is not confirmed (or its unit is not opened with a code); lend against a confirmed booking or give staffId.');
  }

  async returnKey(siteId: string, keyId: string, actor: string): Promise<AccessResult<RecordedEvent[]>> {
    return this.submit(siteId, { type: 'RecordKeyReturned', data: { keyId, at: this.clock() } }, actor);
  }

  async markKeyLost(siteId: string, keyId: string, input: { reason: string; replacement?: { keyId: string; label: string } }, actor: string): Promise<AccessResult<RecordedEvent[]>> {
    return this.submit(siteId, { type: 'MarkKeyLost', data: { keyId, reason: input.reason, ...(input.replacement === undefined ? {} : { replacement: input.replacement }) } }, actor);
  }

  // --- what devices report ---------------------------------------------------------

  private rejected(reason: InputRejection, context: Record<string, unknown>, detail: string): { ok: false; reason: InputRejection; detail: string } {
    this.stats.rejected.set(reason, (this.stats.rejected.get(reason) ?? 0) + 1);
    this.log.warn({ ...context, reason, detail }, `device message rejected: ${reason}`);
    return { ok: false, reason, detail };
  }

  /** An `auth/req` from a lock: the answer to publish and the decision recorded. */
  authorize(siteId: string, doorId: string, payload: Buffer | string): AuthOutcome {
    const now = this.clock();
    const outcome = this.authorizer.handle(siteId, doorId, payload, this.ready.get(siteId)?.read((s) => s), now);
    if (outcome.kind === 'decided' && outcome.response.reason === 'unknown_door') {
      // Answered (the lock is told), but not recorded: a door we do not know has no log to write to,
      // and writing one per made-up site id would let anyone create streams.
      this.rejected('unknown_door', { siteId, doorId, topic: 'auth/req' }, `door ${doorId} is not registered at site ${siteId}`);
    } else if (outcome.kind === 'decided') {
      this.eventLog.append(outcome.lockout === undefined ? [outcome.audit] : [outcome.audit, ...outcome.lockout]);
    } else if (outcome.kind === 'rejected') {
      this.rejected(outcome.reason, { siteId, doorId, topic: 'auth/req' }, outcome.detail);
    }
    return outcome;
  }

  private deviceTime(at: string | number | undefined, now: number): number | 'skewed' {
    if (at === undefined) return now;
    const t = deviceTimeToMs(at);
    return Math.abs(t - now) > this.maxSkewMs ? 'skewed' : t;
  }

  reportDoorEvent(siteId: string, doorId: string, payload: Buffer | string): { ok: true } | { ok: false; reason: InputRejection; detail: string } {
    const context = { siteId, doorId, topic: 'events' };
    const parsed = parseDevicePayload(doorEventMessageSchema, payload);
    if (!parsed.ok) return this.rejected(parsed.reason, context, parsed.detail);
    const state = this.state(siteId);
    if (state === undefined || activeDoor(state, doorId) === undefined) return this.rejected('unknown_door', context, `door ${doorId} is not registered`);
    const m = parsed.value;
    const now = this.clock();
    // Offline decisions come late by nature (the lock could not reach us): their time is kept as reported.
    const at = m.offline === true && m.at !== undefined ? deviceTimeToMs(m.at) : this.deviceTime(m.at, now);
    if (at === 'skewed') return this.rejected('clock_skew', context, `device time ${String(m.at)} is more than ${this.maxSkewMs} ms off`);
    if (at > now + this.maxSkewMs) return this.rejected('clock_skew', context, 'event time is in the future');
    const events: LogEvent[] = [
      {
        type: 'DoorEventReported',
        data: {
          siteId,
          doorId,
          event: m.type,
          at: iso(at),
          receivedAt: iso(now),
          ...(m.requestId === undefined ? {} : { requestId: m.requestId }),
          ...(m.commandId === undefined ? {} : { commandId: m.commandId }),
          ...(m.credentialId === undefined ? {} : { credentialId: m.credentialId }),
          ...(m.reason === undefined ? {} : { reason: m.reason }),
        },
      },
    ];
    if (m.offline === true && (m.type === 'granted' || m.type === 'denied')) {
      events.push({
        type: 'AccessDecided',
        data: {
          siteId,
          doorId,
          requestId: m.requestId ?? `offline-${at}`,
          method: m.method ?? 'pin',
          granted: m.type === 'granted',
          reason: m.type === 'granted' ? 'granted' : toReason(m.reason),
          ...(m.credentialId === undefined ? {} : { credentialId: m.credentialId }),
          mode: 'offline',
          at: iso(at),
        },
      });
    }
    const alert = m.type === 'forced' ? 'door_forced' : m.type === 'held_open' ? 'door_held_open' : m.type === 'command_rejected' ? 'command_rejected' : m.type === 'allowlist_rejected' ? 'allowlist_rejected' : undefined;
    if (alert !== undefined) {
      events.push({
        type: 'AccessAlertRaised',
        data: {
          siteId,
          alert,
          doorId,
          at: iso(at),
          message: `Door ${doorId}: ${m.type.replaceAll('_', ' ')}${m.reason === undefined ? '' : ` (${m.reason})`}${m.commandId === undefined ? '' : `, command ${m.commandId}`}.`,
        },
      });
    }
    this.eventLog.append(events, `door:${doorId}`);
    if (alert !== undefined) this.log.warn({ siteId, doorId, alert, reason: m.reason }, 'door alert');
    return { ok: true };
  }

  reportDoorState(siteId: string, doorId: string, payload: Buffer | string): { ok: true } | { ok: false; reason: InputRejection; detail: string } {
    const context = { siteId, doorId, topic: 'state' };
    if ((typeof payload === 'string' ? payload.length : payload.byteLength) === 0) return { ok: true }; // a cleared retained state
    const parsed = parseDevicePayload(doorStateMessageSchema, payload);
    if (!parsed.ok) return this.rejected(parsed.reason, context, parsed.detail);
    const state = this.state(siteId);
    if (state === undefined || activeDoor(state, doorId) === undefined) return this.rejected('unknown_door', context, `door ${doorId} is not registered`);
    const now = this.clock();
    const m = parsed.value;
    const key = `${siteId}/${doorId}`;
    const previous = this.doorStatuses.get(key);
    this.doorStatuses.set(key, { state: m.state, online: m.online, at: now });
    if (previous !== undefined && previous.state === m.state && previous.online === m.online) return { ok: true };
    const events: LogEvent[] = [{ type: 'DoorStateReported', data: { siteId, doorId, state: m.state, online: m.online, at: iso(now) } }];
    if (!m.online && previous?.online !== false) {
      events.push({ type: 'AccessAlertRaised', data: { siteId, alert: 'device_offline', doorId, at: iso(now), message: `The lock of door ${doorId} went offline; it decides from its allow-list.` } });
    }
    this.eventLog.append(events, `door:${doorId}`);
    return { ok: true };
  }

  /** The broker saw a device connect or disconnect (embedded mode), or its status topic changed. */
  deviceConnectivity(deviceId: string, online: boolean, reason: string): void {
    const siteId = this.deviceSite.get(deviceId);
    if (siteId === undefined) return;
    const now = this.clock();
    const previous = this.deviceOnline.get(deviceId);
    this.deviceOnline.set(deviceId, { online, at: now });
    if (previous?.online === online) return;
    this.eventLog.append([{ type: 'DeviceConnectivityChanged', data: { siteId, deviceId, online, at: iso(now), reason } }], `device:${deviceId}`);
  }

  reportDeviceStatus(siteId: string, deviceId: string, payload: Buffer | string): { ok: true } | { ok: false; reason: InputRejection; detail: string } {
    if ((typeof payload === 'string' ? payload.length : payload.byteLength) === 0) return { ok: true };
    const parsed = parseDevicePayload(deviceStatusMessageSchema, payload);
    if (!parsed.ok) return this.rejected(parsed.reason, { siteId, deviceId, topic: 'status' }, parsed.detail);
    if (this.deviceSite.get(deviceId) !== siteId) return this.rejected('unknown_topic', { siteId, deviceId }, `device ${deviceId} is not provisioned at site ${siteId}`);
    this.deviceConnectivity(deviceId, parsed.value.online, parsed.value.online ? 'status: online' : 'status: offline (last will or shutdown)');
    return { ok: true };
  }

  /** A key cabinet's `key_taken` / `key_returned`, with the credential presented if the cabinet knows it. */
  async reportKeyCabinetEvent(siteId: string, cabinetId: string, payload: Buffer | string): Promise<{ ok: true } | { ok: false; reason: InputRejection; detail: string }> {
    const context = { siteId, cabinetId, topic: 'keys/events' };
    const parsed = parseDevicePayload(keyCabinetMessageSchema, payload);
    if (!parsed.ok) return this.rejected(parsed.reason, context, parsed.detail);
    const m = parsed.value;
    const state = this.state(siteId);
    if (state === undefined) return this.rejected('unknown_site', context, `site ${siteId} has no access control`);
    if (!state.keys.has(m.keyId)) return this.rejected('unknown_key', context, `key ${m.keyId} is not in the inventory`);
    const now = this.clock();
    const at = this.deviceTime(m.at, now);
    if (at === 'skewed') return this.rejected('clock_skew', context, `device time ${String(m.at)} is more than ${this.maxSkewMs} ms off`);
    let credentialId = m.credentialId;
    if (credentialId === undefined && m.credential !== undefined) {
      const secret = credentialSecretOf({ method: m.credential.method, pin: m.credential.pin, card: m.credential.card });
      const digest = secretDigest(this.options.pepper, m.credential.method, secret);
      credentialId = [...state.credentials.values()].find((c) => !c.revoked && c.secretDigest === digest)?.credentialId;
    }
    const r = await this.submit(
      siteId,
      {
        type: m.type === 'key_taken' ? 'RecordKeyTaken' : 'RecordKeyReturned',
        data: { keyId: m.keyId, cabinetId, at, ...(credentialId === undefined ? {} : { credentialId }) },
      },
      `cabinet:${cabinetId}`,
    );
    if (!r.ok) return this.rejected('invalid_payload', context, r.error.message);
    return { ok: true };
  }

  /**
   * An occupancy reading. `sensorId`: the publishing device when the broker
   * knows it; else the payload's, else the one sensor provisioned for the space.
   */
  reportOccupancy(siteId: string, spaceId: string, payload: Buffer | string, sensorId?: string): { ok: true } | { ok: false; reason: InputRejection; detail: string } {
    const context = { siteId, spaceId, topic: 'occupancy' };
    const parsed = parseDevicePayload(occupancyMessageSchema, payload);
    if (!parsed.ok) return this.rejected(parsed.reason, context, parsed.detail);
    const reading = readingOf(parsed.value);
    const sensors = [...(this.state(siteId)?.devices.values() ?? [])].filter((d) => d.kind === 'occupancy_sensor' && d.spaceId === spaceId && !d.decommissioned);
    const known = this.sync === undefined ? sensors.length > 0 : this.planner.hasSpace(siteId, spaceId);
    if (!known) return this.rejected('unknown_space', context, `space ${spaceId} is not known at site ${siteId}`);
    const now = this.clock();
    const at = reading.at === undefined ? now : reading.at;
    if (Math.abs(at - now) > this.maxSkewMs) return this.rejected('clock_skew', context, `reading time ${iso(at)} is more than ${this.maxSkewMs} ms off`);
    const sensor = sensorId ?? reading.sensorId ?? (sensors.length === 1 ? sensors[0]?.deviceId : undefined) ?? 'sensor';
    const out = this.occupancy.reading(siteId, spaceId, sensor, { occupied: reading.occupied, peopleCount: reading.peopleCount, at });
    if (out === 'stale') return this.rejected('replayed', context, 'older than the sensor’s previous reading');
    if (out.length > 0) this.eventLog.append(out, `sensor:${sensor}`);
    return { ok: true };
  }

  // --- housekeeping ------------------------------------------------------------------

  /** Flags overdue keys, refreshes ageing allow-lists, ends timed emergency opens, closes silent occupancy. */
  async tick(): Promise<void> {
    const now = this.clock();
    const occupancy = this.occupancy.tick(now);
    if (occupancy.length > 0) this.eventLog.append(occupancy);
    this.authorizer.prune(now);
    for (const [siteId, actor] of this.ready) {
      const { overdue, emergencyEnds } = actor.read((s) => ({
        overdue: [...s.loans.values()].some((l) => !l.overdue && l.returnedAt === undefined && l.dueAt <= now && s.keys.get(l.keyId)?.loanId === l.loanId),
        emergencyEnds: s.emergency?.until !== undefined && s.emergency.until <= now,
      }));
      if (overdue) await this.submit(siteId, { type: 'FlagOverdueKeys', data: {} }, 'system:key-service');
      if (emergencyEnds) await this.endEmergencyOpen(siteId, 'emergency open reached its end time', 'system:emergency-timer');
    }
    if (this.outbound !== undefined) this.allowLists.refreshDue(this.ready.keys(), now);
    this.planner.prune(now - 24 * 3_600_000);
  }

  /** Resolves when log events, allow-lists and credential work queued so far are done (tests, shutdown). */
  async settled(): Promise<void> {
    await this.sync?.idle();
    await this.allowLists.idle();
    await this.eventLog.drain();
  }

  /** Recent entries of a site's access log (newest last). */
  async accessLog(siteId: string, options: { fromVersion?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    return this.options.store.readStream(accessLogStream(siteId), { fromVersion: options.fromVersion ?? 1, limit: options.limit ?? 500 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.sync?.stop();
    this.allowLists.disable();
    const actors = await Promise.allSettled([...this.actors.values()]);
    await Promise.all(actors.map((a) => (a.status === 'fulfilled' ? a.value.close() : undefined)));
    await this.eventLog.close();
  }
}

const DECISION_REASON_SET = new Set<string>([
  'unknown_credential',
  'not_yet_valid',
  'expired',
  'revoked',
  'locked_out',
  'allowlist_expired',
  'no_allowlist',
]);
const toReason = (r: string | undefined): AccessEventOf<'AccessDecided'>['data']['reason'] =>
  r !== undefined && DECISION_REASON_SET.has(r) ? (r as AccessEventOf<'AccessDecided'>['data']['reason']) : 'unknown_credential';

export const newCredentialId = (): string => `crd_${randomUUID().replaceAll('-', '')}`;

export type { AccessEvent };
