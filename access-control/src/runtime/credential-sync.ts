/**
 * Keeps credentials in step with reservations. It follows the booking
 * engine's global feed from a checkpoint (the planner's model saved as a
 * snapshot every `checkpointEvery` events), marks the holders an event may
 * change, and reconciles each: what the planner says should exist against
 * what the site's access state has.
 *
 *   nothing desired (cancelled, denied, expired, unit no longer on codes)  -> revoke
 *   desired, no credential                                                -> issue: draw a PIN, send it
 *   desired, credential with other doors or windows (moved, series change) -> change (same PIN)
 *
 * Reconciling is a comparison, so doing it twice changes nothing: after a
 * restart every holder is reconciled once, which also repairs anything a
 * crash interrupted. Only windows that have not ended are compared, so time
 * passing is not a change.
 *
 * Codes: a PIN is drawn at random (never from ids), checked free at the
 * doors for the windows, digested, committed, and only then handed to the
 * mailer; a committed code that never reached the mailer is replaced (the
 * PIN itself was never stored) when a mailer is attached.
 */
import type { EventStore, RecordedEvent, Subscription } from '@vuoro/engine';
import { drawPin, offlineDigest } from '../crypto/codes.js';
import type { CredentialPlanner, HolderRef, SavedPlanner } from '../credentials/planner.js';
import { sameWindows, toDto, type Window } from '../credentials/windows.js';
import type { Holder, Kdf } from '../events.js';
import { codeCollision, type CredentialView } from '../site/state.js';
import type { AccessControl } from './access-control.js';
import type { AccessLogger } from './logger.js';
import type { DoorCodeMessage } from './mailer.js';

export const SYNC_CHECKPOINT_STREAM = 'access-credential-sync';
const CHECKPOINT_SCHEMA = 'access-credential-sync/1';
const ACTOR = 'system:credential-sync';

export interface CredentialSyncOptions {
  clock: () => number;
  log: AccessLogger;
  checkpointEvery?: number;
}

export class CredentialSync {
  private subscription: Subscription | undefined;
  private position = 0;
  private savedPosition = 0;
  private savedAt = Number.NEGATIVE_INFINITY;
  private sinceCheckpoint = 0;
  private readonly dirty = new Map<string, HolderRef>();
  private readonly sourcePosition = new Map<string, number>();
  private working: Promise<void> | undefined;
  private stopped = false;
  private waiters: { position: number; resolve: () => void }[] = [];
  private readonly checkpointEvery: number;
  readonly stats = { issued: 0, changed: 0, revoked: 0, replaced: 0, handedOver: 0, undelivered: 0, failures: 0 };

  constructor(
    private readonly access: AccessControl,
    private readonly store: EventStore,
    private readonly options: CredentialSyncOptions,
  ) {
    this.checkpointEvery = options.checkpointEvery ?? 1000;
  }

  private get planner(): CredentialPlanner {
    return this.access.planner;
  }

  /** Loads the checkpoint, catches up with the feed, reconciles every holder, then follows the feed live. */
  async start(): Promise<void> {
    const snap = await this.store.loadSnapshot(SYNC_CHECKPOINT_STREAM);
    if (snap !== undefined && snap.schema === CHECKPOINT_SCHEMA) {
      this.planner.restore(snap.state as SavedPlanner);
      this.position = snap.version;
      this.savedPosition = snap.version;
    }
    for (;;) {
      const page = await this.store.readAll({ after: this.position, limit: 5000 });
      for (const e of page) {
        this.planner.apply(e);
        this.position = e.position;
      }
      if (page.length < 5000) break;
    }
    for (const siteId of this.knownSites()) for (const ref of this.planner.holdersOf(siteId)) this.dirty.set(key(ref), ref);
    this.schedule();
    this.subscription = this.store.subscribe({ after: this.position, handler: (e) => this.onEvent(e) });
    void this.subscription.done.then(() => {
      if (!this.stopped) this.options.log.error({ err: this.subscription?.failure }, 'credential sync stopped following the feed');
    });
  }

  private knownSites(): string[] {
    return this.planner.siteIds();
  }

  private onEvent(e: RecordedEvent): void {
    this.position = e.position;
    // Most of the feed is not the planner's business (access logs, other partitions): skip it cheaply.
    if (!e.stream.startsWith('site-')) {
      this.release();
      return;
    }
    for (const ref of this.planner.apply(e)) {
      this.dirty.set(key(ref), ref);
      this.sourcePosition.set(key(ref), e.position);
    }
    this.sinceCheckpoint++;
    this.schedule();
  }

  /** Doors of a site changed: every holder there may open a different set now. */
  touchSite(siteId: string): void {
    for (const ref of this.planner.holdersOf(siteId)) this.dirty.set(key(ref), ref);
    this.schedule();
  }

  /** Replaces and sends codes that were committed but never reached the mailer. */
  deliverPendingCodes(): void {
    this.pendingDelivery = true;
    this.schedule();
  }

  private pendingDelivery = false;

  private schedule(): void {
    if (this.working !== undefined || this.stopped) {
      this.release();
      return;
    }
    if (this.dirty.size === 0 && !this.pendingDelivery && this.sinceCheckpoint < this.checkpointEvery) {
      this.release();
      return;
    }
    this.working = this.work()
      .catch((error: unknown) => {
        this.stats.failures++;
        this.options.log.error({ err: error }, 'credential sync failed a round');
      })
      .finally(() => {
        this.working = undefined;
        if (this.dirty.size > 0 || this.pendingDelivery) setImmediate(() => this.schedule());
        else this.release();
      });
  }

  private async work(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const batch = [...this.dirty.values()];
      this.dirty.clear();
      for (const ref of batch) {
        try {
          await this.reconcile(ref);
        } catch (error) {
          this.stats.failures++;
          this.options.log.error({ err: error, ...ref }, 'could not reconcile a credential');
        }
      }
    }
    if (this.pendingDelivery && this.access.doorCodeMailer !== undefined) {
      this.pendingDelivery = false;
      await this.replaceUndelivered();
    } else this.pendingDelivery = false;
    // The model can be large (every live reservation): saved after enough booking events, and not more than twice a minute.
    if (this.sinceCheckpoint >= this.checkpointEvery && this.options.clock() - this.savedAt >= 30_000) await this.checkpoint();
  }

  async checkpoint(): Promise<void> {
    if (this.position === this.savedPosition) return;
    const position = this.position;
    this.sinceCheckpoint = 0;
    this.savedAt = this.options.clock();
    await this.store.saveSnapshot({ stream: SYNC_CHECKPOINT_STREAM, version: position, schema: CHECKPOINT_SCHEMA, state: this.planner.save() });
    this.savedPosition = position;
  }

  private release(): void {
    if (this.waiters.length === 0 || this.working !== undefined || this.dirty.size > 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.position > this.position) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once the feed up to `position` is applied and every credential change it caused is committed. */
  caughtUp(position: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ position, resolve });
      this.release();
    });
  }

  /** Resolves when no reconciliation is queued or running. */
  idle(): Promise<void> {
    return this.caughtUp(0);
  }

  get checkpointPosition(): number {
    return this.savedPosition;
  }

  get appliedPosition(): number {
    return this.position;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.close();
    await this.working;
    try {
      await this.checkpoint();
    } catch (error) {
      this.options.log.warn({ err: error }, 'credential sync checkpoint not saved at shutdown');
    }
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  // --- reconciliation -----------------------------------------------------------

  async reconcile(ref: HolderRef): Promise<void> {
    const now = this.options.clock();
    const desired = this.planner.desired(ref);
    const future = (ws: readonly Window[]): Window[] => ws.filter((w) => w.end > now);
    const existing = this.access.credentialOf(ref.siteId, ref.holderKey);
    const wanted = desired === undefined ? [] : future(desired.windows);
    if (desired === undefined || wanted.length === 0) {
      if (existing !== undefined && future(existing.windows).length > 0) {
        const r = await this.access.submit(
          ref.siteId,
          { type: 'RevokeCredential', data: { credentialId: existing.credentialId, reason: this.planner.lastChangeOf(ref) } },
          ACTOR,
        );
        if (r.ok) this.stats.revoked++;
        else this.options.log.error({ ...ref, code: r.error.code }, `revoking a credential failed: ${r.error.message}`);
      }
      return;
    }
    const doorIds = this.access.doorsForSpaces(ref.siteId, desired.spaceIds);
    if (existing === undefined) {
      await this.issue(ref, desired.holder, doorIds, wanted);
      return;
    }
    const sameDoors = doorIds.length === existing.doorIds.length && doorIds.every((d, i) => d === existing.doorIds[i]);
    if (sameDoors && sameWindows(wanted, future(existing.windows))) return;
    const r = await this.access.submit(
      ref.siteId,
      { type: 'ChangeCredential', data: { credentialId: existing.credentialId, doorIds, windows: wanted, reason: this.planner.lastChangeOf(ref) } },
      ACTOR,
    );
    if (r.ok) {
      this.stats.changed++;
      return;
    }
    if (r.error.code === 'CODE_COLLISION') {
      // Moved to where its code is taken: the customer gets a new code.
      await this.access.submit(ref.siteId, { type: 'RevokeCredential', data: { credentialId: existing.credentialId, reason: 'code taken at the new doors or times; replaced' } }, ACTOR);
      await this.issue(ref, desired.holder, doorIds, wanted);
      return;
    }
    this.options.log.error({ ...ref, code: r.error.code }, `changing a credential failed: ${r.error.message}`);
  }

  private async issue(ref: HolderRef, holder: Holder, doorIds: string[], windows: Window[]): Promise<void> {
    const actor = await this.access.ensureSite(ref.siteId);
    const kdf = actor.read((s) => s.kdf) as Kdf;
    for (let attempt = 0; attempt < 20; attempt++) {
      const pin = drawPin(this.access.pinDigits);
      const digest = this.access.codeDigest('pin', pin);
      if (actor.read((s) => codeCollision(s, { secretDigest: digest, doorIds, allDoors: false, windows })) !== undefined) continue;
      const credentialId = newId();
      const r = await this.access.submit(
        ref.siteId,
        {
          type: 'IssueCredential',
          data: {
            credentialId,
            method: 'pin',
            holder,
            secretDigest: digest,
            offlineDigest: await offlineDigest(kdf, 'pin', pin),
            doorIds,
            allDoors: false,
            windows,
            reason: this.planner.lastChangeOf(ref),
          },
        },
        ACTOR,
      );
      if (!r.ok) {
        if (r.error.code === 'CODE_COLLISION') continue;
        if (r.error.code !== 'ALREADY_EXISTS') this.options.log.error({ ...ref, code: r.error.code }, `issuing a credential failed: ${r.error.message}`);
        return;
      }
      this.stats.issued++;
      const c = this.access.credentialOf(ref.siteId, ref.holderKey);
      if (c !== undefined) await this.send(ref, c, pin, 'issued');
      return;
    }
    this.options.log.error(ref, 'could not draw a free PIN in 20 attempts (the doors are saturated with codes?)');
  }

  private async send(ref: HolderRef, c: CredentialView, code: string, reason: DoorCodeMessage['reason']): Promise<void> {
    const mailer = this.access.doorCodeMailer;
    if (mailer === undefined) {
      this.stats.undelivered++;
      return;
    }
    const state = this.access.state(ref.siteId);
    const customerId = c.holder.type === 'staff' ? c.holder.staffId : c.holder.customerId;
    const doorIds = this.access.doorsOfCredential(ref.siteId, c);
    const position = this.sourcePosition.get(key(ref));
    const delivery = await mailer.send({
      siteId: ref.siteId,
      credentialId: c.credentialId,
      codeVersion: c.codeVersion,
      holder: c.holder,
      customerId,
      reservationIds: this.planner.reservationsOf(ref),
      code,
      windows: c.windows.map(toDto),
      doors: doorIds.map((doorId) => ({ doorId, name: state?.doors.get(doorId)?.name ?? doorId })),
      reason,
      ...(position === undefined ? {} : { sourcePosition: position }),
    });
    if (!delivery.delivered) {
      this.stats.undelivered++;
      this.options.log.warn({ ...ref, credentialId: c.credentialId, reason: delivery.reason }, 'door code not handed to the outbox; it will be replaced and sent on the next start');
      return;
    }
    const r = await this.access.submit(
      ref.siteId,
      { type: 'RecordCodeHandedOver', data: { credentialId: c.credentialId, messageId: delivery.messageId, channel: 'outbox' } },
      ACTOR,
    );
    if (r.ok) this.stats.handedOver++;
  }

  private async replaceUndelivered(): Promise<void> {
    const now = this.options.clock();
    for (const siteId of this.access.siteIds()) {
      const list = [...(this.access.state(siteId)?.credentials.values() ?? [])].filter(
        (c) => !c.revoked && !c.handedOver && c.holder.type !== 'staff' && c.windows.some((w) => w.end > now),
      );
      for (const c of list) await this.replaceCode(siteId, c);
    }
  }

  private async replaceCode(siteId: string, c: CredentialView): Promise<void> {
    const actor = await this.access.ensureSite(siteId);
    const kdf = actor.read((s) => s.kdf) as Kdf;
    const ref: HolderRef = { siteId, holderKey: c.holderKey };
    for (let attempt = 0; attempt < 20; attempt++) {
      const pin = drawPin(this.access.pinDigits);
      const digest = this.access.codeDigest('pin', pin);
      const r = await this.access.submit(
        siteId,
        { type: 'RotateCode', data: { credentialId: c.credentialId, secretDigest: digest, offlineDigest: await offlineDigest(kdf, 'pin', pin), reason: 'the code never reached the customer; replaced' } },
        ACTOR,
      );
      if (!r.ok) {
        if (r.error.code === 'CODE_COLLISION') continue;
        return;
      }
      this.stats.replaced++;
      const fresh = this.access.credentialOf(siteId, c.holderKey);
      if (fresh !== undefined) await this.send(ref, fresh, pin, 'replaced');
      return;
    }
  }
}

const key = (ref: HolderRef): string => `${ref.siteId}|${ref.holderKey}`;
const newId = (): string => `crd_${crypto.randomUUID().replaceAll('-', '')}`;
