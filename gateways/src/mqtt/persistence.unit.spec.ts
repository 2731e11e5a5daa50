import { describe, expect, it } from 'vitest';
import { IndexedRetainedPersistence, matchesFilter } from './persistence.js';

const read = async (stream: AsyncIterable<unknown>) => {
  const out: string[] = [];
  for await (const p of stream) out.push((p as { topic: string }).topic);
  return out.sort();
};

describe('retained messages by index', () => {
  it('matches MQTT filters as the spec says', () => {
    expect(matchesFilter('a/+/c', 'a/b/c')).toBe(true);
    expect(matchesFilter('a/#', 'a')).toBe(true);
    expect(matchesFilter('a/#', 'a/b/c')).toBe(true);
    expect(matchesFilter('a/+', 'a/b/c')).toBe(false);
    expect(matchesFilter('+/b', '$SYS/b')).toBe(false);
    expect(matchesFilter('#', '$SYS/x')).toBe(false);
    expect(matchesFilter('a/b', 'a/b/c')).toBe(false);
  });

  it('finds retained messages by exact topic, by last-level wildcard and by any filter; an empty payload deletes', async () => {
    const p = new IndexedRetainedPersistence();
    for (const topic of ['v/s1/d1/allowlist', 'v/s1/d1/state', 'v/s1/d2/allowlist', 'v/s2/d1/state']) await p.storeRetained({ topic, payload: Buffer.from('x') });
    expect(await read(p.createRetainedStream('v/s1/d1/allowlist'))).toEqual(['v/s1/d1/allowlist']);
    expect(await read(p.createRetainedStream('v/s1/d1/+'))).toEqual(['v/s1/d1/allowlist', 'v/s1/d1/state']);
    expect(await read(p.createRetainedStream('v/+/d1/state'))).toEqual(['v/s1/d1/state', 'v/s2/d1/state']);
    expect(await read(p.createRetainedStreamCombi(['v/s1/#', 'v/s2/d1/state']))).toEqual(['v/s1/d1/allowlist', 'v/s1/d1/state', 'v/s1/d2/allowlist', 'v/s2/d1/state']);
    await p.storeRetained({ topic: 'v/s1/d1/state', payload: Buffer.alloc(0) });
    expect(await read(p.createRetainedStream('v/s1/d1/+'))).toEqual(['v/s1/d1/allowlist']);
    expect(p.retainedCount).toBe(3);
  });
});
