/**
 * Checks shared by the race, crash and load tests: whatever happened, the log
 * must rebuild into a state with no double booking, and every acknowledged
 * reservation must be in it exactly once.
 */
import { expect } from 'vitest';
import { bookingsConflict } from '../conflicts/timeline.js';
import { HOLDS_SLOT, relatedSpaces, type SiteState } from '../site/state.js';
import type { RecordedEvent } from '../store/port.js';

/** Brute force over every pair of slot-holding reservations of a site. */
export function expectNoDoubleBooking(state: SiteState): number {
  const holding = [...state.reservations.values()].filter((r) => HOLDS_SLOT.has(r.state));
  for (let i = 0; i < holding.length; i++) {
    const a = holding[i];
    if (a === undefined) continue;
    const related = new Set(relatedSpaces(state, a.spaceIds));
    for (let j = i + 1; j < holding.length; j++) {
      const b = holding[j];
      if (b === undefined) continue;
      const shares = b.spaceIds.some((s) => related.has(s)) || a.resourceIds.some((r) => b.resourceIds.includes(r));
      if (shares && bookingsConflict(a.booking, b.booking)) {
        throw new Error(`double booking: ${a.id} and ${b.id} overlap on related spaces`);
      }
    }
  }
  return holding.length;
}

/** Every acknowledged reservation id has exactly one ReservationRequested event in the log. */
export function expectEachOnce(events: readonly RecordedEvent[], acknowledged: Iterable<string>): void {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'ReservationRequested') {
      const id = (e.data as { reservationId: string }).reservationId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  for (const [id, n] of counts) expect(n, `reservation ${id} recorded ${n} times`).toBe(1);
  const missing = [...acknowledged].filter((id) => !counts.has(id));
  expect(missing, 'acknowledged but not in the log').toEqual([]);
}
