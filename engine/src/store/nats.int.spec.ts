import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteJetStreamStreams, ensureNats, uniqueSuffix } from '../testing/nats.js';
import type { NatsForTests } from '../testing/nats.js';
import { sleep, waitUntil } from '../testing/wait.js';
import { eventStoreContract } from './contract.js';
import { MAX_EVENTS_PER_COMMIT, NatsEventStore, POSITION_FACTOR, subjectToken } from './nats.js';
import type { NatsEventStoreOptions } from './nats.js';
import { CommitTooLargeError, StoreUnavailableError, StreamVersionConflictError } from './port.js';
import type { RecordedEvent } from './port.js';

let nats: NatsForTests;
const natsReady = ensureNats();
beforeAll(async () => {
  nats = await natsReady;
});
afterAll(async () => {
  await (await natsReady).stop();
});

/** Names unique to one test, so tests and reruns on the shared server never meet. */
const testNames = () => {
  const suffix = uniqueSuffix();
  return {
    streamName: `VUORO_T_${suffix}`,
    subjectPrefix: `vt${suffix.toLowerCase()}`,
    commitsBucket: `VUORO_T_${suffix}_COMMITS`,
    snapshotsBucket: `VUORO_T_${suffix}_SNAPSHOTS`,
  };
};

const jetStreamNamesOf = (names: ReturnType<typeof testNames>): string[] => [
  names.streamName,
  `KV_${names.commitsBucket}`,
  `KV_${names.snapshotsBucket}`,
];

eventStoreContract('nats', async () => {
  const { url } = await natsReady;
  const names = testNames();
  const opened = [await NatsEventStore.connect({ servers: url, ...names })];
  return {
    store: opened[0]!,
    reopen: async () => {
      await opened[opened.length - 1]!.close();
      const next = await NatsEventStore.connect({ servers: url, ...names });
      opened.push(next);
      return next;
    },
    cleanup: async () => {
      for (const s of opened) await s.close();
      await deleteJetStreamStreams(url, jetStreamNamesOf(names));
    },
  };
});

describe('NatsEventStore', () => {
  let names: ReturnType<typeof testNames>;
  const stores: NatsEventStore[] = [];
  const connections: NatsConnection[] = [];
  const open = async (options: Partial<NatsEventStoreOptions> = {}) => {
    const store = await NatsEventStore.connect({ servers: nats.url, ...names, ...options });
    stores.push(store);
    return store;
  };
  const raw = async () => {
    const nc = await connect({ servers: nats.url });
    connections.push(nc);
    return { nc, jsm: await jetstreamManager(nc), js: jetstream(nc) };
  };
  const fresh = () => {
    names = testNames();
  };

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const c of connections.splice(0)) await c.close();
    await deleteJetStreamStreams(nats.url, jetStreamNamesOf(names));
  });

  describe('layout', () => {
    it('maps a Vuoro stream to one subject and one commit to one message', async () => {
      fresh();
      const store = await open();
      expect(store.subjectOf('site-42')).toBe(`${names.subjectPrefix}.events.site-42`);
      const result = await store.append('site-42', [{ type: 'A', data: {} }, { type: 'B', data: {} }, { type: 'C', data: {} }], {
        expectedVersion: 'no_stream',
      });
      const { jsm } = await raw();
      const info = await jsm.streams.info(names.streamName, { subjects_filter: '>' });
      expect(info.state.messages).toBe(1);
      expect(info.state.subjects).toEqual({ [`${names.subjectPrefix}.events.site-42`]: 1 });
      expect(info.config.subjects).toEqual([`${names.subjectPrefix}.events.>`]);
      // position = message sequence * 10,000 + index in the commit
      expect(result.firstPosition).toBe(1 * POSITION_FACTOR);
      expect(result.lastPosition).toBe(1 * POSITION_FACTOR + 2);
    });

    it('escapes what a subject token cannot hold, without collisions', () => {
      expect(subjectToken('site-42_a')).toBe('site-42_a');
      expect(subjectToken('a.b')).toBe('a%2Eb');
      expect(subjectToken('a%2Eb')).toBe('a%252Eb');
      expect(subjectToken('x*> y')).toBe('x%2A%3E%20y');
      expect(subjectToken('ä')).toBe('%C3%A4');
      const names = ['a.b', 'a%2Eb', 'a_b', 'a-b', 'a b', 'ä', '%C3%A4'];
      expect(new Set(names.map(subjectToken)).size).toBe(names.length);
    });

    it('refuses a stream name that holds other subjects', async () => {
      fresh();
      await (await open()).close();
      await expect(NatsEventStore.connect({ servers: nats.url, ...names, subjectPrefix: 'other' })).rejects.toThrow(
        /does not hold subjects other\.events/,
      );
    });
  });

  describe('versions across instances', () => {
    it('verifies a cached version with the server, so stale caches neither refuse nor double-write', async () => {
      fresh();
      const a = await open();
      const b = await open();
      await a.append('s', [{ type: 'A1', data: {} }], { expectedVersion: 'no_stream' });
      await b.append('s', [{ type: 'B2', data: {} }], { expectedVersion: 1 });
      // a's cache still says version 1; the caller knows better.
      expect((await a.append('s', [{ type: 'A3', data: {} }], { expectedVersion: 2 })).nextExpectedVersion).toBe(3);
      await b.append('s', [{ type: 'B4', data: {} }], { expectedVersion: 'any' });
      // a's cache says 3, the stream is at 4: the server refuses a's publish, a re-reads and reports the truth.
      const error = await a.append('s', [{ type: 'A?', data: {} }], { expectedVersion: 3 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamVersionConflictError);
      expect((error as StreamVersionConflictError).actual).toBe(4);
      await b.append('s', [{ type: 'B5', data: {} }], { expectedVersion: 4 });
      expect((await a.append('s', [{ type: 'A6', data: {} }], { expectedVersion: 'any' })).nextExpectedVersion).toBe(6);
      expect((await b.readStream('s')).map((e) => `${e.type}@${e.version}`)).toEqual([
        'A1@1',
        'B2@2',
        'A3@3',
        'B4@4',
        'B5@5',
        'A6@6',
      ]);
    });

    it('lets exactly one of two instances win a race for the same expected version', async () => {
      fresh();
      const a = await open();
      const b = await open();
      await a.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream' });
      await b.streamVersion('s');
      for (let round = 1; round <= 20; round++) {
        const results = await Promise.allSettled([
          a.append('s', [{ type: 'A', data: {} }], { expectedVersion: round }),
          b.append('s', [{ type: 'B', data: {} }], { expectedVersion: round }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      }
      expect(await a.streamVersion('s')).toBe(21);
    });

    it("delivers one instance's appends to another instance's subscriber", async () => {
      fresh();
      const writer = await open();
      const reader = await open();
      const seen: RecordedEvent[] = [];
      const subscription = reader.subscribe({ after: 0, handler: (e) => void seen.push(e) });
      await writer.append('s', [{ type: 'X', data: { n: 1 } }], { expectedVersion: 'no_stream' });
      await waitUntil(() => seen.length >= 1);
      expect(seen[0]).toMatchObject({ stream: 's', version: 1, type: 'X', data: { n: 1 } });
      await subscription.close();
    });

    it('reads a long stream from any version (binary search over sequences)', async () => {
      fresh();
      const store = await open();
      for (let c = 0; c < 30; c++) {
        await store.append('long', [{ type: 'L', data: { c, i: 0 } }, { type: 'L', data: { c, i: 1 } }], { expectedVersion: 'any' });
        if (c % 3 === 0) await store.append(`other-${c % 2}`, [{ type: 'O', data: {} }], { expectedVersion: 'any' });
      }
      for (const from of [1, 2, 3, 17, 30, 31, 58, 59, 60, 61]) {
        const events = await store.readStream('long', { fromVersion: from });
        expect(events.map((e) => e.version)).toEqual(Array.from({ length: Math.max(0, 61 - from) }, (_, i) => from + i));
      }
      expect((await store.readStream('long', { fromVersion: 20, limit: 3 })).map((e) => e.version)).toEqual([20, 21, 22]);
    });
  });

  describe('idempotency beyond the server dedupe window', () => {
    it('recognises a retry after the window through the commits bucket', async () => {
      fresh();
      const store = await open({ duplicateWindowMs: 300 });
      const first = await store.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'any', commitId: 'c1' });
      await sleep(800);
      const again = await store.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'any', commitId: 'c1' });
      expect(again).toEqual({ ...first, duplicate: true });
      const { jsm } = await raw();
      expect((await jsm.streams.info(names.streamName)).state.messages).toBe(1);
    });

    it('finds the message of an attempt that died between its claim and its ack', async () => {
      fresh();
      const store = await open({ duplicateWindowMs: 300 });
      await store.append('s', [{ type: 'Before', data: {} }], { expectedVersion: 'no_stream' });
      const first = await store.append('s', [{ type: 'X', data: {} }, { type: 'Y', data: {} }], {
        expectedVersion: 1,
        commitId: 'lost-ack',
      });
      await store.append('s', [{ type: 'After', data: {} }], { expectedVersion: 3 });
      await store.close();
      // Put the commit record back to what a crash right after publishing leaves behind.
      const { js } = await raw();
      const commits = await new Kvm(js).open(names.commitsBucket);
      const key = `${Buffer.from('s').toString('base64url')}.${Buffer.from('lost-ack').toString('base64url')}`;
      expect((await commits.get(key))?.json<{ state: string }>().state).toBe('done');
      await commits.put(key, JSON.stringify({ stream: 's', commitId: 'lost-ack', state: 'pending', afterSeq: 1 }));
      await sleep(800);

      const reopened = await open({ duplicateWindowMs: 300 });
      const again = await reopened.append('s', [{ type: 'X', data: {} }, { type: 'Y', data: {} }], {
        expectedVersion: 'any',
        commitId: 'lost-ack',
      });
      expect(again).toEqual({ ...first, duplicate: true });
      expect(await reopened.streamVersion('s')).toBe(4);
      await reopened.close();
      expect((await commits.get(key))?.json<{ state: string }>().state).toBe('done');
    });

    it('drops the claim of a commit refused for its expected version', async () => {
      fresh();
      const store = await open();
      await store.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream' });
      await expect(
        store.append('s', [{ type: 'Y', data: {} }], { expectedVersion: 'no_stream', commitId: 'refused' }),
      ).rejects.toBeInstanceOf(StreamVersionConflictError);
      await store.close();
      const { js } = await raw();
      const commits = await new Kvm(js).open(names.commitsBucket);
      const key = `${Buffer.from('s').toString('base64url')}.${Buffer.from('refused').toString('base64url')}`;
      expect((await commits.get(key))?.operation ?? 'PURGE').toBe('PURGE');
    });

    it('publishes a claimed commit whose earlier attempt never landed', async () => {
      fresh();
      const store = await open();
      const { js } = await raw();
      const commits = await new Kvm(js).open(names.commitsBucket);
      const key = `${Buffer.from('s').toString('base64url')}.${Buffer.from('never-sent').toString('base64url')}`;
      await commits.put(key, JSON.stringify({ stream: 's', commitId: 'never-sent', state: 'pending', afterSeq: 0 }));
      const result = await store.append('s', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream', commitId: 'never-sent' });
      expect(result.duplicate).toBe(false);
      expect(await store.streamVersion('s')).toBe(1);
    });
  });

  describe('message size', () => {
    const noise = (bytes: number) => randomBytes(bytes).toString('base64');

    it('deflates a big compressible commit so it fits one message', async () => {
      fresh();
      const store = await open();
      const events = Array.from({ length: 4000 }, (_, i) => ({
        type: 'SlotBooked',
        data: { i, note: 'Käpylän liikuntapuisto, sali 1/3, vakiovuoro '.repeat(10) },
      }));
      expect(Buffer.byteLength(JSON.stringify(events))).toBeGreaterThan(1.5 * 1024 * 1024);
      const result = await store.append('big', events, { expectedVersion: 'no_stream' });
      expect(result.nextExpectedVersion).toBe(4000);
      const read = await store.readStream('big', { fromVersion: 3999 });
      expect(read.map((e) => e.data)).toEqual([events[3998]!.data, events[3999]!.data]);
    });

    it('refuses a commit that cannot fit one message, writing nothing', async () => {
      fresh();
      const store = await open();
      const events = Array.from({ length: 1500 }, () => ({ type: 'Noise', data: { n: noise(1000) } }));
      const error = await store.append('s', events, { expectedVersion: 'any', commitId: 'too-big' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommitTooLargeError);
      expect((error as CommitTooLargeError).code).toBe('COMMIT_TOO_LARGE');
      expect(await store.streamVersion('s')).toBe(0);
      // Nothing was claimed either: the same commit id is free for a smaller commit.
      const ok = await store.append('s', events.slice(0, 10), { expectedVersion: 'any', commitId: 'too-big' });
      expect(ok.duplicate).toBe(false);
    });

    it(`refuses more than ${MAX_EVENTS_PER_COMMIT} events in one commit (positions leave room for that many)`, async () => {
      fresh();
      const store = await open();
      const events = Array.from({ length: MAX_EVENTS_PER_COMMIT + 1 }, () => ({ type: 'X', data: 0 }));
      await expect(store.append('s', events, { expectedVersion: 'any' })).rejects.toBeInstanceOf(CommitTooLargeError);
    });

    it('stores a snapshot bigger than a message in chunks, and purges them when overwritten', async () => {
      fresh();
      const store = await open();
      const state = { blob: noise(3 * 1024 * 1024), name: 'iso tila ä' };
      await store.saveSnapshot({ stream: 'site-1', version: 7, schema: 'site/v1', state });
      expect(await store.loadSnapshot('site-1')).toEqual({ stream: 'site-1', version: 7, schema: 'site/v1', state });
      const { js } = await raw();
      const bucket = await new Kvm(js).open(names.snapshotsBucket);
      const keysNow = async () => {
        const keys: string[] = [];
        for await (const k of await bucket.keys()) keys.push(k);
        return keys;
      };
      expect((await keysNow()).filter((k) => k.startsWith('c.')).length).toBeGreaterThanOrEqual(6);
      await store.saveSnapshot({ stream: 'site-1', version: 8, schema: 'site/v1', state: { small: true } });
      expect((await store.loadSnapshot('site-1'))?.state).toEqual({ small: true });
      expect((await keysNow()).filter((k) => k.startsWith('c.'))).toEqual([]);
    });
  });

  describe('failures', () => {
    it('reports a server that does not answer as StoreUnavailableError', async () => {
      fresh();
      await expect(NatsEventStore.connect({ servers: 'nats://127.0.0.1:1', timeoutMs: 500 })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    });
  });
});
