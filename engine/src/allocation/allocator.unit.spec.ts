/**
 * Property tests of the allocator on generated small rounds: a real site
 * partition (a hall with sections, rooms, opening hours, holidays, existing
 * bookings and weekly blocks), seasons across the end of summer time.
 *
 * The checks do not reuse the allocator's own bookkeeping: slots are replayed
 * week by week against the site's calendar and conflict index, and the
 * fairness and priority rules are re-derived here from their definitions
 * (README "Rules").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wallMinutesOf } from '../calendar/index.js';
import { Assignment } from './assignment.js';
import { solveExact } from './exact.js';
import type { ProposedSlot } from './explain.js';
import { solveHeuristic } from './heuristic.js';
import { greedyMinDuration } from './baseline.js';
import { explain } from './explain.js';
import { allocate, proposeFor } from './index.js';
import { buildProblem, type Problem } from './model.js';
import { inputOf, replay, roundArb, seasonOf, siteStateOf, type RoundSpec } from './testing.js';

/** Many applications on few units: where fairness and priority decide. */
const CONTENDED = roundArb({ minApplications: 5, maxApplications: 9, maxUnits: 3 });

/** Not a time limit on the allocator: a guard so a hang fails the run instead of stalling it. */
const GUARD = { timeout: 15 * 60_000 };

const minutes = (t: string): number => wallMinutesOf(t) ?? NaN;

/** The rules on a proposal's slots, checked against the site partition and the applications as submitted. */
function checkSlots(spec: RoundSpec, slots: readonly ProposedSlot[]): void {
  const state = siteStateOf(spec);
  const input = inputOf(spec, state);
  const sections = new Map(input.applications.flatMap((a) => a.sections.map((s) => [s.sectionId, { app: a, s }] as const)));
  const { usable, clashes } = replay(state, seasonOf(spec), new Map(), slots);
  expect(clashes.map(([a, b, date]) => `${a.sectionId}/${b.sectionId} on ${date}`)).toEqual([]);
  const perSection = new Map<string, ProposedSlot[]>();
  for (const slot of slots) {
    const { s } = sections.get(slot.sectionId)!;
    perSection.set(slot.sectionId, [...(perSection.get(slot.sectionId) ?? []), slot]);
    const start = minutes(slot.startTime);
    const end = minutes(slot.endTime);
    // Inside one of the section's suitable stretches that weekday (adjoining windows join).
    const windows = s.timeWindows.filter((w) => w.weekday === slot.weekday).map((w) => [minutes(w.from), minutes(w.to)] as [number, number]).sort((a, b) => a[0] - b[0]);
    const stretches: [number, number][] = [];
    for (const w of windows) {
      const last = stretches[stretches.length - 1];
      if (last !== undefined && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
      else stretches.push([...w]);
    }
    expect(stretches.some(([a, b]) => a <= start && end <= b), `${slot.sectionId} ${slot.weekday} ${slot.startTime}-${slot.endTime} within its windows`).toBe(true);
    expect(end - start).toBeGreaterThanOrEqual(s.minDurationMinutes);
    expect(end - start).toBeLessThanOrEqual(s.maxDurationMinutes);
    expect(s.unitOptions).toContain(slot.unitId);
    // Bookable (open, aligned, free) on the share of weeks the criteria ask, as the series will find it.
    const u = usable.get(slot)!;
    expect(u.ok, `${slot.sectionId} usable weeks`).toBeGreaterThanOrEqual(Math.ceil(spec.criteria.minUsableWeekShare * u.total - 1e-9));
    expect(u.ok).toBe(slot.usableWeeks);
  }
  for (const [sectionId, list] of perSection) {
    const { s } = sections.get(sectionId)!;
    expect(list.length).toBeLessThanOrEqual(s.wishedPerWeek);
    expect(new Set(list.map((x) => x.weekday)).size).toBe(list.length);
  }
}

/**
 * Fairness and priority, from their definitions, over the problem's
 * candidate slots and the proposal's slots (levels from the proposal).
 */
function ruleViolations(p: Problem, spec: RoundSpec, slots: readonly ProposedSlot[]): string[] {
  const out: string[] = [];
  const state = siteStateOf(spec);
  const unitOf = (id: string) => state.units.get(id)!;
  const relatedUnits = (a: string, b: string) => unitOf(a).checkKeys.some((k) => unitOf(b).insertKeys.includes(k));
  const clash = (x: { unitId: string; weekday: number; start: number; end: number }, y: ProposedSlot): boolean => {
    if (x.weekday !== y.weekday || !relatedUnits(x.unitId, y.unitId)) return false;
    const rx = unitOf(x.unitId).unit.rules;
    const ry = unitOf(y.unitId).unit.rules;
    const ys = minutes(y.startTime);
    const ye = minutes(y.endTime);
    return (x.start - rx.bufferBeforeMinutes < ye && ys < x.end + rx.bufferAfterMinutes) || (ys - ry.bufferBeforeMinutes < x.end && x.start < ye + ry.bufferAfterMinutes);
  };
  const countOf = new Map<string, number>();
  for (const s of slots) countOf.set(s.customerId, (countOf.get(s.customerId) ?? 0) + 1);
  const minutesOn = (customerId: string, unitId: string) => slots.filter((s) => s.customerId === customerId && s.unitId === unitId).reduce((m, s) => m + minutes(s.endTime) - minutes(s.startTime), 0);
  for (const section of p.sections) {
    const customerId = section.application.customerId;
    const own = slots.filter((s) => s.sectionId === section.request.sectionId);
    for (let c = section.candFrom; c < section.candTo; c++) {
      const cand = { unitId: p.units[p.cUnit[c]!]!.supply.unitId, weekday: p.cDay[c]!, start: p.cStart[c]!, end: p.cEnd[c]! };
      if (own.some((s) => s.weekday === cand.weekday && s.unitId === cand.unitId && minutes(s.startTime) === cand.start && minutes(s.endTime) === cand.end)) continue;
      if (own.length >= section.wished || own.some((s) => s.weekday === cand.weekday)) continue;
      if (minutesOn(customerId, cand.unitId) + cand.end - cand.start > p.units[p.cUnit[c]!]!.capMinutes) continue;
      const blockers = slots.filter((s) => clash(cand, s));
      // Fairness: an applicant without slots has no candidate blocked only by others' additional slots.
      if ((countOf.get(customerId) ?? 0) === 0 && !blockers.some((b) => b.level === 1 || b.lockedAllocationId !== undefined)) {
        out.push(`fairness: ${customerId} could have ${cand.unitId} ${cand.weekday} ${cand.start}-${cand.end}`);
      }
      // Priority: one lower-priority slot in the way, taking it loses no objective and leaves nobody slotless for another's extra.
      if (blockers.length === 1) {
        const b = blockers[0]!;
        const holderWeight = p.sections[p.sectionIndex.get(b.sectionId)!]!.weight;
        if (b.customerId !== customerId && b.lockedAllocationId === undefined && holderWeight < section.weight && p.cValue[c]! >= b.value - 1e-9 && !((countOf.get(b.customerId) ?? 0) === 1 && (countOf.get(customerId) ?? 0) > 0)) {
          out.push(`priority: ${section.request.sectionId} (weight ${section.weight}) wanted ${cand.unitId} ${cand.weekday} ${cand.start}-${cand.end} held by ${b.sectionId} (weight ${holderWeight})`);
        }
      }
    }
  }
  return out;
}

describe('the allocator', GUARD, () => {
  it('never double-books: no slot clashes with another or an existing booking (hierarchy and buffers included), and each keeps to opening hours, windows and durations', async () => {
    await fc.assert(
      fc.asyncProperty(roundArb(), async (spec) => {
        const proposal = await allocate(inputOf(spec), { bound: false, solver: 'heuristic' });
        checkSlots(spec, proposal.slots);
        expect(proposal.violations).toEqual([]);
      }),
      { numRuns: 120, seed: 4242 },
    );
  });

  it('gives every applicant that can have a slot one before anyone gets a second, and never gives a lower-priority applicant a slot a higher-priority one wanted and could have had without loss', async () => {
    await fc.assert(
      fc.asyncProperty(CONTENDED, async (spec) => {
        const p = buildProblem(inputOf(spec));
        const proposal = await proposeFor(p, { bound: false, solver: 'heuristic' });
        expect(ruleViolations(p, spec, proposal.slots)).toEqual([]);
      }),
      { numRuns: 150, seed: 777 },
    );
  });

  it('(the rule checks are not vacuous: first-come allocation breaks both rules on contended rounds)', () => {
    const kinds = new Set<string>();
    for (const spec of fc.sample(CONTENDED, { numRuns: 60, seed: 778 })) {
      const p = buildProblem(inputOf(spec));
      const firstCome = Assignment.of(p, greedyMinDuration(p).chosen());
      const { slots } = explain(firstCome);
      for (const v of ruleViolations(p, spec, slots)) kinds.add(v.split(':')[0]!);
    }
    expect([...kinds].sort()).toEqual(['fairness', 'priority']);
  });

  it('is never above the HiGHS bound, and reaches the proven optimum on most tiny rounds', async () => {
    const specs = fc.sample(roundArb({ maxApplications: 5 }), { numRuns: 40, seed: 31337 });
    let optimal = 0;
    let equal = 0;
    let ratioSum = 0;
    for (const spec of specs) {
      const p = buildProblem(inputOf(spec));
      const heuristic = solveHeuristic(p);
      const exact = await solveExact(p);
      expect(exact.bound).toBeDefined();
      expect(heuristic.objective).toBeLessThanOrEqual(exact.bound! + 1e-6);
      if (exact.status !== 'optimal') continue;
      optimal++;
      // The exact solution satisfies the same rules.
      checkSlots(spec, (await proposeFor(p, { solver: 'exact' })).slots);
      const ratio = exact.objective! > 0 ? heuristic.objective / exact.objective! : 1;
      ratioSum += ratio;
      if (Math.abs(heuristic.objective - exact.objective!) < 1e-6) equal++;
    }
    expect(optimal).toBe(specs.length);
    // Measured on this sample: 34 of 40 equal to the proven optimum, mean ratio 0.990, worst 0.84. The bars
    // leave room for generator changes, not for a broken search (first-come allocation scores far below).
    expect(equal / optimal).toBeGreaterThanOrEqual(0.75);
    expect(ratioSum / optimal).toBeGreaterThanOrEqual(0.98);
  });

  it('keeps locked slots exactly and re-allocates the rest around them; declined sections get nothing', async () => {
    await fc.assert(
      fc.asyncProperty(roundArb(), fc.nat(), async (spec, pick) => {
        const input = inputOf(spec);
        const first = await allocate(input, { bound: false, solver: 'heuristic' });
        const lockedSlot = first.slots[pick % Math.max(1, first.slots.length)];
        const other = first.slots.find((s) => s.sectionId !== lockedSlot?.sectionId);
        fc.pre(lockedSlot !== undefined && other !== undefined);
        if (lockedSlot === undefined || other === undefined) return;
        const declined = other.sectionId;
        const rerun = await allocate(
          {
            ...input,
            fixed: [{ allocationId: 'alc_locked', sectionId: lockedSlot.sectionId, unitId: lockedSlot.unitId, weekday: lockedSlot.weekday, startMinute: minutes(lockedSlot.startTime), endMinute: minutes(lockedSlot.endTime) }],
            excludedSectionIds: [declined],
          },
          { bound: false, solver: 'heuristic' },
        );
        const kept = rerun.slots.filter((s) => s.lockedAllocationId === 'alc_locked');
        expect(kept).toHaveLength(1);
        expect(kept[0]).toMatchObject({ sectionId: lockedSlot.sectionId, unitId: lockedSlot.unitId, weekday: lockedSlot.weekday, startTime: lockedSlot.startTime, endTime: lockedSlot.endTime });
        expect(rerun.slots.some((s) => s.sectionId === declined)).toBe(false);
        expect(rerun.sections.find((s) => s.sectionId === declined)?.status).toBe('declined');
        checkSlots(spec, rerun.slots);
      }),
      { numRuns: 60, seed: 99 },
    );
  });

  it('explains every shortfall with a reason, naming the competitors that hold the wanted time', async () => {
    await fc.assert(
      fc.asyncProperty(roundArb(), async (spec) => {
        const proposal = await allocate(inputOf(spec), { bound: false, solver: 'heuristic' });
        const byId = new Map(proposal.slots.map((s) => [s.sectionId + s.weekday, s]));
        for (const section of proposal.sections) {
          if (section.status === 'allocated') continue;
          expect(section.notes.length).toBeGreaterThan(0);
          for (const note of section.notes) {
            for (const c of note.competitors ?? []) {
              // A named competitor really holds a slot at that time.
              expect(byId.get(c.sectionId + c.slot.weekday)).toMatchObject({ unitId: c.slot.unitId, startTime: c.slot.startTime, endTime: c.slot.endTime });
            }
          }
        }
        for (const slot of proposal.slots) expect(slot.notes.some((n) => n.code === 'FIRST_SLOT' || n.code === 'ADDITIONAL_SLOT')).toBe(true);
      }),
      { numRuns: 60, seed: 5 },
    );
  });

  it('reports the objective, the bound and the gap of every proposal', async () => {
    const spec = fc.sample(roundArb(), { numRuns: 1, seed: 12 })[0]!;
    const proposal = await allocate(inputOf(spec));
    const m = proposal.metrics;
    expect(m.bound).not.toBeNull();
    expect(m.objective).toBeLessThanOrEqual(m.bound! + 1e-6);
    expect(m.gap).toBeCloseTo(m.provenOptimal ? 0 : (m.bound! - m.objective) / m.bound!, 9);
    expect(m.boundMethod).toBe('milp');
    expect(m.objective).toBeCloseTo(proposal.slots.reduce((v, s) => v + s.value, 0), 9);
  });

  it('values a slot by category weight, hours, window, unit rank, usable weeks and continuity, as the criteria say', () => {
    const spec = fc.sample(roundArb(), { numRuns: 1, seed: 3 })[0]!;
    const p = buildProblem(inputOf(spec));
    const c = p.criteria;
    for (let k = 0; k < p.candidateCount; k++) {
      const section = p.sections[p.cSection[k]!]!;
      const hours = (p.cEnd[k]! - p.cStart[k]!) / 60;
      const windowFactor = p.cFlags[k]! & 1 ? c.windowFactors.primary : c.windowFactors.secondary;
      const rank = c.unitRankFactors[Math.min(p.cRank[k]!, c.unitRankFactors.length - 1)]!;
      const expected = section.weight * hours * windowFactor * rank * (p.cUsable[k]! / p.cWeeks[k]!) + (p.cFlags[k]! & 2 ? c.continuityBonus : 0);
      expect(p.cValue[k]).toBeCloseTo(expected, 9);
    }
    const a = Assignment.of(p, []);
    expect(a.objective).toBe(0);
  });
});
