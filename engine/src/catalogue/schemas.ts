/**
 * Master data of the catalogue (DESIGN.md "The engine"): sites, their space
 * trees, resources, reservation units and their rules, customer groups and
 * customers. zod schemas are the single source of each shape; the types are
 * inferred from them.
 */
import { z } from 'zod';
import { openingHoursSchema } from '../calendar/index.js';
import { ID_PATTERN } from '../shared/ids.js';

export const idSchema = z.string().regex(ID_PATTERN, 'an id is 1-80 letters, digits, "_" or "-"');
const localDate = z.iso.date({ message: 'a date is YYYY-MM-DD' });
const cents = z.number().int('money is in integer cents').min(0);
const name = z.string().trim().min(1).max(200);

export const ACCESS_TYPES = ['access_code', 'physical_key', 'opened_by_staff', 'unrestricted'] as const;
export const accessTypeSchema = z.enum(ACCESS_TYPES);
export type AccessType = z.infer<typeof accessTypeSchema>;

export const UNIT_TYPES = [
  'sports_hall',
  'sports_field',
  'tennis_court',
  'sauna',
  'cottage',
  'meeting_room',
  'youth_space',
  'studio',
  'other',
] as const;
export const unitTypeSchema = z.enum(UNIT_TYPES);

export const annualCostsSchema = z
  .object({
    rentCents: cents.default(0),
    maintenanceCents: cents.default(0),
    cleaningCents: cents.default(0),
    energyCents: cents.default(0),
  })
  .strict();
export type AnnualCosts = z.infer<typeof annualCostsSchema>;

export const siteSchema = z
  .object({
    siteId: idSchema,
    name,
    address: z.string().max(300).optional(),
  })
  .strict();
export type Site = z.infer<typeof siteSchema>;

export const spaceSchema = z
  .object({
    spaceId: idSchema,
    /** The enclosing space (a hall for its sections); none for a top-level space. */
    parentId: idSchema.optional(),
    name,
    capacity: z.number().int().min(0).optional(),
    areaM2: z.number().min(0).optional(),
    annualCosts: annualCostsSchema.optional(),
  })
  .strict();
export type Space = z.infer<typeof spaceSchema>;

export const resourceSchema = z
  .object({
    resourceId: idSchema,
    name,
  })
  .strict();
export type Resource = z.infer<typeof resourceSchema>;

export const unitRulesSchema = z
  .object({
    openingHours: openingHoursSchema,
    /** Start times are aligned to this many minutes, counted from the opening time of the day. */
    startIntervalMinutes: z.number().int().min(15).max(420),
    minDurationMinutes: z.number().int().min(15).max(7 * 24 * 60),
    maxDurationMinutes: z.number().int().min(15).max(7 * 24 * 60),
    bufferBeforeMinutes: z.number().int().min(0).max(24 * 60).default(0),
    bufferAfterMinutes: z.number().int().min(0).max(24 * 60).default(0),
    bookingWindow: z
      .object({
        /** 0 = can be booked for today. */
        minDaysAhead: z.number().int().min(0).max(3650),
        maxDaysAhead: z.number().int().min(0).max(3650),
      })
      .strict()
      .refine((w) => w.minDaysAhead <= w.maxDaysAhead, 'minDaysAhead must not exceed maxDaysAhead'),
    /** Reservations of one customer on this unit that have not ended and are not cancelled; null = no limit. */
    maxActivePerCustomer: z.number().int().min(1).nullable().default(null),
    /** A customer may cancel until this many hours before the start; staff always can. */
    cancellationDeadlineHours: z.number().min(0).max(24 * 365).default(24),
    /** Every reservation is approved or denied by staff before it is confirmed. */
    requiresHandling: z.boolean().default(false),
    /** null = every customer group may book. */
    allowedCustomerGroups: z.array(idSchema).nullable().default(null),
    /** How long a `requested` reservation holds its slot before it must be confirmed. */
    holdMinutes: z.number().int().min(1).max(24 * 60).default(15),
    /** How long an `awaiting_payment` reservation holds its slot. */
    paymentDeadlineMinutes: z.number().int().min(1).max(14 * 24 * 60).default(60),
    accessType: accessTypeSchema.default('unrestricted'),
  })
  .strict()
  .refine((r) => r.minDurationMinutes <= r.maxDurationMinutes, {
    message: 'minDurationMinutes must not exceed maxDurationMinutes',
    path: ['minDurationMinutes'],
  });
export type UnitRules = z.infer<typeof unitRulesSchema>;
export type UnitRulesInput = z.input<typeof unitRulesSchema>;

export const priceSchema = z
  .object({
    customerGroupId: idSchema,
    /** The price applies to reservations that start on or after this date (Helsinki). */
    validFrom: localDate,
    /** `per_hour`: amount x hours booked; `fixed`: amount per reservation. */
    basis: z.enum(['per_hour', 'fixed']),
    /** Gross amount including VAT, in cents. 0 = free. */
    amountCents: cents,
    /** VAT in basis points: 2550 = 25.5 %, 1400 = 14 % (sports and culture), 0 = exempt. */
    vatBasisPoints: z.number().int().min(0).max(10_000),
  })
  .strict();
export type Price = z.infer<typeof priceSchema>;

export const unitSchema = z
  .object({
    unitId: idSchema,
    name,
    unitType: unitTypeSchema,
    spaceIds: z.array(idSchema).min(1, 'a unit books at least one space'),
    resourceIds: z.array(idSchema).default([]),
    capacity: z.number().int().min(0).optional(),
    rules: unitRulesSchema,
    prices: z.array(priceSchema).default([]),
  })
  .strict();
export type Unit = z.infer<typeof unitSchema>;
export type UnitInput = z.input<typeof unitSchema>;

export const customerGroupSchema = z
  .object({
    customerGroupId: idSchema,
    name,
    nameFi: name.optional(),
    /** Children's and youth associations and the like book free of charge whatever the price list says. */
    freeOfCharge: z.boolean().default(false),
  })
  .strict();
export type CustomerGroup = z.infer<typeof customerGroupSchema>;

export const customerSchema = z
  .object({
    customerId: idSchema,
    name,
    customerGroupId: idSchema,
    email: z.email().optional(),
  })
  .strict();
export type Customer = z.infer<typeof customerSchema>;

/** A whole catalogue as loaded from JSON (`infra/demo-catalogue.json`). */
export const catalogueFileSchema = z
  .object({
    customerGroups: z.array(customerGroupSchema),
    customers: z.array(customerSchema).default([]),
    sites: z.array(
      siteSchema.extend({
        spaces: z.array(spaceSchema),
        resources: z.array(resourceSchema).default([]),
        units: z.array(unitSchema),
      }),
    ),
  })
  .strict();
export type CatalogueFile = z.infer<typeof catalogueFileSchema>;
export type CatalogueFileInput = z.input<typeof catalogueFileSchema>;
