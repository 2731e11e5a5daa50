/**
 * A projection generation's tables as plain, comparable data: every row of
 * every table in a fixed order, REAL columns rounded (sums of floating-point
 * deltas may differ in their last bits with batch boundaries).
 */
import type { Database } from 'better-sqlite3';
import { liveGeneration } from '../runtime/state.js';
import { physicalTable, type Projection } from '../runtime/projection.js';

export function dumpLive(db: Database, projection: Projection): Record<string, unknown[]> {
  const live = liveGeneration(db, projection.name);
  if (live === undefined) throw new Error(`${projection.name} has no live generation`);
  const out: Record<string, unknown[]> = {};
  for (const table of projection.tables) {
    const name = physicalTable(projection.name, table, live.generation);
    const cols = (db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string }[]).map((c) => c.name);
    const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY ${cols.map((c) => `"${c}"`).join(', ')}`).all() as Record<string, unknown>[];
    out[table] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e6) / 1e6 : v])));
  }
  // Row ids of the raw occupancy table depend on insertion order only; compare without them.
  out.occupancy = (out.occupancy ?? []).map((r) => {
    const { id: _id, ...rest } = r as Record<string, unknown>;
    return rest;
  });
  return out;
}

/** Rows of fact tables whose figures are all zero (left behind by a cancellation) carry no information; drop them before comparing generations built differently. */
export function withoutZeroFacts(dump: Record<string, unknown[]>): Record<string, unknown[]> {
  const figures = ['open_ms', 'booked_ms', 'occ_ms', 'booked_occ_ms', 'mon_open_ms', 'mon_booked_ms', 'vacant_ms', 'lost_cents'];
  const out: Record<string, unknown[]> = {};
  for (const [table, rows] of Object.entries(dump)) {
    if (!/^(f|g|s|gs|c|gc)_/.test(table)) {
      out[table] = rows;
      continue;
    }
    out[table] = rows
      .filter((r) => figures.some((k) => typeof (r as Record<string, unknown>)[k] === 'number' && (r as Record<string, number>)[k] !== 0))
      .map((r) => {
        // The price of an hour is written when its open time is laid out; an hour without open time has no price to compare.
        const { price_cph, ...rest } = r as Record<string, unknown>;
        return (rest as Record<string, number>).open_ms === 0 ? rest : { ...rest, price_cph };
      });
  }
  return out;
}
