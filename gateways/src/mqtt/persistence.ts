/**
 * aedes' in-memory persistence with an index of retained messages.
 *
 * The stock one finds the retained messages of a new subscription by testing
 * every retained topic against it. With a retained allow-list and state per
 * door, 10,000 locks subscribing three times each would test 20,000 topics
 * per subscription: minutes of blocked event loop at every mass reconnect.
 * Here retained messages are kept by topic and by parent level, so the
 * subscriptions devices make (exact topics, and `.../auth/res/+`) are map
 * lookups; any other filter falls back to a scan.
 *
 * Everything else (sessions, QoS queues, wills) is the stock implementation.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

interface RetainedPacket {
  topic: string;
  payload: Buffer;
  [key: string]: unknown;
}

interface AsyncMemoryPersistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

const require = createRequire(import.meta.url);
// aedes' own dependency: the async in-memory persistence class it uses by default.
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new (options?: object) => AsyncMemoryPersistence;

/** MQTT topic filter matching (3.1.1 section 4.7), with `$` topics hidden from leading wildcards. */
export function matchesFilter(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

const parentOf = (topic: string): string => topic.slice(0, Math.max(0, topic.lastIndexOf('/')));

export class IndexedRetainedPersistence extends MemoryPersistence {
  private readonly retained = new Map<string, RetainedPacket>();
  private readonly children = new Map<string, Set<string>>();

  override async storeRetained(pkt: RetainedPacket): Promise<void> {
    const parent = parentOf(pkt.topic);
    if (pkt.payload.length === 0) {
      this.retained.delete(pkt.topic);
      const siblings = this.children.get(parent);
      siblings?.delete(pkt.topic);
      if (siblings?.size === 0) this.children.delete(parent);
      return;
    }
    this.retained.set(pkt.topic, { ...pkt });
    let siblings = this.children.get(parent);
    if (siblings === undefined) {
      siblings = new Set();
      this.children.set(parent, siblings);
    }
    siblings.add(pkt.topic);
  }

  private *matching(pattern: string): Generator<RetainedPacket> {
    const wildcard = pattern.indexOf('+') >= 0 || pattern.indexOf('#') >= 0;
    if (!wildcard) {
      const p = this.retained.get(pattern);
      if (p !== undefined) yield p;
      return;
    }
    const parent = parentOf(pattern);
    if (pattern.endsWith('/+') && parent.indexOf('+') < 0 && parent.indexOf('#') < 0) {
      for (const topic of this.children.get(parent) ?? []) {
        const p = this.retained.get(topic);
        if (p !== undefined) yield p;
      }
      return;
    }
    for (const [topic, p] of this.retained) if (matchesFilter(pattern, topic)) yield p;
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.matching(pattern));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(patterns.flatMap((p) => [...this.matching(p)]));
  }

  get retainedCount(): number {
    return this.retained.size;
  }
}
