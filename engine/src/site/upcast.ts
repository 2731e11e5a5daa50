/**
 * Upcasting: events are stored with the schema version they were written
 * with, and turned into the current shape when read, so `evolve` and every
 * projection only ever handle the current version.
 *
 * To change an event's shape: bump its entry in UPCASTERS' target, add a
 * function from the old version, and keep the old function for as long as any
 * stored log may contain the old version (i.e. forever).
 */
import type { RecordedEvent } from '../store/port.js';
import { isSiteEventType, type SiteEvent } from './events.js';

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/** `UPCASTERS[type][fromVersion]` turns data of `fromVersion` into `fromVersion + 1`. */
export const UPCASTERS: Partial<Record<SiteEvent['type'], Record<number, Upcaster>>> = {
  // Version 1 was the prototype's log: the price was a bare number of cents.
  ReservationRequested: {
    1: (d) =>
      typeof d.price === 'number'
        ? { ...d, price: { amountCents: d.price, vatCents: 0, vatBasisPoints: 0, source: 'price_list' } }
        : d,
  },
};

/** The current schema version of each event type (1 unless listed). */
export const CURRENT_VERSION: Partial<Record<SiteEvent['type'], number>> = { ReservationRequested: 2 };

export const schemaVersionOf = (type: string): number => CURRENT_VERSION[type as SiteEvent['type']] ?? 1;

/** The current shape of a stored site event, or undefined for an event type this partition does not know. */
export function upcastSiteEvent(recorded: RecordedEvent): SiteEvent | undefined {
  if (!isSiteEventType(recorded.type)) return undefined;
  const target = CURRENT_VERSION[recorded.type] ?? 1;
  let data = recorded.data as Record<string, unknown>;
  for (let v = recorded.schemaVersion; v < target; v++) {
    const step = UPCASTERS[recorded.type]?.[v];
    if (step === undefined) throw new Error(`no upcaster for ${recorded.type} v${v} (stream ${recorded.stream})`);
    data = step(data);
  }
  return { type: recorded.type, data } as SiteEvent;
}
