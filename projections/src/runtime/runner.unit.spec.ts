/**
 * The projection runtime: replaying the feed builds the same read model every
 * time, a re-delivered event changes nothing, a rebuild while commands keep
 * flowing converges to what live projection built, queries keep answering
 * during the rebuild, and a projection that throws stops alone, visibly.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { MemoryEventStore, type EventStore, type RecordedEvent, type SubscribeOptions } from '@vuoro/engine';
import { describe, expect, it } from 'vitest';
import { analyticsProjection } from '../analytics/projection.js';
import { definePark, harness } from '../testing/harness.js';
import { dumpLive, withoutZeroFacts } from '../testing/dump.js';
import { Player, play, scenarioArb, type Scenario } from '../testing/scenario.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import type { Projection } from './projection.js';
import { ProjectionRunner } from './runner.js';

const projection = analyticsProjection();

/** Builds the read model from position 0 of a store into a fresh database. */
async function replay(store: EventStore, pageSize: number): Promise<Database.Database> {
  const db = new Database(':memory:');
  const runner = new ProjectionRunner({ store, db, projections: [projection], pageSize, batchSize: pageSize });
  await runner.start();
  await runner.ready;
  await runner.close();
  return db;
}

/** A store that re-delivers the last `overlap` events of every subscription, as an at-least-once bus may. */
function redelivering(store: EventStore, overlap: number): EventStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'subscribe') return (o: SubscribeOptions) => target.subscribe({ ...o, after: Math.max(0, o.after - overlap) });
      if (prop === 'readAll') {
        return async (o: { after: number; limit?: number }) => target.readAll({ ...o, after: Math.max(0, o.after - overlap) });
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

const sample = (seed: number, ops: number): Scenario => fc.sample(scenarioArb(ops), { seed, numRuns: 1 })[0] as Scenario;

describe('replaying the feed', () => {
  it('builds the same read model twice, whatever the page size, and as live projection did', { timeout: 0 }, async () => {
    for (const seed of [1, 2]) {
      const h = await harness();
      try {
        await definePark(h);
        await play(h, sample(seed, 60));
        await h.sync();
        const live = withoutZeroFacts(dumpLive(h.db, projection));
        const first = await replay(h.store, 5000);
        const second = await replay(h.store, 5000);
        expect(dumpLive(second, projection)).toEqual(dumpLive(first, projection));
        const small = await replay(h.store, 7);
        expect(withoutZeroFacts(dumpLive(small, projection))).toEqual(withoutZeroFacts(dumpLive(first, projection)));
        expect(withoutZeroFacts(dumpLive(first, projection))).toEqual(live);
        expect((live.reservations ?? []).length).toBeGreaterThan(0);
        for (const db of [first, second, small]) db.close();
      } finally {
        await h.close();
      }
    }
  });

  it('ignores events it has already applied when the feed delivers them again', { timeout: 0 }, async () => {
    const store = new MemoryEventStore();
    const h = await harness({ store });
    try {
      await definePark(h);
      await play(h, sample(11, 50));
      await h.sync();
      const once = dumpLive(h.db, projection);
      // A second runner on the same database, over a feed that repeats the last 40 events on every read.
      const again = new ProjectionRunner({ store: redelivering(store, 40), db: h.db, projections: [projection], batchSize: 13 });
      await again.start();
      await again.ready;
      await again.close();
      expect(dumpLive(h.db, projection)).toEqual(once);
    } finally {
      await h.close();
    }
  });
});

describe('rebuilding', () => {
  it('converges to the live model while commands keep flowing, and answers queries all along', { timeout: 0 }, async () => {
    const scenario = sample(5, 120);
    const half = Math.floor(scenario.ops.length / 2);
    const h = await harness({ runner: { pageSize: 25, batchSize: 25 } });
    try {
      await definePark(h);
      const player = new Player(h, scenario.window);
      for (const op of scenario.ops.slice(0, half)) await player.run(op);
      await h.sync();
      const before = h.runner.status()[0]!.generation;
      const rebuild = h.runner.rebuild('analytics');
      let answered = 0;
      let rebuilding = true;
      void rebuild.finally(() => (rebuilding = false));
      // The other half of the history arrives while the shadow generation fills.
      for (const op of scenario.ops.slice(half)) {
        await player.run(op);
        const r = h.read.utilization({ from: scenario.window, to: scenario.window, groupBy: ['space'] });
        expect(r.rows.length).toBeGreaterThan(0);
        answered++;
      }
      const report = await rebuild;
      await h.sync();
      expect(rebuilding).toBe(false);
      expect(answered).toBe(scenario.ops.length - half);
      expect(report.generation).toBeGreaterThan(before);
      expect(h.runner.status().map((s) => [s.role, s.status, s.generation])).toEqual([['live', 'live', report.generation]]);
      // The old generation's tables are gone.
      const tables = (h.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'analytics__%'").all() as { name: string }[]).map((t) => t.name);
      expect(tables.every((t) => t.endsWith(`__g${report.generation}`))).toBe(true);
      const reference = await replay(h.store, 5000);
      expect(withoutZeroFacts(dumpLive(h.db, projection))).toEqual(withoutZeroFacts(dumpLive(reference, projection)));
      reference.close();
    } finally {
      await h.close();
    }
  });
});

describe('a failing projection', () => {
  it('stops alone, keeps its last good checkpoint, and says why', { timeout: 0 }, async () => {
    const store = new MemoryEventStore();
    const fragile: Projection = {
      name: 'fragile',
      version: 1,
      tables: ['seen'],
      createTables: (ctx) => ctx.db.exec(`CREATE TABLE ${ctx.table('seen')} (position INTEGER PRIMARY KEY)`),
      open: (ctx) => {
        const insert = ctx.db.prepare(`INSERT INTO ${ctx.table('seen')} (position) VALUES (?)`);
        return {
          apply: (e: RecordedEvent) => {
            if (e.type === 'Poison') throw new Error('cannot digest this');
            insert.run(e.position);
          },
          endBatch: () => undefined,
          abortBatch: () => undefined,
        };
      },
    };
    const db = new Database(':memory:');
    const errors: string[] = [];
    const runner = new ProjectionRunner({ store, db, projections: [fragile, projection], batchSize: 1, onError: (p) => errors.push(p) });
    await runner.start();
    await store.append('misc', [{ type: 'Fine', data: {} }, { type: 'Fine', data: {} }], { expectedVersion: 'any' });
    const poisoned = await store.append('misc', [{ type: 'Poison', data: {} }], { expectedVersion: 'any' });
    const after = await store.append('misc', [{ type: 'Fine', data: {} }], { expectedVersion: 'any' });
    await waitUntil(() => runner.status().some((s) => s.projection === 'fragile' && s.status === 'failed') && runner.status().some((s) => s.projection === 'analytics' && s.checkpoint >= after.lastPosition));
    const status = new Map(runner.status().map((s) => [s.projection, s]));
    expect(status.get('fragile')?.status).toBe('failed');
    expect(status.get('fragile')?.checkpoint).toBe(poisoned.firstPosition - 1);
    expect(status.get('fragile')?.error).toContain('cannot digest this');
    expect(status.get('analytics')?.status).toBe('live');
    expect(status.get('analytics')?.checkpoint).toBe(after.lastPosition);
    expect(errors).toEqual(['fragile']);
    await runner.close();
    db.close();
  });
});
