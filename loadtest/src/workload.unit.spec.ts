import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { generateWorkload, WORKLOAD_ZONE, type Booking, type Workload } from './workload.js';

const overlaps = (a: Booking, b: Booking) =>
  a.siteId === b.siteId && a.startMs < b.endMs && b.startMs < a.endMs && a.spaceIds.some((s) => b.spaceIds.includes(s));

function overlapsAny(booking: Booking, others: readonly Booking[]): boolean {
  return others.some((o) => o !== booking && overlaps(booking, o));
}

describe('generateWorkload', () => {
  const small: Workload = generateWorkload({ seed: 3, sites: 20, existingBookings: 3_000, requests: 1_500 });

  it('is the same for the same seed and differs for another', () => {
    const again = generateWorkload({ seed: 3, sites: 20, existingBookings: 3_000, requests: 1_500 });
    const other = generateWorkload({ seed: 4, sites: 20, existingBookings: 3_000, requests: 1_500 });
    expect(again).toEqual(small);
    expect(other.requests).not.toEqual(small.requests);
  });

  it('has about ten spaces a site, and a hall unit occupies the hall and its three sections', () => {
    const w = generateWorkload({ seed: 1, sites: 300, existingBookings: 0, requests: 0 });
    expect(w.stats.spaces).toBeGreaterThan(2_500);
    expect(w.stats.spaces).toBeLessThan(3_600);
    const halls = w.sites.flatMap((s) => s.units.filter((u) => u.kind === 'sports-hall'));
    expect(halls.length).toBeGreaterThan(50);
    for (const hall of halls) {
      const site = w.sites.find((s) => s.id === hall.siteId);
      const sections = site?.spaces.filter((s) => s.parentId === hall.spaceId) ?? [];
      expect(sections).toHaveLength(3);
      expect([...hall.spaceIds].sort()).toEqual([hall.spaceId, ...sections.map((s) => s.id)].sort());
    }
  });

  it('puts every booking on the 30-minute grid of Helsinki wall time, inside opening hours, 60 to 120 minutes long', () => {
    for (const b of [...small.existing, ...small.requests]) {
      const start = DateTime.fromMillis(b.startMs, { zone: WORKLOAD_ZONE });
      const end = DateTime.fromMillis(b.endMs, { zone: WORKLOAD_ZONE });
      const weekend = start.weekday >= 6;
      expect(start.minute % 30).toBe(0);
      expect(start.second).toBe(0);
      expect(start.hour).toBeGreaterThanOrEqual(weekend ? 9 : 7);
      expect(end.hour * 60 + end.minute).toBeLessThanOrEqual(weekend ? 20 * 60 : 22 * 60);
      expect([60, 90, 120]).toContain((b.endMs - b.startMs) / 60_000);
      expect(start.year).toBe(2027);
    }
  });

  it('keeps wall-clock hours on the days the clocks change', () => {
    const w = generateWorkload({ seed: 5, sites: 60, existingBookings: 40_000, requests: 0 });
    for (const isoDate of ['2027-03-28', '2027-10-31']) {
      const onDay = w.existing.filter((b) => DateTime.fromMillis(b.startMs, { zone: WORKLOAD_ZONE }).toISODate() === isoDate);
      expect(onDay.length).toBeGreaterThan(0);
      for (const b of onDay) {
        const local = DateTime.fromMillis(b.startMs, { zone: WORKLOAD_ZONE });
        expect(local.hour).toBeGreaterThanOrEqual(9); // a Sunday: weekend hours
        expect(local.hour).toBeLessThan(20);
      }
    }
  });

  it('never double-books the existing calendar, counting a hall and its sections as shared space', () => {
    for (const b of small.existing) expect(overlapsAny(b, small.existing)).toBe(false);
  });

  it('makes free requests free, and contended ones overlap a booking or a recent free request', () => {
    const free = small.requests.filter((r) => r.contention === 'none');
    for (const r of free) {
      expect(overlapsAny(r, small.existing)).toBe(false);
      expect(overlapsAny(r, free)).toBe(false);
    }
    small.requests.forEach((r, i) => {
      if (r.contention === 'taken') expect(overlapsAny(r, small.existing)).toBe(true);
      if (r.contention === 'concurrent') {
        const recentFree = small.requests.slice(Math.max(0, i - 64), i).filter((p) => p.contention === 'none');
        expect(overlapsAny(r, recentFree)).toBe(true);
      }
    });
  });

  it('contends about 30% of requests, mostly on weekday evenings', () => {
    const w = generateWorkload({ seed: 9, sites: 300, existingBookings: 50_000, requests: 10_000 });
    const contended = w.stats.requestsTaken + w.stats.requestsConcurrent;
    expect(contended / w.stats.requests).toBeGreaterThan(0.27);
    expect(contended / w.stats.requests).toBeLessThan(0.33);
    const eveningContended = w.requests.filter((r) => {
      const local = DateTime.fromMillis(r.startMs, { zone: WORKLOAD_ZONE });
      return r.contention !== 'none' && local.weekday <= 5 && local.hour >= 15;
    }).length;
    expect(eveningContended / contended).toBeGreaterThan(0.9);
  });
});
