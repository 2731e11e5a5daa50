/**
 * The availability read model against the engine itself: for random
 * histories, every unit-day in the window offers exactly the start times of
 * the unit's minimum duration that the engine's own availability search
 * (`freeSlots`, from the partition's in-memory state) offers.
 */
import fc from 'fast-check';
import { formatInstant, freeSlots, startOfLocalDay } from '@vuoro/engine';
import { describe, expect, it } from 'vitest';
import { analyticsProjection } from '../analytics/projection.js';
import { PARK, definePark, harness } from '../testing/harness.js';
import { play, scenarioArb } from '../testing/scenario.js';
import { AvailabilityReadModel, availabilityProjection } from './projection.js';

describe('availability', () => {
  it('offers the start times the engine offers, unit by unit and day by day', { timeout: 0 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(40), async (scenario) => {
        const h = await harness({ projections: [analyticsProjection(), availabilityProjection({ daysAhead: 21 })] });
        try {
          await definePark(h);
          await play(h, scenario);
          await h.sync();
          const read = new AvailabilityReadModel(h.db);
          const days = read.days({ from: '2027-01-01', to: '2028-12-31' });
          expect(days.length).toBeGreaterThan(0);
          const first = days.reduce((m, d) => (d.date < m ? d.date : m), days[0]!.date);
          const now = startOfLocalDay(first);
          const site = await h.engine.site(PARK.siteId);
          for (const d of days) {
            const unit = PARK.units.find((u) => u.unitId === d.unitId)!;
            const expected = site.read((state) =>
              freeSlots(state, d.unitId, { fromDate: d.date, toDate: d.date, durationMinutes: unit.rules.minDurationMinutes, now, kind: 'behalf' }),
            );
            if (!expected.ok) throw new Error(expected.error.message);
            expect({ unit: d.unitId, date: d.date, starts: d.starts, first: d.firstStart }).toEqual({
              unit: d.unitId,
              date: d.date,
              starts: expected.slots.length,
              first: expected.slots[0] === undefined ? null : formatInstant(expected.slots[0].start),
            });
          }
          // The window runs from the day the events reached, as far as the units' windows allow.
          expect(new Set(days.map((d) => d.date)).size).toBe(22);
        } finally {
          await h.close();
        }
      }),
      { numRuns: Number(process.env.PROPS_RUNS ?? 15) },
    );
  });
});
