/**
 * The heuristic allocator: greedy fairness rounds by priority, then local
 * search, then repair until the fairness and priority rules hold.
 *
 *   1. Staff-locked slots are placed first; they never move.
 *   2. Fairness rounds: in round k every applicant that already has k-1 slots
 *      gets its best feasible k-th slot, applicants taken by category weight
 *      (highest first), the least flexible first within a category. Each takes
 *      its most valuable candidate (longest duration that fits, primary
 *      window, first-ranked unit) and, among equally valuable ones, the one
 *      that leaves the least unusable leftover time.
 *   3. Local search, each move kept only if it raises the objective and
 *      fairness holds: upgrade (a slot replaced by a better one of its
 *      section, moving up to three others out of the way), ejection chains
 *      (an unmet wish takes a time whose holders move to other slots of their
 *      own, one level deep, or give it up when they keep another slot), destroy
 *      and repair around one slot, then the fairness rounds again. Repeated
 *      while anything improves, up to the effort's number of rounds.
 *   4. Repair to a fixpoint: the first-slot rule (an applicant left without
 *      a slot gets one that only others' additional slots block), priority
 *      (a higher-priority applicant takes a lower-priority slot it wants when
 *      that loses no objective), and fill. Each step raises (applicants
 *      served, sum of awarded category weights) lexicographically, so it ends.
 *   5. (thorough) Ruin and recreate one weekday of one group of related
 *      units at a time, with seeded noise; then the repair again.
 *
 * Deterministic: the same problem gives the same allocation. No clocks; the
 * only noise is from a fixed-seed generator; bounded by move counts, not time.
 */
import { Assignment } from './assignment.js';
import { related, type Problem, type SectionInfo } from './model.js';

export interface HeuristicOptions {
  /** Default: `fast` for very large rounds, else `thorough`. */
  readonly effort?: Effort;
  /**
   * Candidate examinations the local search may spend in all, a safety net
   * for rounds far beyond Helsinki's (default 60 million); the repair steps
   * always run to the end. A count, not a clock, so the result does not
   * depend on the machine.
   */
  readonly workBudget?: number;
}

const EPS = 1e-9;
/**
 * Search effort. `thorough` suits rounds up to a few thousand applications
 * (and ends with `recreate` ruin-and-recreate moves); `fast` keeps a
 * Helsinki-scale round (5,000 applications, 300 units, over 300,000
 * candidates) to a few seconds on one core, for about one percent of
 * objective.
 */
export const EFFORT = {
  thorough: { rounds: 4, ejectionCandidates: 64, maxBlockers: 3, relocateScan: 96, relocateTries: 6, recreate: 400 },
  fast: { rounds: 2, ejectionCandidates: 48, maxBlockers: 1, relocateScan: 64, relocateTries: 4, recreate: 0 },
} as const;
export type Effort = keyof typeof EFFORT;
/** Above this many candidates `auto` effort is `fast`. */
const FAST_ABOVE_CANDIDATES = 150_000;

export function solveHeuristic(p: Problem, options: HeuristicOptions = {}): Assignment {
  return new Heuristic(p, options, new Assignment(p)).run();
}

/**
 * Runs only the repair steps (fairness, priority, fill) on an existing
 * allocation, e.g. an exact solution: none of them lowers the objective of an
 * allocation that already satisfies the fairness rule.
 */
export function polish(p: Problem, assignment: Assignment): Assignment {
  const h = new Heuristic(p, {}, assignment);
  h.repairOnly();
  return assignment;
}

class Heuristic {
  private readonly a: Assignment;
  private readonly order: number[];
  private readonly minUseful: number;
  /** Per unit and weekday, the free spans of the most common week. */
  private readonly typicalFree: { from: number; to: number }[][][];
  private readonly scratch: number[] = [];
  private readonly buf = new Int32Array(8);
  private readonly wide = new Int32Array(128);
  /** Candidates per (unit, weekday), most valuable first; and each unit's related units (itself included). */
  private readonly cells: Int32Array[];
  private readonly relatedUnits: number[][];
  private readonly refillFailedAt: Float64Array;
  private readonly depthBuffers = [new Int32Array(2), new Int32Array(2), new Int32Array(2)];
  /** Slots placed by the move being tried (stamped with its number), which it must not displace again. */
  private readonly protectedStamp: Uint32Array;
  private trial = 0;
  private work = 0;
  private readonly budget: number;
  private readonly effort: (typeof EFFORT)[Effort];
  /** Per candidate: 1 + the occupancy signature at which a move to take it last failed (0 = never tried). */
  private readonly failedAt: Float64Array;

  constructor(
    private readonly p: Problem,
    private readonly options: HeuristicOptions,
    assignment: Assignment,
  ) {
    this.a = assignment;
    this.failedAt = new Float64Array(p.candidateCount);
    this.protectedStamp = new Uint32Array(p.candidateCount);
    this.refillFailedAt = new Float64Array(p.candidateCount);
    const perCell: number[][] = Array.from({ length: p.units.length * 8 }, () => []);
    for (let c = 0; c < p.candidateCount; c++) if (!p.isFixed(c)) perCell[(p.cUnit[c] as number) * 8 + (p.cDay[c] as number)]!.push(c);
    this.cells = perCell.map((list) => Int32Array.from(list.sort((x, y) => (p.cValue[y] as number) - (p.cValue[x] as number) || x - y)));
    this.relatedUnits = p.units.map((u) => p.units.filter((v) => related(u, v)).map((v) => v.index));
    this.budget = options.workBudget ?? 60_000_000;
    this.effort = EFFORT[options.effort ?? (p.candidateCount > FAST_ABOVE_CANDIDATES ? 'fast' : 'thorough')];
    const flexibility = p.applicants.map((ap) =>
      ap.sections.reduce((n, s) => n + ((p.sections[s] as SectionInfo).candTo - (p.sections[s] as SectionInfo).candFrom), 0),
    );
    this.order = p.applicants
      .map((ap) => ap.index)
      .sort(
        (x, y) =>
          (p.applicants[y]!.weight - p.applicants[x]!.weight) ||
          ((flexibility[x] as number) - (flexibility[y] as number)) ||
          (p.applicants[x]!.sequence - p.applicants[y]!.sequence),
      );
    let minUseful = Infinity;
    for (const s of p.sections) if (!s.excluded) minUseful = Math.min(minUseful, s.request.minDurationMinutes);
    this.minUseful = Number.isFinite(minUseful) ? minUseful : 60;
    this.typicalFree = p.units.map((u) =>
      u.supply.days.map((patterns) => {
        let best = patterns[0];
        for (const q of patterns) if (best === undefined || q.weeks.length > best.weeks.length) best = q;
        return (best?.free ?? []).map((f) => ({ from: f.from, to: f.to }));
      }),
    );
  }

  run(): Assignment {
    const { a, p } = this;
    for (const f of p.fixed) a.award(f.candidate);
    this.fairnessRounds();
    this.repair();
    const rounds = this.effort.rounds;
    for (let r = 0; r < rounds; r++) {
      if (this.work >= this.budget) break;
      this.fairnessRepair();
      let improved = this.upgradePass();
      improved = this.ejectionPass() || improved;
      improved = this.refillPass() || improved;
      improved = this.fairnessRounds() || improved;
      if (!improved) break;
    }
    this.repair();
    if (this.effort.recreate > 0) {
      this.recreatePass(this.effort.recreate);
      this.repair();
    }
    a.designateFirsts();
    return a;
  }

  /**
   * Ruin and recreate: empty one weekday of one group of related units (a
   * hall and its sections, say), refill it greedily with a little seeded
   * noise on the values, put displaced sections elsewhere where they fit, and
   * keep the result if the objective rose and fairness holds. Deterministic:
   * the noise comes from a fixed-seed generator.
   */
  private recreatePass(iterations: number): void {
    const { a, p } = this;
    const groups = this.unitGroups();
    const regions: [number[], number][] = [];
    for (const g of groups) for (let day = 1; day <= 7; day++) if (g.some((u) => (this.cells[u * 8 + day] as Int32Array).length > 0)) regions.push([g, day]);
    if (regions.length === 0) return;
    let seed = 0x9e3779b9 ^ p.candidateCount;
    const rand = (): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let it = 0; it < iterations && this.work < this.budget; it++) {
      const [units, day] = regions[Math.floor(rand() * regions.length)] as [number[], number];
      const mark = a.mark();
      const before = a.objective;
      const removed: number[] = [];
      for (const u of units) {
        for (const c of this.cells[u * 8 + day] as Int32Array) if (a.awarded[c] && !p.isFixed(c)) removed.push(c);
      }
      const lost = new Set(removed.map((c) => a.applicantOf(c)));
      for (const c of removed) a.unaward(c);
      const noise = 0.15 * rand();
      for (let guard = 0; guard < 64; guard++) {
        let best = -1;
        let bestScore = 0;
        for (const u of units) {
          for (const d of this.cells[u * 8 + day] as Int32Array) {
            this.work++;
            const score = (p.cValue[d] as number) * (1 + noise * (rand() - 0.5));
            if (score <= bestScore || a.awarded[d] || !a.canTake(d) || a.occ.firstClash(d) >= 0) continue;
            best = d;
            bestScore = score;
          }
        }
        if (best < 0) break;
        a.award(best);
      }
      for (const c of removed) {
        const section = a.sectionOf(c);
        if (!this.remaining(section.index)) continue;
        for (let d = section.candFrom; d < section.candTo; d++) {
          this.work++;
          if (!a.awarded[d] && a.feasible(d)) {
            a.award(d);
            break;
          }
        }
      }
      let fair = a.objective > before + EPS;
      if (fair && p.criteria.fairness.firstSlotBeforeSecond) {
        for (const applicant of lost) if ((a.count[applicant] as number) === 0 && !this.blockedByFirsts(applicant)) fair = false;
        // Applicants that were already without a slot may have lost the first slots that blocked them.
        for (let k = 0; fair && k < p.applicants.length; k++) if ((a.count[k] as number) === 0 && !lost.has(k) && !this.blockedByFirsts(k)) fair = false;
      }
      if (fair) a.commit(mark);
      else {
        a.rollback(mark);
        a.commit(mark);
      }
    }
  }

  /** Connected groups of related units (a hall with its sections; a room on its own). */
  private unitGroups(): number[][] {
    const seen = new Set<number>();
    const groups: number[][] = [];
    for (const u of this.p.units) {
      if (seen.has(u.index)) continue;
      const group: number[] = [];
      const stack = [u.index];
      seen.add(u.index);
      while (stack.length > 0) {
        const x = stack.pop() as number;
        group.push(x);
        for (const y of this.relatedUnits[x] as number[]) {
          if (!seen.has(y)) {
            stack.push(y);
            seen.add(y);
          }
        }
      }
      groups.push(group);
    }
    return groups;
  }

  repairOnly(): void {
    this.repair();
    this.a.designateFirsts();
  }

  /**
   * Destroy and repair around one slot: take it away, refill the time it held
   * (on its unit and every related one) with the most valuable slots of
   * sections that still want one or can grow there, then put its section
   * elsewhere if it fits. Kept when the objective rises and fairness holds.
   * This finds what moving one slot at a time cannot, e.g. that a whole hall
   * given to one team is worth less than its three sections given to three.
   */
  private refillPass(): boolean {
    const { a, p } = this;
    let improved = false;
    for (const b of a.chosen()) {
      if (this.work >= this.budget) break;
      if (!a.awarded[b] || p.isFixed(b)) continue;
      const signature = a.occ.signature(b) + 1;
      if (this.refillFailedAt[b] === signature) continue;
      if (this.dropAndRefill(b)) improved = true;
      else this.refillFailedAt[b] = signature;
    }
    return improved;
  }

  private dropAndRefill(b: number): boolean {
    const { a, p } = this;
    const mark = a.mark();
    const before = a.objective;
    const holder = a.applicantOf(b);
    const section = a.sectionOf(b);
    const day = p.cDay[b] as number;
    const from = (p.cStart[b] as number) - p.maxBuffer;
    const to = (p.cEnd[b] as number) + p.maxBuffer;
    const unit = p.cUnit[b] as number;
    a.unaward(b);
    const placed: number[] = [];
    for (let guard = 0; guard < 8; guard++) {
      let best = -1;
      let bestGain = EPS;
      let bestReplaces = -1;
      for (const u of this.relatedUnits[unit] as number[]) {
        const cell = this.cells[u * 8 + day] as Int32Array;
        for (let k = 0; k < cell.length; k++) {
          const d = cell[k] as number;
          const vd = p.cValue[d] as number;
          if (vd <= bestGain) break;
          this.work++;
          if (a.awarded[d] || (p.cEnd[d] as number) <= from || (p.cStart[d] as number) >= to) continue;
          const s = p.cSection[d] as number;
          if (s === section.index) continue;
          const own = a.bySection[s] as number[];
          let sameDay = -1;
          for (const x of own) if (p.cDay[x] === day) sameDay = x;
          if (sameDay < 0) {
            if (own.length < (p.sections[s] as SectionInfo).wished && a.canTake(d) && a.occ.firstClash(d) < 0) {
              best = d;
              bestGain = vd;
              bestReplaces = -1;
            }
          } else if (!p.isFixed(sameDay) && vd - (p.cValue[sameDay] as number) > bestGain && a.canTake(d, sameDay) && a.occ.firstClash(d, sameDay) < 0) {
            best = d;
            bestGain = vd - (p.cValue[sameDay] as number);
            bestReplaces = sameDay;
          }
        }
      }
      if (best < 0) break;
      if (bestReplaces >= 0) a.replace(bestReplaces, best);
      else a.award(best);
      placed.push(best);
    }
    // The displaced section takes its best free slot elsewhere, if any.
    if ((a.bySection[section.index] as number[]).length < section.wished) {
      for (let d = section.candFrom; d < section.candTo; d++) {
        if ((p.cValue[d] as number) <= 0) break;
        this.work++;
        if (d !== b && !a.awarded[d] && a.feasible(d)) {
          a.award(d);
          break;
        }
      }
    }
    let fair = (a.count[holder] as number) > 0 || !p.criteria.fairness.firstSlotBeforeSecond;
    if (!fair && a.objective > before + EPS) {
      // The holder is left without a slot: fair only if someone's first slot
      // blocks each of its candidates. Newly placed slots can take over their
      // applicants' first-slot role where the old first is not needed.
      for (const n of placed) if (a.awarded[n] && a.first[n] === 0 && this.canDemote(a.firstOf[a.applicantOf(n)] as number)) a.switchFirst(n);
      fair = this.blockedByFirsts(holder);
    }
    if (fair && a.objective > before + EPS) {
      a.commit(mark);
      return true;
    }
    a.rollback(mark);
    a.commit(mark);
    return false;
  }

  /**
   * Whether first slot `f` may stop being its applicant's first: no candidate
   * of an applicant without slots relies on it as its only firm blocker.
   */
  private canDemote(f: number): boolean {
    const { a, p } = this;
    if (f < 0) return true;
    const day = p.cDay[f] as number;
    const from = (p.cStart[f] as number) - p.maxBuffer - 1440;
    const to = (p.cEnd[f] as number) + p.maxBuffer;
    for (const u of this.relatedUnits[p.cUnit[f] as number] as number[]) {
      const cell = this.cells[u * 8 + day] as Int32Array;
      for (let k = 0; k < cell.length; k++) {
        const d = cell[k] as number;
        this.work++;
        if ((p.cStart[d] as number) >= to || (p.cEnd[d] as number) <= from + 1440) continue;
        if ((a.count[a.applicantOf(d)] as number) > 0 || !p.clash(d, f) || !a.canTake(d)) continue;
        const n = a.occ.clashesUpTo(d, 64, this.wide);
        let other = false;
        for (let j = 0; j < n && !other; j++) {
          const x = this.wide[j] as number;
          other = x !== f && a.isFirmBlocker(x);
        }
        if (!other) return false;
      }
    }
    return true;
  }

  /** Whether every candidate of an applicant without slots is blocked by someone's first (or a locked) slot. */
  private blockedByFirsts(applicant: number): boolean {
    const { a, p } = this;
    for (const s of p.applicants[applicant]!.sections) {
      const section = p.sections[s] as SectionInfo;
      for (let c = section.candFrom; c < section.candTo; c++) {
        if (!a.canTake(c)) continue;
        const n = a.occ.clashesUpTo(c, 64, this.wide);
        let firm = false;
        for (let k = 0; k < n && !firm; k++) firm = a.isFirmBlocker(this.wide[k] as number);
        if (!firm) return false;
      }
    }
    return true;
  }

  private remaining(s: number): boolean {
    const section = this.p.sections[s] as SectionInfo;
    return !section.excluded && (this.a.bySection[s] as number[]).length < section.wished;
  }

  /** Leftover minutes too short to use, left and right of `c` on its unit, if placed. */
  private waste(c: number): number {
    const p = this.p;
    const u = p.cUnit[c] as number;
    const day = p.cDay[c] as number;
    const s = p.cStart[c] as number;
    const e = p.cEnd[c] as number;
    const { left, right } = this.a.occ.neighbours(c);
    let spanFrom = 0;
    let spanTo = 1440;
    for (const f of this.typicalFree[u]?.[day - 1] ?? []) {
      if (f.from <= s && e <= f.to) {
        spanFrom = f.from;
        spanTo = f.to;
        break;
      }
    }
    const l = s - Math.max(left, spanFrom);
    const r = Math.min(right, spanTo) - e;
    const wl = l > 0 && l < this.minUseful ? l : 0;
    const wr = r > 0 && r < this.minUseful ? r : 0;
    // Leftovers too short for anyone first; then prefer starting flush with what is before.
    return (wl + wr) * 4 + (l > 0 ? 1 : 0);
  }

  /** The applicant's best feasible next slot, among its sections with the fewest slots so far; -1 if none. */
  private bestFor(applicant: number): number {
    const { a, p } = this;
    const sections = p.applicants[applicant]!.sections.filter((s) => this.remaining(s));
    if (sections.length === 0) return -1;
    const fewest = Math.min(...sections.map((s) => (a.bySection[s] as number[]).length));
    let best = -1;
    let bestValue = -Infinity;
    let bestWaste = Infinity;
    for (const s of sections) {
      if ((a.bySection[s] as number[]).length !== fewest) continue;
      const section = p.sections[s] as SectionInfo;
      let ties = 0;
      for (let c = section.candFrom; c < section.candTo; c++) {
        const v = p.cValue[c] as number;
        if (v < bestValue - EPS) break;
        if (!a.feasible(c)) continue;
        const w = this.waste(c);
        if (v > bestValue + EPS || w < bestWaste) {
          best = c;
          bestValue = Math.max(bestValue, v);
          bestWaste = w;
        }
        if (w === 0 || ++ties > 48) break;
      }
    }
    return best;
  }

  /** Round k gives every applicant with k-1 slots its k-th, highest priority first. Returns whether anything was awarded. */
  private fairnessRounds(): boolean {
    const { a, p } = this;
    let any = false;
    const maxLevel = p.applicants.reduce((m, ap) => Math.max(m, ap.wished), 0);
    for (let level = 1; level <= maxLevel; level++) {
      let progress = false;
      for (const applicant of this.order) {
        const n = a.count[applicant] as number;
        if (n >= level || n < level - 1) continue;
        const c = this.bestFor(applicant);
        if (c >= 0) {
          a.award(c);
          progress = true;
          any = true;
        }
      }
      if (!progress && level > 1) {
        // Nobody could take a slot at this level; higher levels may still be
        // open to applicants that already hold more (e.g. locked slots).
        let more = false;
        for (const applicant of this.order) if ((a.count[applicant] as number) >= level) more = true;
        if (!more) break;
      }
    }
    return any;
  }

  /**
   * Replace a slot by a strictly better one of the same section (longer,
   * better window or unit), moving up to three other slots out of its way.
   */
  private upgradePass(): boolean {
    const { a, p } = this;
    let improved = false;
    for (const c of a.chosen()) {
      if (this.work >= this.budget) break;
      if (p.isFixed(c) || !a.awarded[c]) continue;
      const section = a.sectionOf(c);
      const v = p.cValue[c] as number;
      let tried = 0;
      for (let d = section.candFrom; d < section.candTo && tried < 24; d++) {
        if ((p.cValue[d] as number) <= v + EPS) break;
        this.work++;
        if (d === c || a.awarded[d] || !a.canTake(d, c)) continue;
        const n = a.occ.clashesUpTo(d, 4, this.buf);
        const clashes: number[] = [];
        for (let k = 0; k < n; k++) if (this.buf[k] !== c) clashes.push(this.buf[k] as number);
        if (clashes.length === 0) {
          a.replace(c, d);
          improved = true;
          break;
        }
        if (clashes.length > 3 || clashes.some((b) => p.isFixed(b))) continue;
        const signature = a.occ.signature(d) + 1;
        if (this.failedAt[d] === signature) continue;
        tried++;
        if (this.insertByMoving(d, [...clashes], c)) {
          improved = true;
          break;
        }
        this.failedAt[d] = signature;
      }
    }
    return improved;
  }

  /**
   * An unmet wish takes a slot held by up to three other slots, which move to
   * other slots of their own sections (recursively, one level deep, when
   * their new place is held by one more slot); or the holder of a single
   * blocking slot gives it up when the exchange is worth more and fairness
   * allows. Applied only when the objective rises.
   */
  private ejectionPass(): boolean {
    const { a, p } = this;
    const limit = this.effort.ejectionCandidates;
    let improved = false;
    // Applicants without a slot first (the fairness rule), then by priority.
    const sections = p.sections
      .filter((s) => this.remaining(s.index))
      .sort(
        (x, y) =>
          Math.min(1, a.count[x.applicant] as number) - Math.min(1, a.count[y.applicant] as number) ||
          y.weight - x.weight ||
          (a.count[x.applicant] as number) - (a.count[y.applicant] as number) ||
          x.index - y.index,
      );
    const failedSets = new Set<string>();
    for (const section of sections) {
      if (this.work >= this.budget) break;
      let examined = 0;
      failedSets.clear();
      for (let c = section.candFrom; c < section.candTo && examined < limit; c++) {
        if (!this.remaining(section.index)) break;
        this.work++;
        if (a.awarded[c] || !a.canTake(c)) continue;
        const maxB = this.effort.maxBlockers;
        const n = a.occ.clashesUpTo(c, maxB, this.buf);
        if (n === 0) {
          a.award(c);
          improved = true;
          continue;
        }
        if (n > maxB) continue;
        const clashes = Array.from(this.buf.subarray(0, n));
        if (clashes.some((b) => p.isFixed(b))) continue;
        const signature = a.occ.signature(c) + 1;
        if (this.failedAt[c] === signature) continue;
        // The same holders already refused to move for a more valuable slot of this section: skip.
        const setKey = clashes.join(',');
        if (failedSets.has(setKey)) continue;
        examined++;
        if (this.insertByMoving(c, clashes)) {
          improved = true;
          continue;
        }
        this.failedAt[c] = signature;
        failedSets.add(setKey);
        // Or swap: the holder of a single blocking slot gives it up, if that is worth it and fair.
        if (clashes.length !== 1) continue;
        const b = clashes[0] as number;
        const holder = a.applicantOf(b);
        if (holder === section.applicant || (p.cValue[c] as number) <= (p.cValue[b] as number) + EPS) continue;
        if ((a.count[holder] as number) === 1 && (a.count[section.applicant] as number) > 0) continue;
        a.unaward(b);
        a.award(c);
        improved = true;
      }
    }
    return improved;
  }

  /**
   * Awards `c` (in place of `replacing`, a slot of the same section, if given)
   * after moving each of `blockers` to another slot of its own section, or
   * dropping it when its holder keeps another slot; keeps the result only if
   * the objective rises.
   */
  private insertByMoving(c: number, blockers: number[], replacing = -1): boolean {
    const { a } = this;
    const mark = a.mark();
    const before = a.objective;
    const inheritsFirst = replacing >= 0 && a.first[replacing] === 1;
    if (replacing >= 0) a.unaward(replacing, inheritsFirst);
    const firsts = blockers.map((b) => a.first[b] === 1);
    for (const b of blockers) a.unaward(b, a.first[b] === 1);
    a.award(c, inheritsFirst || undefined);
    this.trial++;
    this.protect(c);
    let ok = true;
    for (let k = 0; k < blockers.length && ok; k++) {
      const b = blockers[k] as number;
      // What b's new place must be worth for the whole move to still gain.
      const floor = before - a.objective - this.restValue(blockers, k);
      if (this.relocate(b, firsts[k] as boolean, 1, floor)) continue;
      // Dropping is fair only while its holder keeps a slot (with a first among them).
      const holder = a.applicantOf(b);
      ok = holder !== a.applicantOf(c) && (a.count[holder] as number) > 0;
      if (ok && firsts[k] && a.firstOf[holder] === -1) a.setFirst(holder, a.bestAwardOf(holder));
    }
    if (ok && a.objective > before + EPS) {
      a.commit(mark);
      return true;
    }
    a.rollback(mark);
    a.commit(mark);
    return false;
  }

  /** The most the blockers after the k-th can add back by moving (their current values). */
  private restValue(blockers: number[], k: number): number {
    let v = 0;
    for (let j = k + 1; j < blockers.length; j++) v += this.p.cValue[blockers[j] as number] as number;
    return v;
  }

  /**
   * Places section(b) somewhere else (b itself is no longer awarded): its most
   * valuable free candidate worth more than `floor`, or, `depth` permitting,
   * one held by a single other slot that in turn moves.
   */
  private relocate(b: number, wasFirst: boolean, depth: number, floor: number): boolean {
    const { a, p } = this;
    const section = a.sectionOf(b);
    let scanned = 0;
    let looked = 0;
    let tried = 0;
    const buf = this.depthBuffers[depth] as Int32Array;
    for (let d = section.candFrom; d < section.candTo && scanned < this.effort.relocateScan && looked < 2 * this.effort.relocateScan; d++) {
      const vd = p.cValue[d] as number;
      if (vd <= floor + EPS) break;
      looked++;
      this.work++;
      if (a.awarded[d] || !a.canTake(d)) continue;
      scanned++;
      const n = depth === 0 || tried >= this.effort.relocateTries ? (a.occ.firstClash(d) < 0 ? 0 : 2) : a.occ.clashesUpTo(d, 1, buf);
      if (n === 0) {
        a.award(d, wasFirst || undefined);
        this.protect(d);
        return true;
      }
      if (n !== 1) continue;
      const b2 = buf[0] as number;
      if (this.isProtected(b2) || p.isFixed(b2)) continue;
      tried++;
      const mark = a.mark();
      const first2 = a.first[b2] === 1;
      a.unaward(b2, first2);
      a.award(d, wasFirst || undefined);
      this.protect(d);
      if (this.relocate(b2, first2, depth - 1, floor - vd + (p.cValue[b2] as number))) return true;
      this.protectedStamp[d] = 0;
      a.rollback(mark);
    }
    return false;
  }

  private protect(c: number): void {
    this.protectedStamp[c] = this.trial;
  }

  private isProtected(c: number): boolean {
    return this.protectedStamp[c] === this.trial;
  }

  /**
   * First-slot rule: an applicant without a slot, whose candidate is blocked
   * only by other applicants' additional slots (not by anyone's first slot or
   * a locked one), takes it and those additional slots go.
   */
  private fairnessRepair(): boolean {
    const { a, p } = this;
    if (!p.criteria.fairness.firstSlotBeforeSecond) return false;
    let changed = false;
    for (const applicant of this.order) {
      if ((a.count[applicant] as number) > 0) continue;
      let best = -1;
      let bestNet = -Infinity;
      let bestClashes: number[] = [];
      for (const s of p.applicants[applicant]!.sections) {
        const section = p.sections[s] as SectionInfo;
        for (let c = section.candFrom; c < section.candTo; c++) {
          if (!a.canTake(c)) continue;
          const clashes = a.occ.clashes(c, this.scratch);
          if (clashes.some((b) => a.isFirmBlocker(b))) continue;
          const net = (p.cValue[c] as number) - clashes.reduce((m, b) => m + (p.cValue[b] as number), 0);
          if (net > bestNet) {
            best = c;
            bestNet = net;
            bestClashes = [...clashes];
          }
        }
      }
      if (best < 0) continue;
      for (const b of bestClashes) a.unaward(b);
      a.award(best, true);
      changed = true;
    }
    return changed;
  }

  /**
   * Priority rule: a section with an unmet wish takes a slot it wants from a
   * lower-priority section when that slot is the only thing in the way, the
   * exchange loses no objective, and no applicant is left without a slot for
   * another's additional one.
   */
  private priorityRepair(): boolean {
    const { a, p } = this;
    let changed = false;
    let minWeight = Infinity;
    for (const c of a.chosen()) minWeight = Math.min(minWeight, a.sectionOf(c).weight);
    const sections = p.sections.filter((s) => this.remaining(s.index) && s.weight > minWeight).sort((x, y) => y.weight - x.weight || x.index - y.index);
    for (const section of sections) {
      for (let c = section.candFrom; c < section.candTo; c++) {
        if (!this.remaining(section.index)) break;
        if (a.awarded[c] || !a.canTake(c)) continue;
        if (a.occ.clashesUpTo(c, 1, this.buf) !== 1) continue;
        const b = this.buf[0] as number;
        if (p.isFixed(b)) continue;
        const holder = a.applicantOf(b);
        if (holder === section.applicant) continue;
        if (a.sectionOf(b).weight >= section.weight) continue;
        if ((p.cValue[c] as number) < (p.cValue[b] as number) - EPS) continue;
        if ((a.count[holder] as number) === 1 && (a.count[section.applicant] as number) > 0) continue;
        a.unaward(b);
        a.award(c);
        changed = true;
      }
    }
    return changed;
  }

  private repair(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      let changed = this.fairnessRepair();
      changed = this.priorityRepair() || changed;
      changed = this.fairnessRounds() || changed;
      if (!changed) return;
    }
    throw new Error('allocation repair did not settle (bug: a repair step does not raise the potential)');
  }
}
