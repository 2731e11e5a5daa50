/**
 * Envelope extras used by the HTTP edge: a precondition checked in the
 * partition's own order (so an `If-Match` cannot be overtaken between the
 * check and the decision), and the channel recorded in the events' metadata.
 */
import { describe, expect, it } from 'vitest';
import { siteStream } from '../directory/directory.js';
import type { SiteCommand } from '../site/commands.js';
import { siteDecider } from '../site/decider.js';
import { ALICE, SITE, UNITS, asCustomer, siteCatalogue } from '../site/fixtures.js';
import type { SiteState } from '../site/state.js';
import { MemoryEventStore } from '../store/memory.js';
import { siteCodec } from './codecs.js';
import { PartitionActor } from './partition.js';

const NOW = Date.parse('2027-01-04T08:00:00Z');
const stream = siteStream(SITE);

const modify = (start: string, end: string): SiteCommand => ({
  type: 'ModifyReservation',
  data: { reservationId: 'res_1', start, end },
  meta: { now: 0, actor: asCustomer(ALICE) },
});

describe('envelope precondition and channel', () => {
  it('refuses the second of two changes made from the same view, even when both were sent at once', async () => {
    const store = new MemoryEventStore();
    await store.append(stream, siteCatalogue, { expectedVersion: 'no_stream' });
    const actor = await PartitionActor.load(stream, store, siteDecider, siteCodec, { clock: () => NOW });
    const booked = await actor.submit({
      command: {
        type: 'RequestReservation',
        data: { reservationId: 'res_1', unitId: UNITS.hallA.unitId, customer: ALICE, start: '2027-01-11T18:00', end: '2027-01-11T19:00', kind: 'normal', confirm: true },
        meta: { now: 0, actor: asCustomer(ALICE) },
      },
      channel: 'chn_web',
    });
    expect(booked.ok && booked.events.map((e) => e.metadata.channel)).toEqual(['chn_web', 'chn_web']);

    const seen = actor.read((s) => s.reservations.get('res_1')?.booking.start);
    const unchanged = (state: SiteState) =>
      state.reservations.get('res_1')?.booking.start === seen ? undefined : { code: 'PRECONDITION_FAILED' as const, message: 'stale' };
    const [a, b] = await Promise.all([
      actor.submit({ command: modify('2027-01-11T19:00', '2027-01-11T20:00'), precondition: unchanged }),
      actor.submit({ command: modify('2027-01-11T20:00', '2027-01-11T21:00'), precondition: unchanged }),
    ]);
    expect([a?.ok, b?.ok ? 'ok' : b?.error.code]).toEqual([true, 'PRECONDITION_FAILED']);
    expect(actor.read((s) => new Date(s.reservations.get('res_1')?.booking.start ?? 0).toISOString())).toBe('2027-01-11T17:00:00.000Z');
  });
});
