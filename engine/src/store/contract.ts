/**
 * The event store contract: the behaviour every adapter must show, as one
 * vitest suite. Each adapter's spec file calls `eventStoreContract` with a
 * factory; each test gets a fresh, empty store from it.
 *
 * What a caller relies on is spelled out here rather than in each adapter's
 * tests, so that swapping SQLite for NATS cannot change what the runtime sees.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep, waitUntil } from '../testing/wait.js';
import { StreamVersionConflictError } from './port.js';
import type { EventStore, EventToAppend, ExpectedVersion, RecordedEvent, Subscription } from './port.js';

export interface ContractSubject {
  store: EventStore;
  /** Closes every store the factory opened and deletes what it created. */
  cleanup(): Promise<void>;
  /**
   * Durable adapters only: closes `store` and opens a new instance on the
   * same data (the idempotency and persistence tests use it).
   */
  reopen?(): Promise<EventStore>;
}

const ev = (type: string, data: unknown = {}, extra: Partial<EventToAppend> = {}): EventToAppend => ({
  type,
  data,
  ...extra,
});

const numbered = (n: number, type = 'Numbered'): EventToAppend[] =>
  Array.from({ length: n }, (_, i) => ev(type, { i }));

const conflictOf = async (promise: Promise<unknown>): Promise<StreamVersionConflictError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamVersionConflictError);
  return error as StreamVersionConflictError;
};

const expectStrictlyIncreasing = (positions: number[]): void => {
  for (let i = 1; i < positions.length; i++) {
    expect(positions[i]!).toBeGreaterThan(positions[i - 1]!);
  }
};

/** Collects what a subscription delivers, and checks it is one event at a time. */
const collector = (delayMs = 0) => {
  const seen: RecordedEvent[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const handler = async (e: RecordedEvent): Promise<void> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (delayMs > 0) await sleep(delayMs);
    seen.push(e);
    inFlight--;
  };
  return { seen, handler, maxInFlight: () => maxInFlight };
};

export function eventStoreContract(name: string, makeStore: () => Promise<ContractSubject>): void {
  describe(`event store contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: EventStore;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.close()));
      await subject.cleanup();
    });

    const follow = (after: number, handler: (e: RecordedEvent) => void | Promise<void>): Subscription => {
      const s = store.subscribe({ after, handler });
      subscriptions.push(s);
      return s;
    };

    describe('append and expected versions', () => {
      it('appends to a new stream with no_stream, versions from 1', async () => {
        const result = await store.append('site-1', [ev('Opened', { a: 1 }), ev('Booked', { b: 2 })], {
          expectedVersion: 'no_stream',
        });
        expect(result.nextExpectedVersion).toBe(2);
        expect(result.duplicate).toBe(false);
        expect(result.lastPosition).toBeGreaterThan(result.firstPosition);
        const events = await store.readStream('site-1');
        expect(events.map((e) => [e.stream, e.version, e.type, e.data])).toEqual([
          ['site-1', 1, 'Opened', { a: 1 }],
          ['site-1', 2, 'Booked', { b: 2 }],
        ]);
        expect(events[0]!.position).toBe(result.firstPosition);
        expect(events[1]!.position).toBe(result.lastPosition);
      });

      it('refuses no_stream when the stream exists', async () => {
        await store.append('s', numbered(2), { expectedVersion: 'no_stream' });
        const error = await conflictOf(store.append('s', numbered(1), { expectedVersion: 'no_stream' }));
        expect(error.stream).toBe('s');
        expect(error.expected).toBe('no_stream');
        expect(error.actual).toBe(2);
        expect(error.code).toBe('CONCURRENCY_CONFLICT');
      });

      it('appends when the expected version number is the current one', async () => {
        await store.append('s', numbered(2), { expectedVersion: 'no_stream' });
        const result = await store.append('s', numbered(3), { expectedVersion: 2 });
        expect(result.nextExpectedVersion).toBe(5);
        expect((await store.readStream('s')).map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      });

      it('treats expected version 0 as no_stream', async () => {
        await store.append('s', numbered(1), { expectedVersion: 0 });
        const error = await conflictOf(store.append('s', numbered(1), { expectedVersion: 0 }));
        expect(error.actual).toBe(1);
      });

      it.each<[string, ExpectedVersion, number]>([
        ['behind', 1, 2],
        ['ahead', 3, 2],
      ])('refuses an expected version number that is %s', async (_, expected, actual) => {
        await store.append('s', numbered(2), { expectedVersion: 'no_stream' });
        const error = await conflictOf(store.append('s', numbered(1), { expectedVersion: expected }));
        expect(error).toMatchObject({ stream: 's', expected, actual });
      });

      it('refuses a version number on a stream that does not exist, reporting actual 0', async () => {
        const error = await conflictOf(store.append('missing', numbered(1), { expectedVersion: 3 }));
        expect(error).toMatchObject({ stream: 'missing', expected: 3, actual: 0 });
      });

      it("appends with 'any' whether or not the stream exists", async () => {
        expect((await store.append('s', numbered(1), { expectedVersion: 'any' })).nextExpectedVersion).toBe(1);
        expect((await store.append('s', numbered(2), { expectedVersion: 'any' })).nextExpectedVersion).toBe(3);
      });

      it("appends with 'stream_exists' only to an existing stream", async () => {
        const error = await conflictOf(store.append('s', numbered(1), { expectedVersion: 'stream_exists' }));
        expect(error).toMatchObject({ stream: 's', expected: 'stream_exists', actual: 0 });
        await store.append('s', numbered(1), { expectedVersion: 'no_stream' });
        expect((await store.append('s', numbered(1), { expectedVersion: 'stream_exists' })).nextExpectedVersion).toBe(
          2,
        );
      });

      it('writes nothing when the expected version does not hold', async () => {
        await store.append('s', numbered(2), { expectedVersion: 'no_stream' });
        const before = await store.readAll({ after: 0 });
        await conflictOf(store.append('s', numbered(3), { expectedVersion: 1 }));
        await conflictOf(store.append('t', numbered(3), { expectedVersion: 'stream_exists' }));
        expect(await store.readAll({ after: 0 })).toEqual(before);
        expect(await store.streamVersion('s')).toBe(2);
        expect(await store.streamVersion('t')).toBe(0);
        expect(await store.readStream('t')).toEqual([]);
      });

      it('keeps the versions of one commit contiguous while other streams are written', async () => {
        await Promise.all([
          store.append('a', numbered(3), { expectedVersion: 'no_stream' }),
          store.append('b', numbered(2), { expectedVersion: 'no_stream' }),
        ]);
        await Promise.all([
          store.append('a', numbered(2), { expectedVersion: 3 }),
          store.append('b', numbered(3), { expectedVersion: 2 }),
        ]);
        expect((await store.readStream('a')).map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
        expect((await store.readStream('b')).map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
        const all = await store.readAll({ after: 0 });
        // The events of one commit are adjacent in the global feed.
        const streamsInFeed = all.map((e) => e.stream).join('');
        expect(streamsInFeed).toMatch(/^(aaa|bb)(aaa|bb)(aa|bbb)(aa|bbb)$/);
      });

      it('writes all events of an append or none (a value JSON cannot carry fails the whole append)', async () => {
        await store.append('s', numbered(1), { expectedVersion: 'no_stream' });
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        await expect(
          store.append('s', [ev('Ok', { n: 1 }), ev('Bad', { n: 10n }), ev('Ok', { n: 3 })], { expectedVersion: 1 }),
        ).rejects.toThrow();
        await expect(store.append('s', [ev('Ok'), ev('Cyclic', cyclic)], { expectedVersion: 1 })).rejects.toThrow();
        expect(await store.streamVersion('s')).toBe(1);
        expect(await store.readAll({ after: 0 })).toHaveLength(1);
        // ... and the stream still takes the next commit at the right version.
        const result = await store.append('s', numbered(2), { expectedVersion: 1 });
        expect(result.nextExpectedVersion).toBe(3);
      });

      it('refuses an event whose data is undefined, which JSON cannot carry', async () => {
        await expect(store.append('s', [ev('Ok'), { type: 'NoData', data: undefined }], { expectedVersion: 'any' })).rejects.toThrow(
          TypeError,
        );
        expect(await store.streamVersion('s')).toBe(0);
      });

      it('refuses an empty append', async () => {
        await expect(store.append('s', [], { expectedVersion: 'any' })).rejects.toThrow(RangeError);
        expect(await store.streamVersion('s')).toBe(0);
      });

      it('lets exactly one of several concurrent appends with the same expected version win', async () => {
        await store.append('s', numbered(1), { expectedVersion: 'no_stream' });
        const attempts = await Promise.allSettled(
          Array.from({ length: 5 }, (_, i) => store.append('s', numbered(2, `Writer${i}`), { expectedVersion: 1 })),
        );
        const won = attempts.filter((a) => a.status === 'fulfilled');
        const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(4);
        for (const l of lost) {
          expect(l.reason).toBeInstanceOf(StreamVersionConflictError);
          expect((l.reason as StreamVersionConflictError).actual).toBe(3);
        }
        const events = await store.readStream('s');
        expect(events.map((e) => e.version)).toEqual([1, 2, 3]);
        expect(new Set(events.slice(1).map((e) => e.type)).size).toBe(1);
      });

      it('lets concurrent no_stream creations of one stream produce exactly one winner', async () => {
        const attempts = await Promise.allSettled(
          Array.from({ length: 4 }, () => store.append('new', numbered(1), { expectedVersion: 'no_stream' })),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
        expect(await store.streamVersion('new')).toBe(1);
      });

      it('appends a large batch (5,000 events) in one commit', async () => {
        const events = Array.from({ length: 5000 }, (_, i) =>
          ev('SlotBooked', { i, space: `spc_${i % 7}`, start: '2027-03-28T10:00:00Z' }),
        );
        const result = await store.append('big', events, { expectedVersion: 'no_stream' });
        expect(result.nextExpectedVersion).toBe(5000);
        const read = await store.readStream('big');
        expect(read).toHaveLength(5000);
        expect(read.every((e, i) => e.version === i + 1 && (e.data as { i: number }).i === i)).toBe(true);
        expect(read[0]!.position).toBe(result.firstPosition);
        expect(read[4999]!.position).toBe(result.lastPosition);
        expectStrictlyIncreasing(read.map((e) => e.position));
        const all = await store.readAll({ after: 0 });
        expect(all).toHaveLength(5000);
      });
    });

    describe('reading', () => {
      it('reads a stream from a version, with a limit', async () => {
        await store.append('s', numbered(3), { expectedVersion: 'no_stream' });
        await store.append('other', numbered(2), { expectedVersion: 'no_stream' });
        await store.append('s', numbered(3), { expectedVersion: 3 });
        expect((await store.readStream('s', { fromVersion: 3 })).map((e) => e.version)).toEqual([3, 4, 5, 6]);
        expect((await store.readStream('s', { fromVersion: 2, limit: 3 })).map((e) => e.version)).toEqual([2, 3, 4]);
        expect((await store.readStream('s', { limit: 1 })).map((e) => e.version)).toEqual([1]);
        expect(await store.readStream('s', { fromVersion: 7 })).toEqual([]);
        expect(await store.readStream('s', { limit: 0 })).toEqual([]);
        expect(await store.readStream('missing')).toEqual([]);
      });

      it('reports the stream version, 0 for a stream that does not exist', async () => {
        expect(await store.streamVersion('s')).toBe(0);
        await store.append('s', numbered(4), { expectedVersion: 'no_stream' });
        expect(await store.streamVersion('s')).toBe(4);
      });

      it('keeps streams whose names share a prefix apart', async () => {
        await store.append('site-1', numbered(1), { expectedVersion: 'no_stream' });
        await store.append('site-10', numbered(2), { expectedVersion: 'no_stream' });
        await store.append('site-1.a', numbered(3), { expectedVersion: 'no_stream' });
        expect(await store.streamVersion('site-1')).toBe(1);
        expect(await store.streamVersion('site-10')).toBe(2);
        expect(await store.streamVersion('site-1.a')).toBe(3);
        expect((await store.readStream('site-1')).every((e) => e.stream === 'site-1')).toBe(true);
      });

      it('reads the global feed in append order across streams, after a position, with a limit', async () => {
        await store.append('a', numbered(2, 'A'), { expectedVersion: 'no_stream' });
        await store.append('b', numbered(1, 'B'), { expectedVersion: 'no_stream' });
        await store.append('a', numbered(1, 'A'), { expectedVersion: 2 });
        await store.append('c', numbered(2, 'C'), { expectedVersion: 'no_stream' });
        const all = await store.readAll({ after: 0 });
        expect(all.map((e) => `${e.stream}${e.version}`)).toEqual(['a1', 'a2', 'b1', 'a3', 'c1', 'c2']);
        expectStrictlyIncreasing(all.map((e) => e.position));
        expect(all[0]!.position).toBeGreaterThan(0);

        const third = all[2]!.position;
        expect((await store.readAll({ after: third })).map((e) => `${e.stream}${e.version}`)).toEqual([
          'a3',
          'c1',
          'c2',
        ]);
        expect((await store.readAll({ after: all[1]!.position, limit: 2 })).map((e) => e.position)).toEqual([
          all[2]!.position,
          all[3]!.position,
        ]);
        expect(await store.readAll({ after: all[5]!.position })).toEqual([]);
        // Reading in pages gives the same feed as reading at once.
        const paged: RecordedEvent[] = [];
        for (let after = 0; ; ) {
          const page = await store.readAll({ after, limit: 4 });
          if (page.length === 0) break;
          paged.push(...page);
          after = page[page.length - 1]!.position;
        }
        expect(paged).toEqual(all);
      });

      it('returns the same event from readStream and readAll', async () => {
        await store.append('s', [ev('X', { n: 1 }, { metadata: { actor: 'staff:stf_1' } })], {
          expectedVersion: 'no_stream',
        });
        expect(await store.readStream('s')).toEqual(await store.readAll({ after: 0 }));
      });
    });

    describe('metadata and data', () => {
      it('round-trips metadata and adds recordedAt', async () => {
        const metadata = {
          causationId: 'cmd_1',
          correlationId: 'req_1',
          idempotencyKey: 'idem_1',
          actor: 'customer:cus_1',
          channel: 'web',
          decidedAt: '2027-01-01T10:00:00.000Z',
          custom: { nested: [1, 'two'] },
        };
        const before = Date.now();
        await store.append('s', [ev('X', {}, { metadata }), ev('Y')], { expectedVersion: 'no_stream' });
        const [x, y] = await store.readStream('s');
        expect(x!.metadata).toMatchObject(metadata);
        expect(typeof x!.metadata.recordedAt).toBe('string');
        const recordedAt = Date.parse(x!.metadata.recordedAt);
        expect(recordedAt).toBeGreaterThanOrEqual(before - 5_000);
        expect(new Date(recordedAt).toISOString()).toBe(x!.metadata.recordedAt);
        expect(Object.keys(y!.metadata)).toEqual(['recordedAt']);
      });

      it('defaults schemaVersion to 1 and keeps an explicit one', async () => {
        await store.append('s', [ev('Old'), ev('New', {}, { schemaVersion: 3 })], { expectedVersion: 'no_stream' });
        expect((await store.readStream('s')).map((e) => e.schemaVersion)).toEqual([1, 3]);
        expect((await store.readAll({ after: 0 })).map((e) => e.schemaVersion)).toEqual([1, 3]);
      });

      it('round-trips unicode and nested JSON, in data and in stream names', async () => {
        const data = {
          name: 'Käpylän liikuntapuisto – sauna 🧖‍♀️',
          quote: 'he said "hi"\n\ttab\\backslash',
          nested: { list: [1, 2.5, -3, null, true, false, { deep: ['å', 'ä', 'ö'] }], empty: {}, none: [] },
          big: Number.MAX_SAFE_INTEGER,
          zh: '预订',
        };
        const streams = ['tila/Käpylä 1', 'a.b', 'a_b', 'a%2Eb', 'x*>y', 'emoji-🎾', 'with:colon'];
        for (const s of streams) await store.append(s, [ev('Ünïcödé', data)], { expectedVersion: 'no_stream' });
        for (const s of streams) {
          const events = await store.readStream(s);
          expect(events).toHaveLength(1);
          expect(events[0]!.stream).toBe(s);
          expect(events[0]!.type).toBe('Ünïcödé');
          expect(events[0]!.data).toEqual(data);
          expect(await store.streamVersion(s)).toBe(1);
        }
        expect((await store.readAll({ after: 0 })).map((e) => e.stream)).toEqual(streams);
      });

      it('stores what was appended, not later changes to the caller objects', async () => {
        const data = { list: [1] };
        await store.append('s', [ev('X', data)], { expectedVersion: 'no_stream' });
        data.list.push(2);
        expect((await store.readStream('s'))[0]!.data).toEqual({ list: [1] });
      });
    });

    describe('subscriptions', () => {
      it('catches up from 0 and then receives live appends in order', async () => {
        await store.append('a', numbered(2), { expectedVersion: 'no_stream' });
        await store.append('b', numbered(1), { expectedVersion: 'no_stream' });
        const c = collector();
        follow(0, c.handler);
        await waitUntil(() => c.seen.length >= 3);
        await store.append('a', numbered(1), { expectedVersion: 2 });
        await store.append('c', numbered(2), { expectedVersion: 'no_stream' });
        await waitUntil(() => c.seen.length >= 6);
        await sleep(50);
        expect(c.seen.map((e) => `${e.stream}${e.version}`)).toEqual(['a1', 'a2', 'b1', 'a3', 'c1', 'c2']);
        expect(c.seen).toEqual(await store.readAll({ after: 0 }));
      });

      it('resumes exactly after a checkpoint', async () => {
        await store.append('a', numbered(5), { expectedVersion: 'no_stream' });
        const all = await store.readAll({ after: 0 });
        const c = collector();
        follow(all[1]!.position, c.handler);
        await waitUntil(() => c.seen.length >= 3);
        await store.append('a', numbered(1), { expectedVersion: 5 });
        await waitUntil(() => c.seen.length >= 4);
        expect(c.seen.map((e) => e.version)).toEqual([3, 4, 5, 6]);
      });

      it('starts a subscription on an empty store and delivers the first append', async () => {
        const c = collector();
        follow(0, c.handler);
        await sleep(20);
        await store.append('a', numbered(1), { expectedVersion: 'no_stream' });
        await waitUntil(() => c.seen.length >= 1);
        expect(c.seen[0]!.stream).toBe('a');
      });

      it('gives a slow async handler every event in order, one at a time', async () => {
        const c = collector(3);
        follow(0, c.handler);
        for (let i = 0; i < 10; i++) await store.append(`s${i % 3}`, numbered(2), { expectedVersion: 'any' });
        await waitUntil(() => c.seen.length >= 20);
        expect(c.maxInFlight()).toBe(1);
        expectStrictlyIncreasing(c.seen.map((e) => e.position));
        expect(c.seen).toEqual(await store.readAll({ after: 0 }));
      });

      it('delivers nothing once close() has resolved', async () => {
        const c = collector();
        const s = follow(0, c.handler);
        await store.append('a', numbered(2), { expectedVersion: 'no_stream' });
        await waitUntil(() => c.seen.length >= 2);
        await s.close();
        await s.done;
        await store.append('a', numbered(3), { expectedVersion: 2 });
        await sleep(400);
        expect(c.seen).toHaveLength(2);
        expect(s.failure).toBeUndefined();
      });

      it('stops for good when the handler throws, and says why', async () => {
        await store.append('a', numbered(3), { expectedVersion: 'no_stream' });
        const seen: number[] = [];
        const boom = new Error('projection bug');
        const s = follow(0, (e) => {
          seen.push(e.version);
          if (e.version === 2) throw boom;
        });
        await s.done;
        expect(s.failure).toBe(boom);
        await store.append('a', numbered(1), { expectedVersion: 3 });
        await sleep(100);
        expect(seen).toEqual([1, 2]);
      });

      it('runs several subscriptions independently', async () => {
        const first = collector();
        const second = collector(2);
        follow(0, first.handler);
        await store.append('a', numbered(3), { expectedVersion: 'no_stream' });
        const all = await store.readAll({ after: 0 });
        follow(all[0]!.position, second.handler);
        await waitUntil(() => first.seen.length >= 3 && second.seen.length >= 2);
        expect(second.seen.map((e) => e.version)).toEqual([2, 3]);
      });
    });

    describe('idempotent append (commitId)', () => {
      it('returns the first result with duplicate: true and writes nothing the second time', async () => {
        const first = await store.append('s', numbered(2), { expectedVersion: 'no_stream', commitId: 'commit-1' });
        const second = await store.append('s', numbered(2), { expectedVersion: 'no_stream', commitId: 'commit-1' });
        expect(second).toEqual({ ...first, duplicate: true });
        expect(await store.streamVersion('s')).toBe(2);
        expect(await store.readAll({ after: 0 })).toHaveLength(2);
      });

      it('recognises the duplicate even when later commits moved the stream on', async () => {
        const first = await store.append('s', numbered(1), { expectedVersion: 0, commitId: 'c1' });
        await store.append('s', numbered(2), { expectedVersion: 1, commitId: 'c2' });
        await store.append('s', numbered(1), { expectedVersion: 'any' });
        const again = await store.append('s', numbered(1), { expectedVersion: 0, commitId: 'c1' });
        expect(again).toEqual({ ...first, duplicate: true });
        const anyAgain = await store.append('s', numbered(1), { expectedVersion: 'any', commitId: 'c2' });
        expect(anyAgain.duplicate).toBe(true);
        expect(anyAgain.nextExpectedVersion).toBe(3);
        expect(await store.streamVersion('s')).toBe(4);
      });

      it('scopes a commitId to its stream', async () => {
        await store.append('a', numbered(1), { expectedVersion: 'no_stream', commitId: 'same' });
        const other = await store.append('b', numbered(1), { expectedVersion: 'no_stream', commitId: 'same' });
        expect(other.duplicate).toBe(false);
        expect(await store.streamVersion('b')).toBe(1);
      });

      it('answers concurrent retries of one commit with one write', async () => {
        const results = await Promise.all(
          Array.from({ length: 3 }, () => store.append('s', numbered(2), { expectedVersion: 'any', commitId: 'c' })),
        );
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        for (const r of results) expect(r.nextExpectedVersion).toBe(2);
        expect(await store.streamVersion('s')).toBe(2);
      });

      it('remembers commits after the store is closed and reopened (durable adapters)', async (ctx) => {
        if (subject.reopen === undefined) {
          ctx.skip();
          return;
        }
        const first = await store.append('s', numbered(3), { expectedVersion: 'no_stream', commitId: 'c1' });
        store = await subject.reopen();
        const again = await store.append('s', numbered(3), { expectedVersion: 'no_stream', commitId: 'c1' });
        expect(again).toEqual({ ...first, duplicate: true });
        expect(await store.streamVersion('s')).toBe(3);
      });
    });

    describe('snapshots', () => {
      it('returns undefined for a stream without a snapshot', async () => {
        expect(await store.loadSnapshot('s')).toBeUndefined();
      });

      it('saves, loads and overwrites a snapshot', async () => {
        const state = { spaces: { spc_1: [[1, 2]] }, name: 'Sauna ä', n: 5 };
        await store.saveSnapshot({ stream: 's', version: 5, schema: 'site/v1', state });
        expect(await store.loadSnapshot('s')).toEqual({ stream: 's', version: 5, schema: 'site/v1', state });
        await store.saveSnapshot({ stream: 's', version: 9, schema: 'site/v2', state: { n: 9 } });
        expect(await store.loadSnapshot('s')).toEqual({ stream: 's', version: 9, schema: 'site/v2', state: { n: 9 } });
        expect(await store.loadSnapshot('other')).toBeUndefined();
      });

      it('keeps snapshots of streams with awkward names apart', async () => {
        await store.saveSnapshot({ stream: 'a.b', version: 1, schema: 'x', state: 1 });
        await store.saveSnapshot({ stream: 'a_b', version: 2, schema: 'x', state: 2 });
        await store.saveSnapshot({ stream: 'tila/ä 🎾', version: 3, schema: 'x', state: 3 });
        expect((await store.loadSnapshot('a.b'))?.state).toBe(1);
        expect((await store.loadSnapshot('a_b'))?.state).toBe(2);
        expect((await store.loadSnapshot('tila/ä 🎾'))?.state).toBe(3);
      });

      it('returns a state the caller may change without changing the stored snapshot', async () => {
        const state = { list: [1] };
        await store.saveSnapshot({ stream: 's', version: 1, schema: 'x', state });
        state.list.push(2);
        const loaded = await store.loadSnapshot('s');
        expect(loaded?.state).toEqual({ list: [1] });
        (loaded?.state as { list: number[] }).list.push(3);
        expect((await store.loadSnapshot('s'))?.state).toEqual({ list: [1] });
      });
    });

    describe('persistence (durable adapters)', () => {
      it('keeps events, versions, positions and snapshots across a reopen', async (ctx) => {
        if (subject.reopen === undefined) {
          ctx.skip();
          return;
        }
        await store.append('a', numbered(2), { expectedVersion: 'no_stream' });
        await store.append('b', numbered(1), { expectedVersion: 'no_stream' });
        await store.saveSnapshot({ stream: 'a', version: 2, schema: 'x', state: { ok: true } });
        const before = await store.readAll({ after: 0 });
        store = await subject.reopen();
        expect(await store.readAll({ after: 0 })).toEqual(before);
        expect(await store.streamVersion('a')).toBe(2);
        expect((await store.loadSnapshot('a'))?.state).toEqual({ ok: true });
        const next = await store.append('a', numbered(1), { expectedVersion: 2 });
        expect(next.firstPosition).toBeGreaterThan(before[before.length - 1]!.position);
      });
    });

    describe('closing', () => {
      it('closes once, refuses work afterwards, and ends its subscriptions', async () => {
        await store.append('a', numbered(1), { expectedVersion: 'no_stream' });
        const c = collector();
        const s = store.subscribe({ after: 0, handler: c.handler });
        await waitUntil(() => c.seen.length >= 1);
        await store.close();
        await s.done;
        await store.close();
        await expect(store.append('a', numbered(1), { expectedVersion: 1 })).rejects.toThrow();
        await expect(store.readStream('a')).rejects.toThrow();
      });
    });
  });
}
