/**
 * The state of one application round, folded from its events. Owned by one
 * writer (the partition actor), so evolve updates it in place.
 */
import type { Criteria } from '../allocation/criteria.js';
import type { RoundEvent } from './messages.js';
import type { Allocation, Application, ProposalMetrics, RoundUnit, SeasonInput, SectionResult, SeriesResult } from './schemas.js';

export const ROUND_STATUSES = ['draft', 'open', 'closed', 'allocating', 'approved', 'published'] as const;
export type RoundStatus = (typeof ROUND_STATUSES)[number];

export interface RoundInfo {
  roundId: string;
  name: string;
  season: SeasonInput;
  units: RoundUnit[];
  criteria: Criteria;
  applicationsCloseAt: string | undefined;
}

export interface ApplicationRecord {
  application: Application;
  status: 'received' | 'withdrawn';
  /** Order of submission (first come first), 1-based. */
  sequence: number;
  withdrawReason?: string;
}

export interface ProposalInfo {
  proposalId: string;
  basedOn: number;
  metrics: ProposalMetrics;
  by: string;
}

export interface ApprovalInfo {
  proposalId: string;
  series: Map<string, string>;
  results: Map<string, SeriesResult>;
}

export interface RoundState {
  round: RoundInfo | undefined;
  status: RoundStatus;
  applications: Map<string, ApplicationRecord>;
  /** sectionId -> applicationId, for sections of received applications. */
  sectionOwner: Map<string, string>;
  declined: Map<string, string>;
  proposal: ProposalInfo | undefined;
  allocations: Map<string, Allocation>;
  sectionResults: Map<string, SectionResult>;
  /** Counts staff changes an allocator run must see (locks, moves, declines...); a proposal names the count it saw. */
  adjustments: number;
  proposals: { proposalId: string; metrics: ProposalMetrics }[];
  approval: ApprovalInfo | undefined;
  submissions: number;
}

export const initialRoundState = (): RoundState => ({
  round: undefined,
  status: 'draft',
  applications: new Map(),
  sectionOwner: new Map(),
  declined: new Map(),
  proposal: undefined,
  allocations: new Map(),
  sectionResults: new Map(),
  adjustments: 0,
  proposals: [],
  approval: undefined,
  submissions: 0,
});

const removeSectionsOf = (state: RoundState, application: Application): void => {
  for (const s of application.sections) state.sectionOwner.delete(s.sectionId);
};

const addSectionsOf = (state: RoundState, application: Application): void => {
  for (const s of application.sections) state.sectionOwner.set(s.sectionId, application.applicationId);
};

export function evolveRound(state: RoundState, event: RoundEvent): RoundState {
  switch (event.type) {
    case 'RoundCreated':
    case 'RoundUpdated': {
      const d = event.data;
      state.round = { roundId: d.roundId, name: d.name, season: d.season, units: d.units, criteria: d.criteria, applicationsCloseAt: d.applicationsCloseAt };
      return state;
    }
    case 'RoundOpened':
      state.status = 'open';
      return state;
    case 'RoundClosed':
      state.status = 'closed';
      return state;
    case 'AllocationStarted':
      state.status = 'allocating';
      return state;
    case 'RoundPublished':
      state.status = 'published';
      return state;
    case 'ApplicationSubmitted': {
      const application = event.data.application;
      state.submissions++;
      state.applications.set(application.applicationId, { application, status: 'received', sequence: state.submissions });
      addSectionsOf(state, application);
      return state;
    }
    case 'ApplicationAmended': {
      const application = event.data.application;
      const record = state.applications.get(application.applicationId);
      if (record !== undefined) {
        removeSectionsOf(state, record.application);
        record.application = application;
        addSectionsOf(state, application);
      }
      return state;
    }
    case 'ApplicationWithdrawn': {
      const record = state.applications.get(event.data.applicationId);
      if (record !== undefined) {
        record.status = 'withdrawn';
        record.withdrawReason = event.data.reason;
        removeSectionsOf(state, record.application);
      }
      return state;
    }
    case 'ProposalRecorded':
      state.proposal = { proposalId: event.data.proposalId, basedOn: event.data.basedOn, metrics: event.data.metrics, by: event.data.by };
      state.proposals.push({ proposalId: event.data.proposalId, metrics: event.data.metrics });
      state.allocations.clear();
      state.sectionResults.clear();
      return state;
    case 'ProposalAllocationsRecorded':
      for (const a of event.data.allocations) state.allocations.set(a.allocationId, a);
      return state;
    case 'ProposalSectionsRecorded':
      for (const s of event.data.sections) state.sectionResults.set(s.sectionId, s);
      return state;
    case 'AllocationLocked':
    case 'AllocationUnlocked': {
      const a = state.allocations.get(event.data.allocationId);
      if (a !== undefined) state.allocations.set(a.allocationId, { ...a, locked: event.type === 'AllocationLocked' });
      state.adjustments++;
      return state;
    }
    case 'AllocationMoved':
    case 'AllocationAdded':
      state.allocations.set(event.data.allocation.allocationId, event.data.allocation);
      state.adjustments++;
      return state;
    case 'AllocationRemoved':
      state.allocations.delete(event.data.allocationId);
      state.adjustments++;
      return state;
    case 'SectionDeclined':
      state.declined.set(event.data.sectionId, event.data.reason);
      for (const [id, a] of state.allocations) if (a.sectionId === event.data.sectionId) state.allocations.delete(id);
      state.adjustments++;
      return state;
    case 'SectionReinstated':
      state.declined.delete(event.data.sectionId);
      state.adjustments++;
      return state;
    case 'AllocationApproved':
      state.status = 'approved';
      state.approval = { proposalId: event.data.proposalId, series: new Map(event.data.series.map((s) => [s.allocationId, s.seriesId])), results: new Map() };
      return state;
    case 'SeriesResultRecorded':
      state.approval?.results.set(event.data.result.allocationId, event.data.result);
      return state;
    default: {
      const exhaustive: never = event;
      throw new Error(`unhandled round event ${(exhaustive as { type: string }).type}`);
    }
  }
}
