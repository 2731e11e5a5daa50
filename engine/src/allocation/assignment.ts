/**
 * A working allocation: which candidates are awarded, with the bookkeeping the
 * rules need (per-section weekdays, per-applicant counts and unit minutes,
 * each applicant's *first* slot for the fairness rule). Every solver and
 * checker goes through it, so "feasible" means one thing everywhere.
 */
import type { Problem, SectionInfo } from './model.js';
import { Occupancy } from './occupancy.js';

const AWARD = 0;
const UNAWARD = 1;
const SWITCH = 2;

export class Assignment {
  readonly occ: Occupancy;
  readonly awarded: Uint8Array;
  /** 1 for each applicant's designated first slot (see README, "Fairness"). */
  readonly first: Uint8Array;
  readonly bySection: number[][];
  readonly count: Int32Array;
  readonly firstOf: Int32Array;
  /** Minutes per week each applicant holds on each unit (applicant x unit). */
  private readonly unitMinutes: Int32Array;
  objective = 0;
  /**
   * Undo log while a trial move runs: per entry a kind (award, unaward,
   * first-slot switch) and its arguments.
   */
  private journal: number[] | undefined;
  private journalArg: number[] = [];
  private journalArg2: number[] = [];

  constructor(readonly p: Problem) {
    this.occ = new Occupancy(p);
    this.awarded = new Uint8Array(p.candidateCount);
    this.first = new Uint8Array(p.candidateCount);
    this.bySection = p.sections.map(() => []);
    this.count = new Int32Array(p.applicants.length);
    this.firstOf = new Int32Array(p.applicants.length).fill(-1);
    this.unitMinutes = new Int32Array(p.applicants.length * p.units.length);
  }

  static of(p: Problem, chosen: Iterable<number>, firsts?: Iterable<number>): Assignment {
    const a = new Assignment(p);
    const firstSet = firsts === undefined ? undefined : new Set(firsts);
    for (const c of chosen) a.award(c, firstSet === undefined ? undefined : firstSet.has(c));
    if (firstSet === undefined) a.designateFirsts();
    return a;
  }

  applicantOf(c: number): number {
    return (this.p.sections[this.p.cSection[c] as number] as SectionInfo).applicant;
  }

  sectionOf(c: number): SectionInfo {
    return this.p.sections[this.p.cSection[c] as number] as SectionInfo;
  }

  private minutesKey(applicant: number, unit: number): number {
    return applicant * this.p.units.length + unit;
  }

  minutesOn(applicant: number, unit: number): number {
    return this.unitMinutes[this.minutesKey(applicant, unit)] as number;
  }

  /**
   * The section's own rules for taking `c`, conflicts aside: fewer slots than
   * wished, none yet on that weekday, and the applicant's share cap on the
   * unit. `replacing` is an awarded slot of the same section that `c` would
   * replace.
   */
  canTake(c: number, replacing = -1): boolean {
    const p = this.p;
    // Staff locked it: their decision stands.
    if (p.isFixed(c)) return true;
    const s = p.cSection[c] as number;
    const section = p.sections[s] as SectionInfo;
    const awards = this.bySection[s] as number[];
    const replacingOwn = replacing >= 0 && p.cSection[replacing] === s;
    if (awards.length - (replacingOwn ? 1 : 0) >= section.wished) return false;
    const day = p.cDay[c];
    for (const a of awards) if (a !== replacing && p.cDay[a] === day) return false;
    const u = p.cUnit[c] as number;
    let minutes = this.minutesOn(section.applicant, u) + (p.cEnd[c] as number) - (p.cStart[c] as number);
    if (replacing >= 0 && p.cUnit[replacing] === u && this.applicantOf(replacing) === section.applicant) {
      minutes -= (p.cEnd[replacing] as number) - (p.cStart[replacing] as number);
    }
    return minutes <= (p.units[u] as { capMinutes: number }).capMinutes;
  }

  /** Own rules and no clash with any awarded slot other than `ignore`/`ignore2`. */
  feasible(c: number, ignore = -1, ignore2 = -1): boolean {
    return this.awarded[c] === 0 && this.canTake(c, ignore) && this.occ.firstClash(c, ignore, ignore2) < 0;
  }

  /** Starts (or nests) a trial: everything until `rollback(mark)` can be undone. */
  mark(): number {
    this.journal ??= [];
    return this.journal.length;
  }

  /** Undoes every change since `mark`. */
  rollback(mark: number): void {
    const journal = this.journal;
    if (journal === undefined) return;
    while (journal.length > mark) {
      const kind = journal.pop() as number;
      const arg = this.journalArg.pop() as number;
      const arg2 = this.journalArg2.pop() as number;
      this.journal = undefined;
      if (kind === AWARD) this.unaward(arg);
      else if (kind === UNAWARD) this.award(arg, arg2 === 1);
      else if (arg2 >= 0) this.setFirst(arg, arg2);
      else {
        const current = this.firstOf[arg] as number;
        if (current >= 0) this.first[current] = 0;
        this.firstOf[arg] = -1;
      }
      this.journal = journal;
    }
  }

  /** Ends the outermost trial, keeping its changes. */
  commit(mark: number): void {
    if (mark === 0) {
      this.journal = undefined;
      this.journalArg = [];
      this.journalArg2 = [];
    }
  }

  private log(kind: number, arg: number, arg2: number): void {
    if (this.journal === undefined) return;
    this.journal.push(kind);
    this.journalArg.push(arg);
    this.journalArg2.push(arg2);
  }

  /** Makes `c` its applicant's first slot, undoably (a re-designation, nothing is awarded or taken). */
  switchFirst(c: number): void {
    const applicant = this.applicantOf(c);
    this.log(SWITCH, applicant, this.firstOf[applicant] as number);
    this.setFirst(applicant, c);
  }

  award(c: number, asFirst?: boolean): void {
    if (this.awarded[c]) throw new Error(`candidate ${c} is already awarded`);
    this.log(AWARD, c, 0);
    const p = this.p;
    const s = p.cSection[c] as number;
    const applicant = this.applicantOf(c);
    this.awarded[c] = 1;
    (this.bySection[s] as number[]).push(c);
    this.count[applicant] = (this.count[applicant] as number) + 1;
    const key = this.minutesKey(applicant, p.cUnit[c] as number);
    this.unitMinutes[key] = (this.unitMinutes[key] as number) + (p.cEnd[c] as number) - (p.cStart[c] as number);
    this.occ.add(c);
    this.objective += p.cValue[c] as number;
    if (asFirst ?? this.firstOf[applicant] === -1) this.setFirst(applicant, c);
  }

  /** `vacateFirst`: the caller re-fills the first-slot role itself (a move), so no other slot takes it. */
  unaward(c: number, vacateFirst = false): void {
    if (!this.awarded[c]) throw new Error(`candidate ${c} is not awarded`);
    this.log(UNAWARD, c, this.first[c] as number);
    const p = this.p;
    const s = p.cSection[c] as number;
    const applicant = this.applicantOf(c);
    this.awarded[c] = 0;
    const list = this.bySection[s] as number[];
    list.splice(list.indexOf(c), 1);
    this.count[applicant] = (this.count[applicant] as number) - 1;
    const key = this.minutesKey(applicant, p.cUnit[c] as number);
    this.unitMinutes[key] = (this.unitMinutes[key] as number) - ((p.cEnd[c] as number) - (p.cStart[c] as number));
    this.occ.remove(c);
    this.objective -= p.cValue[c] as number;
    if (this.first[c]) {
      this.first[c] = 0;
      this.firstOf[applicant] = -1;
      // Another of the applicant's slots, if any, becomes its first.
      const next = vacateFirst ? -1 : this.bestAwardOf(applicant);
      if (next >= 0) this.setFirst(applicant, next);
    }
  }

  /** Replaces awarded `c` by `d` of the same applicant; `d` inherits the first-slot role. */
  replace(c: number, d: number): void {
    const wasFirst = this.first[c] === 1;
    this.unaward(c, wasFirst);
    this.award(d, wasFirst || undefined);
  }

  setFirst(applicant: number, c: number): void {
    const old = this.firstOf[applicant] as number;
    if (old >= 0) this.first[old] = 0;
    this.firstOf[applicant] = c;
    this.first[c] = 1;
  }

  /** The applicant's highest-value awarded slot, or -1. */
  bestAwardOf(applicant: number): number {
    let best = -1;
    for (const s of (this.p.applicants[applicant] as { sections: number[] }).sections) {
      for (const c of this.bySection[s] as number[]) {
        if (best < 0 || (this.p.cValue[c] as number) > (this.p.cValue[best] as number)) best = c;
      }
    }
    return best;
  }

  /** Gives every served applicant a first slot (its best) where it has none. */
  designateFirsts(): void {
    for (let a = 0; a < this.p.applicants.length; a++) {
      if (this.firstOf[a] === -1 && (this.count[a] as number) > 0) this.setFirst(a, this.bestAwardOf(a));
    }
  }

  /** A blocker counts for the fairness rule if it is someone's first slot or a staff-locked one. */
  isFirmBlocker(c: number): boolean {
    return this.first[c] === 1 || this.p.isFixed(c);
  }

  chosen(): number[] {
    const out: number[] = [];
    for (const list of this.bySection) out.push(...list);
    return out.sort((a, b) => a - b);
  }

  served(): number {
    let n = 0;
    for (let a = 0; a < this.count.length; a++) if ((this.count[a] as number) > 0) n++;
    return n;
  }
}
