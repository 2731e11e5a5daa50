// Plain-data helpers both Emmett baselines share: the reservation payload their
// commands and events carry, and how the workload's bookings map onto it.

import type { Booking, ExistingBooking, Site } from '../../src/workload.js';
import { scheduleStreamId, type StreamGranularity } from './siteSchedule.js';

export type ReservationDetails = {
  reservationId: string;
  siteId: string;
  unitId: string;
  spaceIds: string[];
  customerId: string;
  customerGroup: string;
  startMs: number;
  endMs: number;
};

export function toReservationDetails(reservationId: string, booking: Booking): ReservationDetails {
  return {
    reservationId,
    siteId: booking.siteId,
    unitId: booking.unitId,
    spaceIds: [...booking.spaceIds],
    customerId: booking.customerId,
    customerGroup: booking.customerGroup,
    startMs: booking.startMs,
    endMs: booking.endMs,
  };
}

/** Bookings grouped by the stream they belong to, for one site (see scheduleStreamId). */
export function groupByStream<T extends Booking>(
  bookings: readonly T[],
  streamId: (booking: T) => string,
): Map<string, T[]> {
  const byStream = new Map<string, T[]>();
  for (const booking of bookings) {
    const id = streamId(booking);
    const list = byStream.get(id);
    if (list === undefined) byStream.set(id, [booking]);
    else list.push(booking);
  }
  return byStream;
}

export interface StreamSeed {
  streamId: string;
  siteId: string;
  bookings: ExistingBooking[];
}

/**
 * The streams to write before the measured run: every site stream (so each
 * one exists and is opened), or, per week, only the weeks that have bookings
 * (the others are opened by their first booking).
 */
export function planSeed(
  granularity: StreamGranularity,
  sites: readonly Site[],
  existing: readonly ExistingBooking[],
): StreamSeed[] {
  const plan = new Map<string, StreamSeed>();
  if (granularity === 'site') {
    for (const site of sites) {
      const streamId = scheduleStreamId('site', site.id, 0);
      plan.set(streamId, { streamId, siteId: site.id, bookings: [] });
    }
  }
  for (const [streamId, bookings] of groupByStream(existing, (b) => scheduleStreamId(granularity, b.siteId, b.startMs))) {
    const siteId = (bookings[0] as ExistingBooking).siteId;
    plan.set(streamId, { streamId, siteId, bookings: [...(plan.get(streamId)?.bookings ?? []), ...bookings] });
  }
  return [...plan.values()];
}
