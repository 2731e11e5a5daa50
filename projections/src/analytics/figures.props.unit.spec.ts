/**
 * Every figure the analyst API reports, checked against a brute-force
 * computation over the same events (testing/oracle.ts), for random histories
 * played through the real engine: bookings, cancellations, moves, staff
 * blocks (closures and events), approvals, no-shows, opening-hour and price
 * changes, a hall getting a new section, occupancy intervals and sensors,
 * over two weeks with a DST change and public holidays, and over ranges
 * whose whole months come from the monthly rollups.
 */
import fc from 'fast-check';
import { addDays } from '@vuoro/engine';
import { describe, expect, it } from 'vitest';
import type { AnalyticsQuery } from './read-model.js';
import type { Report, Row } from './report.js';
import type { Dimension } from './report.js';
import { definePark, harness } from '../testing/harness.js';
import { Oracle } from '../testing/oracle.js';
import {
  closeTo,
  expectedCostOfVacancy,
  expectedHandling,
  expectedNoShows,
  expectedUnbookedUse,
  expectedUtilization,
  keyOfRow,
} from '../testing/expected.js';
import { WINDOW_DAYS, scenarioArb, play } from '../testing/scenario.js';

/** A range around each window whose middle months are whole, so the month rollups answer them. */
const WIDE: Record<string, [string, string]> = {
  '2027-03-22': ['2027-02-25', '2027-05-03'],
  '2027-10-25': ['2027-09-28', '2027-12-02'],
  '2027-12-20': ['2027-11-29', '2028-01-03'],
};

function compare(label: string, q: AnalyticsQuery, report: Report, expected: { rows: Map<string, Row>; totals: Row }): void {
  const measures = report.columns.filter((c) => c.kind !== 'dimension').map((c) => c.key);
  const nonZero = (row: Row) => measures.some((k) => typeof row[k] === 'number' && Math.abs(row[k] as number) > 1e-6);
  const actual = new Map(report.rows.map((r) => [keyOfRow(q, r), r]));
  const problems: string[] = [];
  for (const [k, exp] of expected.rows) {
    if (!nonZero(exp)) continue;
    const act = actual.get(k);
    if (act === undefined) {
      problems.push(`row ${k} missing (expected ${JSON.stringify(exp)})`);
      continue;
    }
    for (const m of measures) if (!closeTo(act[m], exp[m], m)) problems.push(`row ${k} ${m}: got ${String(act[m])}, expected ${String(exp[m])}`);
  }
  for (const [k, act] of actual) {
    const exp = expected.rows.get(k);
    if (nonZero(act) && (exp === undefined || !nonZero(exp))) problems.push(`unexpected row ${k}: ${JSON.stringify(act)}`);
  }
  for (const m of measures) if (!closeTo(report.totals[m], expected.totals[m], m)) problems.push(`total ${m}: got ${String(report.totals[m])}, expected ${String(expected.totals[m])}`);
  if (problems.length > 0) throw new Error(`${label} ${JSON.stringify(q)}:\n  ${problems.slice(0, 12).join('\n  ')}`);
}

const GROUPINGS: Dimension[][] = [
  [],
  ['space'],
  ['site'],
  ['unit'],
  ['customerGroup'],
  ['hour'],
  ['weekday'],
  ['day'],
  ['week'],
  ['month'],
  ['season'],
  ['year'],
  ['weekday', 'hour'],
  ['space', 'month'],
  ['customerGroup', 'hour'],
];

describe('analytics figures against brute force', () => {
  it('utilization, cost of vacancy, unbooked use, no-shows and handling SLA match for random histories', { timeout: 0 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(45), async (scenario) => {
        const h = await harness();
        try {
          await definePark(h);
          await play(h, scenario);
          await h.sync();
          expect(h.runner.status().every((s) => s.status === 'live')).toBe(true);
          const oracle = new Oracle(await h.store.readAll({ after: 0, limit: 1_000_000 }));
          const narrow: [string, string] = [scenario.window, addDays(scenario.window, WINDOW_DAYS - 1)];
          const wide = WIDE[scenario.window] as [string, string];
          for (const [from, to] of [narrow, wide]) {
            for (const groupBy of GROUPINGS) {
              const q: AnalyticsQuery = { from, to, groupBy };
              compare('utilization', q, h.read.utilization(q), expectedUtilization(oracle, q));
              if (!groupBy.includes('customerGroup')) {
                compare('cost of vacancy', q, h.read.costOfVacancy(q), expectedCostOfVacancy(oracle, q));
                compare('unbooked use', q, h.read.unbookedUse(q), expectedUnbookedUse(oracle, q));
              }
            }
          }
          const filtered: AnalyticsQuery[] = [
            { from: narrow[0], to: narrow[1], groupBy: ['day'], spaceId: 'spc_hall' },
            { from: narrow[0], to: narrow[1], groupBy: ['hour'], unitId: 'unt_hall_a' },
            { from: wide[0], to: wide[1], groupBy: ['space'], customerGroupId: 'grp_residents' },
            { from: wide[0], to: wide[1], groupBy: ['weekday', 'hour'], siteId: 'sit_park', customerGroupId: 'grp_youth' },
            { from: addDays(narrow[0], 3), to: addDays(narrow[0], 9), groupBy: ['space', 'day'], unitId: 'unt_hall' },
          ];
          for (const q of filtered) {
            compare('utilization', q, h.read.utilization(q), expectedUtilization(oracle, q));
            if (q.customerGroupId === undefined) compare('cost of vacancy', q, h.read.costOfVacancy(q), expectedCostOfVacancy(oracle, q));
          }
          const asOf = Date.parse('2029-01-01T00:00:00Z');
          for (const groupBy of [[], ['customerGroup'], ['unit'], ['hour']] as Dimension[][]) {
            const q: AnalyticsQuery = { from: wide[0], to: wide[1], groupBy };
            compare('no-shows', q, h.read.noShows({ ...q, asOf }), expectedNoShows(oracle, q, asOf));
          }
          for (const asOfSla of [Date.parse(`${narrow[0]}T00:00:00Z`), asOf]) {
            const q: AnalyticsQuery = { from: addDays(narrow[0], -5), to: narrow[1], groupBy: [] };
            const sla = h.read.sla({ ...q, asOf: asOfSla, promiseHours: 48 });
            const exp = expectedHandling(oracle, q, asOfSla, 48);
            for (const [k, v] of Object.entries(exp)) {
              if (!closeTo(sla.handling.totals[k], v, k)) throw new Error(`sla ${k}: got ${String(sla.handling.totals[k])}, expected ${String(v)}`);
            }
          }
        } finally {
          await h.close();
        }
      }),
      { numRuns: Number(process.env.PROPS_RUNS ?? 25) },
    );
  });
});
