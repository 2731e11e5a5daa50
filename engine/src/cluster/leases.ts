/**
 * Partition leases in a JetStream key-value bucket (`VUORO_LEASES`, R3 in a
 * cluster). A lease is one key per partition whose value is the holder's node
 * id. The bucket's max age is the lease time to live, so a lease nobody
 * renews disappears on the servers' clock, whatever the holder believes.
 *
 * - acquire: `create`, which the server refuses while the key exists.
 * - renew: `update(key, value, revision)`, which fails if anyone else wrote
 *   the key since, or if it expired (its revision is gone): the lease is lost.
 * - release: delete with the revision expected, so a lease already taken
 *   over is never deleted by its previous holder.
 *
 * Every write needs a quorum of the bucket's replicas, so a node cut off from
 * the majority can neither renew nor acquire.
 */
import { JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';

export interface LeaseBucketOptions {
  bucket?: string;
  /** Time to live of a lease that is not renewed. */
  ttlMs: number;
  replicas: number;
  timeoutMs: number;
}

export interface LeaseHolder {
  nodeId: string;
  revision: number;
  /** DEL: released (a graceful hand-over); PUT: held, or expired without a trace. */
  operation: 'PUT' | 'DEL' | 'PURGE';
}

export class LeaseLostError extends Error {
  readonly code = 'LEASE_LOST' as const;
  constructor(
    readonly partition: string,
    cause: unknown,
  ) {
    super(`lease of ${partition} lost: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'LeaseLostError';
  }
}

/** KV keys allow [-/_=.A-Za-z0-9]; base64url of the stream name fits and is reversible. */
export const leaseKey = (partition: string): string => `p.${Buffer.from(partition, 'utf8').toString('base64url')}`;
export const partitionOfKey = (key: string): string => Buffer.from(key.slice(2), 'base64url').toString('utf8');

const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);
const isRevisionConflict = (e: unknown): boolean =>
  (e instanceof JetStreamApiError && WRONG_LAST_SEQUENCE.has(e.code)) || (e instanceof Error && /wrong last sequence/.test(e.message));

export class LeaseBucket {
  private constructor(
    readonly kv: KV,
    readonly ttlMs: number,
  ) {}

  static async open(js: JetStreamClient, options: LeaseBucketOptions): Promise<LeaseBucket> {
    const kv = await new Kvm(js).create(options.bucket ?? 'VUORO_LEASES', {
      history: 1,
      ttl: options.ttlMs,
      replicas: options.replicas,
      timeout: options.timeoutMs,
    });
    return new LeaseBucket(kv, options.ttlMs);
  }

  /** The lease's revision, or undefined when someone holds it. Throws when the bucket cannot be written (no quorum). */
  async acquire(partition: string, nodeId: string): Promise<number | undefined> {
    try {
      return await this.kv.create(leaseKey(partition), nodeId);
    } catch (error) {
      if (isRevisionConflict(error)) return undefined;
      throw error;
    }
  }

  /** The new revision; LeaseLostError when the lease moved or expired, other errors when the bucket is unreachable. */
  async renew(partition: string, nodeId: string, revision: number): Promise<number> {
    try {
      return await this.kv.update(leaseKey(partition), nodeId, revision);
    } catch (error) {
      if (isRevisionConflict(error)) throw new LeaseLostError(partition, error);
      throw error;
    }
  }

  /** Gives the lease up, unless it already moved on. */
  async release(partition: string, revision: number): Promise<void> {
    try {
      await this.kv.delete(leaseKey(partition), { previousSeq: revision });
    } catch (error) {
      if (!isRevisionConflict(error)) throw error;
    }
  }

  async holder(partition: string): Promise<LeaseHolder | undefined> {
    const entry = await this.kv.get(leaseKey(partition));
    if (entry === null) return undefined;
    return { nodeId: entry.string(), revision: entry.revision, operation: entry.operation };
  }

  /** Every change of every lease, starting with the current ones. */
  async watch(onChange: (partition: string, holder: LeaseHolder) => void): Promise<{ stop(): void }> {
    const iterator = await this.kv.watch();
    void (async () => {
      try {
        for await (const e of iterator as AsyncIterable<KvWatchEntry>) {
          onChange(partitionOfKey(e.key), { nodeId: e.string(), revision: e.revision, operation: e.operation });
        }
      } catch {
        // the connection closed
      }
    })();
    return { stop: () => iterator.stop() };
  }
}
