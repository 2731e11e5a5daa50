/**
 * The allocator's public surface: `allocate(input)` proposes a full
 * allocation for a round, with its objective, an upper bound and the gap, and
 * an explanation for every section. Pure apart from HiGHS (computation, no
 * I/O): the same input gives the same proposal, except that a time-limited
 * HiGHS run may prove more or less on a slower machine.
 */
import { Assignment } from './assignment.js';
import { upperBound, type BoundOptions } from './exact.js';
import { explain, type ProposedSlot, type SectionExplanation } from './explain.js';
import { polish, solveHeuristic, type HeuristicOptions } from './heuristic.js';
import { buildProblem, type AllocationInput, type Problem } from './model.js';
import { violations, type RuleViolation } from './verify.js';

export * from './criteria.js';
export * from './supply.js';
export {
  buildProblem,
  Problem,
  FLAG_CONTINUITY,
  FLAG_FIXED,
  FLAG_OUTSIDE_WINDOWS,
  FLAG_PRIMARY,
  type AllocationInput,
  type ApplicationRequest,
  type FixedAllocation,
  type PreviousSlot,
  type SectionRequest,
  type TimeWindow,
  type WindowPriority,
} from './model.js';
export { Assignment } from './assignment.js';
export { polish, solveHeuristic, type HeuristicOptions } from './heuristic.js';
export { greedyMinDuration } from './baseline.js';
export { solveExact, capacityBound, upperBound, loadHighs, type BoundOptions, type BoundResult, type ExactOptions, type ExactResult } from './exact.js';
export { explain, levelsOf, REASON_CODES, type Competitor, type ExplanationNote, type ProposedSlot, type ReasonCode, type SectionExplanation, type SlotRef } from './explain.js';
export { violations, ownRuleViolations, fairnessViolations, priorityViolations, type RuleViolation } from './verify.js';

export interface AllocateOptions {
  /**
   * heuristic: the heuristic alone; exact: the HiGHS model (small rounds);
   * auto (default): the heuristic, and the exact solution instead when HiGHS
   * proves one better.
   */
  readonly solver?: 'heuristic' | 'exact' | 'auto';
  /** Compute an upper bound with HiGHS (default true). */
  readonly bound?: boolean | BoundOptions;
  readonly heuristic?: HeuristicOptions;
}

export interface ProposalMetrics {
  readonly solver: 'heuristic' | 'exact';
  readonly objective: number;
  readonly bound: number | null;
  /** (bound - objective) / bound; 0 when the objective is proven optimal. */
  readonly gap: number | null;
  readonly boundMethod: 'milp' | 'lp' | 'capacity-lp' | null;
  readonly provenOptimal: boolean;
  readonly candidates: number;
  readonly applicants: number;
  readonly applicantsServed: number;
  readonly sections: number;
  readonly sectionsAllocated: number;
  readonly sectionsPartial: number;
  readonly sectionsUnallocated: number;
  readonly requestedMinutes: number;
  readonly awardedMinutes: number;
}

export interface Proposal {
  readonly slots: ProposedSlot[];
  readonly sections: SectionExplanation[];
  readonly metrics: ProposalMetrics;
  /** Rule violations of the result; empty unless staff-locked slots break rules themselves. */
  readonly violations: RuleViolation[];
}

export async function allocate(input: AllocationInput, options: AllocateOptions = {}): Promise<Proposal> {
  const problem = buildProblem(input);
  return proposeFor(problem, options);
}

export async function proposeFor(problem: Problem, options: AllocateOptions = {}): Promise<Proposal> {
  const solver = options.solver ?? 'auto';
  let assignment = solver === 'exact' ? undefined : solveHeuristic(problem, options.heuristic);
  let used: 'heuristic' | 'exact' = 'heuristic';
  let bound: number | null = null;
  let boundMethod: ProposalMetrics['boundMethod'] = null;
  let provenOptimal = false;
  const wantBound = options.bound ?? true;
  if (wantBound !== false || solver !== 'heuristic') {
    const result = await upperBound(problem, typeof wantBound === 'object' ? wantBound : {});
    bound = result.bound ?? null;
    boundMethod = result.method ?? null;
    const exact = result.exact;
    if (exact?.chosen !== undefined && (solver === 'exact' || (assignment !== undefined && exact.objective !== undefined && exact.objective > assignment.objective + 1e-7))) {
      // The model knows no priority tie-breaks: polishing applies them without losing objective.
      assignment = polish(problem, Assignment.of(problem, exact.chosen, exact.firsts !== undefined && exact.firsts.length > 0 ? exact.firsts : undefined));
      used = 'exact';
    }
    if (result.optimal && assignment !== undefined && exact?.objective !== undefined && assignment.objective >= exact.objective - 1e-7) provenOptimal = true;
  }
  assignment ??= solveHeuristic(problem, options.heuristic);
  return finish(problem, assignment, used, bound, boundMethod, provenOptimal);
}

export function finish(
  problem: Problem,
  assignment: Assignment,
  solver: 'heuristic' | 'exact',
  bound: number | null,
  boundMethod: ProposalMetrics['boundMethod'],
  provenOptimal: boolean,
): Proposal {
  const locked = new Map(problem.fixed.map((f) => [f.candidate, f.allocationId]));
  const { slots, sections } = explain(assignment, locked);
  const objective = assignment.objective;
  const effectiveBound = bound === null ? null : Math.max(bound, objective);
  const metrics: ProposalMetrics = {
    solver,
    objective,
    bound: effectiveBound,
    gap: effectiveBound === null || effectiveBound <= 0 ? null : provenOptimal ? 0 : Math.max(0, (effectiveBound - objective) / effectiveBound),
    boundMethod,
    provenOptimal,
    candidates: problem.candidateCount,
    applicants: problem.applicants.length,
    applicantsServed: assignment.served(),
    sections: sections.length,
    sectionsAllocated: sections.filter((s) => s.status === 'allocated').length,
    sectionsPartial: sections.filter((s) => s.status === 'partial').length,
    sectionsUnallocated: sections.filter((s) => s.status === 'unallocated').length,
    requestedMinutes: sections.filter((s) => s.status !== 'declined').reduce((m, s) => m + s.requestedMinutes, 0),
    awardedMinutes: sections.reduce((m, s) => m + s.awardedMinutes, 0),
  };
  return { slots, sections, metrics, violations: violations(assignment) };
}
