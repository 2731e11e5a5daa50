/**
 * Commands to a round partition and the events it records. Every command
 * names its round (`roundId`), which is also its partition: stream
 * `round-<roundId>`. Time comes in `meta.now`, stamped by the runtime.
 */
import { z } from 'zod';
import { criteriaSchema } from '../allocation/criteria.js';
import { idSchema } from '../catalogue/schemas.js';
import type { CommandMeta } from '../site/commands.js';
import {
  allocationSchema,
  applicationSchema,
  proposalMetricsSchema,
  roundUnitSchema,
  seasonSchema,
  sectionResultSchema,
  seriesResultSchema,
} from './schemas.js';

const instant = z.iso.datetime({ offset: true });
const roundRef = z.object({ roundId: idSchema }).strict();
const reason = z.string().trim().min(1, 'say why; the applicant is told').max(1000);

export const ROUND_COMMAND_SCHEMAS = {
  CreateRound: z
    .object({
      roundId: idSchema,
      name: z.string().trim().min(1).max(200),
      season: seasonSchema,
      units: z.array(roundUnitSchema).min(1).max(5000),
      criteria: criteriaSchema,
      /** Applications are refused after this instant even while the round is open. */
      applicationsCloseAt: instant.optional(),
    })
    .strict(),
  UpdateRound: z
    .object({
      roundId: idSchema,
      name: z.string().trim().min(1).max(200).optional(),
      season: seasonSchema.optional(),
      units: z.array(roundUnitSchema).min(1).max(5000).optional(),
      criteria: criteriaSchema.optional(),
      applicationsCloseAt: instant.nullable().optional(),
    })
    .strict(),
  OpenRound: roundRef,
  CloseRound: roundRef,
  SubmitApplication: z.object({ roundId: idSchema, application: applicationSchema }).strict(),
  AmendApplication: z.object({ roundId: idSchema, application: applicationSchema }).strict(),
  WithdrawApplication: z.object({ roundId: idSchema, applicationId: idSchema, reason: z.string().max(1000).default('') }).strict(),
  StartAllocation: roundRef,
  RecordProposal: z
    .object({
      roundId: idSchema,
      proposalId: idSchema,
      /** The round's adjustment count the proposal was computed from; staff changes since make it stale. */
      basedOn: z.number().int().min(0),
      metrics: proposalMetricsSchema,
      allocations: z.array(allocationSchema),
      sections: z.array(sectionResultSchema),
    })
    .strict(),
  LockAllocation: z.object({ roundId: idSchema, allocationId: idSchema }).strict(),
  UnlockAllocation: z.object({ roundId: idSchema, allocationId: idSchema }).strict(),
  /** A staff move: the allocation with its new unit and time (the service fills in what the criteria make of it). */
  MoveAllocation: z.object({ roundId: idSchema, allocation: allocationSchema }).strict(),
  AddAllocation: z.object({ roundId: idSchema, allocation: allocationSchema }).strict(),
  RemoveAllocation: z.object({ roundId: idSchema, allocationId: idSchema, reason }).strict(),
  DeclineSection: z.object({ roundId: idSchema, sectionId: idSchema, reason }).strict(),
  ReinstateSection: z.object({ roundId: idSchema, sectionId: idSchema }).strict(),
  ApproveAllocation: z
    .object({
      roundId: idSchema,
      proposalId: idSchema,
      /** The series id each allocation becomes (made at the edge, so a retried approval books the same series). */
      series: z.array(z.object({ allocationId: idSchema, seriesId: idSchema }).strict()),
    })
    .strict(),
  RecordSeriesResult: z.object({ roundId: idSchema, result: seriesResultSchema }).strict(),
  PublishRound: roundRef,
} as const;

type Schemas = typeof ROUND_COMMAND_SCHEMAS;
export type RoundCommandType = keyof Schemas;
export type RoundCommandData<K extends RoundCommandType> = z.output<Schemas[K]>;
export type RoundCommand = { [K in RoundCommandType]: { type: K; data: z.output<Schemas[K]>; meta: CommandMeta } }[RoundCommandType];
export type RoundCommandOf<K extends RoundCommandType> = Extract<RoundCommand, { type: K }>;
export const isRoundCommandType = (t: string): t is RoundCommandType => Object.hasOwn(ROUND_COMMAND_SCHEMAS, t);

const by = z.string().min(1);

export const ROUND_EVENT_SCHEMAS = {
  RoundCreated: z.object({
    roundId: idSchema,
    name: z.string(),
    season: seasonSchema,
    units: z.array(roundUnitSchema),
    criteria: criteriaSchema,
    applicationsCloseAt: instant.optional(),
    by,
  }),
  RoundUpdated: z.object({
    roundId: idSchema,
    name: z.string(),
    season: seasonSchema,
    units: z.array(roundUnitSchema),
    criteria: criteriaSchema,
    applicationsCloseAt: instant.optional(),
    by,
  }),
  RoundOpened: z.object({ roundId: idSchema, by }),
  RoundClosed: z.object({ roundId: idSchema, by }),
  ApplicationSubmitted: z.object({ application: applicationSchema, by }),
  ApplicationAmended: z.object({ application: applicationSchema, by }),
  ApplicationWithdrawn: z.object({ applicationId: idSchema, reason: z.string(), by }),
  AllocationStarted: z.object({ roundId: idSchema, by }),
  ProposalRecorded: z.object({ proposalId: idSchema, basedOn: z.number().int(), metrics: proposalMetricsSchema, by }),
  /** A proposal's allocations, in chunks so that no single event grows without bound. */
  ProposalAllocationsRecorded: z.object({ proposalId: idSchema, allocations: z.array(allocationSchema) }),
  ProposalSectionsRecorded: z.object({ proposalId: idSchema, sections: z.array(sectionResultSchema) }),
  AllocationLocked: z.object({ allocationId: idSchema, by }),
  AllocationUnlocked: z.object({ allocationId: idSchema, by }),
  AllocationMoved: z.object({ allocation: allocationSchema, by }),
  AllocationAdded: z.object({ allocation: allocationSchema, by }),
  AllocationRemoved: z.object({ allocationId: idSchema, reason: z.string(), by }),
  SectionDeclined: z.object({ applicationId: idSchema, sectionId: idSchema, reason: z.string(), by }),
  SectionReinstated: z.object({ applicationId: idSchema, sectionId: idSchema, by }),
  AllocationApproved: z.object({
    proposalId: idSchema,
    series: z.array(z.object({ allocationId: idSchema, seriesId: idSchema })),
    by,
  }),
  SeriesResultRecorded: z.object({ result: seriesResultSchema }),
  RoundPublished: z.object({ roundId: idSchema, by }),
} as const;

type EventSchemas = typeof ROUND_EVENT_SCHEMAS;
export type RoundEventType = keyof EventSchemas;
export type RoundEvent = { [K in RoundEventType]: { type: K; data: z.infer<EventSchemas[K]> } }[RoundEventType];
export type RoundEventOf<K extends RoundEventType> = Extract<RoundEvent, { type: K }>;
export const isRoundEventType = (t: string): t is RoundEventType => Object.hasOwn(ROUND_EVENT_SCHEMAS, t);

/** Allocations and section results per proposal event. */
export const PROPOSAL_CHUNK = 500;
