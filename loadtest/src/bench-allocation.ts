// The allocation benchmark: seeded seasonal rounds of three sizes, each
// allocated by Vuoro's heuristic and by the first-come, minimum-duration
// baseline, both measured against an upper bound from HiGHS.
//
//   npm run bench:allocation            all three sizes
//   npm run bench:allocation -- small   one size (small | medium | helsinki)
//
// Per size `<size>`: Seconds (reading the sites' supply, building the
// problem, the heuristic and the explanations: what a proposal costs),
// ObjectiveRatio (objective / HiGHS optimum or bound), ApplicantsServedShare,
// RequestedHoursShare (weekly hours awarded / wished x maximum duration),
// and for the record the objective, the bound, how it was computed and how
// long it took. The bound is the tightest HiGHS gives in bounded time: the
// full MILP where it proves an optimum, else the LP relaxation of the same
// model, else the capacity LP (see engine/src/allocation/README.md).

import {
  buildProblem,
  explain,
  greedyMinDuration,
  proposeFor,
  siteSupply,
  upperBound,
  violations,
  type Problem,
  type UnitSupply,
} from '@vuoro/engine/allocation/index.js';
import { writeResult, type Metrics } from './results.js';
import { generateRound, type GeneratedRound } from './rounds-generator.js';

interface Size {
  name: 'small' | 'medium' | 'helsinki';
  applications: number;
  units: number;
  seed: number;
}

const SIZES: Size[] = [
  { name: 'small', applications: 200, units: 20, seed: 2027 },
  { name: 'medium', applications: 1000, units: 80, seed: 2028 },
  { name: 'helsinki', applications: 5000, units: 300, seed: 2029 },
];

/** HiGHS time per bound; the LP relaxation is tried up to this many candidates, beyond that the capacity LP. */
const BOUND_SECONDS = 240;
const LP_MAX_CANDIDATES = 400_000;

function supplyOf(round: GeneratedRound): UnitSupply[] {
  const out: UnitSupply[] = [];
  for (const [siteId, state] of round.sites) {
    const unitIds = round.units.filter((u) => u.siteId === siteId).map((u) => u.unitId);
    out.push(...siteSupply(state, unitIds, round.season).values());
  }
  return out;
}

function buildFrom(round: GeneratedRound): Problem {
  return buildProblem({ season: round.season, criteria: round.criteria, units: supplyOf(round), applications: round.applications });
}

const seconds = (from: number): number => (performance.now() - from) / 1000;
/** CPU time of this process: on a shared machine the wall time also counts other processes' turns. */
const cpuSeconds = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};

async function runSize(size: Size): Promise<{ metrics: Metrics; baseline: Metrics }> {
  const round = generateRound({ seed: size.seed, applications: size.applications, units: size.units });
  const s = round.stats;
  console.log(
    `\n${size.name}: ${s.applications} applications (${s.sections} sections, ${s.customers} applicants), ${s.units} units on ${s.sites} sites, ` +
      `${s.existingBookings} existing bookings; weekday-evening demand ${s.eveningDemandHours.toFixed(0)} h/week vs supply ${s.eveningSupplyHours.toFixed(0)} h/week ` +
      `(${(s.eveningDemandHours / s.eveningSupplyHours).toFixed(2)}x)`,
  );

  // Vuoro: everything a proposal costs, from the site partitions' state to explained allocations.
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const problem = buildFrom(round);
  const proposal = await proposeFor(problem, { solver: 'heuristic', bound: false });
  const ourSeconds = seconds(started);
  const ourCpu = cpuSeconds(cpuStarted);

  // Baseline: same supply and problem, first come first served at minimum durations.
  const baseStarted = performance.now();
  const baseProblem = buildFrom(round);
  const base = greedyMinDuration(baseProblem);
  const baseSlots = explain(base).slots;
  const baseSeconds = seconds(baseStarted);

  const boundStarted = performance.now();
  const bound = await upperBound(problem, { milpMaxCandidates: 3_000, lpMaxCandidates: LP_MAX_CANDIDATES, timeLimitSeconds: BOUND_SECONDS });
  const boundSeconds = seconds(boundStarted);
  if (bound.bound === undefined) throw new Error(`${size.name}: HiGHS gave no bound`);

  const m = proposal.metrics;
  const applicants = problem.applicants.length;
  const requested = m.requestedMinutes;
  const baseMinutes = baseSlots.reduce((n, x) => n + x.durationMinutes, 0);
  const ruleViolations = proposal.violations.length;
  console.log(
    `  vuoro     ${ourSeconds.toFixed(2)} s (${ourCpu.toFixed(2)} s CPU), objective ${m.objective.toFixed(1)}, served ${m.applicantsServed}/${applicants}, ` +
      `hours ${(m.awardedMinutes / 60).toFixed(0)}/${(requested / 60).toFixed(0)}, ${problem.candidateCount} candidates, rule violations ${ruleViolations}`,
  );
  console.log(`  baseline  ${baseSeconds.toFixed(2)} s, objective ${base.objective.toFixed(1)}, served ${base.served()}/${applicants}, hours ${(baseMinutes / 60).toFixed(0)}/${(requested / 60).toFixed(0)}, rule violations ${violations(base).length}`);
  console.log(`  bound     ${bound.bound.toFixed(1)} by ${bound.method}${bound.optimal ? ' (proven optimum)' : ''} in ${boundSeconds.toFixed(1)} s`);

  const n = size.name;
  return {
    metrics: {
      [`${n}Seconds`]: ourSeconds,
      [`${n}CpuSeconds`]: ourCpu,
      [`${n}ObjectiveRatio`]: m.objective / bound.bound,
      [`${n}ApplicantsServedShare`]: m.applicantsServed / applicants,
      [`${n}RequestedHoursShare`]: m.awardedMinutes / requested,
      [`${n}Objective`]: m.objective,
      [`${n}Bound`]: bound.bound,
      [`${n}BoundProvenOptimal`]: bound.optimal ? 1 : 0,
      [`${n}BoundSeconds`]: boundSeconds,
      [`${n}Candidates`]: problem.candidateCount,
      [`${n}RuleViolations`]: ruleViolations,
      [`${n}EveningDemandSupplyRatio`]: s.eveningDemandHours / s.eveningSupplyHours,
    },
    baseline: {
      [`${n}Seconds`]: baseSeconds,
      [`${n}ObjectiveRatio`]: base.objective / bound.bound,
      [`${n}ApplicantsServedShare`]: base.served() / applicants,
      [`${n}RequestedHoursShare`]: baseMinutes / requested,
      [`${n}Objective`]: base.objective,
    },
  };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const sizes = only.length === 0 ? SIZES : SIZES.filter((s) => only.includes(s.name));
  if (sizes.length === 0) throw new Error(`unknown size ${only.join(', ')}; use small, medium or helsinki`);
  const metrics: Metrics = {};
  const baseline: Metrics = {};
  for (const size of sizes) {
    const r = await runSize(size);
    Object.assign(metrics, r.metrics);
    Object.assign(baseline, r.baseline);
  }
  await writeResult({ bench: 'allocation', command: 'npm run bench:allocation', metrics, baselines: { greedyMinDuration: baseline } });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
