/**
 * The round decider: one small function per command, each returning the
 * events to record or a refusal with a stable code. Lifecycle:
 *
 *   draft -> open -> closed -> allocating -> approved -> published
 *
 * Applications are taken while the round is open; the allocator's proposals,
 * staff adjustments (lock, move, add, remove, decline) and the approval
 * happen while it is allocating; approval records which series each
 * allocation becomes, and the series results follow as the engine books them.
 *
 * Pure: no I/O, no clock (meta.now), no randomness (ids come in the command).
 */
import { dayNumberOf, wallMinutesOf } from '../calendar/index.js';
import type { ErrorCode } from '../shared/errors.js';
import { fail, ok, type DomainError, type Result } from '../shared/result.js';
import { actorLabel, type Actor } from '../site/commands.js';
import { PROPOSAL_CHUNK, type RoundCommand, type RoundCommandOf, type RoundEvent } from './messages.js';
import type { Allocation, Application, RoundUnit, SeasonInput } from './schemas.js';
import { evolveRound, initialRoundState, type RoundState, type RoundStatus } from './state.js';

type Decision = Result<RoundEvent[]>;

const WEEKDAY = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const isStaff = (a: Actor): boolean => a.kind !== 'customer';

const staffOnly = (command: RoundCommand): Decision | undefined =>
  isStaff(command.meta.actor) ? undefined : fail('FORBIDDEN', 'Only booking staff can do this to a round.');

function inStatus(state: RoundState, allowed: readonly RoundStatus[], action: string): Decision | undefined {
  if (state.round === undefined) return fail('UNKNOWN_ROUND', 'This round does not exist.', { field: 'roundId' });
  if (allowed.includes(state.status)) return undefined;
  return fail('INVALID_STATE', `The round is ${state.status}; ${action} is possible only while it is ${allowed.join(' or ')}.`, {
    details: { status: state.status, allowed },
  });
}

function sameRound(state: RoundState, roundId: string): Decision | undefined {
  if (state.round !== undefined && state.round.roundId !== roundId) {
    return fail('WRONG_PARTITION', `This partition holds round ${state.round.roundId}, not ${roundId}.`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Application validation

export interface ValidationIssue {
  readonly code: ErrorCode;
  readonly field: string;
  readonly message: string;
}

const minutes = (hhmm: string): number => wallMinutesOf(hhmm) ?? 0;

/** Every problem with an application, in the order of the form. */
export function applicationIssues(state: RoundState, application: Application): ValidationIssue[] {
  const round = state.round;
  if (round === undefined) return [];
  const issues: ValidationIssue[] = [];
  const add = (code: ErrorCode, field: string, message: string) => issues.push({ code, field, message });
  if (!round.criteria.priorityCategories.some((c) => c.categoryId === application.priorityCategoryId)) {
    add(
      'UNKNOWN_PRIORITY_CATEGORY',
      'priorityCategoryId',
      `'${application.priorityCategoryId}' is not a priority category of this round; use one of ${round.criteria.priorityCategories.map((c) => c.categoryId).join(', ')}.`,
    );
  }
  const units = new Set(round.units.map((u) => u.unitId));
  const seen = new Set<string>();
  application.sections.forEach((s, k) => {
    const at = `sections[${k}]`;
    const owner = state.sectionOwner.get(s.sectionId);
    if (seen.has(s.sectionId) || (owner !== undefined && owner !== application.applicationId)) {
      add('ALREADY_EXISTS', `${at}.sectionId`, `Section id ${s.sectionId} is already used in this round; give each section its own id.`);
    }
    seen.add(s.sectionId);
    if (s.minDurationMinutes > s.maxDurationMinutes) {
      add('DURATION_OUT_OF_RANGE', `${at}.minDurationMinutes`, `The minimum duration (${s.minDurationMinutes} min) is longer than the maximum (${s.maxDurationMinutes} min).`);
    }
    const options = new Set<string>();
    s.unitOptions.forEach((u, j) => {
      if (!units.has(u)) add('UNIT_NOT_IN_ROUND', `${at}.unitOptions[${j}]`, `Unit ${u} is not offered in this round; choose among the round's units.`);
      if (options.has(u)) add('DUPLICATE_UNIT_OPTION', `${at}.unitOptions[${j}]`, `Unit ${u} is listed twice; list each unit once, most wanted first.`);
      options.add(u);
    });
    const byDay = new Map<number, [number, number][]>();
    s.timeWindows.forEach((w, j) => {
      const from = minutes(w.from);
      const to = minutes(w.to);
      if (from >= to) {
        add('INVALID_TIME_WINDOW', `${at}.timeWindows[${j}]`, `${WEEKDAY[w.weekday]} ${w.from}-${w.to} does not end after it starts.`);
        return;
      }
      const spans = byDay.get(w.weekday) ?? [];
      for (const [a, b] of spans) {
        if (from < b && a < to) add('INVALID_TIME_WINDOW', `${at}.timeWindows[${j}]`, `${WEEKDAY[w.weekday]} ${w.from}-${w.to} overlaps another suitable time that day; list each time once, as primary or secondary.`);
      }
      spans.push([from, to]);
      byDay.set(w.weekday, spans);
    });
    for (const [weekday, spans] of byDay) {
      // Adjoining windows (a primary 17-20 and a secondary 20-21) form one stretch.
      spans.sort((x, y) => x[0] - y[0]);
      let longest = 0;
      let [from, to] = spans[0] as [number, number];
      for (const [a, b] of spans.slice(1)) {
        if (a <= to) to = Math.max(to, b);
        else {
          longest = Math.max(longest, to - from);
          [from, to] = [a, b];
        }
      }
      longest = Math.max(longest, to - from);
      if (longest < s.minDurationMinutes) {
        add('WINDOW_TOO_SHORT', `${at}.timeWindows`, `On ${WEEKDAY[weekday]} the suitable time is at most ${longest} minutes, shorter than the minimum duration of ${s.minDurationMinutes}; widen it or remove that day.`);
      }
    }
    if (byDay.size < s.wishedPerWeek) {
      add('TOO_FEW_WEEKDAYS', `${at}.wishedPerWeek`, `${s.wishedPerWeek} slots a week go on ${s.wishedPerWeek} different weekdays, but suitable times are given for ${byDay.size}; add weekdays or ask for fewer slots.`);
    }
    if (s.period !== undefined) {
      const p = s.period;
      if (p.fromDate > p.toDate || p.fromDate < round.season.fromDate || p.toDate > round.season.toDate) {
        add('PERIOD_OUTSIDE_SEASON', `${at}.period`, `The period ${p.fromDate}..${p.toDate} must lie within the season ${round.season.fromDate}..${round.season.toDate} and not end before it starts.`);
      }
    }
    s.previousSlots.forEach((prev, j) => {
      if (minutes(prev.from) >= minutes(prev.to)) add('INVALID_TIME_WINDOW', `${at}.previousSlots[${j}]`, `Last season's slot ${prev.from}-${prev.to} does not end after it starts.`);
    });
  });
  return issues;
}

const refuse = (issues: ValidationIssue[]): Decision => {
  const first = issues[0] as ValidationIssue;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''}, listed in details.issues)` : '';
  return fail(first.code, `${first.message}${more}`, { field: first.field, details: { issues } });
};

// ---------------------------------------------------------------------------
// Round lifecycle

function seasonIssue(season: SeasonInput): Decision | undefined {
  if (dayNumberOf(season.toDate) - dayNumberOf(season.fromDate) < 6) {
    return fail('INVALID_SEASON', 'A season lasts at least a week.', { field: 'season.toDate' });
  }
  return undefined;
}

function unitsIssue(units: readonly RoundUnit[]): Decision | undefined {
  const seen = new Set<string>();
  for (const [k, u] of units.entries()) {
    if (seen.has(u.unitId)) return fail('DUPLICATE_UNIT_OPTION', `Unit ${u.unitId} is listed twice in the round.`, { field: `units[${k}]` });
    seen.add(u.unitId);
  }
  return undefined;
}

function createRound(c: RoundCommandOf<'CreateRound'>, state: RoundState): Decision {
  const refusal = staffOnly(c);
  if (refusal) return refusal;
  if (state.round !== undefined) return fail('ALREADY_EXISTS', `Round ${state.round.roundId} already exists.`, { field: 'roundId' });
  const problem = seasonIssue(c.data.season) ?? unitsIssue(c.data.units);
  if (problem) return problem;
  const { roundId, name, season, units, criteria, applicationsCloseAt } = c.data;
  return ok([
    {
      type: 'RoundCreated',
      data: { roundId, name, season, units, criteria, ...(applicationsCloseAt === undefined ? {} : { applicationsCloseAt }), by: actorLabel(c.meta.actor) },
    },
  ]);
}

function updateRound(c: RoundCommandOf<'UpdateRound'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['draft'], 'changing its season, units or criteria');
  if (refusal) return refusal;
  const round = state.round!;
  const d = c.data;
  const season = d.season ?? round.season;
  const units = d.units ?? round.units;
  const problem = seasonIssue(season) ?? unitsIssue(units);
  if (problem) return problem;
  const closeAt = d.applicationsCloseAt === null ? undefined : (d.applicationsCloseAt ?? round.applicationsCloseAt);
  return ok([
    {
      type: 'RoundUpdated',
      data: {
        roundId: round.roundId,
        name: d.name ?? round.name,
        season,
        units,
        criteria: d.criteria ?? round.criteria,
        ...(closeAt === undefined ? {} : { applicationsCloseAt: closeAt }),
        by: actorLabel(c.meta.actor),
      },
    },
  ]);
}

function transition(
  c: RoundCommand,
  state: RoundState,
  from: RoundStatus,
  type: 'RoundOpened' | 'RoundClosed' | 'AllocationStarted' | 'RoundPublished',
  action: string,
): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, [from], action);
  if (refusal) return refusal;
  return ok([{ type, data: { roundId: state.round!.roundId, by: actorLabel(c.meta.actor) } } as RoundEvent]);
}

// ---------------------------------------------------------------------------
// Applications

function applicationWindow(c: RoundCommand, state: RoundState): Decision | undefined {
  if (state.round === undefined) return fail('UNKNOWN_ROUND', 'This round does not exist.', { field: 'roundId' });
  if (state.status !== 'open') {
    return fail('ROUND_NOT_OPEN', `Applications are taken while the round is open; it is ${state.status}.`, { details: { status: state.status } });
  }
  const closeAt = state.round.applicationsCloseAt;
  if (closeAt !== undefined && c.meta.now >= Date.parse(closeAt)) {
    return fail('ROUND_NOT_OPEN', `The application period ended at ${closeAt}.`, { details: { closedAt: closeAt } });
  }
  return undefined;
}

function ownApplication(actor: Actor, application: Application): Decision | undefined {
  if (actor.kind === 'customer' && actor.customerId !== application.applicant.customerId) {
    return fail('FORBIDDEN', 'You can apply only for yourself; the applicant must be your own customer account.', { field: 'application.applicant.customerId' });
  }
  return undefined;
}

function submitApplication(c: RoundCommandOf<'SubmitApplication'>, state: RoundState): Decision {
  const application = c.data.application;
  const refusal = applicationWindow(c, state) ?? ownApplication(c.meta.actor, application);
  if (refusal) return refusal;
  if (state.applications.has(application.applicationId)) {
    return fail('ALREADY_EXISTS', `Application ${application.applicationId} already exists; amend it instead.`, { field: 'application.applicationId' });
  }
  const issues = applicationIssues(state, application);
  if (issues.length > 0) return refuse(issues);
  return ok([{ type: 'ApplicationSubmitted', data: { application, by: actorLabel(c.meta.actor) } }]);
}

function amendApplication(c: RoundCommandOf<'AmendApplication'>, state: RoundState): Decision {
  const application = c.data.application;
  const refusal = applicationWindow(c, state) ?? ownApplication(c.meta.actor, application);
  if (refusal) return refusal;
  const record = state.applications.get(application.applicationId);
  if (record === undefined || (c.meta.actor.kind === 'customer' && record.application.applicant.customerId !== c.meta.actor.customerId)) {
    return fail('UNKNOWN_APPLICATION', `Application ${application.applicationId} does not exist in this round.`, { field: 'application.applicationId' });
  }
  if (record.status === 'withdrawn') return fail('INVALID_STATE', 'The application was withdrawn; send a new one.');
  if (record.application.applicant.customerId !== application.applicant.customerId) {
    return fail('FORBIDDEN', 'An application cannot change hands; the applicant stays the same customer.', { field: 'application.applicant.customerId' });
  }
  const issues = applicationIssues(state, application);
  if (issues.length > 0) return refuse(issues);
  return ok([{ type: 'ApplicationAmended', data: { application, by: actorLabel(c.meta.actor) } }]);
}

function withdrawApplication(c: RoundCommandOf<'WithdrawApplication'>, state: RoundState): Decision {
  const refusal = inStatus(state, ['open', 'closed'], 'withdrawing an application');
  if (refusal) return refusal;
  const record = state.applications.get(c.data.applicationId);
  const actor = c.meta.actor;
  if (record === undefined || (actor.kind === 'customer' && record.application.applicant.customerId !== actor.customerId)) {
    return fail('UNKNOWN_APPLICATION', `Application ${c.data.applicationId} does not exist in this round.`, { field: 'applicationId' });
  }
  if (record.status === 'withdrawn') return fail('INVALID_STATE', 'The application is already withdrawn.');
  return ok([{ type: 'ApplicationWithdrawn', data: { applicationId: c.data.applicationId, reason: c.data.reason, by: actorLabel(actor) } }]);
}

// ---------------------------------------------------------------------------
// Proposals and adjustments

/** Checks one allocation against the round: known, received, not declined, a round unit, a sane time. */
function allocationProblem(state: RoundState, a: Allocation, field: string): DomainError | undefined {
  const applicationId = state.sectionOwner.get(a.sectionId);
  const record = applicationId === undefined ? undefined : state.applications.get(applicationId);
  if (record === undefined || record.status !== 'received' || applicationId !== a.applicationId) {
    return { code: 'UNKNOWN_SECTION', message: `Section ${a.sectionId} is not part of a received application ${a.applicationId} in this round.`, field };
  }
  if (record.application.applicant.customerId !== a.customerId) {
    return { code: 'VALIDATION_FAILED', message: `Allocation ${a.allocationId} names customer ${a.customerId}, but the application is from ${record.application.applicant.customerId}.`, field };
  }
  if (state.declined.has(a.sectionId)) {
    return { code: 'SECTION_DECLINED', message: `Section ${a.sectionId} was declined; reinstate it before allocating to it.`, field };
  }
  if (!state.round!.units.some((u) => u.unitId === a.unitId)) {
    return { code: 'UNIT_NOT_IN_ROUND', message: `Unit ${a.unitId} is not offered in this round.`, field };
  }
  if (minutes(a.startTime) >= minutes(a.endTime)) {
    return { code: 'INVALID_TIME_WINDOW', message: `${a.startTime}-${a.endTime} does not end after it starts.`, field };
  }
  return undefined;
}

/** Per section at most `wished` slots (locked ones aside) and one per weekday; no two slots overlapping on one unit. */
function setProblem(state: RoundState, allocations: readonly Allocation[]): DomainError | undefined {
  const bySection = new Map<string, Allocation[]>();
  for (const a of allocations) bySection.set(a.sectionId, [...(bySection.get(a.sectionId) ?? []), a]);
  for (const [sectionId, list] of bySection) {
    const applicationId = state.sectionOwner.get(sectionId) as string;
    const section = state.applications.get(applicationId)?.application.sections.find((s) => s.sectionId === sectionId);
    if (section === undefined) continue;
    if (list.length > section.wishedPerWeek && list.some((a) => !a.locked)) {
      return { code: 'SECTION_FULL', message: `Section ${sectionId} asked for ${section.wishedPerWeek} slots a week; it would get ${list.length}.`, details: { sectionId } };
    }
    const days = new Set<number>();
    for (const a of list) {
      if (days.has(a.weekday)) {
        return { code: 'SLOT_CONFLICT', message: `Section ${sectionId} would get two slots on ${WEEKDAY[a.weekday]}; a section's slots go on different weekdays.`, details: { sectionId } };
      }
      days.add(a.weekday);
    }
  }
  const byUnitDay = new Map<string, Allocation[]>();
  for (const a of allocations) byUnitDay.set(`${a.unitId}|${a.weekday}`, [...(byUnitDay.get(`${a.unitId}|${a.weekday}`) ?? []), a]);
  for (const list of byUnitDay.values()) {
    list.sort((x, y) => minutes(x.startTime) - minutes(y.startTime));
    for (let k = 1; k < list.length; k++) {
      const prev = list[k - 1] as Allocation;
      const cur = list[k] as Allocation;
      if (minutes(cur.startTime) < minutes(prev.endTime)) {
        return {
          code: 'SLOT_CONFLICT',
          message: `${WEEKDAY[cur.weekday]} ${cur.startTime}-${cur.endTime} overlaps ${prev.startTime}-${prev.endTime} (section ${prev.sectionId}) on unit ${cur.unitId}.`,
          details: { allocationIds: [prev.allocationId, cur.allocationId] },
        };
      }
    }
  }
  return undefined;
}

function recordProposal(c: RoundCommandOf<'RecordProposal'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['allocating'], 'recording a proposal');
  if (refusal) return refusal;
  const d = c.data;
  if (d.basedOn !== state.adjustments) {
    return fail('STALE_PROPOSAL', 'Staff changed the allocation while this proposal was computed; run the allocator again.', {
      details: { basedOn: d.basedOn, current: state.adjustments },
    });
  }
  if (state.proposals.some((p) => p.proposalId === d.proposalId)) return fail('ALREADY_EXISTS', `Proposal ${d.proposalId} already exists.`, { field: 'proposalId' });
  const ids = new Set<string>();
  for (const [k, a] of d.allocations.entries()) {
    if (ids.has(a.allocationId)) return fail('ALREADY_EXISTS', `Allocation id ${a.allocationId} appears twice.`, { field: `allocations[${k}].allocationId` });
    ids.add(a.allocationId);
    const problem = allocationProblem(state, a, `allocations[${k}]`);
    if (problem) return { ok: false, error: problem };
  }
  // Locked allocations are kept exactly as staff left them.
  for (const locked of state.allocations.values()) {
    if (!locked.locked) continue;
    const kept = d.allocations.find((a) => a.allocationId === locked.allocationId);
    if (kept === undefined || kept.unitId !== locked.unitId || kept.weekday !== locked.weekday || kept.startTime !== locked.startTime || kept.endTime !== locked.endTime || !kept.locked) {
      return fail('STALE_PROPOSAL', `The proposal does not keep locked allocation ${locked.allocationId} as it is; run the allocator again.`);
    }
  }
  const problem = setProblem(state, d.allocations);
  if (problem) return { ok: false, error: problem };
  const by = actorLabel(c.meta.actor);
  const events: RoundEvent[] = [{ type: 'ProposalRecorded', data: { proposalId: d.proposalId, basedOn: d.basedOn, metrics: d.metrics, by } }];
  for (let k = 0; k < d.allocations.length; k += PROPOSAL_CHUNK) {
    events.push({ type: 'ProposalAllocationsRecorded', data: { proposalId: d.proposalId, allocations: d.allocations.slice(k, k + PROPOSAL_CHUNK) } });
  }
  for (let k = 0; k < d.sections.length; k += PROPOSAL_CHUNK) {
    events.push({ type: 'ProposalSectionsRecorded', data: { proposalId: d.proposalId, sections: d.sections.slice(k, k + PROPOSAL_CHUNK) } });
  }
  return ok(events);
}

function existingAllocation(state: RoundState, allocationId: string): Decision | Allocation {
  const a = state.allocations.get(allocationId);
  if (a === undefined) return fail('UNKNOWN_ALLOCATION', `Allocation ${allocationId} is not in the current proposal.`, { field: 'allocationId' });
  return a;
}

function lockAllocation(c: RoundCommandOf<'LockAllocation'> | RoundCommandOf<'UnlockAllocation'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['allocating'], 'locking allocations');
  if (refusal) return refusal;
  const a = existingAllocation(state, c.data.allocationId);
  if ('ok' in a) return a;
  const lock = c.type === 'LockAllocation';
  if (a.locked === lock) return ok([]);
  return ok([{ type: lock ? 'AllocationLocked' : 'AllocationUnlocked', data: { allocationId: a.allocationId, by: actorLabel(c.meta.actor) } }]);
}

function moveAllocation(c: RoundCommandOf<'MoveAllocation'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['allocating'], 'moving allocations');
  if (refusal) return refusal;
  const moved = c.data.allocation;
  const current = existingAllocation(state, moved.allocationId);
  if ('ok' in current) return current;
  if (current.sectionId !== moved.sectionId || current.applicationId !== moved.applicationId || current.customerId !== moved.customerId) {
    return fail('VALIDATION_FAILED', 'A move changes the unit and time only, not whose slot it is.', { field: 'allocation.sectionId' });
  }
  const problem = allocationProblem(state, moved, 'allocation');
  if (problem) return { ok: false, error: problem };
  const next = { ...moved, locked: true, source: 'staff' as const };
  const clash = setProblem(state, [...[...state.allocations.values()].filter((a) => a.allocationId !== moved.allocationId), next]);
  if (clash) return { ok: false, error: clash };
  return ok([{ type: 'AllocationMoved', data: { allocation: next, by: actorLabel(c.meta.actor) } }]);
}

function addAllocation(c: RoundCommandOf<'AddAllocation'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['allocating'], 'adding allocations');
  if (refusal) return refusal;
  const added = { ...c.data.allocation, locked: true, source: 'staff' as const };
  if (state.allocations.has(added.allocationId)) return fail('ALREADY_EXISTS', `Allocation ${added.allocationId} already exists.`, { field: 'allocation.allocationId' });
  const problem = allocationProblem(state, added, 'allocation');
  if (problem) return { ok: false, error: problem };
  const all = [...state.allocations.values(), added];
  const section = state.applications.get(added.applicationId)?.application.sections.find((s) => s.sectionId === added.sectionId);
  if (section !== undefined && all.filter((a) => a.sectionId === added.sectionId).length > section.wishedPerWeek) {
    return fail('SECTION_FULL', `Section ${added.sectionId} already has the ${section.wishedPerWeek} slots a week it asked for; move or remove one instead.`);
  }
  const clash = setProblem(state, all);
  if (clash) return { ok: false, error: clash };
  return ok([{ type: 'AllocationAdded', data: { allocation: added, by: actorLabel(c.meta.actor) } }]);
}

function removeAllocation(c: RoundCommandOf<'RemoveAllocation'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['allocating'], 'removing allocations');
  if (refusal) return refusal;
  const a = existingAllocation(state, c.data.allocationId);
  if ('ok' in a) return a;
  return ok([{ type: 'AllocationRemoved', data: { allocationId: a.allocationId, reason: c.data.reason, by: actorLabel(c.meta.actor) } }]);
}

function declineSection(c: RoundCommandOf<'DeclineSection'> | RoundCommandOf<'ReinstateSection'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['closed', 'allocating'], c.type === 'DeclineSection' ? 'declining a section' : 'reinstating a section');
  if (refusal) return refusal;
  const applicationId = state.sectionOwner.get(c.data.sectionId);
  if (applicationId === undefined) return fail('UNKNOWN_SECTION', `Section ${c.data.sectionId} is not part of a received application in this round.`, { field: 'sectionId' });
  const by = actorLabel(c.meta.actor);
  if (c.type === 'DeclineSection') {
    if (state.declined.has(c.data.sectionId)) return fail('SECTION_DECLINED', `Section ${c.data.sectionId} is already declined.`);
    return ok([{ type: 'SectionDeclined', data: { applicationId, sectionId: c.data.sectionId, reason: c.data.reason, by } }]);
  }
  if (!state.declined.has(c.data.sectionId)) return fail('INVALID_STATE', `Section ${c.data.sectionId} is not declined.`);
  return ok([{ type: 'SectionReinstated', data: { applicationId, sectionId: c.data.sectionId, by } }]);
}

function approveAllocation(c: RoundCommandOf<'ApproveAllocation'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['allocating'], 'approving');
  if (refusal) return refusal;
  if (state.proposal === undefined) return fail('NO_PROPOSAL', 'There is no proposal to approve; run the allocator first.');
  if (state.proposal.proposalId !== c.data.proposalId) {
    return fail('STALE_PROPOSAL', `The current proposal is ${state.proposal.proposalId}, not ${c.data.proposalId}; review it before approving.`, {
      details: { current: state.proposal.proposalId },
    });
  }
  const named = new Map(c.data.series.map((s) => [s.allocationId, s.seriesId]));
  const seriesIds = new Set(c.data.series.map((s) => s.seriesId));
  if (named.size !== c.data.series.length || seriesIds.size !== c.data.series.length || named.size !== state.allocations.size || [...state.allocations.keys()].some((id) => !named.has(id))) {
    return fail('VALIDATION_FAILED', 'Name exactly one new series id for each allocation of the proposal.', { field: 'series' });
  }
  return ok([{ type: 'AllocationApproved', data: { proposalId: c.data.proposalId, series: c.data.series, by: actorLabel(c.meta.actor) } }]);
}

function recordSeriesResult(c: RoundCommandOf<'RecordSeriesResult'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['approved'], 'recording series results');
  if (refusal) return refusal;
  const r = c.data.result;
  const seriesId = state.approval?.series.get(r.allocationId);
  if (seriesId === undefined) return fail('UNKNOWN_ALLOCATION', `Allocation ${r.allocationId} is not part of the approval.`, { field: 'result.allocationId' });
  if (seriesId !== r.seriesId) return fail('VALIDATION_FAILED', `Allocation ${r.allocationId} became series ${seriesId}, not ${r.seriesId}.`, { field: 'result.seriesId' });
  const previous = state.approval?.results.get(r.allocationId);
  if (previous !== undefined && previous.outcome === 'created') return ok([]);
  return ok([{ type: 'SeriesResultRecorded', data: { result: r } }]);
}

function publishRound(c: RoundCommandOf<'PublishRound'>, state: RoundState): Decision {
  const refusal = staffOnly(c) ?? inStatus(state, ['approved'], 'publishing the results');
  if (refusal) return refusal;
  const approval = state.approval!;
  const missing = [...approval.series.keys()].filter((id) => approval.results.get(id)?.outcome !== 'created');
  if (missing.length > 0) {
    return fail('APPROVAL_INCOMPLETE', `${missing.length} approved allocation(s) have no booked series yet; finish the approval (it can be retried safely) before publishing.`, {
      details: { allocationIds: missing.slice(0, 50) },
    });
  }
  return ok([{ type: 'RoundPublished', data: { roundId: state.round!.roundId, by: actorLabel(c.meta.actor) } }]);
}

export function decideRound(command: RoundCommand, state: RoundState): Decision {
  const wrong = sameRound(state, command.data.roundId);
  if (wrong) return wrong;
  switch (command.type) {
    case 'CreateRound':
      return createRound(command, state);
    case 'UpdateRound':
      return updateRound(command, state);
    case 'OpenRound':
      if (state.round !== undefined && state.round.units.length === 0) return fail('INVALID_STATE', 'A round needs at least one unit before it opens.');
      return transition(command, state, 'draft', 'RoundOpened', 'opening');
    case 'CloseRound':
      return transition(command, state, 'open', 'RoundClosed', 'closing');
    case 'SubmitApplication':
      return submitApplication(command, state);
    case 'AmendApplication':
      return amendApplication(command, state);
    case 'WithdrawApplication':
      return withdrawApplication(command, state);
    case 'StartAllocation':
      return transition(command, state, 'closed', 'AllocationStarted', 'starting the allocation');
    case 'RecordProposal':
      return recordProposal(command, state);
    case 'LockAllocation':
    case 'UnlockAllocation':
      return lockAllocation(command, state);
    case 'MoveAllocation':
      return moveAllocation(command, state);
    case 'AddAllocation':
      return addAllocation(command, state);
    case 'RemoveAllocation':
      return removeAllocation(command, state);
    case 'DeclineSection':
    case 'ReinstateSection':
      return declineSection(command, state);
    case 'ApproveAllocation':
      return approveAllocation(command, state);
    case 'RecordSeriesResult':
      return recordSeriesResult(command, state);
    case 'PublishRound':
      return publishRound(command, state);
    default: {
      const exhaustive: never = command;
      throw new Error(`unhandled round command ${(exhaustive as { type: string }).type}`);
    }
  }
}

export const roundDecider = {
  decide: decideRound,
  evolve: evolveRound,
  initialState: initialRoundState,
} as const;
