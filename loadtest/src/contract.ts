// The behaviour every system a bench measures must show, as a vitest suite:
// a fast system that double-books is not a competitor. Each baseline's
// *.int.spec.ts runs it against its real store; Vuoro's runtime can run it too.

import { afterEach, describe, expect, it } from 'vitest';
import type { ReservationSystem } from './measure.js';
import { generateWorkload, type BookingRequest, type Site, type Unit } from './workload.js';

const HOUR = 3_600_000;

export function describeReservationSystem(name: string, create: () => Promise<ReservationSystem>): void {
  describe(name, () => {
    let system: ReservationSystem | undefined;
    const open = async () => (system = await create());
    afterEach(async () => {
      await system?.close();
      system = undefined;
    });

    // A small catalogue with at least one sports hall; no existing bookings.
    const empty = generateWorkload({ seed: 7, sites: 12, existingBookings: 0, requests: 0 });
    const hallSite = empty.sites.find((s) => s.units.some((u) => u.kind === 'sports-hall')) as Site;
    const hall = hallSite.units.find((u) => u.kind === 'sports-hall') as Unit;
    const [sectionA, sectionB] = hallSite.units.filter((u) => u.spaceIds.length === 1 && hall.spaceIds.includes(u.spaceId));
    const room = hallSite.units.find((u) => u.kind !== 'sports-hall' && !hall.spaceIds.includes(u.spaceId)) as Unit;
    const monday18 = Date.UTC(2027, 2, 1, 16, 0); // 18:00 in Helsinki (UTC+2)

    let counter = 0;
    const request = (unit: Unit, startMs: number, endMs = startMs + HOUR): BookingRequest => ({
      requestId: `req_c${counter++}`,
      contention: 'none',
      siteId: unit.siteId,
      unitId: unit.id,
      spaceIds: unit.spaceIds,
      customerId: `cus_c${counter}`,
      customerGroup: 'association',
      startMs,
      endMs,
    });

    describe('when the calendar is empty', () => {
      it('confirms bookings that share neither space nor time', async () => {
        const s = await open();
        await s.seed({ sites: empty.sites, existing: [] });
        expect(await s.reserve(request(room, monday18))).toBe('accepted');
        expect(await s.reserve(request(room, monday18 + HOUR))).toBe('accepted'); // back to back
        expect(await s.reserve(request(sectionA as Unit, monday18))).toBe('accepted'); // other space, same time
      });

      it('refuses a second booking of a taken slot, even when it only partly overlaps', async () => {
        const s = await open();
        await s.seed({ sites: empty.sites, existing: [] });
        expect(await s.reserve(request(room, monday18))).toBe('accepted');
        expect(await s.reserve(request(room, monday18))).toBe('conflict');
        expect(await s.reserve(request(room, monday18 + HOUR / 2, monday18 + 2 * HOUR))).toBe('conflict');
      });

      it('refuses the whole hall while a section is booked, but lets another section be booked', async () => {
        const s = await open();
        await s.seed({ sites: empty.sites, existing: [] });
        expect(await s.reserve(request(sectionA as Unit, monday18))).toBe('accepted');
        expect(await s.reserve(request(hall, monday18))).toBe('conflict');
        expect(await s.reserve(request(sectionB as Unit, monday18))).toBe('accepted');
        expect(await s.reserve(request(hall, monday18 + HOUR))).toBe('accepted');
        expect(await s.reserve(request(sectionB as Unit, monday18 + HOUR))).toBe('conflict');
      });

      it('confirms exactly one of several identical requests sent at once', async () => {
        const s = await open();
        await s.seed({ sites: empty.sites, existing: [] });
        const outcomes = await Promise.all(Array.from({ length: 4 }, () => s.reserve(request(hall, monday18))));
        expect(outcomes.filter((o) => o === 'accepted')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(3);
      });
    });

    describe('with a year of existing bookings', () => {
      it('confirms every free request and refuses every contended one, in stream order', async () => {
        const workload = generateWorkload({ seed: 11, sites: 4, existingBookings: 400, requests: 80 });
        const s = await open();
        await s.seed(workload);
        const outcomes: string[] = [];
        for (const r of workload.requests) outcomes.push(await s.reserve(r));
        const expected = workload.requests.map((r) => (r.contention === 'none' ? 'accepted' : 'conflict'));
        expect(outcomes).toEqual(expected);
        expect(expected).toContain('conflict');
      });
    });
  });
}
