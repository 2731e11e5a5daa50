/**
 * The baseline the benchmark compares against: first come, first served, at
 * the minimum duration, like the automatic allocation Helsinki's current
 * system dropped. Applications are taken in submission order; each section
 * gets, wish by wish, the first slot that fits (first-ranked unit, earliest
 * weekday and time) at its minimum duration. No priorities, no fairness
 * rounds, no share caps; it still never double-books and keeps to the
 * windows, since any allocator must.
 */
import { Assignment } from './assignment.js';
import type { Problem, SectionInfo } from './model.js';

export function greedyMinDuration(p: Problem): Assignment {
  const a = new Assignment(p);
  for (const f of p.fixed) a.award(f.candidate);
  const sections = [...p.sections].sort((x, y) => x.application.sequence - y.application.sequence || x.index - y.index);
  for (const section of sections) {
    if (section.excluded) continue;
    const order = naturalOrder(p, section);
    for (const c of order) {
      const mine = a.bySection[section.index] as number[];
      if (mine.length >= section.wished) break;
      if (mine.some((x) => p.cDay[x] === p.cDay[c])) continue;
      if (a.occ.firstClash(c) >= 0) continue;
      a.award(c);
    }
  }
  a.designateFirsts();
  return a;
}

/** Minimum-duration candidates, first-ranked unit first, then weekday and start time. */
function naturalOrder(p: Problem, section: SectionInfo): number[] {
  const min = section.request.minDurationMinutes;
  const out: number[] = [];
  for (let c = section.candFrom; c < section.candTo; c++) if ((p.cEnd[c] as number) - (p.cStart[c] as number) === min) out.push(c);
  return out.sort(
    (x, y) =>
      (p.cRank[x] as number) - (p.cRank[y] as number) ||
      (p.cDay[x] as number) - (p.cDay[y] as number) ||
      (p.cStart[x] as number) - (p.cStart[y] as number),
  );
}
