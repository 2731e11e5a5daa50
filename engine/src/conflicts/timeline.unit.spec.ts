import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bookingsConflict, Timeline, type Booking } from './timeline.js';

const MIN = 60_000;
const booking = fc
  .record({
    start: fc.integer({ min: 0, max: 2_000 }),
    len: fc.integer({ min: 1, max: 240 }),
    before: fc.constantFrom(0, 0, 5, 15, 30, 60),
    after: fc.constantFrom(0, 0, 10, 15, 30, 120),
  })
  .map(({ start, len, before, after }) => ({ start: start * MIN, end: (start + len) * MIN, before: before * MIN, after: after * MIN }));

describe('the conflict index of one space', () => {
  it('answers exactly like a brute-force scan, for any sequence of inserts, removals and queries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'add', 'add', 'remove', 'query'), booking, fc.nat()), { maxLength: 300 }), (ops) => {
        const timeline = new Timeline();
        const oracle: Booking[] = [];
        let n = 0;
        for (const [op, b, pick] of ops) {
          const candidate = { id: `b${n++}`, ...b };
          const expected = oracle.find((o) => bookingsConflict(candidate, o));
          if (op === 'remove' && oracle.length > 0) {
            const victim = oracle.splice(pick % oracle.length, 1)[0] as Booking;
            expect(timeline.remove(victim)).toBe(true);
          } else if (op === 'add') {
            const found = timeline.findConflict(candidate);
            expect(found !== undefined).toBe(expected !== undefined);
            if (found === undefined) {
              timeline.insert(candidate);
              oracle.push(candidate);
            } else {
              expect(bookingsConflict(candidate, found)).toBe(true);
            }
          } else {
            expect(timeline.findConflict(candidate) !== undefined).toBe(expected !== undefined);
          }
          expect(timeline.size).toBe(oracle.length);
        }
        // the timeline never holds two overlapping bookings
        const all = [...timeline.all()];
        for (let i = 1; i < all.length; i++) expect((all[i - 1] as Booking).end).toBeLessThanOrEqual((all[i] as Booking).start);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores the booking being moved', () => {
    const t = new Timeline();
    const b = { id: 'a', start: 0, end: 60 * MIN, before: 0, after: 15 * MIN };
    t.insert(b);
    expect(t.findConflict({ ...b, start: 30 * MIN, end: 90 * MIN })).toBe(b);
    expect(t.findConflict({ ...b, start: 30 * MIN, end: 90 * MIN }, 'a')).toBeUndefined();
  });

  it('lists the bookings overlapping a period', () => {
    const t = new Timeline();
    for (let i = 0; i < 10; i++) t.insert({ id: `b${i}`, start: i * 100 * MIN, end: (i * 100 + 60) * MIN, before: 0, after: 0 });
    expect(t.overlapping(150 * MIN, 420 * MIN).map((b) => b.id)).toEqual(['b1', 'b2', 'b3', 'b4']);
    expect(t.overlapping(30 * MIN, 40 * MIN).map((b) => b.id)).toEqual(['b0']);
  });

  it('refuses an insert that would break its ordering (a bug upstream, not a user error)', () => {
    const t = new Timeline();
    t.insert({ id: 'a', start: 0, end: MIN, before: 0, after: 0 });
    expect(() => t.insert({ id: 'b', start: 0, end: 2 * MIN, before: 0, after: 0 })).toThrow(/bug/);
  });
});
