/**
 * The exact model of the same problem, solved with HiGHS (WebAssembly), and
 * the upper bounds that make a heuristic proposal's quality a number.
 *
 * MILP (README "Exact model"): a binary x per candidate, maximise the sum of
 * candidate values, subject to
 *   - per section: at most `wished` slots, at most one per weekday;
 *   - per maximal clique of related units and weekday: no two clashing slots
 *     (interval cliques where the units in the clique keep equal buffers,
 *     pairwise rows otherwise);
 *   - per applicant and unit: the share cap;
 *   - fairness, with a binary f per candidate marking the applicant's first
 *     slot: f <= x, at most one first per applicant, no slots without a
 *     first, and for every candidate c of applicant a:
 *       sum of a's f + sum of f over other applicants' candidates clashing c >= 1
 *     (a is served, or each of its candidates is blocked by someone's first).
 * Staff-locked slots are fixed to 1; candidates clashing with them are left out.
 *
 * Bounds, from tightest to cheapest: the MILP's own dual bound (optimal when
 * it closes), the LP relaxation of the model (fairness rows dropped, which
 * only loosens it), and for rounds too big for either a capacity LP: minutes
 * per section, unit, weekday and time block, valued at the best rate any of
 * the section's candidates covering that block offers, against each unit
 * clique's free minutes per block. Every integer allocation maps to a feasible
 * point of each, so each is a valid upper bound.
 */
import type { Highs, Model } from 'highs';
import { Assignment } from './assignment.js';
import { type Problem, type SectionInfo, type UnitInfo } from './model.js';

type Loader = () => Promise<Highs>;
let loading: Promise<Highs> | undefined;

/** Loads the HiGHS WebAssembly module once per process. */
export function loadHighs(): Promise<Highs> {
  // The package is CommonJS with an ES build; depending on the loader the function is `default` or `default.default`.
  loading ??= import('highs').then((m) => {
    const mod = m as unknown as { default: Loader | { default: Loader } };
    return (typeof mod.default === 'function' ? mod.default : mod.default.default)();
  });
  return loading;
}

export interface ExactOptions {
  /** Seconds HiGHS may spend (the only non-deterministic limit; the result says whether it proved optimality). */
  readonly timeLimitSeconds?: number;
  /** Drop integrality: the LP relaxation, a bound only. */
  readonly relax?: boolean;
  /** Include the fairness rows (default: when the criteria ask for it and the model is solved as a MILP). */
  readonly fairness?: boolean;
}

export interface ExactResult {
  readonly method: 'milp' | 'lp';
  readonly status: 'optimal' | 'feasible' | 'bound-only' | 'infeasible' | 'error';
  /** Objective of the best integer solution found (MILP only). */
  readonly objective: number | undefined;
  /** Proven upper bound on the objective. */
  readonly bound: number | undefined;
  /** Best integer solution (candidate indexes) and each applicant's first slot. */
  readonly chosen?: number[];
  readonly firsts?: number[];
  readonly columns: number;
  readonly rows: number;
  readonly highsStatus: number;
}

/** Maximal cliques of the unit relation (Bron–Kerbosch with pivoting); components are small. */
export function unitCliques(p: Problem): number[][] {
  const n = p.units.length;
  const adj: Set<number>[] = p.units.map(() => new Set());
  const byKey = new Map<number, number[]>();
  for (const u of p.units) for (const k of u.insert) byKey.set(k, [...(byKey.get(k) ?? []), u.index]);
  for (const u of p.units) {
    for (const k of u.check) {
      for (const v of byKey.get(k) ?? []) {
        if (v !== u.index) {
          adj[u.index]!.add(v);
          adj[v]!.add(u.index);
        }
      }
    }
  }
  const cliques: number[][] = [];
  const bk = (r: number[], candidates: Set<number>, excluded: Set<number>): void => {
    if (candidates.size === 0 && excluded.size === 0) {
      cliques.push([...r].sort((a, b) => a - b));
      return;
    }
    let pivot = -1;
    let best = -1;
    for (const u of [...candidates, ...excluded]) {
      let d = 0;
      for (const v of adj[u]!) if (candidates.has(v)) d++;
      if (d > best) [pivot, best] = [u, d];
    }
    for (const v of [...candidates]) {
      if (pivot >= 0 && adj[pivot]!.has(v)) continue;
      const nv = adj[v]!;
      bk([...r, v], new Set([...candidates].filter((x) => nv.has(x))), new Set([...excluded].filter((x) => nv.has(x))));
      candidates.delete(v);
      excluded.add(v);
    }
  };
  bk([], new Set(Array.from({ length: n }, (_, k) => k)), new Set());
  return cliques;
}

interface Rows {
  lower: number[];
  upper: number[];
  starts: number[];
  indices: number[];
  values: number[];
}

const newRows = (): Rows => ({ lower: [], upper: [], starts: [0], indices: [], values: [] });
const addRow = (rows: Rows, cols: readonly number[], coefs: readonly number[] | number, lower: number, upper: number): void => {
  for (let k = 0; k < cols.length; k++) {
    rows.indices.push(cols[k] as number);
    rows.values.push(typeof coefs === 'number' ? coefs : (coefs[k] as number));
  }
  rows.starts.push(rows.indices.length);
  rows.lower.push(lower);
  rows.upper.push(upper);
};

/** Builds the MILP (or its relaxation) and solves it. */
export async function solveExact(p: Problem, options: ExactOptions = {}): Promise<ExactResult> {
  const highs = await loadHighs();
  const INF = highs.infinity;
  const relax = options.relax ?? false;
  const fairness = (options.fairness ?? !relax) && p.criteria.fairness.firstSlotBeforeSecond;

  // Fixed slots first, then leave out whatever clashes with them.
  const fixedSet = new Set(p.fixed.map((f) => f.candidate));
  const base = new Assignment(p);
  for (const c of fixedSet) base.award(c);
  const col = new Int32Array(p.candidateCount).fill(-1);
  const cands: number[] = [];
  for (let c = 0; c < p.candidateCount; c++) {
    if (fixedSet.has(c) || base.occ.firstClash(c) < 0) {
      col[c] = cands.length;
      cands.push(c);
    }
  }
  const nx = cands.length;
  const nf = fairness ? nx : 0;
  const rows = newRows();

  // Sections: count and one per weekday.
  for (const section of p.sections) {
    if (section.excluded) continue;
    const mine: number[] = [];
    for (let c = section.candFrom; c < section.candTo; c++) if (col[c]! >= 0) mine.push(c);
    for (const f of p.fixed) if (p.cSection[f.candidate] === section.index) mine.push(f.candidate);
    if (mine.length > section.wished) addRow(rows, mine.map((c) => col[c]!), 1, -INF, Math.max(section.wished, mine.filter((c) => fixedSet.has(c)).length));
    const byDay = new Map<number, number[]>();
    for (const c of mine) byDay.set(p.cDay[c] as number, [...(byDay.get(p.cDay[c] as number) ?? []), col[c]!]);
    for (const list of byDay.values()) if (list.length > 1) addRow(rows, list, 1, -INF, Math.max(1, list.filter((j) => fixedSet.has(cands[j]!)).length));
  }

  // Clashes per unit clique and weekday.
  const byUnitDay = new Map<number, number[]>();
  for (const c of cands) {
    const key = (p.cUnit[c] as number) * 8 + (p.cDay[c] as number);
    let list = byUnitDay.get(key);
    if (list === undefined) byUnitDay.set(key, (list = []));
    list.push(c);
  }
  const pairSeen = new Set<string>();
  for (const clique of unitCliques(p)) {
    const units = clique.map((u) => p.units[u] as UnitInfo);
    const uniform = units.every((u) => u.before === units[0]!.before && u.after === units[0]!.after);
    const m = Math.max(units[0]!.before, units[0]!.after);
    for (let day = 1; day <= 7; day++) {
      const list: number[] = [];
      for (const u of clique) list.push(...(byUnitDay.get(u * 8 + day) ?? []));
      if (list.length < 2) continue;
      if (uniform) {
        list.sort((a, b) => (p.cStart[a] as number) - (p.cStart[b] as number));
        const starts = [...new Set(list.map((c) => p.cStart[c] as number))];
        for (let k = 0; k < starts.length; k++) {
          const t = starts[k] as number;
          const next = starts[k + 1];
          const members = list.filter((c) => (p.cStart[c] as number) <= t && t < (p.cEnd[c] as number) + m);
          if (members.length < 2) continue;
          // Emit only maximal cliques: some member ends before the next start.
          const ends = Math.min(...members.map((c) => (p.cEnd[c] as number) + m));
          if (next !== undefined && ends > next) continue;
          const fixedHere = members.filter((c) => fixedSet.has(c)).length;
          addRow(rows, members.map((c) => col[c]!), 1, -INF, Math.max(1, fixedHere));
        }
      } else {
        for (let i = 0; i < list.length; i++) {
          for (let j = i + 1; j < list.length; j++) {
            const a = list[i] as number;
            const b = list[j] as number;
            if (!p.clash(a, b)) continue;
            const key = a < b ? `${a},${b}` : `${b},${a}`;
            if (pairSeen.has(key)) continue;
            pairSeen.add(key);
            addRow(rows, [col[a]!, col[b]!], 1, -INF, fixedSet.has(a) && fixedSet.has(b) ? 2 : 1);
          }
        }
      }
    }
  }

  // Share caps per applicant and unit (locked slots count but are never cut).
  const capGroups = new Map<string, number[]>();
  for (const c of cands) {
    const key = `${p.sections[p.cSection[c] as number]!.applicant}|${p.cUnit[c]}`;
    capGroups.set(key, [...(capGroups.get(key) ?? []), c]);
  }
  for (const list of capGroups.values()) {
    const cap = p.units[p.cUnit[list[0] as number] as number]!.capMinutes;
    const free = list.filter((c) => !fixedSet.has(c));
    const fixedMinutes = list.filter((c) => fixedSet.has(c)).reduce((m, c) => m + (p.cEnd[c] as number) - (p.cStart[c] as number), 0);
    const potential = free.reduce((m, c) => m + (p.cEnd[c] as number) - (p.cStart[c] as number), 0);
    if (free.length === 0 || potential + fixedMinutes <= cap) continue;
    addRow(rows, free.map((c) => col[c]!), free.map((c) => (p.cEnd[c] as number) - (p.cStart[c] as number)), -INF, Math.max(0, cap - fixedMinutes));
  }

  // Fairness: first-slot markers.
  if (fairness) {
    const fcol = (c: number) => nx + col[c]!;
    const byApplicant = new Map<number, number[]>();
    for (const c of cands) {
      const a = p.sections[p.cSection[c] as number]!.applicant;
      byApplicant.set(a, [...(byApplicant.get(a) ?? []), c]);
    }
    for (const c of cands) addRow(rows, [col[c]!, fcol(c)], [1, -1], 0, INF);
    for (const [a, list] of byApplicant) {
      addRow(rows, list.map(fcol), 1, -INF, 1);
      const n = p.applicants[a]!.wished + list.filter((c) => fixedSet.has(c)).length;
      addRow(rows, [...list.map((c) => col[c]!), ...list.map(fcol)], [...list.map(() => 1), ...list.map(() => -n)], -INF, 0);
    }
    const scratch = new Assignment(p);
    for (const c of cands) scratch.award(c, false);
    for (const [a, list] of byApplicant) {
      const own = list.map(fcol);
      for (const c of list) {
        if (fixedSet.has(c)) continue;
        const others = scratch.occ.clashes(c).filter((b) => p.sections[p.cSection[b] as number]!.applicant !== a);
        addRow(rows, [...own, ...others.map(fcol)], 1, 1, INF);
      }
    }
  }

  const numCols = nx + nf;
  const colCost = new Float64Array(numCols);
  const colLower = new Float64Array(numCols);
  const colUpper = new Float64Array(numCols).fill(1);
  for (let j = 0; j < nx; j++) {
    const c = cands[j] as number;
    colCost[j] = p.cValue[c] as number;
    if (fixedSet.has(c)) colLower[j] = 1;
  }
  const numRows = rows.lower.length;
  const model: Model = highs.createModel({
    numCols,
    numRows,
    sense: highs.constants.objectiveSense.maximize,
    colCost,
    colLower,
    colUpper,
    rowLower: Float64Array.from(rows.lower),
    rowUpper: Float64Array.from(rows.upper),
    matrix: {
      format: 'csr',
      numRows,
      numCols,
      starts: Int32Array.from(rows.starts),
      indices: Int32Array.from(rows.indices),
      values: Float64Array.from(rows.values),
    },
    ...(relax ? {} : { integrality: new Int32Array(numCols).fill(highs.constants.variableType.integer) as unknown as Int32Array }),
  });
  try {
    model.options.set({ output_flag: false, mip_rel_gap: 1e-7, random_seed: 0, ...(options.timeLimitSeconds === undefined ? {} : { time_limit: options.timeLimitSeconds }) });
    const run = model.run();
    const status = run.modelStatus;
    const S = highs.constants.modelStatus;
    if (status === S.infeasible) {
      return { method: relax ? 'lp' : 'milp', status: 'infeasible', objective: undefined, bound: undefined, columns: numCols, rows: numRows, highsStatus: status };
    }
    if (relax) {
      if (status !== S.optimal) {
        return { method: 'lp', status: 'error', objective: undefined, bound: undefined, columns: numCols, rows: numRows, highsStatus: status };
      }
      return { method: 'lp', status: 'bound-only', objective: undefined, bound: model.getObjectiveValue(), columns: numCols, rows: numRows, highsStatus: status };
    }
    const primal = Number(model.info.get('primal_solution_status'));
    const dualBound = Number(model.info.get('mip_dual_bound'));
    const hasSolution = primal === 2 || status === S.optimal;
    const bound = Number.isFinite(dualBound) ? dualBound : undefined;
    if (!hasSolution) {
      return { method: 'milp', status: bound === undefined ? 'error' : 'bound-only', objective: undefined, bound, columns: numCols, rows: numRows, highsStatus: status };
    }
    const x = model.getSolution().colValue;
    const chosen: number[] = [];
    const firsts: number[] = [];
    for (let j = 0; j < nx; j++) {
      if ((x[j] as number) > 0.5) chosen.push(cands[j] as number);
      if (fairness && (x[nx + j] as number) > 0.5) firsts.push(cands[j] as number);
    }
    const objective = chosen.reduce((m, c) => m + (p.cValue[c] as number), 0);
    return {
      method: 'milp',
      status: status === S.optimal ? 'optimal' : 'feasible',
      objective,
      bound: status === S.optimal ? Math.max(objective, bound ?? objective) : bound,
      chosen,
      firsts,
      columns: numCols,
      rows: numRows,
      highsStatus: status,
    };
  } finally {
    model.dispose();
  }
}

export interface CapacityBoundOptions {
  /** Width of the time blocks, minutes (coarser is smaller and looser, and still a valid bound). */
  readonly blockMinutes?: number;
  readonly timeLimitSeconds?: number;
}

/** The capacity LP bound (see the file comment); for rounds too big for the full model. */
export async function capacityBound(p: Problem, options: CapacityBoundOptions = {}): Promise<{ bound: number | undefined; columns: number; rows: number; status: number }> {
  const highs = await loadHighs();
  const INF = highs.infinity;
  const block = options.blockMinutes ?? 60;
  const blocks = Math.ceil(1440 / block);
  const fixedSet = new Set(p.fixed.map((f) => f.candidate));
  let constant = 0;
  const fixedDays = new Set<string>();
  const fixedCount = new Map<number, number>();
  const fixedMinutesOn = new Map<string, number>();
  /** Minutes of each (unit, day, block) taken by locked slots. */
  const lockedUse = new Map<number, number>();
  for (const c of fixedSet) {
    constant += p.cValue[c] as number;
    const s = p.cSection[c] as number;
    fixedDays.add(`${s}|${p.cDay[c]}`);
    fixedCount.set(s, (fixedCount.get(s) ?? 0) + 1);
    const key = `${p.sections[s]!.applicant}|${p.cUnit[c]}`;
    fixedMinutesOn.set(key, (fixedMinutesOn.get(key) ?? 0) + (p.cEnd[c] as number) - (p.cStart[c] as number));
    for (let g = 0; g < blocks; g++) {
      const overlap = Math.min(p.cEnd[c] as number, (g + 1) * block) - Math.max(p.cStart[c] as number, g * block);
      if (overlap > 0) {
        const k = ((p.cUnit[c] as number) * 8 + (p.cDay[c] as number)) * blocks + g;
        lockedUse.set(k, (lockedUse.get(k) ?? 0) + overlap);
      }
    }
  }

  /** The most minutes of block g the unit is free in any week pattern. */
  const freeMemo = new Map<number, number>();
  const freeMinutes = (u: number, day: number, g: number): number => {
    const k = (u * 8 + day) * blocks + g;
    let m = freeMemo.get(k);
    if (m === undefined) {
      m = 0;
      for (const pattern of p.units[u]!.supply.days[day - 1] ?? []) {
        let sum = 0;
        for (const f of pattern.free) sum += Math.max(0, Math.min(f.to, (g + 1) * block) - Math.max(f.from, g * block));
        m = Math.max(m, sum);
      }
      freeMemo.set(k, m);
    }
    return m;
  };

  // Variables: minutes of section s on (unit, day, block), with the best per-minute rate covering it.
  const varKey = new Map<string, number>();
  const rate: number[] = [];
  const varUpper: number[] = [];
  const varSection: number[] = [];
  const varUnit: number[] = [];
  const varDay: number[] = [];
  const varBlock: number[] = [];
  for (const section of p.sections) {
    if (section.excluded) continue;
    for (let c = section.candFrom; c < section.candTo; c++) {
      const day = p.cDay[c] as number;
      if (fixedDays.has(`${section.index}|${day}`)) continue;
      const u = p.cUnit[c] as number;
      const s0 = p.cStart[c] as number;
      const e0 = p.cEnd[c] as number;
      const r = (p.cValue[c] as number) / (e0 - s0);
      for (let g = Math.floor(s0 / block); g * block < e0; g++) {
        const overlap = Math.min(e0, (g + 1) * block) - Math.max(s0, g * block);
        if (overlap <= 0) continue;
        const key = `${section.index}|${u}|${day}|${g}`;
        let j = varKey.get(key);
        if (j === undefined) {
          j = rate.length;
          varKey.set(key, j);
          rate.push(r);
          varUpper.push(overlap);
          varSection.push(section.index);
          varUnit.push(u);
          varDay.push(day);
          varBlock.push(g);
        } else {
          rate[j] = Math.max(rate[j] as number, r);
          // The section may cover more of the block with other candidates.
          varUpper[j] = Math.max(varUpper[j] as number, overlap);
        }
      }
    }
  }
  const n = rate.length;
  const rows = newRows();
  const group = (keyOf: (j: number) => string | undefined): Map<string, number[]> => {
    const m = new Map<string, number[]>();
    for (let j = 0; j < n; j++) {
      const k = keyOf(j);
      if (k === undefined) continue;
      let list = m.get(k);
      if (list === undefined) m.set(k, (list = []));
      list.push(j);
    }
    return m;
  };
  // Capacity per unit clique, weekday and block: the clique's units cannot overlap.
  const cliquesOf = new Map<number, number[]>();
  unitCliques(p).forEach((q, k) => {
    for (const u of q) cliquesOf.set(u, [...(cliquesOf.get(u) ?? []), k]);
  });
  const cliques = unitCliques(p);
  const capRows = new Map<string, number[]>();
  for (let j = 0; j < n; j++) {
    for (const q of cliquesOf.get(varUnit[j] as number) ?? []) {
      const key = `${q}|${varDay[j]}|${varBlock[j]}`;
      let list = capRows.get(key);
      if (list === undefined) capRows.set(key, (list = []));
      list.push(j);
    }
  }
  for (const [key, list] of capRows) {
    const [q, day, g] = key.split('|').map(Number) as [number, number, number];
    let locked = 0;
    let free = 0;
    for (const u of cliques[q] ?? []) {
      locked = Math.max(locked, lockedUse.get((u * 8 + day) * blocks + g) ?? 0);
      free += freeMinutes(u, day, g);
    }
    addRow(rows, list, 1, -INF, Math.max(0, Math.min(block, 1440 - g * block, free) - locked));
  }
  // One slot per section and weekday, at most its maximum duration.
  for (const list of group((j) => `${varSection[j]}|${varDay[j]}`).values()) {
    const section = p.sections[varSection[list[0] as number] as number] as SectionInfo;
    addRow(rows, list, 1, -INF, section.request.maxDurationMinutes);
  }
  // At most `wished` slots per section.
  for (const list of group((j) => `${varSection[j]}`).values()) {
    const section = p.sections[varSection[list[0] as number] as number] as SectionInfo;
    const left = section.wished - (fixedCount.get(section.index) ?? 0);
    addRow(rows, list, 1, -INF, Math.max(0, left) * section.request.maxDurationMinutes);
  }
  // Share caps.
  for (const [key, list] of group((j) => `${p.sections[varSection[j] as number]!.applicant}|${varUnit[j]}`)) {
    const cap = p.units[varUnit[list[0] as number] as number]!.capMinutes - (fixedMinutesOn.get(key) ?? 0);
    addRow(rows, list, 1, -INF, Math.max(0, cap));
  }
  const numRows = rows.lower.length;
  const model = highs.createModel({
    numCols: n,
    numRows,
    sense: highs.constants.objectiveSense.maximize,
    colCost: Float64Array.from(rate),
    colLower: new Float64Array(n),
    colUpper: Float64Array.from(varUpper),
    rowLower: Float64Array.from(rows.lower),
    rowUpper: Float64Array.from(rows.upper),
    matrix: { format: 'csr', numRows, numCols: n, starts: Int32Array.from(rows.starts), indices: Int32Array.from(rows.indices), values: Float64Array.from(rows.values) },
  });
  try {
    model.options.set({ output_flag: false, ...(options.timeLimitSeconds === undefined ? {} : { time_limit: options.timeLimitSeconds }) });
    const run = model.run();
    const ok = run.modelStatus === highs.constants.modelStatus.optimal;
    return { bound: ok ? model.getObjectiveValue() + constant : undefined, columns: n, rows: numRows, status: run.modelStatus };
  } finally {
    model.dispose();
  }
}

export interface BoundOptions {
  /** Solve the full MILP when the round has at most this many candidates (default 3,000). */
  readonly milpMaxCandidates?: number;
  /** Solve the LP relaxation when it has at most this many (default 60,000). */
  readonly lpMaxCandidates?: number;
  readonly timeLimitSeconds?: number;
  readonly blockMinutes?: number;
}

export interface BoundResult {
  readonly bound: number | undefined;
  readonly method: 'milp' | 'lp' | 'capacity-lp' | undefined;
  /** The MILP proved its solution optimal (then `bound` is the optimum). */
  readonly optimal: boolean;
  readonly exact?: ExactResult;
}

/** The tightest upper bound the round's size allows (see file comment). */
export async function upperBound(p: Problem, options: BoundOptions = {}): Promise<BoundResult> {
  const n = p.candidateCount;
  if (n <= (options.milpMaxCandidates ?? 3_000)) {
    const exact = await solveExact(p, { timeLimitSeconds: options.timeLimitSeconds ?? 60 });
    if (exact.bound !== undefined) return { bound: exact.bound, method: 'milp', optimal: exact.status === 'optimal', exact };
  }
  if (n <= (options.lpMaxCandidates ?? 60_000)) {
    const lp = await solveExact(p, { relax: true, ...(options.timeLimitSeconds === undefined ? {} : { timeLimitSeconds: options.timeLimitSeconds }) });
    if (lp.bound !== undefined) return { bound: lp.bound, method: 'lp', optimal: false, exact: lp };
  }
  const cap = await capacityBound(p, {
    ...(options.timeLimitSeconds === undefined ? {} : { timeLimitSeconds: options.timeLimitSeconds }),
    ...(options.blockMinutes === undefined ? {} : { blockMinutes: options.blockMinutes }),
  });
  return { bound: cap.bound, method: cap.bound === undefined ? undefined : 'capacity-lp', optimal: false };
}
