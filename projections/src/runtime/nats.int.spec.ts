/**
 * Projections in a process of their own, fed by NATS JetStream: the engine
 * commits to a JetStream stream, `src/main.ts` runs as a child process
 * following it and writing the read-model database, and a reader in this
 * process (as the gateway with PROJECTIONS=external) sees the same figures an
 * in-process projection builds from the same feed. The child stops cleanly on
 * SIGTERM and resumes from its checkpoint when started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { NatsEventStore } from '@vuoro/engine';
import { deleteJetStreamStreams, ensureNats, uniqueSuffix, type NatsForTests } from '@vuoro/engine/testing/nats.js';
import { tempDir, type TempDir } from '@vuoro/engine/testing/tmp.js';
import { waitUntil } from '@vuoro/engine/testing/wait.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsProjection } from '../analytics/projection.js';
import { AnalyticsReadModel } from '../analytics/read-model.js';
import { definePark, harness, type Harness } from '../testing/harness.js';
import { play, scenarioArb } from '../testing/scenario.js';
import fc from 'fast-check';
import { ProjectionObserver } from './observer.js';
import { ProjectionRunner } from './runner.js';
import { liveGeneration, openReadModelDb } from './state.js';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let nats: NatsForTests;
let dir: TempDir;
let h: Harness;
let names: { streamName: string; subjectPrefix: string };

function startProjections(dbFile: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      STORE: 'nats',
      NATS_URL: nats.url,
      NATS_STREAM: names.streamName,
      NATS_SUBJECT_PREFIX: names.subjectPrefix,
      PROJECTIONS_DB: dbFile,
      LAG_LOG_SECONDS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

beforeAll(async () => {
  nats = await ensureNats();
  dir = await tempDir('vuoro-projections-nats-');
  const suffix = uniqueSuffix();
  names = { streamName: `VUORO_P_${suffix}`, subjectPrefix: `vp${suffix.toLowerCase()}` };
  const store = await NatsEventStore.connect({ servers: nats.url, ...names });
  // The engine's side: its own process would do this; an in-process runner here is the reference.
  h = await harness({ store });
  await definePark(h);
  await play(h, fc.sample(scenarioArb(60), { seed: 21, numRuns: 1 })[0]!);
  await h.sync();
});

afterAll(async () => {
  await h?.close();
  await deleteJetStreamStreams(nats.url, [names.streamName]);
  await dir?.remove();
  await nats?.stop();
});

describe('projections fed by NATS JetStream in a process of their own', () => {
  it('build the figures the in-process projection builds, and resume after a restart', { timeout: 0 }, async () => {
    const dbFile = join(dir.path, 'projections.sqlite');
    const head = h.head();
    const checkpoint = (): number => {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return liveGeneration(db, 'analytics')?.checkpoint ?? 0;
      } catch {
        return 0;
      } finally {
        db.close();
      }
    };
    const waitFor = (position: number) =>
      waitUntil(() => {
        try {
          return checkpoint() >= position;
        } catch {
          return false;
        }
      }, 50);

    const child = startProjections(dbFile);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor(head);
    const reader = new AnalyticsReadModel(openReadModelDb(dbFile, { readonly: true }));
    const q = { from: '2027-02-25', to: '2028-01-03', groupBy: ['space', 'month'] as const };
    const theirs = reader.utilization({ ...q, groupBy: [...q.groupBy] });
    const ours = h.read.utilization({ ...q, groupBy: [...q.groupBy] });
    expect(theirs.rows).toEqual(ours.rows);
    expect(theirs.rows.length).toBeGreaterThan(0);

    // The gateway's view of a runner elsewhere: its lag, from the database and the feed.
    const observer = new ProjectionObserver(reader.db, h.store);
    expect((await observer.lag()).map((l) => [l.projection, l.eventsBehind, l.msBehind])).toEqual([['analytics', 0, 0]]);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(output).toContain('"msg":"stopping"');

    // More history while it is down; started again, it carries on from its checkpoint.
    await play(h, fc.sample(scenarioArb(30), { seed: 22, numRuns: 1 })[0]!, 'q');
    await h.sync();
    const before = checkpoint();
    const again = startProjections(dbFile);
    await waitFor(h.head());
    const after = reader.utilization({ ...q, groupBy: [...q.groupBy] });
    expect(after.rows).toEqual(h.read.utilization({ ...q, groupBy: [...q.groupBy] }).rows);
    expect(before).toBeLessThan(h.head());
    // Nothing was applied twice: a replay from zero of the same feed gives the same figures.
    const fresh = new Database(':memory:');
    const runner = new ProjectionRunner({ store: h.store, db: fresh, projections: [analyticsProjection()] });
    await runner.start();
    await runner.ready;
    await runner.close();
    expect(new AnalyticsReadModel(fresh).utilization({ ...q, groupBy: [...q.groupBy] }).rows).toEqual(after.rows);
    again.kill('SIGTERM');
    expect(await exited(again)).toBe(0);
    reader.db.close();
    fresh.close();
  });
});
