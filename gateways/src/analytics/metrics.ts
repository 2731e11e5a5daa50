/**
 * Projection lag on /metrics: per projection, the events it has not applied
 * yet and the age of the oldest of them, its checkpoint and events applied.
 * Gauges read live state when scraped (prom-client `collect`), from the
 * runner in this process or, when projections run in a process of their own,
 * from the read-model database and the event store.
 */
import { Gauge, type Registry } from 'prom-client';
import type { LagView, SlotStatusView } from '@vuoro/projections';

export interface LagSource {
  lag(): Promise<LagView[]>;
  status(): SlotStatusView[];
}

/** Requests needing handling that are still undecided, and those of them past the promise (as of now). */
export interface HandlingBacklog {
  pending: number;
  overdue: number;
}

export function registerProjectionMetrics(registry: Registry, source: LagSource, sla?: { handlingBacklog(): HandlingBacklog | undefined }): void {
  let lastLag: Promise<LagView[]> | undefined;
  // One store read per scrape, shared by the gauges that need it.
  const lag = (): Promise<LagView[]> => (lastLag ??= source.lag().finally(() => setImmediate(() => (lastLag = undefined))));

  new Gauge({
    name: 'vuoro_projection_lag_events',
    help: 'Events in the feed a projection has not applied yet',
    labelNames: ['projection'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const l of await lag()) this.set({ projection: l.projection }, l.eventsBehind);
    },
  });
  new Gauge({
    name: 'vuoro_projection_lag_seconds',
    help: 'Age of the oldest event a projection has not applied yet (0 when caught up)',
    labelNames: ['projection'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const l of await lag()) this.set({ projection: l.projection }, l.msBehind / 1000);
    },
  });
  new Gauge({
    name: 'vuoro_projection_checkpoint',
    help: 'Feed position up to which a projection has applied every event',
    labelNames: ['projection', 'role'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.set({ projection: s.projection, role: s.role }, s.checkpoint);
    },
  });
  new Gauge({
    name: 'vuoro_projection_events_applied',
    help: 'Events a projection generation has applied since it was created',
    labelNames: ['projection', 'role'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.set({ projection: s.projection, role: s.role }, s.eventsApplied);
    },
  });
  new Gauge({
    name: 'vuoro_projection_up',
    help: '1 while a projection applies events, 0 once it failed (see /v1/analytics/status)',
    labelNames: ['projection', 'role'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of source.status()) this.set({ projection: s.projection, role: s.role }, s.status === 'failed' ? 0 : 1);
    },
  });
  if (sla === undefined) return;
  // The service level promise (palvelutasolupaus) for requests needing handling: what waits, and
  // what waits past the promise. Read from the read model when scraped; absent while it is not ready.
  new Gauge({
    name: 'vuoro_sla_handling_pending_requests',
    help: 'Requests needing handling that are still undecided',
    registers: [registry],
    collect() {
      this.reset();
      const b = sla.handlingBacklog();
      if (b !== undefined) this.set(b.pending);
    },
  });
  new Gauge({
    name: 'vuoro_sla_handling_overdue_requests',
    help: 'Requests needing handling still undecided past the handling promise (SLA breaches in progress)',
    registers: [registry],
    collect() {
      this.reset();
      const b = sla.handlingBacklog();
      if (b !== undefined) this.set(b.overdue);
    },
  });
}
