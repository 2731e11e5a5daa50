/**
 * The rounds service: the application layer between an edge (HTTP) and the
 * round partitions. It routes commands to each round's partition, runs the
 * allocator against the site partitions' current state, checks staff moves
 * against the same supply, and carries out an approval by creating one
 * series per allocation through the engine.
 *
 * Ids are made here (this is the edge of the domain): new allocations,
 * proposals, and the series an approval books. An approval is resumable: it
 * first records which series each allocation becomes, then books them with
 * idempotency keys derived from those ids, so running it again after a crash
 * books nothing twice and finishes what is missing.
 */
import { randomUUID } from 'node:crypto';
import { Assignment } from '../allocation/assignment.js';
import { explain } from '../allocation/explain.js';
import { allocate, type AllocateOptions } from '../allocation/index.js';
import { Problem } from '../allocation/model.js';
import { ownRuleViolations } from '../allocation/verify.js';
import { siteSupply, type UnitSupply } from '../allocation/supply.js';
import type { Engine, ExecuteOptions } from '../runtime/engine.js';
import { PartitionActor, type Outcome, type PartitionOptions } from '../runtime/partition.js';
import { newId } from '../shared/ids.js';
import { fail, ok, type Result } from '../shared/result.js';
import type { Actor } from '../site/commands.js';
import { roundDecider } from './decide.js';
import { allocationInput, fixedOf, toAllocations, toSectionResults } from './input.js';
import type { RoundCommand, RoundEvent } from './messages.js';
import {
  ROUNDS_REGISTRY_STREAM,
  registryCodec,
  registryDecider,
  roundCodec,
  roundStream,
  type RegistryCommand,
  type RegistryEvent,
  type RegistryState,
} from './partition.js';
import { ROUND_ID_PREFIXES, minutesOf, type Allocation, type ProposalMetrics, type SeriesResult } from './schemas.js';
import type { RoundState } from './state.js';

export type RoundActor = PartitionActor<RoundCommand, RoundEvent, RoundState>;
type RegistryActor = PartitionActor<RegistryCommand, RegistryEvent, RegistryState>;

type WithoutNow<C> = C extends { meta: { now: number } } ? Omit<C, 'meta'> & { meta: { actor: Actor; now?: number } } : never;
export type RoundCommandInput = WithoutNow<RoundCommand>;

export const newRoundId = (kind: keyof typeof ROUND_ID_PREFIXES): string => ROUND_ID_PREFIXES[kind] + randomUUID().replaceAll('-', '');

export interface SlotTarget {
  unitId: string;
  weekday: number;
  startTime: string;
  endTime: string;
}

export interface ProposeRequest {
  actor: Actor;
  solver?: AllocateOptions['solver'];
  bound?: AllocateOptions['bound'];
  idempotencyKey?: string;
}

export interface ProposalSummary {
  proposalId: string;
  metrics: ProposalMetrics;
  allocations: number;
}

export interface ApprovalReport {
  proposalId: string;
  status: 'approved' | 'published';
  complete: boolean;
  totals: { allocations: number; seriesCreated: number; seriesFailed: number; occurrencesBooked: number; occurrencesRejected: number };
  series: (SeriesResult & { applicationId: string; sectionId: string; unitId: string; weekday: number; startTime: string; endTime: string })[];
}

export class RoundService {
  private readonly actors = new Map<string, Promise<RoundActor>>();

  private constructor(
    readonly engine: Engine,
    private readonly registry: RegistryActor,
    private readonly options: PartitionOptions,
  ) {}

  static async open(engine: Engine, options: PartitionOptions = {}): Promise<RoundService> {
    const registry = await PartitionActor.load(ROUNDS_REGISTRY_STREAM, engine.store, registryDecider, registryCodec, options);
    return new RoundService(engine, registry, options);
  }

  /** Rounds that exist, in creation order. */
  list(): { roundId: string; name: string }[] {
    return this.registry.read((s) => [...s.rounds].map(([roundId, r]) => ({ roundId, name: r.name })));
  }

  has(roundId: string): boolean {
    return this.registry.read((s) => s.rounds.has(roundId));
  }

  private actor(roundId: string): Promise<RoundActor> {
    let actor = this.actors.get(roundId);
    if (actor === undefined) {
      actor = PartitionActor.load(roundStream(roundId), this.engine.store, roundDecider, roundCodec, this.options);
      this.actors.set(roundId, actor);
      actor.catch(() => this.actors.delete(roundId));
    }
    return actor;
  }

  /** Runs `f` on the round's state (do not keep or mutate what it sees); undefined for an unknown round. */
  async read<T>(roundId: string, f: (state: RoundState) => T): Promise<T | undefined> {
    if (!this.has(roundId)) return undefined;
    const actor = await this.actor(roundId);
    return actor.read((s) => (s.round === undefined ? undefined : f(s)));
  }

  async execute(command: RoundCommandInput, options: ExecuteOptions = {}): Promise<Outcome<RoundEvent>> {
    const envelope = {
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
      ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
    };
    const roundId = command.data.roundId;
    if (command.type === 'CreateRound') {
      // Register first, so a crash between the two steps leaves a known, empty round, never an unknown one.
      const registered = await this.registry.submit({
        command: { type: 'RegisterRound', data: { roundId, name: command.data.name }, meta: { actor: command.meta.actor, now: 0 } },
        ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: `${options.idempotencyKey}:register` }),
      });
      if (!registered.ok && registered.error.code !== 'ALREADY_EXISTS') return registered;
    } else if (!this.has(roundId)) {
      return fail('UNKNOWN_ROUND', `Round ${roundId} does not exist.`, { field: 'roundId' });
    }
    const actor = await this.actor(roundId);
    return actor.submit({ ...envelope, command: { ...command, meta: { ...command.meta, now: command.meta.now ?? 0 } } as RoundCommand });
  }

  /** Resolves round units to their sites (the engine knows which partition holds each unit). */
  unitsWithSites(unitIds: readonly string[]): Result<{ unitId: string; siteId: string }[]> {
    const out: { unitId: string; siteId: string }[] = [];
    for (const [k, unitId] of unitIds.entries()) {
      const siteId = this.engine.siteOfUnit(unitId);
      if (siteId === undefined) return fail('UNKNOWN_UNIT', `Reservation unit ${unitId} does not exist.`, { field: `units[${k}]` });
      out.push({ unitId, siteId });
    }
    return ok(out);
  }

  /** The applicant's customer group and whether it books free of charge, from the directory. */
  customer(customerId: string): { customerGroupId: string; freeOfCharge: boolean } | undefined {
    return this.engine.directory.read((d) => {
      const c = d.customers.get(customerId);
      if (c === undefined) return undefined;
      return { customerGroupId: c.customerGroupId, freeOfCharge: d.groups.get(c.customerGroupId)?.freeOfCharge ?? false };
    });
  }

  /** Each round unit's supply for the season, read from its site partition now. */
  async supply(state: Pick<RoundState, 'round'>): Promise<UnitSupply[]> {
    const round = state.round;
    if (round === undefined) return [];
    const bySite = new Map<string, string[]>();
    for (const u of round.units) bySite.set(u.siteId, [...(bySite.get(u.siteId) ?? []), u.unitId]);
    const out: UnitSupply[] = [];
    for (const [siteId, unitIds] of bySite) {
      const site = await this.engine.site(siteId);
      const supplies = site.read((s) => siteSupply(s, unitIds, round.season));
      for (const unitId of unitIds) {
        const s = supplies.get(unitId);
        if (s !== undefined) out.push(s);
      }
    }
    return out;
  }

  /**
   * Runs the allocator for the round (locked allocations kept, declined
   * sections left out) and records the result as the current proposal.
   */
  async propose(roundId: string, request: ProposeRequest): Promise<Result<ProposalSummary>> {
    const snapshot = await this.read(roundId, (s) => ({ status: s.status, basedOn: s.adjustments, state: s }));
    if (snapshot === undefined) return fail('UNKNOWN_ROUND', `Round ${roundId} does not exist.`, { field: 'roundId' });
    if (snapshot.status !== 'allocating') {
      return fail('INVALID_STATE', `The round is ${snapshot.status}; the allocator runs while it is allocating (close it and start the allocation first).`);
    }
    const input = allocationInput(snapshot.state, await this.supply(snapshot.state));
    const current = new Map(snapshot.state.allocations);
    const declined = new Map(snapshot.state.declined);
    const started = performance.now();
    const proposal = await allocate(input, {
      ...(request.solver === undefined ? {} : { solver: request.solver }),
      ...(request.bound === undefined ? {} : { bound: request.bound }),
    });
    const seconds = (performance.now() - started) / 1000;
    const proposalId = newRoundId('proposal');
    const allocations = toAllocations(proposal.slots, () => newRoundId('allocation'), current);
    const metrics: ProposalMetrics = { ...proposal.metrics, seconds };
    const outcome = await this.execute(
      {
        type: 'RecordProposal',
        data: { roundId, proposalId, basedOn: snapshot.basedOn, metrics, allocations, sections: toSectionResults(proposal.sections, { declined } as RoundState) },
        meta: { actor: request.actor },
      },
      request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey },
    );
    if (!outcome.ok) return outcome;
    const recorded = outcome.events.find((e) => e.type === 'ProposalRecorded')?.data as { proposalId: string; metrics: ProposalMetrics } | undefined;
    return ok({ proposalId: recorded?.proposalId ?? proposalId, metrics: recorded?.metrics ?? metrics, allocations: allocations.length });
  }

  /**
   * Checks a staff placement against the sites and the other allocations
   * (hierarchy and buffers included) and describes it under the criteria.
   */
  async place(roundId: string, base: Pick<Allocation, 'allocationId' | 'applicationId' | 'sectionId' | 'customerId'>, target: SlotTarget): Promise<Result<Allocation>> {
    const snapshot = await this.read(roundId, (s) => s);
    if (snapshot === undefined) return fail('UNKNOWN_ROUND', `Round ${roundId} does not exist.`, { field: 'roundId' });
    if (!snapshot.round!.units.some((u) => u.unitId === target.unitId)) {
      return fail('UNIT_NOT_IN_ROUND', `Unit ${target.unitId} is not offered in this round.`, { field: 'unitId' });
    }
    if (!(minutesOf(target.startTime) < minutesOf(target.endTime))) {
      return fail('INVALID_TIME_WINDOW', `${target.startTime}-${target.endTime} does not end after it starts.`, { field: 'endTime' });
    }
    const others = [...snapshot.allocations.values()].filter((a) => a.allocationId !== base.allocationId);
    const moved = fixedOf({ ...base, ...target } as Allocation);
    const input = { ...allocationInput(snapshot, await this.supply(snapshot)), fixed: [...others.map(fixedOf), moved], fixedOnly: true };
    if (!input.applications.some((a) => a.sections.some((s) => s.sectionId === base.sectionId))) {
      return fail('UNKNOWN_SECTION', `Section ${base.sectionId} is not part of a received application in this round.`, { field: 'sectionId' });
    }
    const problem = new Problem({ ...input, excludedSectionIds: [] });
    const candidate = problem.fixed.find((f) => f.allocationId === base.allocationId)!.candidate;
    const weeks = problem.cWeeks[candidate] as number;
    const usable = problem.cUsable[candidate] as number;
    if (usable < Math.ceil(problem.criteria.minUsableWeekShare * weeks - 1e-9) || usable === 0) {
      return fail('SLOT_UNAVAILABLE', `The unit is open and free at that time on ${usable} of ${weeks} weeks; the round asks for ${Math.round(problem.criteria.minUsableWeekShare * 100)} %. Pick another time or unit.`, {
        field: 'startTime',
        details: { usableWeeks: usable, weeks },
      });
    }
    const clash = ownRuleViolations(problem, problem.fixed.map((f) => f.candidate)).find((v) => v.rule === 'clash' && v.slots.includes(candidate));
    if (clash !== undefined && clash.rule === 'clash') {
      const other = problem.fixed.find((f) => f.candidate !== candidate && clash.slots.includes(f.candidate));
      return fail('SLOT_CONFLICT', `That time clashes with allocation ${other?.allocationId ?? ''} (the same space, a part of it or the whole, buffers included).`, {
        field: 'startTime',
        details: { allocationId: other?.allocationId },
      });
    }
    const assignment = Assignment.of(problem, problem.fixed.map((f) => f.candidate));
    const slot = explain(assignment, new Map(problem.fixed.map((f) => [f.candidate, f.allocationId]))).slots.find((s) => s.lockedAllocationId === base.allocationId)!;
    const [allocation] = toAllocations([slot], () => base.allocationId, new Map());
    return ok({ ...(allocation as Allocation), locked: true, source: 'staff' });
  }

  async move(roundId: string, allocationId: string, target: SlotTarget, actor: Actor, options: ExecuteOptions = {}): Promise<Outcome<RoundEvent>> {
    const current = await this.read(roundId, (s) => s.allocations.get(allocationId));
    if (current === undefined) return fail('UNKNOWN_ALLOCATION', `Allocation ${allocationId} is not in the current proposal.`, { field: 'allocationId' });
    const placed = await this.place(roundId, current, target);
    if (!placed.ok) return placed;
    return this.execute({ type: 'MoveAllocation', data: { roundId, allocation: placed.value }, meta: { actor } }, options);
  }

  async add(roundId: string, sectionId: string, target: SlotTarget, actor: Actor, options: ExecuteOptions = {}): Promise<Outcome<RoundEvent>> {
    const owner = await this.read(roundId, (s) => {
      const applicationId = s.sectionOwner.get(sectionId);
      const record = applicationId === undefined ? undefined : s.applications.get(applicationId);
      return record === undefined ? undefined : { applicationId: record.application.applicationId, customerId: record.application.applicant.customerId };
    });
    if (owner === undefined) return fail('UNKNOWN_SECTION', `Section ${sectionId} is not part of a received application in this round.`, { field: 'sectionId' });
    const placed = await this.place(roundId, { allocationId: newRoundId('allocation'), sectionId, ...owner }, target);
    if (!placed.ok) return placed;
    return this.execute({ type: 'AddAllocation', data: { roundId, allocation: placed.value }, meta: { actor } }, options);
  }

  /**
   * Approves the current proposal and books a seasonal series per
   * allocation, reporting every rejected occurrence. Safe to repeat: an
   * approved round resumes with the series still missing.
   */
  async approve(roundId: string, request: { actor: Actor; proposalId?: string; idempotencyKey?: string }): Promise<Result<ApprovalReport>> {
    const before = await this.read(roundId, (s) => ({ status: s.status, proposalId: s.proposal?.proposalId, allocationIds: [...s.allocations.keys()] }));
    if (before === undefined) return fail('UNKNOWN_ROUND', `Round ${roundId} does not exist.`, { field: 'roundId' });
    if (before.status === 'allocating') {
      const approved = await this.execute(
        {
          type: 'ApproveAllocation',
          data: {
            roundId,
            proposalId: request.proposalId ?? before.proposalId ?? '',
            series: before.allocationIds.map((allocationId) => ({ allocationId, seriesId: newId('series') })),
          },
          meta: { actor: request.actor },
        },
        request.idempotencyKey === undefined ? {} : { idempotencyKey: `${request.idempotencyKey}:approve` },
      );
      if (!approved.ok) return approved;
    } else if (before.status !== 'approved' && before.status !== 'published') {
      return fail('INVALID_STATE', `The round is ${before.status}; approve it while it is allocating.`);
    }
    const work = await this.read(roundId, (s) => {
      const approval = s.approval!;
      return [...approval.series]
        .filter(([allocationId]) => approval.results.get(allocationId)?.outcome !== 'created')
        .map(([allocationId, seriesId]) => {
          const a = s.allocations.get(allocationId)!;
          const application = s.applications.get(a.applicationId)!.application;
          const section = application.sections.find((x) => x.sectionId === a.sectionId)!;
          return { a, seriesId, applicant: application.applicant, period: section.period ?? s.round!.season };
        });
    });
    // Series of different sites commit in parallel; within a site they share group commits.
    const BATCH = 64;
    for (let k = 0; k < (work ?? []).length; k += BATCH) {
      await Promise.all((work ?? []).slice(k, k + BATCH).map((w) => this.bookSeries(roundId, w, request.actor)));
    }
    return ok((await this.report(roundId))!);
  }

  private async bookSeries(
    roundId: string,
    w: { a: Allocation; seriesId: string; applicant: { customerId: string; customerGroupId: string; freeOfCharge: boolean }; period: { fromDate: string; toDate: string } },
    actor: Actor,
  ): Promise<void> {
    const { a, seriesId } = w;
    const outcome = await this.engine.execute(
      {
        type: 'CreateSeries',
        data: {
          seriesId,
          unitId: a.unitId,
          customer: { customerId: w.applicant.customerId, customerGroupId: w.applicant.customerGroupId, freeOfCharge: w.applicant.freeOfCharge },
          pattern: { weekdays: [a.weekday], startTime: a.startTime, endTime: a.endTime, fromDate: w.period.fromDate, toDate: w.period.toDate, everyWeeks: 1 },
          kind: 'seasonal',
          roundId,
        },
        meta: { actor },
      },
      { idempotencyKey: `round:${roundId}:series:${seriesId}` },
    );
    // The site partition is the truth about what was booked (also for a retry of a series made before a crash).
    const siteId = this.engine.siteOfUnit(a.unitId);
    const series = siteId === undefined ? undefined : (await this.engine.site(siteId)).read((s) => {
      const v = s.series.get(seriesId);
      return v === undefined ? undefined : { booked: v.occurrenceIds.length, rejected: v.rejected.filter((r) => r.revision === 1).map((r) => ({ date: r.date, reason: r.reason, message: r.message })) };
    });
    const result: SeriesResult =
      series !== undefined
        ? { allocationId: a.allocationId, seriesId, outcome: 'created', booked: series.booked, rejected: series.rejected }
        : {
            allocationId: a.allocationId,
            seriesId,
            outcome: 'failed',
            booked: 0,
            rejected: [],
            error: outcome.ok ? { code: 'UNKNOWN', message: 'The series was not found after booking.' } : { code: outcome.error.code, message: outcome.error.message },
          };
    await this.execute({ type: 'RecordSeriesResult', data: { roundId, result }, meta: { actor } }, { idempotencyKey: `round:${roundId}:series-result:${seriesId}:${result.outcome}` });
  }

  /** The approval's outcome so far: series booked, occurrences rejected and why. */
  async report(roundId: string): Promise<ApprovalReport | undefined> {
    return this.read(roundId, (s) => {
      const approval = s.approval;
      if (approval === undefined) return undefined;
      const series = [...approval.series].map(([allocationId, seriesId]) => {
        const a = s.allocations.get(allocationId)!;
        const result = approval.results.get(allocationId) ?? { allocationId, seriesId, outcome: 'failed' as const, booked: 0, rejected: [], error: { code: 'PENDING', message: 'Not booked yet; approve again to finish.' } };
        return { ...result, applicationId: a.applicationId, sectionId: a.sectionId, unitId: a.unitId, weekday: a.weekday, startTime: a.startTime, endTime: a.endTime };
      });
      const created = series.filter((x) => x.outcome === 'created');
      return {
        proposalId: approval.proposalId,
        status: s.status === 'published' ? ('published' as const) : ('approved' as const),
        complete: created.length === series.length,
        totals: {
          allocations: series.length,
          seriesCreated: created.length,
          seriesFailed: series.length - created.length,
          occurrencesBooked: created.reduce((n, x) => n + x.booked, 0),
          occurrencesRejected: created.reduce((n, x) => n + x.rejected.length, 0),
        },
        series,
      };
    }).then((r) => r ?? undefined);
  }

  async close(): Promise<void> {
    const actors = await Promise.allSettled([...this.actors.values()]);
    await Promise.all(actors.map((a) => (a.status === 'fulfilled' ? a.value.close() : undefined)));
    await this.registry.close();
  }
}
