/**
 * Cluster mode: several Vuoro nodes share the partitions over a NATS
 * JetStream cluster (see README.md here and infra/nats/README.md).
 *
 *   const cluster = await openClusterEngine({ servers: 'nats://a:4222,nats://b:4222', nodeId: 'n1' });
 *   cluster.engine.execute(...)   // any node accepts any command
 *   await cluster.close()         // hands its partitions over first
 */
import { Engine, type EngineOptions } from '../runtime/engine.js';
import { NatsEventStore, type NatsEventStoreOptions } from '../store/nats.js';
import { ClusterNode, type ClusterNodeOptions } from './node.js';

export { ClusterNode, type ClusterNodeOptions, type ClusterStats, type ClusterStatus } from './node.js';
export { Forwarding } from './forwarding.js';
export { LeaseBucket, LeaseLostError, leaseKey, type LeaseHolder } from './leases.js';
export { preferredOwner } from './rendezvous.js';

export interface ClusterEngineOptions extends Omit<ClusterNodeOptions, 'servers'> {
  servers: string | string[];
  /** Replicas of the stream and every bucket (3 on a 3-node cluster). */
  replicas?: number;
  /** Further options of the event store (names of the stream and buckets...). */
  store?: Partial<Omit<NatsEventStoreOptions, 'servers' | 'replicas'>>;
  /** Options of the engine (snapshots, clock, commit observer...). */
  engine?: Omit<EngineOptions, 'store' | 'placement' | 'followFrom'>;
}

export interface ClusterEngine {
  engine: Engine;
  store: NatsEventStore;
  node: ClusterNode;
  /** Hands the partitions over, then closes the engine and the store. */
  close(): Promise<void>;
}

export async function openClusterEngine(options: ClusterEngineOptions): Promise<ClusterEngine> {
  const replicas = options.replicas ?? 3;
  const ttl = options.leaseTtlMs ?? 6000;
  const { servers, store: storeOptions, engine: engineOptions, ...nodeOptions } = options;
  const store = await NatsEventStore.connect({ retryForMs: 2 * ttl, ...storeOptions, servers, replicas });
  let node: ClusterNode | undefined;
  try {
    node = await ClusterNode.connect({ ...nodeOptions, servers, replicas });
    // The feed position first, then the partitions' state: nothing falls in between.
    const followFrom = await store.headPosition();
    const engine = await Engine.open({ ...engineOptions, store, placement: node, followFrom });
    await node.start(engine);
    const running = node;
    return {
      engine,
      store,
      node: running,
      close: async () => {
        await running.stop();
        await engine.close();
        await store.close();
      },
    };
  } catch (error) {
    await node?.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
