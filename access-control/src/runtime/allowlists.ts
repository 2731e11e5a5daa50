/**
 * Publishing allow-lists: a door is marked dirty when something it depends
 * on changed (a credential of the door was issued, changed, revoked; the
 * door was registered; an emergency open began or ended) or when its list
 * ages. Dirty doors are rebuilt in the next tick, each with a new version,
 * recorded in the site's stream (`AllowListPublished`: version, times,
 * SHA-256), and only then signed and published, so a version a lock has seen
 * is never reused, also across restarts.
 */
import { createHash } from 'node:crypto';
import { randomSalt } from '../crypto/codes.js';
import { ALLOWLIST_TYP, type FlattenedJws, type Signer } from '../crypto/jws.js';
import { buildAllowList } from '../allowlist/build.js';
import type { AccessError } from '../errors.js';
import type { AccessActor } from './types.js';
import type { AccessLogger } from './logger.js';

export interface AllowListPolicy {
  /** A list is valid this long after it is issued. */
  ttlMs: number;
  /** Windows up to this far ahead are included. */
  horizonMs: number;
  /** A list is re-issued when it is this old (well before it expires, so an offline lock keeps a valid one). */
  refreshMs: number;
}

export const DEFAULT_ALLOWLIST_POLICY: AllowListPolicy = {
  ttlMs: 48 * 3_600_000,
  horizonMs: 48 * 3_600_000,
  refreshMs: 6 * 3_600_000,
};

export interface AllowListDeps {
  actorOf(siteId: string): AccessActor | undefined;
  signer: Signer;
  clock: () => number;
  policy: AllowListPolicy;
  publish(siteId: string, doorId: string, jws: FlattenedJws | null): Promise<void>;
  log: AccessLogger;
}

export class AllowListPublisher {
  private readonly dirty = new Map<string, Set<string>>();
  private readonly cleared = new Map<string, Set<string>>();
  private running: Promise<void> | undefined;
  private scheduled = false;
  private enabled = false;
  private idleWaiters: (() => void)[] = [];
  /** Set when a round failed to record a list: the next round waits a little (the store may be down). */
  private backoff = false;
  readonly stats = { published: 0, cleared: 0, conflicts: 0, failures: 0 };

  constructor(private readonly deps: AllowListDeps) {}

  /** Starts publishing (once something can carry the lists to the locks). */
  enable(): void {
    this.enabled = true;
    this.schedule();
  }

  disable(): void {
    this.enabled = false;
  }

  markDirty(siteId: string, doorIds: Iterable<string>): void {
    let set = this.dirty.get(siteId);
    if (set === undefined) {
      set = new Set();
      this.dirty.set(siteId, set);
    }
    for (const d of doorIds) set.add(d);
    this.schedule();
  }

  /** The door is gone: its retained list is cleared. */
  markCleared(siteId: string, doorId: string): void {
    let set = this.cleared.get(siteId);
    if (set === undefined) {
      set = new Set();
      this.cleared.set(siteId, set);
    }
    set.add(doorId);
    this.dirty.get(siteId)?.delete(doorId);
    this.schedule();
  }

  /** Marks every door whose list is missing, old, or halfway to expiry. */
  refreshDue(siteIds: Iterable<string>, now: number): number {
    let n = 0;
    for (const siteId of siteIds) {
      const due = this.deps.actorOf(siteId)?.read((s) =>
        [...s.doors.values()]
          .filter((d) => !d.removed)
          .filter(
            (d) =>
              d.allowList === undefined ||
              now - d.allowList.issuedAt >= this.deps.policy.refreshMs ||
              d.allowList.expiresAt - now <= this.deps.policy.ttlMs / 2,
          )
          .map((d) => d.doorId),
      );
      if (due !== undefined && due.length > 0) {
        n += due.length;
        this.markDirty(siteId, due);
      }
    }
    return n;
  }

  get pendingDoors(): number {
    let n = 0;
    for (const s of this.dirty.values()) n += s.size;
    for (const s of this.cleared.values()) n += s.size;
    return n;
  }

  /** Resolves when nothing is waiting to be published. */
  async idle(): Promise<void> {
    if ((this.pendingDoors === 0 || !this.enabled) && this.running === undefined && !this.scheduled) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (!this.enabled || this.scheduled || this.running !== undefined || this.pendingDoors === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.run()
        .catch((error: unknown) => {
          this.stats.failures++;
          this.deps.log.error({ err: error }, 'allow-list publishing failed');
        })
        .finally(() => {
          this.running = undefined;
          if (this.pendingDoors === 0 || !this.enabled) for (const w of this.idleWaiters.splice(0)) w();
          else if (this.backoff) {
            this.backoff = false;
            setTimeout(() => this.schedule(), 1000).unref();
          } else this.schedule();
        });
    });
  }

  private async run(): Promise<void> {
    const cleared = [...this.cleared];
    this.cleared.clear();
    for (const [siteId, doors] of cleared) {
      for (const doorId of doors) {
        await this.deps.publish(siteId, doorId, null);
        this.stats.cleared++;
      }
    }
    const work = [...this.dirty];
    this.dirty.clear();
    await Promise.all(work.map(([siteId, doors]) => this.publishSite(siteId, [...doors])));
  }

  private async publishSite(siteId: string, doorIds: string[]): Promise<void> {
    const actor = this.deps.actorOf(siteId);
    if (actor === undefined) return;
    const now = this.deps.clock();
    const { ttlMs, horizonMs } = this.deps.policy;
    const built = actor.read((state) =>
      doorIds.flatMap((doorId) => {
        const door = state.doors.get(doorId);
        if (door === undefined || door.removed) return [];
        const version = (door.allowList?.version ?? 0) + 1;
        const list = buildAllowList(state, doorId, { now, version, ttlMs, horizonMs, doorSalt: randomSalt() });
        return [{ doorId, list }];
      }),
    );
    await Promise.all(
      built.map(async ({ doorId, list }) => {
        const jws = this.deps.signer.sign(ALLOWLIST_TYP, list);
        const sha256 = createHash('sha256').update(jws.payload).digest('base64url');
        const outcome = await actor.submit({
          command: {
            type: 'RecordAllowListPublished',
            data: { doorId, version: list.version, issuedAt: list.issuedAt, expiresAt: list.expiresAt, entries: list.entries.length, sha256 },
            meta: { now: 0, actor: 'system:allow-lists' },
          },
        });
        if (!outcome.ok) {
          const error = outcome.error as unknown as AccessError;
          if (error.code === 'ALLOWLIST_VERSION_CONFLICT') {
            this.stats.conflicts++;
            this.markDirty(siteId, [doorId]);
          } else if (error.code !== 'UNKNOWN_DOOR') {
            this.stats.failures++;
            this.deps.log.error({ siteId, doorId, code: error.code }, `allow-list not recorded: ${error.message}`);
            this.backoff = true;
            this.markDirty(siteId, [doorId]);
          }
          return;
        }
        await this.deps.publish(siteId, doorId, jws);
        this.stats.published++;
      }),
    );
  }
}
