/**
 * Which reservations have run out of time: holds (`requested`) past their
 * hold and unpaid reservations (`awaiting_payment`) past their payment
 * deadline. Expiring them (`ExpireReservation`) frees their slots.
 *
 * Pure: a query over a site partition's in-memory state at a given instant.
 * The decider makes the final call with its own clock, so a caller whose
 * clock runs ahead only earns a harmless NOT_YET_EXPIRED.
 */
import type { Instant } from '../calendar/index.js';
import type { SiteState } from '../site/state.js';

export interface DueExpiry {
  reservationId: string;
  reason: 'hold' | 'payment';
  /** When it became due. */
  dueAt: Instant;
}

/** Reservations of a site due to expire at `now`, earliest deadline first. */
export function dueForExpiry(state: SiteState, now: Instant): DueExpiry[] {
  const due: DueExpiry[] = [];
  for (const r of state.reservations.values()) {
    if (r.state === 'requested' && r.holdExpiresAt !== undefined && now >= r.holdExpiresAt) {
      due.push({ reservationId: r.id, reason: 'hold', dueAt: r.holdExpiresAt });
    } else if (r.state === 'awaiting_payment' && r.paymentDeadline !== undefined && now >= r.paymentDeadline) {
      due.push({ reservationId: r.id, reason: 'payment', dueAt: r.paymentDeadline });
    }
  }
  return due.sort((a, b) => a.dueAt - b.dueAt || (a.reservationId < b.reservationId ? -1 : 1));
}

/** The earliest hold or payment deadline still ahead of `now`, so a caller can sleep until then. */
export function nextExpiryAfter(state: SiteState, now: Instant): Instant | undefined {
  let next: Instant | undefined;
  for (const r of state.reservations.values()) {
    const at = r.state === 'requested' ? r.holdExpiresAt : r.state === 'awaiting_payment' ? r.paymentDeadline : undefined;
    if (at !== undefined && at > now && (next === undefined || at < next)) next = at;
  }
  return next;
}
