/**
 * Which messages a committed event means for the channel that made the
 * reservation: a confirmation, a payment request, a change, a cancellation
 * (also for denials and expiries), and a reminder the day before. Pure: the
 * outbox applies the result in one transaction with its checkpoint, so each
 * event yields its messages exactly once, also across restarts.
 *
 * What a message says about the reservation comes from the events (kept in
 * the outbox's `reservations` table), not from the live state, so replaying
 * the feed gives the same messages.
 */
import { addDays, formatInstant, localDateOf, wallTimeToInstant, type RecordedEvent } from '@vuoro/engine';

export const MESSAGE_TYPES = [
  'reservation.confirmed',
  'reservation.payment_required',
  'reservation.changed',
  'reservation.cancelled',
  'reservation.reminder',
  /** Reserved for access control: the door code of a confirmed reservation. */
  'access.door_code',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface ReservationInfo {
  reservationId: string;
  channelId: string | null;
  siteId: string;
  unitId: string | null;
  customerId: string | null;
  start: number;
  end: number;
  amountCents: number;
  state: string;
}

export interface NewMessage {
  type: MessageType;
  reservationId: string;
  channelId: string;
  dedupeKey: string;
  deliverAt: number;
  payload: Record<string, unknown>;
}

export interface Derived {
  /** The reservation as known after the event (to store), when the event concerns one. */
  info?: ReservationInfo;
  messages: NewMessage[];
  /** Pending reminders of this reservation to cancel (it ended, or moved). */
  cancelReminders?: string;
}

const siteOf = (stream: string): string | undefined => (stream.startsWith('site-') ? stream.slice(5) : undefined);

const CANCELLATIONS: Record<string, string> = {
  ReservationCancelled: 'cancelled',
  ReservationDenied: 'denied',
  ReservationExpired: 'expired',
};

/** When the day-before reminder goes out: `hour`:00 Helsinki time on the day before the start. */
export function reminderAt(start: number, hour: number): number {
  const r = wallTimeToInstant(addDays(localDateOf(start), -1), hour * 60, { gap: 'after', ambiguous: 'earlier' });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function reservationPart(info: ReservationInfo): Record<string, unknown> {
  return {
    reservationId: info.reservationId,
    siteId: info.siteId,
    unitId: info.unitId,
    customerId: info.customerId,
    start: formatInstant(info.start),
    end: formatInstant(info.end),
    amountCents: info.amountCents,
    state: info.state,
  };
}

export function derive(event: RecordedEvent, known: ReservationInfo | undefined, options: { reminderHour: number }): Derived {
  const siteId = siteOf(event.stream);
  if (siteId === undefined) return { messages: [] };
  const data = event.data as Record<string, unknown>;
  // When the engine decided it (its clock); the store's recordedAt is the wall clock of the write.
  const at = Date.parse(typeof event.metadata.decidedAt === 'string' ? event.metadata.decidedAt : event.metadata.recordedAt);
  const message = (info: ReservationInfo, type: MessageType, extra: Record<string, unknown> = {}, deliverAt = at, dedupe = `${type}:${info.reservationId}:${event.position}`): NewMessage[] =>
    info.channelId === null
      ? []
      : [
          {
            type,
            reservationId: info.reservationId,
            channelId: info.channelId,
            dedupeKey: dedupe,
            deliverAt,
            payload: { type, channelId: info.channelId, position: event.position, occurredAt: formatInstant(at), reservation: reservationPart(info), ...extra },
          },
        ];
  const reminder = (info: ReservationInfo): NewMessage[] => {
    const when = reminderAt(info.start, options.reminderHour);
    return when > at ? message(info, 'reservation.reminder', {}, when, `reservation.reminder:${info.reservationId}:${info.start}`) : [];
  };

  if (event.type === 'ReservationRequested') {
    const channel = event.metadata.channel;
    const info: ReservationInfo = {
      reservationId: data.reservationId as string,
      channelId: typeof channel === 'string' && channel !== 'system' && channel !== 'payments' ? channel : null,
      siteId,
      unitId: (data.unitId as string | undefined) ?? null,
      customerId: (data.customerId as string | undefined) ?? null,
      start: Date.parse(data.start as string),
      end: Date.parse(data.end as string),
      amountCents: (data.price as { amountCents: number }).amountCents,
      state: 'requested',
    };
    return { info, messages: [] };
  }
  if (known === undefined) return { messages: [] };
  switch (event.type) {
    case 'ReservationHandlingRequired':
      return { info: { ...known, state: 'requires_handling' }, messages: [] };
    case 'ReservationPaymentRequired': {
      const info = { ...known, state: 'awaiting_payment' };
      return { info, messages: message(info, 'reservation.payment_required', { amountCents: data.amountCents, paymentDeadline: formatInstant(Date.parse(data.deadline as string)) }) };
    }
    case 'ReservationConfirmed': {
      const info = { ...known, state: 'confirmed' };
      return { info, messages: [...message(info, 'reservation.confirmed'), ...reminder(info)] };
    }
    case 'ReservationModified': {
      const info = { ...known, start: Date.parse(data.start as string), end: Date.parse(data.end as string), amountCents: (data.price as { amountCents: number }).amountCents };
      return {
        info,
        messages: [...message(info, 'reservation.changed'), ...(info.state === 'confirmed' ? reminder(info) : [])],
        cancelReminders: info.reservationId,
      };
    }
    case 'ReservationCancelled':
    case 'ReservationDenied':
    case 'ReservationExpired': {
      const reason = CANCELLATIONS[event.type] as string;
      const info = { ...known, state: reason };
      const why =
        event.type === 'ReservationExpired'
          ? { expiredBecause: data.reason === 'hold' ? 'the hold was not confirmed in time' : 'payment was not received by the deadline' }
          : typeof data.reason === 'string' && data.reason !== ''
            ? { note: data.reason }
            : {};
      return { info, messages: message(info, 'reservation.cancelled', { reason, ...why }), cancelReminders: info.reservationId };
    }
    case 'ReservationNoShow':
      return { info: { ...known, state: 'no_show' }, messages: [], cancelReminders: known.reservationId };
    case 'ReservationCompleted':
      return { info: { ...known, state: 'completed' }, messages: [] };
    default:
      return { messages: [] };
  }
}
