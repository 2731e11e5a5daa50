/**
 * Lag and status of projections that run in another process (fed by NATS
 * JetStream, say): read from the read-model database they write and from
 * the event store, the same figures the runner reports in its own process.
 */
import type { Database } from 'better-sqlite3';
import type { EventStore } from '@vuoro/engine';
import type { LagView, SlotStatusView } from './runner.js';
import { SlotStore } from './state.js';

export class ProjectionObserver {
  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly options: { clock?: () => number; headProbe?: (after: number) => Promise<number> } = {},
  ) {}

  status(): SlotStatusView[] {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_slots'").get();
    if (exists === undefined) return [];
    return new SlotStore(this.db).list().map((s) => ({
      projection: s.projection,
      role: s.role,
      version: s.version,
      generation: s.generation,
      status: s.status,
      checkpoint: s.checkpoint,
      eventsApplied: s.eventsApplied,
      queued: 0,
      lastRecordedAt: s.lastRecordedAt,
      appliedAt: s.appliedAt,
      error: s.error,
    }));
  }

  async lag(): Promise<LagView[]> {
    const now = (this.options.clock ?? Date.now)();
    const out: LagView[] = [];
    for (const s of this.status()) {
      if (s.role !== 'live') continue;
      const next = (await this.store.readAll({ after: s.checkpoint, limit: 1 }))[0];
      const eventsBehind = this.options.headProbe !== undefined ? await this.options.headProbe(s.checkpoint) : next === undefined ? 0 : 1;
      out.push({
        projection: s.projection,
        checkpoint: s.checkpoint,
        eventsBehind,
        msBehind: next === undefined ? 0 : Math.max(0, now - Date.parse(next.metadata.recordedAt)),
        status: s.status,
      });
    }
    return out;
  }
}
