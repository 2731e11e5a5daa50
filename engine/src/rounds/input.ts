/**
 * From a round's state to the allocator's input and back: received
 * applications become section requests, locked allocations become fixed
 * ones, declined sections are left out; a proposal's slots become the
 * round's allocation records. Pure.
 */
import type { AllocationInput, ApplicationRequest, FixedAllocation, SectionRequest } from '../allocation/model.js';
import type { ProposedSlot, SectionExplanation } from '../allocation/explain.js';
import type { UnitSupply } from '../allocation/supply.js';
import type { Allocation, Application, SectionResult } from './schemas.js';
import { minutesOf } from './schemas.js';
import type { RoundState } from './state.js';

export function sectionRequests(application: Application): SectionRequest[] {
  return application.sections.map((s) => ({
    sectionId: s.sectionId,
    name: s.name,
    wishedPerWeek: s.wishedPerWeek,
    minDurationMinutes: s.minDurationMinutes,
    maxDurationMinutes: s.maxDurationMinutes,
    period: s.period,
    unitOptions: s.unitOptions,
    timeWindows: s.timeWindows,
    previousSlots: s.previousSlots,
  }));
}

export function applicationRequests(state: RoundState): ApplicationRequest[] {
  const out: ApplicationRequest[] = [];
  for (const record of state.applications.values()) {
    if (record.status !== 'received') continue;
    const a = record.application;
    out.push({
      applicationId: a.applicationId,
      customerId: a.applicant.customerId,
      priorityCategoryId: a.priorityCategoryId,
      sequence: record.sequence,
      sections: sectionRequests(a),
    });
  }
  return out;
}

export const fixedOf = (a: Allocation): FixedAllocation => ({
  allocationId: a.allocationId,
  sectionId: a.sectionId,
  unitId: a.unitId,
  weekday: a.weekday,
  startMinute: minutesOf(a.startTime),
  endMinute: minutesOf(a.endTime),
});

/** The allocator's input for a (re-)run: locked allocations stay, the rest is allocated anew. */
export function allocationInput(state: RoundState, units: readonly UnitSupply[]): AllocationInput {
  const round = state.round;
  if (round === undefined) throw new Error('allocationInput: no round');
  return {
    season: round.season,
    criteria: round.criteria,
    units,
    applications: applicationRequests(state),
    fixed: [...state.allocations.values()].filter((a) => a.locked).map(fixedOf),
    excludedSectionIds: [...state.declined.keys()],
  };
}

/** A proposal's slots as allocation records; `newId` names the ones the allocator placed. */
export function toAllocations(slots: readonly ProposedSlot[], newId: () => string, current: ReadonlyMap<string, Allocation>): Allocation[] {
  return slots.map((s) => {
    const kept = s.lockedAllocationId === undefined ? undefined : current.get(s.lockedAllocationId);
    return {
      allocationId: s.lockedAllocationId ?? newId(),
      applicationId: s.applicationId,
      sectionId: s.sectionId,
      customerId: s.customerId,
      unitId: s.unitId,
      weekday: s.weekday,
      startTime: s.startTime,
      endTime: s.endTime,
      locked: s.lockedAllocationId !== undefined,
      source: kept?.source ?? 'allocator',
      level: s.level,
      window: s.window,
      unitRank: s.unitRank,
      continuity: s.continuity,
      usableWeeks: s.usableWeeks,
      weeks: s.weeks,
      value: s.value,
      notes: [...s.notes],
    };
  });
}

export function toSectionResults(sections: readonly SectionExplanation[], state: RoundState): SectionResult[] {
  return sections.map((s) => ({
    ...s,
    notes: s.status === 'declined' ? [{ code: 'DECLINED', message: `Declined by booking staff: ${state.declined.get(s.sectionId) ?? ''}`.trim() }] : [...s.notes],
  }));
}
