/**
 * Allocation criteria (jakoperusteet) as data: a round publishes them, the
 * allocator reads them, and every number in a proposal's objective comes from
 * here. Nothing about priorities, fairness or preferences is hard-coded in the
 * allocator.
 */
import { z } from 'zod';

const categoryId = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'a category id is lower case letters, digits and "_" (e.g. children_youth)');

export const priorityCategorySchema = z
  .object({
    categoryId,
    name: z.string().trim().min(1).max(200),
    /** Objective points per awarded hour; the categories are listed from the highest priority down. */
    weight: z.number().positive().max(1000),
  })
  .strict();
export type PriorityCategory = z.infer<typeof priorityCategorySchema>;

export const criteriaSchema = z
  .object({
    /** Ordered, highest priority first; weights must not increase down the list. */
    priorityCategories: z.array(priorityCategorySchema).min(1).max(20),
    /** Multipliers for a slot inside the applicant's primary windows, or only inside a secondary one. */
    windowFactors: z
      .object({ primary: z.number().positive().max(1), secondary: z.number().min(0).max(1) })
      .strict()
      .default({ primary: 1, secondary: 0.6 }),
    /** Multiplier by the rank of the unit in the applicant's list: [first choice, second, ...]; the last one repeats. */
    unitRankFactors: z.array(z.number().gt(0).max(1)).min(1).max(10).default([1, 0.85, 0.7, 0.55]),
    /** Points (weighted hours) for a slot at the same unit, weekday and time as the applicant's slot last season. */
    continuityBonus: z.number().min(0).max(1000).default(1),
    /** Durations between a section's minimum and maximum are tried in steps of this many minutes (longest first). */
    durationStepMinutes: z.number().int().min(15).max(240).default(30),
    /**
     * A slot is offered only if it can be used on at least this share of the
     * season's weeks (holidays, closures and existing reservations take the
     * rest; those occurrences become rejected occurrences of the series).
     */
    minUsableWeekShare: z.number().min(0.5).max(1).default(0.8),
    fairness: z
      .object({
        /** Every applicant that can be given a slot gets one before anyone gets a second (see README, "Fairness"). */
        firstSlotBeforeSecond: z.boolean().default(true),
        /** One applicant may hold at most this share of a unit's weekly open hours. */
        maxApplicantShareOfUnit: z.number().gt(0).max(1).default(0.5),
      })
      .strict()
      .default({ firstSlotBeforeSecond: true, maxApplicantShareOfUnit: 0.5 }),
  })
  .strict()
  .check((ctx) => {
    const c = ctx.value;
    const seen = new Set<string>();
    c.priorityCategories.forEach((p, k) => {
      if (seen.has(p.categoryId)) {
        ctx.issues.push({ code: 'custom', input: c, path: ['priorityCategories', k, 'categoryId'], message: `category ${p.categoryId} is listed twice` });
      }
      seen.add(p.categoryId);
      const previous = c.priorityCategories[k - 1];
      if (previous !== undefined && p.weight > previous.weight) {
        ctx.issues.push({
          code: 'custom',
          input: c,
          path: ['priorityCategories', k, 'weight'],
          message: `categories are listed from the highest priority down, so ${p.categoryId} (weight ${p.weight}) cannot weigh more than ${previous.categoryId} (weight ${previous.weight})`,
        });
      }
    });
    if (c.windowFactors.secondary > c.windowFactors.primary) {
      ctx.issues.push({ code: 'custom', input: c, path: ['windowFactors', 'secondary'], message: 'a secondary window cannot be worth more than a primary one' });
    }
    c.unitRankFactors.forEach((f, k) => {
      const previous = c.unitRankFactors[k - 1];
      if (previous !== undefined && f > previous) {
        ctx.issues.push({ code: 'custom', input: c, path: ['unitRankFactors', k], message: 'a lower-ranked unit cannot be worth more than a higher-ranked one' });
      }
    });
  });
export type Criteria = z.infer<typeof criteriaSchema>;
export type CriteriaInput = z.input<typeof criteriaSchema>;

/**
 * Helsinki-style defaults: children and youth first, then the city's own
 * activities, local associations, and everyone else.
 */
export const DEFAULT_CRITERIA: Criteria = criteriaSchema.parse({
  priorityCategories: [
    { categoryId: 'children_youth', name: 'Children and youth', weight: 4 },
    { categoryId: 'city_own', name: "City's own activities", weight: 3 },
    { categoryId: 'local_association', name: 'Local associations', weight: 2 },
    { categoryId: 'other', name: 'Others', weight: 1 },
  ],
});

export const rankFactor = (criteria: Criteria, rank: number): number => {
  const f = criteria.unitRankFactors;
  return f[Math.min(Math.max(rank, 0), f.length - 1)] ?? 1;
};

export const categoryWeight = (criteria: Criteria, categoryId: string): number | undefined =>
  criteria.priorityCategories.find((p) => p.categoryId === categoryId)?.weight;
