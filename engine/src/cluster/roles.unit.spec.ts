/**
 * The partition roles cluster mode rests on, without a network: a follower
 * copy keeps up from the feed and decides nothing, a promoted one decides on
 * the latest state, a demoted one stops at once; and rendezvous hashing moves
 * only the partitions of a node that joins or leaves.
 */
import { describe, expect, it } from 'vitest';
import { siteStream } from '../directory/directory.js';
import { siteCodec } from '../runtime/codecs.js';
import { isNotOwner, PartitionActor } from '../runtime/partition.js';
import type { SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import { ALICE, BOB, SITE, UNITS, asCustomer, siteCatalogue } from '../site/fixtures.js';
import { MemoryEventStore } from '../store/memory.js';
import { preferredOwner } from './rendezvous.js';

const clock = () => Date.parse('2027-01-04T08:00:00Z');
const stream = siteStream(SITE);
const book = (id: string, start: string, customer = ALICE): SiteCommand => ({
  type: 'RequestReservation',
  data: { reservationId: id, unitId: UNITS.hallA.unitId, customer, start, end: start.replace('T18', 'T19'), kind: 'normal', confirm: true },
  meta: { now: 0, actor: asCustomer(customer) },
});

async function pair() {
  const store = new MemoryEventStore();
  await store.append(stream, siteCatalogue, { expectedVersion: 'no_stream' });
  const leader = await PartitionActor.load(stream, store, siteDecider, siteCodec, { clock });
  const follower = await PartitionActor.load(stream, store, siteDecider, siteCodec, { clock, role: 'follower' });
  return { store, leader, follower };
}

describe('a follower copy', () => {
  it('decides nothing: a command comes back as NOT_OWNER, and nothing is written', async () => {
    const { store, follower } = await pair();
    const outcome = await follower.submit({ command: book('res_1', '2027-01-11T18:00') });
    expect(isNotOwner(outcome)).toBe(true);
    expect(await store.streamVersion(stream)).toBe(siteCatalogue.length);
  });

  it('follows the feed in version order, skipping what it has and reading a gap from the store', async () => {
    const { store, leader, follower } = await pair();
    const first = await leader.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    const second = await leader.submit({ command: book('res_2', '2027-01-12T18:00', BOB) });
    if (!first.ok || !second.ok) throw new Error('booking refused');
    // The second commit arrives first (a gap): the copy reads the missing tail itself.
    await follower.follow(second.events);
    await follower.follow(first.events);
    expect(follower.currentVersion).toBe(await store.streamVersion(stream));
    expect(follower.read((s) => [...s.reservations.keys()])).toEqual(['res_1', 'res_2']);
  });

  it('once promoted, decides on the latest state and knows the idempotency keys used before', async () => {
    const { leader, follower } = await pair();
    await leader.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    await leader.demote();
    await follower.promote();
    const retry = await follower.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    expect(retry).toMatchObject({ ok: true, duplicate: true });
    const clash = await follower.submit({ command: book('res_9', '2027-01-11T18:00', BOB) });
    expect(clash.ok ? 'ok' : clash.error.code).toBe('SLOT_CONFLICT');
  });

  it('once demoted, stops deciding at once, also for commands already queued', async () => {
    const { leader } = await pair();
    const queued = leader.submit({ command: book('res_1', '2027-01-11T18:00') });
    await leader.demote();
    expect(isNotOwner(await queued)).toBe(true);
    expect(isNotOwner(await leader.submit({ command: book('res_2', '2027-01-12T18:00') }))).toBe(true);
  });
});

describe('rendezvous hashing', () => {
  const partitions = Array.from({ length: 300 }, (_, i) => `site-${i}`);
  const owners = (nodes: string[]) => new Map(partitions.map((p) => [p, preferredOwner(p, nodes)]));

  it('spreads partitions over the nodes and moves only those of a node that leaves or joins', () => {
    const three = owners(['a', 'b', 'c']);
    const counts = ['a', 'b', 'c'].map((n) => [...three.values()].filter((o) => o === n).length);
    for (const c of counts) expect(c).toBeGreaterThan(60);
    const two = owners(['a', 'b']);
    for (const p of partitions) if (three.get(p) !== 'c') expect(two.get(p)).toBe(three.get(p));
    const four = owners(['a', 'b', 'c', 'd']);
    for (const p of partitions) if (four.get(p) !== 'd') expect(four.get(p)).toBe(three.get(p));
  });
});
