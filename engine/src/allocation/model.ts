/**
 * The allocation problem as the allocator sees it: what was asked (sections),
 * what can be offered (unit supply), and every *candidate slot* that could
 * answer a section, each with its value under the round's criteria.
 *
 * A candidate is one weekly wall-clock slot: a section, a unit from its ranked
 * options, a weekday, a start aligned to the unit's start interval and a
 * duration between the section's maximum and minimum. It lies inside one of
 * the section's suitable windows on that weekday and is usable (open, free of
 * existing bookings, aligned) on at least the criteria's share of the weeks.
 *
 * Candidates are stored as parallel typed arrays: a Helsinki-scale round has
 * over a million of them, and objects would cost more than the search.
 */
import { dayNumberOf, wallMinutesOf, type LocalDate } from '../calendar/index.js';
import { rankFactor, type Criteria } from './criteria.js';
import { dateOfWeek, seasonWeeks, type Season, type UnitSupply } from './supply.js';

export type WindowPriority = 'primary' | 'secondary';

export interface TimeWindow {
  /** 1 = Monday .. 7 = Sunday. */
  readonly weekday: number;
  /** 'HH:mm', Helsinki wall time. */
  readonly from: string;
  readonly to: string;
  readonly priority: WindowPriority;
}

export interface PreviousSlot {
  readonly unitId: string;
  readonly weekday: number;
  readonly from: string;
  readonly to: string;
}

export interface SectionRequest {
  readonly sectionId: string;
  readonly name?: string;
  /** Slots wished per week, each on a different weekday. */
  readonly wishedPerWeek: number;
  readonly minDurationMinutes: number;
  readonly maxDurationMinutes: number;
  /** Within the season; default the whole season. */
  readonly period?: { readonly fromDate: LocalDate; readonly toDate: LocalDate } | undefined;
  /** Ranked: the first is the most wanted. */
  readonly unitOptions: readonly string[];
  readonly timeWindows: readonly TimeWindow[];
  /** Last season's slots, for the continuity bonus. */
  readonly previousSlots?: readonly PreviousSlot[] | undefined;
}

export interface ApplicationRequest {
  readonly applicationId: string;
  /** The applicant: fairness and share caps count per customer, however many applications they send. */
  readonly customerId: string;
  readonly priorityCategoryId: string;
  /** Submission order (first come first): the baseline uses it, the allocator only to break exact ties. */
  readonly sequence: number;
  readonly sections: readonly SectionRequest[];
}

/** An allocation staff locked: kept as it is, whatever the criteria say. */
export interface FixedAllocation {
  readonly allocationId: string;
  readonly sectionId: string;
  readonly unitId: string;
  readonly weekday: number;
  readonly startMinute: number;
  readonly endMinute: number;
}

export interface AllocationInput {
  readonly season: Season;
  readonly criteria: Criteria;
  readonly units: readonly UnitSupply[];
  readonly applications: readonly ApplicationRequest[];
  readonly fixed?: readonly FixedAllocation[];
  /** Sections staff declined: not allocated at all. */
  readonly excludedSectionIds?: readonly string[];
  /** Only place the fixed allocations (to check and describe a staff move), no candidate slots. */
  readonly fixedOnly?: boolean;
}

export const FLAG_PRIMARY = 1;
export const FLAG_CONTINUITY = 2;
export const FLAG_FIXED = 4;
export const FLAG_OUTSIDE_WINDOWS = 8;

export interface UnitInfo {
  readonly index: number;
  readonly supply: UnitSupply;
  readonly check: Int32Array;
  readonly insert: Int32Array;
  readonly before: number;
  readonly after: number;
  readonly interval: number;
  /** Most minutes per week one applicant may hold on this unit. */
  readonly capMinutes: number;
}

export interface SectionInfo {
  readonly index: number;
  readonly request: SectionRequest;
  readonly application: ApplicationRequest;
  readonly applicant: number;
  readonly categoryId: string;
  readonly weight: number;
  readonly wished: number;
  /** Candidate index range [candFrom, candTo), sorted by value, best first. */
  candFrom: number;
  candTo: number;
  readonly excluded: boolean;
  /** Weekdays (1..7) the section has windows on. */
  readonly weekdays: readonly number[];
}

export interface ApplicantInfo {
  readonly index: number;
  readonly customerId: string;
  /** The highest category weight among the applicant's applications. */
  readonly weight: number;
  readonly sections: number[];
  wished: number;
  /** Deterministic tie-break: earliest submission first. */
  readonly sequence: number;
}

const DAY = 1440;

interface Span {
  from: number;
  to: number;
}

const mergeSpans = (spans: Span[]): Span[] => {
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else out.push({ ...s });
  }
  return out;
};

const within = (spans: readonly Span[], from: number, to: number): boolean => spans.some((s) => s.from <= from && to <= s.to);

const popcount32 = (x: number): number => {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
};

/** Week sets as two 32-bit words: a season is at most 64 weeks. */
export const MAX_SEASON_WEEKS = 64;

interface Mask {
  lo: number;
  hi: number;
}

const maskOf = (weeks: readonly number[]): Mask => {
  let lo = 0;
  let hi = 0;
  for (const w of weeks) {
    if (w < 32) lo |= 1 << w;
    else hi |= 1 << (w - 32);
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
};

export const wallMinutes = (hhmm: string): number => {
  const m = wallMinutesOf(hhmm);
  if (m === undefined) throw new RangeError(`not a wall time: '${hhmm}'`);
  return m;
};

interface PatternMask {
  readonly free: readonly { from: number; to: number; anchor: number }[];
  readonly mask: Mask;
}

/** The complete, indexed problem. Immutable once built. */
export class Problem {
  readonly criteria: Criteria;
  readonly season: Season;
  readonly weeks: number;
  readonly units: UnitInfo[] = [];
  readonly unitIndex = new Map<string, number>();
  readonly keyCount: number;
  readonly sections: SectionInfo[] = [];
  readonly sectionIndex = new Map<string, number>();
  readonly applicants: ApplicantInfo[] = [];
  /** Candidate arrays (struct of arrays). */
  cSection!: Int32Array;
  cUnit!: Int32Array;
  cDay!: Uint8Array;
  cStart!: Int16Array;
  cEnd!: Int16Array;
  cValue!: Float64Array;
  cUsable!: Uint8Array;
  cWeeks!: Uint8Array;
  cRank!: Uint8Array;
  cFlags!: Uint8Array;
  /** Candidate index of each fixed allocation, and their ids. */
  readonly fixed: { candidate: number; allocationId: string }[] = [];
  /** The largest buffer any unit keeps, in minutes (bounds conflict scans). */
  readonly maxBuffer: number;
  private readonly patterns: PatternMask[][][] = [];

  constructor(readonly input: AllocationInput) {
    this.criteria = input.criteria;
    this.season = input.season;
    this.weeks = seasonWeeks(input.season);
    if (this.weeks > MAX_SEASON_WEEKS) throw new RangeError(`a season spans at most ${MAX_SEASON_WEEKS} weeks`);
    const keyIds = new Map<string, number>();
    const keyId = (k: string): number => {
      let id = keyIds.get(k);
      if (id === undefined) keyIds.set(k, (id = keyIds.size));
      return id;
    };
    const share = input.criteria.fairness.maxApplicantShareOfUnit;
    for (const supply of input.units) {
      const index = this.units.length;
      this.unitIndex.set(supply.unitId, index);
      this.units.push({
        index,
        supply,
        check: Int32Array.from(supply.checkKeys.map(keyId)),
        insert: Int32Array.from(supply.insertKeys.map(keyId)),
        before: supply.bufferBeforeMinutes,
        after: supply.bufferAfterMinutes,
        interval: supply.startIntervalMinutes,
        capMinutes: Math.floor(share * supply.weeklyOpenMinutes),
      });
      this.patterns.push(supply.days.map((patterns) => patterns.map((p) => ({ free: p.free, mask: maskOf(p.weeks) }))));
    }
    this.keyCount = keyIds.size;
    this.maxBuffer = this.units.reduce((m, u) => Math.max(m, u.before, u.after), 0);

    const weights = new Map(input.criteria.priorityCategories.map((c) => [c.categoryId, c.weight]));
    const excluded = new Set(input.excludedSectionIds ?? []);
    const applicantOf = new Map<string, ApplicantInfo>();
    const apps = [...input.applications].sort((a, b) => a.sequence - b.sequence);
    for (const app of apps) {
      const weight = weights.get(app.priorityCategoryId);
      if (weight === undefined) throw new RangeError(`application ${app.applicationId}: unknown priority category ${app.priorityCategoryId}`);
      let applicant = applicantOf.get(app.customerId);
      if (applicant === undefined) {
        applicant = { index: this.applicants.length, customerId: app.customerId, weight, sections: [], wished: 0, sequence: app.sequence };
        applicantOf.set(app.customerId, applicant);
        this.applicants.push(applicant);
      }
      if (weight > applicant.weight) (applicant as { weight: number }).weight = weight;
      for (const request of app.sections) {
        const index = this.sections.length;
        const isExcluded = excluded.has(request.sectionId);
        this.sections.push({
          index,
          request,
          application: app,
          applicant: applicant.index,
          categoryId: app.priorityCategoryId,
          weight,
          wished: request.wishedPerWeek,
          candFrom: 0,
          candTo: 0,
          excluded: isExcluded,
          weekdays: [...new Set(request.timeWindows.map((w) => w.weekday))].sort(),
        });
        this.sectionIndex.set(request.sectionId, index);
        if (!isExcluded) {
          applicant.sections.push(index);
          applicant.wished += request.wishedPerWeek;
        }
      }
    }
    this.generate();
  }

  get candidateCount(): number {
    return this.cSection.length;
  }

  /** Wall minutes of the section's suitable windows on a weekday: all of them merged, and the primary ones. */
  windowsOf(section: SectionInfo, weekday: number): { all: Span[]; primary: Span[] } {
    const ws = section.request.timeWindows.filter((w) => w.weekday === weekday);
    return {
      all: mergeSpans(ws.map((w) => ({ from: wallMinutes(w.from), to: wallMinutes(w.to) }))),
      primary: mergeSpans(ws.filter((w) => w.priority === 'primary').map((w) => ({ from: wallMinutes(w.from), to: wallMinutes(w.to) }))),
    };
  }

  /** Weeks (as a mask) in which the section wants a slot on `weekday`. */
  private sectionWeeks(section: SectionInfo, weekday: number): Mask {
    const period = section.request.period;
    const from = dayNumberOf(period?.fromDate ?? this.season.fromDate);
    const to = dayNumberOf(period?.toDate ?? this.season.toDate);
    const seasonFrom = dayNumberOf(this.season.fromDate);
    const seasonTo = dayNumberOf(this.season.toDate);
    const weeks: number[] = [];
    for (let w = 0; w < this.weeks; w++) {
      const n = dayNumberOf(dateOfWeek(this.season, w, weekday));
      if (n >= from && n <= to && n >= seasonFrom && n <= seasonTo) weeks.push(w);
    }
    return maskOf(weeks);
  }

  /** Weeks (as a mask) in which `unit` is open and free for [start, end) on `weekday`, start aligned to its interval. */
  usableMask(unit: number, weekday: number, start: number, end: number): Mask {
    const info = this.units[unit] as UnitInfo;
    let lo = 0;
    let hi = 0;
    for (const p of this.patterns[unit]?.[weekday - 1] ?? []) {
      for (const f of p.free) {
        if (f.from <= start && end <= f.to) {
          if ((((start - f.anchor) % DAY) + DAY) % DAY % info.interval === 0) {
            lo |= p.mask.lo;
            hi |= p.mask.hi;
          }
          break;
        }
      }
    }
    return { lo: lo >>> 0, hi: hi >>> 0 };
  }

  /** Value of a slot under the criteria; the objective sums it over awarded slots. */
  valueOf(section: SectionInfo, durationMinutes: number, flags: number, rank: number, usable: number, weeks: number): number {
    const c = this.criteria;
    const windowFactor = flags & FLAG_PRIMARY ? c.windowFactors.primary : c.windowFactors.secondary;
    const base = section.weight * (durationMinutes / 60) * windowFactor * rankFactor(c, rank) * (weeks > 0 ? usable / weeks : 0);
    return base + (flags & FLAG_CONTINUITY ? c.continuityBonus : 0);
  }

  private continues(section: SectionInfo, unitId: string, weekday: number, start: number, end: number): boolean {
    for (const p of section.request.previousSlots ?? []) {
      if (p.unitId !== unitId || p.weekday !== weekday) continue;
      const ps = wallMinutes(p.from);
      const pe = wallMinutes(p.to);
      const overlap = Math.min(end, pe) - Math.max(start, ps);
      if (overlap > 0 && overlap * 2 >= Math.min(end - start, pe - ps)) return true;
    }
    return false;
  }

  private durationsOf(section: SectionInfo): number[] {
    const { minDurationMinutes: min, maxDurationMinutes: max } = section.request;
    const out: number[] = [];
    for (let d = max; d > min; d -= this.criteria.durationStepMinutes) out.push(d);
    out.push(min);
    return out;
  }

  private generate(): void {
    const sec: number[] = [];
    const unit: number[] = [];
    const day: number[] = [];
    const start: number[] = [];
    const end: number[] = [];
    const value: number[] = [];
    const usable: number[] = [];
    const weeks: number[] = [];
    const rank: number[] = [];
    const flags: number[] = [];
    const minShare = this.criteria.minUsableWeekShare;
    const push = (s: number, u: number, d: number, a: number, b: number, v: number, us: number, wk: number, r: number, f: number) => {
      sec.push(s);
      unit.push(u);
      day.push(d);
      start.push(a);
      end.push(b);
      value.push(v);
      usable.push(us);
      weeks.push(wk);
      rank.push(r);
      flags.push(f);
    };

    const order: number[] = [];
    for (const section of this.sections) {
      const from = sec.length;
      if (!section.excluded && this.input.fixedOnly !== true) {
        const durations = this.durationsOf(section);
        const wantedByDay = new Map(section.weekdays.map((d) => [d, this.sectionWeeks(section, d)] as const));
        const windowsByDay = new Map(section.weekdays.map((d) => [d, this.windowsOf(section, d)] as const));
        section.request.unitOptions.forEach((unitId, r) => {
          const u = this.unitIndex.get(unitId);
          if (u === undefined) return;
          const info = this.units[u] as UnitInfo;
          for (const weekday of section.weekdays) {
            const patterns = this.patterns[u]?.[weekday - 1] ?? [];
            if (patterns.length === 0) continue;
            const wanted = wantedByDay.get(weekday) as Mask;
            const total = popcount32(wanted.lo) + popcount32(wanted.hi);
            if (total === 0) continue;
            const needed = Math.ceil(minShare * total - 1e-9);
            const residues = new Set<number>();
            for (const p of patterns) for (const f of p.free) residues.add(((f.anchor % info.interval) + info.interval) % info.interval);
            const { all, primary } = windowsByDay.get(weekday) as { all: Span[]; primary: Span[] };
            for (const span of all) {
              for (const d of durations) {
                if (d > info.capMinutes) continue;
                for (const residue of residues) {
                  const first = span.from + ((((residue - span.from) % info.interval) + info.interval) % info.interval);
                  for (let t = first; t + d <= span.to; t += info.interval) {
                    const m = this.usableMask(u, weekday, t, t + d);
                    const count = popcount32((m.lo & wanted.lo) >>> 0) + popcount32((m.hi & wanted.hi) >>> 0);
                    if (count < needed || count === 0) continue;
                    let f = within(primary, t, t + d) ? FLAG_PRIMARY : 0;
                    if (this.continues(section, unitId, weekday, t, t + d)) f |= FLAG_CONTINUITY;
                    push(section.index, u, weekday, t, t + d, this.valueOf(section, d, f, r, count, total), count, total, r, f);
                  }
                }
              }
            }
          }
        });
      }
      // Best first: value, then the higher-ranked unit, then the earlier start (deterministic).
      const idx = Array.from({ length: sec.length - from }, (_, k) => from + k);
      idx.sort(
        (a, b) =>
          (value[b] as number) - (value[a] as number) ||
          (rank[a] as number) - (rank[b] as number) ||
          (day[a] as number) - (day[b] as number) ||
          (start[a] as number) - (start[b] as number) ||
          (unit[a] as number) - (unit[b] as number),
      );
      section.candFrom = from;
      section.candTo = sec.length;
      for (const k of idx) order.push(k);
    }

    // Fixed allocations are candidates too (flagged), appended after the rest.
    const fixedStart = sec.length;
    for (const f of this.input.fixed ?? []) {
      const s = this.sectionIndex.get(f.sectionId);
      const u = this.unitIndex.get(f.unitId);
      if (s === undefined || u === undefined) throw new RangeError(`fixed allocation ${f.allocationId} names an unknown section or unit`);
      const section = this.sections[s] as SectionInfo;
      const wanted = this.sectionWeeks(section, f.weekday);
      const total = popcount32(wanted.lo) + popcount32(wanted.hi);
      const m = this.usableMask(u, f.weekday, f.startMinute, f.endMinute);
      const count = popcount32((m.lo & wanted.lo) >>> 0) + popcount32((m.hi & wanted.hi) >>> 0);
      const { all, primary } = this.windowsOf(section, f.weekday);
      let flags = FLAG_FIXED;
      if (within(primary, f.startMinute, f.endMinute)) flags |= FLAG_PRIMARY;
      else if (!within(all, f.startMinute, f.endMinute)) flags |= FLAG_OUTSIDE_WINDOWS;
      if (this.continues(section, f.unitId, f.weekday, f.startMinute, f.endMinute)) flags |= FLAG_CONTINUITY;
      const r0 = section.request.unitOptions.indexOf(f.unitId);
      const r = r0 < 0 ? section.request.unitOptions.length : r0;
      const d = f.endMinute - f.startMinute;
      this.fixed.push({ candidate: order.length + (sec.length - fixedStart), allocationId: f.allocationId });
      push(s, u, f.weekday, f.startMinute, f.endMinute, this.valueOf(section, d, flags, r, count, total), count, total, r, flags);
    }
    for (let k = fixedStart; k < sec.length; k++) order.push(k);

    const n = order.length;
    const pick = <A extends Int32Array | Uint8Array | Int16Array | Float64Array>(make: (n: number) => A, src: number[]): A => {
      const a = make(n);
      for (let k = 0; k < n; k++) a[k] = src[order[k] as number] as number;
      return a;
    };
    this.cSection = pick((k) => new Int32Array(k), sec);
    this.cUnit = pick((k) => new Int32Array(k), unit);
    this.cDay = pick((k) => new Uint8Array(k), day);
    this.cStart = pick((k) => new Int16Array(k), start);
    this.cEnd = pick((k) => new Int16Array(k), end);
    this.cValue = pick((k) => new Float64Array(k), value);
    this.cUsable = pick((k) => new Uint8Array(k), usable);
    this.cWeeks = pick((k) => new Uint8Array(k), weeks);
    this.cRank = pick((k) => new Uint8Array(k), rank);
    this.cFlags = pick((k) => new Uint8Array(k), flags);
  }

  isFixed(c: number): boolean {
    return ((this.cFlags[c] as number) & FLAG_FIXED) !== 0;
  }

  /** Whether two candidates' slots clash: same weekday, related timelines, and too close given both units' buffers. */
  clash(a: number, b: number): boolean {
    if (this.cDay[a] !== this.cDay[b]) return false;
    const ua = this.units[this.cUnit[a] as number] as UnitInfo;
    const ub = this.units[this.cUnit[b] as number] as UnitInfo;
    if (!timeClash(this.cStart[a] as number, this.cEnd[a] as number, ua, this.cStart[b] as number, this.cEnd[b] as number, ub)) return false;
    return related(ua, ub);
  }

  /** A readable label of a candidate, for explanations and errors. */
  describe(c: number): { unitId: string; weekday: number; startMinute: number; endMinute: number } {
    return {
      unitId: (this.units[this.cUnit[c] as number] as UnitInfo).supply.unitId,
      weekday: this.cDay[c] as number,
      startMinute: this.cStart[c] as number,
      endMinute: this.cEnd[c] as number,
    };
  }
}

/** The conflict index's buffer rule on wall minutes. */
export const timeClash = (sa: number, ea: number, ua: { before: number; after: number }, sb: number, eb: number, ub: { before: number; after: number }): boolean =>
  sa < eb + Math.max(ub.after, ua.before) && sb - Math.max(ub.before, ua.after) < ea;

/** Two units share a timeline: a space of one is, contains or lies in a space of the other, or they share a resource. */
export const related = (a: UnitInfo, b: UnitInfo): boolean => {
  if (a === b) return true;
  for (const k of a.check) for (const j of b.insert) if (k === j) return true;
  return false;
};

export const buildProblem = (input: AllocationInput): Problem => new Problem(input);
