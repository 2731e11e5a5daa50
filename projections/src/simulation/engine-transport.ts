/**
 * Plays a season straight into the engine on a simulated clock, and appends
 * what doors and sensors report to the access-control log streams, as the
 * access-control runtime does. This is how a history gets into a store before
 * `npm start` serves it: the command API decides on the real clock, so it can
 * only book the future.
 */
import { Engine, type EngineCommand, type EventStore } from '@vuoro/engine';
import type { BookOutcome, SimAction, SimTransport } from './season.js';

const STAFF = { kind: 'staff' as const, staffId: 'stf_simulation' };
const accessLog = (siteId: string) => `access-log-${siteId}`;
/**
 * Provisioning and door commands are access control's own decisions, kept in
 * its partition stream (`access-<site>`), which a simulation must not write
 * into: simulated ones go to a stream of their own. Projections read them by
 * type from the global feed, whatever the stream.
 */
const simulatedAccess = (siteId: string) => `simulated-access-${siteId}`;

export class EngineTransport implements SimTransport {
  private now = 0;
  readonly refusals: Record<string, number> = {};

  private constructor(
    readonly engine: Engine,
    readonly store: EventStore,
  ) {}

  /** An engine on `store` whose clock the season moves. */
  static async open(store: EventStore, options: { onEvents?: Parameters<typeof Engine.open>[0]['onEvents'] } = {}): Promise<EngineTransport> {
    // The engine's clock reads the transport, which needs the engine: tie the knot through a box.
    const box: { transport?: EngineTransport } = {};
    const engine = await Engine.open({ store, clock: () => box.transport?.now ?? Date.now(), ...(options.onEvents === undefined ? {} : { onEvents: options.onEvents }) });
    box.transport = new EngineTransport(engine, store);
    return box.transport;
  }

  at(ms: number): void {
    this.now = ms;
  }

  private async run(command: EngineCommand, options: { channel?: string; siteId?: string } = {}) {
    const o = await this.engine.execute(command, options);
    if (!o.ok) this.refusals[`${command.type}:${o.error.code}`] = (this.refusals[`${command.type}:${o.error.code}`] ?? 0) + 1;
    return o;
  }

  async book(a: Extract<SimAction, { kind: 'book' }>): Promise<BookOutcome> {
    const o = await this.run(
      {
        type: 'RequestReservation',
        data: { reservationId: a.reservationId, unitId: a.unitId, customer: a.customer, start: a.start, end: a.end, kind: a.byCustomer ? 'normal' : 'behalf', confirm: true },
        meta: { actor: a.byCustomer ? { kind: 'customer', customerId: a.customer.customerId } : STAFF },
      },
      { channel: a.channel, siteId: a.siteId },
    );
    if (!o.ok) return { ok: false, code: o.error.code };
    const due = o.events.find((e) => e.type === 'ReservationPaymentRequired')?.data as { amountCents: number } | undefined;
    const price = (o.events.find((e) => e.type === 'ReservationRequested')?.data as { price: { amountCents: number } } | undefined)?.price.amountCents ?? 0;
    const handling = o.events.some((e) => e.type === 'ReservationHandlingRequired');
    return { ok: true, handling, ...(due !== undefined ? { paymentDue: due.amountCents } : handling && price > 0 ? { paymentDue: price } : {}) };
  }

  async pay(reservationId: string, amountCents: number): Promise<boolean> {
    const o = await this.run({ type: 'RecordPayment', data: { reservationId, paymentRef: `sim_${reservationId}`, amountCents }, meta: { actor: { kind: 'system', name: 'payments' } } });
    return o.ok;
  }

  async command(a: Extract<SimAction, { kind: 'expire' | 'cancel' | 'decide' | 'complete' | 'noShow' | 'block' }>): Promise<boolean> {
    switch (a.kind) {
      case 'expire':
        return (await this.run({ type: 'ExpireReservation', data: { reservationId: a.reservationId }, meta: { actor: { kind: 'system', name: 'expiry' } } })).ok;
      case 'cancel':
        return (
          await this.run({
            type: 'CancelReservation',
            data: { reservationId: a.reservationId, reason: 'plans changed' },
            meta: { actor: a.byCustomer ? { kind: 'customer', customerId: a.customerId } : STAFF },
          })
        ).ok;
      case 'decide':
        return (
          await this.run(
            a.approve
              ? { type: 'ApproveReservation', data: { reservationId: a.reservationId }, meta: { actor: STAFF } }
              : { type: 'DenyReservation', data: { reservationId: a.reservationId, reason: 'The space is needed for the city’s own use.' }, meta: { actor: STAFF } },
          )
        ).ok;
      case 'complete':
        return (await this.run({ type: 'MarkCompleted', data: { reservationId: a.reservationId }, meta: { actor: STAFF } })).ok;
      case 'noShow':
        return (await this.run({ type: 'MarkNoShow', data: { reservationId: a.reservationId }, meta: { actor: STAFF } })).ok;
      case 'block':
        return (
          await this.run(
            { type: 'BlockTime', data: { reservationId: a.reservationId, unitId: a.unitId, spaceIds: [], start: a.start, end: a.end, reason: a.reason }, meta: { actor: STAFF } },
            { siteId: a.siteId },
          )
        ).ok;
    }
  }

  async report(a: Extract<SimAction, { kind: 'occupancy' | 'sensor' | 'connectivity' | 'doorCommand' }>): Promise<void> {
    const iso = (ms: number) => new Date(ms).toISOString();
    const metadata = { decidedAt: iso(this.now), actor: 'system:simulation' };
    switch (a.kind) {
      case 'occupancy':
        await this.store.append(
          accessLog(a.siteId),
          [{ type: 'SpaceOccupancyRecorded', data: { siteId: a.siteId, spaceId: a.spaceId, start: iso(a.start), end: iso(a.end), peakPeopleCount: a.people, sensorIds: [`dev_occ_${a.spaceId.replace(/^spc_/, '')}`] }, metadata }],
          { expectedVersion: 'any' },
        );
        return;
      case 'sensor':
        await this.store.append(
          simulatedAccess(a.siteId),
          [{ type: 'DeviceProvisioned', data: { siteId: a.siteId, deviceId: a.deviceId, kind: 'occupancy_sensor', spaceId: a.spaceId, name: `Occupancy sensor ${a.spaceId}`, secretDigest: 'simulated-device-secret-digest', by: 'staff:stf_simulation' }, metadata }],
          { expectedVersion: 'any' },
        );
        return;
      case 'connectivity':
        await this.store.append(
          accessLog(a.siteId),
          [{ type: 'DeviceConnectivityChanged', data: { siteId: a.siteId, deviceId: a.deviceId, online: a.online, at: iso(a.at), reason: a.online ? 'connected' : 'connection lost' }, metadata }],
          { expectedVersion: 'any' },
        );
        return;
      case 'doorCommand': {
        const issued = { type: 'DoorCommandIssued', data: { siteId: a.siteId, doorId: a.doorId, commandId: a.commandId, action: 'unlock', issuedAt: iso(a.at), expiresAt: iso(a.at + 30_000), emergency: false, reason: 'opened for a reservation', by: 'staff:stf_simulation' }, metadata };
        await this.store.append(simulatedAccess(a.siteId), [issued], { expectedVersion: 'any' });
        if (a.roundTripMs !== null) {
          const done = a.at + a.roundTripMs;
          await this.store.append(
            accessLog(a.siteId),
            [{ type: 'DoorEventReported', data: { siteId: a.siteId, doorId: a.doorId, event: 'command_done', at: iso(done - 20), receivedAt: iso(done), commandId: a.commandId }, metadata: { ...metadata, decidedAt: iso(done) } }],
            { expectedVersion: 'any' },
          );
        }
        return;
      }
    }
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}
