/**
 * Why each application got what it got: per section, the slots awarded (with
 * the criteria that shaped each) and, for every shortfall, the reason and the
 * competitors holding the time it wanted. Computed from the final allocation
 * alone, so it explains a staff-adjusted or exact proposal just as well.
 */
import { formatWallMinutes } from '../calendar/index.js';
import type { Assignment } from './assignment.js';
import { FLAG_CONTINUITY, FLAG_FIXED, FLAG_OUTSIDE_WINDOWS, FLAG_PRIMARY, type Problem, type SectionInfo } from './model.js';

export const REASON_CODES = [
  'FIRST_SLOT',
  'ADDITIONAL_SLOT',
  'LOCKED_BY_STAFF',
  'CONTINUITY',
  'SHORTER_THAN_ASKED',
  'SECONDARY_WINDOW',
  'OUTSIDE_WINDOWS',
  'LOWER_RANKED_UNIT',
  'PARTLY_UNUSABLE',
  'NO_SUITABLE_SLOT',
  'TAKEN_BY_HIGHER_PRIORITY',
  'TAKEN_BY_FIRST_SLOT',
  'TAKEN_BY_EQUAL_PRIORITY',
  'KEPT_BY_LOWER_PRIORITY',
  'TAKEN_BY_LOCKED',
  'SHARE_CAP',
  'WEEKDAYS_USED',
  'DECLINED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface SlotRef {
  readonly unitId: string;
  readonly weekday: number;
  readonly startTime: string;
  readonly endTime: string;
}

export interface Competitor {
  readonly applicationId: string;
  readonly sectionId: string;
  readonly priorityCategoryId: string;
  /** 1 = that applicant's first slot. */
  readonly level: number;
  readonly locked: boolean;
  readonly slot: SlotRef;
}

export interface ExplanationNote {
  readonly code: ReasonCode;
  readonly message: string;
  /** The slot the note is about (the one wanted, or the one awarded). */
  readonly slot?: SlotRef;
  readonly competitors?: Competitor[];
}

export interface ProposedSlot {
  readonly applicationId: string;
  readonly sectionId: string;
  readonly customerId: string;
  readonly unitId: string;
  readonly weekday: number;
  readonly startTime: string;
  readonly endTime: string;
  readonly durationMinutes: number;
  /** 1 = the applicant's first slot (fairness round 1), 2.. additional ones. */
  readonly level: number;
  readonly window: 'primary' | 'secondary' | 'outside';
  /** 1 = the applicant's first-choice unit. */
  readonly unitRank: number;
  readonly continuity: boolean;
  readonly usableWeeks: number;
  readonly weeks: number;
  /** This slot's share of the objective. */
  readonly value: number;
  /** Kept from a staff lock (its allocation id), not chosen by the allocator. */
  readonly lockedAllocationId?: string;
  readonly notes: readonly ExplanationNote[];
}

export interface SectionExplanation {
  readonly applicationId: string;
  readonly sectionId: string;
  readonly status: 'allocated' | 'partial' | 'unallocated' | 'declined';
  readonly wished: number;
  readonly awarded: number;
  /** wished x maximum duration, per week. */
  readonly requestedMinutes: number;
  readonly awardedMinutes: number;
  readonly notes: readonly ExplanationNote[];
}

const WEEKDAY = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export const slotRef = (p: Problem, c: number): SlotRef => ({
  unitId: p.units[p.cUnit[c] as number]!.supply.unitId,
  weekday: p.cDay[c] as number,
  startTime: formatWallMinutes(p.cStart[c] as number),
  endTime: formatWallMinutes(p.cEnd[c] as number),
});

const show = (s: SlotRef, p?: Problem): string => {
  const name = p?.units[p.unitIndex.get(s.unitId) ?? -1]?.supply.name ?? s.unitId;
  return `${WEEKDAY[s.weekday]} ${s.startTime}-${s.endTime} at ${name}`;
};

/** Level of each awarded slot: the applicant's first is 1, the rest 2.. by value. */
export function levelsOf(a: Assignment): Map<number, number> {
  const p = a.p;
  const levels = new Map<number, number>();
  for (const applicant of p.applicants) {
    const mine: number[] = [];
    for (const s of applicant.sections) mine.push(...(a.bySection[s] as number[]));
    mine.sort((x, y) => (a.first[y] as number) - (a.first[x] as number) || (p.cValue[y] as number) - (p.cValue[x] as number) || x - y);
    mine.forEach((c, k) => levels.set(c, k + 1));
  }
  return levels;
}

export function explain(a: Assignment, lockedIds: ReadonlyMap<number, string> = new Map()): { slots: ProposedSlot[]; sections: SectionExplanation[] } {
  const p = a.p;
  const levels = levelsOf(a);
  const scratch: number[] = [];

  const competitor = (b: number): Competitor => {
    const section = a.sectionOf(b);
    return {
      applicationId: section.application.applicationId,
      sectionId: section.request.sectionId,
      priorityCategoryId: section.categoryId,
      level: levels.get(b) ?? 1,
      locked: p.isFixed(b),
      slot: slotRef(p, b),
    };
  };

  /** Why candidate `c` of `section` is not awarded, if it is blocked by other slots. */
  const blockedNote = (section: SectionInfo, c: number, ignore: number): ExplanationNote | undefined => {
    const clashes = a.occ.clashes(c, scratch).filter((b) => b !== ignore && a.sectionOf(b) !== section);
    if (clashes.length === 0) return undefined;
    const competitors = clashes.slice(0, 3).map(competitor);
    const wanted = slotRef(p, c);
    const served = (a.count[section.applicant] as number) > 0;
    const weights = clashes.map((b) => a.sectionOf(b).weight);
    let code: ReasonCode;
    let why: string;
    if (clashes.some((b) => p.isFixed(b))) {
      code = 'TAKEN_BY_LOCKED';
      why = 'booking staff locked that time for another applicant';
    } else if (weights.some((w) => w > section.weight)) {
      code = 'TAKEN_BY_HIGHER_PRIORITY';
      why = 'an applicant in a higher priority category holds it';
    } else if (served && clashes.some((b) => a.first[b] === 1)) {
      code = 'TAKEN_BY_FIRST_SLOT';
      why = "it is another applicant's first slot, and every applicant gets a first slot before anyone gets another";
    } else if (weights.some((w) => w === section.weight)) {
      code = 'TAKEN_BY_EQUAL_PRIORITY';
      why = 'an applicant in the same priority category holds it, and giving it to you instead would lower the total the criteria measure';
    } else {
      code = 'KEPT_BY_LOWER_PRIORITY';
      why =
        clashes.length > 1
          ? 'several applicants hold parts of it'
          : 'its holder keeps it: giving it to you would lower the total the criteria measure (your slot there would be worth less) or leave them with no slot at all';
    }
    return { code, message: `${show(wanted, p)} was not given: ${why}.`, slot: wanted, competitors };
  };

  const slots: ProposedSlot[] = [];
  const sections: SectionExplanation[] = [];
  for (const section of p.sections) {
    const base = {
      applicationId: section.application.applicationId,
      sectionId: section.request.sectionId,
      wished: section.wished,
      requestedMinutes: section.wished * section.request.maxDurationMinutes,
    };
    if (section.excluded) {
      sections.push({ ...base, status: 'declined', awarded: 0, awardedMinutes: 0, notes: [{ code: 'DECLINED', message: 'Booking staff declined this section.' }] });
      continue;
    }
    const awards = [...(a.bySection[section.index] as number[])].sort((x, y) => (p.cDay[x] as number) - (p.cDay[y] as number));
    for (const c of awards) {
      const flags = p.cFlags[c] as number;
      const notes: ExplanationNote[] = [];
      const level = levels.get(c) ?? 1;
      const ref = slotRef(p, c);
      if (flags & FLAG_FIXED) notes.push({ code: 'LOCKED_BY_STAFF', message: 'Booking staff locked this slot.', slot: ref });
      notes.push(
        level === 1
          ? { code: 'FIRST_SLOT', message: "This is the applicant's first slot, given in the first fairness round.", slot: ref }
          : { code: 'ADDITIONAL_SLOT', message: `This is the applicant's slot number ${level}, given after every applicant that could get a slot had one.`, slot: ref },
      );
      if (flags & FLAG_CONTINUITY) notes.push({ code: 'CONTINUITY', message: "Same unit, weekday and time as the applicant's slot last season.", slot: ref });
      const duration = (p.cEnd[c] as number) - (p.cStart[c] as number);
      if (!(flags & FLAG_FIXED)) {
        if (duration < section.request.maxDurationMinutes) notes.push(shorterNote(section, c, duration));
        if (!(flags & FLAG_PRIMARY)) notes.push(betterNote(section, c, (d) => ((p.cFlags[d] as number) & FLAG_PRIMARY) !== 0, 'SECONDARY_WINDOW', 'in a secondary window'));
        if ((p.cRank[c] as number) > 0) notes.push(betterNote(section, c, (d) => (p.cRank[d] as number) < (p.cRank[c] as number), 'LOWER_RANKED_UNIT', `on the applicant's choice number ${(p.cRank[c] as number) + 1}`));
      } else if (flags & FLAG_OUTSIDE_WINDOWS) {
        notes.push({ code: 'OUTSIDE_WINDOWS', message: "Outside the applicant's suitable times, as staff placed it.", slot: ref });
      }
      if ((p.cUsable[c] as number) < (p.cWeeks[c] as number)) {
        notes.push({
          code: 'PARTLY_UNUSABLE',
          message: `Usable on ${p.cUsable[c]} of ${p.cWeeks[c]} weeks; the other occurrences fall on holidays, closures or existing reservations and will be listed as rejected occurrences.`,
          slot: ref,
        });
      }
      slots.push({
        applicationId: section.application.applicationId,
        sectionId: section.request.sectionId,
        customerId: p.applicants[section.applicant]!.customerId,
        ...ref,
        durationMinutes: duration,
        level,
        window: flags & FLAG_PRIMARY ? 'primary' : flags & FLAG_OUTSIDE_WINDOWS ? 'outside' : 'secondary',
        unitRank: (p.cRank[c] as number) + 1,
        continuity: (flags & FLAG_CONTINUITY) !== 0,
        usableWeeks: p.cUsable[c] as number,
        weeks: p.cWeeks[c] as number,
        value: p.cValue[c] as number,
        ...(lockedIds.has(c) ? { lockedAllocationId: lockedIds.get(c) as string } : {}),
        notes,
      });
    }

    const notes: ExplanationNote[] = [];
    if (awards.length < section.wished) notes.push(...shortfall(section));
    const awardedMinutes = awards.reduce((m, c) => m + (p.cEnd[c] as number) - (p.cStart[c] as number), 0);
    sections.push({
      ...base,
      status: awards.length === 0 ? 'unallocated' : awards.length < section.wished ? 'partial' : 'allocated',
      awarded: awards.length,
      awardedMinutes,
      notes,
    });
  }
  return { slots, sections };

  function shorterNote(section: SectionInfo, c: number, duration: number): ExplanationNote {
    const ref = slotRef(p, c);
    // A longer slot of the same section on the same unit and day that contains this one.
    for (let d = section.candFrom; d < section.candTo; d++) {
      if (p.cUnit[d] !== p.cUnit[c] || p.cDay[d] !== p.cDay[c]) continue;
      if ((p.cEnd[d] as number) - (p.cStart[d] as number) <= duration) continue;
      if ((p.cStart[d] as number) > (p.cStart[c] as number) || (p.cEnd[d] as number) < (p.cEnd[c] as number)) continue;
      const note = blockedNote(section, d, c);
      if (note !== undefined) {
        return { ...note, code: 'SHORTER_THAN_ASKED', message: `${duration} of the ${section.request.maxDurationMinutes} minutes asked. ${note.message}`, slot: ref };
      }
    }
    return {
      code: 'SHORTER_THAN_ASKED',
      message: `${duration} of the ${section.request.maxDurationMinutes} minutes asked: a longer slot does not fit the unit's free time within the applicant's window here.`,
      slot: ref,
    };
  }

  function betterNote(section: SectionInfo, c: number, better: (d: number) => boolean, code: ReasonCode, where: string): ExplanationNote {
    const ref = slotRef(p, c);
    for (let d = section.candFrom; d < section.candTo; d++) {
      if (!better(d) || a.awarded[d]) continue;
      const note = blockedNote(section, d, c);
      if (note !== undefined) return { ...note, code, message: `Given ${where}. ${note.message}`, slot: ref };
    }
    return { code, message: `Given ${where}: no better slot is free on enough weeks.`, slot: ref };
  }

  function shortfall(section: SectionInfo): ExplanationNote[] {
    const missing = section.wished - (a.bySection[section.index] as number[]).length;
    if (section.candTo === section.candFrom) {
      return [
        {
          code: 'NO_SUITABLE_SLOT',
          message: `No slot of ${section.request.minDurationMinutes}-${section.request.maxDurationMinutes} minutes in the suitable times fits the asked units' opening hours and existing reservations on enough weeks (${Math.round(p.criteria.minUsableWeekShare * 100)} %).`,
        },
      ];
    }
    const notes: ExplanationNote[] = [];
    const seen = new Set<string>();
    let capped = false;
    let daysUsed = false;
    for (let c = section.candFrom; c < section.candTo && notes.length < missing + 2; c++) {
      if (a.awarded[c]) continue;
      if (!a.canTake(c)) {
        const sameDay = (a.bySection[section.index] as number[]).some((x) => p.cDay[x] === p.cDay[c]);
        if (sameDay) daysUsed = true;
        else capped = true;
        continue;
      }
      const note = blockedNote(section, c, -1);
      if (note === undefined) continue;
      const key = (note.competitors ?? []).map((x) => x.sectionId).join(',') + note.code;
      if (seen.has(key)) continue;
      seen.add(key);
      notes.push(note);
    }
    if (capped) {
      notes.push({
        code: 'SHARE_CAP',
        message: `The applicant already holds the most one applicant may of some asked units (${Math.round(p.criteria.fairness.maxApplicantShareOfUnit * 100)} % of their weekly hours).`,
      });
    }
    if (daysUsed && notes.length === 0) {
      notes.push({ code: 'WEEKDAYS_USED', message: 'Every weekday with suitable times already has a slot; slots of one section go on different weekdays.' });
    }
    if (notes.length === 0) {
      notes.push({ code: 'NO_SUITABLE_SLOT', message: 'No further slot fits the suitable times on enough weeks.' });
    }
    return notes;
  }
}
