import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../store/memory.js';
import type { EventStore } from '../store/port.js';
import { siteStream } from '../directory/directory.js';
import { ALICE, BOB, SITE, STAFF, UNITS, asCustomer, siteCatalogue } from '../site/fixtures.js';
import type { SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import { siteCodec } from './codecs.js';
import { PartitionActor } from './partition.js';

const NOW = Date.parse('2027-01-04T08:00:00Z');
const clock = () => NOW;
const stream = siteStream(SITE);

async function seeded(): Promise<EventStore> {
  const store = new MemoryEventStore();
  await store.append(stream, siteCatalogue, { expectedVersion: 'no_stream' });
  return store;
}

const load = (store: EventStore, snapshotEvery = 0) =>
  PartitionActor.load(stream, store, siteDecider, siteCodec, { clock, snapshotEvery });

const book = (id: string, start: string, customer = ALICE, unitId = UNITS.hallA.unitId): SiteCommand => ({
  type: 'RequestReservation',
  data: { reservationId: id, unitId, customer, start, end: start.replace(/T(\d\d)/, (_, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`), kind: 'normal', confirm: true },
  meta: { now: 0, actor: asCustomer(customer) },
});

describe('the partition runtime', () => {
  it('commits every command decided in one tick as one group commit, and answers each', async () => {
    const store = await seeded();
    const actor = await load(store);
    const outcomes = await Promise.all([
      actor.submit({ command: book('res_1', '2027-01-11T18:00') }),
      actor.submit({ command: book('res_2', '2027-01-11T18:00', BOB) }),
      actor.submit({ command: book('res_3', '2027-01-11T19:00', BOB) }),
    ]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['ok', 'SLOT_CONFLICT', 'ok']);
    expect(actor.stats.commits).toBe(1);
    const first = outcomes[0];
    expect(first?.ok && first.events.map((e) => e.type)).toEqual(['ReservationRequested', 'ReservationConfirmed']);
    expect(first?.ok && first.events[0]?.metadata).toMatchObject({ actor: 'customer:cus_alice', commandType: 'RequestReservation' });
    expect(await store.streamVersion(stream)).toBe(siteCatalogue.length + 4);
  });

  it('stamps the decision time from its clock, not from the caller', async () => {
    const store = await seeded();
    const actor = await load(store);
    const past = { ...book('res_1', '2027-01-11T18:00'), meta: { now: Date.parse('2030-01-01T00:00:00Z'), actor: asCustomer(ALICE) } };
    const outcome = await actor.submit({ command: past as SiteCommand });
    expect(outcome.ok).toBe(true);
  });

  it('returns the first outcome to a retry with the same idempotency key, also after a restart', async () => {
    const store = await seeded();
    const actor = await load(store);
    const first = await actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    const retry = await actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    expect(retry).toMatchObject({ ok: true, duplicate: true });
    expect(retry.ok && retry.events.map((e) => e.version)).toEqual(first.ok && first.events.map((e) => e.version));

    const restarted = await load(store);
    const again = await restarted.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    expect(again).toMatchObject({ ok: true, duplicate: true });
    expect(await store.streamVersion(stream)).toBe(siteCatalogue.length + 2);
  });

  it('refuses a key reused for a different command', async () => {
    const store = await seeded();
    const actor = await load(store);
    await actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    const other = await actor.submit({ command: { type: 'CancelReservation', data: { reservationId: 'res_1', reason: '' }, meta: { now: 0, actor: STAFF } }, idempotencyKey: 'k1' });
    expect(other.ok ? 'ok' : other.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('answers twins with the same key in one batch once', async () => {
    const store = await seeded();
    const actor = await load(store);
    const [a, b] = await Promise.all([
      actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' }),
      actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' }),
    ]);
    expect(a?.ok && b?.ok).toBe(true);
    expect(await store.streamVersion(stream)).toBe(siteCatalogue.length + 2);
  });

  it('two writers on one partition: the loser reloads and re-decides, so nothing is double-booked', async () => {
    const store = await seeded();
    const one = await load(store);
    const two = await load(store);
    const [a, b] = await Promise.all([
      one.submit({ command: book('res_1', '2027-01-11T18:00') }),
      two.submit({ command: book('res_2', '2027-01-11T18:00', BOB) }),
    ]);
    expect([a, b].filter((o) => o.ok)).toHaveLength(1);
    expect([a, b].map((o) => (o.ok ? 'ok' : o.error.code)).sort()).toEqual(['SLOT_CONFLICT', 'ok']);
    expect(one.stats.conflicts + two.stats.conflicts).toBe(1);
  });

  it('recovers from a snapshot plus the tail to the same state as a full replay', async () => {
    const store = await seeded();
    const actor = await load(store, 4);
    for (let d = 11; d <= 15; d++) {
      await actor.submit({ command: book(`res_${d}`, `2027-01-${d}T18:00`) });
      await actor.submit({ command: book(`res_b${d}`, `2027-01-${d}T19:00`, BOB) });
    }
    await actor.submit({ command: { type: 'CancelReservation', data: { reservationId: 'res_12', reason: '' }, meta: { now: 0, actor: STAFF } } });
    await new Promise((r) => setTimeout(r, 10));
    const snap = await store.loadSnapshot(stream);
    expect(snap?.version).toBeGreaterThan(siteCatalogue.length);
    const fromSnapshot = await load(store, 4);
    const replayed = await PartitionActor.load(stream, store, siteDecider, { ...siteCodec, snapshot: undefined }, { clock });
    const view = (a: typeof actor) => a.read((s) => [...s.reservations.values()].map((r) => [r.id, r.state, r.booking.start]).sort());
    expect(view(fromSnapshot)).toEqual(view(replayed));
    expect(fromSnapshot.currentVersion).toBe(replayed.currentVersion);
    // and the rebuilt conflict index still refuses a double booking
    const clash = await fromSnapshot.submit({ command: book('res_x', '2027-01-13T18:00', BOB) });
    expect(clash.ok ? 'ok' : clash.error.code).toBe('SLOT_CONFLICT');
  });

  it('tells callers the store is unavailable and recovers when it is back', async () => {
    const store = await seeded();
    const actor = await load(store);
    const original = store.append.bind(store);
    let failures = 1;
    store.append = async (...args) => {
      if (failures-- > 0) throw new Error('disk full');
      return original(...args);
    };
    const failed = await actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    expect(failed.ok ? 'ok' : failed.error.code).toBe('STORE_UNAVAILABLE');
    const retried = await actor.submit({ command: book('res_1', '2027-01-11T18:00'), idempotencyKey: 'k1' });
    expect(retried).toMatchObject({ ok: true, duplicate: false });
  });
});
