/**
 * Shapes of seasonal application rounds (hakukierros): the round, the
 * applications and their sections, and the allocations of a proposal. zod
 * schemas are the single source; commands, events and the HTTP edge use them.
 *
 * Vocabulary after Helsinki's tilavarauspalvelu: an application has
 * *sections* (one kind of activity each: how many slots a week, how long,
 * which units in order of preference, which times suit, primary or
 * secondary); an allocation is one weekly slot given to a section.
 */
import { z } from 'zod';
import { criteriaSchema } from '../allocation/criteria.js';
import { REASON_CODES } from '../allocation/explain.js';
import { dayNumberOf, isLocalDate, wallMinutesOf } from '../calendar/index.js';
import { idSchema } from '../catalogue/schemas.js';

/** Prefixes of the ids this capability names (ids are made at the edge, see shared/ids.ts). */
export const ROUND_ID_PREFIXES = {
  round: 'rnd_',
  application: 'app_',
  section: 'sec_',
  allocation: 'alc_',
  proposal: 'prp_',
} as const;

export const localDateSchema = z.string().refine(isLocalDate, 'a date is YYYY-MM-DD');

export const wallTimeSchema = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a time is HH:mm (00:00-24:00), Helsinki wall time');

export const weekdaySchema = z.number().int().min(1, 'weekdays are 1 (Monday) to 7 (Sunday)').max(7, 'weekdays are 1 (Monday) to 7 (Sunday)');

/** A round covers at most a year: an allocation works on week sets of up to 64 weeks. */
export const MAX_SEASON_DAYS = 371;

export const seasonSchema = z
  .object({ fromDate: localDateSchema, toDate: localDateSchema })
  .strict()
  .refine((s) => !isLocalDate(s.fromDate) || !isLocalDate(s.toDate) || s.fromDate <= s.toDate, { message: 'the season ends before it starts', path: ['toDate'] })
  .refine((s) => !isLocalDate(s.fromDate) || !isLocalDate(s.toDate) || dayNumberOf(s.toDate) - dayNumberOf(s.fromDate) < MAX_SEASON_DAYS, {
    message: `a season lasts at most ${MAX_SEASON_DAYS} days`,
    path: ['toDate'],
  });
export type SeasonInput = z.infer<typeof seasonSchema>;

export const roundUnitSchema = z.object({ unitId: idSchema, siteId: idSchema }).strict();
export type RoundUnit = z.infer<typeof roundUnitSchema>;

export const contactSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    email: z.email(),
    phone: z.string().trim().max(40).optional(),
  })
  .strict();

export const applicantSchema = z
  .object({
    customerId: idSchema,
    customerGroupId: idSchema,
    freeOfCharge: z.boolean().default(false),
    organisationName: z.string().trim().min(1).max(200).optional(),
    contact: contactSchema,
  })
  .strict();
export type Applicant = z.infer<typeof applicantSchema>;

export const timeWindowSchema = z
  .object({
    weekday: weekdaySchema,
    from: wallTimeSchema,
    to: wallTimeSchema,
    priority: z.enum(['primary', 'secondary']),
  })
  .strict();

export const previousSlotSchema = z
  .object({ unitId: idSchema, weekday: weekdaySchema, from: wallTimeSchema, to: wallTimeSchema })
  .strict();

const minutes = z.number().int().min(15).max(24 * 60).refine((m) => m % 15 === 0, 'durations are whole quarters of an hour (15, 30, 45...)');

export const sectionSchema = z
  .object({
    sectionId: idSchema,
    name: z.string().trim().min(1).max(200),
    /** Slots wished per week, each on its own weekday. */
    wishedPerWeek: z.number().int().min(1).max(7),
    minDurationMinutes: minutes,
    maxDurationMinutes: minutes,
    /** Within the season; default the whole season. */
    period: z.object({ fromDate: localDateSchema, toDate: localDateSchema }).strict().optional(),
    /** Reservation unit options, the most wanted first. */
    unitOptions: z.array(idSchema).min(1).max(10),
    /** Suitable time ranges, primary or secondary. */
    timeWindows: z.array(timeWindowSchema).min(1).max(50),
    /** Last season's slots (continuity). */
    previousSlots: z.array(previousSlotSchema).max(14).default([]),
    purpose: z.string().trim().max(200).optional(),
    ageGroup: z.string().trim().max(50).optional(),
    numPersons: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();
export type Section = z.infer<typeof sectionSchema>;
export type SectionInput = z.input<typeof sectionSchema>;

export const applicationSchema = z
  .object({
    applicationId: idSchema,
    applicant: applicantSchema,
    priorityCategoryId: z.string().min(1).max(40),
    sections: z.array(sectionSchema).min(1).max(20),
    notes: z.string().max(4000).optional(),
  })
  .strict();
export type Application = z.infer<typeof applicationSchema>;
export type ApplicationInput = z.input<typeof applicationSchema>;

// ---------------------------------------------------------------------------
// Proposals

export const slotRefSchema = z.object({ unitId: idSchema, weekday: weekdaySchema, startTime: wallTimeSchema, endTime: wallTimeSchema }).strict();

export const competitorSchema = z
  .object({
    applicationId: idSchema,
    sectionId: idSchema,
    priorityCategoryId: z.string(),
    level: z.number().int().min(1),
    locked: z.boolean(),
    slot: slotRefSchema,
  })
  .strict();

export const noteSchema = z
  .object({
    code: z.enum(REASON_CODES),
    message: z.string(),
    slot: slotRefSchema.optional(),
    competitors: z.array(competitorSchema).optional(),
  })
  .strict();
export type Note = z.infer<typeof noteSchema>;

export const allocationSchema = z
  .object({
    allocationId: idSchema,
    applicationId: idSchema,
    sectionId: idSchema,
    customerId: idSchema,
    unitId: idSchema,
    weekday: weekdaySchema,
    startTime: wallTimeSchema,
    endTime: wallTimeSchema,
    /** Staff locked it: re-runs keep it as it is. */
    locked: z.boolean(),
    source: z.enum(['allocator', 'staff']),
    /** 1 = the applicant's first slot. */
    level: z.number().int().min(1),
    window: z.enum(['primary', 'secondary', 'outside']),
    unitRank: z.number().int().min(1),
    continuity: z.boolean(),
    usableWeeks: z.number().int().min(0),
    weeks: z.number().int().min(0),
    value: z.number(),
    notes: z.array(noteSchema),
  })
  .strict();
export type Allocation = z.infer<typeof allocationSchema>;

export const sectionResultSchema = z
  .object({
    applicationId: idSchema,
    sectionId: idSchema,
    status: z.enum(['allocated', 'partial', 'unallocated', 'declined']),
    wished: z.number().int(),
    awarded: z.number().int(),
    requestedMinutes: z.number().int(),
    awardedMinutes: z.number().int(),
    notes: z.array(noteSchema),
  })
  .strict();
export type SectionResult = z.infer<typeof sectionResultSchema>;

export const proposalMetricsSchema = z
  .object({
    solver: z.enum(['heuristic', 'exact']),
    objective: z.number(),
    bound: z.number().nullable(),
    gap: z.number().nullable(),
    boundMethod: z.enum(['milp', 'lp', 'capacity-lp']).nullable(),
    provenOptimal: z.boolean(),
    candidates: z.number().int(),
    applicants: z.number().int(),
    applicantsServed: z.number().int(),
    sections: z.number().int(),
    sectionsAllocated: z.number().int(),
    sectionsPartial: z.number().int(),
    sectionsUnallocated: z.number().int(),
    requestedMinutes: z.number().int(),
    awardedMinutes: z.number().int(),
    /** Wall time the allocator and the bound took, for the record. */
    seconds: z.number().min(0),
  })
  .strict();
export type ProposalMetrics = z.infer<typeof proposalMetricsSchema>;

export const seriesResultSchema = z
  .object({
    allocationId: idSchema,
    seriesId: idSchema,
    outcome: z.enum(['created', 'failed']),
    booked: z.number().int().min(0),
    rejected: z.array(z.object({ date: localDateSchema, reason: z.string(), message: z.string() }).strict()),
    error: z.object({ code: z.string(), message: z.string() }).strict().optional(),
  })
  .strict();
export type SeriesResult = z.infer<typeof seriesResultSchema>;

/** Minutes of a validated wall time. */
export const minutesOf = (hhmm: string): number => wallMinutesOf(hhmm) ?? 0;

export { criteriaSchema };
