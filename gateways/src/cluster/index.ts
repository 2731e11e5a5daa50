/**
 * Opening the engine for the composition root: alone on its store (the
 * default), or with `CLUSTER=true` as one of several Vuoro nodes sharing the
 * partitions over a NATS JetStream cluster (engine/src/cluster/README.md).
 *
 * In a cluster every node serves the whole HTTP API: commands for sites it
 * does not own are forwarded to their owner, reads are answered from its
 * follower copies, and projections and the MQTT gateway follow the
 * replicated feed like on a single node.
 */
import { hostname } from 'node:os';
import { Engine, openClusterEngine, openStore, type ClusterEngine, type EventStore, type StoreConfig } from '@vuoro/engine';
import type { Config } from '../config.js';
import type { Metrics } from '../ops/metrics.js';
import { IF_MATCH_PRECONDITION, ifMatchFromSpec } from '../reservations/view.js';

export interface OpenedEngine {
  store: EventStore;
  engine: Engine;
  /** Set in cluster mode; `stop()` it before closing the engine (it hands the partitions over). */
  cluster: ClusterEngine | undefined;
}

export async function openEngine(config: Config, store: StoreConfig, metrics: Metrics): Promise<OpenedEngine> {
  const engineOptions = {
    snapshotEvery: config.SNAPSHOT_EVERY,
    onCommit: metrics.onCommit,
    // Preconditions a forwarded command may carry (If-Match on a reservation).
    preconditions: { [IF_MATCH_PRECONDITION]: ifMatchFromSpec },
  };
  if (!config.CLUSTER) {
    const opened = await openStore(store);
    return { store: opened, engine: await Engine.open({ store: opened, ...engineOptions }), cluster: undefined };
  }
  if (config.STORE !== 'nats') throw new Error('CLUSTER=true needs STORE=nats (the cluster shares its partitions over NATS JetStream)');
  const cluster = await openClusterEngine({
    servers: config.NATS_URL,
    nodeId: config.NODE_ID ?? `${hostname()}-${config.PORT}`,
    replicas: config.NATS_REPLICAS,
    leaseTtlMs: config.LEASE_TTL_MS,
    engine: engineOptions,
    // Ownership changes are rare and matter to operators; the app's logger does not exist yet here.
    log: (msg, fields) => process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), component: 'cluster', msg, ...fields })}\n`),
  });
  return { store: cluster.store, engine: cluster.engine, cluster };
}
