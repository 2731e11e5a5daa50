import { describe, expect, it } from 'vitest';
import { eventStoreContract } from './contract.js';
import { MemoryEventStore } from './memory.js';

eventStoreContract('memory', async () => {
  const store = new MemoryEventStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryEventStore', () => {
  it('hands out frozen events, so a reader cannot rewrite history', async () => {
    const store = new MemoryEventStore();
    await store.append('s', [{ type: 'X', data: { list: [1] } }], { expectedVersion: 'no_stream' });
    const [event] = await store.readStream('s');
    expect(() => (event!.data as { list: number[] }).list.push(2)).toThrow(TypeError);
    expect((await store.readAll({ after: 0 }))[0]!.data).toEqual({ list: [1] });
  });

  it('gives gapless positions from 1 and stamps recordedAt from its clock', async () => {
    const store = new MemoryEventStore({ now: () => new Date('2027-01-01T00:00:00Z') });
    await store.append('a', [{ type: 'X', data: {} }], { expectedVersion: 'any' });
    await store.append('b', [{ type: 'X', data: {} }, { type: 'Y', data: {} }], { expectedVersion: 'any' });
    const all = await store.readAll({ after: 0 });
    expect(all.map((e) => e.position)).toEqual([1, 2, 3]);
    expect(all[0]!.metadata.recordedAt).toBe('2027-01-01T00:00:00.000Z');
  });

  it('stores values as JSON would carry them, like the durable adapters', async () => {
    const store = new MemoryEventStore();
    await store.append('s', [{ type: 'X', data: { at: new Date('2027-01-01T00:00:00Z'), gone: undefined } }], {
      expectedVersion: 'any',
    });
    expect((await store.readStream('s'))[0]!.data).toEqual({ at: '2027-01-01T00:00:00.000Z' });
  });
});
