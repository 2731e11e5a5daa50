/**
 * Which live node should own a partition: rendezvous (highest random weight)
 * hashing. Every node computes the same answer from the same set of live
 * nodes, and when a node joins or leaves only the partitions it gains or
 * loses move (about 1/n of them), never a reshuffle of the rest.
 */
import { createHash } from 'node:crypto';

const weight = (nodeId: string, partition: string): bigint =>
  createHash('sha1').update(nodeId).update('\u0000').update(partition).digest().readBigUInt64BE(0);

export function preferredOwner(partition: string, nodes: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const node of nodes) {
    const w = weight(node, partition);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}
