/**
 * The rules an allocation must satisfy, checked from scratch: used by tests,
 * by the service before it records a staff move, and as a guard on solver
 * output. Each violation names the rule and the slots involved.
 *
 * Definitions (README "Rules"):
 * - clash: two awarded slots on the same weekday whose units share a timeline
 *   (hierarchy and resources) and whose times, with buffers, overlap;
 * - own rules: at most `wished` slots per section, one per weekday, within
 *   the section's windows and durations, each usable on the criteria's share
 *   of weeks, and the applicant's share cap per unit;
 * - fairness (first slot before second): an applicant with no slot has no
 *   candidate that only other applicants' additional slots block;
 * - priority: no section with an unmet wish has a candidate whose only
 *   obstacle is one slot of a lower-priority applicant, such that taking it
 *   loses no objective and leaves nobody without a slot while the taker
 *   already has one.
 */
import type { Assignment } from './assignment.js';
import { FLAG_FIXED, wallMinutes, type Problem, type SectionInfo } from './model.js';

export type RuleViolation =
  | { rule: 'clash'; slots: [number, number] }
  | { rule: 'count' | 'weekday'; section: string }
  | { rule: 'window' | 'duration' | 'usable-weeks'; slot: number }
  | { rule: 'share-cap'; customerId: string; unitId: string; minutes: number; cap: number }
  | { rule: 'fairness'; customerId: string; candidate: number }
  | { rule: 'priority'; slot: number; wantedBy: string; candidate: number };

const EPS = 1e-9;

export function ownRuleViolations(p: Problem, chosen: readonly number[]): RuleViolation[] {
  const out: RuleViolation[] = [];
  const sorted = [...chosen].sort((x, y) => (p.cDay[x] as number) - (p.cDay[y] as number) || (p.cStart[x] as number) - (p.cStart[y] as number));
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const x = sorted[i] as number;
      const y = sorted[j] as number;
      if (p.cDay[x] !== p.cDay[y]) break;
      if (p.clash(x, y)) out.push({ rule: 'clash', slots: [x, y] });
    }
  }
  const bySection = new Map<number, number[]>();
  const minutes = new Map<string, number>();
  for (const c of chosen) {
    const s = p.cSection[c] as number;
    bySection.set(s, [...(bySection.get(s) ?? []), c]);
    const section = p.sections[s] as SectionInfo;
    if (p.isFixed(c)) continue;
    const start = p.cStart[c] as number;
    const end = p.cEnd[c] as number;
    const inWindow = section.request.timeWindows.some(
      (w) => w.weekday === p.cDay[c] && wallMinutes(w.from) <= start && end <= wallMinutes(w.to),
    ) || windowsCover(p, section, p.cDay[c] as number, start, end);
    if (!inWindow) out.push({ rule: 'window', slot: c });
    if (end - start < section.request.minDurationMinutes || end - start > section.request.maxDurationMinutes) out.push({ rule: 'duration', slot: c });
    const need = Math.ceil(p.criteria.minUsableWeekShare * (p.cWeeks[c] as number) - 1e-9);
    if ((p.cUsable[c] as number) < need || (p.cUsable[c] as number) === 0) out.push({ rule: 'usable-weeks', slot: c });
    const unit = p.units[p.cUnit[c] as number]!;
    const key = `${section.applicant}|${unit.index}`;
    minutes.set(key, (minutes.get(key) ?? 0) + end - start);
  }
  for (const [s, list] of bySection) {
    const section = p.sections[s] as SectionInfo;
    const free = list.filter((c) => !p.isFixed(c));
    if (list.length > section.wished && free.length > 0) out.push({ rule: 'count', section: section.request.sectionId });
    const days = new Set(list.map((c) => p.cDay[c]));
    if (days.size !== list.length && free.length > 0) out.push({ rule: 'weekday', section: section.request.sectionId });
  }
  for (const [key, m] of minutes) {
    const [applicant, unit] = key.split('|').map(Number) as [number, number];
    const cap = p.units[unit]!.capMinutes;
    if (m > cap) out.push({ rule: 'share-cap', customerId: p.applicants[applicant]!.customerId, unitId: p.units[unit]!.supply.unitId, minutes: m, cap });
  }
  return out;
}

/** Windows of one weekday merged: a slot may span a primary and an adjoining secondary window. */
function windowsCover(p: Problem, section: SectionInfo, weekday: number, start: number, end: number): boolean {
  return p.windowsOf(section, weekday).all.some((s) => s.from <= start && end <= s.to);
}

export function fairnessViolations(a: Assignment): RuleViolation[] {
  const p = a.p;
  if (!p.criteria.fairness.firstSlotBeforeSecond) return [];
  const out: RuleViolation[] = [];
  const scratch: number[] = [];
  for (const applicant of p.applicants) {
    if ((a.count[applicant.index] as number) > 0) continue;
    search: for (const s of applicant.sections) {
      const section = p.sections[s] as SectionInfo;
      for (let c = section.candFrom; c < section.candTo; c++) {
        if (!a.canTake(c)) continue;
        const clashes = a.occ.clashes(c, scratch);
        if (!clashes.some((b) => a.isFirmBlocker(b))) {
          out.push({ rule: 'fairness', customerId: applicant.customerId, candidate: c });
          break search;
        }
      }
    }
  }
  return out;
}

export function priorityViolations(a: Assignment): RuleViolation[] {
  const p = a.p;
  const out: RuleViolation[] = [];
  const scratch: number[] = [];
  for (const section of p.sections) {
    if (section.excluded || (a.bySection[section.index] as number[]).length >= section.wished) continue;
    for (let c = section.candFrom; c < section.candTo; c++) {
      if (a.awarded[c] || !a.canTake(c)) continue;
      const clashes = a.occ.clashes(c, scratch);
      if (clashes.length !== 1) continue;
      const b = clashes[0] as number;
      if ((p.cFlags[b] as number) & FLAG_FIXED) continue;
      const holder = a.applicantOf(b);
      if (holder === section.applicant) continue;
      if (a.sectionOf(b).weight >= section.weight) continue;
      if ((p.cValue[c] as number) < (p.cValue[b] as number) - EPS) continue;
      if ((a.count[holder] as number) === 1 && (a.count[section.applicant] as number) > 0) continue;
      out.push({ rule: 'priority', slot: b, wantedBy: section.request.sectionId, candidate: c });
    }
  }
  return out;
}

/** Every rule at once. */
export function violations(a: Assignment): RuleViolation[] {
  return [...ownRuleViolations(a.p, a.chosen()), ...fairnessViolations(a), ...priorityViolations(a)];
}
