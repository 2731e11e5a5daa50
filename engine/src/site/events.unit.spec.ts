/**
 * The zod schemas in events.ts are the contract of the log: projections,
 * other nodes and other languages read these events. Every event a decider
 * emits must match its schema, and events stored in an older schema version
 * must be upcast to the current shape when read.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../store/memory.js';
import type { RecordedEvent } from '../store/port.js';
import { siteDecider } from './decider.js';
import { SITE_EVENT_SCHEMAS, type SiteEvent } from './events.js';
import { ALICE, SITE, STAFF, SYSTEM, UNITS, asCustomer, siteCatalogue } from './fixtures.js';
import { upcastSiteEvent } from './upcast.js';
import { siteStream } from '../directory/directory.js';
import { PartitionActor } from '../runtime/partition.js';
import { siteCodec } from '../runtime/codecs.js';
import type { SiteCommand } from './commands.js';

const NOW = Date.parse('2027-01-04T08:00:00Z');
const expectValid = (e: SiteEvent): void => {
  const parsed = SITE_EVENT_SCHEMAS[e.type].safeParse(e.data);
  expect(parsed.success, `${e.type}: ${parsed.success ? '' : parsed.error.message}`).toBe(true);
};

describe('the event log contract', () => {
  it('the fixture catalogue matches the schemas', () => {
    siteCatalogue.forEach(expectValid);
  });

  it('every event a reservation\'s life produces matches its schema', () => {
    const commands: SiteCommand[] = [
      { type: 'RequestReservation', data: { reservationId: 'res_1', unitId: UNITS.court.unitId, customer: ALICE, start: '2027-01-11T18:00', end: '2027-01-11T19:00', kind: 'normal', confirm: true }, meta: { now: NOW, actor: asCustomer(ALICE) } },
      { type: 'RecordPayment', data: { reservationId: 'res_1', paymentRef: 'psp_1', amountCents: 2000 }, meta: { now: NOW, actor: SYSTEM } },
      { type: 'ModifyReservation', data: { reservationId: 'res_1', start: '2027-01-11T19:00', end: '2027-01-11T20:00' }, meta: { now: NOW, actor: STAFF } },
      { type: 'RequestReservation', data: { reservationId: 'res_2', unitId: UNITS.meeting.unitId, customer: ALICE, start: '2027-01-12T18:00', end: '2027-01-12T19:00', kind: 'normal', confirm: true }, meta: { now: NOW, actor: asCustomer(ALICE) } },
      { type: 'ApproveReservation', data: { reservationId: 'res_2' }, meta: { now: NOW, actor: STAFF } },
      { type: 'BlockTime', data: { reservationId: 'res_3', unitId: UNITS.hall.unitId, spaceIds: [], start: '2027-01-13T08:00', end: '2027-01-13T12:00', reason: 'maintenance', note: 'floor' }, meta: { now: NOW, actor: STAFF } },
      { type: 'CreateSeries', data: { seriesId: 'ser_1', unitId: UNITS.hallB.unitId, customer: ALICE, pattern: { weekdays: [4], startTime: '17:00', endTime: '18:30', fromDate: '2027-04-01', toDate: '2027-05-31', everyWeeks: 1 }, kind: 'seasonal' }, meta: { now: NOW, actor: STAFF } },
      { type: 'ChangeSeries', data: { seriesId: 'ser_1', fromDate: '2027-05-01', startTime: '18:00', endTime: '19:30' }, meta: { now: NOW, actor: STAFF } },
      { type: 'CancelSeries', data: { seriesId: 'ser_1', fromDate: '2027-05-20', reason: 'season over' }, meta: { now: NOW, actor: STAFF } },
      { type: 'MarkCompleted', data: { reservationId: 'res_1' }, meta: { now: Date.parse('2027-01-12T00:00:00Z'), actor: SYSTEM } },
    ];
    let state = siteCatalogue.reduce(siteDecider.evolve, siteDecider.initialState());
    const seen = new Set<string>();
    for (const c of commands) {
      const r = siteDecider.decide(c, state);
      if (!r.ok) throw new Error(`${c.type}: ${r.error.code} ${r.error.message}`);
      for (const e of r.value) {
        expectValid(e);
        seen.add(e.type);
        state = siteDecider.evolve(state, e);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(14);
  });

  it('upcasts a version-1 ReservationRequested (price as bare cents) to the current shape', () => {
    const v0: RecordedEvent = {
      stream: siteStream(SITE),
      version: 99,
      position: 99,
      type: 'ReservationRequested',
      schemaVersion: 1,
      data: {
        reservationId: 'res_old', unitId: 'unt_hall_a', spaceIds: ['spc_hall_a'], resourceIds: [], customerId: 'cus_bob', customerGroupId: 'grp_residents',
        kind: 'normal', start: '2027-01-11T16:00:00.000Z', end: '2027-01-11T17:00:00.000Z', bufferBeforeMinutes: 0, bufferAfterMinutes: 0, price: 1500, holdExpiresAt: '2027-01-04T08:15:00.000Z',
      },
      metadata: { recordedAt: '2026-01-01T00:00:00.000Z' },
    };
    const event = upcastSiteEvent(v0);
    expect(event).toBeDefined();
    expectValid(event as SiteEvent);
    expect((event as Extract<SiteEvent, { type: 'ReservationRequested' }>).data.price).toEqual({ amountCents: 1500, vatCents: 0, vatBasisPoints: 0, source: 'price_list' });
  });

  it('a runtime loading a log with old events decides against the upcast state', async () => {
    const store = new MemoryEventStore();
    const stream = siteStream(SITE);
    await store.append(stream, siteCatalogue, { expectedVersion: 'no_stream' });
    await store.append(stream, [
      { type: 'ReservationRequested', schemaVersion: 1, data: { reservationId: 'res_old', unitId: 'unt_hall_a', spaceIds: ['spc_hall_a'], resourceIds: [], customerId: 'cus_bob', customerGroupId: 'grp_residents', kind: 'normal', start: '2027-01-11T16:00:00.000Z', end: '2027-01-11T17:00:00.000Z', bufferBeforeMinutes: 0, bufferAfterMinutes: 0, price: 1500, holdExpiresAt: '2027-01-04T08:15:00.000Z' } },
      { type: 'ReservationConfirmed', data: { reservationId: 'res_old' } },
      { type: 'SomethingFromTheFuture', data: { ignored: true } },
    ], { expectedVersion: siteCatalogue.length });
    const actor = await PartitionActor.load(stream, store, siteDecider, siteCodec, { clock: () => NOW });
    expect(actor.read((s) => s.reservations.get('res_old')?.price.amountCents)).toBe(1500);
    const clash = await actor.submit({ command: { type: 'RequestReservation', data: { reservationId: 'res_new', unitId: 'unt_hall_a', customer: ALICE, start: '2027-01-11T18:00', end: '2027-01-11T19:00', kind: 'normal', confirm: true }, meta: { now: 0, actor: asCustomer(ALICE) } } });
    expect(clash.ok ? 'ok' : clash.error.code).toBe('SLOT_CONFLICT');
  });
});
