/**
 * Two runtimes that both believe they own the same partition, over the same
 * real store, hammering the same evening slots. The store's expected-version
 * check must make one of them lose every race: zero double bookings, and every
 * acknowledged command in the log exactly once.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteStream } from '../directory/directory.js';
import { SITE, siteCatalogue } from '../site/fixtures.js';
import { siteDecider } from '../site/decider.js';
import { NatsEventStore } from '../store/nats.js';
import type { EventStore } from '../store/port.js';
import { SqliteEventStore } from '../store/sqlite.js';
import { expectEachOnce, expectNoDoubleBooking } from '../testing/invariants.js';
import { ensureNats, type NatsForTests } from '../testing/nats.js';
import { tempDir, type TempDir } from '../testing/tmp.js';
import { contendedBooking } from '../testing/workload.js';
import { siteCodec } from './codecs.js';
import { PartitionActor } from './partition.js';

const stream = siteStream(SITE);
const COMMANDS_PER_RUNTIME = 300;

async function race(storeA: EventStore, storeB: EventStore): Promise<void> {
  await storeA.append(stream, siteCatalogue, { expectedVersion: 'no_stream' });
  const a = await PartitionActor.load(stream, storeA, siteDecider, siteCodec);
  const b = await PartitionActor.load(stream, storeB, siteDecider, siteCodec);
  const acknowledged = new Set<string>();
  const outcomes = { ok: 0, refused: 0, conflicts: 0 };
  // Both runtimes get the same contended commands, in bursts, with the same keys:
  // the second to commit a key must get the first outcome back, never a second booking.
  const submit = async (actor: typeof a, offset: number): Promise<void> => {
    for (let burst = 0; burst < COMMANDS_PER_RUNTIME; burst += 25) {
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, j) => {
          const { command, idempotencyKey } = contendedBooking(((burst + j + offset) % COMMANDS_PER_RUNTIME) + 1);
          return actor.submit({ command, idempotencyKey }).then((o) => ({ o, id: (command.data as { reservationId: string }).reservationId }));
        }),
      );
      for (const { o, id } of results) {
        if (o.ok) {
          outcomes.ok++;
          acknowledged.add(id);
        } else {
          outcomes.refused++;
          expect(['SLOT_CONFLICT', 'TOO_MANY_ACTIVE', 'ALREADY_EXISTS']).toContain(o.error.code);
        }
      }
    }
  };
  await Promise.all([submit(a, 0), submit(b, 7)]);
  outcomes.conflicts = a.stats.conflicts + b.stats.conflicts;

  const events = await storeA.readStream(stream);
  const rebuilt = await PartitionActor.load(stream, storeA, siteDecider, { ...siteCodec, snapshot: undefined });
  const holding = rebuilt.read(expectNoDoubleBooking);
  expectEachOnce(events, acknowledged);
  expect(outcomes.conflicts, 'the two writers really raced').toBeGreaterThan(0);
  expect(holding).toBeGreaterThan(10);
  console.info(`race on ${storeA.name}:`, { ...outcomes, holding, events: events.length });
}

describe('two runtimes on one partition', () => {
  let dir: TempDir;
  let nats: NatsForTests;
  beforeAll(async () => {
    dir = await tempDir();
    nats = await ensureNats();
  });
  afterAll(async () => {
    await dir.remove();
    await nats.stop();
  });

  it('over one SQLite file: no double booking, every acknowledged command once', async () => {
    const file = dir.file('race.sqlite');
    const a = await SqliteEventStore.open({ file });
    const b = await SqliteEventStore.open({ file });
    try {
      await race(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('over NATS JetStream: no double booking, every acknowledged command once', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const options = {
      servers: nats.url,
      streamName: `RACE_${suffix}`,
      subjectPrefix: `race${suffix}`,
      commitsBucket: `RACE_COMMITS_${suffix}`,
      snapshotsBucket: `RACE_SNAP_${suffix}`,
    };
    const a = await NatsEventStore.connect(options);
    const b = await NatsEventStore.connect(options);
    try {
      await race(a, b);
    } finally {
      await a.close();
      await b.close();
      const nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      for (const name of [options.streamName, `KV_${options.commitsBucket}`, `KV_${options.snapshotsBucket}`]) {
        await jsm.streams.delete(name).catch(() => undefined);
      }
      await nc.close();
    }
  });
});
